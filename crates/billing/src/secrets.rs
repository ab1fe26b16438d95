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

/// The OS keyring: one entry per environment and credential, under a service name. The app's
/// is [`APP_SERVICE`]; tests name a service of their own ([`KeyringSecrets::for_service`]) and
/// so never read or write the app's entries.
#[derive(Debug, Clone)]
pub struct KeyringSecrets {
    service: String,
}

/// The keyring service the app keeps its credentials under.
pub const APP_SERVICE: &str = "capture-desk";

impl Default for KeyringSecrets {
    fn default() -> Self {
        KeyringSecrets::for_service(APP_SERVICE)
    }
}

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
    /// The entries of keyring service `service`.
    pub fn for_service(service: impl Into<String>) -> Self {
        KeyringSecrets { service: service.into() }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, env: crate::Environment, key: SecretKey) -> Result<keyring::Entry, DeskError> {
        keyring::Entry::new(&self.service, &format!("{}/{}", env.as_str(), key.account())).map_err(keyring_error)
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
        off_runtime(|| match self.entry(env, key)?.get_password() {
            Ok(p) => Ok(Some(Secret(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        })
    }
    fn set(&self, env: crate::Environment, key: SecretKey, value: &Secret) -> Result<(), DeskError> {
        off_runtime(|| self.entry(env, key)?.set_password(value.expose()).map_err(keyring_error))
    }
    fn delete(&self, env: crate::Environment, key: SecretKey) -> Result<(), DeskError> {
        off_runtime(|| match self.entry(env, key)?.delete_credential() {
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

/// Reads a secret: its environment variable first when `vars` has the overrides on (scripts),
/// then the store. The store is only asked when the variable is absent.
pub fn resolve(
    store: &dyn Secrets,
    vars: &crate::settings::EnvOverrides,
    env: crate::Environment,
    key: SecretKey,
) -> Result<Option<Secret>, DeskError> {
    if let Some(v) = vars.get(key.env_var()) {
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

    /// A keyring service of the test's own, never the app's.
    fn test_service() -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        format!("{APP_SERVICE}-test-{}-{nanos}", std::process::id())
    }

    const SLOTS: [(crate::Environment, SecretKey); 4] = [
        (crate::Environment::Sandbox, SecretKey::GatewayToken),
        (crate::Environment::Sandbox, SecretKey::PaypalClientSecret),
        (crate::Environment::Live, SecretKey::GatewayToken),
        (crate::Environment::Live, SecretKey::PaypalClientSecret),
    ];

    /// Removes the test service's entries even when the test panics half-way.
    struct Cleanup<'a>(&'a KeyringSecrets);

    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            for (env, key) in SLOTS {
                let _ = self.0.delete(env, key);
            }
        }
    }

    /// Called from async code (as every command is), the keyring round-trips each environment's
    /// credentials under a service of the test's own and leaves nothing behind. A missing or
    /// locked keyring fails the test: `cargo xtask test` runs it (by this name) in a private
    /// D-Bus session with an unlocked GNOME Keyring, and checks that the keyring's items are the
    /// same before and after; plain `cargo test` reports it as ignored.
    #[tokio::test]
    #[ignore = "needs a Secret Service; cargo xtask test runs it in the keyring step"]
    async fn the_keyring_round_trips_from_async_code() {
        let k = KeyringSecrets::for_service(test_service());
        assert_ne!(k.service(), APP_SERVICE);
        let _cleanup = Cleanup(&k);
        for (env, key) in SLOTS {
            assert_eq!(k.get(env, key).expect("a reachable, unlocked keyring"), None, "{env:?} {key:?}");
        }
        let sandbox = (crate::Environment::Sandbox, SecretKey::GatewayToken);
        let live = (crate::Environment::Live, SecretKey::PaypalClientSecret);
        k.set(sandbox.0, sandbox.1, &Secret::new("unit-test-sandbox-token")).expect("set");
        k.set(live.0, live.1, &Secret::new("unit-test-live-secret")).expect("set");
        for slot in SLOTS {
            let expected = if slot == sandbox {
                Some(Secret::new("unit-test-sandbox-token"))
            } else if slot == live {
                Some(Secret::new("unit-test-live-secret"))
            } else {
                None
            };
            assert_eq!(k.get(slot.0, slot.1).expect("get"), expected, "{slot:?}");
        }
        k.set(live.0, live.1, &Secret::new("unit-test-live-secret-2")).expect("replace");
        assert_eq!(k.get(live.0, live.1).expect("get"), Some(Secret::new("unit-test-live-secret-2")));
        for (env, key) in SLOTS {
            k.delete(env, key).expect("delete (also of an entry never stored)");
            assert_eq!(k.get(env, key).expect("get"), None, "{env:?} {key:?}");
        }
    }

    #[test]
    fn the_app_and_tests_use_different_keyring_services() {
        assert_eq!(KeyringSecrets::default().service(), "capture-desk");
        let test = test_service();
        assert!(test.starts_with(&format!("capture-desk-test-{}-", std::process::id())), "{test}");
    }

    /// With the overrides off, an exported `DESK_GATEWAY_TOKEN` is not read: the store answers.
    #[test]
    fn resolve_reads_the_variables_only_when_the_overrides_are_on() {
        use crate::settings::EnvOverrides;
        let store = MemorySecrets::default();
        let env = crate::Environment::Sandbox;
        store.set(env, SecretKey::GatewayToken, &Secret::new("stored")).expect("set");
        let exported = |name: &str| (name == "DESK_GATEWAY_TOKEN").then(|| " exported ".to_owned());
        let off = EnvOverrides::off();
        assert_eq!(resolve(&store, &off, env, SecretKey::GatewayToken).expect("off"), Some(Secret::new("stored")));
        let on = EnvOverrides::from_fn(exported);
        assert_eq!(resolve(&store, &on, env, SecretKey::GatewayToken).expect("on"), Some(Secret::new("exported")));
        assert_eq!(resolve(&store, &on, env, SecretKey::PaypalClientSecret).expect("on"), None);
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
