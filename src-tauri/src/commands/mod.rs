//! Thin commands: each one line into `billing`, errors as `{code, message, detail?}`.

use crate::names::{CAPTURE_PROGRESS, SYNC_PROGRESS};
mod batches;
pub use batches::*;

use billing::about::About;
use billing::audit::{AuditEntry, AuditFacets, AuditFilter, ExportedFile};
use billing::capture::{CapturePreview, CaptureResult, Reauthorized};
use billing::desk::ConnectionReport;
use billing::detail::{InvoiceDetail, InvoiceLive};
use billing::session::{CredentialKind, Session, SettingsView};
use billing::settings::BatchSettings;
use billing::{CurrencyTotal, DeskError, DeskStatus, InvoicePage, ListRequest, Settings, SyncProgress, SyncReport};
use tauri::{AppHandle, Emitter, Manager, State};

/// The data directory the app runs on (managed state: the desk may not be open).
pub struct DataDir(pub std::path::PathBuf);

/// The version, the environment in effect, and the data, database and logs paths (Settings'
/// About); answers even when the desk could not open.
#[tauri::command]
pub async fn about(
    app: AppHandle,
    session: State<'_, Session>,
    data_dir: State<'_, DataDir>,
) -> Result<About, DeskError> {
    let desk = session.desk().await.ok();
    Ok(billing::about::about(&app.package_info().version.to_string(), &data_dir.0, desk.as_deref()))
}

#[tauri::command]
pub async fn desk_status(session: State<'_, Session>) -> Result<DeskStatus, DeskError> {
    session.desk().await?.status().await
}

#[tauri::command]
pub async fn list_invoices(session: State<'_, Session>, request: ListRequest) -> Result<InvoicePage, DeskError> {
    session.desk().await?.list(&request).await
}

#[tauri::command]
pub async fn selection_totals(
    session: State<'_, Session>,
    invoice_nos: Vec<i64>,
) -> Result<Vec<CurrencyTotal>, DeskError> {
    billing::invoices::selection_totals(session.desk().await?.pool(), &invoice_nos).await
}

#[tauri::command]
pub async fn invoice_detail(session: State<'_, Session>, invoice_no: i64) -> Result<InvoiceDetail, DeskError> {
    session.desk().await?.invoice_detail(invoice_no).await
}

#[tauri::command]
pub async fn invoice_live(session: State<'_, Session>, invoice_no: i64) -> Result<InvoiceLive, DeskError> {
    session.desk().await?.invoice_live(invoice_no).await
}

#[tauri::command]
pub async fn sync_now(app: AppHandle, session: State<'_, Session>, full: bool) -> Result<SyncReport, DeskError> {
    session.desk().await?.sync(full, &|p: SyncProgress| drop(app.emit(SYNC_PROGRESS, p))).await
}

#[tauri::command]
pub async fn audit_query(session: State<'_, Session>, filter: AuditFilter) -> Result<Vec<AuditEntry>, DeskError> {
    billing::audit::query(session.desk().await?.pool(), &filter).await
}

#[tauri::command]
pub async fn audit_facets(session: State<'_, Session>) -> Result<AuditFacets, DeskError> {
    billing::audit::facets(session.desk().await?.pool()).await
}

/// Writes the filtered audit log as CSV into the Downloads folder (else the data directory).
#[tauri::command]
pub async fn audit_export_csv(
    app: AppHandle,
    session: State<'_, Session>,
    filter: AuditFilter,
) -> Result<ExportedFile, DeskError> {
    let desk = session.desk().await?;
    let dir = app.path().download_dir().unwrap_or_else(|_| desk.data_dir().join("exports"));
    billing::audit::export_csv(desk.pool(), &filter, &dir).await
}

#[tauri::command]
pub async fn capture_preview(session: State<'_, Session>, invoice_no: i64) -> Result<CapturePreview, DeskError> {
    session.desk().await?.capture_preview(invoice_no).await
}

/// PayPal's reauthorization of an invoice's authorization past its honour period.
#[tauri::command]
pub async fn reauthorize_invoice(session: State<'_, Session>, invoice_no: i64) -> Result<Reauthorized, DeskError> {
    session.desk().await?.reauthorize(invoice_no).await
}

#[tauri::command]
pub async fn capture_invoice(
    app: AppHandle,
    session: State<'_, Session>,
    invoice_no: i64,
) -> Result<CaptureResult, DeskError> {
    let desk = session.desk().await?;
    desk.capture_observed(invoice_no, &|r: &CaptureResult| drop(app.emit(CAPTURE_PROGRESS, r.clone()))).await
}

#[tauri::command]
pub async fn recover_captures(session: State<'_, Session>) -> Result<Vec<CaptureResult>, DeskError> {
    session.desk().await?.recover().await
}

#[tauri::command]
pub async fn get_settings(session: State<'_, Session>) -> Result<SettingsView, DeskError> {
    session.settings().await
}

#[tauri::command]
pub async fn save_settings(
    session: State<'_, Session>,
    settings: Settings,
    confirmation: Option<String>,
) -> Result<SettingsView, DeskError> {
    session.save_settings(settings, confirmation.as_deref()).await
}

/// The machine's batch settings (rate and concurrency of a batch's preflight and run).
#[tauri::command]
pub async fn get_batch_settings(session: State<'_, Session>) -> Result<BatchSettings, DeskError> {
    BatchSettings::load(session.desk().await?.machine_pool()).await
}

/// Checks and saves the batch settings (audited); the next preflight or run goes at them. The
/// desk stays open: a batch running now keeps its pace.
#[tauri::command]
pub async fn save_batch_settings(
    session: State<'_, Session>,
    settings: BatchSettings,
) -> Result<BatchSettings, DeskError> {
    settings.save_for(&*session.desk().await?).await
}

/// Stores a credential in the keyring; the answer never contains it.
#[tauri::command]
pub async fn set_credential(
    session: State<'_, Session>,
    kind: CredentialKind,
    value: String,
) -> Result<SettingsView, DeskError> {
    session.set_credential(kind, &value).await
}

#[tauri::command]
pub async fn clear_credential(session: State<'_, Session>, kind: CredentialKind) -> Result<SettingsView, DeskError> {
    session.clear_credential(kind).await
}

#[tauri::command]
pub async fn test_connection(session: State<'_, Session>) -> Result<ConnectionReport, DeskError> {
    Ok(session.desk().await?.test_connection().await)
}

/// The UI's report that the invoice list is on screen: logged with the time since the process
/// started (`cargo xtask bench-app` reads both lines). The first report is "painted" (the
/// first screen's, or the UI's own when there was none); the first with `interactive` (the UI
/// has taken the list over) is "interactive" too. Later reports are not logged.
#[tauri::command]
pub fn list_painted(rows: u32, interactive: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static PAINTED: AtomicBool = AtomicBool::new(false);
    static INTERACTIVE: AtomicBool = AtomicBool::new(false);
    let ms = crate::STARTED.get().map_or(0, |t| t.elapsed().as_millis());
    if !PAINTED.swap(true, Ordering::AcqRel) {
        tracing::info!(ms, rows, "invoice list painted");
    }
    if interactive && !INTERACTIVE.swap(true, Ordering::AcqRel) {
        tracing::info!(ms, rows, "invoice list interactive");
    }
}

#[tauri::command]
pub async fn get_preference(session: State<'_, Session>, key: String) -> Result<Option<String>, DeskError> {
    billing::settings::preference(session.desk().await?.machine_pool(), &key).await
}

#[tauri::command]
pub async fn set_preference(session: State<'_, Session>, key: String, value: String) -> Result<(), DeskError> {
    billing::settings::set_preference(session.desk().await?.machine_pool(), &key, &value).await
}
