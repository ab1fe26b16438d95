//! The capture journal with two desks on one data directory: a state change another desk got to
//! first is refused with `Conflict`, an invoice has one unfinished attempt however many desks
//! ask, and within one process a second run of an invoice waits for the first and sends nothing.

use crate::common::{desk, no_progress, sandbox};
use billing::capture::journal;
use billing::capture::{CaptureResult, Interrupt, State, Step};
use billing::{Desk, DeskError, Environment, ErrorCode};
use sandbox::Sandbox;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const SEED: i64 = 458_732;

/// What the sandbox has received so far, per `METHOD /path`.
async fn requests(sb: &Sandbox) -> BTreeMap<String, u64> {
    let v: Value =
        reqwest::get(format!("{}/__sandbox/stats", sb.base_url())).await.expect("stats").json().await.expect("json");
    serde_json::from_value(v["by_route"].clone()).expect("request counts")
}

/// The POSTs among `requests` that can move money (every one but asking for a token).
fn posts(requests: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    requests
        .iter()
        .filter(|(k, _)| k.starts_with("POST ") && k.as_str() != "POST /v1/oauth2/token")
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

async fn ledger_counts(sb: &Sandbox) -> (usize, usize) {
    let l: Value =
        reqwest::get(format!("{}/__sandbox/ledger", sb.base_url())).await.expect("ledger").json().await.expect("json");
    let n = |k: &str| l[k].as_array().map(Vec::len).expect("a list");
    (n("paypal_captures"), n("gateway_finalizations"))
}

/// Stops the engine before its first remote call, as a crash would.
struct StopBefore(Step);

impl Interrupt for StopBefore {
    fn before(&self, step: Step, _: i64) -> bool {
        step == self.0
    }
    fn after(&self, _: Step, _: i64) -> bool {
        false
    }
}

async fn audit_count(d: &Desk) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(d.pool()).await.expect("count")
}

#[tokio::test]
async fn a_state_change_another_desk_made_first_is_refused_with_conflict() {
    let sb = sandbox(200, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let a = desk(&sb.base_url(), dir.path()).await;
    a.sync(false, &no_progress()).await.expect("sync");
    let b = desk(&sb.base_url(), dir.path()).await;
    let stopped = a.capture_with(SEED, &StopBefore(Step::PartProcess)).await.expect_err("stopped");
    assert_eq!(stopped.code, ErrorCode::Internal);
    let planned = a.journal(Some(SEED), 10).await.expect("journal");
    assert_eq!(planned.len(), 1);
    assert_eq!(planned[0].state(), State::Planned);

    // both desks read the attempt; B moves it first
    let mut in_a = journal::get(a.pool(), planned[0].id).await.expect("read").expect("entry");
    let mut in_b = journal::get(b.pool(), planned[0].id).await.expect("read").expect("entry");
    in_b.reason = Some("stopped by the other clerk".into());
    journal::transition(b.pool(), &mut in_b, State::Rejected, "Other Clerk", Environment::Sandbox)
        .await
        .expect("B moves it");
    let audits = audit_count(&a).await;

    in_a.paypal_amount = Some("250.00".into());
    let e: DeskError =
        journal::transition(a.pool(), &mut in_a, State::PartProcessed, "Test Clerk", Environment::Sandbox)
            .await
            .expect_err("A read a state that is gone");
    assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
    assert_eq!(e.code.exit_code(), 7, "README: 7 another process holds the invoice");
    assert_eq!(in_a.state(), State::Planned, "A's copy is not advanced either");
    // nothing of A's change was written: the row is B's, and no audit entry was added
    let row = journal::get(a.pool(), planned[0].id).await.expect("read").expect("entry");
    assert_eq!(row.state(), State::Rejected);
    assert_eq!(row.reason.as_deref(), Some("stopped by the other clerk"));
    assert_eq!(row.paypal_amount, None);
    assert_eq!(audit_count(&a).await, audits);
    assert_eq!(ledger_counts(&sb).await, (0, 0));
    a.close().await;
    b.close().await;
}

/// In desk A's run, just before it reads the PayPal approval, desk B (a second `Desk` of this
/// process on the same data directory: what a clerk's click does while the recovery at start
/// runs the same invoice) starts capturing the same invoice.
struct OtherDeskStarts {
    other: Arc<Desk>,
    started: Mutex<Option<tokio::task::JoinHandle<Result<CaptureResult, DeskError>>>>,
}

impl Interrupt for OtherDeskStarts {
    fn before(&self, step: Step, _: i64) -> bool {
        let mut started = self.started.lock().expect("lock");
        if step == Step::ReadApproval && started.is_none() {
            let other = Arc::clone(&self.other);
            *started = Some(tokio::spawn(async move { other.capture(SEED).await }));
        }
        false
    }
    fn after(&self, _: Step, _: i64) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_desks_of_one_process_run_one_attempt_and_the_second_sends_nothing() {
    let sb = sandbox(200, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let a = desk(&sb.base_url(), dir.path()).await;
    a.sync(false, &no_progress()).await.expect("sync");
    let b = Arc::new(desk(&sb.base_url(), dir.path()).await);

    let hook = OtherDeskStarts { other: Arc::clone(&b), started: Mutex::new(None) };
    let first = a.capture_with(SEED, &hook).await.expect("A's capture");
    assert_eq!(first.state, State::Finalized, "{first:?}");
    let posts_when_a_finished = posts(&requests(&sb).await);
    let second = hook.started.lock().expect("lock").take().expect("B started inside A's capture");
    let second = tokio::time::timeout(std::time::Duration::from_secs(60), second)
        .await
        .expect("B finishes once A let go of the invoice")
        .expect("task")
        .expect("B's answer");

    // B waited for A's run, then read the journal: one attempt, told its outcome
    assert_eq!(second.journal_id, first.journal_id);
    assert_eq!(second.state, State::Finalized, "{second:?}");
    let attempts = a.journal(Some(SEED), 10).await.expect("journal");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(posts(&requests(&sb).await), posts_when_a_finished, "B sent nothing that moves money");
    assert_eq!(ledger_counts(&sb).await, (1, 1), "captured once, finalized once");
    a.close().await;
    if let Ok(b) = Arc::try_unwrap(b) {
        b.close().await;
    }
}

#[tokio::test]
async fn the_journal_holds_one_unfinished_attempt_per_invoice() {
    let sb = sandbox(200, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let a = desk(&sb.base_url(), dir.path()).await;
    a.sync(false, &no_progress()).await.expect("sync");
    let b = desk(&sb.base_url(), dir.path()).await;

    // both desks start the same invoice at once: one attempt
    let stop = StopBefore(Step::PartProcess);
    let (ra, rb) = tokio::join!(a.capture_with(SEED, &stop), b.capture_with(SEED, &stop));
    assert_eq!(ra.expect_err("stopped").code, ErrorCode::Internal);
    assert_eq!(rb.expect_err("stopped").code, ErrorCode::Internal);
    let open = a.journal(Some(SEED), 10).await.expect("journal");
    assert_eq!(open.len(), 1, "{open:?}");

    // the partial unique index refuses a second unfinished row, whoever writes it
    let insert = |state: &'static str| {
        sqlx::query(
            "INSERT INTO capture_journal (invoice_no, state, path, currency, outstanding, request_id, staff, environment, \
             created_at, updated_at) VALUES (?, ?, 'paypal', 'USD', '250.00', ?, 'Raw', 'sandbox', '', '')",
        )
        .bind(SEED)
        .bind(state)
        .bind(format!("raw-{state}"))
        .execute(b.pool())
    };
    for state in ["planned", "paypal_capture_sent", "finalize_sent"] {
        let e = insert(state).await.expect_err("a second unfinished attempt");
        assert!(e.to_string().contains("UNIQUE constraint failed"), "{state}: {e}");
    }
    // finished attempts are not limited
    for state in ["rejected", "needs_attention", "finalized"] {
        insert(state).await.expect("a finished attempt");
    }
    assert_eq!(a.journal(Some(SEED), 10).await.expect("journal").len(), 4);
    assert_eq!(requests(&sb).await.keys().filter(|k| k.starts_with("POST /api")).count(), 0, "nothing sent");
    a.close().await;
    b.close().await;
}
