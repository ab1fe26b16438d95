//! Batch capture reviews: thin commands over the Desk's batch calls. The staff name of every
//! step is the settings' staff name (what the app knows of who sits at it); an approval names
//! the approver the clerk typed.

use billing::batch::{Approval, BatchSource, BatchSummary, BatchView, PreflightProgress};
use billing::session::Session;
use billing::{Desk, DeskError};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::State;

/// The desk, and the staff name its settings give.
async fn desk_and_staff(session: &Session) -> Result<(Arc<Desk>, String), DeskError> {
    let desk = session.desk().await?;
    let staff = desk.settings().staff_name.clone();
    Ok((desk, staff))
}

/// Creates a draft batch from the invoice browser's selection or its filter. A file source is
/// refused: the webview names no paths for the desk to read.
#[tauri::command]
pub async fn batch_create(
    session: State<'_, Session>,
    source: BatchSource,
    name: Option<String>,
) -> Result<BatchView, DeskError> {
    if matches!(source, BatchSource::File { .. }) {
        return Err(DeskError::bad_input("The app creates batches from the selection or the filter, not from a file."));
    }
    let (desk, staff) = desk_and_staff(&session).await?;
    desk.batch_create(&staff, name.as_deref(), &source).await
}

#[tauri::command]
pub async fn batch_list(session: State<'_, Session>) -> Result<Vec<BatchSummary>, DeskError> {
    session.desk().await?.batches().await
}

#[tauri::command]
pub async fn batch_show(session: State<'_, Session>, id: i64) -> Result<BatchView, DeskError> {
    session.desk().await?.batch(id).await
}

#[tauri::command]
pub async fn batch_exclude(session: State<'_, Session>, id: i64, invoices: Vec<i64>) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    desk.batch_exclude(&staff, id, &invoices).await
}

#[tauri::command]
pub async fn batch_include(session: State<'_, Session>, id: i64, invoices: Vec<i64>) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    desk.batch_include(&staff, id, &invoices).await
}

/// Preflights batch `id`; its progress travels on `on_progress`, this call's own channel.
#[tauri::command]
pub async fn batch_preflight(
    session: State<'_, Session>,
    id: i64,
    on_progress: Channel<PreflightProgress>,
) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    // a webview that went away only stops hearing the progress
    let progress = move |p: PreflightProgress| drop(on_progress.send(p));
    desk.batch_preflight(&staff, id, billing::desk::BatchPace::default(), &progress).await
}

/// Approves batch `id` as the approver typed, with the totals per currency they typed (the
/// engine checks both).
#[tauri::command]
pub async fn batch_approve(session: State<'_, Session>, id: i64, approval: Approval) -> Result<BatchView, DeskError> {
    if approval.typed_totals.as_ref().is_none_or(|t| t.is_empty()) {
        return Err(DeskError::bad_input("Type the batch's total in each currency to approve it."));
    }
    session.desk().await?.batch_approve(id, &approval).await
}

#[tauri::command]
pub async fn batch_cancel(session: State<'_, Session>, id: i64) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    desk.batch_cancel(&staff, id).await
}
