//! One runner per batch across processes (the batch-run lease, migration 0013), through the real
//! sandbox. A second desk on the same data directory, reached by another path, stands for
//! another process (the app beside `desk batch run`): the in-process guard keys on the database
//! path, so only the lease in SQLite stands between the two.

use crate::common::{approved_rows, desk, money_moved, no_progress, sandbox};
use billing::batch::{running_elsewhere, Approval, BatchSource, BatchState, ItemOutcome, RunEnd, RunProgress};
use billing::desk::BatchPace;
use billing::{Desk, DeskError, ErrorCode};
use std::sync::{Arc, Mutex};

/// A synced desk with an approved batch of a few invoices PayPal approved (created by Alice,
/// approved by Bob); the batch's id.
async fn approved(d: &Desk) -> i64 {
    d.sync(false, &no_progress()).await.expect("sync");
    let picked: Vec<i64> = approved_rows(d).await.iter().take(5).map(|r| r.invoice_no).collect();
    let v = d.batch_create("Alice", Some("lease"), &BatchSource::Selection { invoices: picked }).await.expect("create");
    d.batch_preflight("Alice", v.batch.id, BatchPace::default(), &|_| {}).await.expect("preflight");
    d.batch_approve(v.batch.id, &Approval { approver: "Bob".into(), typed_totals: None }).await.expect("approve");
    v.batch.id
}

/// The same data directory through a symbolic link: another "process"'s desk.
async fn other_desk(url: &str, dir: &std::path::Path, links: &tempfile::TempDir) -> Desk {
    let link = links.path().join("same-data");
    std::os::unix::fs::symlink(dir, &link).expect("symlink");
    desk(url, &link).await
}

#[track_caller]
fn assert_running_elsewhere(e: &DeskError, id: i64) {
    assert_eq!(e.code, ErrorCode::Conflict, "{e:?}");
    assert_eq!(e.exit, Some(billing::batch::EXIT_RUNNING_ELSEWHERE), "{e:?}");
    assert!(running_elsewhere(e));
    let said = format!("Batch {id} is running in another window or command (since ");
    assert!(e.message.starts_with(&said) && e.message.contains("wait for it or stop it there"), "{}", e.message);
}

/// Every item finalized, each PayPal capture once and finalized once.
async fn all_finalized_once(d: &Desk, sb: &sandbox::Sandbox, id: i64, end: &RunEnd) {
    assert_eq!(end.state, BatchState::Completed, "{end:?}");
    let v = d.batch(id).await.expect("batch");
    let finalized = v.items.iter().filter(|i| i.outcome == Some(ItemOutcome::Finalized)).count();
    assert!(finalized > 0, "{:?}", v.items);
    assert_eq!(money_moved(sb).await, (finalized, finalized), "each item captured and finalized once");
}

/// A run killed right after it started (the batch `running`, nothing sent) whose lease row lives
/// on until `expires_at` (Unix milliseconds) and says nothing of an OS lock (`os_lock = 0`: a
/// process that could not take one), so only its TTL frees it. (A killed process that held its
/// OS lock frees the batch at once: the unit tests and the CLI's SIGKILL test.)
async fn killed_run(d: Arc<Desk>, id: i64, expires_at: i64) {
    let run = tokio::spawn({
        let d = Arc::clone(&d);
        async move { d.batch_run("Bob", id, BatchPace::default(), &|_| panic!("killed mid-run")).await }
    });
    assert!(run.await.err().is_some_and(|e| e.is_panic()), "the run was killed");
    assert_eq!(d.batch(id).await.expect("batch").batch.state, BatchState::Running);
    sqlx::query(
        "INSERT OR REPLACE INTO batch_run_lease (batch_id, holder, acquired_at, expires_at) \
         VALUES (?, 'killed-process/1/b', '2026-11-20T10:42:00Z', ?)",
    )
    .bind(id)
    .bind(expires_at)
    .execute(d.pool())
    .await
    .expect("lease row");
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Before: both runs ran the batch at once (each at the whole rate, each telling progress).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_runs_of_one_batch_at_once_one_runs_and_the_other_is_refused_and_pause_from_it_still_works() {
    let sb = sandbox(150, 1).await;
    let (dir, links) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Arc::new(desk(&sb.base_url(), dir.path()).await);
    let id = approved(&a).await;
    let b = other_desk(&sb.base_url(), dir.path(), &links).await;

    // A's run holds the batch, stopped at its first progress (before any item) until told to go
    let (started, go) = (tokio::sync::oneshot::channel::<()>(), std::sync::mpsc::channel::<()>());
    let (started_tx, started_rx) = started;
    let (go_tx, go_rx) = go;
    let run_a = tokio::spawn({
        let a = Arc::clone(&a);
        async move {
            let (started_tx, go_rx) = (Mutex::new(Some(started_tx)), Mutex::new(go_rx));
            let progress = move |_: RunProgress| {
                if let Some(tx) = started_tx.lock().expect("lock").take() {
                    let _ = tx.send(());
                    let _ = go_rx.lock().expect("lock").recv();
                }
            };
            a.batch_run("Bob", id, BatchPace::default(), &progress).await
        }
    });
    started_rx.await.expect("A started");

    let refused = b.batch_run("Carol", id, BatchPace::default(), &|_| {}).await.expect_err("B refused");
    assert_running_elsewhere(&refused, id);
    assert_eq!(money_moved(&sb).await, (0, 0), "the refused run sent nothing");
    // pause needs no lease: B pauses the batch A runs, and A starts nothing more
    assert_eq!(b.batch_pause("Carol", id).await.expect("paused").batch.state, BatchState::Paused);
    go_tx.send(()).expect("go");
    let end_a = run_a.await.expect("joined").expect("A's run");
    assert_eq!(end_a.state, BatchState::Paused);
    assert_eq!(money_moved(&sb).await, (0, 0), "paused before its first item");

    // A gave its lease back: B resumes the batch and runs it to its end
    let end_b = b.batch_run("Carol", id, BatchPace::default(), &|_| {}).await.expect("B runs");
    all_finalized_once(&b, &sb, id, &end_b).await;
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM batch_run_lease").fetch_one(b.pool()).await.expect("db");
    assert_eq!(left, 0, "every lease given back");
}

/// Before: the next run after a kill ran beside nothing, and the app's resume at start ran the
/// batch beside a live `desk batch run`.
#[tokio::test]
async fn a_killed_runs_batch_is_refused_while_its_lease_lives_and_runs_once_it_expired() {
    let sb = sandbox(150, 1).await;
    let (dir, links) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Arc::new(desk(&sb.base_url(), dir.path()).await);
    let id = approved(&a).await;
    killed_run(Arc::clone(&a), id, now_ms() + 30_000).await;
    let b = other_desk(&sb.base_url(), dir.path(), &links).await;

    let refused = b.batch_run("Carol", id, BatchPace::default(), &|_| {}).await.expect_err("refused while live");
    assert_running_elsewhere(&refused, id);
    assert_eq!(money_moved(&sb).await, (0, 0));
    // the killed process's last renewal is past the TTL
    sqlx::query("UPDATE batch_run_lease SET expires_at = ? WHERE batch_id = ?")
        .bind(now_ms() - 1)
        .bind(id)
        .execute(b.pool())
        .await
        .expect("expired");
    let end = b.batch_run("Carol", id, BatchPace::default(), &|_| {}).await.expect("taken over");
    all_finalized_once(&b, &sb, id, &end).await;
}

#[tokio::test]
async fn the_apps_resume_at_start_waits_for_the_other_run_then_continues_the_batch() {
    let sb = sandbox(150, 1).await;
    let (dir, links) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Arc::new(desk(&sb.base_url(), dir.path()).await);
    let id = approved(&a).await;
    // killed a moment ago: its lease lives a little longer
    killed_run(Arc::clone(&a), id, now_ms() + 1_500).await;
    let app = other_desk(&sb.base_url(), dir.path(), &links).await;
    let resumed = app.resume_batches(&|_, _| {}).await.expect("resume");
    let [(resumed_id, end)] = <[_; 1]>::try_from(resumed).expect("one batch");
    assert_eq!(resumed_id, id);
    all_finalized_once(&app, &sb, id, &end.expect("continued once the other run's lease expired")).await;
}

/// Before: the app's resume at start waited for the batch another process runs (for as long as
/// that run lasts, or for ever if it hangs) before it even tried the next batch, so a batch the
/// app itself left running stood still behind another command's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apps_resume_at_start_continues_its_other_batches_while_another_process_runs_one() {
    let sb = sandbox(150, 1).await;
    let (dir, links) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let a = Arc::new(desk(&sb.base_url(), dir.path()).await);
    a.sync(false, &no_progress()).await.expect("sync");
    let rows = approved_rows(&a).await;
    assert!(rows.len() >= 6, "enough approved invoices: {}", rows.len());
    let mut ids = Vec::new();
    for (name, picked) in [("held", &rows[..3]), ("ours", &rows[3..6])] {
        let invoices = picked.iter().map(|r| r.invoice_no).collect();
        let v = a.batch_create("Alice", Some(name), &BatchSource::Selection { invoices }).await.expect("create");
        a.batch_preflight("Alice", v.batch.id, BatchPace::default(), &|_| {}).await.expect("preflight");
        a.batch_approve(v.batch.id, &Approval { approver: "Bob".into(), typed_totals: None }).await.expect("approve");
        ids.push(v.batch.id);
    }
    let (held, ours) = (ids[0], ids[1]);
    assert!(held < ours, "the batch held elsewhere comes first");
    // both left running; the first is run by another process that lives on (its lease far
    // from expiry), the second's run was killed long ago (its lease expired)
    killed_run(Arc::clone(&a), held, now_ms() + 3_600_000).await;
    killed_run(Arc::clone(&a), ours, now_ms() - 1).await;

    let app = Arc::new(other_desk(&sb.base_url(), dir.path(), &links).await);
    let resume = tokio::spawn({
        let app = Arc::clone(&app);
        async move { app.resume_batches(&|_, _| {}).await }
    });
    // the app's own batch is continued to its end while the other process still runs the first
    let ours_done = async {
        while app.batch(ours).await.expect("batch").batch.state != BatchState::Completed {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(90), ours_done)
        .await
        .expect("the app's own batch continued while another process runs the first");
    assert_eq!(app.batch(held).await.expect("batch").batch.state, BatchState::Running, "not touched");
    assert!(!resume.is_finished(), "still waiting for the other process's run");
    // the other process's run ends (its lease expires): the app continues that batch too
    sqlx::query("UPDATE batch_run_lease SET expires_at = ? WHERE batch_id = ?")
        .bind(now_ms() - 1)
        .bind(held)
        .execute(app.pool())
        .await
        .expect("expired");
    let ended = resume.await.expect("joined").expect("resume");
    let ended_ids: Vec<i64> = ended.iter().map(|(id, _)| *id).collect();
    assert_eq!(ended_ids, vec![held, ours], "each batch once, in order");
    for (id, end) in &ended {
        let end = end.as_ref().expect("continued");
        assert_eq!(end.state, BatchState::Completed, "batch {id}: {end:?}");
    }
}
