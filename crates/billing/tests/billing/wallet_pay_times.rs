//! A full wallet payment carries no id of ours, so after its answer was lost the paid invoice's
//! `wallet` payment of the whole outstanding is taken for ours only when the gateway dates it
//! (`payments[].at`, its clock) at or after our journaled send, less the clock-skew allowance
//! (the in-flight margin, 30 s). One made before our send (another desk, a clerk at
//! the gateway) is not ours; one the gateway lists without a time cannot be placed: the attempt
//! waits while our send may still land, then takes it for ours and says so.
//!
//! The sandbox dates every payment by its clock; the HTTP-level double in front of its gateway
//! (`sent_races.rs`' fixture) rewrites the dates a test needs.
//!
//! Positive cases elsewhere: a payment the sandbox dates after our send is ours
//! (`gateway_outcomes::a_lost_wallet_payment_answer_waits_while_the_invoice_comes_without_its_payments`
//! after a lost answer, `gateway_outcomes::an_undocumented_error_after_the_wallet_paid_reads_the_invoice_and_finalizes`
//! after a refusal); here one dated a few seconds before our send, within the allowance.

use crate::capture_paths::{block_on, cancel_at_gateway, full_wallet_invoice, wallet_payments, JustBefore};
use crate::paypal_double::Act;
use crate::sent_races::{fixture, waits_in_flight, window_passes, PAY};
use billing::capture::{Entry, State, Step};
use billing::Desk;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

const DETAIL: &str = "GET /api/v1/billing_admin/invoices/{id}";

async fn only_entry(d: &Desk, no: i64) -> Entry {
    let mut j = d.journal(Some(no), 10).await.expect("journal");
    assert_eq!(j.len(), 1, "one attempt: {j:?}");
    j.remove(0)
}

/// The attempt's journaled send time (Unix ms).
async fn sent_at(d: &Desk, no: i64) -> i64 {
    sqlx::query_scalar::<_, Option<i64>>("SELECT sent_at FROM capture_journal WHERE invoice_no = ?")
        .bind(no)
        .fetch_one(d.pool())
        .await
        .expect("journal row")
        .expect("a journaled send")
}

/// Sets `at` of the invoice's wallet payments (`None`: removes it).
fn date_wallet_payments(v: &mut Value, at: Option<DateTime<Utc>>) {
    for p in v["payments"].as_array_mut().expect("payments").iter_mut().filter(|p| p["method"] == "wallet") {
        match at {
            Some(at) => p["at"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            None => {
                p.as_object_mut().expect("payment").remove("at");
            }
        }
    }
}

fn dated_an_hour_ago(v: &mut Value) {
    date_wallet_payments(v, Some(Utc::now() - chrono::Duration::hours(1)));
}

fn undated(v: &mut Value) {
    date_wallet_payments(v, None);
}

fn unreadable_date(v: &mut Value) {
    for p in v["payments"].as_array_mut().expect("payments").iter_mut().filter(|p| p["method"] == "wallet") {
        p["at"] = json!("20/11/2026 10:00");
    }
}

/// Our full wallet payment went through and its answer was lost (the connection cut after the
/// gateway paid): the attempt is left `wallet_pay_sent`, the wallet paid once.
async fn paid_and_answer_lost(f: &crate::sent_races::Fixture) -> i64 {
    let no = full_wallet_invoice(&f.d).await;
    f.gw.on(PAY, Some(1), Act::ForwardThenDrop);
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::WalletPaySent, false), "{r:?}");
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "the wallet paid; the answer was lost");
    no
}

/// The journaled send time of [`a_wallet_payment_dated_before_our_send_is_not_taken_for_ours`]
/// (its own: tests run side by side).
static LOST_SENT_AT: AtomicI64 = AtomicI64::new(0);

/// The wallet payment dated an hour before [`LOST_SENT_AT`] (the journaled send, which
/// `window_passes` moves back a day: an hour before now would be after it).
fn dated_an_hour_before_the_lost_send(v: &mut Value) {
    let sent = DateTime::from_timestamp_millis(LOST_SENT_AT.load(Ordering::SeqCst)).expect("sent_at");
    date_wallet_payments(v, Some(sent - chrono::Duration::hours(1)));
}

/// The invoice's wallet payment of the whole amount is dated an hour before our send: not ours.
/// While our payment may still land the attempt waits; after that it needs attention, naming the
/// payment and its time. (Before: `finalized` at once, the earlier payment taken for ours.)
#[tokio::test]
async fn a_wallet_payment_dated_before_our_send_is_not_taken_for_ours() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = paid_and_answer_lost(&f).await;
    LOST_SENT_AT.store(sent_at(&f.d, no).await, Ordering::SeqCst);
    f.gw.on(DETAIL, None, Act::Rewrite(dated_an_hour_before_the_lost_send));

    let r = f.d.recover().await.expect("recover").remove(0);
    waits_in_flight(&r, &only_entry(&f.d, no).await, State::WalletPaySent);
    window_passes(&f.d, no).await;
    LOST_SENT_AT.store(sent_at(&f.d, no).await, Ordering::SeqCst);
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    let e = only_entry(&f.d, no).await;
    let reason = e.reason.clone().unwrap_or_default();
    let id = wallet_payments(&f.sb, no).await.0[0]["paymentId"].as_str().expect("id").to_owned();
    assert!(reason.contains(&id) && reason.contains("before this attempt sent"), "{reason}");
    assert_eq!((e.wallet_amount, e.wallet_currency), (None, None), "no wallet payment journaled as ours");
    assert_eq!(f.gw.seen(PAY).len(), 1, "not paid again");
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1);
    f.d.close().await;
}

/// Pays invoice `no` in full from the customer's wallet at the sandbox's gateway, as another
/// desk or a clerk would (a multi-thread runtime's hook).
fn pay_elsewhere(f: &crate::sent_races::Fixture, no: i64, currency: &str) {
    let status = block_on(
        reqwest::Client::new()
            .post(format!("{}/api/v1/billing/invoice/pay", f.sb.base_url()))
            .bearer_auth("demo-staff-token")
            .json(&json!({ "invoice": no, "currency": currency }))
            .send(),
    )
    .expect("pay")
    .status();
    assert_eq!(status, 200, "the other path paid");
}

/// Another path pays the invoice in full from the wallet just before our payment leaves (the
/// real race: seconds before our send, within the 30 s clock allowance, as the sandbox dates
/// it; and, for good measure, an hour before); the gateway refuses ours ("Invoice already
/// paid"). That refusal answered our only send: nothing of ours moved, so the other payment is
/// not ours however close to our send it is dated: the invoice was paid otherwise (`rejected`,
/// "already paid at the gateway", no wallet amount journaled as ours). (Before: the payment
/// dated seconds before was taken for ours, `finalized` with its amount as our wallet payment;
/// the one an hour before needed attention.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_wallet_payment_does_not_take_an_earlier_one_for_ours() {
    for rewrite in [None, Some(dated_an_hour_ago as fn(&mut Value))] {
        let f = fixture(crate::common::sandbox(300, 1).await).await;
        let no = full_wallet_invoice(&f.d).await;
        let currency = f.d.invoice(no).await.expect("cached").currency;
        if let Some(rewrite) = rewrite {
            f.gw.on(DETAIL, None, Act::Rewrite(rewrite));
        }
        let before = Utc::now();
        let hook = JustBefore {
            step: Step::WalletPay,
            fired: AtomicBool::new(false),
            action: || pay_elsewhere(&f, no, &currency),
        };
        let r = f.d.capture_with(no, &hook).await.expect("a result");
        assert!(hook.fired.load(Ordering::SeqCst));
        if rewrite.is_none() {
            // the race the allowance cannot tell: the other payment dated within it of our send
            let at = wallet_payments(&f.sb, no).await.0[0]["at"].as_str().expect("at").to_owned();
            let at = DateTime::parse_from_rfc3339(&at).expect("a time").with_timezone(&Utc);
            assert!(
                (at - before).num_seconds().abs() < 10 && Utc::now() - before < chrono::Duration::seconds(20),
                "{at}"
            );
        }
        assert_eq!((r.state, r.finished), (State::Rejected, true), "{rewrite:?}: {r:?}");
        let e = only_entry(&f.d, no).await;
        assert_eq!(e.reason.as_deref(), Some("the invoice is already paid at the gateway"), "{e:?}");
        assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("invoice_already_paid")), "{e:?}");
        assert_eq!((e.wallet_amount, e.wallet_currency), (None, None), "no wallet payment journaled as ours");
        assert_eq!(f.gw.seen(PAY).len(), 1, "ours was sent once, and refused");
        assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "the other path's payment only");
        assert!(f.d.recover().await.expect("recover").is_empty(), "over");
        f.d.close().await;
    }
}

/// The invoice is settled otherwise just before our full wallet payment leaves, and the gateway,
/// having refused ours ("Invoice already paid"), then lists it **cancelled**: nothing of ours
/// moved (`rejected`), and the cache shows it cancelled, owing nothing, with no PayPal payment
/// to capture. (Before: the cache showed a cancelled invoice as paid.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoice_cancelled_at_the_gateway_is_cached_cancelled_not_paid() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    let currency = f.d.invoice(no).await.expect("cached").currency;
    let hook = JustBefore {
        step: Step::WalletPay,
        fired: AtomicBool::new(false),
        action: || {
            pay_elsewhere(&f, no, &currency);
            // from now on the gateway lists the invoice cancelled
            f.gw.on(DETAIL, None, Act::Rewrite(|v| v["status"] = json!("cancelled")));
        },
    };
    let r = f.d.capture_with(no, &hook).await.expect("a result");
    assert!(hook.fired.load(Ordering::SeqCst));
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    let e = only_entry(&f.d, no).await;
    assert_eq!(e.reason.as_deref(), Some("the invoice is already cancelled at the gateway"), "{e:?}");
    assert!(
        e.last_error.as_deref().is_some_and(|x| x.starts_with("invoice_already_paid")),
        "the refusal's branch: {e:?}"
    );
    assert_eq!((e.wallet_amount, e.wallet_currency), (None, None), "no wallet payment journaled as ours");
    let cached = f.d.invoice(no).await.expect("cached");
    assert_eq!(cached.status, billing::invoices::InvoiceStatus::Cancelled, "{cached:?}");
    assert!(cached.outstanding.parse::<rust_decimal::Decimal>().expect("a decimal").is_zero(), "{cached:?}");
    f.d.close().await;
}

/// Billing staff cancel the invoice just before part-process, which the gateway refuses
/// ("Invoice already paid"), and the invoice then cannot be read: the refusal's word stands (the
/// attempt and the cache say paid, until the next sync), and the journal keeps what was refused
/// and what could not be read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_already_paid_refusal_whose_invoice_does_not_read_is_taken_as_paid_saying_so() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    let hook = JustBefore {
        step: Step::PartProcess,
        fired: AtomicBool::new(false),
        action: || {
            assert_eq!(block_on(cancel_at_gateway(&f.sb, no)), 200);
            f.gw.on(DETAIL, None, Act::Answer(404, json!({ "message": "Invoice not found" })));
        },
    };
    let r = f.d.capture_with(no, &hook).await.expect("a result");
    assert!(hook.fired.load(Ordering::SeqCst));
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    let e = only_entry(&f.d, no).await;
    assert_eq!(e.reason.as_deref(), Some("the invoice is already paid at the gateway"), "{e:?}");
    assert!(
        e.last_error.as_deref().is_some_and(|x| x.starts_with("invoice_already_paid") && x.contains("; then ")),
        "the refusal, then the read that failed: {e:?}"
    );
    assert_eq!(f.d.invoice(no).await.expect("cached").status, billing::invoices::InvoiceStatus::Paid);
    f.d.close().await;
}

/// Another path pays the invoice from the wallet just before our payment leaves, and the
/// gateway refuses ours with another documented refusal ("Insufficient funds": the wallet was
/// emptied by the other payment): no wallet payment is ours, and an invoice paid while ours was
/// refused for another reason needs a clerk's look. (Before: the other payment, dated seconds
/// before our send, was taken for ours: `finalized`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_payment_refused_otherwise_on_a_paid_invoice_needs_attention() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    let currency = f.d.invoice(no).await.expect("cached").currency;
    f.gw.on(PAY, Some(1), Act::Answer(400, json!({ "message": "Insufficient funds" })));
    let hook = JustBefore {
        step: Step::WalletPay,
        fired: AtomicBool::new(false),
        action: || pay_elsewhere(&f, no, &currency),
    };
    let r = f.d.capture_with(no, &hook).await.expect("a result");
    assert!(hook.fired.load(Ordering::SeqCst));
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    let e = only_entry(&f.d, no).await;
    assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("insufficient_funds")), "{e:?}");
    let id = wallet_payments(&f.sb, no).await.0[0]["paymentId"].as_str().expect("id").to_owned();
    let reason = e.reason.clone().unwrap_or_default();
    assert!(reason.contains(&id) && reason.contains("refused"), "{reason}");
    assert_eq!((e.wallet_amount, e.wallet_currency), (None, None), "no wallet payment journaled as ours");
    assert_eq!(f.gw.seen(PAY).len(), 1);
    assert_eq!(wallet_payments(&f.sb, no).await.0.len(), 1, "the other path's payment only");
    f.d.close().await;
}

/// Our only send refused ("Invoice already paid", another path paid just before), and the
/// invoice cannot be read after it: the refusal alone ends the attempt (paid otherwise), not a
/// wait whose resume would no longer know the send was refused. (Before: it waited in
/// `wallet_pay_sent`, and the resume took the other payment, dated seconds before our send,
/// for ours: `finalized`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_wallet_payment_whose_invoice_does_not_read_is_not_resumed_into_ours() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = full_wallet_invoice(&f.d).await;
    let currency = f.d.invoice(no).await.expect("cached").currency;
    f.gw.on(DETAIL, Some(1), Act::Answer(404, json!({ "message": "Invoice not found" })));
    let hook = JustBefore {
        step: Step::WalletPay,
        fired: AtomicBool::new(false),
        action: || pay_elsewhere(&f, no, &currency),
    };
    let r = f.d.capture_with(no, &hook).await.expect("a result");
    assert!(hook.fired.load(Ordering::SeqCst));
    let r = if r.finished { r } else { f.d.recover().await.expect("recover").remove(0) };
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    let e = only_entry(&f.d, no).await;
    assert_eq!(e.reason.as_deref(), Some("the invoice is already paid at the gateway"), "{e:?}");
    assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("invoice_already_paid")), "{e:?}");
    assert_eq!((e.wallet_amount, e.wallet_currency), (None, None), "no wallet payment journaled as ours");
    assert_eq!(f.gw.seen(PAY).len(), 1);
    f.d.close().await;
}

/// The gateway lists the wallet payment without a time, or with one that does not read: it
/// cannot be told from one made before our send. The attempt waits while our payment may still
/// land (before: `finalized` at once); after that it is taken for ours, and the journal says it
/// was matched by method and amount alone.
#[tokio::test]
async fn an_undated_wallet_payment_waits_out_the_send_then_is_taken_for_ours_saying_so() {
    for rewrite in [undated as fn(&mut Value), unreadable_date] {
        let f = fixture(crate::common::sandbox(300, 1).await).await;
        let no = paid_and_answer_lost(&f).await;
        f.gw.on(DETAIL, None, Act::Rewrite(rewrite));

        let r = f.d.recover().await.expect("recover").remove(0);
        waits_in_flight(&r, &only_entry(&f.d, no).await, State::WalletPaySent);
        window_passes(&f.d, no).await;
        let r = f.d.recover().await.expect("recover").remove(0);
        assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
        let e = only_entry(&f.d, no).await;
        assert!(e.wallet_amount.is_some(), "{e:?}");
        assert!(e.reason.as_deref().is_some_and(|x| x.contains("without a time")), "{e:?}");
        assert_eq!(f.gw.seen(PAY).len(), 1, "paid once");
        f.d.close().await;
    }
}

/// The attempt's send time, for [`dated_a_little_before_the_send`].
static SENT_AT: AtomicI64 = AtomicI64::new(0);

/// The wallet payment dated 5 s before the journaled send (well within the allowance, which is
/// the in-flight margin).
fn dated_a_little_before_the_send(v: &mut Value) {
    let sent = DateTime::from_timestamp_millis(SENT_AT.load(Ordering::SeqCst)).expect("sent_at");
    date_wallet_payments(v, Some(sent - chrono::Duration::seconds(5)));
}

/// The gateway's clock a little behind the desk's (or its `at` cut to the second): our payment,
/// dated 5 s before our journaled send, is still ours, at once (no wait for the window).
#[tokio::test]
async fn a_wallet_payment_dated_within_the_clock_allowance_is_ours() {
    let f = fixture(crate::common::sandbox(300, 1).await).await;
    let no = paid_and_answer_lost(&f).await;
    SENT_AT.store(sent_at(&f.d, no).await, Ordering::SeqCst);
    f.gw.on(DETAIL, None, Act::Rewrite(dated_a_little_before_the_send));

    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
    let e = only_entry(&f.d, no).await;
    assert_eq!((e.reason, e.last_error), (None, None));
    assert_eq!(f.gw.seen(PAY).len(), 1, "paid once");
    f.d.close().await;
}
