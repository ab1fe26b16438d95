//! What a capture would do, shown before anything moves.

use serde::Serialize;
use ts_rs::TS;

/// The wallet part of a part-payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct WalletPartView {
    /// In the wallet's currency.
    pub amount: String,
    pub currency: String,
    /// Invoice-currency units per wallet unit.
    pub exchange_rate: String,
    /// The wallet part in the invoice's currency (rounded half-even).
    pub in_invoice_currency: String,
}

/// What the customer approved at PayPal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ApprovalView {
    pub intent: String,
    pub order_id: String,
    pub authorization_id: Option<String>,
    pub status: String,
    pub amount: String,
    pub currency: String,
}

/// The breakdown shown before a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CapturePreview {
    #[ts(type = "number")]
    pub invoice_no: i64,
    pub customer_name: String,
    pub environment: String,
    pub currency: String,
    pub outstanding: String,
    /// `paypal` (wallet part + PayPal part) or `wallet` (the wallet pays everything).
    pub path: String,
    pub wallet: Option<WalletPartView>,
    /// What PayPal must capture, in the invoice's currency.
    pub paypal_amount: String,
    pub approval: Option<ApprovalView>,
    /// The approval matches the PayPal part and can be captured.
    pub ready: bool,
    /// Everything that stops the capture, for a clerk.
    pub problems: Vec<String>,
}
