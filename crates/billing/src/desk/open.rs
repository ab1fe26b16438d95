//! Opening a desk: the data directory prepared, the environment in effect decided, that
//! environment's database opened, and the gateway and PayPal clients wired to the environment's
//! services (in `demo`, the demo world a front end's [`DemoHost`] provides). The engine
//! ([`Desk`]) is handed what this makes and knows nothing of where it came from.

use super::{Desk, UNKNOWN};
use crate::demo::{DemoHost, DemoWorld};
use crate::environments;
use crate::secrets::{self, Secret, SecretKey, Secrets};
use crate::settings::EnvOverrides;
use crate::{DeskError, Environment, ErrorCode, Settings};
use gateway::{ClientOptions, GatewayClient, Token};
use pace::Pace;
use paypal::{ClientSecret, PaypalClient};
use sqlx::SqlitePool;
use std::path::PathBuf;
use std::sync::atomic::AtomicU8;
use std::sync::Arc;

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

/// Opens desks; the front ends that offer the demo give it their [`DemoHost`].
#[derive(Clone, Default)]
pub struct DeskFactory {
    demo: Option<Arc<dyn DemoHost>>,
}

impl DeskFactory {
    /// A factory whose `demo` desks use `host`'s world.
    pub fn with_demo(host: Arc<dyn DemoHost>) -> Self {
        DeskFactory { demo: Some(host) }
    }

    /// Opens the environment in effect: its database (splitting the single database of an
    /// earlier version first), its settings and credentials, and in `demo` its world.
    pub async fn open(&self, options: DeskOptions) -> Result<Desk, DeskError> {
        let overrides = options.env_overrides;
        let data_dir = match options.data_dir {
            Some(d) => d,
            None => crate::store::default_data_dir()?,
        };
        let prepared = environments::prepare(&data_dir).await?;
        let chosen = choose(&prepared.settings, options.settings, &overrides).await;
        let (saved, settings) = match chosen {
            Ok(c) => c,
            Err(e) => {
                prepared.settings.close().await;
                return Err(e);
            }
        };
        let env = settings.environment;
        let (machine, pool) = prepared.open_environment(&data_dir, env).await?;
        let desk_id = match crate::capture::journal::desk_id(&pool).await {
            Ok(id) => id,
            Err(e) => {
                machine.close().await;
                pool.close().await;
                return Err(e);
            }
        };
        let mut demo = None;
        if env == Environment::Demo && settings.gateway_url.is_none() {
            if let Some(host) = &self.demo {
                match host.open(&environments::environment_dir(&data_dir, env)).await {
                    Ok(world) => demo = Some(world),
                    Err(e) => {
                        machine.close().await;
                        pool.close().await;
                        return Err(e);
                    }
                }
            }
        }
        let wiring = Wiring { settings: &settings, overrides: &overrides, secrets: options.secrets.as_ref() };
        let (gateway, paypal) = wiring.clients(self.demo.as_deref(), demo.as_deref());
        // one pace for both clients: a batch's rate limit caps the sum of their requests
        let pace = Arc::new(Pace::unlimited());
        let gateway = gateway.map(|c| c.with_pace(Arc::clone(&pace)));
        let paypal = paypal.map(|c| c.with_pace(Arc::clone(&pace)));
        Ok(Desk {
            pace,
            pool,
            machine,
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
            opening: crate::invoices::ReadAhead::default(),
        })
    }
}

/// The settings as saved, and in effect: the environment `DESK_ENV` names (else the saved one)
/// with that environment's own connection settings, then the other overrides.
async fn choose(
    machine: &SqlitePool,
    given: Option<Settings>,
    overrides: &EnvOverrides,
) -> Result<(Settings, Settings), DeskError> {
    let from_file = given.is_none();
    let saved = match given {
        Some(s) => {
            s.validate()?;
            s
        }
        None => Settings::load(machine).await?,
    };
    let env = match overrides.get("DESK_ENV") {
        Some(e) => Environment::parse(&e)?,
        None => saved.environment,
    };
    let base = if env == saved.environment {
        saved.clone()
    } else if from_file {
        Settings::load_for(machine, env).await?
    } else {
        // the given connection settings are the given environment's, not this one's
        Settings {
            environment: env,
            gateway_url: None,
            paypal_url: None,
            paypal_client_id: None,
            staff_name: saved.staff_name.clone(),
        }
    };
    let effective = base.with_overrides(overrides)?;
    Ok((saved, effective))
}

struct Wiring<'a> {
    settings: &'a Settings,
    overrides: &'a EnvOverrides,
    secrets: &'a dyn Secrets,
}

type Clients = (Result<GatewayClient, DeskError>, Result<PaypalClient, DeskError>);

impl Wiring<'_> {
    fn env(&self) -> Environment {
        self.settings.environment
    }

    /// A credential: the override; else the keyring (never for the demo world, which has its
    /// own); in demo, else the demo's.
    fn credential(
        &self,
        key: SecretKey,
        host: Option<&dyn DemoHost>,
        world: bool,
    ) -> Result<Option<Secret>, DeskError> {
        let stored = if world { None } else { secrets::resolve(self.secrets, self.overrides, self.env(), key)? };
        let stored = stored.or_else(|| self.overrides.get(key.env_var()).map(Secret::new));
        if stored.is_some() || self.env() != Environment::Demo {
            return Ok(stored);
        }
        Ok(host.map(|h| {
            let c = h.credentials();
            match key {
                SecretKey::GatewayToken => c.staff_token,
                SecretKey::PaypalClientSecret => c.client_secret,
            }
        }))
    }

    fn clients(&self, host: Option<&dyn DemoHost>, world: Option<&dyn DemoWorld>) -> Clients {
        let s = self.settings;
        let no_world = || {
            DeskError::new(
                ErrorCode::MissingCredentials,
                "The built-in demo is not part of this program. Use the Capture Desk app or `desk`, or set a gateway URL in Settings.",
            )
        };
        let gateway_url = match (&s.gateway_url, world) {
            (Some(url), _) => Ok((url.clone(), false)),
            (None, Some(w)) => Ok((w.base_url(), true)),
            (None, None) if self.env() == Environment::Demo => Err(no_world()),
            (None, None) => Err(DeskError::new(ErrorCode::MissingCredentials, "Set the gateway URL in Settings.")),
        };
        let gateway =
            gateway_url.and_then(|(url, world)| match self.credential(SecretKey::GatewayToken, host, world)? {
                Some(token) => gateway_client(&url, token.expose().to_owned()),
                None => Err(DeskError::new(
                    ErrorCode::MissingCredentials,
                    "Enter the gateway token in Settings (it is kept in the system keyring).",
                )),
            });
        let paypal_url = match (&s.paypal_url, world) {
            (Some(url), _) => Ok((url.clone(), false)),
            (None, Some(w)) => Ok((w.base_url(), true)),
            (None, None) => match self.env().default_paypal_url() {
                Some(url) => Ok((url.to_owned(), false)),
                None if self.env() == Environment::Demo => Err(no_world()),
                None => Err(DeskError::new(ErrorCode::MissingCredentials, "Set the PayPal URL in Settings.")),
            },
        };
        let client_id = match (&s.paypal_client_id, host) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(h)) if self.env() == Environment::Demo => Some(h.credentials().client_id),
            (None, _) => None,
        };
        let paypal = paypal_url.and_then(|(url, world)| {
            let id = client_id.ok_or_else(|| {
                DeskError::new(ErrorCode::MissingCredentials, "Enter the PayPal client id in Settings.")
            })?;
            match self.credential(SecretKey::PaypalClientSecret, host, world)? {
                Some(secret) => paypal_client(&url, &id, secret.expose().to_owned()),
                None => Err(DeskError::new(
                    ErrorCode::MissingCredentials,
                    "Enter the PayPal client secret in Settings (it is kept in the system keyring).",
                )),
            }
        });
        (gateway, paypal)
    }
}

fn paypal_client(url: &str, client_id: &str, secret: String) -> Result<PaypalClient, DeskError> {
    PaypalClient::new(url, client_id, ClientSecret::new(secret), paypal::ClientOptions::default())
        .map_err(|e| DeskError::bad_input("The PayPal URL is not valid.").with_detail(e.detail()))
}

fn gateway_client(url: &str, token: String) -> Result<GatewayClient, DeskError> {
    GatewayClient::new(url, Token::new(token), ClientOptions::default())
        .map_err(|e| DeskError::bad_input("The gateway URL is not valid.").with_detail(e.detail()))
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
