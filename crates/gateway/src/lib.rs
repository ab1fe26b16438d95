//! Client for the CargoExtra billing gateway (see `shared/design/GATEWAY-API.md`).
//!
//! Turns HTTP into typed results and typed errors; knows nothing of an invoice's lifecycle in
//! Capture Desk. Numbers are read exactly from the JSON text (never through `f64`), and a
//! response that does not parse or validate is an [`GatewayError::InvalidResponse`]: nothing
//! of it reaches the caller. In a list, one invoice that does not validate is set apart as an
//! [`UnreadableInvoice`] and the rest of the page is read. Amounts use ISO 4217's digits (see
//! `money`).

mod client;
mod error;
mod payments;
mod wire;

pub use client::{ClientOptions, GatewayClient, InvoiceListQuery, InvoiceStatusFilter, Slot, SortOrder, Token};
pub use error::GatewayError;
pub use payments::{Finalized, PartPayment, WalletPaid, WalletPart};
pub use wire::{
    Customer, Invoice, InvoicePage, InvoicePayment, InvoiceStatus, PaypalApproval, PaypalIntent, UnreadableInvoice,
    Wallet,
};
