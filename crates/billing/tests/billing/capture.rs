//! The capture engine against the sandbox: the happy paths, every step interrupted and
//! recovered, faults on every call, two desks at once — checked against the sandbox ledger.

use crate::capture_paths::{full_wallet_invoice, gateway_invoice, ledger, paypal_get, wallet_payments, World};
use crate::common::{approved_rows, desk, no_progress, pay_seed_example};
use billing::capture::{Interrupt, State, Step};
use billing::{Desk, ErrorCode, InvoiceFilter, ListRequest};
use sandbox::{Config, Sandbox};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

async fn sandbox_with(invoices: u64, seed: u64, pending_seconds: i64) -> Sandbox {
    Sandbox::start(
        Config { invoices, seed, rate_limit: 0, pending_seconds, ..Config::default() },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sandbox")
}

async fn set_faults(sb: &Sandbox, json: &str) {
    sb.set_faults(serde_json::from_str(json).expect("faults"));
}

/// The invariants of the whole product, from the sandbox's point of view.
pub(crate) async fn assert_exactly_once(sb: &Sandbox, context: &str) -> (usize, usize) {
    let l = ledger(sb).await;
    let caps = l["paypal_captures"].as_array().cloned().unwrap_or_default();
    let fins = l["gateway_finalizations"].as_array().cloned().unwrap_or_default();
    let mut per_source: HashMap<String, usize> = HashMap::new();
    for c in &caps {
        let src = c["authorization_id"].as_str().or(c["order_id"].as_str()).unwrap_or("").to_owned();
        *per_source.entry(src).or_default() += 1;
    }
    let twice: Vec<_> = per_source.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{context}: captured more than once: {twice:?}");
    let mut fin_count: HashMap<String, usize> = HashMap::new();
    for f in &fins {
        *fin_count.entry(f["paymentId"].as_str().unwrap_or("").to_owned()).or_default() += 1;
    }
    for c in &caps {
        let id = c["id"].as_str().unwrap_or("");
        let n = fin_count.get(id).copied().unwrap_or(0);
        match c["status"].as_str() {
            Some("COMPLETED") => assert_eq!(n, 1, "{context}: completed capture {id} finalized {n} times"),
            _ => assert_eq!(n, 0, "{context}: capture {id} ({}) finalized {n} times", c["status"]),
        }
    }
    for f in &fins {
        let id = f["paymentId"].as_str().unwrap_or("");
        // the gateway's own seed example pays with a made-up PayPal id
        if id.starts_with("PAYPAL-") {
            continue;
        }
        assert!(caps.iter().any(|c| c["id"] == id), "{context}: finalized {id}, which PayPal never captured");
    }
    (caps.len(), fins.len())
}

async fn approved(d: &Desk) -> Vec<i64> {
    approved_rows(d).await.iter().map(|r| r.invoice_no).collect()
}

async fn all_terminal(d: &Desk) -> bool {
    d.journal(None, 10_000).await.expect("journal").iter().all(|e| e.state().is_terminal())
}

#[tokio::test]
async fn the_seed_invoice_pays_its_wallet_part_and_the_paypal_part_once() {
    let sb = sandbox_with(300, 1, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");

    let p = d.capture_preview(458_732).await.expect("preview");
    let w = p.wallet.clone().expect("a wallet part");
    assert_eq!(
        (w.amount.as_str(), w.currency.as_str(), w.exchange_rate.as_str(), w.in_invoice_currency.as_str()),
        ("40.50", "EUR", "1.0857", "43.97")
    );
    assert_eq!(p.paypal_amount, "206.03");
    let a = p.approval.clone().expect("approval");
    assert_eq!((a.amount.as_str(), a.status.as_str()), ("206.03", "APPROVED"));
    assert!(p.ready, "{:?}", p.problems);
    assert_eq!(ledger(&sb).await["paypal_captures"].as_array().map(Vec::len), Some(0), "a preview moves nothing");

    let r = d.capture(458_732).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert!(r.message.contains("206.03 USD") && r.message.contains("40.50 EUR"), "{}", r.message);
    let l = ledger(&sb).await;
    assert_eq!(l["gateway_finalizations"][0]["amount"].to_string(), "206.03");
    assert_eq!(l["gateway_finalizations"][0]["paymentId"], l["paypal_captures"][0]["id"]);
    assert_eq!(d.invoice(458_732).await.expect("cached").status, billing::invoices::InvoiceStatus::Paid);

    // again: nothing new, the finished attempt is reported
    let again = d.capture(458_732).await.expect("again");
    assert_eq!((again.journal_id, again.state), (r.journal_id, State::Finalized));
    assert_exactly_once(&sb, "seed").await;

    let actions: Vec<String> =
        billing::audit::query(d.pool(), &billing::audit::AuditFilter { limit: Some(50), ..Default::default() })
            .await
            .expect("audit")
            .into_iter()
            .map(|a| a.action)
            .collect();
    for want in [
        "capture.planned",
        "capture.part_processed",
        "capture.paypal_capture_sent",
        "capture.paypal_captured",
        "capture.verified",
        "capture.finalize_sent",
        "capture.finalized",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want} audited: {actions:?}");
    }
    let entry = d.journal(Some(458_732), 1).await.expect("journal").remove(0);
    assert!(
        entry.request_id.starts_with("capture-desk-")
            && entry.request_id.ends_with(&format!(
                "-{}-{}-capture",
                entry.id,
                entry.authorization_id.as_deref().or(entry.order_id.as_deref()).unwrap_or("")
            ))
    );
    assert_eq!(
        entry.wallet_part_json.as_deref(),
        Some(r#"{"currency":"EUR","exchangeRate":1.0857,"chargeTotalBefore":250,"chargeTotalCurrent":40.5}"#)
    );
    d.close().await;
}

#[tokio::test]
async fn every_approved_invoice_ends_in_a_clear_terminal_state() {
    // PENDING captures complete after an hour of sandbox time
    let sb = sandbox_with(300, 2, 3600).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    let invoices = approved(&d).await;
    assert!(invoices.len() >= 20);
    let mut states: HashMap<String, usize> = HashMap::new();
    for no in &invoices {
        let r = d.capture(*no).await.expect("capture");
        *states.entry(r.state.as_str().to_owned()).or_default() += 1;
    }
    assert!(!all_terminal(&d).await, "some captures went PENDING: {states:?}");
    // an hour later PayPal has completed them; one recovery finishes them
    sb.advance_clock(chrono::Duration::hours(1)).expect("clock");
    d.recover().await.expect("recover");
    assert!(all_terminal(&d).await, "{:?}", d.journal(None, 1000).await);
    let entries = d.journal(None, 1000).await.expect("journal");
    assert!(
        entries.iter().any(|e| e.state() == State::Finalized && e.intent.as_deref() == Some("AUTHORIZE")),
        "an authorization captured"
    );
    assert!(entries.iter().filter(|e| e.state() == State::Rejected).all(|e| e.reason.is_some()));
    assert!(entries.iter().all(|e| e.state() != State::NeedsAttention), "nothing disagrees without faults");
    let (caps, fins) = assert_exactly_once(&sb, "all approved").await;
    assert!(caps > 10 && fins > 10, "{caps} captures, {fins} finalizations; {states:?}");
    d.close().await;
}

/// Stops once, at one step boundary.
struct StopOnce {
    step: Step,
    after: bool,
    fired: AtomicBool,
}

impl Interrupt for StopOnce {
    fn before(&self, step: Step, _: i64) -> bool {
        !self.after && step == self.step && !self.fired.swap(true, Ordering::SeqCst)
    }
    fn after(&self, step: Step, _: i64) -> bool {
        self.after && step == self.step && !self.fired.swap(true, Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_crash_at_any_step_boundary_is_recovered_without_paying_twice() {
    for step in [Step::PartProcess, Step::ReadApproval, Step::Capture, Step::Verify, Step::Finalize] {
        for after in [false, true] {
            let sb = sandbox_with(200, 3, 5).await;
            let dir = tempfile::tempdir().expect("dir");
            {
                let d = desk(&sb.base_url(), dir.path()).await;
                d.sync(false, &no_progress()).await.expect("sync");
                let stop = StopOnce { step, after, fired: AtomicBool::new(false) };
                let e = d.capture_with(458_732, &stop).await.expect_err("interrupted");
                assert_eq!(e.code, ErrorCode::Internal, "{step:?} after={after}");
                d.close().await;
            }
            // a new process on the same data directory
            let d = desk(&sb.base_url(), dir.path()).await;
            let results = d.recover().await.expect("recover");
            assert_eq!(results.len(), 1, "{step:?} after={after}");
            assert_eq!(results[0].state, State::Finalized, "{step:?} after={after}: {:?}", results[0]);
            let (caps, fins) = assert_exactly_once(&sb, &format!("{step:?} after={after}")).await;
            assert_eq!((caps, fins), (1, 1), "{step:?} after={after}");
            d.close().await;
        }
    }
}

/// Stops at random boundaries, from a seed.
struct Chaos {
    state: AtomicU64,
    per_mille: u64,
}

impl Chaos {
    fn roll(&self) -> bool {
        let mut x = self.state.load(Ordering::SeqCst);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.store(x, Ordering::SeqCst);
        x % 1000 < self.per_mille
    }
}

impl Interrupt for Chaos {
    fn before(&self, _: Step, _: i64) -> bool {
        self.roll()
    }
    fn after(&self, _: Step, _: i64) -> bool {
        self.roll()
    }
}

/// How many seeds the randomized test runs (`DESK_CHAOS_SEEDS` for more).
fn chaos_seeds() -> u64 {
    std::env::var("DESK_CHAOS_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10)
}

// The seeds, in two halves that run side by side (each seed mostly waits out faults).
#[tokio::test]
async fn randomized_faults_and_crashes_never_capture_twice_or_lose_a_capture() {
    randomized_faults_and_crashes(1..=chaos_seeds() / 2).await;
}

#[tokio::test]
async fn randomized_faults_and_crashes_never_capture_twice_or_lose_a_capture_second_half() {
    randomized_faults_and_crashes(chaos_seeds() / 2 + 1..=chaos_seeds()).await;
}

async fn randomized_faults_and_crashes(seeds: std::ops::RangeInclusive<u64>) {
    let (first, last) = (*seeds.start(), *seeds.end());
    for seed in seeds {
        let sb = sandbox_with(50, 100 + seed, 3600).await;
        let dir = tempfile::tempdir().expect("dir");
        let d = desk(&sb.base_url(), dir.path()).await;
        d.sync(false, &no_progress()).await.expect("sync");
        let invoices = approved(&d).await;
        set_faults(
            &sb,
            r#"{"default":{"latency_ms":2,"error_rate":0.15,"error_status":503,"rate_limit_rate":0.03,"drop_after_commit_rate":0.25},
                "routes":{"POST /api/v1/billing/invoice/paypal/capture":{"error_rate":0.2,"error_status":500,"drop_after_commit_rate":0.35}}}"#,
        )
        .await;
        let chaos = Chaos { state: AtomicU64::new(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), per_mille: 120 };
        for no in &invoices {
            let _ = d.capture_with(*no, &chaos).await;
        }
        for _ in 0..5 {
            let _ = d.recover_with(Some(&chaos)).await;
        }
        set_faults(&sb, "{}").await;
        // without faults, recovery ends every attempt; a capture it makes (a replay that
        // reached PayPal for the first time) may go PENDING, so PayPal's hour passes in between,
        // and the desk's too: a finalization or wallet payment a crash left without its answer
        // is waited out while it may still land (sent_races.rs), then resumed
        for _ in 0..4 {
            d.recover().await.expect("recover without faults");
            if all_terminal(&d).await {
                break;
            }
            sb.advance_clock(chrono::Duration::hours(1)).expect("clock");
            crate::sent_races::windows_pass(&d, None).await;
        }
        assert!(
            all_terminal(&d).await,
            "seed {seed}: unfinished {:?}",
            d.journal(None, 1000).await.map(|j| j.into_iter().filter(|e| !e.state().is_terminal()).collect::<Vec<_>>())
        );
        assert_exactly_once(&sb, &format!("seed {seed}")).await;
        d.close().await;
    }
    eprintln!("randomized capture test: seeds {first}..={last}");
}

#[tokio::test]
async fn two_desks_capturing_the_same_invoices_capture_each_once() {
    let sb = sandbox_with(120, 5, 3600).await;
    let (da, db) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = desk(&sb.base_url(), da.path()).await;
    let b = desk(&sb.base_url(), db.path()).await;
    a.sync(false, &no_progress()).await.expect("sync a");
    b.sync(false, &no_progress()).await.expect("sync b");
    let invoices = approved(&a).await;
    set_faults(&sb, r#"{"default":{"latency_ms":3,"drop_after_commit_rate":0.2}}"#).await;
    let run = |d: &'static Desk, list: Vec<i64>| async move {
        for no in list {
            let _ = d.capture(no).await;
        }
    };
    let a: &'static Desk = Box::leak(Box::new(a));
    let b: &'static Desk = Box::leak(Box::new(b));
    let mut reversed = invoices.clone();
    reversed.reverse();
    tokio::join!(run(a, invoices.clone()), run(b, reversed));
    set_faults(&sb, "{}").await;
    for _ in 0..4 {
        a.recover().await.expect("recover a");
        b.recover().await.expect("recover b");
        if all_terminal(a).await && all_terminal(b).await {
            break;
        }
        // PENDING captures complete after an hour of sandbox time
        sb.advance_clock(chrono::Duration::hours(1)).expect("clock");
    }
    assert!(all_terminal(a).await && all_terminal(b).await);
    let (caps, fins) = assert_exactly_once(&sb, "two desks").await;
    assert!(caps > 5 && fins > 5);
    // the desk that lost a race adopted the other's capture or saw the invoice paid
    let adopted = a
        .journal(None, 1000)
        .await
        .expect("j")
        .iter()
        .chain(b.journal(None, 1000).await.expect("j").iter())
        .filter(|e| e.adopted)
        .count();
    let already_paid = a
        .journal(None, 1000)
        .await
        .expect("j")
        .iter()
        .chain(b.journal(None, 1000).await.expect("j").iter())
        .filter(|e| e.reason.as_deref().is_some_and(|r| r.contains("already paid")))
        .count();
    assert!(adopted + already_paid > 0, "the desks met at least once");
}

#[tokio::test]
async fn bad_input_and_refusals_are_clear_and_move_nothing() {
    let sb = sandbox_with(300, 1, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    // not in the cache
    assert_eq!(d.capture(1).await.expect_err("unknown").code, ErrorCode::NotFound);
    // paid meanwhile at the gateway (the seed example), the cache is stale
    assert_eq!(pay_seed_example(&sb).await, 200);
    let r = d.capture(458_732).await.expect("result");
    assert_eq!(r.state, State::Rejected);
    assert!(r.message.contains("already paid"), "{}", r.message);
    assert_eq!(
        d.invoice(458_732).await.expect("cached").status,
        billing::invoices::InvoiceStatus::Paid,
        "the cache learnt it"
    );
    // an invoice without an approved PayPal payment
    let plain = d
        .list(&ListRequest {
            filter: InvoiceFilter { has_paypal: Some(false), ..Default::default() },
            limit: Some(50),
            ..Default::default()
        })
        .await
        .expect("list")
        .rows
        .into_iter()
        .find(|r| r.wallet.as_ref().is_none_or(|w| w.balance.starts_with("0")))
        .expect("an invoice without approval");
    let r = d.capture(plain.invoice_no).await.expect("result");
    assert_eq!(r.state, State::Rejected, "{r:?}");
    let (caps, fins) = assert_exactly_once(&sb, "refusals").await;
    assert_eq!((caps, fins), (0, 1), "only the seed example's own finalization");
    d.close().await;
}

#[tokio::test]
async fn a_gateway_refusal_after_paypal_captured_needs_attention() {
    let sb = sandbox_with(300, 1, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    set_faults(
        &sb,
        r#"{"routes":{"POST /api/v1/billing/invoice/paypal/capture":{"error_rate":1,"error_status":400}}}"#,
    )
    .await;
    let r = d.capture(458_732).await.expect("result");
    assert_eq!(r.state, State::NeedsAttention, "{r:?}");
    assert!(r.message.contains("PayPal captured") && r.capture_id.is_some(), "{}", r.message);
    set_faults(&sb, "{}").await;
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(0));
    d.close().await;
}

#[tokio::test]
async fn pending_captures_wait_until_paypal_completes_them() {
    // pending captures complete only on request
    let sb = sandbox_with(300, 2, 0).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    let mut pending = None;
    for no in approved(&d).await {
        let r = d.capture(no).await.expect("capture");
        if r.state == State::PaypalCaptured {
            pending = Some(r);
            break;
        }
    }
    let r = pending.expect("the seed has a capture that goes pending");
    assert!(!r.finished && r.message.contains("pending"), "{}", r.message);
    let capture_id = r.capture_id.clone().expect("capture id");
    // still pending: recovery leaves it, nothing finalized
    let again = d.recover().await.expect("recover");
    assert!(again.iter().any(|x| x.journal_id == r.journal_id && x.state == State::PaypalCaptured));
    assert!(!ledger(&sb).await["gateway_finalizations"]
        .as_array()
        .expect("fins")
        .iter()
        .any(|f| f["paymentId"] == capture_id.as_str()));
    reqwest::Client::new()
        .post(format!("{}/__sandbox/captures/{capture_id}/complete", sb.base_url()))
        .send()
        .await
        .expect("complete");
    let done = d.recover().await.expect("recover");
    assert!(done.iter().any(|x| x.journal_id == r.journal_id && x.state == State::Finalized), "{done:?}");
    assert_exactly_once(&sb, "pending").await;
    d.close().await;
}

/// Crashes `no`'s capture once at `step` (before or after the call), then resumes it in a new
/// desk on the same data directory; the resumed result.
async fn crash_and_recover(
    sb: &Sandbox,
    no: i64,
    step: Step,
    after: bool,
    crashed_in: State,
) -> billing::capture::CaptureResult {
    let dir = tempfile::tempdir().expect("dir");
    {
        let d = desk(&sb.base_url(), dir.path()).await;
        d.sync(false, &no_progress()).await.expect("sync");
        let stop = StopOnce { step, after, fired: AtomicBool::new(false) };
        let e = d.capture_with(no, &stop).await.expect_err("interrupted");
        assert_eq!(e.code, ErrorCode::Internal, "{step:?} after={after}");
        assert!(stop.fired.load(Ordering::SeqCst), "{step:?} after={after}: the step was reached");
        let j = d.journal(Some(no), 10).await.expect("journal");
        assert_eq!(j.len(), 1);
        assert_eq!(j[0].state(), crashed_in, "{step:?} after={after}: the journal at the crash");
        d.close().await;
    }
    let d = desk(&sb.base_url(), dir.path()).await;
    let mut results = d.recover().await.expect("recover");
    assert_eq!(results.len(), 1, "{step:?} after={after}");
    assert!(d.recover().await.expect("recover again").is_empty(), "{step:?} after={after}: finished");
    d.close().await;
    results.remove(0)
}

#[tokio::test]
async fn a_crash_at_any_step_of_an_authorization_capture_is_recovered_without_paying_twice() {
    // an authorization of the PayPal part, with a wallet part (so the finalization carries both)
    let world = World::seeded(1, 300).await;
    let no = world.wallet_authorization();
    let auth_id = world.authorization_id(no);
    let matrix = [
        (Step::PartProcess, State::Planned, State::Planned),
        (Step::ReadApproval, State::PartProcessed, State::PartProcessed),
        (Step::Capture, State::PaypalCaptureSent, State::PaypalCaptureSent),
        (Step::Verify, State::PaypalCaptured, State::PaypalCaptured),
        (Step::Finalize, State::FinalizeSent, State::FinalizeSent),
    ];
    for (step, before_state, after_state) in matrix {
        for (after, crashed_in) in [(false, before_state), (true, after_state)] {
            let sb = world.start().await;
            let r = crash_and_recover(&sb, no, step, after, crashed_in).await;
            assert_eq!(r.state, State::Finalized, "{step:?} after={after}: {r:?}");
            let capture_id = r.capture_id.clone().expect("capture id");
            let l = ledger(&sb).await;
            let caps = l["paypal_captures"].as_array().expect("captures");
            assert_eq!(caps.len(), 1, "{step:?} after={after}: captured once: {caps:?}");
            assert_eq!((&caps[0]["id"], &caps[0]["authorization_id"]), (&json!(capture_id), &json!(auth_id)));
            assert_eq!(caps[0]["amount"]["value"], json!(r.paypal_amount), "{step:?} after={after}");
            let fins = l["gateway_finalizations"].as_array().expect("finalizations");
            assert_eq!(fins.len(), 1, "{step:?} after={after}: finalized once");
            assert_eq!(fins[0]["paymentId"], json!(capture_id));
            let auth = paypal_get(&sb, &format!("/v2/payments/authorizations/{auth_id}")).await;
            assert_eq!(auth["status"], "CAPTURED", "{step:?} after={after}");
            let inv = gateway_invoice(&sb, no).await;
            let methods: Vec<&str> =
                inv["payments"].as_array().expect("payments").iter().filter_map(|p| p["method"].as_str()).collect();
            assert_eq!((&inv["status"], methods), (&json!("paid"), vec!["wallet", "paypal"]), "{step:?} after={after}");
            sb.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_crash_at_any_step_of_a_full_wallet_payment_is_recovered_without_paying_twice() {
    // the wallet balance an uninterrupted payment leaves
    let reference = sandbox_with(300, 1, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&reference.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    let no = full_wallet_invoice(&d).await;
    assert_eq!(d.capture(no).await.expect("capture").state, State::Finalized);
    d.close().await;
    let (paid, balance_after) = wallet_payments(&reference, no).await;
    assert_eq!(paid.len(), 1);

    // a crash before part-process or after it (the gateway said "use the full wallet payment",
    // nothing journaled yet), before the payment (`wallet_pay_sent`, nothing sent) or after it
    // (`wallet_pay_sent`, the gateway paid): recovery pays exactly once
    let matrix = [
        (Step::PartProcess, false, State::Planned),
        (Step::PartProcess, true, State::Planned),
        (Step::WalletPay, false, State::WalletPaySent),
        (Step::WalletPay, true, State::WalletPaySent),
    ];
    for (step, after, crashed_in) in matrix {
        let sb = sandbox_with(300, 1, 5).await;
        let r = crash_and_recover(&sb, no, step, after, crashed_in).await;
        assert_eq!(r.state, State::Finalized, "{step:?} after={after}: {r:?}");
        assert_eq!(
            r.message,
            format!("Paid in full from the customer's wallet ({} {}).", paid[0]["amount"], r.currency)
        );
        let (payments, balance) = wallet_payments(&sb, no).await;
        assert_eq!(payments.len(), 1, "{step:?} after={after}: one wallet payment: {payments:?}");
        assert_eq!((&payments[0]["amount"], &balance), (&paid[0]["amount"], &balance_after), "{step:?} after={after}");
        let l = ledger(&sb).await;
        assert_eq!((&l["paypal_captures"], &l["gateway_finalizations"]), (&json!([]), &json!([])), "nothing at PayPal");
    }
}
