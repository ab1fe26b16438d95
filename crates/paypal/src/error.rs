//! PayPal's errors, typed by `details[].issue` (never by text).

use std::time::Duration;

/// The parts of a PayPal error body we keep.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiError {
    pub status: u16,
    pub name: String,
    pub message: String,
    /// `details[0].issue`.
    pub issue: Option<String>,
    /// Every `details[].issue`, in order (empty when the body has no `details`).
    pub issues: Vec<String>,
    pub description: Option<String>,
    pub debug_id: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.name)?;
        if let Some(i) = &self.issue {
            write!(f, " ({i})")?;
        }
        if let Some(d) = &self.debug_id {
            write!(f, " debug_id={d}")?;
        }
        Ok(())
    }
}

/// What went wrong talking to PayPal. `Display` is for a finance clerk; `detail()` (status,
/// issue, debug id) is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaypalError {
    #[error("PayPal refused our API credentials. Check the PayPal client id and secret in Settings.")]
    AuthFailed { error: String, description: String },
    #[error("PayPal refused our access token.")]
    Unauthorized(Box<ApiError>),
    #[error("This PayPal order was already captured.")]
    OrderAlreadyCaptured(Box<ApiError>),
    #[error("The customer has not approved this PayPal payment yet, so it cannot be captured.")]
    OrderNotApproved(Box<ApiError>),
    #[error("This PayPal authorization was already captured.")]
    AuthorizationAlreadyCaptured(Box<ApiError>),
    #[error("This PayPal authorization was voided; the customer must pay again.")]
    AuthorizationVoided(Box<ApiError>),
    #[error("This PayPal authorization has expired; the customer must pay again.")]
    AuthorizationExpired(Box<ApiError>),
    /// `AUTH_CAPTURE_CURRENCY_MISMATCH` (capture), `AUTH_CURRENCY_MISMATCH` (reauthorize).
    #[error("The currency differs from the authorization's currency.")]
    CurrencyMismatch(Box<ApiError>),
    /// `REAUTHORIZATION_TOO_SOON`: PayPal's live answer within the honour period (not on the
    /// OpenAPI list of reauthorize's issues).
    #[error(
        "PayPal reauthorizes a payment only after its 3-day honour period, and this one is still within it: \
         capture it as it is."
    )]
    ReauthorizationTooSoon(Box<ApiError>),
    /// `REAUTHORIZATION_NOT_SUPPORTED`: the authorization is a reauthorization, or was reauthorized.
    #[error(
        "PayPal does not reauthorize this authorization again (it was reauthorized already, or is itself a \
         reauthorization): capture the newest authorization of the order."
    )]
    ReauthorizationNotSupported(Box<ApiError>),
    #[error("The capture is larger than what PayPal authorized.")]
    MaxCaptureAmountExceeded(Box<ApiError>),
    #[error("PayPal allows no more captures on this authorization.")]
    MaxCaptureCountExceeded(Box<ApiError>),
    #[error("PayPal is limiting our requests. Please try again in a moment.")]
    RateLimited { retry_after: Option<Duration>, api: Box<ApiError> },
    #[error("PayPal does not know this order, authorization or capture.")]
    NotFound(Box<ApiError>),
    /// `PREVIOUS_REQUEST_IN_PROGRESS` / `ORDER_COMPLETION_IN_PROGRESS` or any 409: an earlier
    /// request on the same resource (or with the same request id) is still being processed.
    #[error("PayPal is still processing an earlier request for this payment.")]
    InProgress(Box<ApiError>),
    #[error("PayPal refused the request.")]
    Rejected(Box<ApiError>),
    #[error("PayPal had an internal error.")]
    Server(Box<ApiError>),
    #[error("PayPal did not answer in time.")]
    Timeout,
    #[error("PayPal cannot be reached (offline?).")]
    Unreachable { detail: String },
    #[error("PayPal sent an answer we cannot read; nothing of it was used.")]
    InvalidResponse { detail: String },
    /// Refused here, before anything was sent (an id or amount PayPal would not take).
    #[error("Capture Desk could not form this request to PayPal, so nothing was sent.")]
    NotSent { detail: String },
}

impl PaypalError {
    /// Maps an error response by status and `details[0].issue`.
    pub fn from_api(api: ApiError, retry_after: Option<Duration>) -> Self {
        match (api.status, api.issue.as_deref()) {
            (_, Some("ORDER_ALREADY_CAPTURED")) => PaypalError::OrderAlreadyCaptured(Box::new(api)),
            (_, Some("ORDER_NOT_APPROVED")) => PaypalError::OrderNotApproved(Box::new(api)),
            (_, Some("AUTHORIZATION_ALREADY_CAPTURED")) => PaypalError::AuthorizationAlreadyCaptured(Box::new(api)),
            (_, Some("AUTHORIZATION_VOIDED")) => PaypalError::AuthorizationVoided(Box::new(api)),
            (_, Some("AUTHORIZATION_EXPIRED")) => PaypalError::AuthorizationExpired(Box::new(api)),
            (_, Some("AUTH_CAPTURE_CURRENCY_MISMATCH" | "AUTH_CURRENCY_MISMATCH")) => {
                PaypalError::CurrencyMismatch(Box::new(api))
            }
            (_, Some("REAUTHORIZATION_TOO_SOON")) => PaypalError::ReauthorizationTooSoon(Box::new(api)),
            (_, Some("REAUTHORIZATION_NOT_SUPPORTED")) => PaypalError::ReauthorizationNotSupported(Box::new(api)),
            (_, Some("MAX_CAPTURE_AMOUNT_EXCEEDED")) => PaypalError::MaxCaptureAmountExceeded(Box::new(api)),
            (_, Some("MAX_CAPTURE_COUNT_EXCEEDED")) => PaypalError::MaxCaptureCountExceeded(Box::new(api)),
            (409, _) | (_, Some("PREVIOUS_REQUEST_IN_PROGRESS" | "ORDER_COMPLETION_IN_PROGRESS")) => {
                PaypalError::InProgress(Box::new(api))
            }
            (429, _) | (_, Some("RATE_LIMIT_REACHED")) => PaypalError::RateLimited { retry_after, api: Box::new(api) },
            (404, _) | (_, Some("INVALID_RESOURCE_ID")) => PaypalError::NotFound(Box::new(api)),
            (401, _) => PaypalError::Unauthorized(Box::new(api)),
            (500..=599, _) => PaypalError::Server(Box::new(api)),
            _ => PaypalError::Rejected(Box::new(api)),
        }
    }

    /// Worth another try with the same request id: rate limits, 5xx, timeouts, no connection.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PaypalError::RateLimited { .. }
                | PaypalError::Server(_)
                | PaypalError::Timeout
                | PaypalError::Unreachable { .. }
        )
    }

    /// After a POST: PayPal may or may not have acted (resolve by replay or by reading).
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            PaypalError::Server(_)
                | PaypalError::InProgress(_)
                | PaypalError::Timeout
                | PaypalError::Unreachable { .. }
                | PaypalError::InvalidResponse { .. }
        )
    }

    pub fn api(&self) -> Option<&ApiError> {
        match self {
            PaypalError::Unauthorized(a)
            | PaypalError::OrderAlreadyCaptured(a)
            | PaypalError::OrderNotApproved(a)
            | PaypalError::AuthorizationAlreadyCaptured(a)
            | PaypalError::AuthorizationVoided(a)
            | PaypalError::AuthorizationExpired(a)
            | PaypalError::CurrencyMismatch(a)
            | PaypalError::ReauthorizationTooSoon(a)
            | PaypalError::ReauthorizationNotSupported(a)
            | PaypalError::MaxCaptureAmountExceeded(a)
            | PaypalError::MaxCaptureCountExceeded(a)
            | PaypalError::NotFound(a)
            | PaypalError::InProgress(a)
            | PaypalError::Rejected(a)
            | PaypalError::Server(a)
            | PaypalError::RateLimited { api: a, .. } => Some(a.as_ref()),
            PaypalError::AuthFailed { .. }
            | PaypalError::Timeout
            | PaypalError::Unreachable { .. }
            | PaypalError::InvalidResponse { .. }
            | PaypalError::NotSent { .. } => None,
        }
    }

    /// The PayPal issue code, when there is one.
    pub fn issue(&self) -> Option<&str> {
        self.api().and_then(|a| a.issue.as_deref())
    }

    /// Technical detail for the log.
    pub fn detail(&self) -> String {
        match self {
            PaypalError::AuthFailed { error, description } => format!("oauth: {error}: {description}"),
            PaypalError::Timeout => "timeout".into(),
            PaypalError::Unreachable { detail }
            | PaypalError::InvalidResponse { detail }
            | PaypalError::NotSent { detail } => detail.clone(),
            other => other.api().map_or_else(|| other.code().to_owned(), ToString::to_string),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            PaypalError::AuthFailed { .. } => "paypal_auth_failed",
            PaypalError::Unauthorized(_) => "paypal_unauthorized",
            PaypalError::OrderAlreadyCaptured(_) => "order_already_captured",
            PaypalError::OrderNotApproved(_) => "order_not_approved",
            PaypalError::AuthorizationAlreadyCaptured(_) => "authorization_already_captured",
            PaypalError::AuthorizationVoided(_) => "authorization_voided",
            PaypalError::AuthorizationExpired(_) => "authorization_expired",
            PaypalError::CurrencyMismatch(_) => "auth_capture_currency_mismatch",
            PaypalError::ReauthorizationTooSoon(_) => "reauthorization_too_soon",
            PaypalError::ReauthorizationNotSupported(_) => "reauthorization_not_supported",
            PaypalError::MaxCaptureAmountExceeded(_) => "max_capture_amount_exceeded",
            PaypalError::MaxCaptureCountExceeded(_) => "max_capture_count_exceeded",
            PaypalError::RateLimited { .. } => "paypal_rate_limited",
            PaypalError::NotFound(_) => "paypal_not_found",
            PaypalError::InProgress(_) => "paypal_in_progress",
            PaypalError::Rejected(_) => "paypal_rejected",
            PaypalError::Server(_) => "paypal_server_error",
            PaypalError::Timeout => "paypal_timeout",
            PaypalError::Unreachable { .. } => "paypal_unreachable",
            PaypalError::InvalidResponse { .. } => "paypal_invalid_response",
            PaypalError::NotSent { .. } => "paypal_not_sent",
        }
    }
}

/// Parses an error body (`{name, message, debug_id, details?}`); anything unreadable still
/// gives an `ApiError` with the status.
pub(crate) fn parse_api_error(status: u16, body: &[u8]) -> ApiError {
    #[derive(serde::Deserialize)]
    struct Detail {
        issue: Option<String>,
        description: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        name: Option<String>,
        message: Option<String>,
        debug_id: Option<String>,
        #[serde(default)]
        details: Vec<Detail>,
        // OAuth's shape
        error: Option<String>,
        error_description: Option<String>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => {
            let issues = b.details.iter().filter_map(|d| d.issue.clone()).collect();
            let first = b.details.into_iter().next();
            ApiError {
                status,
                name: b.name.or(b.error).unwrap_or_default(),
                message: b.message.or(b.error_description).unwrap_or_default(),
                issue: first.as_ref().and_then(|d| d.issue.clone()),
                issues,
                description: first.and_then(|d| d.description),
                debug_id: b.debug_id,
            }
        }
        Err(_) => ApiError {
            status,
            message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            ..ApiError::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issue_we_act_on_is_typed() {
        let issues = [
            ("ORDER_ALREADY_CAPTURED", 422, "order_already_captured"),
            ("ORDER_NOT_APPROVED", 422, "order_not_approved"),
            ("AUTHORIZATION_ALREADY_CAPTURED", 422, "authorization_already_captured"),
            ("AUTHORIZATION_VOIDED", 422, "authorization_voided"),
            ("AUTHORIZATION_EXPIRED", 422, "authorization_expired"),
            ("AUTH_CAPTURE_CURRENCY_MISMATCH", 422, "auth_capture_currency_mismatch"),
            ("AUTH_CURRENCY_MISMATCH", 422, "auth_capture_currency_mismatch"),
            ("REAUTHORIZATION_TOO_SOON", 422, "reauthorization_too_soon"),
            ("REAUTHORIZATION_NOT_SUPPORTED", 422, "reauthorization_not_supported"),
            ("MAX_CAPTURE_AMOUNT_EXCEEDED", 422, "max_capture_amount_exceeded"),
            ("MAX_CAPTURE_COUNT_EXCEEDED", 422, "max_capture_count_exceeded"),
            ("RATE_LIMIT_REACHED", 429, "paypal_rate_limited"),
            ("INVALID_RESOURCE_ID", 404, "paypal_not_found"),
            ("PREVIOUS_REQUEST_IN_PROGRESS", 409, "paypal_in_progress"),
            ("ORDER_COMPLETION_IN_PROGRESS", 422, "paypal_in_progress"),
        ];
        for (issue, status, code) in issues {
            let body = format!(
                r#"{{"name":"X","message":"m","debug_id":"abc123","details":[{{"issue":"{issue}","description":"d"}}]}}"#
            );
            let e = PaypalError::from_api(parse_api_error(status, body.as_bytes()), None);
            assert_eq!(e.code(), code, "{issue}");
            assert_eq!(e.api().and_then(|a| a.debug_id.as_deref()), Some("abc123"));
        }
    }

    #[test]
    fn bodies_without_details_or_json_still_map() {
        let e = PaypalError::from_api(
            parse_api_error(429, br#"{"name":"RATE_LIMIT_REACHED","message":"Too many","debug_id":"d"}"#),
            None,
        );
        assert!(matches!(e, PaypalError::RateLimited { .. }));
        let e = PaypalError::from_api(parse_api_error(503, b"<html>down</html>"), None);
        assert!(matches!(e, PaypalError::Server(_)) && e.is_transient() && e.outcome_unknown());
        let e = PaypalError::from_api(parse_api_error(400, br#"{"name":"INVALID_REQUEST","message":"bad"}"#), None);
        assert!(matches!(e, PaypalError::Rejected(_)) && !e.is_transient());
    }
}
