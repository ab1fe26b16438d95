use tauri_build::{AppManifest, Attributes};

/// Our own commands: the only ones the UI may call (see capabilities/).
const COMMANDS: &[&str] = &[
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
    "recover_captures",
    "get_settings",
    "save_settings",
    "set_credential",
    "clear_credential",
    "test_connection",
    "list_painted",
    "get_preference",
    "set_preference",
];

fn main() {
    // `generate_context!` embeds ui/dist; a checkout where the UI was never built still
    // compiles, with a page that says how to build it (`cargo xtask run` builds it first).
    let dist = std::path::Path::new("../ui/dist");
    if !dist.join("index.html").exists() {
        let _ = std::fs::create_dir_all(dist);
        let _ = std::fs::write(
            dist.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>Capture Desk</title><p>The UI is not built. Run <code>cargo xtask run</code>.</p>",
        );
    }
    println!("cargo:rerun-if-changed=../ui/dist");
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    if let Err(e) = tauri_build::try_build(
        Attributes::new().config_path("../tauri.conf.json").app_manifest(AppManifest::new().commands(COMMANDS)),
    ) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
