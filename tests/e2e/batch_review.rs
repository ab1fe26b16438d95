//! A batch capture review in the real app against a separate sandbox (issue 10): select invoices
//! that have a PayPal approval, make a batch of them, preflight it, approve it as a second person
//! (four eyes: the creator's own name is refused), run it, read the report against the sandbox's
//! ledger, and export it as CSV into a temporary Downloads folder.

use crate::commands::{choose, Sandbox, STAFF};
use crate::driver::{App, Check};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many invoices the batch takes.
const ITEMS: usize = 3;
/// How many of them are orders (the rest authorizations).
const ORDERS: usize = 2;
const APPROVER: &str = "Second Reviewer";

#[tokio::test]
async fn a_batch_is_selected_preflighted_approved_by_another_run_and_reported_with_csv() {
    let sandbox = Sandbox::start();
    // everything the app writes goes under a temporary HOME: data, config, Downloads
    let home = tempfile::tempdir().expect("temp dir");
    let data_dir = home.path().join("data");
    let config = home.path().join("config");
    let downloads = home.path().join("Downloads");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(config.join("user-dirs.dirs"), format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()))
        .expect("user-dirs.dirs");
    let mut env = sandbox.desk_env(&data_dir);
    env.push(("HOME", home.path().display().to_string()));
    env.push(("XDG_CONFIG_HOME", config.display().to_string()));
    env.push(("XDG_DATA_HOME", home.path().join("share").display().to_string()));
    env.push(("XDG_CACHE_HOME", home.path().join("cache").display().to_string()));
    // four eyes, whatever the developer's environment says
    env.push(("DESK_FOUR_EYES", "1".into()));
    let app = App::start_with(&env).await;
    let result = scenario(&app, &sandbox, &downloads).await;
    app.finish(result).await;
}

async fn scenario(app: &App, sandbox: &Sandbox, downloads: &Path) -> Check {
    // 1. the invoice list, filtered to invoices with a PayPal approval, three of them selected
    app.wait_until(
        "the first sync",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length > 0",
    )
    .await?;
    choose(app, "[data-testid=filter-paypal]", "yes").await?;
    app.wait_until(
        "only invoices PayPal can capture",
        Duration::from_secs(20),
        &format!(
            "const rows = [...document.querySelectorAll('[data-testid=invoice-row]')]; \
             return rows.length >= {ITEMS} && rows.every(r => !!r.querySelector('[data-testid=capture-button]'));"
        ),
    )
    .await?;
    // two approved orders (intent capture) and an authorization: the rows shown first of each
    let picked = app
        .js_string(&format!(
            "const rows = [...document.querySelectorAll('[data-testid=invoice-row]')]; \
             const of = intent => rows.filter(r => r.querySelector('td[data-col=paypal] .tag')?.textContent.trim() === intent) \
               .map(r => r.dataset.invoice); \
             return [...of('capture').slice(0, {ORDERS}), ...of('authorize').slice(0, {ITEMS} - {ORDERS})].join(' ')"
        ))
        .await?;
    let picked: Vec<i64> = picked.split(' ').filter_map(|n| n.parse().ok()).collect();
    if picked.len() != ITEMS {
        return Err(format!("{ITEMS} invoices to pick: {picked:?}"));
    }
    // a click, then Ctrl+clicks (as events: WebKitWebDriver's key actions do not reach the click
    // as a modifier)
    let clicks = format!(
        "const nos = {picked:?}; \
         nos.forEach((no, i) => document.querySelector(`[data-invoice='${{no}}'] td[data-col=customer]`) \
           .dispatchEvent(new MouseEvent('click', {{ bubbles: true, ctrlKey: i > 0 }}))); return true;"
    );
    app.driver.execute(&clicks, Vec::new()).await.map_err(|e| e.to_string())?;
    app.wait_until(
        "the selection",
        Duration::from_secs(20),
        &format!(
            "return new RegExp('{ITEMS} selected').test(document.querySelector('[data-testid=selection]')?.textContent ?? '');"
        ),
    )
    .await?;

    // 2. a batch of the selection: its review opens, as a draft made by this desk's staff
    app.click("[data-testid=new-batch]").await?;
    app.wait_until(
        "the new batch's review",
        Duration::from_secs(30),
        &format!(
            "const items = [...document.querySelectorAll('[data-testid=batch-item]')].map(r => Number(r.dataset.invoice)).sort(); \
             const meta = document.querySelector('[data-testid=batch-meta]')?.textContent ?? ''; \
             return JSON.stringify(items) === JSON.stringify({sorted:?}) && meta.includes('created by {STAFF}');",
            sorted = {
                let mut s = picked.clone();
                s.sort_unstable();
                s
            }
        ),
    )
    .await?;

    // 3. preflight: every item gets its verdict; at least one is ready
    app.click("[data-testid=preflight]").await?;
    app.wait_until(
        "every item's verdict and the approval form",
        Duration::from_secs(60),
        "const items = [...document.querySelectorAll('[data-testid=batch-item]')]; \
         return items.length > 0 && items.every(r => !!r.querySelector('[data-testid=item-verdict] [data-testid=chip]')) \
           && !!document.querySelector('[data-testid=approval-form]');",
    )
    .await?;
    let verdicts = page_json(
        app,
        "return JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-testid=batch-item]')] \
           .map(r => [r.dataset.invoice, r.querySelector('[data-testid=item-verdict] [data-testid=chip]').textContent.trim()])))",
    )
    .await?;
    let ready: Vec<i64> = picked.iter().copied().filter(|n| verdicts[n.to_string()] == "ready").collect();
    if ready.is_empty() {
        return Err(format!("no item of {picked:?} is ready after preflight: {verdicts}"));
    }
    // the totals per currency the review shows (as grouped there), to be typed by the approver
    let totals = page_json(
        app,
        "return JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-testid=total-row]')] \
           .map(t => [t.dataset.currency, t.querySelector('[data-testid=total-outstanding]').textContent.trim()])))",
    )
    .await?;
    let totals: BTreeMap<String, String> = totals
        .as_object()
        .map(|m| m.iter().map(|(c, v)| (c.clone(), v.as_str().unwrap_or_default().replace(',', ""))).collect())
        .unwrap_or_default();
    if totals.is_empty() {
        return Err(format!("no totals per currency for the ready items {ready:?}"));
    }
    app.shot("batch-review.png").await?;

    // 4. four eyes: the creator cannot approve; a second person, typing the totals, can
    approve(app, STAFF, &totals).await?;
    app.wait_until(
        "the creator's approval refused",
        Duration::from_secs(20),
        "return !!document.querySelector('[data-testid=approval-error]') && !document.querySelector('[data-testid=approval-done]');",
    )
    .await?;
    approve(app, APPROVER, &totals).await?;
    app.wait_until(
        "the approval naming both people",
        Duration::from_secs(20),
        &format!(
            "return document.querySelector('[data-testid=approval-creator]')?.textContent === '{STAFF}' \
               && document.querySelector('[data-testid=approval-approver]')?.textContent === '{APPROVER}';"
        ),
    )
    .await?;

    // 5. the run: every item it runs ends finalized, or pending when PayPal holds the capture
    app.click("[data-testid=go-run]").await?;
    app.wait_until(
        "the run screen",
        Duration::from_secs(20),
        "const b = document.querySelector('[data-testid=run-start]'); return !!b && !b.disabled;",
    )
    .await?;
    app.click("[data-testid=run-start]").await?;
    app.wait_until(
        "the run to end",
        Duration::from_secs(120),
        "const items = [...document.querySelectorAll('[data-testid=run-item]')]; \
         const start = document.querySelector('[data-testid=run-start]'); \
         return items.length > 0 && items.every(r => r.dataset.outcome !== '') \
           && !(start && /Running/.test(start.textContent)) && !!document.querySelector('[data-testid=open-report]');",
    )
    .await?;
    app.shot("batch-run.png").await?;

    // 6. the report agrees with the ledger
    app.click("[data-testid=open-report]").await?;
    app.wait_until(
        "the report's items",
        Duration::from_secs(20),
        &format!("return document.querySelectorAll('[data-testid=report-item]').length === {ITEMS};"),
    )
    .await?;
    let report = page_json(
        app,
        "return JSON.stringify([...document.querySelectorAll('[data-testid=report-item]')].map(r => { \
           const td = r.querySelectorAll('td'); \
           return { invoice: Number(r.dataset.invoice), outcome: r.dataset.outcome, capture: td[2].textContent.trim(), paypal: td[3].textContent.trim() }; }))",
    )
    .await?;
    let report = report.as_array().cloned().unwrap_or_default();
    eprintln!("batch review: verdicts {verdicts}, totals {totals:?}, report {report:?}");
    check_ledger(&sandbox.ledger()?, &report, &ready)?;
    app.shot("batch-report.png").await?;

    // 7. the CSV: a header and one row per item, in the temporary Downloads folder
    app.click("[data-testid=report-csv]").await?;
    app.wait_until(
        "the export's toast",
        Duration::from_secs(30),
        "return [...document.querySelectorAll('[data-testid=toast]')].some(t => /Exported \\d+ items? to /.test(t.textContent))",
    )
    .await?;
    let toast = app
        .js_string("return [...document.querySelectorAll('[data-testid=toast]')].map(t => t.textContent).find(t => /Exported/.test(t))")
        .await?;
    let path = toast
        .split_once(" to ")
        .and_then(|(_, p)| p.split(".csv").next())
        .map(|p| PathBuf::from(format!("{}.csv", p.trim())))
        .ok_or_else(|| format!("toast: {toast}"))?;
    if path.parent() != Some(downloads) {
        return Err(format!("the CSV went to {}, not into {}", path.display(), downloads.display()));
    }
    let csv = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    check_csv(&csv, &report)?;

    // 8. back to the list of batches: this one completed (the export's toast dismissed)
    app.click("[data-testid=batch-back]").await?;
    app.driver
        .execute(
            "document.querySelectorAll('[data-testid=toast] button[aria-label=Dismiss]').forEach(b => b.click()); return true;",
            Vec::new(),
        )
        .await
        .map_err(|e| e.to_string())?;
    app.wait_until(
        "the batch list with the completed batch, no toast",
        Duration::from_secs(20),
        "return [...document.querySelectorAll('[data-testid=batch-row]')].some(r => /completed/i.test(r.textContent)) \
           && !document.querySelector('[data-testid=toast]');",
    )
    .await?;
    app.shot("batches-list.png").await
}

/// Types `name` and the totals into the approval form and submits it.
async fn approve(app: &App, name: &str, totals: &BTreeMap<String, String>) -> Check {
    let currencies: Vec<&String> = totals.keys().collect();
    app.wait_until(
        "the approval form asking for each total",
        Duration::from_secs(10),
        &format!(
            "const asked = [...document.querySelectorAll('[data-testid^=typed-total-]')].map(i => i.dataset.testid.slice(12)).sort(); \
             return JSON.stringify(asked) === JSON.stringify({currencies:?});"
        ),
    )
    .await?;
    app.type_into("[data-testid=approver]", name).await?;
    for (currency, total) in totals {
        app.type_into(&format!("[data-testid=typed-total-{currency}]"), total).await?;
    }
    app.wait_until(
        "the approve button enabled",
        Duration::from_secs(10),
        "const b = document.querySelector('[data-testid=approve]'); return !!b && !b.disabled;",
    )
    .await?;
    app.click("[data-testid=approve]").await
}

/// Runs `script` (which must return a JSON string) and parses its answer.
async fn page_json(app: &App, script: &str) -> Result<Value, String> {
    let text = app.js_string(script).await?;
    serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
}

/// An amount as text without grouping, currency or trailing zeros ("1,234.50 USD" → "1234.5").
fn plain(amount: &str) -> String {
    let n = amount.split_whitespace().next().unwrap_or_default().replace(',', "");
    if n.contains('.') {
        n.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        n
    }
}

/// Every ready item ended finalized (its capture once at PayPal, COMPLETED, for the amount the
/// report shows, and one finalization at the gateway) or pending (its capture once at PayPal,
/// PENDING, nothing finalized); the rest did not run; nothing was captured twice.
fn check_ledger(ledger: &Value, report: &[Value], ready: &[i64]) -> Check {
    let captures = ledger["paypal_captures"].as_array().cloned().unwrap_or_default();
    let finalizations = ledger["gateway_finalizations"].as_array().cloned().unwrap_or_default();
    let mut approvals = std::collections::HashSet::new();
    for c in &captures {
        let key = (c["order_id"].clone(), c["authorization_id"].clone());
        if !approvals.insert(key) {
            return Err(format!("an order or authorization captured twice: {ledger}"));
        }
    }
    for item in report {
        let no = item["invoice"].as_i64().unwrap_or_default();
        let outcome = item["outcome"].as_str().unwrap_or_default();
        let capture_id = item["capture"].as_str().unwrap_or_default();
        let theirs: Vec<&Value> = captures.iter().filter(|c| c["id"] == capture_id).collect();
        let finalized: Vec<&Value> = finalizations.iter().filter(|f| f["invoiceNo"] == no).collect();
        let shown = plain(item["paypal"].as_str().unwrap_or_default());
        let held = |status: &str| {
            theirs.len() == 1
                && theirs[0]["status"] == status
                && plain(theirs[0]["amount"]["value"].as_str().unwrap_or_default()) == shown
        };
        let agrees = match (ready.contains(&no), outcome) {
            (true, "finalized") => {
                held("COMPLETED") && finalized.len() == 1 && plain(&finalized[0]["amount"].to_string()) == shown
            }
            (true, "pending") => held("PENDING") && finalized.is_empty(),
            (false, "excluded") => capture_id.is_empty() && finalized.is_empty(),
            _ => false,
        };
        if !agrees {
            return Err(format!(
                "invoice {no} ({outcome}, ready: {}) against the ledger: captures {theirs:?}, finalizations {finalized:?}; report {item}",
                ready.contains(&no)
            ));
        }
    }
    let finalized = report.iter().filter(|i| i["outcome"] == "finalized").count();
    if finalizations.len() != finalized {
        return Err(format!("{finalized} finalized in the report, the gateway has {}: {ledger}", finalizations.len()));
    }
    Ok(())
}

/// The CSV has the report's header and one row per item, with its outcome and capture id.
fn check_csv(csv: &str, report: &[Value]) -> Check {
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    let header = lines.first().copied().unwrap_or_default();
    if !header.starts_with("invoice_no,currency,total,outstanding,verdict,outcome,capture_id,paypal_amount,")
        || lines.len() != report.len() + 1
    {
        return Err(format!("a header and {} rows:\n{csv}", report.len()));
    }
    for item in report {
        let no = item["invoice"].to_string();
        let row = lines.iter().skip(1).find(|l| l.split(',').next() == Some(no.as_str()));
        let fields: Vec<&str> = row.map(|r| r.split(',').collect()).unwrap_or_default();
        if fields.get(5) != item["outcome"].as_str().as_ref() || fields.get(6) != item["capture"].as_str().as_ref() {
            return Err(format!("the CSV's row for {no}: {row:?}; the report: {item}"));
        }
    }
    Ok(())
}

#[test]
fn amounts_compare_without_grouping_currency_or_trailing_zeros() {
    assert_eq!(plain("1,234.50 USD"), "1234.5");
    assert_eq!(plain("250.00"), "250");
    assert_eq!(plain("250"), "250");
    assert_eq!(plain("9661.11"), "9661.11");
}
