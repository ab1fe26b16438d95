//! [`Desk`]: the handle the front ends hold: one environment's database, the settings, the
//! gateway and PayPal clients, and in `demo` the world a front end provides. How a desk is
//! opened (which environment, which database, which services) is [`open`]'s; this is the engine
//! side.

mod batches;
pub use batches::{BatchPace, DEFAULT_BATCH_RATE};
mod connection;
mod open;
mod recovery;

pub use connection::{ConnectionCheck, ConnectionReport};
pub use open::{DeskFactory, DeskOptions};
pub use recovery::Recovered;

use crate::capture::{self, CapturePreview, CaptureResult, Engine, Interrupt};
use crate::demo::DemoWorld;
use crate::detail::{InvoiceDetail, InvoiceLive};
use crate::secrets::Secrets;
use crate::settings::EnvOverrides;
use crate::sync::{SyncProgress, SyncReport};
use crate::{
    audit, environments, invoices, sync, DeskError, Environment, ErrorCode, InvoicePage, InvoiceRow, ListRequest,
    Settings,
};
use gateway::GatewayClient;
use paypal::PaypalClient;
use serde::Serialize;
use sqlx::SqlitePool;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use ts_rs::TS;

/// What the status line shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DeskStatus {
    /// The environment in effect; everything below is this environment's only.
    pub environment: Environment,
    /// `None` until the gateway was tried.
    pub online: Option<bool>,
    pub last_synced_at: Option<String>,
    pub last_sync_error: Option<String>,
    #[ts(type = "number")]
    pub cached_invoices: i64,
    pub gateway_url: Option<String>,
    pub staff_name: String,
    pub data_dir: String,
    /// The environment's own database, whose invoices, captures and activity are shown.
    pub database: String,
    /// In demo: who hosts the demo world.
    pub demo_world: Option<String>,
    /// Why the gateway cannot be used (missing credentials, no keyring), if so.
    pub gateway_problem: Option<String>,
    /// Invoices the last syncs could not read, set aside with the reason (the rest synced).
    pub set_aside: Vec<crate::sync::SetAside>,
}

const UNKNOWN: u8 = 0;
const ONLINE: u8 = 1;
const OFFLINE: u8 = 2;

pub struct Desk {
    /// The environment's own database.
    pool: SqlitePool,
    /// The machine's settings (see [`crate::environments`]).
    machine: SqlitePool,
    /// In effect: the saved settings with the environment overrides applied.
    settings: Settings,
    /// As saved (what the Settings screen edits).
    saved: Settings,
    secrets: Arc<dyn Secrets>,
    /// The `DESK_*` variables in effect (none unless the options turned them on).
    overrides: EnvOverrides,
    data_dir: PathBuf,
    gateway: Result<GatewayClient, DeskError>,
    paypal: Result<PaypalClient, DeskError>,
    desk_id: String,
    online: AtomicU8,
    sync_lock: tokio::sync::Mutex<()>,
    demo: Option<Box<dyn DemoWorld>>,
    /// Paces every request of both clients (unlimited unless a batch set a rate).
    pace: Arc<pace::Pace>,
    /// The list's opening page, when a front end asked for it to be read ahead.
    opening: invoices::ReadAhead,
}

impl Desk {
    /// Opens the environment in effect without a demo world (see [`DeskFactory`]).
    pub async fn open(options: DeskOptions) -> Result<Desk, DeskError> {
        DeskFactory::default().open(options).await
    }

    /// The pace of both clients' requests (a batch sets its rate on it).
    pub fn pace(&self) -> &pace::Pace {
        &self.pace
    }

    /// The environment's own database.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The machine's settings database (UI preferences live there).
    pub fn machine_pool(&self) -> &SqlitePool {
        &self.machine
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings as saved, before environment overrides.
    pub fn saved_settings(&self) -> &Settings {
        &self.saved
    }

    /// The data directory (all environments').
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    /// The database of the environment in effect.
    pub fn database_path(&self) -> PathBuf {
        environments::database_path(&self.data_dir, self.environment())
    }

    /// The `DESK_*` variables in effect (all absent unless the front end turned them on).
    pub fn env_overrides(&self) -> &EnvOverrides {
        &self.overrides
    }

    pub fn secrets(&self) -> &dyn Secrets {
        self.secrets.as_ref()
    }

    pub fn environment(&self) -> Environment {
        self.settings.environment
    }

    /// The gateway base URL in use (the embedded sandbox's in demo).
    pub fn gateway_url(&self) -> Option<&str> {
        self.gateway.as_ref().ok().map(|g| g.base_url())
    }

    /// The demo world in use, if any.
    pub fn demo_world(&self) -> Option<&dyn DemoWorld> {
        self.demo.as_deref()
    }

    pub async fn status(&self) -> Result<DeskStatus, DeskError> {
        let s = sync::status(&self.pool).await?;
        Ok(DeskStatus {
            environment: self.settings.environment,
            online: match self.online.load(Ordering::Acquire) {
                ONLINE => Some(true),
                OFFLINE => Some(false),
                _ => None,
            },
            last_synced_at: s.last_success_at,
            last_sync_error: s.last_error,
            cached_invoices: invoices::count(&self.pool).await?,
            gateway_url: self.gateway_url().map(str::to_owned),
            staff_name: self.settings.staff_name.clone(),
            data_dir: self.data_dir.display().to_string(),
            database: self.database_path().display().to_string(),
            demo_world: self.demo.as_ref().map(|w| w.describe()),
            gateway_problem: self.gateway.as_ref().err().map(|e| e.message.clone()),
            set_aside: sync::set_aside::list(&self.pool).await?,
        })
    }

    /// Records whether the gateway answered: any answer, even a refusal, means online.
    pub(crate) fn note_reachability(&self, error: Option<&DeskError>) {
        let state = match error {
            Some(e) if e.code == ErrorCode::Offline => OFFLINE,
            _ => ONLINE,
        };
        self.online.store(state, Ordering::Release);
    }

    /// Syncs the cache with the gateway (one sync at a time; a second caller waits).
    pub async fn sync(
        &self,
        force_full: bool,
        progress: &(dyn Fn(SyncProgress) + Send + Sync),
    ) -> Result<SyncReport, DeskError> {
        let gw = self.gateway.as_ref().map_err(Clone::clone)?;
        let _one_at_a_time = self.sync_lock.lock().await;
        let result = sync::run(&self.pool, gw, force_full, progress).await;
        self.note_reachability(result.as_ref().err());
        let detail = match &result {
            Ok(r) => {
                serde_json::json!({ "mode": r.mode, "invoices": r.invoices, "pages": r.pages, "closed": r.closed })
            }
            Err(e) => {
                serde_json::json!({ "error": e.code, "message": e.message, "detail": e.detail })
            }
        };
        let action = if result.is_ok() { audit::AuditAction::Sync } else { audit::AuditAction::SyncFailed };
        audit::record(&self.pool, &self.settings.staff_name, self.settings.environment, action, None, detail).await?;
        result
    }

    pub async fn list(&self, req: &ListRequest) -> Result<InvoicePage, DeskError> {
        if let Some(page) = self.opening.take(req).await {
            return Ok(page);
        }
        invoices::list(&self.pool, req).await
    }

    /// Starts reading the list's opening page ([`invoices::opening_request`]) for the first
    /// [`Desk::list`] to answer from, if nothing was written meanwhile (the app calls this as
    /// its database opens, while its window starts).
    pub fn read_ahead_opening(&self) {
        self.opening.start(&self.pool);
    }

    pub async fn invoice(&self, invoice_no: i64) -> Result<InvoiceRow, DeskError> {
        invoices::get(&self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })
    }

    pub(crate) fn engine<'a>(&'a self, interrupt: Option<&'a dyn Interrupt>) -> Result<Engine<'a>, DeskError> {
        Ok(Engine {
            observer: None,
            pool: &self.pool,
            gateway: self.gateway.as_ref().map_err(Clone::clone)?,
            paypal: self.paypal.as_ref().map_err(Clone::clone)?,
            staff: &self.settings.staff_name,
            environment: self.settings.environment,
            desk_id: &self.desk_id,
            interrupt,
        })
    }

    /// The cached invoice with its journal and audit entries (offline too).
    pub async fn invoice_detail(&self, invoice_no: i64) -> Result<InvoiceDetail, DeskError> {
        let invoice = self.invoice(invoice_no).await?;
        let journal = capture::journal::recent(&self.pool, Some(invoice_no), 100).await?;
        let audit = audit::query(
            &self.pool,
            &audit::AuditFilter { invoice_no: Some(invoice_no), limit: Some(200), ..audit::AuditFilter::default() },
        )
        .await?;
        Ok(InvoiceDetail { invoice, journal, audit })
    }

    /// What the gateway (payment history; the cache is refreshed with it) and PayPal (the
    /// approval's live status) say now. An unreachable side is reported, not fatal.
    pub async fn invoice_live(&self, invoice_no: i64) -> Result<InvoiceLive, DeskError> {
        let cached = self.invoice(invoice_no).await?;
        let no = u64::try_from(invoice_no).map_err(|_| DeskError::bad_input("The invoice number is not valid."))?;
        let mut live =
            InvoiceLive { invoice: None, payments: Vec::new(), gateway_error: None, paypal: None, paypal_error: None };
        match self.gateway.as_ref().map_err(Clone::clone) {
            Err(e) => live.gateway_error = Some(e),
            // the instant is taken before the request: a paid mark since then stands (`refresh_one`)
            Ok(gw) => match (chrono::Utc::now(), gw.invoice(no).await) {
                (asked_at, Ok(inv)) => {
                    self.note_reachability(None);
                    live.payments = crate::detail::payments(&inv);
                    invoices::refresh_one(&self.pool, &inv, asked_at).await?;
                    live.invoice = invoices::get(&self.pool, invoice_no).await?;
                }
                (_, Err(e)) => {
                    let e = DeskError::from(e);
                    self.note_reachability(Some(&e));
                    tracing::warn!(invoice_no, code = ?e.code, detail = ?e.detail, "live invoice detail failed");
                    live.gateway_error = Some(e);
                }
            },
        }
        let row = live.invoice.as_ref().unwrap_or(&cached);
        match self.paypal.as_ref().map_err(Clone::clone) {
            Err(e) if row.paypal.is_some() => live.paypal_error = Some(e),
            Err(_) => {}
            Ok(pp) => match crate::detail::paypal_live(pp, row).await {
                Ok(v) => live.paypal = v,
                Err(e) => {
                    tracing::warn!(invoice_no, code = ?e.code, detail = ?e.detail, "live PayPal status failed");
                    live.paypal_error = Some(e);
                }
            },
        }
        Ok(live)
    }

    /// The breakdown of a capture (wallet part, PayPal part, the customer's approval); moves nothing.
    pub async fn capture_preview(&self, invoice_no: i64) -> Result<CapturePreview, DeskError> {
        self.engine(None)?.preview(invoice_no).await
    }

    /// Reauthorizes the PayPal authorization of an invoice past its honour period; captures of
    /// the invoice then take the reauthorization (`capture/reauthorize.rs`).
    pub async fn reauthorize(&self, invoice_no: i64) -> Result<crate::capture::Reauthorized, DeskError> {
        self.engine(None)?.reauthorize(invoice_no).await
    }

    /// Captures one invoice (or resumes its unfinished attempt).
    pub async fn capture(&self, invoice_no: i64) -> Result<CaptureResult, DeskError> {
        self.engine(None)?.capture(invoice_no).await
    }

    /// Like [`Desk::capture`], telling `observer` every new state.
    pub async fn capture_observed(
        &self,
        invoice_no: i64,
        observer: &(dyn Fn(&CaptureResult) + Send + Sync),
    ) -> Result<CaptureResult, DeskError> {
        let mut engine = self.engine(None)?;
        engine.observer = Some(observer);
        engine.capture(invoice_no).await
    }

    /// Like [`Desk::capture`], stopping where `interrupt` says (crash tests).
    pub async fn capture_with(&self, invoice_no: i64, interrupt: &dyn Interrupt) -> Result<CaptureResult, DeskError> {
        self.engine(Some(interrupt))?.capture(invoice_no).await
    }

    /// Lets go of the demo world (a host saves it) and closes the databases.
    pub async fn close(self) {
        // a page read ahead holds a connection, which the pool's close would wait for
        self.opening.clear();
        if let Some(world) = self.demo {
            world.close().await;
        }
        self.pool.close().await;
        self.machine.close().await;
    }
}
