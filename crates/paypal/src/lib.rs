//! Client for the parts of PayPal REST v2 that Capture Desk uses (see
//! `shared/design/PAYPAL-API.md`): OAuth2 client credentials with a cached token, orders
//! (get, capture, authorize), authorizations (get, capture, void), captures (get, refund).
//!
//! * Every POST carries a `PayPal-Request-Id` **supplied by the caller** ([`RequestId`]) and
//!   `Prefer: return=representation`; a retry reuses the same id, so a retried capture can
//!   never capture twice.
//! * Errors: one [`PaypalError`] variant per issue we act on, keyed on `details[].issue`, with
//!   the `debug_id` kept for the log. Bodies without `details` still parse.
//! * Amounts are `money::Money`, parsed strictly from PayPal's strings.

mod client;
mod error;
mod types;

pub use client::{ClientOptions, ClientSecret, PaypalClient, RequestId};
pub use error::{ApiError, PaypalError};
pub use types::{
    Authorization, AuthorizationCaptureRequest, AuthorizationStatus, Capture, CaptureStatus, Order, OrderStatus,
    PurchaseUnit, Refund,
};
