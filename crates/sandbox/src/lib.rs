//! A stateful local simulator of the CargoExtra gateway and of PayPal REST v2, on one address.
//!
//! * gateway paths under `/api/v1/` (see `gateway`), PayPal paths under `/v1/` and `/v2/`
//!   (see `paypal`), the control API under `/__sandbox/` (see `control`);
//! * faults (latency, errors, 429s, connections dropped after the state change, undocumented
//!   errors after it, PayPal requests held in progress so a retry with the same key gets 409
//!   `PREVIOUS_REQUEST_IN_PROGRESS`, answers forced into PayPal's minimal shape) and a request
//!   rate limit are applied to the API routes by `faults` (its docs list every fault);
//! * the control API (`control`) sets faults, resets, shows the ledger, completes PENDING
//!   captures, moves the clock, counts requests, makes approved PayPal orders and releases
//!   requests held in progress;
//! * PayPal keeps idempotency keys as [`KeyRetention`] says (6 hours for Orders v2, 45 days for
//!   Payments v2; `--orders-key-seconds`, `--payments-key-seconds`), then a replay is new;
//! * the world (`world`) is seeded deterministically and may persist in a state file.
//!
//! Written from the published API pages only: it shares no types with our clients.

// Handlers return `Result<_, Response>`: the early-return error *is* the HTTP answer, built once
// per request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod clock;
mod control;
mod dec;
pub mod faults;
mod gateway;
mod paypal;
mod persist;
pub mod world;

use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use clock::Clock;
pub use faults::FaultConfig;

/// The demo gateway staff token.
pub const DEMO_STAFF_TOKEN: &str = "demo-staff-token";
/// The demo PayPal REST app.
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
pub const DEMO_CLIENT_SECRET: &str = "demo-client-secret";
/// Default request-rate limit (requests per second, bursts up to twice that).
pub const DEFAULT_RATE_LIMIT: u32 = 50;

/// The credentials a sandbox accepts: the gateway staff token and the PayPal REST app.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub staff_token: String,
    pub client_id: String,
    pub client_secret: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials {
            staff_token: DEMO_STAFF_TOKEN.to_owned(),
            client_id: DEMO_CLIENT_ID.to_owned(),
            client_secret: DEMO_CLIENT_SECRET.to_owned(),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub invoices: u64,
    /// Requests per second over all API routes; 0 turns the limit off.
    pub rate_limit: u32,
    pub faults: FaultConfig,
    /// Where the world persists across restarts; `None` keeps it in memory.
    pub state_file: Option<PathBuf>,
    /// Seconds before a PENDING capture completes by itself (0: only on request).
    pub pending_seconds: i64,
    /// Where the sandbox clock starts, ahead of real time. The world is seeded around the
    /// clock's now, so it is the same world, shifted. Default: `SANDBOX_CLOCK_OFFSET_DAYS`
    /// (whole days, ≥ 0) or zero; `cargo xtask test` can run the whole suite in the future.
    pub clock_offset: chrono::Duration,
    pub credentials: Credentials,
    /// How long PayPal keeps a `PayPal-Request-Id`; a replay after that is a new request.
    pub key_retention: KeyRetention,
}

/// How long PayPal keeps idempotency keys (PAYPAL-API.md): 6 hours for Orders v2 calls, 45 days
/// for Payments v2 calls (authorization captures, voids, refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRetention {
    pub orders: chrono::Duration,
    pub payments: chrono::Duration,
}

impl Default for KeyRetention {
    fn default() -> Self {
        KeyRetention { orders: chrono::Duration::hours(6), payments: chrono::Duration::days(45) }
    }
}

/// The environment variable that starts every sandbox's clock some days ahead.
pub const CLOCK_OFFSET_ENV: &str = "SANDBOX_CLOCK_OFFSET_DAYS";

/// [`CLOCK_OFFSET_ENV`] read: unset is zero; anything but a whole number of days ≥ 0 is refused
/// (a mistyped value must not quietly run the suite at today's date).
pub fn clock_offset_from_env() -> Result<chrono::Duration, String> {
    clock_offset_from(std::env::var(CLOCK_OFFSET_ENV))
}

fn clock_offset_from(var: Result<String, std::env::VarError>) -> Result<chrono::Duration, String> {
    match var {
        Err(std::env::VarError::NotPresent) => Ok(chrono::Duration::zero()),
        Err(e) => Err(format!("{CLOCK_OFFSET_ENV}: {e}")),
        Ok(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| *d <= 36_500)
            .map(|d| chrono::Duration::days(i64::from(d)))
            .ok_or_else(|| format!("{CLOCK_OFFSET_ENV}={v:?}: expected whole days from 0 to 36500")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use std::env::VarError;

    #[test]
    fn the_clock_offset_variable_is_whole_days_or_refused() {
        assert_eq!(clock_offset_from(Err(VarError::NotPresent)), Ok(Duration::zero()));
        assert_eq!(clock_offset_from(Ok("40".into())), Ok(Duration::days(40)));
        assert_eq!(clock_offset_from(Ok(" 3 ".into())), Ok(Duration::days(3)));
        for bad in ["", "-1", "4O", "1.5", "36501"] {
            assert!(clock_offset_from(Ok(bad.into())).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_default_config_starts_its_clock_where_the_environment_says() {
        // what `SANDBOX_CLOCK_OFFSET_DAYS=40 cargo xtask test` relies on, read as the run has it
        let expected = clock_offset_from_env().unwrap_or_else(|_| Duration::zero());
        assert_eq!(Config::default().clock_offset, expected);
        eprintln!("sandbox clock offset of this run: {} days", expected.num_days());
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 1,
            invoices: 300,
            rate_limit: DEFAULT_RATE_LIMIT,
            faults: FaultConfig::default(),
            state_file: None,
            pending_seconds: 5,
            clock_offset: clock_offset_from_env().unwrap_or_else(|e| {
                tracing::error!("{e}; the sandbox clock starts at real time");
                chrono::Duration::zero()
            }),
            credentials: Credentials::default(),
            key_retention: KeyRetention::default(),
        }
    }
}

/// State shared by every handler.
pub(crate) struct Shared {
    world: Mutex<world::World>,
    pub(crate) faults: Mutex<FaultConfig>,
    /// One fault generator per request target, so a seed replays whatever runs concurrently.
    pub(crate) chaos: Mutex<std::collections::HashMap<String, world::Rng>>,
    /// The API requests received, for `/__sandbox/stats`.
    pub(crate) stats: Mutex<faults::Stats>,
    pub(crate) limiter: Mutex<faults::Bucket>,
    pub(crate) view: Mutex<Option<gateway::ListView>>,
    /// PayPal requests held in progress (`in_progress_ms`), by `path|PayPal-Request-Id`, until
    /// they have acted; sending on the channel (taken out on release) lets one act now.
    pub(crate) in_progress: Mutex<std::collections::HashMap<String, Option<oneshot::Sender<()>>>>,
    /// The API that is down (`outage_after_commit_ms`), and until when; faults set again end it.
    pub(crate) outage: Mutex<Option<(faults::Side, tokio::time::Instant)>>,
    dirty: AtomicBool,
    config: Config,
}

impl Shared {
    /// The world, locked. Handlers never hold it across an `.await`.
    pub(crate) fn world(&self) -> MutexGuard<'_, world::World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
    pub(crate) fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }
    /// A freshly seeded world by `clock`, with this sandbox's settings.
    pub(crate) fn seed_world(config: &Config, clock: Clock) -> world::World {
        Self::configured(
            world::World::seeded(config.seed, config.invoices, clock::seed_base(clock.now()), clock),
            config,
        )
    }

    /// `w` with this sandbox's settings (never saved with a world).
    fn configured(mut w: world::World, config: &Config) -> world::World {
        w.pending_seconds = config.pending_seconds;
        w.credentials = config.credentials.clone();
        w.key_retention = config.key_retention;
        w
    }
}

pub(crate) type AppState = Arc<Shared>;

/// A running sandbox. Dropping it (or calling [`Sandbox::shutdown`]) stops it.
pub struct Sandbox {
    addr: SocketAddr,
    shared: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Starts a sandbox on `addr` (use port 0 for any free port).
    pub async fn start(config: Config, addr: SocketAddr) -> std::io::Result<Sandbox> {
        let listener = TcpListener::bind(addr).await?;
        Self::serve(config, listener)
    }

    /// Serves on an already bound listener.
    pub fn serve(config: Config, listener: TcpListener) -> std::io::Result<Sandbox> {
        let addr = listener.local_addr()?;
        let fresh = || Shared::seed_world(&config, Clock::with_offset(config.clock_offset));
        let world = match &config.state_file {
            // a saved world keeps its own clock, so what expired stays expired
            Some(path) => match persist::load(path)? {
                Some(w) => Shared::configured(w, &config),
                None => fresh(),
            },
            None => fresh(),
        };
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            faults: Mutex::new(config.faults.clone()),
            chaos: Mutex::new(Default::default()),
            stats: Mutex::new(Default::default()),
            limiter: Mutex::new(faults::Bucket::new(config.rate_limit)),
            view: Mutex::new(None),
            in_progress: Mutex::new(Default::default()),
            outage: Mutex::new(None),
            dirty: AtomicBool::new(config.state_file.is_some()),
            config,
        });
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let saver = shared.clone();
        let task = tokio::spawn(async move {
            let persist_loop = persist::keep_saved(saver.clone());
            let server = axum::serve(listener, app.into_make_service()).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            tokio::select! {
                r = server => { if let Err(e) = r { tracing::error!(error = %e, "sandbox server failed"); } }
                _ = persist_loop => {}
            }
            persist::save_now(&saver);
        });
        tracing::info!(%addr, "sandbox listening");
        Ok(Sandbox { addr, shared, stop: Some(stop), task: Some(task) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Now, by the sandbox clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.shared.world().now()
    }

    /// Moves the sandbox clock forward (see [`Clock::advance`]).
    pub fn advance_clock(&self, by: chrono::Duration) -> Result<(), String> {
        self.shared.world().advance_clock(by)?;
        self.shared.mark_dirty();
        Ok(())
    }

    /// Replaces the fault configuration.
    pub fn set_faults(&self, faults: FaultConfig) {
        *self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
        *self.shared.outage.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Stops serving and writes the state file, if any.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: AppState) -> Router {
    let api = Router::new()
        .merge(gateway::routes())
        .merge(paypal::routes())
        .layer(axum::middleware::from_fn_with_state(shared.clone(), faults::apply))
        .layer(axum::extract::DefaultBodyLimit::disable());
    Router::new()
        .route("/", axum::routing::get(|| async { "desk-sandbox: CargoExtra gateway + PayPal REST v2 simulator\n" }))
        .merge(api)
        .nest("/__sandbox", control::routes())
        .with_state(shared)
}

/// Reads a request body up to `limit` bytes, for handlers that answer their own error shape.
pub(crate) async fn read_body(body: axum::body::Body, limit: usize) -> Result<axum::body::Bytes, BodyError> {
    match axum::body::to_bytes(body, limit).await {
        Ok(b) => Ok(b),
        Err(e) => {
            let too_large = std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit"))
                || e.to_string().contains("length limit");
            Err(if too_large { BodyError::TooLarge } else { BodyError::Unreadable })
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    TooLarge,
    Unreadable,
}

/// Largest request body the sandbox accepts (the real services stop well before a megabyte).
pub(crate) const BODY_LIMIT: usize = 64 * 1024;
