//! Two `desk` processes on one data directory and one open attempt: one drives it at a time
//! (the entry lease), the other waits for it and reads the journal again, so nothing is sent
//! twice.

use crate::common::{config, Harness, Output};
use sandbox::world::CaptureOutcome;
use serde_json::{json, Value};
use std::time::Duration;

/// A `desk` run here may take longer than the harness's own bound.
const LONG_RUN: Duration = Duration::from_secs(300);

const ORDER_CAPTURE: &str = "POST /v2/checkout/orders/{id}/capture";
const GET_CAPTURE: &str = "GET /v2/payments/captures/{id}";
const FINALIZE: &str = "POST /api/v1/billing/invoice/paypal/capture";

/// Requests the sandbox received for `target` (exact `METHOD /path`).
async fn requests(h: &Harness, target: &str) -> u64 {
    let v: Value = serde_json::from_str(&h.get_text("/__sandbox/stats").await).expect("stats");
    v["by_route"][target].as_u64().unwrap_or(0)
}

fn only(v: &Value) -> &Value {
    let a = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    assert_eq!(a.len(), 1, "one element expected: {v}");
    &a[0]
}

/// The app and `desk recover`, or two `desk recover`s, on an attempt whose capture answer was
/// lost (`paypal_capture_sent`), while PayPal and the gateway are slow: the run that holds the
/// attempt takes about 72 s (the capture replayed, 27 s; the capture read, 27 s; the
/// finalization, 18 s: each call within its client's timeout). The other process waits for it
/// and then finds the attempt finished. (Before: it waited 60 s for the wallet lease, then went
/// on without it, beside the first: it sent the finalization again, or failed on the journal's
/// stale-row refusal, exit 7.)
#[tokio::test]
async fn two_recover_processes_on_one_sent_capture_send_it_once_and_finalize_once() {
    let h = Harness::synced(config(300, 5)).await;
    let f = h.order_fixture(CaptureOutcome::Completed);
    let target = format!("POST /v2/checkout/orders/{}/capture", f.order_id);
    // PayPal captures, the answer is lost and PayPal stays down: the attempt waits, sent
    h.set_faults(json!({"routes":{ORDER_CAPTURE:{"drop_after_commit_rate":1,"outage_after_commit_ms":600_000}}})).await;
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(8);
    assert_eq!(only(&out.json())["state"], "paypal_capture_sent", "{}", out.stdout);
    let ledger = h.ledger().await;
    assert_eq!(ledger.paypal_captures.len(), 1, "PayPal captured once: {ledger:?}");
    assert!(ledger.gateway_finalizations.is_empty());
    let sent_before = requests(&h, &target).await;

    // PayPal is back, slowly: both recoveries start at once on the one open attempt
    h.set_faults(json!({"routes":{
        ORDER_CAPTURE:{"latency_ms":27_000}, GET_CAPTURE:{"latency_ms":27_000}, FINALIZE:{"latency_ms":18_000}
    }}))
    .await;
    let a = h.desk(&["recover", "--json"]).spawn();
    let b = h.desk(&["recover", "--json"]).spawn();
    let (a, b) = tokio::join!(Output::within("recover (A)", a, LONG_RUN), Output::within("recover (B)", b, LONG_RUN));

    let ledger = h.ledger().await;
    ledger.assert_one(f.invoice_no, &f.order_id, &f.currency, f.paypal_amount);
    assert_eq!(requests(&h, &target).await - sent_before, 1, "the capture was replayed once, by one process");
    assert_eq!(requests(&h, FINALIZE).await, 1, "one finalization sent\nA: {a:?}\nB: {b:?}");
    for out in [a, b] {
        let out = out.code(0);
        let r = only(&out.json()).clone();
        assert_eq!((&r["state"], &r["finished"]), (&json!("finalized"), &json!(true)), "{r}");
    }
    assert_eq!(h.json(&["journal", "--open"]).await, json!([]));
}
