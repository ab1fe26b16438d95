//! Thin commands: each one line into `billing`, errors as `{code, message, detail?}`.

use billing::audit::AuditEntry;
use billing::capture::{CapturePreview, CaptureResult};
use billing::{Desk, DeskError, DeskStatus, InvoicePage, InvoiceRow, ListRequest, SyncProgress, SyncReport};
use tauri::{AppHandle, Emitter, State};

/// The desk, or why it could not open (every command then answers that error).
pub struct DeskState(pub Result<Desk, DeskError>);

impl DeskState {
    fn desk(&self) -> Result<&Desk, DeskError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

/// Event carrying [`SyncProgress`] while a sync runs.
pub const SYNC_PROGRESS: &str = "sync-progress";

#[tauri::command]
pub async fn desk_status(state: State<'_, DeskState>) -> Result<DeskStatus, DeskError> {
    state.desk()?.status().await
}

#[tauri::command]
pub async fn list_invoices(state: State<'_, DeskState>, request: ListRequest) -> Result<InvoicePage, DeskError> {
    state.desk()?.list(&request).await
}

#[tauri::command]
pub async fn get_invoice(state: State<'_, DeskState>, invoice_no: i64) -> Result<InvoiceRow, DeskError> {
    state.desk()?.invoice(invoice_no).await
}

#[tauri::command]
pub async fn sync_now(app: AppHandle, state: State<'_, DeskState>, full: bool) -> Result<SyncReport, DeskError> {
    state.desk()?.sync(full, &|p: SyncProgress| drop(app.emit(SYNC_PROGRESS, p))).await
}

#[tauri::command]
pub async fn recent_audit(state: State<'_, DeskState>, limit: u32) -> Result<Vec<AuditEntry>, DeskError> {
    billing::audit::recent(state.desk()?.pool(), limit).await
}

/// Event carrying a [`CaptureResult`] at every new state of a capture.
pub const CAPTURE_PROGRESS: &str = "capture-progress";

#[tauri::command]
pub async fn capture_preview(state: State<'_, DeskState>, invoice_no: i64) -> Result<CapturePreview, DeskError> {
    state.desk()?.capture_preview(invoice_no).await
}

#[tauri::command]
pub async fn capture_invoice(
    app: AppHandle,
    state: State<'_, DeskState>,
    invoice_no: i64,
) -> Result<CaptureResult, DeskError> {
    state.desk()?.capture_observed(invoice_no, &|r: &CaptureResult| drop(app.emit(CAPTURE_PROGRESS, r.clone()))).await
}

#[tauri::command]
pub async fn recover_captures(state: State<'_, DeskState>) -> Result<Vec<CaptureResult>, DeskError> {
    state.desk()?.recover().await
}
