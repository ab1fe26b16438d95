//! The capture workflow: wallet part-payment and PayPal capture, finalized on the gateway,
//! journaled in SQLite before and after every remote call, exactly once.
//!
//! ```text
//! planned ─part-process─► part_processed ─check approval─► paypal_capture_sent ─capture─►
//! paypal_captured ─verify (COMPLETED, amount, currency)─► verified ─► finalize_sent ─finalize─► finalized
//!        └─ the wallet covers everything ─► wallet_pay_sent ─pay─► finalized
//! terminal failures: rejected (nothing moved) · needs_attention (money moved, something disagrees)
//! ```
//!
//! * The PayPal capture carries `PayPal-Request-Id` = `capture-desk-{desk id}-{journal id}-capture`,
//!   the same on every retry and after every restart: a replay returns the first capture.
//! * `ORDER_ALREADY_CAPTURED` / `AUTHORIZATION_ALREADY_CAPTURED`: the existing capture is read
//!   and adopted, never captured again.
//! * `paypal_capture_sent`, `finalize_sent` and `wallet_pay_sent` are the unknown-outcome
//!   states: on resume, PayPal is replayed with the same request id, and the gateway's invoice is
//!   read (is our payment there?) before anything is sent again.
//! * A PENDING capture waits (re-checked on resume); a DECLINED one ends `rejected`.

pub mod engine;
mod gateway_steps;
pub(crate) mod in_flight;
mod inflight;
pub mod journal;
pub(crate) mod lease;
mod paypal_holds;
mod paypal_steps;
pub mod preview;
pub mod reauthorize;
pub mod request_id;
pub mod result;
pub mod wallet_lease;
pub mod words;

pub use engine::Engine;
pub use in_flight::{waits_out_a_send, window_length as in_flight_window};
pub use journal::{Entry, State};
pub use preview::CapturePreview;
pub use reauthorize::Reauthorized;
pub use result::{CaptureResult, Interrupt, Step};
pub use words::{CapturePath, PaypalCaptureStatus};
