//! [`Desk`]: the handle the front ends hold: the database, the settings, the gateway client,
//! and in `demo` the embedded sandbox.

use crate::capture::{self, CapturePreview, CaptureResult, Engine, Interrupt};
use crate::detail::{InvoiceDetail, InvoiceLive};
use crate::secrets::{self, SecretKey, Secrets};
use crate::settings::EnvOverrides;
use crate::sync::{SyncProgress, SyncReport};
use crate::{
    audit, invoices, store, sync, DeskError, Environment, ErrorCode, InvoicePage, InvoiceRow, ListRequest, Settings,
};
use gateway::{ClientOptions, GatewayClient, Token};
use paypal::{ClientSecret, PaypalClient};
use serde::Serialize;
use sqlx::SqlitePool;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use ts_rs::TS;

/// How to open a desk.
pub struct DeskOptions {
    /// `None`: `DESK_DATA_DIR`, else the OS app-data directory.
    pub data_dir: Option<PathBuf>,
    pub secrets: Arc<dyn Secrets>,
    /// Where `DESK_ENV`, `DESK_GATEWAY_URL`, ..., `DESK_GATEWAY_TOKEN` and
    /// `DESK_PAYPAL_CLIENT_SECRET` are read from: the front ends pass the process environment;
    /// with [`EnvOverrides::off`] no `DESK_*` variable is read (`DESK_DATA_DIR` only when
    /// `data_dir` is `None`).
    pub env_overrides: EnvOverrides,
    /// Use these settings instead of the saved ones (tests, one-off runs).
    pub settings: Option<Settings>,
}

impl Default for DeskOptions {
    fn default() -> Self {
        DeskOptions {
            data_dir: None,
            secrets: Arc::new(secrets::KeyringSecrets::default()),
            env_overrides: EnvOverrides::process(),
            settings: None,
        }
    }
}

/// What the status line shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DeskStatus {
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
    /// Why the gateway cannot be used (missing credentials, no keyring), if so.
    pub gateway_problem: Option<String>,
}

const UNKNOWN: u8 = 0;
const ONLINE: u8 = 1;
const OFFLINE: u8 = 2;

pub struct Desk {
    pool: SqlitePool,
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
    demo: Option<sandbox::Sandbox>,
}

impl Desk {
    /// Opens the database (migrating it), reads settings and credentials, and in `demo`
    /// starts the embedded sandbox.
    pub async fn open(options: DeskOptions) -> Result<Desk, DeskError> {
        let overrides = options.env_overrides;
        let data_dir = match options.data_dir {
            Some(d) => d,
            None => store::default_data_dir()?,
        };
        let pool = store::open(&data_dir).await?;
        let saved = match options.settings {
            Some(s) => {
                s.validate()?;
                s
            }
            None => Settings::load(&pool).await?,
        };
        let settings = saved.clone().with_overrides(&overrides)?;
        let env = settings.environment;
        let stored = |key| secrets::resolve(options.secrets.as_ref(), &overrides, env, key);
        let mut demo = None;
        let gateway = if env == Environment::Demo && settings.gateway_url.is_none() {
            let sb = crate::demo::start(&data_dir).await?;
            let url = sb.base_url();
            demo = Some(sb);
            let token = secrets::resolve(&NoStore, &overrides, env, SecretKey::GatewayToken)?
                .map_or_else(|| crate::demo::DEMO_STAFF_TOKEN.to_owned(), |s| s.expose().to_owned());
            client(&url, token)
        } else {
            match settings.gateway_url.clone() {
                None => Err(DeskError::new(ErrorCode::MissingCredentials, "Set the gateway URL in Settings.")),
                Some(url) => match stored(SecretKey::GatewayToken) {
                    Ok(Some(token)) => client(&url, token.expose().to_owned()),
                    Ok(None) if env == Environment::Demo => client(&url, crate::demo::DEMO_STAFF_TOKEN.to_owned()),
                    Ok(None) => Err(DeskError::new(
                        ErrorCode::MissingCredentials,
                        "Enter the gateway token in Settings (it is kept in the system keyring).",
                    )),
                    Err(e) => Err(e),
                },
            }
        };
        let paypal = match (&demo, settings.paypal_url.clone()) {
            (Some(sb), None) => {
                paypal_client(&sb.base_url(), crate::demo::DEMO_CLIENT_ID, crate::demo::DEMO_CLIENT_SECRET.to_owned())
            }
            (_, url) => {
                let url = url.or_else(|| env.default_paypal_url().map(str::to_owned));
                match (url, settings.paypal_client_id.clone()) {
                    (None, _) => Err(DeskError::new(ErrorCode::MissingCredentials, "Set the PayPal URL in Settings.")),
                    (_, None) => {
                        Err(DeskError::new(ErrorCode::MissingCredentials, "Enter the PayPal client id in Settings."))
                    }
                    (Some(url), Some(id)) => match stored(SecretKey::PaypalClientSecret) {
                        Ok(Some(secret)) => paypal_client(&url, &id, secret.expose().to_owned()),
                        Ok(None) if env == Environment::Demo => {
                            paypal_client(&url, &id, crate::demo::DEMO_CLIENT_SECRET.to_owned())
                        }
                        Ok(None) => Err(DeskError::new(
                            ErrorCode::MissingCredentials,
                            "Enter the PayPal client secret in Settings (it is kept in the system keyring).",
                        )),
                        Err(e) => Err(e),
                    },
                }
            }
        };
        let desk_id = capture::journal::desk_id(&pool).await?;
        Ok(Desk {
            pool,
            settings,
            saved,
            secrets: options.secrets,
            overrides,
            data_dir,
            gateway,
            paypal,
            desk_id,
            online: AtomicU8::new(UNKNOWN),
            sync_lock: tokio::sync::Mutex::new(()),
            demo,
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The settings as saved, before environment overrides.
    pub fn saved_settings(&self) -> &Settings {
        &self.saved
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
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

    /// The embedded demo sandbox, if running.
    pub fn demo_sandbox(&self) -> Option<&sandbox::Sandbox> {
        self.demo.as_ref()
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
            gateway_problem: self.gateway.as_ref().err().map(|e| e.message.clone()),
        })
    }

    /// Records whether the gateway answered: any answer, even a refusal, means online.
    fn note_reachability(&self, error: Option<&DeskError>) {
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
        let action = if result.is_ok() { "sync" } else { "sync_failed" };
        audit::record(&self.pool, &self.settings.staff_name, self.settings.environment, action, None, detail).await?;
        result
    }

    pub async fn list(&self, req: &ListRequest) -> Result<InvoicePage, DeskError> {
        invoices::list(&self.pool, req).await
    }

    pub async fn invoice(&self, invoice_no: i64) -> Result<InvoiceRow, DeskError> {
        invoices::get(&self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })
    }

    fn engine<'a>(&'a self, interrupt: Option<&'a dyn Interrupt>) -> Result<Engine<'a>, DeskError> {
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
            Ok(gw) => match gw.invoice(no).await {
                Ok(inv) => {
                    self.note_reachability(None);
                    live.payments = crate::detail::payments(&inv);
                    invoices::refresh_one(&self.pool, &inv).await?;
                    live.invoice = invoices::get(&self.pool, invoice_no).await?;
                }
                Err(e) => {
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

    /// Tries both services with the credentials in use: a one-row invoice list at the gateway,
    /// an OAuth token at PayPal. Moves nothing.
    pub async fn test_connection(&self) -> ConnectionReport {
        let started = std::time::Instant::now();
        let gateway = match self.gateway.as_ref().map_err(Clone::clone) {
            Err(e) => ConnectionCheck::failed(e, started),
            Ok(gw) => {
                let q = gateway::InvoiceListQuery { limit: 1, ..gateway::InvoiceListQuery::default() };
                match gw.list_invoices(&q).await {
                    Ok(p) => {
                        self.note_reachability(None);
                        let n = p.total.map_or_else(String::new, |t| format!(" ({t} outstanding invoices)"));
                        ConnectionCheck::ok(format!("The gateway answered{n}."), started)
                    }
                    Err(e) => {
                        let e = DeskError::from(e);
                        self.note_reachability(Some(&e));
                        ConnectionCheck::failed(e, started)
                    }
                }
            }
        };
        let started = std::time::Instant::now();
        let paypal = match self.paypal.as_ref().map_err(Clone::clone) {
            Err(e) => ConnectionCheck::failed(e, started),
            Ok(pp) => match pp.access_token().await {
                Ok(_) => ConnectionCheck::ok("PayPal accepted the client id and secret.".to_owned(), started),
                Err(e) => ConnectionCheck::failed(DeskError::from(e), started),
            },
        };
        let report = ConnectionReport { gateway, paypal };
        let detail = serde_json::json!({ "gateway": report.gateway.ok, "paypal": report.paypal.ok });
        if let Err(e) = audit::record(
            &self.pool,
            &self.settings.staff_name,
            self.settings.environment,
            "connection.tested",
            None,
            detail,
        )
        .await
        {
            tracing::warn!(error = %e, "could not audit the connection test");
        }
        report
    }

    /// The breakdown of a capture (wallet part, PayPal part, the customer's approval); moves nothing.
    pub async fn capture_preview(&self, invoice_no: i64) -> Result<CapturePreview, DeskError> {
        self.engine(None)?.preview(invoice_no).await
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

    /// Resumes every unfinished attempt from its journaled state.
    pub async fn recover(&self) -> Result<Vec<CaptureResult>, DeskError> {
        self.recover_with(None).await
    }

    pub async fn recover_with(&self, interrupt: Option<&dyn Interrupt>) -> Result<Vec<CaptureResult>, DeskError> {
        let unfinished = capture::journal::unfinished(&self.pool).await?;
        if unfinished.is_empty() {
            return Ok(Vec::new());
        }
        let engine = self.engine(interrupt)?;
        let mut results = Vec::new();
        for entry in unfinished {
            results.push(engine.resume(entry).await?);
        }
        Ok(results)
    }

    /// The newest journal entries (all, or one invoice's).
    pub async fn journal(&self, invoice_no: Option<i64>, limit: u32) -> Result<Vec<capture::Entry>, DeskError> {
        capture::journal::recent(&self.pool, invoice_no, limit).await
    }

    /// Stops the embedded sandbox (saving its world) and closes the database.
    pub async fn close(self) {
        if let Some(sb) = self.demo {
            sb.shutdown().await;
        }
        self.pool.close().await;
    }
}

/// The outcome of one "test connection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionCheck {
    pub ok: bool,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub error: Option<DeskError>,
    #[ts(type = "number")]
    pub millis: u64,
}

impl ConnectionCheck {
    fn ok(message: String, started: std::time::Instant) -> Self {
        ConnectionCheck { ok: true, message, error: None, millis: millis(started) }
    }
    fn failed(e: DeskError, started: std::time::Instant) -> Self {
        tracing::warn!(code = ?e.code, detail = ?e.detail, "connection test failed");
        ConnectionCheck { ok: false, message: e.message.clone(), error: Some(e), millis: millis(started) }
    }
}

fn millis(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionReport {
    pub gateway: ConnectionCheck,
    pub paypal: ConnectionCheck,
}

fn paypal_client(url: &str, client_id: &str, secret: String) -> Result<PaypalClient, DeskError> {
    PaypalClient::new(url, client_id, ClientSecret::new(secret), paypal::ClientOptions::default())
        .map_err(|e| DeskError::bad_input("The PayPal URL is not valid.").with_detail(e.detail()))
}

fn client(url: &str, token: String) -> Result<GatewayClient, DeskError> {
    GatewayClient::new(url, Token::new(token), ClientOptions::default())
        .map_err(|e| DeskError::bad_input("The gateway URL is not valid.").with_detail(e.detail()))
}

/// For demo: only the environment variable may override the demo token; the keyring is not asked.
struct NoStore;

impl Secrets for NoStore {
    fn get(&self, _: Environment, _: SecretKey) -> Result<Option<secrets::Secret>, DeskError> {
        Ok(None)
    }
    fn set(&self, _: Environment, _: SecretKey, _: &secrets::Secret) -> Result<(), DeskError> {
        Ok(())
    }
    fn delete(&self, _: Environment, _: SecretKey) -> Result<(), DeskError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{MemorySecrets, Secret};

    /// What a developer might have exported: every override, all of them wrong for the sandbox.
    fn exported() -> EnvOverrides {
        EnvOverrides::from_fn(|name| {
            let v = match name {
                "DESK_ENV" => "live",
                "DESK_GATEWAY_URL" => "http://127.0.0.1:9",
                "DESK_PAYPAL_URL" => "http://127.0.0.1:9",
                "DESK_PAYPAL_CLIENT_ID" => "exported-client-id",
                "DESK_STAFF" => "Exported Name",
                "DESK_GATEWAY_TOKEN" => "exported-wrong-token",
                "DESK_PAYPAL_CLIENT_SECRET" => "exported-wrong-secret",
                _ => return None,
            };
            Some(v.to_owned())
        })
    }

    async fn open(url: &str, dir: &std::path::Path, env_overrides: EnvOverrides) -> Desk {
        let store = Arc::new(MemorySecrets::default());
        let env = Environment::Sandbox;
        store.set(env, SecretKey::GatewayToken, &Secret::new(sandbox::DEMO_STAFF_TOKEN)).expect("secret");
        store.set(env, SecretKey::PaypalClientSecret, &Secret::new(sandbox::DEMO_CLIENT_SECRET)).expect("secret");
        let settings = Settings {
            environment: env,
            gateway_url: Some(url.to_owned()),
            paypal_url: Some(url.to_owned()),
            paypal_client_id: Some(sandbox::DEMO_CLIENT_ID.to_owned()),
            staff_name: "Test Clerk".into(),
        };
        let options =
            DeskOptions { data_dir: Some(dir.to_owned()), secrets: store, env_overrides, settings: Some(settings) };
        Desk::open(options).await.expect("desk opens")
    }

    /// With the overrides off the desk reads no `DESK_*` variable (the credentials included):
    /// it uses its settings and its store, and both services accept them. With the overrides
    /// on, the exported variables are what the desk uses (so the lookup is really wired).
    #[tokio::test]
    async fn exported_variables_are_ignored_unless_the_overrides_are_on() {
        let config = sandbox::Config { invoices: 3, rate_limit: 0, ..sandbox::Config::default() };
        let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
        let url = sb.base_url();

        let dir = tempfile::tempdir().expect("dir");
        let off = open(&url, dir.path(), EnvOverrides::off()).await;
        assert_eq!(off.environment(), Environment::Sandbox);
        assert_eq!(off.settings(), off.saved_settings());
        assert_eq!(off.env_overrides().get("DESK_GATEWAY_TOKEN"), None);
        let report = off.test_connection().await;
        assert!(report.gateway.ok, "{report:?}");
        assert!(report.paypal.ok, "{report:?}");
        off.close().await;

        // the same variables with the overrides on: only the credentials (the settings kept), so
        // the services are the sandbox and the credentials are the exported, wrong ones
        let credentials_only = EnvOverrides::from_fn(|name| {
            ["DESK_GATEWAY_TOKEN", "DESK_PAYPAL_CLIENT_SECRET", "DESK_STAFF"]
                .contains(&name)
                .then(|| exported().get(name))
                .flatten()
        });
        let dir = tempfile::tempdir().expect("dir");
        let on = open(&url, dir.path(), credentials_only).await;
        assert_eq!(on.settings().staff_name, "Exported Name");
        let report = on.test_connection().await;
        assert!(!report.gateway.ok, "the exported gateway token is used: {report:?}");
        assert!(!report.paypal.ok, "the exported client secret is used: {report:?}");
        on.close().await;

        let dir = tempfile::tempdir().expect("dir");
        let all = open(&url, dir.path(), exported()).await;
        assert_eq!(all.environment(), Environment::Live);
        assert_eq!(all.settings().gateway_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(all.saved_settings().environment, Environment::Sandbox);
        all.close().await;
    }
}
