//! The one mechanism behind every lease in SQLite (the capture engine's wallet and entry leases,
//! `capture::lease`; the batch-run lease, `batch::run_lease`): at most one holder at a time for
//! a key, within one data directory. Each lease keeps only what is its own (its table and SQL,
//! how it is taken, the batch's OS lock); this module is what they share:
//!
//! * **Holder ids** ([`new_holder`]): this process (its id and a random number), a run number
//!   and what the run drives (`j{journal id}`, `b{batch id}`). Every renewal, confirmation and
//!   release matches **the holder**, so a run whose lease was taken over can neither renew,
//!   confirm nor release the new holder's lease: it finds it has none.
//! * **Renewal** ([`Holding`]): while held, a lease is renewed every [`RENEW_EVERY`] by a task of
//!   its own, independent of what the run is doing (a remote call of any length keeps it alive
//!   while the process runs); a failed renewal (the database busy) is retried after
//!   [`RETRY_RENEWAL`]. A renewal that finds the lease no longer this holder's marks it lost
//!   ([`Holding::is_lost`]), for good.
//! * **Expiry**: [`TTL`] after the last renewal, on the wall clock ([`now_ms`]; see [`TTL`] for
//!   why that is safe enough and what guards the rest), so a killed (or stopped) process holds
//!   it for at most that long.
//! * **Release**: given back by holder ([`Holding::release`]), or as soon as possible when the
//!   holding is dropped (a run cancelled mid-way).

use crate::DeskError;
use futures::future::BoxFuture;
use sqlx::SqlitePool;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// How often a holder renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long a statement waits for a database another connection is writing (`store.rs` sets
/// every connection's `busy_timeout` to this; a test reads it back): a renewal may wait this
/// long before it is written.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a lease lives after its last renewal: 2 × ([`RENEW_EVERY`] + [`BUSY_TIMEOUT`]) =
/// 30 s, so a live holder whose renewal was due and then waited the whole busy timeout may miss
/// one renewal that way and still renew before anyone may take its lease over. Expiry is judged
/// on the wall clock (`expires_at` is read by other processes, which share no monotonic clock):
/// a clock set back keeps a dead holder's lease longer (safe); one set forward by more than the
/// TTL expires live leases early, which is why every money-moving request and every journal
/// transition confirms the holder in the same transaction as its own write (`in_flight.rs`,
/// `journal::transition_as`), so a run whose lease was taken over writes and sends nothing.
pub const TTL: Duration = Duration::from_secs(2 * (RENEW_EVERY.as_secs() + BUSY_TIMEOUT.as_secs()));
/// How soon a renewal that failed (the database busy) is tried again.
pub const RETRY_RENEWAL: Duration = Duration::from_secs(1);

/// The wall clock, Unix milliseconds (what `expires_at` columns hold).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// [`TTL`] in milliseconds.
pub(crate) fn ttl_ms() -> i64 {
    i64::try_from(TTL.as_millis()).unwrap_or(30_000)
}

/// A fresh holder id: this process (its id and a random number), this run, and what it drives
/// (`run_of`: `j{journal id}`, `b{batch id}`).
pub(crate) fn new_holder(run_of: &str) -> String {
    static PROCESS: OnceLock<String> = OnceLock::new();
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        format!("{}-{random:016x}", std::process::id())
    });
    format!("{process}/{}/{run_of}", RUNS.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Whether `e` says only that the database was busy (another connection writing, past the busy
/// timeout) or locked: SQLite's `SQLITE_BUSY` or `SQLITE_LOCKED`, extended codes included. Such
/// an answer tells nothing about a lease: it is "not known yet", asked again.
pub(crate) fn is_busy(e: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    match e {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, SQLITE_BUSY | SQLITE_LOCKED)),
        _ => false,
    }
}

/// One lease's row in its own table: what renews it and gives it back, always by holder.
pub(crate) trait LeaseRow: Send + Sync + 'static {
    /// The lease's table, for the log.
    fn table(&self) -> &'static str;
    /// The lease's key in its table, for the log.
    fn key(&self) -> String;
    /// Renews `holder`'s lease. `false`: it holds none (it was taken over, or is gone): nothing
    /// of anyone else's was touched.
    fn renew<'a>(&'a self, pool: &'a SqlitePool, holder: &'a str) -> BoxFuture<'a, Result<bool, sqlx::Error>>;
    /// Gives `holder`'s lease back (one another holder took over is left alone).
    fn give_back<'a>(&'a self, pool: &'a SqlitePool, holder: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>>;
}

/// A held lease: renewed in the background until [`Holding::release`] (or drop) gives it back.
pub(crate) struct Holding<R: LeaseRow> {
    pool: SqlitePool,
    row: Arc<R>,
    holder: String,
    lost: Arc<AtomicBool>,
    renew: tokio::task::JoinHandle<()>,
    released: bool,
}

impl<R: LeaseRow> Holding<R> {
    /// `holder` has just taken `row`'s lease: renew it every [`RENEW_EVERY`] from now on.
    pub(crate) fn start(pool: &SqlitePool, row: R, holder: String) -> Holding<R> {
        let row = Arc::new(row);
        let lost = Arc::new(AtomicBool::new(false));
        let renew = {
            let (pool, row, holder, lost) = (pool.clone(), Arc::clone(&row), holder.clone(), Arc::clone(&lost));
            tokio::spawn(async move {
                let mut next = RENEW_EVERY;
                loop {
                    tokio::time::sleep(next).await;
                    match row.renew(&pool, &holder).await {
                        Ok(true) => next = RENEW_EVERY,
                        Ok(false) => {
                            lost.store(true, Ordering::SeqCst);
                            tracing::warn!(table = row.table(), key = %row.key(), %holder, "the lease was lost (expired, perhaps taken over)");
                            return;
                        }
                        Err(err) => {
                            tracing::warn!(table = row.table(), key = %row.key(), error = %err, "could not renew the lease; retrying");
                            next = RETRY_RENEWAL;
                        }
                    }
                }
            })
        };
        tracing::debug!(table = row.table(), key = %row.key(), %holder, "lease taken");
        Holding { pool: pool.clone(), row, holder, lost, renew, released: false }
    }

    /// This run's holder id.
    pub(crate) fn holder(&self) -> &str {
        &self.holder
    }

    /// The renewal found the lease no longer this holder's: this run holds it no more.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Renews the lease now. `false`: this run holds it no more (marked lost for good).
    pub(crate) async fn confirm(&self) -> Result<bool, DeskError> {
        Ok(self.renew_now().await?)
    }

    /// [`Holding::confirm`] through a busy database: an answer that says only that the database
    /// is busy or locked is "not known yet", and the renewal is tried again (backing off from
    /// 50 ms to [`RETRY_RENEWAL`]) for up to `patience`; then the database's error. `true` only
    /// once the database said the lease is this run's; `false` once it said it is not (or the
    /// renewal task found so meanwhile).
    pub(crate) async fn confirm_patiently(&self, patience: Duration) -> Result<bool, DeskError> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut pause = Duration::from_millis(50);
        loop {
            match self.renew_now().await {
                Err(e) if is_busy(&e) && tokio::time::Instant::now() < deadline => {
                    tracing::info!(table = self.row.table(), key = %self.row.key(), error = %e, "the database is busy: is the lease still held? asking again");
                    tokio::time::sleep(pause.min(deadline.saturating_duration_since(tokio::time::Instant::now())))
                        .await;
                    pause = (pause * 2).min(RETRY_RENEWAL);
                }
                answer => return Ok(answer?),
            }
        }
    }

    async fn renew_now(&self) -> Result<bool, sqlx::Error> {
        if self.is_lost() {
            return Ok(false);
        }
        let held = self.row.renew(&self.pool, &self.holder).await?;
        if !held {
            self.lost.store(true, Ordering::SeqCst);
        }
        Ok(held)
    }

    /// Gives the lease back (if this run still holds it).
    pub(crate) async fn release(mut self) {
        self.released = true;
        self.renew.abort();
        if let Err(err) = self.row.give_back(&self.pool, &self.holder).await {
            // it expires by itself
            tracing::warn!(table = self.row.table(), key = %self.row.key(), error = %err, "could not give the lease back");
        }
    }
}

impl<R: LeaseRow> Drop for Holding<R> {
    /// A run dropped mid-way (cancelled) gives its lease back too, as soon as it can.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.renew.abort();
        let (pool, row, holder) = (self.pool.clone(), Arc::clone(&self.row), std::mem::take(&mut self.holder));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = row.give_back(&pool, &holder).await;
            });
        }
    }
}
