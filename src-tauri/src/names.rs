//! The one list of the desk's Tauri command names and event names.
//!
//! Everything else derives from it: `generate_handler!` (main.rs, through
//! [`for_each_command!`]), the app manifest and the stale-permission sweep (build.rs includes
//! this file), and the UI's `ui/src/lib/commands.ts` (written by the `names_drift` test). The
//! capability (`capabilities/default.json`) and the `#[tauri::command]` functions are checked
//! against it by that test, which fails on any drift.

/// Calls `$then! { name, name, ... }` with every command (each a function in `commands`).
macro_rules! for_each_command {
    ($then:ident) => {
        $then! {
            desk_status,
            list_invoices,
            selection_totals,
            invoice_detail,
            invoice_live,
            sync_now,
            audit_query,
            audit_facets,
            audit_export_csv,
            capture_preview,
            capture_invoice,
            reauthorize_invoice,
            recover_captures,
            get_settings,
            save_settings,
            get_batch_settings,
            save_batch_settings,
            set_credential,
            clear_credential,
            test_connection,
            list_painted,
            get_preference,
            set_preference,
            batch_create,
            batch_list,
            batch_show,
            batch_exclude,
            batch_include,
            batch_preflight,
            batch_approve,
            batch_cancel,
            batch_run,
            batch_pause,
            batch_report,
            batch_report_csv,
            about,
        }
    };
}

macro_rules! command_names {
    ($($command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}

/// Every command the UI may call, in the order of [`for_each_command!`] (read by build.rs and the
/// drift test; the app's handler comes from the macro).
#[allow(dead_code)]
pub const COMMANDS: &[&str] = for_each_command!(command_names);

/// Event carrying `SyncProgress` while a sync runs.
pub const SYNC_PROGRESS: &str = "sync-progress";
/// Event carrying a `CaptureResult` at every new state of a capture.
pub const CAPTURE_PROGRESS: &str = "capture-progress";

/// Every event the desk emits: (the UI's name for it, the event's name) (read by the drift test).
#[allow(dead_code)]
pub const EVENTS: &[(&str, &str)] = &[("syncProgress", SYNC_PROGRESS), ("captureProgress", CAPTURE_PROGRESS)];
