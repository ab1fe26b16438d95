//! Leases in SQLite: at most one holder at a time for a key, within one data directory (the
//! app, `desk`, batches). Two kinds share these rules: the wallet lease (`wallet_lease`, one
//! capture per customer's wallet: `wallet_lease.rs`) and the entry lease (`entry_lease`, one
//! driver per open journal entry: `inflight.rs`).
//!
//! * The mechanics are `lease_core`'s, shared with the batch-run lease: a holder id per run,
//!   renewed every [`RENEW_EVERY`] by a task of its own, expiring [`TTL`] after the last
//!   renewal, every renewal, confirmation and release matching **the holder** (a run whose lease
//!   expired and was taken over finds it has none: [`Lease::is_lost`]). What is this module's:
//!   the two tables, taking a lease (free or expired; waiting for a held one), and renewal only
//!   of an unexpired lease.
//! * A run waits for a held lease for at most [`WAIT`]: longer than a read (PayPal's or the
//!   gateway's) with all its retries, but shorter than the PayPal capture's whole budget. A
//!   waiter that gives up (the holder in a slow capture, or still busy after a whole call) is
//!   told Conflict with nothing written and nothing sent (`inflight::busy`); the holder's run
//!   finishes the attempt, or the clerk tries again later.

use super::journal::Entry;
use crate::lease_core::{new_holder, Holding, LeaseRow};
pub(crate) use crate::lease_core::{now_ms, ttl_ms};
#[cfg(test)]
use crate::lease_core::{BUSY_TIMEOUT, RETRY_RENEWAL};
pub use crate::lease_core::{RENEW_EVERY, TTL};
use crate::DeskError;
use futures::future::BoxFuture;
use sqlx::SqlitePool;
use std::time::Duration;

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
    Ok(renew_row(pool, kind, key, holder).await?)
}

/// [`renew`], with the database's own error.
async fn renew_row(pool: &SqlitePool, kind: Kind, key: &str, holder: &str) -> Result<bool, sqlx::Error> {
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

/// One capture lease's row: its table and key.
pub(crate) struct Slot {
    kind: Kind,
    key: String,
}

impl LeaseRow for Slot {
    fn table(&self) -> &'static str {
        self.kind.table()
    }

    fn key(&self) -> String {
        self.key.clone()
    }

    fn renew<'a>(&'a self, pool: &'a SqlitePool, holder: &'a str) -> BoxFuture<'a, Result<bool, sqlx::Error>> {
        Box::pin(renew_row(pool, self.kind, &self.key, holder))
    }

    fn give_back<'a>(&'a self, pool: &'a SqlitePool, holder: &'a str) -> BoxFuture<'a, Result<(), sqlx::Error>> {
        Box::pin(give_back(pool, self.kind, &self.key, holder))
    }
}

/// A held capture lease. Renewed in the background until [`Holding::release`] (or drop) gives
/// it back.
pub(crate) type Lease = Holding<Slot>;

impl Holding<Slot> {
    /// Takes the lease on `key` for the run of `e`, waiting up to `wait` for another holder.
    /// `Err(held)`: still held by another run after `wait`.
    pub(crate) async fn acquire(
        pool: &SqlitePool,
        kind: Kind,
        key: &str,
        e: &Entry,
        wait: Duration,
    ) -> Result<Result<Lease, Held>, DeskError> {
        let holder = new_holder(&format!("j{}", e.id));
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
        Ok(Ok(Holding::start(pool, Slot { kind, key: key.to_owned() }, holder)))
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
pub(super) mod tests;
