//! Smaller capture defects, each against the sandbox: an invoice the gateway does not take a
//! PayPal payment for (`eligibleForPayment: false`), a finalization stopped by our credentials
//! (401/403), the preview of a completed order whose capture was declined, and how the full
//! wallet payment is journaled.

use crate::capture_paths::{full_wallet_invoice, gateway_invoice, ledger, paypal_post, synced_desk, World};
use billing::capture::State;
use billing::ErrorCode;
use sandbox::{FaultConfig, Sandbox};
use serde_json::{json, Value};

/// PayPal requests (`/v1/…`, `/v2/…`) the sandbox received so far.
async fn paypal_requests(sb: &Sandbox) -> u64 {
    let s: Value =
        reqwest::get(format!("{}/__sandbox/stats", sb.base_url())).await.expect("stats").json().await.expect("json");
    s["by_route"]
        .as_object()
        .expect("by_route")
        .iter()
        .filter(|(target, _)| target.split(' ').nth(1).is_some_and(|p| p.starts_with("/v1/") || p.starts_with("/v2/")))
        .map(|(_, n)| n.as_u64().unwrap_or(0))
        .sum()
}

// ---------------------------------------------------------------------------------------------
// eligibleForPayment: false

/// An approved order of an invoice in NGN, which PayPal does not take: the gateway's
/// part-process answers `eligibleForPayment: false` (and its finalization would answer
/// "Payment method is disabled" after PayPal captured).
pub(crate) async fn ineligible_invoice() -> (World, i64) {
    let mut world = World::seeded(1, 300).await;
    let no = world.find("an approved order", |w, no| {
        w.is_order(no, "APPROVED", "Completed") && !matches!(w.invoice(no)["currency"].as_str(), Some("JPY" | "HUF"))
    });
    let customer = world.invoice(no)["customer_id"].as_str().expect("customer").to_owned();
    world.json["invoices"][no.to_string()]["currency"] = json!("NGN");
    let order_id = world.order_id(no);
    let outstanding = world.invoice(no)["outstanding"].clone();
    // the customer approved the whole invoice at PayPal, in NGN
    world.json["orders"][&order_id]["currency"] = json!("NGN");
    world.json["orders"][&order_id]["value"] = outstanding;
    // an empty wallet: part-process answers (no wallet at all would be "Wallet not found")
    world.json["customers"][customer]["wallet"] = json!({ "currency": "NGN", "balance": "0" });
    (world, no)
}

#[tokio::test]
async fn an_invoice_not_eligible_for_payment_is_refused_before_any_paypal_call_and_the_preview_says_why() {
    let (world, no) = ineligible_invoice().await;
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let reason = "the gateway does not allow a PayPal payment for this invoice (PayPal does not take NGN)";

    let before = paypal_requests(&sb).await;
    let p = d.capture_preview(no).await.expect("preview");
    assert!(!p.ready, "{p:?}");
    assert_eq!(p.problems, vec![format!("T{}; it cannot be captured.", &reason[1..])]);

    let r = d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    assert_eq!(r.message, format!("Not captured: {reason}; nothing was captured"));
    assert_eq!(paypal_requests(&sb).await, before, "no PayPal call, not even a read");
    let l = ledger(&sb).await;
    assert_eq!((&l["paypal_captures"], &l["gateway_finalizations"]), (&json!([]), &json!([])));
    assert_eq!(gateway_invoice(&sb, no).await["status"], "outstanding");
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// 401 / 403 on finalize

/// The finalization answers `status` (our token refused, or the traffic guard); PayPal captured.
/// The attempt stays open with a credentials message and is finalized once the gateway takes
/// our calls again, without a second capture.
async fn finalize_refused_for_credentials(status: u16, message: &str) {
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let no = 458_732;
    let faults = json!({ "routes": { "POST /api/v1/billing/invoice/paypal/capture": { "error_rate": 1, "error_status": status } } });
    sb.set_faults(serde_json::from_value(faults).expect("faults"));

    let err = d.capture(no).await.expect_err("stopped by the gateway's credentials check");
    assert_eq!(err.code, ErrorCode::GatewayUnauthorized, "{err:?}");
    let e = d.journal(Some(no), 10).await.expect("journal").remove(0);
    let capture_id = e.capture_id.clone().expect("PayPal captured");
    assert_eq!(
        err.message,
        format!(
            "PayPal captured {} USD ({capture_id}), but {message}; the invoice is finalized when this capture resumes \
             (nothing is captured again).",
            e.paypal_amount.as_deref().expect("amount")
        )
    );
    assert_eq!((e.state(), e.reason.as_deref()), (State::FinalizeSent, None), "open, not needs_attention");
    assert!(e.last_error.as_deref().is_some_and(|x| x.contains(&status.to_string()) || x.contains("gateway")), "{e:?}");
    let l = ledger(&sb).await;
    assert_eq!((l["paypal_captures"].as_array().map(Vec::len), &l["gateway_finalizations"]), (Some(1), &json!([])));

    // credentials fixed: the capture resumes and is finalized, with the one capture
    sb.set_faults(FaultConfig::default());
    let r = d.capture(no).await.expect("resumed");
    assert_eq!((r.state, r.journal_id, r.capture_id.as_deref()), (State::Finalized, e.id, Some(capture_id.as_str())));
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["gateway_finalizations"][0]["paymentId"], json!(capture_id));
    d.close().await;
}

#[tokio::test]
async fn a_finalization_refused_with_401_waits_for_credentials_and_is_finalized_after() {
    finalize_refused_for_credentials(
        401,
        "the gateway refused our staff token when finalizing. Check the gateway token in Settings",
    )
    .await;
}

#[tokio::test]
async fn a_finalization_refused_with_403_waits_and_is_finalized_after() {
    finalize_refused_for_credentials(
        403,
        "the gateway's traffic guard blocked the finalization. Try again later, or ask IT to let Capture Desk through",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// The preview of a completed order whose capture was declined

#[tokio::test]
async fn the_preview_of_a_completed_order_whose_capture_was_declined_is_not_ready() {
    let world = World::seeded(1, 300).await;
    let no = world.find("an approved order whose capture is declined", |w, no| w.is_order(no, "APPROVED", "Declined"));
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    // someone captured it at PayPal, and PayPal declined that capture: the order is COMPLETED
    let (status, order) =
        paypal_post(&sb, &format!("/v2/checkout/orders/{}/capture", world.order_id(no)), json!({})).await;
    assert_eq!((status, &order["status"]), (201, &json!("COMPLETED")), "{order}");
    assert_eq!(order["purchase_units"][0]["payments"]["captures"][0]["status"], "DECLINED", "{order}");

    let p = d.capture_preview(no).await.expect("preview");
    assert!(!p.ready, "{p:?}");
    assert_eq!(
        p.problems,
        vec!["PayPal declined the capture of this order; nothing was paid, and the customer must pay again.".to_owned()]
    );
    assert_eq!(p.approval.map(|a| a.status), Some("COMPLETED".to_owned()));
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// The full wallet payment in the journal

#[tokio::test]
async fn the_full_wallet_payment_is_journaled_as_an_amount_with_its_currency() {
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let no = full_wallet_invoice(&d).await;
    let cached = d.invoice(no).await.expect("cached");

    let r = d.capture(no).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    let e = d.journal(Some(no), 10).await.expect("journal").remove(0);
    // the gateway's answer gives the invoice-currency amount: journaled with that currency
    let expected = Some(cached.outstanding.as_str());
    assert_eq!(
        (e.wallet_amount.as_deref(), e.wallet_currency.as_deref(), e.wallet_in_invoice_currency.as_deref()),
        (expected, Some(cached.currency.as_str()), expected)
    );
    assert_eq!(e.exchange_rate, None);
    assert_eq!((r.wallet_amount.as_deref(), r.wallet_currency.as_deref()), (expected, Some(cached.currency.as_str())));
    let paid = gateway_invoice(&sb, no).await["payments"][0].clone();
    assert_eq!((&paid["method"], &paid["currency"]), (&json!("wallet"), &json!(cached.currency)));
    d.close().await;
}
