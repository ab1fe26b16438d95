//! Starting tauri-driver and a WebDriver session on the app.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

/// A scenario's result: `Err` says what did not hold. Scenarios return it instead of panicking,
/// so the app and its drivers are always stopped before the test fails.
pub type Check = Result<(), String>;

/// tauri-driver plus a session on the app; both stopped on drop (tauri-driver by SIGTERM,
/// which also stops WebKitWebDriver).
pub struct App {
    pub driver: WebDriver,
    tauri_driver: Child,
    /// Kept alive (and removed) with the app.
    _data_dir: tempfile::TempDir,
}

fn app_binary() -> PathBuf {
    let path = std::env::var_os("DESK_E2E_APP")
        .map(PathBuf::from)
        .expect("DESK_E2E_APP is not set: run the end-to-end tests with `cargo xtask e2e` (or `cargo xtask test`)");
    assert!(path.is_file(), "the app binary {} does not exist: build it first", path.display());
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl App {
    /// Starts the app in `demo` with a fresh data directory.
    pub async fn start() -> App {
        let application = app_binary();
        assert!(std::env::var_os("DISPLAY").is_some(), "DISPLAY is not set: the e2e test needs an X display (Xvfb)");
        let data_dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let native_port = free_port();
        let tauri_driver = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DESK_DATA_DIR", data_dir.path())
            .env("DESK_ENV", "demo")
            .env("NO_AT_BRIDGE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tauri-driver is not installed (cargo xtask setup installs it)");
        let server = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "tauri-driver did not listen on {server}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut caps = Capabilities::new();
        caps.set("browserName", "wry").expect("capability");
        caps.set("tauri:options", serde_json::json!({ "application": application })).expect("capability");
        let driver = WebDriver::new(&server, caps).await.expect("a WebDriver session on the app");
        App { driver, tauri_driver, _data_dir: data_dir }
    }

    /// Runs `script` (which must `return` a boolean) until it returns true. Reading the page in
    /// one script avoids stale element references while the list re-renders.
    pub async fn wait_until(&self, what: &str, timeout: Duration, script: &str) -> Check {
        let started = Instant::now();
        loop {
            let ok =
                self.driver.execute(script, Vec::new()).await.ok().and_then(|r| r.json().as_bool()).unwrap_or(false);
            if ok {
                return Ok(());
            }
            if started.elapsed() > timeout {
                return Err(format!("waited {timeout:?} for {what}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Runs `script` (which must `return` a string).
    pub async fn js_string(&self, script: &str) -> Result<String, String> {
        let r = self.driver.execute(script, Vec::new()).await.map_err(|e| format!("{script}: {e}"))?;
        r.json().as_str().map(str::to_owned).ok_or_else(|| format!("{script}: not a string: {}", r.json()))
    }

    /// Ends the session and stops the drivers (and with them the app).
    pub async fn quit(mut self) {
        let driver = self.driver.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), driver.quit()).await;
        stop(&mut self.tauri_driver);
    }
}

fn stop(child: &mut Child) {
    // SIGTERM, so tauri-driver stops WebKitWebDriver too (SIGKILL would leave it running).
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for App {
    fn drop(&mut self) {
        stop(&mut self.tauri_driver);
    }
}
