//! Gateway outcomes after a finalization (or the full wallet payment) was sent: an answer that
//! cannot tell is never read as "not ours".
//!
//! * The gateway's invoice without its `payments` list (absent or `null`) says nothing about
//!   which payments it holds: after a lost answer the attempt waits, never refund advice or
//!   `rejected`. GATEWAY-API.md gives the detail answer a `payments[]` and the sandbox always
//!   sends it, so the HTTP-level double of `paypal_double.rs`, standing in front of the
//!   sandbox's gateway here, leaves it out (and cuts the connection after a POST acted).
//! * A refusal after a finalization was sent is checked against the invoice's payments first:
//!   the gateway may refuse because it already holds the capture (an undocumented error after it
//!   acted, as the sandbox's own `error_after_commit_*` fault makes; "Invalid Amount" to a second
//!   send after the first one's answer was lost and a lagging read showed nothing paid).

use crate::capture_paths::{full_wallet_invoice, wallet_payments, StopOnce, World};
use crate::common::money_moved;
use crate::paypal_double::Act;
use crate::sent_races::{fixture, waits_in_flight, window_passes, FINALIZE, PAY};
use crate::unknown_outcomes::{assert_captured_and_finalized_once, plain_order};
use billing::capture::{Entry, State, Step};
use billing::Desk;
use sandbox::Sandbox;
use serde_json::{json, Value};

const DETAIL: &str = "GET /api/v1/billing_admin/invoices/{id}";

fn faults(sb: &Sandbox, route: &str, fault: Value) {
    sb.set_faults(serde_json::from_value(json!({ "routes": { route: fault } })).expect("faults"));
}

async fn only_entry(d: &Desk, no: i64) -> Entry {
    let mut j = d.journal(Some(no), 10).await.expect("journal");
    assert_eq!(j.len(), 1, "one attempt: {j:?}");
    j.remove(0)
}

/// The invoice's answer without its payments list.
fn payments_absent(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.remove("payments");
    }
}

/// The invoice's answer with `"payments": null`.
fn payments_null(v: &mut Value) {
    v["payments"] = Value::Null;
}

/// The invoice as a lagging read shows it: outstanding, nothing paid yet.
fn stale_outstanding(v: &mut Value) {
    v["status"] = json!("outstanding");
    v["outstanding"] = v["total"].clone();
    v["payments"] = json!([]);
}

/// The finalization went through, its answer was lost; the invoice then comes without its
/// payments: the attempt waits in `finalize_sent` (before: `needs_attention`, "already paid by
/// another payment; refund or reconcile"), and is finalized, without another send, once the
/// payments read.
#[tokio::test]
async fn a_lost_finalize_answer_waits_while_the_invoice_comes_without_its_payments() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    for strip in [payments_absent as fn(&mut Value), payments_null] {
        let f = fixture(world.start().await).await;
        f.gw.on(FINALIZE, Some(1), Act::ForwardThenDrop);
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "{r:?}");
        assert_eq!(money_moved(&f.sb).await, (1, 1), "captured and finalized; the answer was lost");

        f.gw.on(DETAIL, Some(1), Act::Rewrite(strip));
        let r = f.d.recover().await.expect("recover").remove(0);
        assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "cannot tell: waits: {r:?}");
        let e = only_entry(&f.d, no).await;
        assert_eq!(e.reason, None, "no refund advice: {e:?}");
        assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("gateway_payments_missing: ")), "{e:?}");
        assert_eq!(f.gw.seen(FINALIZE).len(), 1, "nothing sent again");

        let r = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(r.state, State::Finalized, "{r:?}");
        assert_eq!(f.gw.seen(FINALIZE).len(), 1, "nothing sent again");
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}

/// The full wallet payment went through, its answer was lost; the paid invoice then comes
/// without its payments: the attempt waits (before: `rejected`, "already paid at the gateway",
/// with the customer's wallet debited), and is finalized once the payments read.
#[tokio::test]
async fn a_lost_wallet_payment_answer_waits_while_the_invoice_comes_without_its_payments() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    f.gw.on(PAY, Some(1), Act::ForwardThenDrop);
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::WalletPaySent, false), "{r:?}");
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "the wallet paid; the answer was lost");

    f.gw.on(DETAIL, Some(1), Act::Rewrite(payments_absent));
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::WalletPaySent, false), "cannot tell: waits: {r:?}");
    let e = only_entry(&f.d, no).await;
    assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("gateway_payments_missing: ")), "{e:?}");

    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert_eq!(f.gw.seen(PAY).len(), 1, "paid once");
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "one wallet payment");
    f.d.close().await;
}

/// The gateway finalizes, then answers an undocumented error (the sandbox's
/// `error_after_commit_*`): the invoice holds the capture, so the attempt is finalized (before:
/// `needs_attention`, "the gateway refused to finalize").
#[tokio::test]
async fn an_undocumented_error_after_the_gateway_finalized_reads_the_payments_and_finalizes() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    for status in [400, 422] {
        let f = fixture(world.start().await).await;
        faults(&f.sb, FINALIZE, json!({ "error_after_commit_rate": 1, "error_after_commit_status": status }));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::Finalized, true), "{status}: {r:?}");
        assert_eq!(only_entry(&f.d, no).await.reason, None);
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}

/// The full wallet payment acts, then the gateway answers an undocumented error: the paid
/// invoice holds a wallet payment, so the attempt is finalized (before: `rejected`, "the wallet
/// payment was refused", with the wallet debited).
#[tokio::test]
async fn an_undocumented_error_after_the_wallet_paid_reads_the_invoice_and_finalizes() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    faults(&f.sb, PAY, json!({ "error_after_commit_rate": 1, "error_after_commit_status": 400 }));
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "one wallet payment");
    f.d.close().await;
}

/// The first finalization went through and its answer was lost (the process stopped). A resume
/// while it may still be landing reads a lagging invoice (outstanding, no payments) and waits
/// (`sent_races.rs`: nothing is sent again while the first may land). Once that window has
/// passed, the next resume reads a lagging invoice again, sends again, and the gateway refuses
/// that second send. Its invoice then holds the capture: finalized (before: `needs_attention`
/// with refund advice). When the payments cannot be read after the refusal, the attempt waits
/// and is finalized on its next run.
#[tokio::test]
async fn a_refused_second_finalization_reads_the_payments_first() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let invalid_amount = json!({ "message": "Invalid Amount" });
    let undocumented = json!({ "message": "Payment already recorded" });
    for (refusal, then_unreadable) in [(&invalid_amount, false), (&undocumented, false), (&invalid_amount, true)] {
        let f = fixture(world.start().await).await;
        f.d.capture_with(no, &StopOnce::new(Step::Finalize, true)).await.expect_err("stopped after the finalization");
        assert_eq!(money_moved(&f.sb).await, (1, 1), "captured and finalized; the answer was lost");

        f.gw.on(DETAIL, Some(1), Act::Rewrite(stale_outstanding));
        let r = f.d.recover().await.expect("recover").remove(0);
        waits_in_flight(&r, &only_entry(&f.d, no).await, State::FinalizeSent);
        assert_eq!(f.gw.seen(FINALIZE).len(), 1, "{refusal}: not sent again while the first may land");
        window_passes(&f.d, no).await;

        f.gw.on(DETAIL, Some(1), Act::Rewrite(stale_outstanding));
        if then_unreadable {
            f.gw.on(DETAIL, Some(1), Act::Rewrite(payments_absent));
        }
        f.gw.on(FINALIZE, Some(1), Act::Answer(400, refusal.clone()));
        let r = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(f.gw.seen(FINALIZE).len(), 2, "{refusal}: the first send and the second");
        let e = only_entry(&f.d, no).await;
        assert_eq!(e.reason, None, "{refusal}: no refund advice: {e:?}");
        if then_unreadable {
            assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "{refusal}: cannot tell: waits: {r:?}");
            assert!(e.last_error.as_deref().is_some_and(|x| x.contains("gateway_payments_missing: ")), "{e:?}");
            let r = f.d.recover().await.expect("recover").remove(0);
            assert_eq!(f.gw.seen(FINALIZE).len(), 2, "{refusal}: not sent a third time");
            assert_eq!(r.state, State::Finalized, "{refusal}: {r:?}");
        } else {
            assert_eq!((r.state, r.finished), (State::Finalized, true), "{refusal}: {r:?}");
        }
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}

/// The gateway answers the finalization 200 without saying `success` ("failed", and it did not
/// record the payment): not finalized on its word (before: `finalized`, with the gateway never
/// having heard of the capture). The attempt waits; its next run reads the payments, finds the
/// capture missing, sends once more and is finalized: one finalization at the gateway.
#[tokio::test]
async fn a_finalize_answer_that_does_not_say_success_is_checked_against_the_payments() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let f = fixture(world.start().await).await;
    let failed = json!({ "message": "Payment could not be recorded", "status": "failed", "invoiceNo": no });
    f.gw.on(FINALIZE, Some(1), Act::Answer(200, failed));
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "not finalized on its word: {r:?}");
    assert_eq!(money_moved(&f.sb).await, (1, 0), "captured; the gateway has not heard of it");
    let e = only_entry(&f.d, no).await;
    assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("gateway_finalize_unconfirmed: ")), "{e:?}");

    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert_eq!(f.gw.seen(FINALIZE).len(), 2, "sent again once the payments showed it missing");
    assert_captured_and_finalized_once(&f.sb, no).await;
    f.d.close().await;
}
