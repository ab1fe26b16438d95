//! The batch tables' SQL (`batches`, `batch_items`, migration 0006). Every function that writes
//! runs on the caller's transaction, so a step and its audit entry commit together.

use super::model::{BatchItem, BatchSummary, ItemVerdict};
use super::words::{BatchState, ItemOutcome, SourceKind};
use crate::{audit, time, DeskError, Environment};
use chrono::Utc;
use sqlx::{SqliteConnection, SqlitePool};

const SUMMARY: &str = "SELECT b.id, b.name, b.created_by, b.created_at, b.environment, b.source_kind, b.source, \
     b.state, b.preflight_run, b.preflighted_at, b.approved_by, b.approved_at, b.updated_at, \
     COUNT(i.invoice_no) AS item_count, \
     COALESCE(SUM(i.excluded = 1 OR i.outcome = 'excluded'), 0) AS excluded_count, \
     COALESCE(SUM(i.excluded = 0 AND i.verdict IN ('ready', 'wallet_shared')), 0) AS ready_count, \
     COALESCE(SUM(i.outcome IN ('finalized', 'rejected', 'needs_attention', 'excluded', 'cancelled')), 0) AS done_count \
     FROM batches b LEFT JOIN batch_items i ON i.batch_id = b.id";

const ITEMS: &str = "SELECT i.invoice_no, i.position, i.currency, i.total, i.outstanding, i.excluded, i.verdict, \
     i.verdict_reason, i.verdict_at, i.wallet_part, i.paypal_part, i.journal_id, j.capture_id, i.outcome, i.outcome_reason \
     FROM batch_items i LEFT JOIN capture_journal j ON j.id = i.journal_id WHERE i.batch_id = ? ORDER BY i.position";

/// An invoice as a new batch keeps it.
#[derive(Debug, Clone)]
pub(crate) struct NewItem {
    pub invoice_no: i64,
    pub currency: String,
    pub total: String,
    pub outstanding: String,
}

/// What a new batch is.
pub(crate) struct NewBatch<'a> {
    pub name: &'a str,
    pub staff: &'a str,
    pub environment: Environment,
    pub source_kind: SourceKind,
    pub source: Option<&'a str>,
}

pub(crate) async fn summary(conn: &mut SqliteConnection, id: i64) -> Result<Option<BatchSummary>, DeskError> {
    Ok(sqlx::query_as(&format!("{SUMMARY} WHERE b.id = ? GROUP BY b.id")).bind(id).fetch_optional(conn).await?)
}

/// Every batch, newest first.
pub(crate) async fn list(pool: &SqlitePool) -> Result<Vec<BatchSummary>, DeskError> {
    Ok(sqlx::query_as(&format!("{SUMMARY} GROUP BY b.id ORDER BY b.id DESC")).fetch_all(pool).await?)
}

pub(crate) async fn items(conn: &mut SqliteConnection, id: i64) -> Result<Vec<BatchItem>, DeskError> {
    Ok(sqlx::query_as(ITEMS).bind(id).fetch_all(conn).await?)
}

pub(crate) async fn approval_pin(conn: &mut SqliteConnection, id: i64) -> Result<Option<String>, DeskError> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT approval_pin FROM batches WHERE id = ?").bind(id).fetch_optional(conn).await?;
    Ok(row.and_then(|(p,)| p))
}

/// The cached invoices among `numbers` (number, currency, total, outstanding).
pub(crate) async fn cached_invoices(conn: &mut SqliteConnection, numbers: &[i64]) -> Result<Vec<NewItem>, DeskError> {
    let json = serde_json::to_string(numbers).map_err(DeskError::internal)?;
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT invoice_no, currency, total, outstanding FROM invoices WHERE invoice_no IN (SELECT value FROM json_each(?))",
    )
    .bind(json)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(invoice_no, currency, total, outstanding)| NewItem { invoice_no, currency, total, outstanding })
        .collect())
}

/// Which of `numbers` are in an open batch: (invoice, batch).
pub(crate) async fn open_holders(conn: &mut SqliteConnection, numbers: &[i64]) -> Result<Vec<(i64, i64)>, DeskError> {
    let json = serde_json::to_string(numbers).map_err(DeskError::internal)?;
    Ok(sqlx::query_as(
        "SELECT invoice_no, batch_id FROM batch_items WHERE open = 1 AND invoice_no IN (SELECT value FROM json_each(?)) \
         ORDER BY invoice_no",
    )
    .bind(json)
    .fetch_all(conn)
    .await?)
}

/// Inserts a draft batch with `items` in their order; its id.
pub(crate) async fn insert(conn: &mut SqliteConnection, b: &NewBatch<'_>, items: &[NewItem]) -> Result<i64, DeskError> {
    let now = time::text(Utc::now());
    let id: (i64,) = sqlx::query_as(
        "INSERT INTO batches (name, created_by, created_at, environment, source_kind, source, state, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, 'draft', ?) RETURNING id",
    )
    .bind(b.name)
    .bind(b.staff)
    .bind(&now)
    .bind(b.environment.as_str())
    .bind(b.source_kind)
    .bind(b.source)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    for (position, item) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO batch_items (batch_id, invoice_no, position, currency, total, outstanding, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.0)
        .bind(item.invoice_no)
        .bind(i64::try_from(position).map_err(DeskError::internal)?)
        .bind(&item.currency)
        .bind(&item.total)
        .bind(&item.outstanding)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id.0)
}

pub(crate) async fn set_state(conn: &mut SqliteConnection, id: i64, state: BatchState) -> Result<(), DeskError> {
    sqlx::query("UPDATE batches SET state = ?, updated_at = ? WHERE id = ?")
        .bind(state)
        .bind(time::text(Utc::now()))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Clears the approval; an approved batch goes back to `preflighted`.
pub(crate) async fn void_approval(conn: &mut SqliteConnection, id: i64) -> Result<(), DeskError> {
    sqlx::query(
        "UPDATE batches SET approved_by = NULL, approved_at = NULL, approval_pin = NULL, updated_at = ?, \
         state = CASE state WHEN 'approved' THEN 'preflighted' ELSE state END WHERE id = ?",
    )
    .bind(time::text(Utc::now()))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn approve(conn: &mut SqliteConnection, id: i64, approver: &str, pin: &str) -> Result<(), DeskError> {
    let now = time::text(Utc::now());
    sqlx::query(
        "UPDATE batches SET state = 'approved', approved_by = ?, approved_at = ?, approval_pin = ?, updated_at = ? WHERE id = ?",
    )
    .bind(approver)
    .bind(&now)
    .bind(pin)
    .bind(&now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets the clerk's exclusion of `invoice_no`; whether it changed.
pub(crate) async fn set_excluded(
    conn: &mut SqliteConnection,
    id: i64,
    invoice_no: i64,
    excluded: bool,
) -> Result<bool, DeskError> {
    let r = sqlx::query(
        "UPDATE batch_items SET excluded = ?, updated_at = ? WHERE batch_id = ? AND invoice_no = ? AND excluded <> ?",
    )
    .bind(excluded)
    .bind(time::text(Utc::now()))
    .bind(id)
    .bind(invoice_no)
    .bind(excluded)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

/// Cancels the batch: items not started become `cancelled`; every item whose outcome is then
/// terminal leaves the open set (an item in flight stays until its run ends it). How many were
/// cancelled.
pub(crate) async fn cancel(conn: &mut SqliteConnection, id: i64, reason: &str) -> Result<u64, DeskError> {
    let now = time::text(Utc::now());
    let r = sqlx::query(
        "UPDATE batch_items SET outcome = ?, outcome_reason = ?, updated_at = ? \
         WHERE batch_id = ? AND (outcome IS NULL OR outcome = ?)",
    )
    .bind(ItemOutcome::Cancelled)
    .bind(reason)
    .bind(&now)
    .bind(id)
    .bind(ItemOutcome::Queued)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE batch_items SET open = 0 WHERE batch_id = ? AND open = 1 \
         AND outcome IN ('finalized', 'rejected', 'needs_attention', 'excluded', 'cancelled')",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    set_state(conn, id, BatchState::Cancelled).await?;
    Ok(r.rows_affected())
}

/// Preflight's results: stores each item's verdict (with its reason and the parts it found),
/// moves the batch to `preflighted` (from `draft`, `preflighted` or `approved`) and voids any
/// approval (a new preflight run is a new identity). Refused once the batch runs or ended, and
/// for an invoice not in the batch. Audited as `batch.preflighted` under `staff`.
pub(crate) async fn record_preflight(
    pool: &SqlitePool,
    id: i64,
    staff: &str,
    environment: Environment,
    verdicts: &[ItemVerdict],
) -> Result<BatchSummary, DeskError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = summary(&mut tx, id).await?.ok_or(super::BatchError::NotFound(id))?;
    if !b.state.is_before_run() {
        return Err(super::BatchError::WrongState { id, state: b.state, action: "preflighted" }.into());
    }
    let now = time::text(Utc::now());
    let mut missing = Vec::new();
    for v in verdicts {
        let r = sqlx::query(
            "UPDATE batch_items SET verdict = ?, verdict_reason = ?, verdict_at = ?, wallet_part = ?, paypal_part = ?, \
             updated_at = ? WHERE batch_id = ? AND invoice_no = ?",
        )
        .bind(v.verdict)
        .bind(&v.reason)
        .bind(&now)
        .bind(&v.wallet_part)
        .bind(&v.paypal_part)
        .bind(&now)
        .bind(id)
        .bind(v.invoice_no)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            missing.push(v.invoice_no);
        }
    }
    if !missing.is_empty() {
        return Err(super::BatchError::NotInBatch { id, invoices: missing }.into());
    }
    void_approval(&mut tx, id).await?;
    sqlx::query(
        "UPDATE batches SET state = 'preflighted', preflight_run = preflight_run + 1, preflighted_at = ?, updated_at = ? \
         WHERE id = ?",
    )
    .bind(&now)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for v in verdicts {
        *counts.entry(v.verdict.as_str()).or_default() += 1;
    }
    let detail = serde_json::json!({
        "batch": id, "run": b.preflight_run + 1, "verdicts": counts, "approvalVoidedOf": b.approved_by,
    });
    audit::record_in(&mut tx, staff, environment, audit::AuditAction::BatchPreflighted, None, detail).await?;
    let after = summary(&mut tx, id).await?.ok_or(super::BatchError::NotFound(id))?;
    tx.commit().await?;
    Ok(after)
}
