//! One app per data directory. Two apps on one data directory would run two recoveries and two
//! background syncs, so a second start is turned away in two layers:
//!
//! 1. Tauri's single-instance plugin, where it can tell the data directories apart: the second
//!    start hands over to the first, whose window comes forward ([`focus`]), and exits (0)
//!    before anything of the desk is opened. It keys on a name: on Linux a D-Bus name on the
//!    session bus, which we make the data directory's ([`dbus_id`]: the app's identifier plus a
//!    hash of the directory's canonical path), so apps on other data directories (`DESK_DATA_DIR`)
//!    run side by side. On Windows (a named mutex) and macOS (a socket in /tmp) the plugin keys
//!    on the identifier alone, so it is only used for the default data directory; with
//!    `DESK_DATA_DIR` set it would focus, and refuse, an app on another directory.
//! 2. Always, [`billing::instance_lock`]: the app holds `<data>/app.lock` for its whole life and
//!    takes it before anything opens a database. Where the plugin cannot work (no session bus,
//!    `DESK_DATA_DIR` on Windows/macOS) a second app on the same directory exits with
//!    [`EXIT_IN_USE`] and says why on stderr and in the log.
//!
//! `desk` (the CLI) takes neither: it may run beside the app.

use std::path::Path;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};

/// The exit code of an app refused because another one runs on its data directory.
pub const EXIT_IN_USE: i32 = 3;

/// The plugin keyed on `data_dir`, or `None` where the platform's key cannot include it.
pub fn plugin<R: Runtime>(data_dir: &Path) -> Option<TauriPlugin<R>> {
    #[cfg(target_os = "linux")]
    {
        Some(tauri_plugin_single_instance::Builder::new().callback(focus).dbus_id(dbus_id(data_dir)).build())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = data_dir;
        if std::env::var("DESK_DATA_DIR").is_ok_and(|v| !v.trim().is_empty()) {
            tracing::info!("DESK_DATA_DIR is set: one app per data folder by its lock file only");
            None
        } else {
            Some(tauri_plugin_single_instance::init(focus))
        }
    }
}

/// A second start on this data directory: this app's window comes forward instead.
fn focus<R: Runtime>(app: &AppHandle<R>, _args: Vec<String>, _cwd: String) {
    tracing::info!("Capture Desk was started again on this data folder: its window is brought forward");
    if let Some(window) = app.get_webview_window(crate::MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The D-Bus name (before the plugin's `.SingleInstance`) of the app on `data_dir`: the app's
/// identifier and `d` + 16 hex digits of FNV-1a over the directory's canonical path (each element
/// of a bus name is letters, digits and `_`, and must not begin with a digit).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn dbus_id(data_dir: &Path) -> String {
    // the directory is created here so that every spelling of it (a symlink, `..`) keys alike
    let _ = std::fs::create_dir_all(data_dir);
    let path = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    format!("{}.d{:016x}", billing::store::APP_ID, billing::fnv::fnv1a(path.as_os_str().as_encoded_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bus_name_is_the_data_directorys_however_it_is_spelled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let id = dbus_id(&a);
        assert_eq!(id, dbus_id(&dir.path().join("b/../a")), "one directory, one name");
        assert_ne!(id, dbus_id(&b), "another directory, another name");
        let last = id.rsplit('.').next().expect("an element");
        assert!(id.starts_with("com.cargoextra.capturedesk.d"), "{id}");
        assert!(last.len() == 17 && last[1..].chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}
