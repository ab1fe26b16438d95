//! `desk batch run|pause|report` through the real binary: a batch run captures and finalizes
//! each ready item exactly once, the report (JSON and CSV) agrees with the sandbox's ledger, a
//! run killed with SIGKILL resumes from the journal, and the exit codes follow the README.

use crate::common::{config, Harness, Ledger};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const TERMINAL: [&str; 5] = ["finalized", "rejected", "needs_attention", "excluded", "cancelled"];

fn id_of(v: &Value) -> String {
    v["id"].as_u64().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

fn items(v: &Value) -> &Vec<Value> {
    v["items"].as_array().unwrap_or_else(|| panic!("no items in {v}"))
}

fn no(i: &Value) -> u64 {
    i["invoiceNo"].as_u64().unwrap_or_else(|| panic!("no invoiceNo in {i}"))
}

/// A batch of the approved invoices, preflighted and approved (four eyes off); its id.
async fn approved_batch(h: &Harness) -> String {
    let id = id_of(&h.json(&["batch", "create", "--paypal"]).await);
    h.run(&["batch", "preflight", &id]).await.code(0);
    h.desk(&["batch", "approve", &id]).env("DESK_FOUR_EYES", "0").run().await.code(0);
    id
}

/// A run's end: exit 8 (captures PayPal still holds PENDING) until `desk recover` waited for
/// them (the batch's items follow their journal entries, and the batch completes) or the batch
/// ran again; then 0, or 9 when an item was refused. The batch as JSON at the end.
async fn finish(h: &Harness, id: &str, mut out: crate::common::Output) -> Value {
    for _ in 0..3 {
        if out.status != Some(8) {
            break;
        }
        h.run(&["recover", "--wait-pending", "10"]).await;
        if h.json(&["batch", "show", id]).await["state"] == "completed" {
            return h.json(&["batch", "show", id]).await;
        }
        out = h.run(&["batch", "run", id, "--rate", "200", "--json"]).await;
    }
    assert!(matches!(out.status, Some(0 | 9)), "exit 0, or 9 when an item was refused: {out:?}");
    h.json(&["batch", "show", id]).await
}

/// Every PayPal capture once per order and every COMPLETED one finalized exactly once; the
/// report's finalized items are exactly the ledger's finalized invoices.
fn agrees(ledger: &Ledger, report: &Value) {
    let mut by_order: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &ledger.paypal_captures {
        *by_order.entry(c.order_id.as_deref().unwrap_or(&c.id)).or_default() += 1;
    }
    assert!(by_order.values().all(|n| *n == 1), "an order captured twice: {by_order:?}");
    let mut fin: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &ledger.gateway_finalizations {
        *fin.entry(f.payment_id.as_str()).or_default() += 1;
    }
    for c in ledger.paypal_captures.iter().filter(|c| c.status == "COMPLETED") {
        assert_eq!(fin.get(c.id.as_str()), Some(&1), "capture {} finalized once: {ledger:?}", c.id);
    }
    let said: BTreeSet<u64> = items(report).iter().filter(|i| i["outcome"] == "finalized").map(no).collect();
    let ledger_fin: BTreeSet<u64> = ledger.gateway_finalizations.iter().map(|f| f.invoice_no).collect();
    assert_eq!(said, ledger_fin, "the report's finalized items are the ledger's");
    for i in items(report).iter().filter(|i| i["outcome"] == "finalized") {
        let capture = i["captureId"].as_str();
        if let Some(capture) = capture {
            let f = ledger.gateway_finalizations.iter().find(|f| f.invoice_no == no(i)).expect("finalized");
            assert_eq!(f.payment_id, capture, "{i}");
        }
    }
}

#[tokio::test]
async fn a_run_finalizes_each_ready_item_once_and_the_report_agrees_with_the_ledger() {
    let h = Harness::synced(config(150, 1)).await;
    let id = approved_batch(&h).await;
    let before = h.json(&["batch", "show", &id]).await;
    let ready: BTreeSet<u64> = items(&before)
        .iter()
        .filter(|i| matches!(i["verdict"].as_str(), Some("ready" | "wallet_shared")) && i["excluded"] == false)
        .map(no)
        .collect();
    assert!(ready.len() >= 3, "{} ready", ready.len());

    let out = h.run(&["batch", "run", &id, "--rate", "200", "--concurrency", "4"]).await;
    assert!(out.stderr.contains(&format!("batch {id}: ")), "plain progress lines off a terminal: {}", out.stderr);
    if out.status == Some(8) {
        // only captures PayPal holds PENDING are left: `desk recover` ends them, and the batch's
        // items follow their journal entries (the batch completes without another run)
        let shown = h.json(&["batch", "show", &id]).await;
        let pending: Vec<u64> = items(&shown).iter().filter(|i| i["outcome"] == "pending").map(no).collect();
        assert!(!pending.is_empty(), "exit 8 with pending items: {shown}");
        h.run(&["recover", "--wait-pending", "15"]).await.code(0);
        let after = h.json(&["batch", "show", &id]).await;
        for i in items(&after).iter().filter(|i| pending.contains(&no(i))) {
            assert_eq!(i["outcome"], "finalized", "{i}");
        }
        assert_eq!(after["state"], "completed");
    } else {
        assert!(matches!(out.status, Some(0 | 9)), "{out:?}");
    }
    let report = h.json(&["batch", "report", &id]).await;
    let open: Vec<&Value> =
        items(&report).iter().filter(|i| !TERMINAL.contains(&i["outcome"].as_str().unwrap_or(""))).collect();
    assert_eq!(report["batch"]["state"], "completed", "{open:?}\n{}", out.stderr);
    for i in items(&report) {
        let outcome = i["outcome"].as_str().unwrap_or_else(|| panic!("no outcome in {i}"));
        assert!(TERMINAL.contains(&outcome), "{i}");
        if !ready.contains(&no(i)) {
            assert_eq!(outcome, "excluded", "not ready at preflight: {i}");
        }
    }
    let finalized: Vec<&Value> = items(&report).iter().filter(|i| i["outcome"] == "finalized").collect();
    assert!(!finalized.is_empty());
    for i in &finalized {
        assert!(i["paypalAmount"].is_string() || i["walletInInvoiceCurrency"].is_string(), "{i}");
        if i["captureId"].is_string() {
            assert!(i["paypalFee"].is_string() && i["netAmount"].is_string(), "fee and net read: {i}");
        }
    }
    let totals = report["totals"].as_array().expect("totals");
    assert_eq!(totals.iter().map(|t| t["finalized"].as_u64().unwrap_or(0)).sum::<u64>(), finalized.len() as u64);
    agrees(&h.ledger().await, &report);

    // the CSV: a header and one row per item
    let csv = h.tmp().join("report.csv");
    let csv_path = csv.to_str().expect("path");
    let text = h.run(&["batch", "report", &id, "--csv", csv_path]).await.code(0);
    assert!(text.stdout.contains("finalized, per currency:"), "{}", text.stdout);
    let rows = std::fs::read_to_string(&csv).expect("csv");
    assert!(rows.starts_with("invoice_no,currency,"), "{rows}");
    assert_eq!(rows.lines().count(), items(&report).len() + 1);

    // a completed batch does not run again, and nothing moves
    let captures = h.ledger().await.paypal_captures.len();
    h.run(&["batch", "run", &id]).await.code(2);
    assert_eq!(h.ledger().await.paypal_captures.len(), captures);
    // its invoices are free for another batch
    let first = finalized[0]["invoiceNo"].to_string();
    h.run(&["batch", "create", "--invoices", &first]).await.code(0);
}

#[tokio::test]
async fn a_run_killed_with_sigkill_resumes_from_the_journal_and_captures_nothing_twice() {
    let h = Harness::synced(config(150, 1)).await;
    let id = approved_batch(&h).await;
    // slow: a few requests a second, so the kill lands mid-run
    let child = h.desk(&["batch", "run", &id, "--rate", "6"]).spawn();
    let pid = child.id().expect("pid").to_string();
    let mut done = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let shown = h.json(&["batch", "show", &id]).await;
        done = items(&shown).iter().filter(|i| i["outcome"] == "finalized").count();
        if done >= 2 {
            break;
        }
    }
    assert!(done >= 2, "the run finalized items before the kill");
    let killed = std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("kill runs");
    assert!(killed.success());
    drop(child);
    let mid = h.json(&["batch", "show", &id]).await;
    assert_eq!(mid["state"], "running", "killed mid-run");
    assert!(items(&mid).iter().any(|i| !TERMINAL.contains(&i["outcome"].as_str().unwrap_or(""))), "items left");

    let out = h.run(&["batch", "run", &id, "--rate", "200"]).await;
    finish(&h, &id, out).await;
    let report = h.json(&["batch", "report", &id]).await;
    for i in items(&report) {
        assert!(TERMINAL.contains(&i["outcome"].as_str().unwrap_or("")), "{i}");
    }
    agrees(&h.ledger().await, &report);
}

#[tokio::test]
async fn pause_stops_new_items_and_run_resumes_while_bad_input_changes_nothing() {
    let h = Harness::synced(config(150, 1)).await;
    let draft = id_of(&h.json(&["batch", "create", "--paypal"]).await);
    // not approved: refused, nothing moves
    let out = h.run(&["batch", "run", &draft]).await.code(2);
    assert!(out.stderr.contains("not approved"), "{}", out.stderr);
    h.run(&["batch", "cancel", &draft]).await.code(0);
    let id = approved_batch(&h).await;
    for rate in ["0", "-3", "fast"] {
        let out = h.run(&["batch", "run", &id, &format!("--rate={rate}")]).await.code(2);
        assert!(out.stderr.contains("rate"), "{}", out.stderr);
    }
    h.run(&["batch", "pause", &id]).await.code(2); // not running yet
    h.run(&["batch", "run", "424242"]).await.code(3);
    h.ledger().await.assert_nothing_moved();
    assert_eq!(h.json(&["batch", "show", &id]).await["state"], "approved");

    let child = h.desk(&["batch", "run", &id, "--rate", "5"]).spawn();
    let mut started = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if h.json(&["batch", "show", &id]).await["state"] == "running" {
            started = true;
            break;
        }
    }
    assert!(started);
    let paused = h.json(&["batch", "pause", &id]).await;
    assert_eq!(paused["state"], "paused");
    let out = crate::common::Output::of("batch run (paused)", child).await;
    assert!(matches!(out.status, Some(8 | 9)), "paused with items left: {out:?}");
    let after_pause = h.json(&["batch", "show", &id]).await;
    let left = items(&after_pause).iter().filter(|i| i["outcome"] == "queued").count();
    assert!(left > 0, "paused before the end: {after_pause}");
    // nothing moves while paused
    let captures = h.ledger().await.paypal_captures.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.ledger().await.paypal_captures.len(), captures);

    let out = h.run(&["batch", "run", &id, "--rate", "200", "--json"]).await;
    assert_eq!(finish(&h, &id, out).await["state"], "completed");
    agrees(&h.ledger().await, &h.json(&["batch", "report", &id]).await);
}
