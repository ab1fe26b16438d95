//! The locks: one driver per open entry, recovery order, lease timing and lease ownership.
//! (Two processes on one open entry: `crates/cli/tests/cli/locks.rs`; the leases' ownership
//! and waits in one database: `capture/lease_tests.rs`.)

use crate::capture_paths::{synced_desk, StopOnce, World};
use crate::unknown_outcomes::{assert_captured_and_finalized_once, plain_order};
use crate::wallet_lease::SharedWallet;
use billing::capture::{State, Step};
use billing::Desk;
use sandbox::Sandbox;
use serde_json::json;
use std::time::Duration;

async fn states(d: &Desk) -> Vec<(i64, State)> {
    let mut j: Vec<(i64, State)> =
        d.journal(None, 100).await.expect("journal").iter().map(|e| (e.invoice_no, e.state())).collect();
    j.sort_by_key(|(no, _)| *no);
    j
}

/// An older `planned` attempt and a newer one of the same wallet past part-process: recovery
/// resumes the one past part-process first (its promise would defer the planned one), so both
/// finish in one recovery. (Before: oldest first, the planned one was deferred and left open.)
#[tokio::test]
async fn recovery_resumes_attempts_past_part_process_before_planned_ones() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;

    // A is journaled and stops before part-process (planned, the older attempt)
    d.capture_with(f.a, &StopOnce::new(Step::PartProcess, false)).await.expect_err("stopped");
    // B part-processes (promised the wallet) and stops before PayPal
    d.capture_with(f.b, &StopOnce::new(Step::ReadApproval, false)).await.expect_err("stopped");
    let ids: Vec<(i64, i64)> =
        d.journal(None, 10).await.expect("journal").iter().map(|e| (e.invoice_no, e.id)).collect();
    let id = |no| ids.iter().find(|(n, _)| *n == no).map(|(_, id)| *id).expect("journaled");
    assert!(id(f.a) < id(f.b), "A is the older attempt");
    let mut expected = vec![(f.a, State::Planned), (f.b, State::PartProcessed)];
    expected.sort_by_key(|(no, _)| *no);
    assert_eq!(states(&d).await, expected);

    let results = d.recover().await.expect("recover");
    let order: Vec<i64> = results.iter().map(|r| r.invoice_no).collect();
    assert_eq!(order, vec![f.b, f.a], "past part-process first: {results:?}");
    assert!(results.iter().all(|r| r.state == State::Finalized && r.finished), "{results:?}");
    f.assert_both_paid_once(&sb).await;
    d.close().await;
}

/// (holder, expires_at) of every lease row.
async fn lease_rows(d: &Desk) -> Vec<(String, String, i64)> {
    sqlx::query_as(
        "SELECT 'entry:' || lease_key, holder, expires_at FROM entry_lease \
         UNION ALL SELECT 'wallet:' || wallet_key, holder, expires_at FROM wallet_lease ORDER BY 1",
    )
    .fetch_all(d.pool())
    .await
    .expect("leases")
}

fn slow_capture(sb: &Sandbox, ms: u64) {
    let faults = json!({ "routes": { "POST /v2/checkout/orders/{id}/capture": { "latency_ms": ms } } });
    sb.set_faults(serde_json::from_value(faults).expect("faults"));
}

/// A PayPal capture slower than two renewal intervals (and inside the client's timeout, which
/// no longer outlasts the TTL: `lease.rs`): both leases the run holds (its entry's and its
/// wallet's) are renewed all through the call (their expiry moves on), never seen expired, never
/// changing holder, and given back after.
#[tokio::test]
async fn the_leases_are_renewed_through_a_long_remote_call() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let call = billing::capture::wallet_lease::RENEW_EVERY * 2 + Duration::from_secs(2);
    assert!(call < paypal::ClientOptions::default().timeout, "one attempt of the call, no retry");
    slow_capture(&sb, u64::try_from(call.as_millis()).expect("ms"));

    let started = std::time::Instant::now();
    let mut seen: Option<Vec<(String, String)>> = None;
    let mut renewed = false;
    let mut first_expiries: Option<Vec<i64>> = None;
    let result = {
        let run = d.capture(no);
        tokio::pin!(run);
        loop {
            tokio::select! {
                r = &mut run => break r,
                () = tokio::time::sleep(Duration::from_millis(250)) => {
                    let rows = lease_rows(&d).await;
                    if rows.is_empty() {
                        continue; // not taken yet
                    }
                    let now = chrono::Utc::now().timestamp_millis();
                    for (key, holder, expires_at) in &rows {
                        assert!(*expires_at > now, "{key} of {holder} expired during the call ({:?} in)", started.elapsed());
                    }
                    let holders: Vec<(String, String)> = rows.iter().map(|(k, h, _)| (k.clone(), h.clone())).collect();
                    assert_eq!(holders.len(), 2, "the entry lease and the wallet lease: {rows:?}");
                    let expiries: Vec<i64> = rows.iter().map(|(_, _, e)| *e).collect();
                    match &seen {
                        None => seen = Some(holders),
                        Some(first) => assert_eq!(first, &holders, "no holder changed"),
                    }
                    let first_expiries = first_expiries.get_or_insert_with(|| expiries.clone());
                    renewed |= expiries.iter().zip(first_expiries.iter()).all(|(now, first)| now > first);
                }
            }
        }
    };
    let r = result.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert!(
        started.elapsed() >= call && renewed,
        "the call outlived two renewal intervals and both leases were renewed"
    );
    assert!(lease_rows(&d).await.is_empty(), "given back");
    assert_captured_and_finalized_once(&sb, no).await;
    d.close().await;
}
