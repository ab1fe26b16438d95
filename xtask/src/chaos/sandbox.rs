//! One `desk-sandbox` per seed: started on a free port, driven through its control API
//! (`/__sandbox/faults`, `/clock`, `/ledger`) and the gateway's wallet history; stopped on drop.

use super::evidence::{self, Capture, Finalization};
use super::http;
use crate::steps::Result;
use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The staff token the sandbox accepts by default (the desks use it too).
pub(crate) const STAFF_TOKEN: &str = "demo-staff-token";

pub(crate) struct Sandbox {
    pub(crate) url: String,
    child: Child,
}

/// What the sandbox is started with.
pub(crate) struct World {
    pub(crate) seed: u64,
    pub(crate) invoices: u64,
    /// Seconds of sandbox time before a PENDING capture completes by itself.
    pub(crate) pending_seconds: u64,
}

impl Sandbox {
    /// Starts `binary` on a free port of the loopback; its log goes to `log`. With `state`, the
    /// world is kept in (and read from) that file.
    pub(crate) fn start(binary: &Path, world: &World, log: &Path, state: Option<&Path>) -> Result<Sandbox> {
        let out = OpenOptions::new().create(true).append(true).open(log)?;
        // what an earlier start wrote to the log is not this one's address
        let skip = std::fs::metadata(log).map_or(0, |m| usize::try_from(m.len()).unwrap_or(0));
        let mut c = Command::new(binary);
        if let Some(state) = state {
            c.arg("--state").arg(state);
        }
        c.args(["--addr", "127.0.0.1:0", "--rate-limit", "0"])
            .args(["--seed", &world.seed.to_string()])
            .args(["--invoices", &world.invoices.to_string()])
            .args(["--pending-seconds", &world.pending_seconds.to_string()])
            // the sandbox's own clock offset, not the developer's
            .env_remove("SANDBOX_CLOCK_OFFSET_DAYS")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = c.spawn().map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut sandbox = Sandbox { url: String::new(), child };
        sandbox.url = sandbox.wait_for_address(log, skip)?;
        Ok(sandbox)
    }

    /// The address it prints once listening (`desk-sandbox listening on http://...`).
    fn wait_for_address(&mut self, log: &Path, skip: usize) -> Result<String> {
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let text = text.get(skip..).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|l| l.split("desk-sandbox listening on ").nth(1)) {
                return Ok(url.trim().to_owned());
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("desk-sandbox exited ({status}): {}", text.trim()).into());
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("desk-sandbox did not say where it listens within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The world of `world` as the sandbox saves it, passed through `shape`, then served: the
    /// sandbox is started once to seed and save it, stopped, and started again on the result.
    pub(crate) fn start_shaped(
        binary: &Path,
        world: &World,
        dir: &Path,
        shape: impl FnOnce(&mut serde_json::Value) -> Result<()>,
    ) -> Result<Sandbox> {
        let seeded = dir.join("world-seeded.json");
        let log = dir.join("sandbox.log");
        let first = Sandbox::start(binary, world, &log, Some(&seeded))?;
        // it saves a new world within half a second (atomically: a file that exists is whole)
        let started = Instant::now();
        while !seeded.exists() {
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!("desk-sandbox did not save its world to {}", seeded.display()).into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(first);
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&seeded)?).map_err(|e| format!("{}: {e}", seeded.display()))?;
        shape(&mut json)?;
        let shaped = dir.join("world.json");
        std::fs::write(&shaped, serde_json::to_vec(&json)?)?;
        Sandbox::start(binary, world, &log, Some(&shaped))
    }

    pub(crate) fn set_faults(&self, json: &str) -> Result {
        http::post(&self.url, "/__sandbox/faults", json)?.json("POST /__sandbox/faults").map(drop)
    }

    /// No faults from now on, and every PayPal request held in progress acts now (waits until
    /// each has).
    pub(crate) fn clear_faults(&self) -> Result {
        self.set_faults("{}")?;
        http::post(&self.url, "/__sandbox/in-progress/release", "")?.json("POST /__sandbox/in-progress/release")?;
        let started = Instant::now();
        loop {
            let held = http::get(&self.url, "/__sandbox/in-progress", &[])?.json("GET /__sandbox/in-progress")?;
            if held.get("keys").and_then(serde_json::Value::as_array).is_none_or(Vec::is_empty) {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!("PayPal requests still held in progress 30 s after their release: {held}").into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Moves the sandbox clock on: PENDING captures whose time has come complete.
    pub(crate) fn advance_clock(&self, seconds: u64) -> Result {
        http::post(&self.url, "/__sandbox/clock", &format!("{{\"advance_seconds\":{seconds}}}"))?
            .json("POST /__sandbox/clock")
            .map(drop)
    }

    /// The raw ledger (kept for a failing seed) and what it says.
    pub(crate) fn ledger(&self) -> Result<(String, Vec<Capture>, Vec<Finalization>)> {
        let answer = http::get(&self.url, "/__sandbox/ledger", &[])?;
        let raw = answer.body.clone();
        let (captures, finalizations) = evidence::ledger(&answer.json("GET /__sandbox/ledger")?)?;
        Ok((raw, captures, finalizations))
    }

    /// Every row of the gateway's wallet history, oldest first (pages of 100), as one page:
    /// `{"data": [...]}`.
    pub(crate) fn wallet_history(&self) -> Result<serde_json::Value> {
        let auth = format!("Bearer {STAFF_TOKEN}");
        let mut rows = Vec::new();
        for page in 1.. {
            let path = format!("/api/v1/billing_admin/wallet-history?page={page}&limit=100&sortOrder=asc");
            let v = http::get(&self.url, &path, &[("Authorization", &auth)])?.json("wallet history")?;
            let pages = v.pointer("/pagination/totalPages").and_then(serde_json::Value::as_u64).unwrap_or(1);
            if let Some(data) = v.get("data").and_then(serde_json::Value::as_array) {
                rows.extend(data.iter().cloned());
            }
            if page >= pages {
                break;
            }
        }
        Ok(serde_json::json!({ "data": rows }))
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
