//! The words the engine compares, as enums (generated to TypeScript): which way an attempt
//! pays, and PayPal's capture status as the journal keeps it.

use serde::Serialize;
use ts_rs::TS;

/// Which way an attempt pays: `paypal` (a wallet part, if any, plus a PayPal capture) or
/// `wallet` (the customer's wallet covers the whole invoice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(rename_all = "lowercase")]
#[ts(export)]
pub enum CapturePath {
    Paypal,
    Wallet,
}

impl CapturePath {
    pub fn as_str(self) -> &'static str {
        match self {
            CapturePath::Paypal => "paypal",
            CapturePath::Wallet => "wallet",
        }
    }
}

/// A PayPal capture's status as the journal keeps it: PayPal's own words (`PENDING`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS, sqlx::Type)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[sqlx(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(export)]
pub enum PaypalCaptureStatus {
    Completed,
    Declined,
    PartiallyRefunded,
    Pending,
    Refunded,
    Failed,
    /// A word PayPal's schema does not list.
    Unknown,
}

impl PaypalCaptureStatus {
    pub fn as_str(self) -> &'static str {
        paypal::CaptureStatus::from(self).as_str()
    }
}

impl From<paypal::CaptureStatus> for PaypalCaptureStatus {
    fn from(s: paypal::CaptureStatus) -> Self {
        use paypal::CaptureStatus as P;
        match s {
            P::Completed => PaypalCaptureStatus::Completed,
            P::Declined => PaypalCaptureStatus::Declined,
            P::PartiallyRefunded => PaypalCaptureStatus::PartiallyRefunded,
            P::Pending => PaypalCaptureStatus::Pending,
            P::Refunded => PaypalCaptureStatus::Refunded,
            P::Failed => PaypalCaptureStatus::Failed,
            P::Unknown => PaypalCaptureStatus::Unknown,
        }
    }
}

impl From<PaypalCaptureStatus> for paypal::CaptureStatus {
    fn from(s: PaypalCaptureStatus) -> Self {
        use paypal::CaptureStatus as P;
        match s {
            PaypalCaptureStatus::Completed => P::Completed,
            PaypalCaptureStatus::Declined => P::Declined,
            PaypalCaptureStatus::PartiallyRefunded => P::PartiallyRefunded,
            PaypalCaptureStatus::Pending => P::Pending,
            PaypalCaptureStatus::Refunded => P::Refunded,
            PaypalCaptureStatus::Failed => P::Failed,
            PaypalCaptureStatus::Unknown => P::Unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal's text, the JSON and `as_str` are one word, PayPal's for the status.
    #[test]
    fn every_word_is_one_word() {
        for p in [CapturePath::Paypal, CapturePath::Wallet] {
            assert_eq!(serde_json::to_value(p).expect("json"), serde_json::json!(p.as_str()));
        }
        use PaypalCaptureStatus as S;
        for s in [S::Completed, S::Declined, S::PartiallyRefunded, S::Pending, S::Refunded, S::Failed, S::Unknown] {
            assert_eq!(serde_json::to_value(s).expect("json"), serde_json::json!(s.as_str()));
            assert_eq!(S::from(paypal::CaptureStatus::from(s)), s);
        }
        assert_eq!(S::Pending.as_str(), "PENDING");
    }
}
