//! The desktop shell. Only this crate knows Tauri: it opens the [`billing::Desk`], hands it to
//! Tauri as state, and exposes thin commands (see `commands`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod commands;

use billing::{Desk, DeskError, DeskOptions};
use tauri::Manager;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let desk: Result<Desk, DeskError> = tauri::async_runtime::block_on(Desk::open(DeskOptions::default()));
    if let Err(e) = &desk {
        tracing::error!(code = ?e.code, message = %e.message, detail = ?e.detail, "the desk could not open");
    }
    let result = tauri::Builder::default()
        .manage(commands::DeskState(desk))
        .setup(|app| {
            // Every unfinished capture resumes from its journaled state at start.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<commands::DeskState>();
                if let Ok(desk) = state.0.as_ref() {
                    match desk.recover().await {
                        Ok(r) if !r.is_empty() => tracing::info!(resumed = r.len(), "resumed unfinished captures"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(code = ?e.code, message = %e.message, detail = ?e.detail, "recovery at start failed"),
                    }
                }
            });
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::desk_status,
            commands::list_invoices,
            commands::get_invoice,
            commands::sync_now,
            commands::recent_audit,
            commands::capture_preview,
            commands::capture_invoice,
            commands::recover_captures,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"));
    if let Err(e) = result {
        eprintln!("Capture Desk could not start: {e}");
        std::process::exit(1);
    }
}
