//! The engine against the real sandbox on port 0 (one test binary: links once).

mod batches;
mod capture;
mod capture_checks;
mod capture_paths;
mod clock_ahead;
mod common;
mod environments;
mod gateway_outcomes;
mod gateway_proxy;
mod journal;
mod legacy;
mod list;
mod locks;
mod paypal_double;
mod paypal_outcomes;
mod paypal_shapes;
mod recovery;
mod sent_races;
mod session;
mod sync;
mod sync_paging;
mod sync_readable;
mod unknown_outcomes;
mod unknown_outcomes_sandbox;
mod wallet_lease;
mod wallet_pay_times;
