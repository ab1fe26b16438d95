//! The suite's key flows with the sandbox clock 40 days ahead of the desk's: the seeded world is
//! dated by the sandbox clock, so whatever the calendar says, its approvals are fresh, and the
//! desk must not compare its own clock with the services' times where it should not.

use crate::capture::assert_exactly_once;
use crate::capture_paths::ledger;
use crate::common::{approved_rows, desk, no_progress, pay_seed_example};
use billing::capture::State;
use billing::sync::SyncMode;
use chrono::Duration;
use sandbox::{Config, Sandbox};

async fn advance(sb: &Sandbox, body: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sandbox/clock", sb.base_url()))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("clock");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn key_flows_hold_with_the_sandbox_clock_40_days_ahead() {
    // PENDING captures complete after an hour of sandbox time
    let config = Config {
        invoices: 300,
        seed: 2,
        rate_limit: 0,
        pending_seconds: 3600,
        clock_offset: Duration::days(40),
        ..Config::default()
    };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    assert!(sb.now() - chrono::Utc::now() > Duration::days(40) - Duration::seconds(5));
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;

    // sync: a full pass, then an incremental one that sees a payment made meanwhile (the
    // gateway stamps it by its clock, 40 days after the desk's cursor)
    assert_eq!(d.sync(false, &no_progress()).await.expect("full").mode, SyncMode::Full);
    assert_eq!(d.invoice(458_732).await.expect("cached").status, billing::invoices::InvoiceStatus::Outstanding);
    assert_eq!(pay_seed_example(&sb).await, 200, "paid by someone else at the gateway");
    let inc = d.sync(false, &no_progress()).await.expect("incremental");
    assert_eq!(inc.mode, SyncMode::Incremental);
    assert_eq!(
        d.invoice(458_732).await.expect("cached").status,
        billing::invoices::InvoiceStatus::Paid,
        "the incremental sync saw it"
    );

    // capture every approved invoice: orders and authorizations finalize, some go PENDING
    let mut pending = Vec::new();
    for row in &approved_rows(&d).await {
        let r = d.capture(row.invoice_no).await.expect("capture");
        match r.state {
            State::Finalized | State::Rejected => assert!(r.finished, "{r:?}"),
            State::PaypalCaptured => pending.push(r.journal_id),
            other => panic!("invoice {}: {other:?} without any fault: {r:?}", row.invoice_no),
        }
    }
    let entries = d.journal(None, 1000).await.expect("journal");
    let finalized = |intent: &str| {
        entries.iter().filter(|e| e.state() == State::Finalized && e.intent.as_deref() == Some(intent)).count()
    };
    assert!(finalized("CAPTURE") > 5, "orders captured 40 days ahead");
    assert!(finalized("AUTHORIZE") > 0, "authorizations captured 40 days ahead: none expired with the calendar");
    assert!(!pending.is_empty(), "the seed has captures that go PENDING");

    // ten hours later by the sandbox clock: PENDING captures completed, the desk's PayPal token
    // expired at PayPal; recovery finishes them with a fresh token
    advance(&sb, r#"{"advance_seconds":36000}"#).await;
    let done = d.recover().await.expect("recover");
    for id in &pending {
        assert!(done.iter().any(|r| r.journal_id == *id && r.state == State::Finalized), "{id}: {done:?}");
    }
    let entries = d.journal(None, 1000).await.expect("journal");
    assert!(entries.iter().all(|e| e.state().is_terminal()), "{entries:?}");
    assert!(entries.iter().all(|e| e.state() != State::NeedsAttention), "nothing disagrees without faults");
    let (caps, fins) = assert_exactly_once(&sb, "40 days ahead").await;
    assert!(caps > 5 && fins > 5, "{caps} captures, {fins} finalizations");
    let l = ledger(&sb).await;
    assert!(l["paypal_captures"].as_array().expect("captures").iter().all(|c| c["status"] != "PENDING"));
    d.close().await;
}

#[tokio::test]
async fn an_authorization_the_clock_expired_is_refused_before_anything_moves() {
    let config = Config { invoices: 300, seed: 2, rate_limit: 0, ..Config::default() };
    let sb = Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    // the first AUTHORIZE invoice whose authorization can be captured today
    let rows = approved_rows(&d).await;
    let mut capturable = None;
    for row in rows.iter().filter(|r| r.paypal.as_ref().is_some_and(|p| p.intent == "AUTHORIZE")) {
        let p = d.capture_preview(row.invoice_no).await.expect("preview");
        if p.ready && p.wallet.is_none() {
            capturable = Some(row.invoice_no);
            break;
        }
    }
    let no = capturable.expect("the seed has a capturable authorization without a wallet part");
    // 30 days later by the sandbox clock, the 29-day authorization has expired
    advance(&sb, r#"{"advance_days":30}"#).await;
    let r = d.capture(no).await.expect("capture");
    assert_eq!(r.state, State::Rejected, "{r:?}");
    assert!(r.finished && r.message.contains("expired"), "{}", r.message);
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(0), "nothing captured");
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(0), "nothing finalized");
    d.close().await;
}
