//! Leases in SQLite: at most one holder at a time for a key, within one data directory (the
//! app, `desk`, batches). Two kinds share these rules: the wallet lease (`wallet_lease`, one
//! capture per customer's wallet: `wallet_lease.rs`) and the entry lease (`entry_lease`, one
//! driver per open journal entry: `inflight.rs`).
//!
//! * A holder is one run: [`new_holder`] names the process (its id and a random number), the
//!   run and the journal entry. Every renewal, confirmation and release matches **the holder**,
//!   so a run whose lease expired and was taken over can neither renew, confirm nor release the
//!   new holder's lease: it finds it has none.
//! * While held, a lease is renewed every [`RENEW_EVERY`] by a task of its own, independent of
//!   what the run is doing (a remote call of any length keeps it alive while the process runs);
//!   a failed renewal is retried after [`RETRY_RENEWAL`]. It expires [`TTL`] after the last
//!   renewal, so a killed (or stopped) process holds it for at most that long; the next run then
//!   takes it over. A holder that finds it lost its lease says so ([`Lease::is_lost`]).
//! * Expiry is wall-clock time (see [`TTL`] for why that is safe enough and what guards the rest).
//! * A run waits for a held lease for at most [`WAIT`]: longer than a read (PayPal's or the
//!   gateway's) with all its retries, but shorter than the PayPal capture's whole budget. A
//!   waiter that gives up (the holder in a slow capture, or still busy after a whole call) is
//!   told Conflict with nothing written and nothing sent (`inflight::busy`); the holder's run
//!   finishes the attempt, or the clerk tries again later.

use super::journal::Entry;
use crate::DeskError;
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
/// How long a run waits for an invoice, an entry or a wallet another run holds before it gives
/// up (leaving its entry as it is: a Conflict, nothing written, nothing sent) or is deferred.
/// Longer than one read with its own retries may take with the default clients (PayPal's: 4
/// attempts of up to 30 s + 5 s to connect, 10 s back-off between them = 170 s; the gateway's:
/// 5 × 25 s + 4 × 10 s = 165 s), so a waiter is not turned away by a holder in a slow read. Not
/// as long as the PayPal capture's whole budget (`paypal::post_budget`, ~9 min: a token before
/// each try and `Retry-After` waits of up to 60 s): a clerk is not kept waiting that long; the
/// waiter gets its Conflict and the holder finishes the capture. (Checked by a test.)
pub const WAIT: Duration = Duration::from_secs(180);

/// Which lease table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `wallet_lease`, keyed on the customer.
    Wallet,
    /// `entry_lease`, keyed on the journal entry.
    Entry,
}

impl Kind {
    fn table(self) -> &'static str {
        match self {
            Kind::Wallet => "wallet_lease",
            Kind::Entry => "entry_lease",
        }
    }

    fn key_column(self) -> &'static str {
        match self {
            Kind::Wallet => "wallet_key",
            Kind::Entry => "lease_key",
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

pub(crate) fn ttl_ms() -> i64 {
    i64::try_from(TTL.as_millis()).unwrap_or(30_000)
}

/// A fresh holder id: this process (its id and a random number) and this run.
pub(crate) fn new_holder(journal_id: i64) -> String {
    static PROCESS: OnceLock<String> = OnceLock::new();
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        format!("{}-{random:016x}", std::process::id())
    });
    format!("{process}/{}/j{journal_id}", RUNS.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub holder: String,
    pub journal_id: i64,
    pub invoice_no: i64,
}

/// The unexpired lease on `key`, if any.
pub(crate) async fn holder(pool: &SqlitePool, kind: Kind, key: &str) -> Result<Option<Held>, DeskError> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(&format!(
        "SELECT holder, journal_id, invoice_no FROM {} WHERE {} = ? AND expires_at > ?",
        kind.table(),
        kind.key_column()
    ))
    .bind(key)
    .bind(now_ms())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(holder, journal_id, invoice_no)| Held { holder, journal_id, invoice_no }))
}

/// Takes the lease on `key` for `holder` if it is free or expired; else says who holds it.
async fn try_take(
    pool: &SqlitePool,
    kind: Kind,
    key: &str,
    holder: &str,
    e: &Entry,
) -> Result<Option<Held>, DeskError> {
    let (table, column) = (kind.table(), kind.key_column());
    let now = now_ms();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let current: Option<(String, i64, i64, i64)> =
        sqlx::query_as(&format!("SELECT holder, journal_id, invoice_no, expires_at FROM {table} WHERE {column} = ?"))
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((h, journal_id, invoice_no, expires_at)) = current {
        if expires_at > now {
            tx.rollback().await?;
            return Ok(Some(Held { holder: h, journal_id, invoice_no }));
        }
        tracing::warn!(table, key, previous = %h, journal_id, invoice_no, "taking over an expired lease");
    }
    sqlx::query(&format!(
        "INSERT INTO {table} ({column}, holder, journal_id, invoice_no, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT ({column}) DO UPDATE SET holder = excluded.holder, journal_id = excluded.journal_id, \
         invoice_no = excluded.invoice_no, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at"
    ))
    .bind(key)
    .bind(holder)
    .bind(e.id)
    .bind(e.invoice_no)
    .bind(crate::time::text(chrono::Utc::now()))
    .bind(now + ttl_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(None)
}

/// Renews `holder`'s unexpired lease on `key`. `false`: it holds none (it expired, and may have
/// been taken over): nothing of anyone else's was touched.
pub(crate) async fn renew(pool: &SqlitePool, kind: Kind, key: &str, holder: &str) -> Result<bool, DeskError> {
    let now = now_ms();
    let r = sqlx::query(&format!(
        "UPDATE {} SET expires_at = ? WHERE {} = ? AND holder = ? AND expires_at > ?",
        kind.table(),
        kind.key_column()
    ))
    .bind(now + ttl_ms())
    .bind(key)
    .bind(holder)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Gives `holder`'s lease on `key` back (a lease another holder took over is left alone).
async fn give_back(pool: &SqlitePool, kind: Kind, key: &str, holder: &str) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("DELETE FROM {} WHERE {} = ? AND holder = ?", kind.table(), kind.key_column()))
        .bind(key)
        .bind(holder)
        .execute(pool)
        .await
        .map(drop)
}

/// A held lease. Renewed in the background until [`Lease::release`] (or drop) gives it back.
pub(crate) struct Lease {
    pool: SqlitePool,
    kind: Kind,
    key: String,
    holder: String,
    lost: Arc<AtomicBool>,
    renew: tokio::task::JoinHandle<()>,
    released: bool,
}

impl Lease {
    /// Takes the lease on `key` for the run of `e`, waiting up to `wait` for another holder.
    /// `Err(held)`: still held by another run after `wait`.
    pub(crate) async fn acquire(
        pool: &SqlitePool,
        kind: Kind,
        key: &str,
        e: &Entry,
        wait: Duration,
    ) -> Result<Result<Lease, Held>, DeskError> {
        let holder = new_holder(e.id);
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = Duration::from_millis(25);
        loop {
            match try_take(pool, kind, key, &holder, e).await? {
                None => break,
                Some(held) if tokio::time::Instant::now() >= deadline => return Ok(Err(held)),
                Some(held) => {
                    tracing::debug!(table = kind.table(), key, holder = %held.holder, "waiting for the lease");
                    tokio::time::sleep(pause.min(deadline.saturating_duration_since(tokio::time::Instant::now())))
                        .await;
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
            }
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renew = {
            let (pool, key, holder, lost) = (pool.clone(), key.to_owned(), holder.clone(), Arc::clone(&lost));
            tokio::spawn(async move {
                let mut next = RENEW_EVERY;
                loop {
                    tokio::time::sleep(next).await;
                    match renew(&pool, kind, &key, &holder).await {
                        Ok(true) => next = RENEW_EVERY,
                        Ok(false) => {
                            lost.store(true, Ordering::SeqCst);
                            tracing::warn!(table = kind.table(), %key, %holder, "the lease was lost (expired, perhaps taken over)");
                            return;
                        }
                        Err(err) => {
                            tracing::warn!(table = kind.table(), %key, error = %err, "could not renew the lease; retrying");
                            next = RETRY_RENEWAL;
                        }
                    }
                }
            })
        };
        tracing::debug!(table = kind.table(), key, %holder, "lease taken");
        Ok(Ok(Lease { pool: pool.clone(), kind, key: key.to_owned(), holder, lost, renew, released: false }))
    }

    /// This run's holder id.
    pub(crate) fn holder(&self) -> &str {
        &self.holder
    }

    /// The renewal found the lease expired (perhaps taken over): this run holds it no more.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Renews the lease now. `false`: this run holds it no more.
    pub(crate) async fn confirm(&self) -> Result<bool, DeskError> {
        if self.is_lost() {
            return Ok(false);
        }
        let held = renew(&self.pool, self.kind, &self.key, &self.holder).await?;
        if !held {
            self.lost.store(true, Ordering::SeqCst);
        }
        Ok(held)
    }

    /// Gives the lease back (if this run still holds it).
    pub(crate) async fn release(mut self) {
        self.released = true;
        self.renew.abort();
        if let Err(err) = give_back(&self.pool, self.kind, &self.key, &self.holder).await {
            // it expires by itself
            tracing::warn!(table = self.kind.table(), key = %self.key, error = %err, "could not give the lease back");
        }
    }
}

impl Drop for Lease {
    /// A run dropped mid-way (cancelled) gives its lease back too, as soon as it can.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.renew.abort();
        let (pool, kind) = (self.pool.clone(), self.kind);
        let (key, holder) = (std::mem::take(&mut self.key), std::mem::take(&mut self.holder));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = give_back(&pool, kind, &key, &holder).await;
            });
        }
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
pub(super) mod tests;
