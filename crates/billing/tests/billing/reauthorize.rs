//! PayPal's reauthorization, offered for an authorization past its honour period, through the
//! real sandbox: the desk reauthorizes once (another desk asking again gets PayPal's same
//! reauthorization back), preflight then finds the item ready, and the capture takes the
//! reauthorization, once, whichever desk captures.

use crate::common::{desk, ledger, no_progress, sandbox};
use billing::batch::{BatchSource, Verdict};
use billing::capture::{Interrupt, State, Step};
use billing::{Desk, ErrorCode};

async fn synced(dir: &std::path::Path, url: &str) -> Desk {
    let d = desk(url, dir).await;
    d.sync(false, &no_progress()).await.expect("sync");
    d
}

/// The cached invoices whose customer authorized a PayPal payment, with the preflight verdict of
/// each (a batch of all of them, preflighted and then cancelled, so they stay free).
async fn authorizations_by_verdict(d: &Desk) -> Vec<(i64, Verdict)> {
    let rows = crate::common::approved_rows(d).await;
    let numbers: Vec<i64> = rows
        .iter()
        .filter(|r| r.paypal.as_ref().is_some_and(|p| p.intent == "AUTHORIZE"))
        .map(|r| r.invoice_no)
        .collect();
    let b = d.batch_create("alice", None, &BatchSource::Selection { invoices: numbers }).await.expect("create");
    let pace = billing::desk::BatchPace { rate: pace::Rate::parse("500"), concurrency: Some(8) };
    let v = d.batch_preflight("alice", b.id(), pace, &|_| {}).await.expect("preflight");
    d.batch_cancel("alice", b.id()).await.expect("cancel");
    v.items.iter().filter_map(|i| Some((i.invoice_no, i.verdict?))).collect()
}

/// The ledger's captures (not declined) of either authorization.
fn captures_of(ledger: &serde_json::Value, authorizations: &[&str]) -> Vec<serde_json::Value> {
    ledger["paypal_captures"]
        .as_array()
        .expect("captures")
        .iter()
        .filter(|c| {
            c["authorization_id"].as_str().is_some_and(|a| authorizations.contains(&a))
                && c["status"].as_str() != Some("DECLINED")
        })
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_authorization_past_its_honour_period_is_reauthorized_once_and_the_capture_takes_the_reauthorization() {
    let sb = sandbox(1500, 21).await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = synced(dir_a.path(), &sb.base_url()).await;
    let verdicts = authorizations_by_verdict(&a).await;
    let past: Vec<i64> =
        verdicts.iter().filter(|(_, v)| *v == Verdict::HonourPeriodPassed).map(|(no, _)| *no).collect();
    assert!(past.len() >= 2, "the seed has authorizations past their honour period: {verdicts:?}");
    let no = past[0];

    let r = a.reauthorize(no).await.expect("reauthorized");
    assert_eq!(r.invoice_no, no);
    assert!(!r.earlier);
    assert!(!r.reauthorization_id.is_empty() && r.reauthorization_id != r.authorization_id, "{r:?}");
    // asked again: the desk's own answer, no second request
    let again = a.reauthorize(no).await.expect("again");
    assert!(again.earlier);
    assert_eq!(again.reauthorization_id, r.reauthorization_id);
    // another desk (its own data directory, nothing shared) asks too: PayPal's one
    // reauthorization comes back (the request id is the authorization's), not a second one
    let b = synced(dir_b.path(), &sb.base_url()).await;
    let from_b = b.reauthorize(no).await.expect("reauthorized from the other desk");
    assert_eq!(from_b.reauthorization_id, r.reauthorization_id, "one reauthorization per authorization");

    // preflight now reads the reauthorization: ready
    let after = authorizations_by_verdict(&a).await;
    assert_eq!(after.iter().find(|(n, _)| *n == no).map(|(_, v)| *v), Some(Verdict::Ready), "{after:?}");
    let preview = a.capture_preview(no).await.expect("preview");
    assert_eq!(
        preview.approval.as_ref().and_then(|x| x.authorization_id.as_deref()),
        Some(r.reauthorization_id.as_str())
    );

    // both desks capture: PayPal captures the reauthorization once, the gateway is told once
    let first = a.capture(no).await.expect("capture");
    assert_eq!(first.state, State::Finalized, "{first:?}");
    let second = b.capture(no).await;
    let l = ledger(&sb).await;
    let captures = captures_of(&l, &[&r.authorization_id, &r.reauthorization_id]);
    assert_eq!(captures.len(), 1, "captured once: {captures:?} (second desk: {second:?})");
    assert_eq!(captures[0]["authorization_id"].as_str(), Some(r.reauthorization_id.as_str()));
    let audit = billing::audit::query(a.pool(), &billing::audit::AuditFilter::default()).await.expect("audit");
    assert_eq!(audit.iter().filter(|e| e.action == "paypal.reauthorized" && e.invoice_no == Some(no)).count(), 1);
    a.close().await;
    b.close().await;
}

/// Stops right after the PayPal capture, before its answer is journaled (a crash there).
struct AfterCapture;

impl Interrupt for AfterCapture {
    fn before(&self, _: Step, _: i64) -> bool {
        false
    }
    fn after(&self, step: Step, _: i64) -> bool {
        step == Step::Capture
    }
}

#[tokio::test]
async fn a_desk_that_captures_the_original_while_another_reauthorized_it_does_not_capture_twice() {
    let sb = sandbox(1500, 21).await;
    let (dir_a, dir_b) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = synced(dir_a.path(), &sb.base_url()).await;
    let b = synced(dir_b.path(), &sb.base_url()).await;
    let verdicts = authorizations_by_verdict(&a).await;
    let no = verdicts.iter().find(|(_, v)| *v == Verdict::HonourPeriodPassed).map(|(no, _)| *no).expect("one");
    let r = a.reauthorize(no).await.expect("reauthorized");
    // desk b, which knows nothing of the reauthorization, captures the gateway's authorization
    // at PayPal and stops before telling the gateway; desk a then captures its reauthorization:
    // PayPal holds the two as one payment, so a's capture finds b's and never adds a second
    b.capture_with(no, &AfterCapture).await.expect_err("interrupted after the capture");
    let by_a = a.capture(no).await;
    let by_b = b.recover().await.expect("b recovers");
    let captures = captures_of(&ledger(&sb).await, &[&r.authorization_id, &r.reauthorization_id]);
    assert_eq!(captures.len(), 1, "captured once: {captures:?} (a: {by_a:?}, b: {by_b:?})");
    assert_eq!(captures[0]["authorization_id"].as_str(), Some(r.authorization_id.as_str()), "b's capture");
    let finalized = ledger(&sb).await["gateway_finalizations"]
        .as_array()
        .expect("finalizations")
        .iter()
        .filter(|f| f["invoiceNo"].as_i64() == Some(no))
        .count();
    assert_eq!(finalized, 1, "the gateway is told once (a: {by_a:?}, b: {by_b:?})");
    // desk a does not claim b's capture: it needs attention, saying why
    let by_a = by_a.expect("a's attempt");
    assert_eq!(by_a.state, State::NeedsAttention, "{by_a:?}");
    assert!(by_a.message.contains(&r.authorization_id) && by_a.message.contains("reauthorization"), "{}", by_a.message);
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_reauthorization_within_the_honour_period_or_without_an_authorization_is_refused_and_changes_nothing() {
    let sb = sandbox(1500, 21).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let verdicts = authorizations_by_verdict(&d).await;
    let fresh = verdicts.iter().find(|(_, v)| *v == Verdict::Ready).map(|(no, _)| *no).expect("a fresh authorization");
    let e = d.reauthorize(fresh).await.expect_err("too soon");
    assert_eq!(e.code, ErrorCode::PaypalRejected, "{e:?}");
    assert!(e.message.contains("honour period"), "{}", e.message);
    // the capture still takes the gateway's authorization
    let preview = d.capture_preview(fresh).await.expect("preview");
    let row = d.invoice(fresh).await.expect("invoice");
    assert_eq!(
        preview.approval.as_ref().and_then(|x| x.authorization_id.clone()),
        row.paypal.as_ref().and_then(|p| p.authorization_id.clone())
    );
    // an order to capture (intent CAPTURE) has no authorization
    let rows = crate::common::approved_rows(&d).await;
    let order = rows.iter().find(|r| r.paypal.as_ref().is_some_and(|p| p.intent == "CAPTURE")).expect("an order");
    let e = d.reauthorize(order.invoice_no).await.expect_err("no authorization");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert_eq!(crate::common::money_moved(&sb).await, (0, 0));
    d.close().await;
}
