// Generated from src-tauri/src/names.rs by `cargo test -p capture-desk names_drift`. Do not edit.

/** Every command the desk answers. */
export const COMMANDS = [
  "desk_status",
  "list_invoices",
  "selection_totals",
  "invoice_detail",
  "invoice_live",
  "sync_now",
  "audit_query",
  "audit_facets",
  "audit_export_csv",
  "capture_preview",
  "capture_invoice",
  "reauthorize_invoice",
  "recover_captures",
  "get_settings",
  "save_settings",
  "get_batch_settings",
  "save_batch_settings",
  "set_credential",
  "clear_credential",
  "test_connection",
  "list_painted",
  "get_preference",
  "set_preference",
  "batch_create",
  "batch_list",
  "batch_show",
  "batch_exclude",
  "batch_include",
  "batch_preflight",
  "batch_approve",
  "batch_cancel",
  "batch_run",
  "batch_pause",
  "batch_report",
  "batch_report_csv",
  "about",
] as const;

export type Command = (typeof COMMANDS)[number];

/** Every event the desk emits. */
export const EVENTS = {
  syncProgress: "sync-progress",
  captureProgress: "capture-progress",
} as const;
