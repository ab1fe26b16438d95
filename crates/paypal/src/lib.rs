//! Client for the parts of PayPal REST v2 that Capture Desk uses (see
//! `shared/design/PAYPAL-API.md`): OAuth2 client credentials with a cached token, orders
//! (get, capture, authorize), authorizations (get, capture, void, reauthorize), captures (get,
//! refund).
//!
//! * Every POST carries a `PayPal-Request-Id` **supplied by the caller** ([`RequestId`]) and
//!   `Prefer: return=representation`; a retry reuses the same id, so a retried capture can
//!   never capture twice.
//! * Answers are read in PayPal's documented shapes (the official OpenAPI files): a field the
//!   schema does not require may be absent, so it is an `Option` here; relations come from the
//!   `up` link, or `supplementary_data.related_ids` where the endpoint has it.
//! * Errors: one [`PaypalError`] variant per issue we act on, keyed on `details[].issue`, with
//!   the `debug_id` kept for the log. Bodies without `details` still parse.
//!   [`refusal_proof`] is the one place that says what a refusal of a capture proves (only
//!   [`RefusalProof::NothingCaptured`], [`proves_nothing_captured`]: a capture certainly did not
//!   happen).
//! * Amounts are `money::Money`, parsed strictly from PayPal's strings.

mod client;
mod error;
mod refusals;
mod sent;
mod types;
mod wire;

pub use client::{ClientOptions, ClientSecret, PaypalClient, RequestId};
pub use error::{ApiError, PaypalError};
pub use refusals::{proves_nothing_captured, refusal_proof, CaptureCall, RefusalProof};
pub use sent::{post_budget, Sent};
pub use types::{
    Authorization, AuthorizationCaptureRequest, AuthorizationStatus, Capture, CaptureStatus, Link, Order, OrderStatus,
    Parent, PurchaseUnit, Refund, RelatedIds,
};
