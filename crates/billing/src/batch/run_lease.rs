//! The batch-run lease (`batch_run_lease`, migration 0013): at most one run of a batch at a time
//! in one data directory, whichever process drives it (the app's Run, the app's resume at
//! start, `desk batch run`). Two runners would double the concurrency bound and the rate limit
//! that caps the sum of the batch's requests, tell progress twice, and answer pause and cancel
//! each on its own; each item would still be captured once (the journal's entry lease), so
//! this lease is about the run, not about money.
//!
//! The mechanics are every lease's (`lease_core`, shared with the capture leases): a holder id
//! per run, renewed every [`RENEW_EVERY`](lease_core::RENEW_EVERY) by a task of its own while the run runs, expiring
//! [`TTL`](lease_core::TTL) after the last renewal, so the next run takes over a killed process's lease; renewal
//! and release match the holder id, so a run whose lease was taken over touches nothing of the
//! new holder's. What is this lease's: its table, renewal by holder alone (below, [`renew`]),
//! the refusal, and the OS lock.
//! A second runner while the lease is live is refused at once ([`BatchError::RunningElsewhere`],
//! saying since when and from when a closed or killed runner's lease is free), nothing started.
//!
//! A killed runner need not block its batch for the whole TTL: a run also holds the OS's lock
//! (`File::try_lock`, as `instance_lock.rs`) on `batch-runs/<id>.lock` beside the database for
//! its whole life, and says so in its row (`os_lock`). The OS releases that lock however the
//! process ends, so a live row whose holder held the lock, while the lock is free, is a holder
//! that is gone: the next run takes the lease over at once. Where the lock file cannot be made
//! or locked (another run of ours holds it, a stopped process), the row says `os_lock = 0` and
//! only the TTL frees it.
//!
//! Pause and cancel take no lease: they change the batch's state, which the runner reads before
//! each item, from any process.

use super::error::BatchError;
use super::words::BatchState;
use crate::lease_core::{self, Holding, LeaseRow};
use crate::{time, DeskError};
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::SqlitePool;
use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::Duration;

/// Who holds a batch's run lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub holder: String,
    /// When that run took the lease.
    pub since: DateTime<Utc>,
    /// Unix milliseconds: when the lease expires unless renewed.
    pub expires_at: i64,
}

impl Held {
    fn refusal(&self, id: i64) -> BatchError {
        let free_from = DateTime::from_timestamp_millis(self.expires_at).unwrap_or(self.since);
        BatchError::RunningElsewhere { id, since: self.since, free_from }
    }
}

type Row = (String, String, i64);

fn held((holder, acquired_at, expires_at): Row) -> Held {
    let since = time::parse(&acquired_at).unwrap_or_else(Utc::now);
    Held { holder, since, expires_at }
}

/// A fresh holder id for a run of batch `id`: this process and this run (as every lease names
/// them), and the batch.
fn new_holder(id: i64) -> String {
    lease_core::new_holder(&format!("b{id}"))
}

/// `batch-runs/<id>.lock` beside the database file (`None`: an in-memory database).
async fn lock_path(pool: &SqlitePool, id: i64) -> Result<Option<PathBuf>, DeskError> {
    let file: Option<String> =
        sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'").fetch_optional(pool).await?;
    let database = file.filter(|f| !f.is_empty()).map(PathBuf::from);
    Ok(database.and_then(|d| d.parent().map(|dir| dir.join("batch-runs").join(format!("{id}.lock")))))
}

/// The OS's lock on batch `id`'s lock file, if no live process holds it (the file stays: removing
/// it would let two processes lock two different files of one name).
async fn os_lock(pool: &SqlitePool, id: i64) -> Result<Option<File>, DeskError> {
    let Some(path) = lock_path(pool, id).await? else { return Ok(None) };
    let locked = tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    })
    .await
    .map_err(DeskError::internal)?;
    Ok(locked.unwrap_or_else(|e| {
        tracing::warn!(batch = id, error = %e, "the batch's run lock file cannot be locked; its lease's TTL alone frees it");
        None
    }))
}

/// The unexpired run lease of batch `id`, if any.
pub(crate) async fn holder(pool: &SqlitePool, id: i64) -> Result<Option<Held>, DeskError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT holder, acquired_at, expires_at FROM batch_run_lease WHERE batch_id = ? AND expires_at > ?",
    )
    .bind(id)
    .bind(lease_core::now_ms())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(held))
}

/// Takes batch `id`'s run lease for `holder` if it is free or expired, or held by a process that
/// is gone (it held the OS lock, which `os_locked`, this run, now holds); else says who holds it.
async fn try_take(pool: &SqlitePool, id: i64, holder: &str, os_locked: bool) -> Result<Option<Held>, DeskError> {
    let now = lease_core::now_ms();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let current: Option<(String, String, i64, bool)> =
        sqlx::query_as("SELECT holder, acquired_at, expires_at, os_lock FROM batch_run_lease WHERE batch_id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((h, acquired_at, expires_at, held_os_lock)) = current {
        let current = held((h, acquired_at, expires_at));
        if current.expires_at > now && !(held_os_lock && os_locked) {
            tx.rollback().await?;
            return Ok(Some(current));
        }
        let why = if current.expires_at > now { "its process ended (its OS lock is free)" } else { "expired" };
        tracing::warn!(batch = id, previous = %current.holder, "taking over a batch-run lease: {why}");
    }
    sqlx::query(
        "INSERT INTO batch_run_lease (batch_id, holder, acquired_at, expires_at, os_lock) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (batch_id) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, \
         expires_at = excluded.expires_at, os_lock = excluded.os_lock",
    )
    .bind(id)
    .bind(holder)
    .bind(time::text(Utc::now()))
    .bind(now + lease_core::ttl_ms())
    .bind(os_locked)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(None)
}

/// Renews `holder`'s run lease of batch `id`. `false`: it holds none (another run took it over,
/// or it was given back): nothing of anyone else's was touched. A lease that expired while its
/// holder was merely stopped (a suspended laptop, a long busy wait) and that no other run took
/// meanwhile is renewed: a takeover rewrites the holder in one transaction, so the holder still
/// being this run's proves nobody else runs the batch, and stopping would leave it `running`
/// with no runner.
async fn renew(pool: &SqlitePool, id: i64, holder: &str) -> Result<bool, sqlx::Error> {
    let now = lease_core::now_ms();
    let r = sqlx::query("UPDATE batch_run_lease SET expires_at = ? WHERE batch_id = ? AND holder = ?")
        .bind(now + lease_core::ttl_ms())
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives `holder`'s run lease of batch `id` back (one another run took over is left alone).
async fn give_back(pool: &SqlitePool, id: i64, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM batch_run_lease WHERE batch_id = ? AND holder = ?")
        .bind(id)
        .bind(holder)
        .execute(pool)
        .await
        .map(drop)
}

/// Batch `id`'s row of `batch_run_lease`.
pub(crate) struct BatchRow {
    id: i64,
}

impl LeaseRow for BatchRow {
    fn table(&self) -> &'static str {
        "batch_run_lease"
    }

    fn key(&self) -> String {
        self.id.to_string()
    }

    fn renew<'a>(&'a self, pool: &'a SqlitePool, holder: &'a str) -> BoxFuture<'a, Result<bool, sqlx::Error>> {
        Box::pin(renew(pool, self.id, holder))
    }

    fn give_back<'a>(&'a self, pool: &'a SqlitePool, holder: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(give_back(pool, self.id, holder))
    }
}

/// How long a run keeps asking a busy database whether it still holds its lease before the
/// database's error ends the run: a dozen busy timeouts (each try waits one), long enough for a
/// sync's longest write or another process's; a database busy for longer is failing.
pub(crate) const CHECK_PATIENCE: Duration = Duration::from_secs(12 * lease_core::BUSY_TIMEOUT.as_secs());

/// `desk batch run`'s exit code when its run lost its hold on the batch and no other run holds it
/// now: 8, the CLI's "not finished yet" (items not reached: run it again), as a script expects of
/// a run that ended before its batch did; not 7 (`Conflict`'s, "another process holds the
/// invoice", which names no batch state) nor 10 (nobody is running the batch).
pub(crate) const EXIT_RUN_STOPPED: u8 = 8;

/// A run's hold on its batch. Renewed in the background until [`RunLease::release`] (or drop)
/// gives it back.
pub(crate) struct RunLease {
    pool: SqlitePool,
    id: i64,
    /// Declared before the OS lock. [`RunLease::release`] gives the row back, then the lock; a
    /// run dropped mid-way gives its row back from a task spawned on drop, so its lock is free
    /// first: a waiter or taker meanwhile finds a live row whose lock is free and takes the run
    /// for gone, which it is.
    lease: Holding<BatchRow>,
    /// The OS's lock on the batch's lock file, held as long as the lease (dropped with it).
    _os_lock: Option<File>,
}

impl RunLease {
    /// Takes batch `id`'s run lease; refused at once while another run holds it
    /// ([`BatchError::RunningElsewhere`]).
    pub(crate) async fn take(pool: &SqlitePool, id: i64) -> Result<RunLease, DeskError> {
        let holder = new_holder(id);
        let os_lock = os_lock(pool, id).await?;
        if let Some(other) = try_take(pool, id, &holder, os_lock.is_some()).await? {
            tracing::info!(batch = id, holder = %other.holder, "the batch is running elsewhere");
            return Err(other.refusal(id).into());
        }
        let lease = Holding::start(pool, BatchRow { id }, holder);
        Ok(RunLease { pool: pool.clone(), id, lease, _os_lock: os_lock })
    }

    /// This run's holder id.
    #[cfg(test)]
    pub(crate) fn holder(&self) -> &str {
        self.lease.holder()
    }

    /// The renewal found the lease another run's (it expired and was taken over) or gone: this
    /// run holds it no more and starts no new item.
    pub(crate) fn is_lost(&self) -> bool {
        self.lease.is_lost()
    }

    /// Renews the lease now (before each item the run starts): `false`, this run holds it no
    /// more (its process stopped for longer than the TTL and another run took over, before the
    /// renewal task could tell). A database busy or locked (a long write of a sync, another
    /// process) past its busy timeout does not end the run: whether the lease is still held is
    /// not known yet, and it is asked again, backing off, for up to [`CHECK_PATIENCE`]; `true`
    /// only once the database said so, so no item starts while the lease is not known held.
    pub(crate) async fn confirm(&self) -> Result<bool, DeskError> {
        self.lease.confirm_patiently(CHECK_PATIENCE).await
    }

    /// Why this run stopped once it lost its lease: who runs the batch now, if anyone. Another run
    /// holding it is [`BatchError::RunningElsewhere`] (`desk` exit 10); with none (that run ended
    /// since), the batch's items not reached are unfinished, and `desk` exits [`EXIT_RUN_STOPPED`].
    pub(crate) async fn lost_to(&self) -> Result<DeskError, DeskError> {
        Ok(match holder(&self.pool, self.id).await? {
            Some(other) => other.refusal(self.id).into(),
            None => DeskError::new(
                crate::ErrorCode::Conflict,
                format!("Batch {}'s run stopped: it lost its hold on the batch. Run it again.", self.id),
            )
            .with_detail(format!("batch_run_lease_lost: batch {}, no run holds it now", self.id))
            .with_exit(EXIT_RUN_STOPPED),
        })
    }

    /// Gives the lease back (if this run still holds it), then the OS lock.
    pub(crate) async fn release(self) {
        let RunLease { lease, _os_lock: os_lock, .. } = self;
        lease.release().await;
        drop(os_lock);
    }
}

/// How often a waiter looks at the lease again.
const WAIT_STEP: Duration = Duration::from_secs(1);

/// Waits while another run holds batch `id` (a live `desk batch run`; a killed one's lease until
/// it expires, unless its holder held the OS lock, which the taker's rule reads as the OS does:
/// that lock free means that run is gone, and it is not waited for); then whether the batch is
/// still `running`, left for a run to continue (`false`: that run completed it, or it was paused
/// or cancelled: nothing to continue).
pub(crate) async fn wait_for_other_run(pool: &SqlitePool, id: i64) -> Result<bool, DeskError> {
    loop {
        let live: Option<(String, bool)> =
            sqlx::query_as("SELECT holder, os_lock FROM batch_run_lease WHERE batch_id = ? AND expires_at > ?")
                .bind(id)
                .bind(lease_core::now_ms())
                .fetch_optional(pool)
                .await?;
        match live {
            None => break,
            // free: its process ended (the lock taken to find out is given back at once, for
            // the run that takes the lease over)
            Some((gone, true)) if os_lock(pool, id).await?.is_some() => {
                tracing::info!(batch = id, holder = %gone, "the run holding the batch is gone (its OS lock is free)");
                break;
            }
            Some(_) => tokio::time::sleep(WAIT_STEP).await,
        }
    }
    Ok(super::run_store::state(pool, id).await? == BatchState::Running)
}

#[cfg(test)]
#[path = "run_lease_tests.rs"]
mod tests;
