//! The desktop shell. Only this crate knows Tauri: it opens the [`billing::session::Session`]
//! (with the demo world of the `demo` crate: the engine hosts none), hands it to Tauri as
//! state, and exposes thin commands (see `commands`).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

#[macro_use]
mod names;
mod commands;
#[cfg(test)]
mod names_drift;
mod one_instance;
mod webkit;

use billing::instance_lock::{InstanceLock, InstanceLockError};
use billing::session::Session;
use billing::{DeskFactory, DeskOptions};
use std::path::Path;
use tauri::Manager;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// Logs go to stderr and to `logs/capture-desk.log` in the data directory, rotated by size
/// (`billing::log_files`: 5 files of 5 MiB at most).
fn init_logging(data_dir: Option<&Path>) {
    let filter = || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let file = data_dir.and_then(|d| billing::log_files::RotatingFile::app_log(d).ok());
    let builder = tracing_subscriber::fmt().with_env_filter(filter()).with_ansi(false);
    match file {
        Some(f) => builder.with_writer(std::io::stderr.and(std::sync::Mutex::new(f))).init(),
        None => builder.with_writer(std::io::stderr).init(),
    }
}

/// `generate_handler!` over every command of [`names::COMMANDS`].
macro_rules! handler {
    ($($command:ident),* $(,)?) => {
        tauri::generate_handler![$(commands::$command),*]
    };
}

/// A batch left `running` (the app or `desk batch run` was killed mid-run) continues where it
/// stood, under the name that ran it; its items already sent resume from their journal
/// entries, never sent again. The Batches tab follows it by reading the batch.
async fn resume_batches(desk: &billing::Desk) {
    match desk.resume_batches(&|_, _| {}).await {
        Ok(ended) => {
            for (id, end) in ended {
                if let Ok(end) = end {
                    tracing::info!(batch = id, state = end.state.as_str(), "batch resumed at start");
                }
            }
        }
        Err(e) => tracing::warn!(code = ?e.code, message = %e.message, "batches not read at start"),
    }
}

/// The session being opened (see `main`).
type Opening = tauri::async_runtime::JoinHandle<Result<Session, billing::DeskError>>;

/// When the process started (for the start-up figure `list_painted` logs).
pub(crate) static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

fn main() {
    STARTED.get_or_init(std::time::Instant::now);
    // before any other thread: it may set an environment variable
    webkit::configure_engine();
    let data_dir = billing::store::default_data_dir();
    init_logging(data_dir.as_deref().ok());
    let data_dir = match data_dir {
        Ok(d) => d,
        Err(e) => {
            eprintln!("Capture Desk could not start: {} ({})", e.message, e.detail.unwrap_or_default());
            std::process::exit(1);
        }
    };
    // The single-instance plugin runs in `build`, before any window: a second start on this
    // data directory hands over to the first and exits there (see one_instance.rs).
    let mut builder = tauri::Builder::default();
    if let Some(plugin) = one_instance::plugin(&data_dir) {
        builder = builder.plugin(plugin);
    }
    // the session (databases, migrations, the demo world) opens while the window and WebKit's
    // processes start; it is in place before the event loop runs, so before any command
    let opening: std::sync::Arc<std::sync::Mutex<Option<Opening>>> = std::sync::Arc::default();
    let pending = std::sync::Arc::clone(&opening);
    let app = builder
        .setup(move |app| {
            // The window is created hidden (tauri.conf.json); asked to show here, it appears,
            // with its webview in it, when the event loop next runs: see `show_window`.
            show_window(app);
            let session = pending.lock().ok().and_then(|mut o| o.take()).map(tauri::async_runtime::block_on);
            let session = match session {
                Some(Ok(Ok(s))) => s,
                Some(Ok(Err(e))) => {
                    eprintln!("Capture Desk could not start: {}", e.message);
                    std::process::exit(1);
                }
                Some(Err(e)) => {
                    eprintln!("Capture Desk could not start: {e}");
                    std::process::exit(1);
                }
                None => {
                    eprintln!("Capture Desk could not start: the session was not opened");
                    std::process::exit(1);
                }
            };
            tracing::info!(version = %app.package_info().version, "Capture Desk session open");
            app.manage(session);
            // Every unfinished capture resumes from its journaled state at start.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { recover_at_start(handle.state::<Session>().inner()).await });
            Ok(())
        })
        .invoke_handler(for_each_command!(handler))
        .build(tauri::generate_context!("../tauri.conf.json"));
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("Capture Desk could not start: {e}");
            std::process::exit(1);
        }
    };
    // Where the plugin could not tell (no session bus, ...), the data directory's lock refuses a
    // second app, before anything opens a database, recovers or syncs.
    let lock = match InstanceLock::take(&data_dir) {
        Ok(lock) => lock,
        Err(e) => {
            let code = match e {
                InstanceLockError::InUse { .. } => one_instance::EXIT_IN_USE,
                InstanceLockError::Io { .. } => 1,
            };
            tracing::error!(data_dir = %data_dir.display(), code, "not started: {e}");
            eprintln!("Capture Desk could not start: {e}");
            std::process::exit(code);
        }
    };
    let factory = DeskFactory::with_demo(demo::host());
    let dir = data_dir.clone();
    let open = tauri::async_runtime::spawn(async move {
        let session =
            Session::open_with(Some(dir), factory, |dir| DeskOptions { data_dir: Some(dir), ..DeskOptions::default() })
                .await?;
        // the list's first page is read while the window and WebKit start
        if let Ok(desk) = session.desk().await {
            desk.read_ahead_opening();
        }
        Ok(session)
    });
    if let Ok(mut o) = opening.lock() {
        *o = Some(open);
    }
    tracing::info!(
        version = %app.package_info().version,
        data_dir = %data_dir.display(),
        lock = %lock.path().display(),
        "Capture Desk started: the only app on this data folder"
    );
    app.manage(commands::DataDir(data_dir));
    // held for the process's life (the OS releases it however the process ends)
    app.manage(lock);
    app.run(|_, _| {});
}

/// The label of the app's one window (`tauri.conf.json`).
pub(crate) const MAIN_WINDOW: &str = "main";

/// Asks for the main window, created hidden, to be shown; Tauri shows it when the event loop
/// next runs (on Linux, once `setup` has returned, so after the session is open: at start it
/// usually is already). Created visible (Tauri's default), the window was mapped before its
/// webview existed, and 5 of 16 starts on this machine froze for 0.5 s before the page started
/// loading (the main thread sat in a timed wait while WebKit's web process was still starting,
/// and served nothing meanwhile), against none of 16 started in turns with them shown this way,
/// nor of ~60 since (`docs/BENCHMARKS.md`, "Start-up"). A window that cannot be shown ends the
/// app: running on unseen would hold the data folder's lock and leave the clerk nothing to click.
fn show_window(app: &tauri::App) {
    let shown = match app.get_webview_window(MAIN_WINDOW) {
        Some(window) => window.show().map_err(|e| e.to_string()),
        None => Err(format!("there is no window labelled {MAIN_WINDOW:?}")),
    };
    if let Err(e) = shown {
        tracing::error!("the window could not be shown: {e}");
        eprintln!("Capture Desk could not start: its window could not be shown ({e})");
        std::process::exit(1);
    }
}

/// Every unfinished capture resumes from its journaled state at start, then the batches a run
/// was working on continue.
async fn recover_at_start(session: &Session) {
    let Ok(desk) = session.desk().await else { return };
    let in_flight = match desk.recover().await {
        Ok(r) => {
            if !r.is_empty() {
                tracing::info!(resumed = r.len(), "resumed unfinished captures");
            }
            r.iter().any(billing::capture::waits_out_a_send)
        }
        Err(e) => {
            tracing::warn!(code = ?e.code, message = %e.message, detail = ?e.detail, "recovery at start failed");
            false
        }
    };
    // the batches left running, and the re-drive of sends that may still land, side by side: a
    // batch another process runs is waited for (possibly for hours), which must not hold back
    // the capture a PayPal send may have taken from reaching the gateway
    tokio::join!(resume_batches(&desk), redrive(&desk, in_flight));
}

/// Drives again an attempt waiting out a send that may still land (the app was killed
/// mid-request) once it cannot, not left for a click: as long as the longest open window (a
/// PayPal capture's is minutes), a few times.
async fn redrive(desk: &billing::Desk, in_flight: bool) {
    let mut waiting = in_flight;
    for _ in 0..4 {
        if !waiting {
            break;
        }
        let open = match desk.sends_may_land_for().await {
            Ok(Some(open)) => open,
            Ok(None) => std::time::Duration::ZERO,
            Err(e) => {
                tracing::warn!(code = ?e.code, message = %e.message, "the journal's open sends cannot be read");
                billing::capture::in_flight_window()
            }
        };
        tokio::time::sleep(open + std::time::Duration::from_secs(5)).await;
        waiting = match desk.recover().await {
            Ok(r) => r.iter().any(billing::capture::waits_out_a_send),
            Err(e) => {
                tracing::warn!(code = ?e.code, message = %e.message, "a later recovery failed");
                false
            }
        };
    }
}

#[cfg(test)]
mod tests {
    /// The window `show_window` shows is the config's one window, and the config creates it hidden.
    #[test]
    fn the_config_creates_the_main_window_hidden() {
        let config: serde_json::Value =
            serde_json::from_str(include_str!("../../tauri.conf.json")).expect("tauri.conf.json");
        let windows = config["app"]["windows"].as_array().expect("app.windows");
        assert_eq!(windows.len(), 1, "one window");
        assert_eq!(windows[0]["label"], super::MAIN_WINDOW);
        assert_eq!(windows[0]["visible"], false, "created hidden, shown by show_window once its webview is in it");
    }
}
