//! The `demo` environment's world: the sandbox (`crates/sandbox`) on 127.0.0.1, its state kept
//! in the demo environment's folder (`<data>/demo/demo-world.json`), so a restarted app finds
//! the same invoices and payments. The engine (`billing`) does not contain it: the app and
//! `desk` hand [`host`] to their desk factory (`billing::DeskFactory::with_demo`).
//!
//! **One host per data directory.** Whoever holds the lock on `<data>/demo/world.lock`
//! (`File::try_lock`; the OS releases it when the process ends, however it ends) hosts the
//! world and writes its address to `world.addr` beside it. Another process opening the same
//! demo joins that host (a guest: same address, same world, no copy of its own, so there is no
//! "last writer wins"). A guest keeps trying the lock in the background: when the host goes
//! away it takes over, from the saved world, on the same address if it is free, so the desk
//! that was a guest keeps working. A lock held by a process that never answers is reported
//! plainly ("in use by another Capture Desk program") after a bounded wait.

use billing::demo::{DemoCredentials, DemoHost, DemoWorld};
use billing::secrets::Secret;
use billing::{DeskError, ErrorCode};
use futures::future::BoxFuture;
use sandbox::Sandbox;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WORLD_FILE: &str = "demo-world.json";
const LOCK_FILE: &str = "world.lock";
const ADDR_FILE: &str = "world.addr";

/// The demo world's shape and how long to wait for a host that does not answer yet.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub seed: u64,
    pub invoices: u64,
    /// How long a process waits for the lock holder's address to answer.
    pub join_wait: Duration,
    /// How often a guest tries to take over.
    pub takeover_every: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: 2026,
            invoices: 400,
            join_wait: Duration::from_secs(10),
            takeover_every: Duration::from_millis(250),
        }
    }
}

/// The demo host the app and `desk` use.
pub fn host() -> Arc<dyn DemoHost> {
    host_with(DemoConfig::default())
}

/// A demo host with its own world shape (tests).
pub fn host_with(config: DemoConfig) -> Arc<dyn DemoHost> {
    Arc::new(SandboxDemo { config })
}

struct SandboxDemo {
    config: DemoConfig,
}

impl DemoHost for SandboxDemo {
    fn open<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<Box<dyn DemoWorld>, DeskError>> {
        Box::pin(open(dir.to_owned(), self.config.clone()))
    }

    fn credentials(&self) -> DemoCredentials {
        DemoCredentials {
            staff_token: Secret::new(sandbox::DEMO_STAFF_TOKEN),
            client_id: sandbox::DEMO_CLIENT_ID.to_owned(),
            client_secret: Secret::new(sandbox::DEMO_CLIENT_SECRET),
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DeskError + '_ {
    move |e| DeskError::storage(format!("{}: {e}", path.display()))
}

fn lock_file(dir: &Path) -> Result<File, DeskError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(LOCK_FILE);
    std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io(&path))
}

/// Hosts the world of `dir`, or joins its host.
async fn open(dir: PathBuf, config: DemoConfig) -> Result<Box<dyn DemoWorld>, DeskError> {
    let lock = lock_file(&dir)?;
    let started = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(Box::new(Hosted::start(&dir, lock, &config, None).await?)),
            Err(std::fs::TryLockError::WouldBlock) => {
                if let Some(url) = host_address(&dir).await {
                    return Ok(Box::new(Guest::join(dir, url, config)?));
                }
                if started.elapsed() >= config.join_wait {
                    return Err(DeskError::new(
                        ErrorCode::Conflict,
                        "The demo world of this data folder is in use by another Capture Desk program that does not answer. \
                         Close that program, or try again in a moment.",
                    )
                    .with_detail(format!("{} is locked and no host answers", dir.join(LOCK_FILE).display())));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&dir)(e)),
        }
    }
}

/// The address the lock holder wrote, if a demo world answers there.
async fn host_address(dir: &Path) -> Option<String> {
    let url = std::fs::read_to_string(dir.join(ADDR_FILE)).ok()?.trim().to_owned();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().ok()?;
    let body = client.get(format!("{url}/")).send().await.ok()?.text().await.ok()?;
    body.starts_with("desk-sandbox").then_some(url)
}

/// The world, hosted by this process.
struct Hosted {
    sandbox: Sandbox,
    dir: PathBuf,
    _lock: File,
}

impl Hosted {
    /// Starts the world from its saved state (or seeds it), on `addr` if given and free.
    async fn start(dir: &Path, lock: File, config: &DemoConfig, addr: Option<SocketAddr>) -> Result<Hosted, DeskError> {
        let addr_file = dir.join(ADDR_FILE);
        // a host that died left its address: it is not ours to announce
        match std::fs::remove_file(&addr_file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&addr_file)(e)),
            _ => {}
        }
        let sandbox_config = sandbox::Config {
            seed: config.seed,
            invoices: config.invoices,
            state_file: Some(dir.join(WORLD_FILE)),
            // a new demo world is dated around now (the sandbox clock), then kept in the state
            // file; SANDBOX_CLOCK_OFFSET_DAYS (tests) starts that clock ahead, and a bad value is refused
            clock_offset: sandbox::clock_offset_from_env().map_err(DeskError::bad_input)?,
            ..sandbox::Config::default()
        };
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let started = match Sandbox::start(sandbox_config.clone(), addr.unwrap_or(any)).await {
            Err(e) if addr.is_some() => {
                tracing::warn!(error = %e, ?addr, "the demo world's address is taken; it moves (desks joined to it must reopen)");
                Sandbox::start(sandbox_config, any).await
            }
            other => other,
        };
        let sandbox = started.map_err(|e| DeskError::internal(format!("the demo world could not start: {e}")))?;
        let tmp = dir.join(format!("{ADDR_FILE}.tmp"));
        std::fs::write(&tmp, sandbox.base_url())
            .and_then(|()| std::fs::rename(&tmp, &addr_file))
            .map_err(io(&addr_file))?;
        tracing::info!(url = %sandbox.base_url(), dir = %dir.display(), "hosting the demo world");
        Ok(Hosted { sandbox, dir: dir.to_owned(), _lock: lock })
    }

    /// Saves the world and stops serving; the lock goes last.
    async fn stop(self) {
        self.sandbox.shutdown().await;
        if let Err(e) = std::fs::remove_file(self.dir.join(ADDR_FILE)) {
            tracing::warn!(error = %e, "could not remove the demo world's address");
        }
    }
}

impl DemoWorld for Hosted {
    fn base_url(&self) -> String {
        self.sandbox.base_url()
    }

    fn describe(&self) -> String {
        format!("hosted by this program at {}", self.sandbox.base_url())
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(self.stop())
    }
}

/// The world of another process; takes it over when that process lets go.
struct Guest {
    url: String,
    taken_over: Arc<Mutex<Option<Hosted>>>,
    watcher: tokio::task::JoinHandle<()>,
}

impl Guest {
    fn join(dir: PathBuf, url: String, config: DemoConfig) -> Result<Guest, DeskError> {
        let addr = url.strip_prefix("http://").and_then(|a| a.parse::<SocketAddr>().ok());
        let taken_over = Arc::new(Mutex::new(None));
        let slot = taken_over.clone();
        let watcher = tokio::spawn(async move {
            loop {
                tokio::time::sleep(config.takeover_every).await;
                let Ok(lock) = lock_file(&dir) else { continue };
                if lock.try_lock().is_err() {
                    continue;
                }
                match Hosted::start(&dir, lock, &config, addr).await {
                    Ok(h) => {
                        tracing::info!(url = %h.base_url(), "the demo world's host went away; hosting it here");
                        if let Ok(mut s) = slot.lock() {
                            *s = Some(h);
                        }
                    }
                    Err(e) => {
                        tracing::error!(message = %e.message, detail = ?e.detail, "could not take over the demo world")
                    }
                }
                return;
            }
        });
        tracing::info!(%url, "joined the demo world another program hosts");
        Ok(Guest { url, taken_over, watcher })
    }

    fn hosted(&self) -> Option<String> {
        self.taken_over.lock().ok()?.as_ref().map(|h| h.sandbox.base_url())
    }
}

impl DemoWorld for Guest {
    fn base_url(&self) -> String {
        self.hosted().unwrap_or_else(|| self.url.clone())
    }

    fn describe(&self) -> String {
        match self.hosted() {
            Some(url) => format!("hosted by this program at {url} (taken over)"),
            None => format!("hosted by another Capture Desk program at {}", self.url),
        }
    }

    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            self.watcher.abort();
            let _ = self.watcher.await;
            let hosted = self.taken_over.lock().ok().and_then(|mut h| h.take());
            if let Some(h) = hosted {
                h.stop().await;
            }
        })
    }
}
