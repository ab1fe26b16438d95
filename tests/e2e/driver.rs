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
    /// Kept alive (and removed) with the app, unless [`App::quit`] hands it out.
    data_dir: Option<tempfile::TempDir>,
}

/// The app under test (`DESK_E2E_APP`, set by `cargo xtask e2e`).
pub(crate) fn app_binary() -> PathBuf {
    let path = std::env::var_os("DESK_E2E_APP")
        .map(PathBuf::from)
        .expect("DESK_E2E_APP is not set: run the end-to-end tests with `cargo xtask e2e` (or `cargo xtask test`)");
    assert!(path.is_file(), "the app binary {} does not exist: build it first", path.display());
    path
}

/// A port for WebKitWebDriver, which must be told one: bound and released here, so another
/// process may take it first. [`App::start_with`] checks that WebKitWebDriver is the one
/// listening on it, and starts over with another port when it is not.
fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The TCP ports process `pid` listens on (Linux: its sockets' inodes in /proc/<pid>/net/tcp*).
fn listening_ports(pid: u32) -> Vec<u16> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    let inodes: std::collections::HashSet<String> = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| Some(link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned()))
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else { continue };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local address, state (0A: LISTEN), inode
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                if let Some(port) = f[1].rsplit(':').next().and_then(|h| u16::from_str_radix(h, 16).ok()) {
                    ports.push(port);
                }
            }
        }
    }
    ports
}

/// The live child processes of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else { return false };
            // after the command name in parentheses: state, parent
            let mut rest = stat.get(stat.rfind(')').map_or(0, |i| i + 1)..).unwrap_or("").split_whitespace();
            let state = rest.next().unwrap_or("Z");
            state != "Z" && rest.next().and_then(|pp| pp.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}

/// Waits until tauri-driver listens (on the port it chose) and its WebKitWebDriver on
/// `native_port`; the port tauri-driver listens on.
async fn driver_ready(tauri_driver: &mut Child, native_port: u16) -> Result<u16, String> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = tauri_driver.try_wait() {
            return Err(format!("tauri-driver exited ({status})"));
        }
        let ports = listening_ports(tauri_driver.id());
        let natives = children(tauri_driver.id());
        if let Some(&port) = ports.first() {
            if natives.iter().any(|&n| listening_ports(n).contains(&native_port)) {
                return Ok(port);
            }
            if natives.is_empty() {
                return Err(format!("WebKitWebDriver exited (port {native_port} taken?)"));
            }
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!("tauri-driver listens on {ports:?}, WebKitWebDriver not on {native_port}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// True once the UI runs: something is in `#app`, and it is no longer the inert first screen.
const UI_READY: &str =
    "const app = document.getElementById('app'); return !!app && app.childElementCount > 0 && !app.inert;";

/// True once the page is on screen: a window never shown leaves it hidden.
const SHOWN: &str = "return document.visibilityState === 'visible';";

impl App {
    /// Starts the app in `demo` with a fresh data directory.
    pub async fn start() -> App {
        Self::start_with(&[("DESK_ENV", "demo".into())]).await
    }

    /// Starts the app with a fresh data directory and these extra environment variables.
    pub async fn start_with(env: &[(&str, String)]) -> App {
        let application = app_binary();
        assert!(std::env::var_os("DISPLAY").is_some(), "DISPLAY is not set: the e2e test needs an X display (Xvfb)");
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut failures = Vec::new();
        // tauri-driver binds a port of the system's choice (read back from /proc): no race.
        // WebKitWebDriver's port is chosen here: taken meanwhile, it is tried again with another.
        let (mut tauri_driver, port) = loop {
            let native_port = unused_port();
            let mut tauri_driver = Command::new("tauri-driver")
                .args(["--port", "0", "--native-port", &native_port.to_string()])
                .env("DESK_DATA_DIR", data_dir.path())
                .env_remove("DESK_ENV")
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .env("NO_AT_BRIDGE", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("tauri-driver is not installed (cargo xtask setup installs it)");
            match driver_ready(&mut tauri_driver, native_port).await {
                Ok(port) => break (tauri_driver, port),
                Err(e) => {
                    stop(&mut tauri_driver);
                    failures.push(e);
                    assert!(failures.len() < 3, "tauri-driver did not start: {failures:?}");
                }
            }
        };
        let server = format!("http://127.0.0.1:{port}");
        let mut caps = Capabilities::new();
        caps.set("browserName", "wry").expect("capability");
        caps.set("tauri:options", serde_json::json!({ "application": application })).expect("capability");
        let driver = match WebDriver::new(&server, caps).await {
            Ok(d) => d,
            Err(e) => {
                stop(&mut tauri_driver);
                panic!("no WebDriver session on the app: {e}");
            }
        };
        let app = App { driver, tauri_driver, data_dir: Some(data_dir) };
        // the first screen is inert until the UI has taken it over (ui/src/first.ts): a click
        // before that would find nothing to click; the window is created hidden and shown with
        // its webview in it (main.rs, show_window)
        let ready =
            [("the UI", Duration::from_secs(60), UI_READY), ("the window shown", Duration::from_secs(10), SHOWN)];
        for (what, timeout, script) in ready {
            if let Err(e) = app.wait_until(what, timeout, script).await {
                app.finish(Err(e)).await;
                unreachable!("finish panics on an error");
            }
        }
        app
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
                let shot = std::env::temp_dir().join(format!("desk-e2e-failed-{}.png", std::process::id()));
                let saved = match crate::screenshot::png(&self.driver).await {
                    Ok(png) => std::fs::write(&shot, png).is_ok(),
                    Err(_) => false,
                };
                let body = self.js_string("return document.body.innerText").await.unwrap_or_default();
                let shown = if saved { format!(" (screenshot: {})", shot.display()) } else { String::new() };
                return Err(format!("waited {timeout:?} for {what}{shown}; the page read:\n{body}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the element `css` selects.
    pub async fn click(&self, css: &str) -> Check {
        let e = self.driver.find(By::Css(css)).await.map_err(|e| format!("{css}: {e}"))?;
        e.click().await.map_err(|e| format!("{css}: {e}"))
    }

    /// Types `text` into the element `css` selects (after clearing it). The field is focused
    /// after the clear, which blurs it: keys that reach another element
    /// (a table's Space toggles its row) would change the page under the test.
    pub async fn type_into(&self, css: &str, text: &str) -> Check {
        let e = match self.driver.find(By::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                let body = self.js_string("return document.body.innerText").await.unwrap_or_default();
                return Err(format!("{css}: {e}; the page read:\n{body}"));
            }
        };
        e.clear().await.map_err(|e| format!("{css}: {e}"))?;
        let focus = format!("document.querySelector({css:?}).focus(); return true;");
        self.driver.execute(&focus, Vec::new()).await.map_err(|e| format!("{css}: {e}"))?;
        if text.is_empty() {
            // `clear` changes the value without an input event: tell the page
            let script = format!(
                "document.querySelector({css:?}).dispatchEvent(new Event('input', {{ bubbles: true }})); return true;"
            );
            return self.driver.execute(&script, Vec::new()).await.map(drop).map_err(|e| format!("{css}: {e}"));
        }
        e.send_keys(text).await.map_err(|e| format!("{css}: {e}"))
    }

    /// Saves a screenshot as `name` when `DESK_E2E_SHOTS` names a directory; one that cannot be
    /// taken or saved fails the scenario (the README would show a stale one).
    pub async fn shot(&self, name: &str) -> Check {
        let Ok(dir) = std::env::var("DESK_E2E_SHOTS") else { return Ok(()) };
        let path = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{dir}: {e}"))?;
        let png = crate::screenshot::png(&self.driver).await.map_err(|e| format!("{name}: {e}"))?;
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Runs `script` (which must `return` a string).
    pub async fn js_string(&self, script: &str) -> Result<String, String> {
        let r = self.driver.execute(script, Vec::new()).await.map_err(|e| format!("{script}: {e}"))?;
        r.json().as_str().map(str::to_owned).ok_or_else(|| format!("{script}: not a string: {}", r.json()))
    }

    /// Stops the app, then fails the test with what `result` says did not hold.
    pub async fn finish(self, result: Check) {
        self.quit().await;
        if let Err(e) = result {
            panic!("{e}");
        }
    }

    /// Ends the session and stops the drivers (and with them the app). The data directory is
    /// handed back for inspection; it is removed when dropped.
    pub async fn quit(mut self) -> Option<tempfile::TempDir> {
        let driver = self.driver.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), driver.quit()).await;
        stop(&mut self.tauri_driver);
        self.data_dir.take()
    }
}

fn stop(child: &mut Child) {
    // already reaped (its pid may be another process's by now) or exited: nothing to signal
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
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
