//! [`Session`]: the desk the app holds for its whole life. Saving settings or a credential
//! writes them, then closes the desk and opens a new one with them, so the clients, the demo
//! world, the environment's database and the status always match what is saved. Switching
//! environment closes one environment's database and opens the other's: nothing of the one is
//! shown in the other (see [`crate::environments`]).
//!
//! A desk is only replaced when nothing else uses it (no capture, sync or detail call in
//! flight); otherwise the change is refused and nothing is written.

use crate::secrets::{Secret, SecretKey};
use crate::{audit, environments, store, Desk, DeskError, DeskFactory, DeskOptions, Environment, ErrorCode, Settings};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::RwLock;
use ts_rs::TS;

/// Which credential the Settings screen stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CredentialKind {
    GatewayToken,
    PaypalClientSecret,
}

impl CredentialKind {
    fn key(self) -> SecretKey {
        match self {
            CredentialKind::GatewayToken => SecretKey::GatewayToken,
            CredentialKind::PaypalClientSecret => SecretKey::PaypalClientSecret,
        }
    }
    fn label(self) -> &'static str {
        match self {
            CredentialKind::GatewayToken => "gateway token",
            CredentialKind::PaypalClientSecret => "PayPal client secret",
        }
    }
}

/// Where a credential comes from. Its value never leaves the keyring towards the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum CredentialSource {
    /// In the OS keyring for this environment.
    Keyring,
    /// From an environment variable (scripts); the keyring is not asked.
    EnvironmentVariable,
    /// Demo needs none.
    NotNeeded,
    Missing,
    /// The keyring could not be read.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CredentialState {
    pub kind: CredentialKind,
    pub source: CredentialSource,
}

/// Everything the Settings screen shows. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SettingsView {
    pub saved: Settings,
    /// What is in effect (saved, with environment variables applied).
    pub effective: Settings,
    /// The environment variables overriding saved settings.
    pub overridden_by: Vec<String>,
    pub credentials: Vec<CredentialState>,
    /// Why the keyring cannot be used, if so.
    pub keyring_problem: Option<String>,
    pub data_dir: String,
    /// Each environment's saved settings (its own connection settings), so the Settings screen
    /// shows the right ones when the clerk picks another environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub by_environment: Option<Vec<Settings>>,
}

/// The word to type before switching to `live`.
pub const LIVE_CONFIRMATION: &str = "LIVE";

const OVERRIDES: [&str; 7] = [
    "DESK_ENV",
    "DESK_GATEWAY_URL",
    "DESK_PAYPAL_URL",
    "DESK_PAYPAL_CLIENT_ID",
    "DESK_STAFF",
    "DESK_GATEWAY_TOKEN",
    "DESK_PAYPAL_CLIENT_SECRET",
];

type MakeOptions = Box<dyn Fn(PathBuf) -> DeskOptions + Send + Sync>;

pub struct Session {
    data_dir: PathBuf,
    factory: DeskFactory,
    make: MakeOptions,
    current: RwLock<Result<Arc<Desk>, DeskError>>,
}

impl Session {
    /// Opens the desk with `make(data_dir)`; the same function reopens it after a change.
    /// Without a demo world (see [`Session::open_with`]).
    pub async fn open(
        data_dir: Option<PathBuf>,
        make: impl Fn(PathBuf) -> DeskOptions + Send + Sync + 'static,
    ) -> Result<Session, DeskError> {
        Session::open_with(data_dir, DeskFactory::default(), make).await
    }

    /// Opens the desk with `factory` (the app's, with its demo host) and `make(data_dir)`.
    pub async fn open_with(
        data_dir: Option<PathBuf>,
        factory: DeskFactory,
        make: impl Fn(PathBuf) -> DeskOptions + Send + Sync + 'static,
    ) -> Result<Session, DeskError> {
        let data_dir = match data_dir {
            Some(d) => d,
            None => store::default_data_dir()?,
        };
        let desk = factory.open(make(data_dir.clone())).await.map(Arc::new);
        if let Err(e) = &desk {
            tracing::error!(code = ?e.code, message = %e.message, detail = ?e.detail, "the desk could not open");
        }
        Ok(Session { data_dir, factory, make: Box::new(make), current: RwLock::new(desk) })
    }

    /// The desk in use, or why it could not open.
    pub async fn desk(&self) -> Result<Arc<Desk>, DeskError> {
        self.current.read().await.as_ref().map(Arc::clone).map_err(Clone::clone)
    }

    pub async fn settings(&self) -> Result<SettingsView, DeskError> {
        let desk = self.desk().await?;
        view(&desk).await
    }

    /// Checks and saves `new`, then reopens the desk with it. Switching to `live` needs
    /// `confirmation` to be [`LIVE_CONFIRMATION`].
    pub async fn save_settings(&self, new: Settings, confirmation: Option<&str>) -> Result<SettingsView, DeskError> {
        new.validate()?;
        let mut current = self.current.write().await;
        let before = match current.as_ref() {
            Ok(d) => d.saved_settings().clone(),
            Err(_) => Settings::default(),
        };
        if new.environment == Environment::Live
            && before.environment != Environment::Live
            && confirmation.map(str::trim) != Some(LIVE_CONFIRMATION)
        {
            return Err(DeskError::bad_input(format!(
                "Switching to live moves real money: type {LIVE_CONFIRMATION} to confirm."
            )));
        }
        let desk = take_idle(&mut current)?;
        let written = write_settings(desk.as_ref(), &self.data_dir, &new, &before).await;
        self.reopen(&mut current, desk).await;
        written?;
        view(current.as_ref().map_err(Clone::clone)?).await
    }

    /// Stores a credential in the keyring for the environment in effect, then reopens the desk
    /// so it is used. The value is never returned, logged or saved anywhere else.
    pub async fn set_credential(&self, kind: CredentialKind, value: &str) -> Result<SettingsView, DeskError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(DeskError::bad_input(format!("Enter the {}.", kind.label())));
        }
        if value.len() > 4096 || value.chars().any(char::is_control) {
            return Err(DeskError::bad_input(format!("That does not look like a {}.", kind.label())));
        }
        self.change_credential(kind, Some(Secret::new(value))).await
    }

    /// Removes a credential from the keyring.
    pub async fn clear_credential(&self, kind: CredentialKind) -> Result<SettingsView, DeskError> {
        self.change_credential(kind, None).await
    }

    async fn change_credential(&self, kind: CredentialKind, value: Option<Secret>) -> Result<SettingsView, DeskError> {
        let mut current = self.current.write().await;
        let desk = take_idle(&mut current)?;
        let result = async {
            let d = desk.as_ref().ok_or_else(|| DeskError::internal("the desk is not open"))?;
            let env = d.environment();
            match &value {
                Some(v) => d.secrets().set(env, kind.key(), v)?,
                None => d.secrets().delete(env, kind.key())?,
            }
            let action = if value.is_some() {
                audit::AuditAction::CredentialSaved
            } else {
                audit::AuditAction::CredentialRemoved
            };
            let detail = serde_json::json!({ "credential": kind, "store": "keyring" });
            audit::record(d.pool(), &d.settings().staff_name, env, action, None, detail).await
        }
        .await;
        self.reopen(&mut current, desk).await;
        result?;
        view(current.as_ref().map_err(Clone::clone)?).await
    }

    async fn reopen(&self, current: &mut Result<Arc<Desk>, DeskError>, old: Option<Desk>) {
        if let Some(old) = old {
            old.close().await;
        }
        *current = self.factory.open((self.make)(self.data_dir.clone())).await.map(Arc::new);
        if let Err(e) = current.as_ref() {
            tracing::error!(code = ?e.code, message = %e.message, detail = ?e.detail, "the desk could not reopen");
        }
    }

    /// Closes the desk (letting go of the demo world; a host saves it).
    pub async fn close(self) {
        if let Ok(desk) = self.current.into_inner() {
            match Arc::try_unwrap(desk) {
                Ok(desk) => desk.close().await,
                Err(_) => tracing::warn!("the desk is still in use; it closes when the last user lets go"),
            }
        }
    }
}

/// Takes the desk out of `current` if nothing else holds it (`None` if it never opened).
fn take_idle(current: &mut Result<Arc<Desk>, DeskError>) -> Result<Option<Desk>, DeskError> {
    let busy = || {
        DeskError::new(
            ErrorCode::Conflict,
            "A capture, sync or lookup is still running. Try again when it has finished.",
        )
    };
    match current {
        Err(_) => Ok(None),
        Ok(arc) if Arc::strong_count(arc) > 1 => Err(busy()),
        Ok(_) => {
            let taken = std::mem::replace(current, Err(DeskError::internal("the desk is reopening")));
            match taken {
                Ok(arc) => Ok(Arc::try_unwrap(arc).ok()),
                Err(e) => Err(e),
            }
        }
    }
}

/// Saves `new` in the machine's settings, and audits it in the log of the environment the
/// settings are for (its connection settings before and after).
async fn write_settings(
    desk: Option<&Desk>,
    data_dir: &std::path::Path,
    new: &Settings,
    before: &Settings,
) -> Result<(), DeskError> {
    let opened;
    let machine = match desk {
        Some(d) => d.machine_pool(),
        None => {
            opened = environments::open_settings(data_dir).await?;
            &opened
        }
    };
    let saved = async {
        let here_before = Settings::load_for(machine, new.environment).await?;
        new.save(machine).await?;
        Ok::<_, DeskError>(here_before)
    }
    .await;
    if desk.is_none() {
        machine.close().await;
    }
    let here_before = saved?;
    let detail = serde_json::json!({
        "environment": { "before": before.environment, "after": new.environment },
        "before": here_before,
        "after": new,
    });
    let record = |pool| {
        audit::record(pool, &new.staff_name, new.environment, audit::AuditAction::SettingsSaved, None, detail.clone())
    };
    match desk.filter(|d| d.environment() == new.environment) {
        Some(d) => record(d.pool()).await,
        None => {
            let pool = environments::open_environment_alone(data_dir, new.environment).await?;
            let r = record(&pool).await;
            pool.close().await;
            r
        }
    }
}

async fn view(desk: &Desk) -> Result<SettingsView, DeskError> {
    let effective = desk.settings().clone();
    let env = effective.environment;
    let mut keyring_problem = None;
    let credentials = [CredentialKind::GatewayToken, CredentialKind::PaypalClientSecret]
        .into_iter()
        .map(|kind| {
            let source = if desk.env_overrides().get(kind.key().env_var()).is_some() {
                CredentialSource::EnvironmentVariable
            } else if env == Environment::Demo {
                CredentialSource::NotNeeded
            } else {
                match desk.secrets().get(env, kind.key()) {
                    Ok(Some(_)) => CredentialSource::Keyring,
                    Ok(None) => CredentialSource::Missing,
                    Err(e) => {
                        keyring_problem = Some(e.message);
                        CredentialSource::Unavailable
                    }
                }
            };
            CredentialState { kind, source }
        })
        .collect();
    let mut by_environment = Vec::new();
    for env in Environment::ALL {
        by_environment.push(Settings::load_for(desk.machine_pool(), env).await?);
    }
    Ok(SettingsView {
        saved: desk.saved_settings().clone(),
        effective,
        overridden_by: OVERRIDES
            .iter()
            .filter(|v| desk.env_overrides().get(v).is_some())
            .map(|v| (*v).to_owned())
            .collect(),
        credentials,
        keyring_problem,
        data_dir: desk.data_dir().display().to_string(),
        by_environment: Some(by_environment),
    })
}
