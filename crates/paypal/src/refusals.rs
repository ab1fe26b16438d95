//! Which answers to a capture prove that nothing was captured.
//!
//! After a capture was sent, the outcome is unknown until PayPal says otherwise: a timeout, a
//! 5xx, a `409 PREVIOUS_REQUEST_IN_PROGRESS` on the client's own retry, or an error nobody
//! documented may arrive while the first request is still capturing. Only the refusals listed
//! in [`proves_nothing_captured`] let a caller conclude "nothing moved" without reading the order
//! or authorization first.

use crate::PaypalError;

/// The two capture calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureCall {
    /// `POST /v2/checkout/orders/{id}/capture`
    Order,
    /// `POST /v2/payments/authorizations/{id}/capture`
    Authorization,
}

/// True only for a documented refusal of `call` that proves nothing was captured, by this
/// request or by an earlier one with the same `PayPal-Request-Id` (PayPal answers a repeated
/// key with the first request's outcome, so a refusal of the repeat is the first one's).
///
/// Sources: `shared/design/PAYPAL-API.md` ("Errors") and PayPal's OpenAPI files
/// (`paypal/paypal-rest-api-specifications`, commit ec4d8f3), the documented `details[].issue`
/// values of the operation's error responses:
/// - `orders.capture` in `checkout_orders_v2.json`: `orders.capture-400`, `orders.capture-403`,
///   `404`, `orders.capture-422`;
/// - `authorizations.capture` in `payments_payment_v2.json`: `400`, `403`, `404`, `422`.
///
/// Every issue of the error must be listed for its status (a body without `details` proves
/// nothing). [`PaypalError::NotSent`] (refused here, before sending) proves it too. Deliberately **not** listed, because they say or allow that money moved or is
/// moving: `ORDER_ALREADY_CAPTURED` and `AUTHORIZATION_ALREADY_CAPTURED` (adopt the capture),
/// `DUPLICATE_INVOICE_ID` (a capture with our invoice id exists), `ORDER_COMPLETION_IN_PROGRESS`
/// and `PREVIOUS_REQUEST_IN_PROGRESS`, `MAX_CAPTURE_AMOUNT_EXCEEDED` and
/// `MAX_CAPTURE_COUNT_EXCEEDED` (an earlier capture, perhaps ours, may have used the
/// authorization up); nor 401, 429, 5xx, timeouts, unreadable answers, or any issue or status
/// the operation does not document (the payment-source, vault and card issues of
/// `orders.capture-422` are for calls that send a payment source, which we never do).
pub fn proves_nothing_captured(call: CaptureCall, err: &PaypalError) -> bool {
    if let PaypalError::NotSent { .. } = err {
        // refused before sending, for an id or amount that is the same on every try
        return true;
    }
    let Some(api) = err.api() else { return false };
    !api.issues.is_empty() && api.issues.iter().all(|issue| documented_refusal(call, api.status, issue))
}

/// One documented issue of `call` at HTTP `status` that proves the request did nothing.
fn documented_refusal(call: CaptureCall, status: u16, issue: &str) -> bool {
    match (call, status) {
        // the request is malformed or unauthorized for this resource: not carried out
        (CaptureCall::Order, 400) => matches!(
            issue,
            "INVALID_PARAMETER_VALUE"
                | "MISSING_REQUIRED_PARAMETER"
                | "INVALID_STRING_LENGTH"
                | "INVALID_PARAMETER_SYNTAX"
                | "MALFORMED_REQUEST_JSON"
        ),
        (CaptureCall::Authorization, 400) => matches!(
            issue,
            "INVALID_PARAMETER_VALUE"
                | "MISSING_REQUIRED_PARAMETER"
                | "INVALID_STRING_LENGTH"
                | "INVALID_STRING_MAX_LENGTH"
                | "INVALID_PARAMETER_SYNTAX"
        ),
        (CaptureCall::Order, 403) => matches!(
            issue,
            "PERMISSION_DENIED"
                | "CONSENT_NEEDED"
                | "NOT_ELIGIBLE_FOR_TOKEN_PROCESSING"
                | "PERMISSION_DENIED_FOR_DONATION_ITEMS"
        ),
        (CaptureCall::Authorization, 403) => issue == "PERMISSION_DENIED",
        // PayPal does not know the order or authorization: nothing of it can have been captured
        (CaptureCall::Order | CaptureCall::Authorization, 404) => issue == "INVALID_RESOURCE_ID",
        // the payment itself was refused
        (CaptureCall::Order, 422) => matches!(
            issue,
            "ORDER_NOT_APPROVED"
                | "INSTRUMENT_DECLINED"
                | "PAYER_CANNOT_PAY"
                | "PAYER_ACCOUNT_LOCKED_OR_CLOSED"
                | "PAYER_ACCOUNT_RESTRICTED"
                | "PAYER_ACTION_REQUIRED"
                | "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING"
                | "TRANSACTION_REFUSED"
                | "TRANSACTION_LIMIT_EXCEEDED"
                | "TRANSACTION_RECEIVING_LIMIT_EXCEEDED"
                | "TRANSACTION_BLOCKED_BY_PAYEE"
                | "PAYEE_BLOCKED_TRANSACTION"
                | "COMPLIANCE_VIOLATION"
                | "DOMESTIC_TRANSACTION_REQUIRED"
                | "DECLINED_DUE_TO_RELATED_TXN"
                | "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED"
                | "AUTH_CAPTURE_NOT_ENABLED"
        ),
        (CaptureCall::Authorization, 422) => matches!(
            issue,
            "AUTHORIZATION_VOIDED"
                | "AUTHORIZATION_EXPIRED"
                | "AUTHORIZATION_DENIED"
                | "AUTH_CAPTURE_CURRENCY_MISMATCH"
                | "INVALID_CURRENCY_CODE"
                | "CANNOT_BE_ZERO_OR_NEGATIVE"
                | "DECIMAL_PRECISION"
                | "DECIMALS_NOT_SUPPORTED"
                | "TRANSACTION_REFUSED"
                | "PAYER_CANNOT_PAY"
                | "PAYER_ACCOUNT_LOCKED_OR_CLOSED"
                | "PAYEE_ACCOUNT_LOCKED_OR_CLOSED"
                | "PAYEE_ACCOUNT_RESTRICTED"
        ),
        (CaptureCall::Order | CaptureCall::Authorization, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::parse_api_error;

    fn err(status: u16, issues: &[&str]) -> PaypalError {
        let details: Vec<String> = issues.iter().map(|i| format!(r#"{{"issue":"{i}","description":"d"}}"#)).collect();
        let body = format!(r#"{{"name":"N","message":"m","debug_id":"d1","details":[{}]}}"#, details.join(","));
        PaypalError::from_api(parse_api_error(status, body.as_bytes()), None)
    }

    #[test]
    fn documented_refusals_prove_nothing_moved() {
        use CaptureCall::{Authorization as A, Order as O};
        for (call, status, issue) in [
            (O, 422, "ORDER_NOT_APPROVED"),
            (O, 422, "INSTRUMENT_DECLINED"),
            (O, 400, "MALFORMED_REQUEST_JSON"),
            (O, 403, "PERMISSION_DENIED"),
            (O, 404, "INVALID_RESOURCE_ID"),
            (A, 422, "AUTHORIZATION_VOIDED"),
            (A, 422, "AUTHORIZATION_EXPIRED"),
            (A, 422, "AUTHORIZATION_DENIED"),
            (A, 422, "AUTH_CAPTURE_CURRENCY_MISMATCH"),
            (A, 400, "INVALID_STRING_MAX_LENGTH"),
            (A, 404, "INVALID_RESOURCE_ID"),
        ] {
            assert!(proves_nothing_captured(call, &err(status, &[issue])), "{call:?} {status} {issue}");
        }
    }

    #[test]
    fn anything_else_proves_nothing() {
        use CaptureCall::{Authorization as A, Order as O};
        for (call, status, issues) in [
            (O, 422, &["ORDER_ALREADY_CAPTURED"][..]),
            (O, 422, &["DUPLICATE_INVOICE_ID"]),
            (O, 422, &["ORDER_COMPLETION_IN_PROGRESS"]),
            (O, 409, &["PREVIOUS_REQUEST_IN_PROGRESS"]),
            (O, 422, &["SOMETHING_UNDOCUMENTED"]),
            (O, 422, &["ORDER_NOT_APPROVED", "SOMETHING_UNDOCUMENTED"]),
            (O, 422, &[]),
            (O, 400, &["INVALID_STRING_MAX_LENGTH"]), // documented for authorizations only
            (O, 422, &["AUTHORIZATION_VOIDED"]),      // not an order capture's issue
            (O, 500, &["INTERNAL_SERVER_ERROR"]),
            (A, 422, &["AUTHORIZATION_ALREADY_CAPTURED"]),
            (A, 422, &["MAX_CAPTURE_AMOUNT_EXCEEDED"]),
            (A, 422, &["MAX_CAPTURE_COUNT_EXCEEDED"]),
            (A, 422, &["DUPLICATE_INVOICE_ID"]),
            (A, 422, &["ORDER_NOT_APPROVED"]),
            (A, 400, &["MALFORMED_REQUEST_JSON"]),
            (A, 401, &[]),
            (A, 429, &["RATE_LIMIT_REACHED"]),
        ] {
            assert!(!proves_nothing_captured(call, &err(status, issues)), "{call:?} {status} {issues:?}");
        }
        for e in [
            PaypalError::Timeout,
            PaypalError::Unreachable { detail: "x".into() },
            PaypalError::InvalidResponse { detail: "x".into() },
        ] {
            assert!(!proves_nothing_captured(CaptureCall::Order, &e));
        }
    }
}
