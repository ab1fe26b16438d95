use super::*;
use crate::ErrorCode;

/// A fresh database (the directory must outlive the pool).
async fn database() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = crate::store::open(dir.path()).await.expect("database");
    (dir, pool)
}

/// The lease's last renewal lies further back than the TTL (as if its process had been killed
/// that long ago): its row is left as it was, only past its expiry.
async fn expire(pool: &SqlitePool, id: i64) {
    sqlx::query("UPDATE batch_run_lease SET expires_at = ? WHERE batch_id = ?")
        .bind(lease_core::now_ms() - 1)
        .bind(id)
        .execute(pool)
        .await
        .expect("expired");
}

async fn rows(pool: &SqlitePool) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT batch_id, holder FROM batch_run_lease ORDER BY batch_id")
        .fetch_all(pool)
        .await
        .expect("rows")
}

/// A batch row in `state` (what `wait_for_other_run` reads).
async fn batch(pool: &SqlitePool, state: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO batches (name, created_by, created_at, environment, source_kind, state, updated_at) \
         VALUES ('b', 'a', '2026-11-20T10:00:00Z', 'sandbox', 'selection', ?, '2026-11-20T10:00:00Z') RETURNING id",
    )
    .bind(state)
    .fetch_one(pool)
    .await
    .expect("batch")
}

#[tokio::test]
async fn a_second_run_is_refused_while_the_lease_is_live_saying_since_when_and_from_when_it_is_free() {
    let (_dir, pool) = database().await;
    let first = RunLease::take(&pool, 7).await.expect("free");
    let refused = RunLease::take(&pool, 7).await.err().expect("refused while live");
    assert_eq!(refused.code, ErrorCode::Conflict);
    assert_eq!(refused.exit, Some(crate::batch::EXIT_RUNNING_ELSEWHERE));
    assert!(crate::batch::running_elsewhere(&refused));
    let held = holder(&pool, 7).await.expect("db").expect("held");
    assert_eq!(held.holder, first.holder());
    let local = |t: DateTime<Utc>, f: &str| t.with_timezone(&chrono::Local).format(f).to_string();
    let free_from = DateTime::from_timestamp_millis(held.expires_at).expect("time");
    assert_eq!(
        refused.message,
        format!(
            "Batch 7 is running in another window or command (since {}); wait for it or stop it there. \
             If that window or command was closed or killed, the batch can run again from {}.",
            local(held.since, "%H:%M"),
            local(free_from, "%H:%M:%S")
        )
    );
    // nothing of the first's was changed by the refusal; another batch is free
    assert_eq!(rows(&pool).await, vec![(7, first.holder().to_owned())]);
    let other = RunLease::take(&pool, 8).await.expect("another batch is free");
    other.release().await;
    first.release().await;
    assert_eq!(rows(&pool).await, vec![]);
    // released: the next run takes it at once
    RunLease::take(&pool, 7).await.expect("free again").release().await;
}

#[tokio::test]
async fn a_killed_runners_lease_is_taken_over_once_expired_and_it_can_neither_renew_nor_release_it() {
    let (_dir, pool) = database().await;
    let killed = RunLease::take(&pool, 3).await.expect("free");
    expire(&pool, 3).await;
    assert_eq!(holder(&pool, 3).await.expect("db"), None, "an expired lease holds nothing");
    let next = RunLease::take(&pool, 3).await.expect("taken over");
    assert_ne!(killed.holder(), next.holder());
    assert!(!renew(&pool, 3, killed.holder()).await.expect("db"), "renewed another's lease");
    killed.release().await;
    assert_eq!(rows(&pool).await, vec![(3, next.holder().to_owned())], "released another's lease");
    assert!(renew(&pool, 3, next.holder()).await.expect("db"), "the holder renews");
    next.release().await;
    assert_eq!(rows(&pool).await, vec![]);
}

#[tokio::test]
async fn a_run_whose_lease_was_taken_over_finds_it_lost_and_says_who_holds_it() {
    let (_dir, pool) = database().await;
    let first = RunLease::take(&pool, 4).await.expect("free");
    expire(&pool, 4).await;
    let second = RunLease::take(&pool, 4).await.expect("taken over");
    // what the run finds before its next item, before the renewal task could tell
    assert!(!first.is_lost());
    assert!(!first.confirm().await.expect("db"), "the first run confirmed the second's lease");
    assert!(first.is_lost());
    assert!(second.confirm().await.expect("db") && !second.is_lost());
    let why = first.lost_to().await.expect("db");
    assert!(crate::batch::running_elsewhere(&why), "{why:?}");
    second.release().await;
    // that run ended since: nobody runs the batch, its items not reached are unfinished (exit 8
    // in `desk`, "run it again"; before: 7, which the README does not list for `batch run`)
    let why = first.lost_to().await.expect("db");
    assert_eq!(why.code, ErrorCode::Conflict);
    assert!(!crate::batch::running_elsewhere(&why));
    assert_eq!(why.exit, Some(EXIT_RUN_STOPPED));
    assert_eq!(EXIT_RUN_STOPPED, 8, "desk's exit code of unfinished items (README)");
    first.release().await;
}

#[tokio::test]
async fn a_dropped_run_gives_its_lease_back() {
    let (_dir, pool) = database().await;
    let run = RunLease::take(&pool, 5).await.expect("free");
    drop(run);
    // the give-back runs on the runtime, soon
    for _ in 0..500 {
        if rows(&pool).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(rows(&pool).await, vec![]);
}

#[tokio::test]
async fn a_waiter_waits_while_another_run_holds_the_batch_then_says_whether_it_is_left_running() {
    let (_dir, pool) = database().await;
    let running = batch(&pool, "running").await;
    let other = RunLease::take(&pool, running).await.expect("free");
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { wait_for_other_run(&pool, running).await }
    });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished(), "it waits while the lease is live");
    other.release().await;
    assert!(waiter.await.expect("joined").expect("db"), "left running: continue it");
    // a killed runner's lease: waited for until it expires
    assert_eq!(try_take(&pool, running, "killed-process/1/b1", false).await.expect("db"), None);
    assert!(holder(&pool, running).await.expect("db").is_some());
    expire(&pool, running).await;
    assert!(wait_for_other_run(&pool, running).await.expect("db"));
    // paused meanwhile: nothing to continue
    let paused = batch(&pool, "paused").await;
    assert!(!wait_for_other_run(&pool, paused).await.expect("db"));
}

#[tokio::test]
async fn a_live_lease_whose_holder_held_the_os_lock_is_taken_over_at_once_when_that_lock_is_free() {
    let (_dir, pool) = database().await;
    // a live run holds the OS lock too: refused, whatever its row says
    let live = RunLease::take(&pool, 11).await.expect("free");
    let row: (bool,) =
        sqlx::query_as("SELECT os_lock FROM batch_run_lease WHERE batch_id = 11").fetch_one(&pool).await.expect("row");
    assert!(row.0, "a run holds the OS lock beside its lease");
    assert!(RunLease::take(&pool, 11).await.is_err(), "refused while the holder lives");
    live.release().await;
    // a process that held the lock and ended (the OS released its lock; its row lives on)
    assert_eq!(try_take(&pool, 12, "ended-process/1/b12", true).await.expect("db"), None);
    let next = RunLease::take(&pool, 12).await.expect("taken over at once: its process is gone");
    assert!(holder(&pool, 12).await.expect("db").is_some_and(|h| h.holder == next.holder()));
    next.release().await;
    // a live row that says nothing of an OS lock (it could not be taken): only its TTL frees it
    assert_eq!(try_take(&pool, 13, "unlocked-process/1/b13", false).await.expect("db"), None);
    let refused = RunLease::take(&pool, 13).await.err().expect("refused until it expires");
    assert!(crate::batch::running_elsewhere(&refused));
    expire(&pool, 13).await;
    RunLease::take(&pool, 13).await.expect("expired").release().await;
}

/// Before: a run whose process was merely stopped past the TTL (a suspended laptop, a long busy
/// wait) with no other run coming meanwhile found its lease "lost" and stopped, leaving the batch
/// `running` with nobody running it ("it lost its hold on the batch. Run it again.").
#[tokio::test]
async fn a_run_whose_lease_expired_while_no_other_run_came_still_holds_it_and_renews_it() {
    let (_dir, pool) = database().await;
    let slow = RunLease::take(&pool, 6).await.expect("free");
    // its process was stopped past the TTL; nobody took the batch meanwhile
    expire(&pool, 6).await;
    assert!(slow.confirm().await.expect("db"), "nobody else holds it: still this run's");
    assert!(!slow.is_lost());
    assert!(
        holder(&pool, 6).await.expect("db").is_some_and(|h| h.holder == slow.holder()),
        "renewed: live again under the same holder"
    );
    let refused = RunLease::take(&pool, 6).await.err().expect("another run is refused again");
    assert!(crate::batch::running_elsewhere(&refused));
    slow.release().await;
    assert_eq!(rows(&pool).await, vec![]);
}

/// A pool on the same database whose statements wait for a writer only 50 ms (the store's wait
/// [`lease_core::BUSY_TIMEOUT`]): a database busy for longer than that, without waiting as long.
async fn impatient(dir: &std::path::Path) -> SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(crate::environments::DATABASE_FILE))
        .busy_timeout(Duration::from_millis(50));
    sqlx::sqlite::SqlitePoolOptions::new().max_connections(2).connect_with(options).await.expect("pool")
}

/// Whether `check` is still asking after 20 of the impatient pool's busy timeouts.
async fn still_asking(check: &tokio::task::JoinHandle<Result<bool, DeskError>>) -> bool {
    for _ in 0..40 {
        if check.is_finished() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    !check.is_finished()
}

/// Before: the check before each item was one renewal; a database busy past its busy timeout (a
/// sync's long write, another process) answered it with an error, which ended the whole run.
/// Now "busy" is "not known yet": the check asks again until the database answers, and says the
/// lease is held only then (no item starts meanwhile), or lost when another run took it over.
#[tokio::test]
async fn a_busy_database_leaves_the_check_before_an_item_unanswered_until_it_answers() {
    let (dir, pool) = database().await;
    let run = std::sync::Arc::new(RunLease::take(&impatient(dir.path()).await, 9).await.expect("free"));
    let check = |run: &std::sync::Arc<RunLease>| {
        let run = std::sync::Arc::clone(run);
        tokio::spawn(async move { run.confirm().await })
    };
    // another connection writes for longer than the run's busy timeout, then ends its write
    let busy = pool.begin_with("BEGIN IMMEDIATE").await.expect("writer");
    let asked = check(&run);
    assert!(still_asking(&asked).await, "the busy database ended the check: {:?}", asked.await);
    busy.commit().await.expect("commit");
    assert!(asked.await.expect("joined").expect("answered once the database is free"), "held");
    assert!(!run.is_lost());
    // busy again, and the writer is another run taking the batch over: the check says lost
    let mut busy = pool.begin_with("BEGIN IMMEDIATE").await.expect("writer");
    let asked = check(&run);
    assert!(still_asking(&asked).await, "the busy database ended the check: {:?}", asked.await);
    sqlx::query("UPDATE batch_run_lease SET holder = 'another-process/1/b9' WHERE batch_id = 9")
        .execute(&mut *busy)
        .await
        .expect("taken over");
    busy.commit().await.expect("commit");
    assert!(!asked.await.expect("joined").expect("answered"), "confirmed another run's lease");
    assert!(run.is_lost());
    std::sync::Arc::into_inner(run).expect("the only holder").release().await;
}

/// Before: the app's resume waited for a killed runner's batch for the whole TTL (30 s), though
/// the runner had held the OS lock and the OS had released it (the taker reads that at once).
#[tokio::test]
async fn a_waiter_does_not_wait_for_a_runner_whose_process_ended_with_the_os_lock_free() {
    let (_dir, pool) = database().await;
    let running = batch(&pool, "running").await;
    // a runner that held the OS lock and was killed: its row lives on, its lock is free
    assert_eq!(try_take(&pool, running, "killed-process/1/b1", true).await.expect("db"), None);
    assert!(holder(&pool, running).await.expect("db").is_some(), "its lease is live");
    let waited = tokio::time::timeout(lease_core::TTL / 3, wait_for_other_run(&pool, running)).await;
    assert!(waited.expect("waited for a runner that is gone").expect("db"), "left running: continue it");
    // and the run that continues it takes the lease over at once (the waiter kept no lock)
    let next = RunLease::take(&pool, running).await.expect("taken over at once");
    // a live runner (it holds the OS lock) is still waited for
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { wait_for_other_run(&pool, running).await }
    });
    let still = tokio::time::timeout(WAIT_STEP * 3, async {
        while !waiter.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(still.is_err(), "the waiter did not wait for a live runner");
    next.release().await;
    assert!(waiter.await.expect("joined").expect("db"));
}

/// The OS lock is held per open file, not per process (`File::try_lock`: `flock` on Unix, per
/// open file description; `LockFileEx` on Windows, per handle): a second open of a live runner's
/// lock file by the runner's own process finds it held. So the app's resume at start, probing
/// the lock of a batch the app's own Run holds, neither takes that runner for gone nor takes its
/// lease over (and `OneRun` refuses a second run of the batch in the process before that).
#[tokio::test]
async fn in_one_process_a_second_open_of_a_live_runners_lock_file_finds_it_held() {
    let (_dir, pool) = database().await;
    let running = batch(&pool, "running").await;
    let run = RunLease::take(&pool, running).await.expect("free");
    let os_locked: bool = sqlx::query_scalar("SELECT os_lock FROM batch_run_lease WHERE batch_id = ?")
        .bind(running)
        .fetch_one(&pool)
        .await
        .expect("row");
    assert!(os_locked, "the runner holds the OS lock and says so");
    assert!(os_lock(&pool, running).await.expect("probe").is_none(), "its own process locked the runner's file again");
    let refused = RunLease::take(&pool, running).await.err().expect("a second runner in the process is refused");
    assert!(crate::batch::running_elsewhere(&refused), "{refused:?}");
    let waited = tokio::time::timeout(WAIT_STEP * 3, wait_for_other_run(&pool, running)).await;
    assert!(waited.is_err(), "the waiter took its own process's live runner for gone");
    assert!(holder(&pool, running).await.expect("db").is_some_and(|h| h.holder == run.holder()), "still the runner's");
    run.release().await;
    assert!(os_lock(&pool, running).await.expect("probe").is_some(), "given back with the run");
}
