//! The run's SQL (`batches`/`batch_items`, migrations 0006 and 0008): starting or resuming a
//! run, the items left to do, each item's start and outcome, pause and completion. Every state
//! change of the batch is audited in the same transaction.

use super::error::BatchError;
use super::words::{BatchState, ItemOutcome, Verdict};
use super::{pin, store};
use crate::{audit, time, DeskError, Environment};
use chrono::Utc;
use sqlx::SqlitePool;

/// An item the run still has to bring to an end.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Work {
    pub invoice_no: i64,
    pub verdict: Option<Verdict>,
    pub journal_id: Option<i64>,
    pub outcome: Option<ItemOutcome>,
    /// Who pays the invoice (items on one customer's wallet run one after another).
    pub customer_id: Option<String>,
}

/// Starts (from `approved`, whose approval must still hold) or resumes (from `running` or
/// `paused`) batch `id`'s run under `staff`. On the first start every item that will not run
/// becomes `excluded` with its reason, and the others `queued`.
pub(crate) async fn start(
    pool: &SqlitePool,
    id: i64,
    staff: &str,
    environment: Environment,
    rate: &str,
) -> Result<(), DeskError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = store::summary(&mut tx, id).await?.ok_or(BatchError::NotFound(id))?;
    let now = time::text(Utc::now());
    let action = match b.state {
        BatchState::Approved => {
            let items = store::items(&mut tx, id).await?;
            let stored = store::approval_pin(&mut tx, id).await?;
            if !pin::holds(&b, stored.as_deref(), &items) {
                return Err(BatchError::ApprovalVoid(id).into());
            }
            sqlx::query(
                "UPDATE batch_items SET outcome = 'excluded', open = 0, updated_at = ?, \
                 outcome_reason = CASE WHEN excluded = 1 THEN 'Excluded by the clerk before approval.' \
                 ELSE 'Not ready at preflight (' || COALESCE(verdict, 'no verdict') || '): ' || COALESCE(verdict_reason, '') END \
                 WHERE batch_id = ? AND outcome IS NULL AND (excluded = 1 OR verdict IS NULL OR verdict NOT IN ('ready', 'wallet_shared'))",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE batch_items SET outcome = 'queued', updated_at = ? WHERE batch_id = ? AND outcome IS NULL",
            )
            .bind(&now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            audit::AuditAction::BatchRunStarted
        }
        BatchState::Running | BatchState::Paused => audit::AuditAction::BatchRunResumed,
        BatchState::Draft | BatchState::Preflighted => return Err(BatchError::NotApproved(id).into()),
        BatchState::Completed | BatchState::Cancelled => {
            return Err(BatchError::WrongState { id, state: b.state, action: "run" }.into())
        }
    };
    sqlx::query(
        "UPDATE batches SET state = 'running', run_by = ?, run_started_at = COALESCE(run_started_at, ?), updated_at = ? \
         WHERE id = ?",
    )
    .bind(staff)
    .bind(&now)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "batch": id, "stateBefore": b.state, "rate": rate, "approvedBy": b.approved_by });
    audit::record_in(&mut tx, staff, environment, action, None, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The items not yet at an end, in the batch's order.
pub(crate) async fn work(pool: &SqlitePool, id: i64) -> Result<Vec<Work>, DeskError> {
    Ok(sqlx::query_as(
        "SELECT i.invoice_no, i.verdict, i.journal_id, i.outcome, v.customer_id \
         FROM batch_items i LEFT JOIN invoices v ON v.invoice_no = i.invoice_no \
         WHERE i.batch_id = ? AND i.outcome IN ('queued', 'running', 'pending') ORDER BY i.position",
    )
    .bind(id)
    .fetch_all(pool)
    .await?)
}

/// How many of batch `id`'s items have each outcome (`None`: not run yet), without reading
/// the items (a run's memory does not grow with its batch).
pub(crate) async fn outcomes(pool: &SqlitePool, id: i64) -> Result<Vec<(Option<ItemOutcome>, usize)>, DeskError> {
    let rows: Vec<(Option<ItemOutcome>, i64)> =
        sqlx::query_as("SELECT outcome, COUNT(*) FROM batch_items WHERE batch_id = ? GROUP BY outcome")
            .bind(id)
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(o, n)| (o, usize::try_from(n).unwrap_or(0))).collect())
}

pub(crate) async fn state(pool: &SqlitePool, id: i64) -> Result<BatchState, DeskError> {
    let row: Option<(BatchState,)> =
        sqlx::query_as("SELECT state FROM batches WHERE id = ?").bind(id).fetch_optional(pool).await?;
    Ok(row.ok_or(BatchError::NotFound(id))?.0)
}

/// Marks the item `running` (unless a cancel got to it first); when it was first started.
pub(crate) async fn mark_started(pool: &SqlitePool, id: i64, invoice_no: i64) -> Result<Option<String>, DeskError> {
    let now = time::text(Utc::now());
    let row: Option<(String,)> = sqlx::query_as(
        "UPDATE batch_items SET outcome = 'running', started_at = COALESCE(started_at, ?), updated_at = ? \
         WHERE batch_id = ? AND invoice_no = ? AND outcome IN ('queued', 'running', 'pending') RETURNING started_at",
    )
    .bind(&now)
    .bind(&now)
    .bind(id)
    .bind(invoice_no)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(s,)| s))
}

/// The item's outcome (and its journal entry); a terminal one leaves the open set and is audited.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_outcome(
    pool: &SqlitePool,
    id: i64,
    invoice_no: i64,
    outcome: ItemOutcome,
    reason: Option<&str>,
    journal_id: Option<i64>,
    staff: &str,
    environment: Environment,
) -> Result<(), DeskError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // an outcome at an end stays (another run of the same batch, or the journal followed,
    // may have ended the item first)
    let changed = sqlx::query(
        "UPDATE batch_items SET outcome = ?, outcome_reason = ?, journal_id = COALESCE(?, journal_id), \
         open = CASE WHEN ? THEN 0 ELSE open END, updated_at = ? WHERE batch_id = ? AND invoice_no = ? \
         AND outcome IN ('queued', 'running', 'pending')",
    )
    .bind(outcome)
    .bind(reason)
    .bind(journal_id)
    .bind(outcome.is_terminal())
    .bind(time::text(Utc::now()))
    .bind(id)
    .bind(invoice_no)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed > 0 && outcome.is_terminal() {
        let detail = serde_json::json!({ "batch": id, "outcome": outcome, "journalId": journal_id, "reason": reason });
        audit::record_in(&mut tx, staff, environment, audit::AuditAction::BatchItemEnded, Some(invoice_no), detail)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// PayPal's fee and the net of the item's capture (its `seller_receivable_breakdown`).
pub(crate) async fn record_fee(
    pool: &SqlitePool,
    id: i64,
    invoice_no: i64,
    fee: &str,
    net: &str,
    currency: &str,
) -> Result<(), DeskError> {
    sqlx::query(
        "UPDATE batch_items SET paypal_fee = ?, net_amount = ?, fee_currency = ?, updated_at = ? \
         WHERE batch_id = ? AND invoice_no = ?",
    )
    .bind(fee)
    .bind(net)
    .bind(currency)
    .bind(time::text(Utc::now()))
    .bind(id)
    .bind(invoice_no)
    .execute(pool)
    .await?;
    Ok(())
}

/// Pauses a running batch: the run lets its items in flight finish and starts no new ones.
pub(crate) async fn pause(pool: &SqlitePool, id: i64, staff: &str, environment: Environment) -> Result<(), DeskError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = store::summary(&mut tx, id).await?.ok_or(BatchError::NotFound(id))?;
    if b.state != BatchState::Running {
        return Err(BatchError::WrongState { id, state: b.state, action: "paused" }.into());
    }
    store::set_state(&mut tx, id, BatchState::Paused).await?;
    audit::record_in(
        &mut tx,
        staff,
        environment,
        audit::AuditAction::BatchPaused,
        None,
        serde_json::json!({ "batch": id }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Once every item is terminal a running (or paused) batch is `completed`; the state after.
pub(crate) async fn finish(
    pool: &SqlitePool,
    id: i64,
    staff: &str,
    environment: Environment,
) -> Result<BatchState, DeskError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = store::summary(&mut tx, id).await?.ok_or(BatchError::NotFound(id))?;
    let all_done = b.done_count == b.item_count;
    if !(all_done && matches!(b.state, BatchState::Running | BatchState::Paused)) {
        tx.commit().await?;
        return Ok(b.state);
    }
    let now = time::text(Utc::now());
    sqlx::query("UPDATE batches SET state = 'completed', completed_at = ?, updated_at = ? WHERE id = ?")
        .bind(&now)
        .bind(&now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, COUNT(*) FROM batch_items WHERE batch_id = ? GROUP BY outcome ORDER BY outcome",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let detail = serde_json::json!({ "batch": id, "outcomes": counts.into_iter().collect::<std::collections::BTreeMap<_, _>>() });
    audit::record_in(&mut tx, staff, environment, audit::AuditAction::BatchCompleted, None, detail).await?;
    tx.commit().await?;
    Ok(BatchState::Completed)
}

/// Items left `pending` (or `running` by a run that was killed) whose journal entry (linked, or
/// else the invoice's newest one made since the item first started) has since ended (`desk recover`, another run): their outcome follows the journal's, and a batch whose
/// items are then all terminal is `completed`. How many items moved.
pub(crate) async fn follow_journal(
    pool: &SqlitePool,
    staff: &str,
    environment: Environment,
) -> Result<usize, DeskError> {
    let ended: Vec<(i64, i64, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT i.batch_id, i.invoice_no, j.id, j.state, j.reason FROM batch_items i \
         JOIN capture_journal j ON j.id = COALESCE(i.journal_id, \
             (SELECT k.id FROM capture_journal k WHERE k.invoice_no = i.invoice_no AND k.created_at >= i.started_at \
              ORDER BY k.id DESC LIMIT 1)) \
         WHERE i.outcome IN ('pending', 'running') AND i.started_at IS NOT NULL \
         AND j.state IN ('finalized', 'rejected', 'needs_attention') ORDER BY i.batch_id, i.position",
    )
    .fetch_all(pool)
    .await?;
    let mut batches = std::collections::BTreeSet::new();
    for (batch, invoice_no, journal_id, state, reason) in &ended {
        let outcome = match state.as_str() {
            "finalized" => ItemOutcome::Finalized,
            "rejected" => ItemOutcome::Rejected,
            _ => ItemOutcome::NeedsAttention,
        };
        let reason = reason.as_deref().map(|r| format!("{r} (ended outside the run)"));
        record_outcome(pool, *batch, *invoice_no, outcome, reason.as_deref(), Some(*journal_id), staff, environment)
            .await?;
        batches.insert(*batch);
    }
    for batch in batches {
        finish(pool, batch, staff, environment).await?;
    }
    Ok(ended.len())
}

/// Batches a run was working on (`running`; not `paused`): what a start of the app continues.
pub(crate) async fn running(pool: &SqlitePool) -> Result<Vec<(i64, Option<String>)>, DeskError> {
    Ok(sqlx::query_as("SELECT id, run_by FROM batches WHERE state = 'running' ORDER BY id").fetch_all(pool).await?)
}

/// Finalized items whose capture's fee was not read yet: (batch, invoice, journal entry).
pub(crate) async fn missing_fees(pool: &SqlitePool, batch: Option<i64>) -> Result<Vec<(i64, i64, i64)>, DeskError> {
    Ok(sqlx::query_as(
        "SELECT i.batch_id, i.invoice_no, i.journal_id FROM batch_items i JOIN capture_journal j ON j.id = i.journal_id \
         WHERE i.outcome = 'finalized' AND i.paypal_fee IS NULL AND j.capture_id IS NOT NULL \
         AND (?1 IS NULL OR i.batch_id = ?1) ORDER BY i.batch_id, i.position",
    )
    .bind(batch)
    .fetch_all(pool)
    .await?)
}
