//! Settings: which environment, which URLs, who is working. Stored in the machine's settings
//! database (`<data>/settings.sqlite3`, see [`crate::environments`]), overridable from the
//! environment for scripts. Never holds a secret.
//!
//! The environment choice, the staff name and the `ui.*` preferences belong to the machine. The
//! connection settings (gateway URL, PayPal URL, PayPal client id) belong to their environment:
//! they are kept under its own keys (`sandbox.gateway_url`), so the settings of one environment
//! are never used in another, and `DESK_ENV=live` uses live's. The batch pace (`batch.*`,
//! [`batch`]) belongs to the machine too.

pub mod batch;

pub use batch::{BatchPaceSetting, BatchSettings};

use crate::DeskError;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use std::sync::Arc;
use ts_rs::TS;

/// Where money moves. `demo` is the embedded sandbox; `live` moves real money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum Environment {
    Demo,
    Sandbox,
    Live,
}

impl Environment {
    pub const ALL: [Environment; 3] = [Environment::Demo, Environment::Sandbox, Environment::Live];

    pub fn parse(s: &str) -> Result<Self, DeskError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "demo" => Ok(Environment::Demo),
            "sandbox" => Ok(Environment::Sandbox),
            "live" => Ok(Environment::Live),
            other => Err(DeskError::bad_input(format!("Unknown environment {other:?}: use demo, sandbox or live."))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Demo => "demo",
            Environment::Sandbox => "sandbox",
            Environment::Live => "live",
        }
    }
    /// PayPal's base URL for this environment (demo: none, the embedded sandbox decides).
    pub fn default_paypal_url(self) -> Option<&'static str> {
        match self {
            Environment::Demo => None,
            Environment::Sandbox => Some("https://api-m.sandbox.paypal.com"),
            Environment::Live => Some("https://api-m.paypal.com"),
        }
    }
}

/// Saved settings (what the Settings screen edits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Settings {
    pub environment: Environment,
    pub gateway_url: Option<String>,
    pub paypal_url: Option<String>,
    pub paypal_client_id: Option<String>,
    pub staff_name: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            environment: Environment::Demo,
            gateway_url: None,
            paypal_url: None,
            paypal_client_id: None,
            staff_name: default_staff_name(),
        }
    }
}

fn default_staff_name() -> String {
    std::env::var("USER").ok().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "staff".into())
}

/// The connection settings, each kept per environment.
const CONNECTION: [&str; 3] = ["gateway_url", "paypal_url", "paypal_client_id"];

/// The machine-settings key of `env`'s connection setting `name` (`sandbox.gateway_url`).
pub(crate) fn connection_key(env: Environment, name: &str) -> String {
    format!("{}.{name}", env.as_str())
}

impl Settings {
    /// Reads the saved settings from the machine's settings (defaults for anything never
    /// saved): the saved environment with its own connection settings.
    pub async fn load(machine: &SqlitePool) -> Result<Settings, DeskError> {
        let env: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = 'environment'").fetch_optional(machine).await?;
        let env = match env {
            Some(e) => Environment::parse(&e)?,
            None => Settings::default().environment,
        };
        Settings::load_for(machine, env).await
    }

    /// The saved staff name with `env`'s own connection settings (whichever environment is saved).
    pub async fn load_for(machine: &SqlitePool, env: Environment) -> Result<Settings, DeskError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings").fetch_all(machine).await?;
        let mut s = Settings { environment: env, ..Settings::default() };
        let [gateway, paypal, client] = CONNECTION.map(|k| connection_key(env, k));
        for (k, v) in rows {
            match k.as_str() {
                "staff_name" => s.staff_name = v,
                k if k == gateway => s.gateway_url = Some(v),
                k if k == paypal => s.paypal_url = Some(v),
                k if k == client => s.paypal_client_id = Some(v),
                _ => {}
            }
        }
        Ok(s)
    }

    /// Checks and saves all settings in one transaction: the environment and the staff name for
    /// the machine, the connection settings for [`Settings::environment`] (other environments'
    /// are kept).
    pub async fn save(&self, machine: &SqlitePool) -> Result<(), DeskError> {
        self.validate()?;
        let env = self.environment;
        let values = [
            ("environment".to_owned(), Some(env.as_str().to_owned())),
            ("staff_name".to_owned(), Some(self.staff_name.clone())),
            (connection_key(env, CONNECTION[0]), self.gateway_url.clone()),
            (connection_key(env, CONNECTION[1]), self.paypal_url.clone()),
            (connection_key(env, CONNECTION[2]), self.paypal_client_id.clone()),
        ];
        let mut tx = machine.begin_with("BEGIN IMMEDIATE").await?;
        for (k, v) in values {
            sqlx::query("DELETE FROM settings WHERE key = ?").bind(&k).execute(&mut *tx).await?;
            if let Some(v) = v {
                sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?)")
                    .bind(k)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub fn validate(&self) -> Result<(), DeskError> {
        for (name, url) in [("gateway URL", &self.gateway_url), ("PayPal URL", &self.paypal_url)] {
            if let Some(u) = url {
                if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() > 500 {
                    return Err(DeskError::bad_input(format!("The {name} must start with http:// or https://.")));
                }
            }
        }
        if self.staff_name.trim().is_empty() || self.staff_name.len() > 100 {
            return Err(DeskError::bad_input("Enter your name (it goes into the audit log)."));
        }
        Ok(())
    }

    /// Applies `DESK_ENV`, `DESK_GATEWAY_URL`, `DESK_PAYPAL_URL`, `DESK_PAYPAL_CLIENT_ID` and
    /// `DESK_STAFF` as `vars` gives them (none when the overrides are off).
    pub fn with_overrides(mut self, vars: &EnvOverrides) -> Result<Settings, DeskError> {
        if let Some(e) = vars.get("DESK_ENV") {
            self.environment = Environment::parse(&e)?;
        }
        if let Some(u) = vars.get("DESK_GATEWAY_URL") {
            self.gateway_url = Some(u);
        }
        if let Some(u) = vars.get("DESK_PAYPAL_URL") {
            self.paypal_url = Some(u);
        }
        if let Some(id) = vars.get("DESK_PAYPAL_CLIENT_ID") {
            self.paypal_client_id = Some(id);
        }
        if let Some(n) = vars.get("DESK_STAFF") {
            self.staff_name = n;
        }
        self.validate()?;
        Ok(self)
    }
}

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where the `DESK_*` overrides (settings and credentials) are read from. Only a front end turns
/// them on, with the process environment ([`EnvOverrides::process`]); a desk opened without them
/// reads no variable at all, so what a developer exported changes no test. Tests that need a
/// variable pass a lookup of their own ([`EnvOverrides::from_fn`]) instead of touching the
/// process environment.
#[derive(Clone, Default)]
pub struct EnvOverrides(Option<Arc<Lookup>>);

impl EnvOverrides {
    /// No overrides: every lookup answers `None`.
    pub fn off() -> Self {
        EnvOverrides(None)
    }

    /// The process environment.
    pub fn process() -> Self {
        EnvOverrides(Some(Arc::new(|name: &str| std::env::var(name).ok())))
    }

    /// Variables from `lookup` (tests).
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        EnvOverrides(Some(Arc::new(lookup)))
    }

    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// The variable's value, trimmed; `None` when unset, blank, or the overrides are off.
    pub fn get(&self, name: &str) -> Option<String> {
        let value = (self.0.as_ref()?)(name)?;
        Some(value.trim().to_owned()).filter(|v| !v.is_empty())
    }
}

impl std::fmt::Debug for EnvOverrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_on() { "EnvOverrides(on)" } else { "EnvOverrides(off)" })
    }
}

/// A process environment variable, trimmed (for what is read before any desk exists, such as
/// `DESK_DATA_DIR`).
pub(crate) fn env(name: &str) -> Option<String> {
    EnvOverrides::process().get(name)
}

/// A UI preference (column choice and the like), kept in the machine's settings. Keys start with `ui.`.
pub async fn preference(pool: &SqlitePool, key: &str) -> Result<Option<String>, DeskError> {
    check_preference_key(key)?;
    let row: Option<(String,)> =
        sqlx::query_as("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(pool).await?;
    Ok(row.map(|(v,)| v))
}

pub async fn set_preference(pool: &SqlitePool, key: &str, value: &str) -> Result<(), DeskError> {
    check_preference_key(key)?;
    if value.len() > 4096 {
        return Err(DeskError::bad_input("The preference is too long."));
    }
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(pool)
    .await?;
    Ok(())
}

fn check_preference_key(key: &str) -> Result<(), DeskError> {
    let ok = key.len() <= 64
        && key
            .strip_prefix("ui.")
            .is_some_and(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'));
    if ok {
        Ok(())
    } else {
        Err(DeskError::bad_input(format!("Unknown preference {key:?}.")))
    }
}
