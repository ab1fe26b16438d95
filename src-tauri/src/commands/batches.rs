//! Batch capture reviews: thin commands over the Desk's batch calls. The staff name of every
//! step is the settings' staff name (what the app knows of who sits at it); an approval names
//! the approver the clerk typed.

use billing::audit::ExportedFile;
use billing::batch::{Approval, BatchReport, BatchSource, BatchSummary, BatchView, PreflightProgress, RunProgress};
use billing::desk::BatchPace;
use billing::session::Session;
use billing::{Desk, DeskError};
use std::sync::Arc;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

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

/// Preflights batch `id` at the machine's batch settings; its progress travels on `on_progress`, this call's own channel.
#[tauri::command]
pub async fn batch_preflight(
    session: State<'_, Session>,
    id: i64,
    on_progress: Channel<PreflightProgress>,
) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    // a webview that went away only stops hearing the progress
    let progress = move |p: PreflightProgress| drop(on_progress.send(p));
    desk.batch_preflight(&staff, id, BatchPace::default(), &progress).await
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

/// Runs (or resumes) approved batch `id` at the machine's batch settings (rate and
/// concurrency, [`billing::settings::BatchSettings`]); the run's
/// progress (at most ten a second, the engine throttles it) travels on `on_progress`. Answers
/// the batch as the run left it (completed, paused, cancelled, or with items still pending).
#[tauri::command]
pub async fn batch_run(
    session: State<'_, Session>,
    id: i64,
    on_progress: Channel<RunProgress>,
) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    let progress = move |p: RunProgress| drop(on_progress.send(p));
    desk.batch_run(&staff, id, BatchPace::default(), &progress).await?;
    desk.batch(id).await
}

/// Pauses running batch `id`: items in flight finish, no new ones start.
#[tauri::command]
pub async fn batch_pause(session: State<'_, Session>, id: i64) -> Result<BatchView, DeskError> {
    let (desk, staff) = desk_and_staff(&session).await?;
    desk.batch_pause(&staff, id).await
}

#[tauri::command]
pub async fn batch_report(session: State<'_, Session>, id: i64) -> Result<BatchReport, DeskError> {
    session.desk().await?.batch_report(id).await
}

/// Writes batch `id`'s report as CSV into the Downloads folder (else the data directory's
/// `exports`), never over an existing file.
#[tauri::command]
pub async fn batch_report_csv(app: AppHandle, session: State<'_, Session>, id: i64) -> Result<ExportedFile, DeskError> {
    let desk = session.desk().await?;
    let report = desk.batch_report(id).await?;
    let dir = app.path().download_dir().unwrap_or_else(|_| desk.data_dir().join("exports"));
    let storage =
        |what: String, e: std::io::Error| DeskError::new(billing::ErrorCode::Storage, what).with_detail(e.to_string());
    std::fs::create_dir_all(&dir)
        .map_err(|e| storage(format!("The folder {} cannot be created.", dir.display()), e))?;
    let text = billing::batch::report::to_csv(&report);
    let mut n = 1;
    loop {
        let suffix = if n == 1 { String::new() } else { format!("-{n}") };
        let path = dir.join(format!("capture-desk-batch-{id}-report{suffix}.csv"));
        // create_new: an existing file (an earlier export) is never overwritten
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut file) => {
                use std::io::Write;
                file.write_all(text.as_bytes())
                    .map_err(|e| storage(format!("The file {} cannot be written.", path.display()), e))?;
                return Ok(ExportedFile { path: path.display().to_string(), rows: report.items.len() as u64 });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(storage(format!("The file {} cannot be written.", path.display()), e)),
        }
    }
}
