//! Which answers to a capture prove that nothing was captured.
//!
//! After a capture was sent, the outcome is unknown until PayPal says otherwise: a timeout, a
//! 5xx, a `409 PREVIOUS_REQUEST_IN_PROGRESS` on the client's own retry, or an error nobody
//! documented may arrive while the first request is still capturing. [`refusal_proof`] sorts
//! a refusal into what it proves ([`RefusalProof`]); only [`RefusalProof::NothingCaptured`]
//! lets a caller conclude "nothing moved" without reading the order or authorization first.
//!
//! # Why a refusal proves something only sometimes
//!
//! The refusal a caller sees may be the answer to a *retry* of the request (the client's own,
//! or a resume days later), sent with the same `PayPal-Request-Id` and the same body. While
//! PayPal retains the key (6 h for an order capture, 45 days for an authorization capture),
//! a retry of a request that captured is answered with that capture, so a refusal is the first
//! request's own. Once the key is forgotten, or when the retry is sent by other credentials
//! (another merchant or app: keys are per caller), the retry is a new request judged on what
//! PayPal holds *now*, and the first request may well have captured. So a refusal is proof only
//! when it could not be answered for a request that captured, whatever became of the key:
//!
//! * **the request itself is invalid** (the 400 validation issues; a currency or amount PayPal
//!   refuses): every try sends the same path, key and body (all from the journal entry), so
//!   the first try was refused the same way;
//! * **PayPal declined the payment** (the instrument, the payer, the limits, risk): such a
//!   decision is only made while the order or authorization is still capturable, and one our
//!   request captured never is again (a captured order is `COMPLETED` for good; we capture an
//!   authorization with `final_capture`, which leaves it `CAPTURED`, or `VOIDED` for the rest).
//!
//! Even these prove nothing about **another send** of the same request id whose answer was
//! lost: the first try may still be capturing when a retry is judged (PayPal answers the retry
//! on its own, or answers a replay otherwise than the first try), and a retry after the key was
//! forgotten is a new request. So a caller that may have sent the request before (a resume of a
//! sent attempt, or the client's own retry after a timeout or a cut connection, which the
//! client does not report to its caller) reads the order or authorization before concluding,
//! exactly as for [`RefusalProof::UnlessListed`]: Capture Desk's engine does that for every
//! refusal (`billing::capture::paypal_steps`). [`RefusalProof::NothingCaptured`] is the proof
//! for one try answered on its own.
//!
//! Refusals that describe the order's, authorization's or merchant's **state now** (not
//! approved, voided, expired, denied, the merchant account locked, a feature or the attempts
//! used up) can be answered for an order or authorization our request captured earlier (an
//! authorization captured and then voided; a retry after the key was forgotten): they are
//! [`RefusalProof::UnlessListed`], proof only once PayPal lists no capture of ours. Refusals of
//! **who asks** (`403`: permissions, consent; `404 INVALID_RESOURCE_ID`: the caller cannot see
//! the order or authorization, as after a change of credentials) say nothing of what was
//! captured: [`RefusalProof::Nothing`], like any undocumented answer.

use crate::PaypalError;

/// The two capture calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureCall {
    /// `POST /v2/checkout/orders/{id}/capture`
    Order,
    /// `POST /v2/payments/authorizations/{id}/capture`
    Authorization,
}

/// What an answer to a capture proves about whether it (or an earlier try with the same
/// `PayPal-Request-Id`) captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalProof {
    /// Nothing was captured by this try, whatever PayPal holds. Conclusive for a request sent
    /// once and answered on that try; after any other send of the same request id (a resume, a
    /// retry) it is read as [`RefusalProof::UnlessListed`] (see the module documentation).
    NothingCaptured,
    /// The order, authorization or merchant cannot be captured now: nothing of this request was
    /// captured unless PayPal lists a capture of ours (read first; adopt it if listed).
    UnlessListed,
    /// Nothing is proved: the outcome is unknown; read what PayPal holds and decide from that.
    Nothing,
}

/// True only for [`RefusalProof::NothingCaptured`].
pub fn proves_nothing_captured(call: CaptureCall, err: &PaypalError) -> bool {
    refusal_proof(call, err) == RefusalProof::NothingCaptured
}

/// What `err`, answered to `call`, proves (see the module documentation for the reasoning).
///
/// Sources: `shared/design/PAYPAL-API.md` ("Errors") and PayPal's OpenAPI files
/// (`paypal/paypal-rest-api-specifications`, commit ec4d8f3), the documented `details[].issue`
/// values of the operation's error responses:
/// - `orders.capture` in `checkout_orders_v2.json`: `orders.capture-400`, `orders.capture-403`,
///   `404`, `orders.capture-422`;
/// - `authorizations.capture` in `payments_payment_v2.json`: `400`, `403`, `404`, `422`.
///
/// Every issue of the error must be listed for its status (a body without `details` proves
/// nothing); with issues of both lists the weaker proof holds. [`PaypalError::NotSent`]
/// (refused here, before sending) proves nothing was captured. Deliberately **in no list**,
/// because they say or allow that money moved or is moving: `ORDER_ALREADY_CAPTURED` and
/// `AUTHORIZATION_ALREADY_CAPTURED` (adopt the capture), `DUPLICATE_INVOICE_ID` (a capture with
/// our invoice id exists), `ORDER_COMPLETION_IN_PROGRESS` and `PREVIOUS_REQUEST_IN_PROGRESS`,
/// `MAX_CAPTURE_AMOUNT_EXCEEDED` and `MAX_CAPTURE_COUNT_EXCEEDED` (an earlier capture, perhaps
/// ours, may have used the authorization up); every `403` and `404 INVALID_RESOURCE_ID` (who
/// asks, not what was captured); nor 401, 429, 5xx, timeouts, unreadable answers, or any issue
/// or status the operation does not document (the payment-source, vault and card issues of
/// `orders.capture-422` are for calls that send a payment source, which we never do).
pub fn refusal_proof(call: CaptureCall, err: &PaypalError) -> RefusalProof {
    if let PaypalError::NotSent { .. } = err {
        // refused before sending, for an id or amount that is the same on every try
        return RefusalProof::NothingCaptured;
    }
    let Some(api) = err.api() else { return RefusalProof::Nothing };
    if api.issues.is_empty() {
        return RefusalProof::Nothing;
    }
    let proofs = api.issues.iter().map(|issue| issue_proof(call, api.status, issue));
    proofs.fold(RefusalProof::NothingCaptured, |weakest, p| match (weakest, p) {
        (RefusalProof::Nothing, _) | (_, RefusalProof::Nothing) => RefusalProof::Nothing,
        (RefusalProof::UnlessListed, _) | (_, RefusalProof::UnlessListed) => RefusalProof::UnlessListed,
        (RefusalProof::NothingCaptured, RefusalProof::NothingCaptured) => RefusalProof::NothingCaptured,
    })
}

/// What one documented issue of `call` at HTTP `status` proves.
fn issue_proof(call: CaptureCall, status: u16, issue: &str) -> RefusalProof {
    if request_invalid(call, status, issue) || payment_declined(call, status, issue) {
        RefusalProof::NothingCaptured
    } else if state_now(call, status, issue) {
        RefusalProof::UnlessListed
    } else {
        RefusalProof::Nothing
    }
}

/// The request itself is invalid: the same path, key and body are refused on every try.
fn request_invalid(call: CaptureCall, status: u16, issue: &str) -> bool {
    match (call, status) {
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
        // our amount or currency, the same on every try
        (CaptureCall::Authorization, 422) => matches!(
            issue,
            "AUTH_CAPTURE_CURRENCY_MISMATCH"
                | "INVALID_CURRENCY_CODE"
                | "CANNOT_BE_ZERO_OR_NEGATIVE"
                | "DECIMAL_PRECISION"
                | "DECIMALS_NOT_SUPPORTED"
        ),
        _ => false,
    }
}

/// PayPal declined the payment: only decided while the order or authorization is capturable.
fn payment_declined(call: CaptureCall, status: u16, issue: &str) -> bool {
    match (call, status) {
        (CaptureCall::Order, 422) => matches!(
            issue,
            "INSTRUMENT_DECLINED"
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
        ),
        (CaptureCall::Authorization, 422) => {
            matches!(issue, "TRANSACTION_REFUSED" | "PAYER_CANNOT_PAY" | "PAYER_ACCOUNT_LOCKED_OR_CLOSED")
        }
        _ => false,
    }
}

/// The order's, authorization's or merchant's state now, which an order or authorization our
/// request captured earlier can be in too.
fn state_now(call: CaptureCall, status: u16, issue: &str) -> bool {
    match (call, status) {
        (CaptureCall::Order, 422) => {
            matches!(
                issue,
                "ORDER_NOT_APPROVED" | "AUTH_CAPTURE_NOT_ENABLED" | "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED"
            )
        }
        (CaptureCall::Authorization, 422) => matches!(
            issue,
            "AUTHORIZATION_VOIDED"
                | "AUTHORIZATION_EXPIRED"
                | "AUTHORIZATION_DENIED"
                | "PAYEE_ACCOUNT_LOCKED_OR_CLOSED"
                | "PAYEE_ACCOUNT_RESTRICTED"
        ),
        _ => false,
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
            (O, 422, "INSTRUMENT_DECLINED"),
            (O, 422, "PAYER_ACTION_REQUIRED"),
            (O, 422, "TRANSACTION_REFUSED"),
            (O, 400, "MALFORMED_REQUEST_JSON"),
            (A, 422, "AUTH_CAPTURE_CURRENCY_MISMATCH"),
            (A, 422, "DECIMAL_PRECISION"),
            (A, 422, "TRANSACTION_REFUSED"),
            (A, 400, "INVALID_STRING_MAX_LENGTH"),
        ] {
            let e = err(status, &[issue]);
            assert_eq!(refusal_proof(call, &e), RefusalProof::NothingCaptured, "{call:?} {status} {issue}");
            assert!(proves_nothing_captured(call, &e), "{call:?} {status} {issue}");
        }
        assert!(proves_nothing_captured(O, &PaypalError::NotSent { detail: "x".into() }));
    }

    /// A refusal of the order's, authorization's or merchant's state now: an order or
    /// authorization our request captured earlier can be in it too (captured, then voided; a
    /// retry after PayPal forgot the key), so it proves nothing until PayPal lists no capture of
    /// ours. Before, these ended the attempt `rejected` at once.
    #[test]
    fn refusals_of_the_state_now_prove_nothing_until_paypal_lists_no_capture() {
        use CaptureCall::{Authorization as A, Order as O};
        for (call, status, issues) in [
            (O, 422, &["ORDER_NOT_APPROVED"][..]),
            (O, 422, &["AUTH_CAPTURE_NOT_ENABLED"]),
            (O, 422, &["MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED"]),
            (O, 422, &["ORDER_NOT_APPROVED", "INSTRUMENT_DECLINED"]), // the weaker proof holds
            (A, 422, &["AUTHORIZATION_VOIDED"]),
            (A, 422, &["AUTHORIZATION_EXPIRED"]),
            (A, 422, &["AUTHORIZATION_DENIED"]),
            (A, 422, &["PAYEE_ACCOUNT_LOCKED_OR_CLOSED"]),
            (A, 422, &["PAYEE_ACCOUNT_RESTRICTED"]),
        ] {
            let e = err(status, issues);
            assert_eq!(refusal_proof(call, &e), RefusalProof::UnlessListed, "{call:?} {status} {issues:?}");
            assert!(!proves_nothing_captured(call, &e), "{call:?} {status} {issues:?}");
        }
    }

    /// `403` and `404` answer who asks (credentials, permissions, a resource the caller cannot
    /// see), not whether the lost first request captured: nothing is proved. Before, they
    /// ended the attempt `rejected`.
    #[test]
    fn refusals_of_who_asks_prove_nothing() {
        use CaptureCall::{Authorization as A, Order as O};
        for (call, status, issue) in [
            (O, 403, "PERMISSION_DENIED"),
            (O, 403, "CONSENT_NEEDED"),
            (O, 403, "NOT_ELIGIBLE_FOR_TOKEN_PROCESSING"),
            (O, 403, "PERMISSION_DENIED_FOR_DONATION_ITEMS"),
            (O, 404, "INVALID_RESOURCE_ID"),
            (A, 403, "PERMISSION_DENIED"),
            (A, 404, "INVALID_RESOURCE_ID"),
        ] {
            assert_eq!(refusal_proof(call, &err(status, &[issue])), RefusalProof::Nothing, "{call:?} {status} {issue}");
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
            (O, 422, &["INSTRUMENT_DECLINED", "ORDER_ALREADY_CAPTURED"]),
            (O, 422, &[]),
            (O, 400, &["INVALID_STRING_MAX_LENGTH"]), // documented for authorizations only
            (O, 422, &["AUTHORIZATION_VOIDED"]),      // not an order capture's issue
            (O, 500, &["INTERNAL_SERVER_ERROR"]),
            (A, 422, &["AUTHORIZATION_ALREADY_CAPTURED"]),
            (A, 422, &["MAX_CAPTURE_AMOUNT_EXCEEDED"]),
            (A, 422, &["MAX_CAPTURE_COUNT_EXCEEDED"]),
            (A, 422, &["DUPLICATE_INVOICE_ID"]),
            (A, 422, &["ORDER_NOT_APPROVED"]),
            (A, 422, &["INSTRUMENT_DECLINED"]), // not an authorization capture's issue
            (A, 400, &["MALFORMED_REQUEST_JSON"]),
            (A, 401, &[]),
            (A, 429, &["RATE_LIMIT_REACHED"]),
        ] {
            let e = err(status, issues);
            assert_eq!(refusal_proof(call, &e), RefusalProof::Nothing, "{call:?} {status} {issues:?}");
        }
        for e in [
            PaypalError::Timeout,
            PaypalError::Unreachable { detail: "x".into() },
            PaypalError::InvalidResponse { detail: "x".into() },
        ] {
            assert_eq!(refusal_proof(CaptureCall::Order, &e), RefusalProof::Nothing);
        }
    }
}
