//! A batch's life after it was made: exclude and include (before the run; they void an
//! approval), approve (from `preflighted` only, four eyes when on), cancel (from any state that
//! has not ended). Each step is one SQLite transaction with its audit entry.

use super::error::BatchError;
use super::model::{Approval, BatchSummary};
use super::words::BatchState;
use super::{four_eyes, pin, store, totals};
use crate::{audit, DeskError, Environment};
use sqlx::{SqliteConnection, SqlitePool};

async fn load(conn: &mut SqliteConnection, id: i64) -> Result<BatchSummary, DeskError> {
    Ok(store::summary(conn, id).await?.ok_or(BatchError::NotFound(id))?)
}

fn named(staff: &str) -> Result<&str, BatchError> {
    Some(staff.trim()).filter(|s| !s.is_empty()).ok_or(BatchError::NoStaff)
}

/// Excludes (`exclude`) or includes again the `invoices` of batch `id`; refused once the batch
/// runs. A change voids the batch's approval. The invoices actually changed.
pub(crate) async fn set_excluded(
    pool: &SqlitePool,
    id: i64,
    staff: &str,
    environment: Environment,
    invoices: &[i64],
    exclude: bool,
) -> Result<Vec<i64>, DeskError> {
    let staff = named(staff)?;
    let action = if exclude { "excluded" } else { "included" };
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = load(&mut tx, id).await?;
    if !b.state.is_before_run() {
        return Err(BatchError::WrongState { id, state: b.state, action }.into());
    }
    let items = store::items(&mut tx, id).await?;
    let missing: Vec<i64> = invoices.iter().copied().filter(|n| !items.iter().any(|i| i.invoice_no == *n)).collect();
    if !missing.is_empty() {
        return Err(BatchError::NotInBatch { id, invoices: missing }.into());
    }
    let mut changed = Vec::new();
    for n in invoices {
        if !changed.contains(n) && store::set_excluded(&mut tx, id, *n, exclude).await? {
            changed.push(*n);
        }
    }
    if changed.is_empty() {
        tx.commit().await?;
        return Ok(changed);
    }
    let voided = b.approved_by.clone();
    if voided.is_some() {
        store::void_approval(&mut tx, id).await?;
    }
    for n in &changed {
        let detail = serde_json::json!({ "batch": id, "approvalVoidedOf": voided });
        audit::record_in(
            &mut tx,
            staff,
            environment,
            if exclude { audit::AuditAction::BatchExcluded } else { audit::AuditAction::BatchIncluded },
            Some(*n),
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// Approves batch `id`: only from `preflighted`, with something ready; with four eyes on, only
/// by someone other than its creator; with typed totals, only when they match. Pins what it
/// approves (see [`pin`]). Audited as `batch.approved`, naming both people.
pub(crate) async fn approve(
    pool: &SqlitePool,
    id: i64,
    environment: Environment,
    four_eyes_on: bool,
    approval: &Approval,
) -> Result<(), DeskError> {
    let approver = named(&approval.approver)?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = load(&mut tx, id).await?;
    match b.state {
        BatchState::Preflighted => {}
        BatchState::Draft => return Err(BatchError::PreflightFirst(id).into()),
        state => return Err(BatchError::WrongState { id, state, action: "approved" }.into()),
    }
    let items = store::items(&mut tx, id).await?;
    let totals = totals::of(&items)?;
    if b.ready_count == 0 {
        return Err(BatchError::NothingReady { id }.into());
    }
    let refusal = if four_eyes_on && four_eyes::same_person(&b.created_by, approver) {
        Some(BatchError::SamePerson { id, creator: b.created_by.clone() })
    } else {
        let typed = approval.typed_totals.as_ref();
        typed
            .and_then(|t| four_eyes::totals_differ(t, &totals))
            .map(|difference| BatchError::TotalsDiffer { id, difference })
    };
    if let Some(refusal) = refusal {
        // the refusal changes nothing, but the audit keeps it
        tx.rollback().await?;
        let detail = serde_json::json!({ "batch": id, "createdBy": b.created_by, "reason": refusal.to_string() });
        audit::record(pool, approver, environment, audit::AuditAction::BatchApprovalRefused, None, detail).await?;
        return Err(refusal.into());
    }
    let pin = pin::of(&b, &items);
    store::approve(&mut tx, id, approver, &pin).await?;
    let detail = serde_json::json!({
        "batch": id, "createdBy": b.created_by, "approvedBy": approver, "fourEyes": four_eyes_on,
        "totalsTyped": approval.typed_totals.is_some(), "totals": totals, "preflightRun": b.preflight_run, "pin": pin,
    });
    audit::record_in(&mut tx, approver, environment, audit::AuditAction::BatchApproved, None, detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels batch `id` from any state that has not ended: the items not started become
/// `cancelled`. Audited as `batch.cancelled`.
pub(crate) async fn cancel(pool: &SqlitePool, id: i64, staff: &str, environment: Environment) -> Result<(), DeskError> {
    let staff = named(staff)?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let b = load(&mut tx, id).await?;
    if b.state.is_terminal() {
        return Err(BatchError::WrongState { id, state: b.state, action: "cancelled" }.into());
    }
    let cancelled = store::cancel(&mut tx, id, &format!("batch cancelled by {staff}")).await?;
    let detail = serde_json::json!({ "batch": id, "stateBefore": b.state, "itemsCancelled": cancelled });
    audit::record_in(&mut tx, staff, environment, audit::AuditAction::BatchCancelled, None, detail).await?;
    tx.commit().await?;
    Ok(())
}
