//! The `demo` environment: the sandbox embedded in-process on 127.0.0.1, its world kept in the
//! data directory so a restarted app finds the same invoices and payments.

use crate::DeskError;
use std::path::Path;

pub use sandbox::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_STAFF_TOKEN};

/// Starts the embedded sandbox on a free loopback port.
pub async fn start(data_dir: &Path) -> Result<sandbox::Sandbox, DeskError> {
    let config = sandbox::Config {
        seed: 2026,
        invoices: 400,
        state_file: Some(data_dir.join("demo-world.json")),
        // a new demo world is dated around now (the sandbox clock), then kept in the state file;
        // SANDBOX_CLOCK_OFFSET_DAYS (tests) starts that clock ahead, and a bad value is refused
        clock_offset: sandbox::clock_offset_from_env().map_err(DeskError::bad_input)?,
        ..sandbox::Config::default()
    };
    sandbox::Sandbox::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|e| DeskError::internal(format!("the demo sandbox could not start: {e}")))
}
