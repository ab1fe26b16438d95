//! Credentials live only in the OS keyring (on Linux the Secret Service), behind one trait, so
//! tests use an in-memory store. A [`Secret`]'s `Debug` prints `***`; it is never logged,
//! stored in SQLite or settings, or sent to the UI.

use crate::{DeskError, ErrorCode};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Which credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKey {
    GatewayToken,
    PaypalClientSecret,
}

impl SecretKey {
    fn account(self) -> &'static str {
        match self {
            SecretKey::GatewayToken => "gateway-token",
            SecretKey::PaypalClientSecret => "paypal-client-secret",
        }
    }
    /// The environment variable that overrides the keyring (for scripts).
    pub fn env_var(self) -> &'static str {
        match self {
            SecretKey::GatewayToken => "DESK_GATEWAY_TOKEN",
            SecretKey::PaypalClientSecret => "DESK_PAYPAL_CLIENT_SECRET",
        }
    }
}

/// A secret value. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where secrets are kept.
pub trait Secrets: Send + Sync {
    fn get(&self, env: crate::Environment, key: SecretKey) -> Result<Option<Secret>, DeskError>;
    fn set(&self, env: crate::Environment, key: SecretKey, value: &Secret) -> Result<(), DeskError>;
    fn delete(&self, env: crate::Environment, key: SecretKey) -> Result<(), DeskError>;
}

/// The OS keyring (service `capture-desk`, one entry per environment and credential).
#[derive(Debug, Default)]
pub struct KeyringSecrets;

const SERVICE: &str = "capture-desk";

fn keyring_error(e: keyring::Error) -> DeskError {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => DeskError::new(
            ErrorCode::NoKeyring,
            "No keyring is available, so credentials cannot be stored. On Linux, start a Secret Service (GNOME Keyring or KWallet) and unlock it.",
        )
        .with_detail(e.to_string()),
        other => DeskError::new(ErrorCode::NoKeyring, "The keyring refused the request.").with_detail(other.to_string()),
    }
}

impl KeyringSecrets {
    fn entry(env: crate::Environment, key: SecretKey) -> Result<keyring::Entry, DeskError> {
        keyring::Entry::new(SERVICE, &format!("{}/{}", env.as_str(), key.account())).map_err(keyring_error)
    }
}

/// The Secret Service client blocks on its own runtime, which panics on a thread that already
/// drives one (every async caller of ours): each keyring call runs on a thread of its own.
fn off_runtime<T: Send>(op: impl FnOnce() -> Result<T, DeskError> + Send) -> Result<T, DeskError> {
    if tokio::runtime::Handle::try_current().is_err() {
        return op();
    }
    std::thread::scope(|s| s.spawn(op).join()).unwrap_or_else(|_| Err(DeskError::internal("the keyring call panicked")))
}

impl Secrets for KeyringSecrets {
    fn get(&self, env: crate::Environment, key: SecretKey) -> Result<Option<Secret>, DeskError> {
        off_runtime(|| match Self::entry(env, key)?.get_password() {
            Ok(p) => Ok(Some(Secret(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        })
    }
    fn set(&self, env: crate::Environment, key: SecretKey, value: &Secret) -> Result<(), DeskError> {
        off_runtime(|| Self::entry(env, key)?.set_password(value.expose()).map_err(keyring_error))
    }
    fn delete(&self, env: crate::Environment, key: SecretKey) -> Result<(), DeskError> {
        off_runtime(|| match Self::entry(env, key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        })
    }
}

/// In memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySecrets(Mutex<HashMap<(crate::Environment, SecretKey), Secret>>);

impl Secrets for MemorySecrets {
    fn get(&self, env: crate::Environment, key: SecretKey) -> Result<Option<Secret>, DeskError> {
        Ok(self.0.lock().map_err(DeskError::internal)?.get(&(env, key)).cloned())
    }
    fn set(&self, env: crate::Environment, key: SecretKey, value: &Secret) -> Result<(), DeskError> {
        self.0.lock().map_err(DeskError::internal)?.insert((env, key), value.clone());
        Ok(())
    }
    fn delete(&self, env: crate::Environment, key: SecretKey) -> Result<(), DeskError> {
        self.0.lock().map_err(DeskError::internal)?.remove(&(env, key));
        Ok(())
    }
}

/// Reads a secret: the environment variable first (scripts), then the store.
/// The keyring is only asked when the variable is absent.
pub fn resolve(store: &dyn Secrets, env: crate::Environment, key: SecretKey) -> Result<Option<Secret>, DeskError> {
    if let Some(v) = crate::settings::env(key.env_var()) {
        return Ok(Some(Secret(v)));
    }
    store.get(env, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert!(!format!("{:?}", Some(s)).contains("hunter2"));
    }

    /// Inside a runtime (as every command is) the keyring answers or fails cleanly; it must not
    /// panic. With a Secret Service running (the e2e run has one) it round-trips.
    #[tokio::test]
    async fn the_keyring_is_usable_from_async_code() {
        let k = KeyringSecrets;
        let env = crate::Environment::Sandbox;
        match k.get(env, SecretKey::GatewayToken) {
            Err(e) => assert_eq!(e.code, ErrorCode::NoKeyring, "{e:?}"),
            Ok(_) => {
                let key = SecretKey::PaypalClientSecret;
                let before = k.get(crate::Environment::Live, key).expect("get");
                k.set(crate::Environment::Live, key, &Secret::new("unit-test-value")).expect("set");
                assert_eq!(k.get(crate::Environment::Live, key).expect("get"), Some(Secret::new("unit-test-value")));
                match before {
                    Some(v) => k.set(crate::Environment::Live, key, &v).expect("restore"),
                    None => k.delete(crate::Environment::Live, key).expect("delete"),
                }
            }
        }
    }

    #[test]
    fn memory_store_round_trips_per_environment() {
        let m = MemorySecrets::default();
        let env = crate::Environment::Sandbox;
        m.set(env, SecretKey::GatewayToken, &Secret::new("t")).expect("set");
        assert_eq!(m.get(env, SecretKey::GatewayToken).expect("get"), Some(Secret::new("t")));
        assert_eq!(m.get(crate::Environment::Live, SecretKey::GatewayToken).expect("get"), None);
        m.delete(env, SecretKey::GatewayToken).expect("delete");
        assert_eq!(m.get(env, SecretKey::GatewayToken).expect("get"), None);
    }
}
