//! Invoices a sync could not read, set aside with why.
//!
//! An invoice the gateway sends that does not validate (an amount beyond its currency's digits,
//! an unknown invoice currency, a missing field, ...) is not written to the cache and does not
//! stop the sync: it is recorded here, with the reason and its number when that much reads, and
//! the rest of its page is written. A cached copy from before stays as it was (never closed on
//! that account). The status line shows how many are set aside ([`count`], [`list`]).
//!
//! An entry goes away when the invoice is next read and validates (any write of that invoice
//! number to the cache, or the gateway answering 404 for it), or when a full sync completes
//! without meeting it at all (the gateway no longer lists it among outstanding or recently
//! changed invoices).

use crate::{time, DeskError};
use chrono::{DateTime, Utc};
use gateway::UnreadableInvoice;
use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use ts_rs::TS;

/// An invoice set aside by a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SetAside {
    /// The invoice number, when it reads.
    #[ts(type = "number | null")]
    pub invoice_no: Option<i64>,
    /// `invoiceNo` as the gateway sent it (JSON text), when there was one.
    pub invoice_no_text: Option<String>,
    /// Why the desk could not read it, e.g. `total: 1.005 has more decimals than USD allows (2)`.
    pub reason: String,
    pub first_seen_at: String,
    pub last_seen_at: String,
    /// Whether the cache holds an earlier copy of it (shown as last read, not updated).
    pub cached: bool,
}

/// Every invoice set aside now, by number (those without one last).
pub async fn list(pool: &SqlitePool) -> Result<Vec<SetAside>, DeskError> {
    type Row = (Option<i64>, Option<String>, String, String, String, bool);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.invoice_no, s.invoice_no_text, s.reason, s.first_seen_at, s.last_seen_at, \
         EXISTS (SELECT 1 FROM invoices i WHERE i.invoice_no = s.invoice_no) \
         FROM sync_set_aside s ORDER BY s.invoice_no IS NULL, s.invoice_no, s.first_seen_at, s.key",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(invoice_no, invoice_no_text, reason, first_seen_at, last_seen_at, cached)| SetAside {
            invoice_no,
            invoice_no_text,
            reason,
            first_seen_at,
            last_seen_at,
            cached,
        })
        .collect())
}

/// How many invoices are set aside now.
pub async fn count(pool: &SqlitePool) -> Result<u64, DeskError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_set_aside").fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The entry for `invoice_no`, if it is set aside.
pub async fn get(pool: &SqlitePool, invoice_no: i64) -> Result<Option<SetAside>, DeskError> {
    Ok(list(pool).await?.into_iter().find(|s| s.invoice_no == Some(invoice_no)))
}

fn key(u: &UnreadableInvoice) -> String {
    match u.invoice_no {
        Some(no) => format!("no:{no}"),
        None => format!("raw:{}", u.raw),
    }
}

/// Records what sync run `run` could not read (new entries, or the latest reason and sighting
/// of known ones), in one transaction.
pub(crate) async fn record(
    pool: &SqlitePool,
    run: i64,
    unreadable: &[UnreadableInvoice],
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    if unreadable.is_empty() {
        return Ok(());
    }
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    record_in(&mut tx, run, unreadable, now).await?;
    tx.commit().await?;
    Ok(())
}

/// [`record`] in the caller's transaction.
pub(crate) async fn record_in(
    conn: &mut SqliteConnection,
    run: i64,
    unreadable: &[UnreadableInvoice],
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let now = time::text(now);
    for u in unreadable {
        tracing::warn!(invoice_no = ?u.invoice_no, reason = %u.reason, "invoice set aside: the gateway sent it in a form the desk cannot read");
        sqlx::query(
            "INSERT INTO sync_set_aside (key, invoice_no, invoice_no_text, reason, raw_json, first_seen_at, last_seen_at, sync_run) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET invoice_no_text = excluded.invoice_no_text, \
             reason = excluded.reason, raw_json = excluded.raw_json, last_seen_at = excluded.last_seen_at, sync_run = excluded.sync_run",
        )
        .bind(key(u))
        .bind(u.invoice_no.and_then(|n| i64::try_from(n).ok()))
        .bind(&u.invoice_no_text)
        .bind(&u.reason)
        .bind(&u.raw)
        .bind(&now)
        .bind(&now)
        .bind(run)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// These invoices read fine (or the gateway no longer knows them): no longer set aside. Runs in
/// the caller's transaction, in statements under SQLite's variable limit.
pub(crate) async fn clear(conn: &mut SqliteConnection, invoice_nos: &[i64]) -> Result<(), DeskError> {
    for chunk in invoice_nos.chunks(crate::invoices::MAX_VARIABLES) {
        let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new("DELETE FROM sync_set_aside WHERE invoice_no IN (");
        let mut list = q.separated(", ");
        for no in chunk {
            list.push_bind(*no);
        }
        q.push(")");
        let removed = q.build().execute(&mut *conn).await?.rows_affected();
        if removed > 0 {
            tracing::info!(removed, "set-aside invoices read fine again");
        }
    }
    Ok(())
}

/// After a full sync that completed: entries it did not meet are gone from the gateway's lists
/// (neither outstanding nor recently changed), so they no longer concern the desk.
pub(crate) async fn forget_unmet(pool: &SqlitePool, run: i64) -> Result<u64, DeskError> {
    let r = sqlx::query("DELETE FROM sync_set_aside WHERE sync_run < ?").bind(run).execute(pool).await?;
    Ok(r.rows_affected())
}
