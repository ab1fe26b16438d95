//! Every error the gateway documents, typed.

use std::time::Duration;

/// What went wrong talking to the gateway. `Display` is for a finance clerk; the technical
/// detail (status, the gateway's own message) is in the fields, for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error("The gateway refused our staff token (expired, invalid or missing). Check the gateway token in Settings.")]
    Unauthorized { message: String },
    #[error("The gateway's traffic guard blocked the request. Try again later or contact IT.")]
    Forbidden { message: String },
    #[error("The gateway is busy (too many requests). Please try again in a moment.")]
    RateLimited { retry_after: Option<Duration> },
    #[error("The gateway does not know this invoice.")]
    InvoiceNotFound,
    #[error("The gateway does not know this currency.")]
    CurrencyNotFound,
    #[error("The currency does not match the invoice.")]
    CurrencyMismatch,
    #[error("The customer has no wallet.")]
    WalletNotFound,
    #[error("The invoice is already paid.")]
    InvoiceAlreadyPaid,
    #[error("The gateway rejected the amount.")]
    WrongAmount,
    #[error("The customer's wallet covers the whole invoice: use the full wallet payment.")]
    WalletBalanceTooHigh,
    #[error("The request was incomplete (the gateway reports missing parameters).")]
    MissingParameters,
    #[error("The gateway refused the invoice: it is already paid or its payment state does not allow this.")]
    BadInvoice,
    #[error("The gateway refused the currency.")]
    InvalidCurrency,
    #[error("PayPal payments are switched off for this currency at the gateway.")]
    PaymentMethodDisabled,
    #[error("The amount differs from what the gateway expects for this invoice.")]
    InvalidAmount,
    #[error("The gateway does not know this customer.")]
    UserNotFound,
    #[error("The invoice belongs to another customer.")]
    CustomerMismatch,
    #[error("The customer's wallet does not hold enough money.")]
    InsufficientFunds,
    #[error("The gateway had an internal error. Please try again later.")]
    Server { status: u16, message: String },
    #[error("The gateway answered with an error: {message}")]
    Other { status: u16, message: String },
    #[error("The gateway did not answer in time.")]
    Timeout,
    #[error("The gateway cannot be reached (offline?).")]
    Unreachable { detail: String },
    #[error("The gateway sent an answer we cannot read; nothing of it was used.")]
    InvalidResponse { detail: String },
}

impl GatewayError {
    /// Maps a documented error status and `message` (matched case-insensitively by prefix).
    pub fn from_status(status: u16, message: &str, retry_after: Option<Duration>) -> Self {
        let m = message.trim().to_ascii_lowercase();
        let starts = |p: &str| m.starts_with(p);
        match status {
            401 => return GatewayError::Unauthorized { message: message.to_owned() },
            403 => return GatewayError::Forbidden { message: message.to_owned() },
            429 => return GatewayError::RateLimited { retry_after },
            500..=599 => return GatewayError::Server { status, message: message.to_owned() },
            _ => {}
        }
        if starts("invoice not found") {
            GatewayError::InvoiceNotFound
        } else if starts("currency not found") {
            GatewayError::CurrencyNotFound
        } else if starts("currency does not match") {
            GatewayError::CurrencyMismatch
        } else if starts("wallet not found") {
            GatewayError::WalletNotFound
        } else if starts("invoice already paid") {
            GatewayError::InvoiceAlreadyPaid
        } else if starts("wrong amount") {
            GatewayError::WrongAmount
        } else if starts("wallet balance is too high") {
            GatewayError::WalletBalanceTooHigh
        } else if starts("missing one or more required parameters") {
            GatewayError::MissingParameters
        } else if starts("bad invoice") {
            GatewayError::BadInvoice
        } else if starts("invalid currency") {
            GatewayError::InvalidCurrency
        } else if starts("payment method is disabled") {
            GatewayError::PaymentMethodDisabled
        } else if starts("invalid amount") {
            GatewayError::InvalidAmount
        } else if starts("user not found") {
            GatewayError::UserNotFound
        } else if starts("customer invoice does not match") {
            GatewayError::CustomerMismatch
        } else if starts("insufficient funds") {
            GatewayError::InsufficientFunds
        } else {
            GatewayError::Other { status, message: message.to_owned() }
        }
    }

    /// Worth another try for a read: rate limits, server errors, timeouts, no connection.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GatewayError::RateLimited { .. }
                | GatewayError::Server { .. }
                | GatewayError::Timeout
                | GatewayError::Unreachable { .. }
        )
    }

    /// The gateway could not be reached at all (as opposed to answering with an error).
    pub fn is_offline(&self) -> bool {
        matches!(self, GatewayError::Timeout | GatewayError::Unreachable { .. })
    }

    /// A stable machine-readable code for logs and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Unauthorized { .. } => "gateway_unauthorized",
            GatewayError::Forbidden { .. } => "gateway_forbidden",
            GatewayError::RateLimited { .. } => "gateway_rate_limited",
            GatewayError::InvoiceNotFound => "invoice_not_found",
            GatewayError::CurrencyNotFound => "currency_not_found",
            GatewayError::CurrencyMismatch => "currency_mismatch",
            GatewayError::WalletNotFound => "wallet_not_found",
            GatewayError::InvoiceAlreadyPaid => "invoice_already_paid",
            GatewayError::WrongAmount => "wrong_amount",
            GatewayError::WalletBalanceTooHigh => "wallet_balance_too_high",
            GatewayError::MissingParameters => "missing_parameters",
            GatewayError::BadInvoice => "bad_invoice",
            GatewayError::InvalidCurrency => "invalid_currency",
            GatewayError::PaymentMethodDisabled => "payment_method_disabled",
            GatewayError::InvalidAmount => "invalid_amount",
            GatewayError::UserNotFound => "user_not_found",
            GatewayError::CustomerMismatch => "customer_mismatch",
            GatewayError::InsufficientFunds => "insufficient_funds",
            GatewayError::Server { .. } => "gateway_server_error",
            GatewayError::Other { .. } => "gateway_error",
            GatewayError::Timeout => "gateway_timeout",
            GatewayError::Unreachable { .. } => "gateway_unreachable",
            GatewayError::InvalidResponse { .. } => "gateway_invalid_response",
        }
    }

    /// Technical detail for the log (never shown as the main message).
    pub fn detail(&self) -> String {
        match self {
            GatewayError::Unauthorized { message } | GatewayError::Forbidden { message } => message.clone(),
            GatewayError::Server { status, message } | GatewayError::Other { status, message } => {
                format!("HTTP {status}: {message}")
            }
            GatewayError::RateLimited { retry_after } => {
                format!("HTTP 429, Retry-After {retry_after:?}")
            }
            GatewayError::Unreachable { detail } | GatewayError::InvalidResponse { detail } => detail.clone(),
            GatewayError::InvoiceNotFound
            | GatewayError::CurrencyNotFound
            | GatewayError::CurrencyMismatch
            | GatewayError::WalletNotFound
            | GatewayError::InvoiceAlreadyPaid
            | GatewayError::WrongAmount
            | GatewayError::WalletBalanceTooHigh
            | GatewayError::MissingParameters
            | GatewayError::BadInvoice
            | GatewayError::InvalidCurrency
            | GatewayError::PaymentMethodDisabled
            | GatewayError::InvalidAmount
            | GatewayError::UserNotFound
            | GatewayError::CustomerMismatch
            | GatewayError::InsufficientFunds
            | GatewayError::Timeout => self.code().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_messages_map_case_insensitively_by_prefix() {
        let cases = [
            (404, "Invoice not found", GatewayError::InvoiceNotFound),
            (404, "Currency not found", GatewayError::CurrencyNotFound),
            (400, "Currency does not match expected credentials", GatewayError::CurrencyMismatch),
            (400, "Wallet not found", GatewayError::WalletNotFound),
            (400, "Invoice already paid", GatewayError::InvoiceAlreadyPaid),
            (400, "Wrong Amount", GatewayError::WrongAmount),
            (
                400,
                "Wallet balance is too high for this endpoint (use full wallet payment)",
                GatewayError::WalletBalanceTooHigh,
            ),
            (400, "Missing One or More Required Parameters", GatewayError::MissingParameters),
            (400, "BAD INVOICE", GatewayError::BadInvoice),
            (400, "Invalid Currency", GatewayError::InvalidCurrency),
            (400, "Payment method is disabled", GatewayError::PaymentMethodDisabled),
            (400, "Invalid Amount", GatewayError::InvalidAmount),
            (404, "User not found", GatewayError::UserNotFound),
            (400, "Customer Invoice does not match expected credentials", GatewayError::CustomerMismatch),
            (400, "Insufficient funds", GatewayError::InsufficientFunds),
        ];
        for (status, message, want) in cases {
            assert_eq!(GatewayError::from_status(status, message, None), want, "{message}");
        }
        assert!(matches!(GatewayError::from_status(401, "whatever", None), GatewayError::Unauthorized { .. }));
        assert!(matches!(GatewayError::from_status(403, "blocked", None), GatewayError::Forbidden { .. }));
        assert!(matches!(
            GatewayError::from_status(500, "Unxepected Error: boom", None),
            GatewayError::Server { status: 500, .. }
        ));
        assert_eq!(
            GatewayError::from_status(418, "teapot", None),
            GatewayError::Other { status: 418, message: "teapot".into() }
        );
    }

    #[test]
    fn detail_is_never_debug_text() {
        let cases = [
            (GatewayError::InvoiceNotFound, "invoice_not_found"),
            (GatewayError::Timeout, "gateway_timeout"),
            (GatewayError::Other { status: 418, message: "teapot".into() }, "HTTP 418: teapot"),
            (
                GatewayError::InvalidResponse { detail: "invoice 5: total is negative".into() },
                "invoice 5: total is negative",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.detail(), want);
        }
    }
}
