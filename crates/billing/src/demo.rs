//! The `demo` environment's world is not part of the engine: the engine ships no simulator and no
//! demo credentials. A front end that offers the demo (the app, `desk`) hands the desk factory a
//! [`DemoHost`] (the `demo` crate's, which runs the sandbox on 127.0.0.1); the desk then asks it
//! for the world of its data directory's `demo/` folder and talks to it like to any gateway and
//! PayPal. Without a host, a demo desk still opens on its cache and says the world is missing.

use crate::secrets::Secret;
use crate::DeskError;
use futures::future::BoxFuture;
use std::path::Path;

/// What the demo world accepts.
#[derive(Debug, Clone)]
pub struct DemoCredentials {
    pub staff_token: Secret,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Starts or joins demo worlds.
pub trait DemoHost: Send + Sync {
    /// The world whose files live in `dir` (the demo environment's directory): hosted by this
    /// process, or by another one that hosts it already.
    fn open<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<Box<dyn DemoWorld>, DeskError>>;

    /// The credentials every demo world accepts (also for a demo gateway given by URL).
    fn credentials(&self) -> DemoCredentials;
}

/// One open demo world: one base URL serves the gateway and PayPal.
pub trait DemoWorld: Send + Sync {
    fn base_url(&self) -> String;

    /// For a clerk: who hosts the world ("this program", "another Capture Desk program").
    fn describe(&self) -> String;

    /// Lets go of the world (a host saves it and stops serving).
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}
