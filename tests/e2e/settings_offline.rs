//! Settings against a separate sandbox: the environment, URLs and client id saved, both
//! credentials stored in the real Secret Service (GNOME Keyring), "test connection" green;
//! then the sandbox stops and the desk keeps browsing its cache offline. Afterwards no secret
//! may be found in the data directory or the logs.

use crate::driver::{App, Check};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "e2e-gw-token-7c1d93a4b8f2";
const SECRET: &str = "e2e-pp-secret-4e8a0b6c2d9f";

struct SandboxProcess(Child);

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `desk-sandbox` on a port of the system's choice and reads its address from the line
/// it prints once it listens.
fn start_sandbox() -> (SandboxProcess, String) {
    let bin = std::env::var("DESK_E2E_SANDBOX").expect("DESK_E2E_SANDBOX is not set: run through `cargo xtask e2e`");
    let mut child = Command::new(bin)
        .args(["--addr", "127.0.0.1:0", "--invoices", "150", "--seed", "5", "--rate-limit", "0"])
        .env("SANDBOX_STAFF_TOKEN", TOKEN)
        .env("SANDBOX_CLIENT_ID", "e2e-desk-app")
        .env("SANDBOX_CLIENT_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("desk-sandbox starts");
    let stderr = child.stderr.take().expect("the sandbox's stderr");
    let sandbox = SandboxProcess(child);
    let (tx, rx) = std::sync::mpsc::channel();
    // reads to the end, so the sandbox never blocks on a full pipe
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match line.strip_prefix("desk-sandbox listening on ") {
                Some(url) => {
                    let _ = tx.send(Ok(url.trim().to_owned()));
                }
                None => {
                    let _ = tx.send(Err(line));
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut said = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(url)) => {
                assert!(url.starts_with("http://127.0.0.1:"), "desk-sandbox listens on {url}");
                return (sandbox, url);
            }
            Ok(Err(line)) => said.push(line),
            Err(e) => panic!("desk-sandbox did not say where it listens ({e}); it said: {said:?}"),
        }
    }
}

#[tokio::test]
async fn settings_keyring_then_offline_browsing_and_no_secret_left_behind() {
    let (sandbox, url) = start_sandbox();
    let app = App::start_with(&[]).await;
    let result = scenario(&app, sandbox, &url).await;
    let data_dir = app.quit().await;
    let result = result.and_then(|()| match &data_dir {
        Some(d) => no_secret_under(d.path()),
        None => Err("the data directory is gone".into()),
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A JS expression: the element `css` exists and its text matches `pattern`.
fn has(css: &str, pattern: &str) -> String {
    format!("(/{pattern}/.test(document.querySelector('{css}')?.textContent ?? ''))")
}

fn text_has(css: &str, pattern: &str) -> String {
    format!("return {};", has(css, pattern))
}

async fn scenario(app: &App, sandbox: SandboxProcess, url: &str) -> Check {
    app.wait_until("the app", Duration::from_secs(60), "return !!document.querySelector('[data-testid=nav-settings]')")
        .await?;
    app.click("[data-testid=nav-settings]").await?;
    app.wait_until(
        "the settings",
        Duration::from_secs(20),
        "return !!document.querySelector('[data-testid=settings-form]')",
    )
    .await?;
    app.click("[data-testid=env-sandbox]").await?;
    app.type_into("[data-testid=gateway-url]", url).await?;
    app.type_into("[data-testid=paypal-url]", url).await?;
    app.type_into("[data-testid=paypal-client-id]", "e2e-desk-app").await?;
    app.type_into("[data-testid=staff-name]", "E2E Clerk").await?;
    app.click("[data-testid=save-settings]").await?;
    app.wait_until(
        "the sandbox settings in effect, credentials not yet stored",
        Duration::from_secs(30),
        &format!(
            "return /sandbox/i.test(document.querySelector('[data-testid=environment]').textContent) && {}",
            has("[data-testid=source-gatewayToken]", "Not stored yet")
        ),
    )
    .await?;

    for (kind, value) in [("gatewayToken", TOKEN), ("paypalClientSecret", SECRET)] {
        app.type_into(&format!("[data-testid=credential-{kind}]"), value).await?;
        app.click(&format!("[data-testid=store-{kind}]")).await?;
        app.wait_until(
            &format!("the {kind} in the keyring"),
            Duration::from_secs(30),
            &text_has(&format!("[data-testid=source-{kind}]"), "Stored in the keyring"),
        )
        .await?;
        let shown =
            app.js_string(&format!("return document.querySelector('[data-testid=credential-{kind}]').value")).await?;
        if !shown.is_empty() {
            return Err(format!("the {kind} field still holds the secret after storing"));
        }
    }
    app.click("[data-testid=test-connection]").await?;
    app.wait_until(
        "both services to answer",
        Duration::from_secs(30),
        &format!("return {} && {};", has("[data-testid=check-gateway]", "✓"), has("[data-testid=check-paypal]", "✓")),
    )
    .await?;
    let page = app.js_string("return document.documentElement.outerHTML").await?;
    if page.contains(TOKEN) || page.contains(SECRET) {
        return Err("a secret is in the page".into());
    }
    app.shot("settings.png").await?;

    // sync from the sandbox
    app.click("[data-testid=nav-invoices]").await?;
    app.click("[data-testid=sync-button]").await?;
    app.wait_until(
        "the sandbox's invoices",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length >= 20 && /Online/.test(document.querySelector('[data-testid=connection]').textContent)",
    )
    .await?;
    let second =
        app.js_string("return document.querySelectorAll('[data-testid=invoice-row]')[1].dataset.invoice").await?;

    // the sandbox goes away: the desk says offline and keeps browsing its cache
    drop(sandbox);
    app.click("[data-testid=sync-button]").await?;
    app.wait_until(
        "the offline banner",
        Duration::from_secs(90),
        &text_has("[data-testid=offline-banner]", "Offline.*last synced 20"),
    )
    .await?;
    app.type_into("[data-testid=filter-search]", &second).await?;
    app.wait_until(
        "the searched invoice, from the cache",
        Duration::from_secs(20),
        &format!("const rows = document.querySelectorAll('[data-testid=invoice-row]'); return rows.length === 1 && rows[0].dataset.invoice === '{second}';"),
    )
    .await?;
    app.click(&format!("[data-invoice='{second}'] [data-testid=open-button]")).await?;
    app.wait_until(
        "the cached detail, saying what is unavailable",
        Duration::from_secs(60),
        &text_has("[data-testid=detail-offline]", "Not available"),
    )
    .await?;
    app.shot("offline.png").await?;
    Ok(())
}

fn no_secret_under(dir: &std::path::Path) -> Check {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let log = dir.join("logs").join("capture-desk.log");
    let log_len = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    if log_len == 0 {
        return Err(format!("the app wrote no log at {}", log.display()));
    }
    if !files.iter().any(|f| f.ends_with("desk.sqlite3")) {
        return Err(format!("no database among {files:?}"));
    }
    for f in &files {
        // SQLite removes `-wal`/`-shm` as its last connection goes: what vanished is not left behind
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("{}: {e}", f.display())),
        };
        for secret in [TOKEN, SECRET] {
            if bytes.windows(secret.len()).any(|w| w == secret.as_bytes()) {
                return Err(format!("a secret was found in {}", f.display()));
            }
        }
    }
    eprintln!("e2e: no secret in {} files ({} bytes of log)", files.len(), log_len);
    Ok(())
}
