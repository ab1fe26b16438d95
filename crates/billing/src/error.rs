//! The one error type at the front ends' boundary: `{code, message, detail?}`.
//! `code` is stable (the UI branches on it), `message` is for a finance clerk, `detail` for the log.

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum ErrorCode {
    BadInput,
    NotFound,
    Offline,
    GatewayUnauthorized,
    GatewayRejected,
    GatewayError,
    InvalidResponse,
    NoKeyring,
    MissingCredentials,
    Storage,
    /// Another process changed the same record meanwhile.
    Conflict,
    /// PayPal refused or failed.
    PaypalRejected,
    PaypalError,
    Internal,
}

impl ErrorCode {
    /// The process exit code the CLI uses for this error.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCode::BadInput => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::Offline => 4,
            ErrorCode::GatewayUnauthorized | ErrorCode::MissingCredentials | ErrorCode::NoKeyring => 5,
            ErrorCode::GatewayRejected | ErrorCode::GatewayError | ErrorCode::InvalidResponse => 6,
            ErrorCode::PaypalRejected | ErrorCode::PaypalError => 6,
            ErrorCode::Conflict => 7,
            ErrorCode::Storage | ErrorCode::Internal => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct DeskError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub detail: Option<String>,
    /// A process exit code other than the code's own (CLI only).
    #[serde(skip)]
    #[ts(skip)]
    pub exit: Option<u8>,
}

impl DeskError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DeskError { code, message: message.into(), detail: None, exit: None }
    }
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
    pub fn with_exit(mut self, exit: u8) -> Self {
        self.exit = Some(exit);
        self
    }
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadInput, message)
    }
    pub fn storage(e: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Storage, "The local database could not be read or written.").with_detail(e.to_string())
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Internal, "Something went wrong inside Capture Desk.").with_detail(e.to_string())
    }
}

impl From<sqlx::Error> for DeskError {
    fn from(e: sqlx::Error) -> Self {
        DeskError::storage(e)
    }
}

impl From<sqlx::migrate::MigrateError> for DeskError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        DeskError::storage(e)
    }
}

impl From<gateway::GatewayError> for DeskError {
    fn from(e: gateway::GatewayError) -> Self {
        use gateway::GatewayError as G;
        // every variant named: a new one must be placed here on purpose
        let code = match &e {
            G::Timeout | G::Unreachable { .. } => ErrorCode::Offline,
            G::Unauthorized { .. } => ErrorCode::GatewayUnauthorized,
            G::InvalidResponse { .. } => ErrorCode::InvalidResponse,
            G::InvoiceNotFound | G::UserNotFound | G::CurrencyNotFound => ErrorCode::NotFound,
            G::Server { .. } | G::RateLimited { .. } | G::Forbidden { .. } | G::Other { .. } => ErrorCode::GatewayError,
            G::CurrencyMismatch
            | G::WalletNotFound
            | G::InvoiceAlreadyPaid
            | G::WrongAmount
            | G::WalletBalanceTooHigh
            | G::MissingParameters
            | G::BadInvoice
            | G::InvalidCurrency
            | G::PaymentMethodDisabled
            | G::InvalidAmount
            | G::CustomerMismatch
            | G::InsufficientFunds => ErrorCode::GatewayRejected,
        };
        DeskError::new(code, e.to_string()).with_detail(format!("{}: {}", e.code(), e.detail()))
    }
}

impl From<paypal::PaypalError> for DeskError {
    fn from(e: paypal::PaypalError) -> Self {
        use paypal::PaypalError as P;
        // every variant named: a new one must be placed here on purpose
        let code = match &e {
            P::Timeout | P::Unreachable { .. } => ErrorCode::Offline,
            P::AuthFailed { .. } | P::Unauthorized(_) => ErrorCode::MissingCredentials,
            P::InvalidResponse { .. } => ErrorCode::InvalidResponse,
            P::Server(_) | P::RateLimited { .. } | P::InProgress(_) => ErrorCode::PaypalError,
            P::NotFound(_) => ErrorCode::NotFound,
            P::OrderAlreadyCaptured(_)
            | P::OrderNotApproved(_)
            | P::AuthorizationAlreadyCaptured(_)
            | P::AuthorizationVoided(_)
            | P::AuthorizationExpired(_)
            | P::CurrencyMismatch(_)
            | P::MaxCaptureAmountExceeded(_)
            | P::MaxCaptureCountExceeded(_)
            | P::ReauthorizationTooSoon(_)
            | P::ReauthorizationNotSupported(_)
            | P::Rejected(_)
            | P::NotSent { .. } => ErrorCode::PaypalRejected,
        };
        DeskError::new(code, e.to_string()).with_detail(format!("{}: {}", e.code(), e.detail()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A clerk reads `message` (the error's own words), never Debug text; the technical part
    /// goes to `detail`.
    #[test]
    fn clerk_messages_are_words_and_detail_keeps_the_code() {
        let e = DeskError::from(paypal::PaypalError::InProgress(Box::new(paypal::ApiError {
            status: 409,
            name: "RESOURCE_CONFLICT".into(),
            issue: Some("PREVIOUS_REQUEST_IN_PROGRESS".into()),
            debug_id: Some("dbg1".into()),
            ..Default::default()
        })));
        assert_eq!(e.code, ErrorCode::PaypalError);
        assert_eq!(e.message, "PayPal is still processing an earlier request for this payment.");
        let detail = e.detail.unwrap_or_default();
        assert!(detail.starts_with("paypal_in_progress: HTTP 409") && detail.contains("dbg1"), "{detail}");
        let g = DeskError::from(gateway::GatewayError::PaymentMethodDisabled);
        assert_eq!((g.code, g.message.contains('{')), (ErrorCode::GatewayRejected, false));
    }
}
