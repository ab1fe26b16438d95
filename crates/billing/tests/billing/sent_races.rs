//! Races around a money-moving request that was sent: a send whose answer never came may still
//! land after a resume read the invoice (the in-flight window); a run that lost its entry lease
//! sends and writes nothing; a wallet payment is ours only when it matches the one we sent.
//!
//! The gateway's side goes through the HTTP-level double of `paypal_double.rs` (as in
//! `gateway_outcomes.rs`), which can pass a request on and cut the desk's connection at once
//! while the sandbox still works on it.

use crate::capture_paths::{block_on, full_wallet_invoice, wallet_payments, JustBefore, StopOnce, World};
use crate::common::{desk_at, ledger, money_moved, no_progress};
use crate::paypal_double::{Act, PaypalDouble};
use crate::unknown_outcomes::{assert_captured_and_finalized_once, plain_order};
use billing::capture::{Entry, State, Step};
use billing::{Desk, ErrorCode};
use sandbox::Sandbox;
use serde_json::{json, Value};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) const FINALIZE: &str = "POST /api/v1/billing/invoice/paypal/capture";
pub(crate) const PAY: &str = "POST /api/v1/billing/invoice/pay";

/// The sandbox, the double in front of its gateway, a desk synced through the double (PayPal
/// straight at the sandbox).
pub(crate) struct Fixture {
    pub sb: Sandbox,
    pub gw: PaypalDouble,
    pub d: Desk,
    _dir: tempfile::TempDir,
}

pub(crate) async fn fixture(sb: Sandbox) -> Fixture {
    let gw = PaypalDouble::start(sb.base_url()).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk_at(&gw.url, &sb.base_url(), dir.path(), "demo-client-secret").await;
    d.sync(false, &no_progress()).await.expect("sync");
    Fixture { sb, gw, d, _dir: dir }
}

fn faults(sb: &Sandbox, routes: Value) {
    sb.set_faults(serde_json::from_value(json!({ "routes": routes })).expect("faults"));
}

async fn only_entry(d: &Desk, no: i64) -> Entry {
    let mut j = d.journal(Some(no), 10).await.expect("journal");
    assert_eq!(j.len(), 1, "one attempt: {j:?}");
    j.remove(0)
}

/// The in-flight window of the attempt's latest send has passed (its journaled send time moved
/// back by the whole window, as if that much time had gone by).
pub(crate) async fn window_passes(d: &Desk, no: i64) {
    assert_eq!(windows_pass(d, Some(no)).await, 1, "a journaled send");
}

/// The in-flight window of every journaled send (of `no`, or all) has passed, a PayPal capture's
/// (longer than the gateway's) and an earlier send's kept open (`sent_open_until`) included: a
/// day goes by for them. How many.
pub(crate) async fn windows_pass(d: &Desk, no: Option<i64>) -> u64 {
    let day = 24 * 3600 * 1000_i64;
    assert!(billing::capture::in_flight_window().as_millis() < 3600 * 1000, "a window shorter than the day");
    sqlx::query(
        "UPDATE capture_journal SET sent_at = sent_at - ?, sent_open_until = sent_open_until - ? \
         WHERE sent_at IS NOT NULL AND (? IS NULL OR invoice_no = ?)",
    )
    .bind(day)
    .bind(day)
    .bind(no)
    .bind(no)
    .execute(d.pool())
    .await
    .expect("sent_at")
    .rows_affected()
}

pub(crate) fn waits_in_flight(r: &billing::capture::CaptureResult, e: &Entry, state: State) {
    assert_eq!((r.state, r.finished), (state, false), "{r:?}");
    assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("request_in_flight: ")), "{e:?}");
    assert_eq!(e.reason, None, "nothing concluded: {e:?}");
}

/// Waits until the sandbox's ledger holds `n` finalizations (the request the desk gave up on
/// lands); bounded.
async fn finalizations_reach(sb: &Sandbox, n: usize) {
    for _ in 0..500 {
        if money_moved(sb).await.1 >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the finalization never landed: {}", ledger(sb).await);
}

// ---------------------------------------------------------------------------------------------
// 2. a send without an answer may still land

/// The finalization's connection is cut while the gateway is still working on it (slow, it
/// lands 4 s later). A resume at once reads the invoice (not paid yet) and waits: it neither
/// sends again nor concludes anything (before: it sent a second finalization at once, racing
/// the first). Once the first has landed, the next resume finds it: finalized, sent once.
#[tokio::test]
async fn a_finalization_without_an_answer_is_not_sent_again_while_it_may_still_land() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let f = fixture(world.start().await).await;
    faults(&f.sb, json!({ FINALIZE: { "latency_ms": 4000 } }));
    f.gw.on(FINALIZE, Some(1), Act::ForwardDetachedThenDrop);
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "{r:?}");

    let r = f.d.recover().await.expect("recover").remove(0);
    waits_in_flight(&r, &only_entry(&f.d, no).await, State::FinalizeSent);
    assert_eq!(f.gw.seen(FINALIZE).len(), 1, "not sent again while the first may land");

    finalizations_reach(&f.sb, 1).await;
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
    assert_eq!(f.gw.seen(FINALIZE).len(), 1, "sent once");
    assert_captured_and_finalized_once(&f.sb, no).await;
    f.d.close().await;
}

/// A finalization whose answer never came and which never landed (the gateway failed it, and
/// the desk never heard): the resumes wait while it might still land, and once the window has
/// passed the next one sends again and finalizes once.
#[tokio::test]
async fn a_lost_finalization_is_sent_again_once_it_cannot_land_any_more() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let f = fixture(world.start().await).await;
    faults(&f.sb, json!({ FINALIZE: { "error_rate": 1, "error_status": 503 } }));
    f.gw.on(FINALIZE, Some(1), Act::ForwardDetachedThenDrop);
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "{r:?}");
    faults(&f.sb, json!({}));
    for _ in 0..2 {
        let r = f.d.recover().await.expect("recover").remove(0);
        waits_in_flight(&r, &only_entry(&f.d, no).await, State::FinalizeSent);
    }
    assert_eq!(f.gw.seen(FINALIZE).len(), 1);
    assert_eq!(money_moved(&f.sb).await, (1, 0), "captured, not finalized");
    // what the app waits for before it resumes again: the send's window, no more
    let open = f.d.sends_may_land_for().await.expect("journal").expect("a send may still land");
    assert!(open <= billing::capture::in_flight_window(), "{open:?}");

    window_passes(&f.d, no).await;
    assert_eq!(f.d.sends_may_land_for().await.expect("journal"), None, "none once the window passed");
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
    assert_eq!(f.gw.seen(FINALIZE).len(), 2);
    assert_captured_and_finalized_once(&f.sb, no).await;
    f.d.close().await;
}

/// The same for the full wallet payment: no second payment while the first may still land
/// (before: paid again at once), and paid once after the window.
#[tokio::test]
async fn a_wallet_payment_without_an_answer_is_not_sent_again_while_it_may_still_land() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    faults(&f.sb, json!({ PAY: { "error_rate": 1, "error_status": 503 } }));
    f.gw.on(PAY, Some(1), Act::ForwardDetachedThenDrop);
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::WalletPaySent, false), "{r:?}");
    faults(&f.sb, json!({}));
    let r = f.d.recover().await.expect("recover").remove(0);
    waits_in_flight(&r, &only_entry(&f.d, no).await, State::WalletPaySent);
    assert_eq!(f.gw.seen(PAY).len(), 1, "not paid again while the first may land");

    window_passes(&f.d, no).await;
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
    assert_eq!(f.gw.seen(PAY).len(), 2);
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "one wallet payment");
    f.d.close().await;
}

// ---------------------------------------------------------------------------------------------
// 3. a run that lost its entry lease

/// Another run takes the attempt's entry lease over (this run's expired) right before a
/// money-moving request: the request is not sent, nothing is written, and the run stops with
/// `Conflict`. (Before: the lease was confirmed only at the top of each step, so the
/// finalization, or the capture, went out beside the new holder.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_lost_its_entry_lease_sends_nothing() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    for (step, state, moved) in
        [(Step::Capture, State::PaypalCaptureSent, (0, 0)), (Step::Finalize, State::FinalizeSent, (1, 0))]
    {
        let f = fixture(world.start().await).await;
        let hook = JustBefore { step, fired: AtomicBool::new(false), action: || block_on(take_over(&f.d, no)) };
        let err = f.d.capture_with(no, &hook).await.expect_err("the run stops");
        assert!(hook.fired.load(Ordering::SeqCst));
        assert_eq!(err.code, ErrorCode::Conflict, "{step:?}: {err:?}");
        assert!(err.detail.as_deref().is_some_and(|d| d.starts_with("entry_lease_lost: ")), "{err:?}");
        assert_eq!(only_entry(&f.d, no).await.state(), state, "{step:?}");
        assert_eq!(money_moved(&f.sb).await, moved, "{step:?}: nothing sent after the lease was lost");
        f.d.close().await;
    }
}

/// Another run takes the entry lease over while this one reads the capture: this run's
/// transition (`verified`) is refused, the journal stays as the new holder found it. (Before:
/// the transition matched only the state it read, and was written.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_lost_its_entry_lease_writes_no_transition() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let f = fixture(world.start().await).await;
    let hook =
        JustBefore { step: Step::Verify, fired: AtomicBool::new(false), action: || block_on(take_over(&f.d, no)) };
    let err = f.d.capture_with(no, &hook).await.expect_err("the run stops");
    assert_eq!(err.code, ErrorCode::Conflict, "{err:?}");
    assert_eq!(only_entry(&f.d, no).await.state(), State::PaypalCaptured, "no transition written");
    assert_eq!(money_moved(&f.sb).await, (1, 0));
    f.d.close().await;
}

/// Another run (of another process) took `no`'s entry lease over: as after this run's lease
/// expired, the row names the new holder, unexpired.
async fn take_over(d: &Desk, no: i64) {
    let later = chrono::Utc::now().timestamp_millis() + 60_000;
    let taken = sqlx::query(
        "UPDATE entry_lease SET holder = 'another-process/1/j0', expires_at = ? \
         WHERE journal_id = (SELECT id FROM capture_journal WHERE invoice_no = ? ORDER BY id DESC LIMIT 1)",
    )
    .bind(later)
    .bind(no)
    .execute(d.pool())
    .await
    .expect("take over");
    assert_eq!(taken.rows_affected(), 1, "the run held a lease");
}

// ---------------------------------------------------------------------------------------------
// 4. a wallet payment is ours only when it matches ours

/// The attempt stopped before its wallet payment left (`wallet_pay_sent`, nothing sent); another
/// desk then pays the invoice from the same wallet. The resume does not take that payment for
/// ours: it ends `rejected` ("already paid at the gateway"; this attempt moved nothing).
/// (Before: any wallet payment on a paid invoice was taken for ours, `finalized`.)
#[tokio::test]
async fn a_wallet_payment_another_desk_made_is_not_taken_for_ours() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    f.d.capture_with(no, &StopOnce::new(Step::WalletPay, false)).await.expect_err("stopped before the payment");
    assert_eq!(only_entry(&f.d, no).await.state(), State::WalletPaySent);
    let currency = f.d.invoice(no).await.expect("cached").currency;
    let status = reqwest::Client::new()
        .post(format!("{}/api/v1/billing/invoice/pay", f.sb.base_url()))
        .bearer_auth("demo-staff-token")
        .json(&json!({ "invoice": no, "currency": currency }))
        .send()
        .await
        .expect("pay")
        .status();
    assert_eq!(status, 200, "the other desk paid");

    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    assert_eq!(only_entry(&f.d, no).await.reason.as_deref(), Some("the invoice is already paid at the gateway"));
    assert_eq!(f.gw.seen(PAY).len(), 0, "this desk never paid");
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "the other desk's payment only");
    f.d.close().await;
}

/// Our wallet payment was sent and its answer lost; the paid invoice then lists a wallet
/// payment of another amount than the whole outstanding we paid: not taken for ours. While our
/// payment may still land the attempt waits; after that it needs attention, saying what the
/// invoice holds. (Before: `finalized`, the other payment taken for ours.)
#[tokio::test]
async fn a_wallet_payment_of_another_amount_is_not_taken_for_ours() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    faults(&f.sb, json!({ PAY: { "error_rate": 1, "error_status": 503 } }));
    f.gw.on(PAY, Some(1), Act::ForwardDetachedThenDrop);
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::WalletPaySent, false), "{r:?}");
    faults(&f.sb, json!({}));
    const DETAIL: &str = "GET /api/v1/billing_admin/invoices/{id}";
    f.gw.on(DETAIL, None, Act::Rewrite(paid_by_a_smaller_wallet_payment));

    let r = f.d.recover().await.expect("recover").remove(0);
    waits_in_flight(&r, &only_entry(&f.d, no).await, State::WalletPaySent);
    window_passes(&f.d, no).await;
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    let reason = only_entry(&f.d, no).await.reason.unwrap_or_default();
    assert!(reason.contains("OTHER-WALLET-PAYMENT") && reason.contains("cannot tell"), "{reason}");
    assert_eq!(f.gw.seen(PAY).len(), 1, "not paid again");
    f.d.close().await;
}

/// The invoice as paid by a wallet payment of one unit less than its total (another
/// payment's, not ours).
fn paid_by_a_smaller_wallet_payment(v: &mut Value) {
    let total = rust_decimal::Decimal::from_str(&v["total"].to_string()).expect("total");
    let less = serde_json::Number::from_str(&(total - rust_decimal::Decimal::ONE).to_string()).expect("number");
    v["status"] = json!("paid");
    v["outstanding"] = json!(0);
    v["payments"] = json!([{
        "paymentId": "OTHER-WALLET-PAYMENT", "amount": less, "currency": v["currency"].clone(),
        "method": "wallet", "at": "2026-11-20T10:00:00Z"
    }]);
}
