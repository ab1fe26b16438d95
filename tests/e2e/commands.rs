//! The commands no other scenario drives, in the real app against a separate sandbox:
//! - the resume of unfinished captures at start: `desk` leaves an attempt unfinished (PayPal's
//!   answer to the capture is lost after PayPal acted), then the app starts on that data
//!   directory and finishes it with the same PayPal request id (one capture in the ledger);
//! - `recover_captures`: a capture from the dialog whose answer is lost stops unfinished, and
//!   the command finishes it;
//! - `selection_totals`: the selection bar's totals, checked against the rows' own amounts;
//! - `audit_export_csv`: the Activity export lands in a temporary Downloads folder (found
//!   through `XDG_CONFIG_HOME/user-dirs.dirs`, as Tauri's `download_dir` reads it).

use crate::driver::{App, Check};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-cmd-gw-token-51c0e2";
const CLIENT_ID: &str = "e2e-cmd-desk-app";
const SECRET: &str = "e2e-cmd-pp-secret-93ab7f";
pub(crate) const STAFF: &str = "E2E Clerk";

/// The seed invoice every sandbox world has: USD 250.00, wallet EUR 40.50 (43.97 USD), an
/// approved PayPal order for 206.03 USD.
const RESUMED: i64 = 458732;
const RESUMED_ORDER: &str = "5O190127TN364715T";
/// In the world of seed 5 with 150 invoices: GBP 9,661.11, an authorization for all of it, no
/// wallet; its capture completes.
const RECOVERED: i64 = 458623;

/// PayPal acts on every capture, then the connection drops before its answer and PayPal is down
/// (503) until the faults change: the desk cannot learn what happened, so the attempt stays open.
/// (With PayPal up, the desk reads the order or authorization and finishes at once.)
const CAPTURE_ANSWERS_LOST: &str = r#"{"routes":{
    "POST /v2/checkout/orders/{id}/capture":{"drop_after_commit_rate":1,"outage_after_commit_ms":600000},
    "POST /v2/payments/authorizations/{id}/capture":{"drop_after_commit_rate":1,"outage_after_commit_ms":600000}}}"#;

/// A `desk-sandbox` of this test, on a port it chose itself; killed on drop.
pub(crate) struct Sandbox {
    child: Child,
    url: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    pub(crate) fn start() -> Sandbox {
        let bin =
            std::env::var("DESK_E2E_SANDBOX").expect("DESK_E2E_SANDBOX is not set: run through `cargo xtask e2e`");
        let mut child = Command::new(bin)
            .args(["--addr", "127.0.0.1:0", "--invoices", "150", "--seed", "5", "--rate-limit", "0"])
            .env("SANDBOX_STAFF_TOKEN", TOKEN)
            .env("SANDBOX_CLIENT_ID", CLIENT_ID)
            .env("SANDBOX_CLIENT_SECRET", SECRET)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("desk-sandbox starts");
        // it reports the address it bound; the rest of its log is drained in the background
        let mut lines = BufReader::new(child.stderr.take().expect("stderr"));
        let mut url = None;
        let mut line = String::new();
        while url.is_none() {
            line.clear();
            if lines.read_line(&mut line).unwrap_or(0) == 0 {
                let _ = child.kill();
                panic!("desk-sandbox ended before it listened");
            }
            url = line.trim().strip_prefix("desk-sandbox listening on ").map(str::to_owned);
        }
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        Sandbox { child, url: url.unwrap_or_default() }
    }

    /// One HTTP/1.1 request to the sandbox; its status and body.
    fn request(&self, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
        let addr = self.url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .map_err(|e| e.to_string())?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).map_err(|e| format!("{method} {path}: {e}"))?;
        let (head, body) = answer.split_once("\r\n\r\n").ok_or_else(|| format!("{method} {path}: no HTTP answer"))?;
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            return Err(format!("{method} {path}: a chunked answer"));
        }
        let status =
            head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("status line: {head}"))?;
        Ok((status, body.to_owned()))
    }

    pub(crate) fn faults(&self, config: &str) -> Check {
        match self.request("POST", "/__sandbox/faults", config)? {
            (200, _) => Ok(()),
            (status, body) => Err(format!("setting faults: {status} {body}")),
        }
    }

    /// PayPal's captures and the gateway's finalizations so far.
    pub(crate) fn ledger(&self) -> Result<Value, String> {
        let (status, body) = self.request("GET", "/__sandbox/ledger", "")?;
        if status != 200 {
            return Err(format!("ledger: {status} {body}"));
        }
        serde_json::from_str(&body).map_err(|e| format!("ledger: {e}: {body}"))
    }

    /// The ledger's PayPal captures of one order or authorization, and its finalizations of one invoice.
    fn ledger_of(
        &self,
        paypal_key: &str,
        paypal_id: &str,
        invoice_no: i64,
    ) -> Result<(Vec<Value>, Vec<Value>), String> {
        let l = self.ledger()?;
        let list = |k: &str| l[k].as_array().cloned().ok_or_else(|| format!("ledger without {k}: {l}"));
        let captures = list("paypal_captures")?.into_iter().filter(|c| c[paypal_key] == paypal_id).collect();
        let finalized = list("gateway_finalizations")?.into_iter().filter(|f| f["invoiceNo"] == invoice_no).collect();
        Ok((captures, finalized))
    }

    /// What the app and `desk` need to use this sandbox, and nothing of the developer's.
    pub(crate) fn desk_env(&self, data_dir: &Path) -> Vec<(&'static str, String)> {
        vec![
            ("DESK_DATA_DIR", data_dir.display().to_string()),
            ("DESK_ENV", "sandbox".into()),
            ("DESK_GATEWAY_URL", self.url.clone()),
            ("DESK_PAYPAL_URL", self.url.clone()),
            ("DESK_GATEWAY_TOKEN", TOKEN.into()),
            ("DESK_PAYPAL_CLIENT_ID", CLIENT_ID.into()),
            ("DESK_PAYPAL_CLIENT_SECRET", SECRET.into()),
            ("DESK_STAFF", STAFF.into()),
        ]
    }
}

/// `desk` (built beside the app by `cargo xtask e2e`) with `env`: its exit code and stdout.
fn desk(env: &[(&str, String)], args: &[&str]) -> (i32, String) {
    let app = PathBuf::from(std::env::var_os("DESK_E2E_APP").expect("DESK_E2E_APP is not set"));
    let bin = app.with_file_name("desk");
    assert!(bin.is_file(), "{} does not exist: `cargo xtask e2e` builds it", bin.display());
    let out = Command::new(&bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("desk runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("$ desk {}: {:?}\n{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), stdout)
}

#[tokio::test]
async fn unfinished_captures_resume_at_start_and_on_request_selection_totals_and_the_csv_export() {
    let sandbox = Sandbox::start();
    let home = tempfile::tempdir().expect("temp dir");
    let data_dir = home.path().join("data");
    let env = sandbox.desk_env(&data_dir);

    // `desk` captures the seed invoice while PayPal's answers to captures are lost: PayPal
    // captured, the desk does not know it, the attempt stays open at `paypal_capture_sent`
    assert_eq!(desk(&env, &["sync"]).0, 0, "desk sync");
    sandbox.faults(CAPTURE_ANSWERS_LOST).expect("faults");
    let (code, out) = desk(&env, &["capture", &RESUMED.to_string(), "--yes", "--json"]);
    assert_eq!(code, 8, "exit code 8: not finished yet; printed {out}");
    let results: Value = serde_json::from_str(&out).expect("capture --json");
    assert_eq!(results[0]["state"], "paypal_capture_sent", "{results}");
    let (code, out) = desk(&env, &["journal", "--open", "--json"]);
    assert_eq!(code, 0);
    let open: Value = serde_json::from_str(&out).expect("journal --json");
    let open = open.as_array().expect("an array");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0]["invoiceNo"].as_i64(), open[0]["state"].as_str()),
        (Some(RESUMED), Some("paypal_capture_sent"))
    );
    let (captures, finalized) = sandbox.ledger_of("order_id", RESUMED_ORDER, RESUMED).expect("ledger");
    assert_eq!((captures.len(), finalized.len()), (1, 0), "PayPal captured once, nothing finalized: {captures:?}");
    sandbox.faults("{}").expect("faults cleared");

    // the app starts on that data directory, its Downloads folder a temporary one
    let config = home.path().join("config");
    let downloads = home.path().join("Downloads");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(config.join("user-dirs.dirs"), format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()))
        .expect("user-dirs.dirs");
    let mut app_env = env.clone();
    app_env.push(("XDG_CONFIG_HOME", config.display().to_string()));
    let app = App::start_with(&app_env).await;
    let result = scenario(&app, &sandbox, &data_dir, &downloads).await;
    app.finish(result).await;
}

async fn scenario(app: &App, sandbox: &Sandbox, data_dir: &Path, downloads: &Path) -> Check {
    // 1. the resume at start: nothing asked for it, the attempt finishes with the same capture
    let journal = poll(app, "the resumed attempt to finish", Duration::from_secs(60), || async {
        let d = invoke(app, "invoice_detail", json!({ "invoiceNo": RESUMED })).await?;
        Ok((d["journal"][0]["state"] == "finalized").then_some(d["journal"].clone()))
    })
    .await?;
    let entries = journal.as_array().map_or(0, Vec::len);
    if entries != 1 || journal[0]["paypalAmount"] != "206.03" || journal[0]["adopted"] != false {
        return Err(format!("one attempt, finished with its own capture of 206.03 USD: {journal}"));
    }
    let log = std::fs::read_to_string(data_dir.join("logs").join("capture-desk.log")).map_err(|e| e.to_string())?;
    if !log.lines().any(|l| l.contains("resumed unfinished captures") && l.contains("resumed=1")) {
        return Err(format!("the app's log does not say it resumed one capture at start:\n{log}"));
    }
    let (captures, finalized) = sandbox.ledger_of("order_id", RESUMED_ORDER, RESUMED)?;
    if captures.len() != 1 || finalized.len() != 1 || finalized[0]["amount"] != json!(206.03) {
        return Err(format!("one capture and one finalization of 206.03: {captures:?} {finalized:?}"));
    }
    // … and the clerk sees it paid
    app.wait_until(
        "the list",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length > 0",
    )
    .await?;
    choose(app, "[data-testid=filter-status]", "all").await?;
    app.type_into("[data-testid=filter-search]", &RESUMED.to_string()).await?;
    app.wait_until("the seed invoice, paid", Duration::from_secs(20), &only_row(RESUMED, "paid")).await?;
    app.click(&format!("[data-invoice='{RESUMED}'] [data-testid=open-button]")).await?;
    app.wait_until(
        "the detail: paid, its attempt finalized",
        Duration::from_secs(30),
        "const s = document.querySelector('[data-testid=detail-status]'); const j = document.querySelector('[data-testid=detail-journal]'); \
         return !!s && s.textContent.trim() === 'paid' && !!j && /finalized/.test(j.textContent);",
    )
    .await?;

    app.click("[data-testid=invoice-detail] button[aria-label='Close the invoice detail']").await?;

    // 2. recover_captures: a capture from the dialog loses PayPal's answer, the command finishes it
    choose(app, "[data-testid=filter-status]", "outstanding").await?;
    app.type_into("[data-testid=filter-search]", &RECOVERED.to_string()).await?;
    app.wait_until("the authorized invoice", Duration::from_secs(20), &only_row(RECOVERED, "outstanding")).await?;
    sandbox.faults(CAPTURE_ANSWERS_LOST)?;
    app.click(&format!("[data-invoice='{RECOVERED}'] [data-testid=capture-button]")).await?;
    app.wait_until(
        "the breakdown",
        Duration::from_secs(30),
        "return !!document.querySelector('[data-testid=capture-confirm]:not([disabled])')",
    )
    .await?;
    let breakdown =
        app.js_string("return document.querySelector('[data-testid=capture-breakdown]').textContent").await?;
    if !breakdown.contains("9,661.11 GBP") || !breakdown.contains("(authorize, created)") {
        return Err(format!("the breakdown of {RECOVERED}: {breakdown}"));
    }
    app.click("[data-testid=capture-confirm]").await?;
    app.wait_until(
        "the capture to stop unfinished, its answer lost",
        Duration::from_secs(60),
        // the capture was sent but never answered: only the wallet part shows as done
        "const r = document.querySelector('[data-testid=capture-result]'); \
         const done = [...document.querySelectorAll('[data-testid=capture-steps] li.done')].map(li => li.dataset.state).join(','); \
         return !!r && /Not finished yet/.test(r.textContent) && done === 'part_processed';",
    )
    .await?;
    app.click("[data-testid=capture-dialog] footer button").await?;
    let detail = invoke(app, "invoice_detail", json!({ "invoiceNo": RECOVERED })).await?;
    let authorization = detail["journal"][0]["authorizationId"].as_str().unwrap_or_default().to_owned();
    if detail["journal"][0]["state"] != "paypal_capture_sent" || authorization.is_empty() {
        return Err(format!("an open attempt on the authorization: {detail}"));
    }
    let (captures, finalized) = sandbox.ledger_of("authorization_id", &authorization, RECOVERED)?;
    if captures.len() != 1 || !finalized.is_empty() {
        return Err(format!("PayPal captured once, nothing finalized: {captures:?} {finalized:?}"));
    }
    sandbox.faults("{}")?;
    let recovered = invoke(app, "recover_captures", json!({})).await?;
    let one = recovered.as_array().filter(|r| r.len() == 1).map(|r| &r[0]);
    let finished = one.is_some_and(|r| {
        r["invoiceNo"] == RECOVERED
            && r["state"] == "finalized"
            && r["finished"] == true
            && r["paypalAmount"] == "9661.11"
            && r["currency"] == "GBP"
            && r["adopted"] == false
    });
    if !finished {
        return Err(format!("recover_captures finishes the one open attempt: {recovered}"));
    }
    let (captures, finalized) = sandbox.ledger_of("authorization_id", &authorization, RECOVERED)?;
    if captures.len() != 1 || finalized.len() != 1 || finalized[0]["amount"] != json!(9661.11) {
        return Err(format!("still one capture, now one finalization of 9661.11: {captures:?} {finalized:?}"));
    }
    let again = invoke(app, "recover_captures", json!({})).await?;
    if again != json!([]) {
        return Err(format!("nothing left to recover: {again}"));
    }

    // 3. selection_totals: two EUR invoices selected, their sum as the desk computes it
    app.type_into("[data-testid=filter-search]", "").await?;
    app.type_into("[data-testid=filter-currency]", "EUR").await?;
    app.driver
        .execute("document.querySelector('[data-testid=filter-currency]').dispatchEvent(new Event('change', { bubbles: true })); return true;", Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    app.wait_until(
        "only EUR invoices",
        Duration::from_secs(20),
        "const c = [...document.querySelectorAll('[data-testid=invoice-row] td[data-col=currency]')].map(td => td.textContent.trim()); \
         return c.length >= 2 && c.every(x => x === 'EUR');",
    )
    .await?;
    let amounts = app
        .js_string(
            "return [...document.querySelectorAll('[data-testid=invoice-row]')].slice(0, 2) \
             .map(r => r.dataset.invoice + '=' + r.querySelector('td[data-col=outstanding]').textContent.trim()).join(' ')",
        )
        .await?;
    let pairs: Vec<(&str, &str)> = amounts.split(' ').filter_map(|p| p.split_once('=')).collect();
    let [(first, a), (second, b)] = pairs[..] else {
        return Err(format!("two rows: {amounts}"));
    };
    let sum = add_grouped(a, b).ok_or_else(|| format!("amounts {a} and {b}"))?;
    // a click, then a Ctrl+click (as events: WebKitWebDriver's key actions do not reach the
    // click as a modifier)
    let clicks = format!(
        "const cell = no => document.querySelector(`[data-invoice='${{no}}'] td[data-col=customer]`); \
         cell('{first}').dispatchEvent(new MouseEvent('click', {{ bubbles: true }})); \
         cell('{second}').dispatchEvent(new MouseEvent('click', {{ bubbles: true, ctrlKey: true }})); return true;"
    );
    app.driver.execute(&clicks, Vec::new()).await.map_err(|e| e.to_string())?;
    let want = format!("EUR {sum}");
    app.wait_until(
        &format!("the selection's total {want} ({a} + {b})"),
        Duration::from_secs(20),
        &format!(
            "const t = document.querySelector('[data-testid=selection]')?.textContent ?? ''; return /2 selected/.test(t) && t.includes({want:?});"
        ),
    )
    .await?;

    // 4. audit_export_csv: into the Downloads folder, every entry
    app.click("[data-testid=nav-activity]").await?;
    app.wait_until(
        "the activity log",
        Duration::from_secs(20),
        "return document.querySelectorAll('[data-testid=activity-row]').length > 0",
    )
    .await?;
    app.click("[data-testid=activity-export]").await?;
    app.wait_until(
        "the export's toast",
        Duration::from_secs(30),
        "return [...document.querySelectorAll('[data-testid=toast]')].some(t => /Exported \\d+ entries to /.test(t.textContent))",
    )
    .await?;
    let toast = app
        .js_string("return [...document.querySelectorAll('[data-testid=toast]')].map(t => t.textContent).find(t => /Exported/.test(t))")
        .await?;
    let (rows, path) = toast
        .split_once("Exported ")
        .and_then(|(_, rest)| rest.split_once(" entries to "))
        .ok_or_else(|| format!("toast: {toast}"))?;
    let rows: usize = rows.parse().map_err(|_| format!("toast: {toast}"))?;
    let path = PathBuf::from(path.split(".csv").next().map(|p| format!("{p}.csv")).unwrap_or_default());
    if path.parent() != Some(downloads) {
        return Err(format!("the export went to {}, not into {}", path.display(), downloads.display()));
    }
    let csv = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    if lines.first() != Some(&"id,at,staff,environment,action,invoice_no,detail") || lines.len() != rows + 1 {
        return Err(format!("a header and {rows} rows:\n{csv}"));
    }
    for no in [RESUMED, RECOVERED] {
        let finalized = format!(",{STAFF},sandbox,capture.finalized,{no},");
        if !lines.iter().any(|l| l.contains(&finalized)) {
            return Err(format!("no capture.finalized row for {no}:\n{csv}"));
        }
    }
    if data_dir.join("exports").exists() {
        return Err("an export went to the data directory too".into());
    }
    Ok(())
}

/// A JS check: the list shows exactly the invoice `no`, with this status.
fn only_row(no: i64, status: &str) -> String {
    format!(
        "const rows = document.querySelectorAll('[data-testid=invoice-row]'); \
         return rows.length === 1 && rows[0].dataset.invoice === '{no}' && rows[0].querySelector('td[data-col=status]')?.textContent.trim() === '{status}';"
    )
}

/// Chooses `value` in the select `css` as a user would (a change event).
pub(crate) async fn choose(app: &App, css: &str, value: &str) -> Check {
    let script = format!(
        "const s = document.querySelector({css:?}); s.value = {value:?}; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return s.value === {value:?};"
    );
    match app.driver.execute(&script, Vec::new()).await.map_err(|e| e.to_string())?.json().as_bool() {
        Some(true) => Ok(()),
        _ => Err(format!("{css} has no option {value}")),
    }
}

/// One command through the app's IPC, as the UI calls it: its answer, or its error.
async fn invoke(app: &App, cmd: &str, args: Value) -> Result<Value, String> {
    let r = app
        .driver
        .execute_async(
            "const [cmd, args, done] = arguments; \
             window.__TAURI_INTERNALS__.invoke(cmd, args).then(v => done({ ok: v ?? null }), e => done({ err: e ?? 'failed' }));",
            vec![json!(cmd), args],
        )
        .await
        .map_err(|e| format!("{cmd}: {e}"))?;
    let r = r.json();
    match (r.get("ok"), r.get("err")) {
        (Some(ok), None) => Ok(ok.clone()),
        _ => Err(format!("{cmd}: {r}")),
    }
}

/// Runs `check` until it gives a value, within `timeout`.
async fn poll<F, Fut>(app: &App, what: &str, timeout: Duration, check: F) -> Result<Value, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Value>, String>>,
{
    let started = Instant::now();
    let mut last = String::new();
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e,
        }
        if started.elapsed() > timeout {
            let body = app.js_string("return document.body.innerText").await.unwrap_or_default();
            return Err(format!("waited {timeout:?} for {what} (last error: {last}); the page read:\n{body}"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The exact sum of two amounts as the list shows them ("1,234.50"), in the same grouping.
fn add_grouped(a: &str, b: &str) -> Option<String> {
    let parse = |s: &str| -> Option<(i128, usize)> {
        let s = s.replace(',', "");
        let digits = s.split_once('.').map_or(0, |(_, f)| f.len());
        Some((s.replace('.', "").parse().ok()?, digits))
    };
    let ((x, dx), (y, dy)) = (parse(a)?, parse(b)?);
    if dx != dy {
        return None;
    }
    let sum = (x + y).to_string();
    let sum = format!("{sum:0>width$}", width = dx + 1);
    let (int, frac) = sum.split_at(sum.len() - dx);
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    Some(if dx == 0 { grouped } else { format!("{grouped}.{frac}") })
}

#[test]
fn sums_keep_the_list_s_grouping() {
    assert_eq!(add_grouped("1,234.50", "8,765.55").as_deref(), Some("10,000.05"));
    assert_eq!(add_grouped("0.05", "0.04").as_deref(), Some("0.09"));
    assert_eq!(add_grouped("999", "1").as_deref(), Some("1,000"));
    assert_eq!(add_grouped("1.5", "1.50"), None);
}
