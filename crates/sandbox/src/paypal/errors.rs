//! PayPal's error answers, as its OpenAPI files define them: `{name, message, debug_id,
//! details?, links}` with the name and message of the status's error schema (`error_400`,
//! `error_422`, ...) and, in `details[]`, an issue of the endpoint's list with the description
//! that list gives it (the texts differ between endpoints; they are copied here exactly).

use crate::world::Refusal;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{json, Value};

/// The PayPal calls the sandbox answers, for the documented texts of their errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    OrderGet,
    OrderCapture,
    OrderAuthorize,
    AuthorizationGet,
    AuthorizationCapture,
    AuthorizationVoid,
    AuthorizationReauthorize,
    CaptureGet,
    CaptureRefund,
    RefundGet,
}

impl Endpoint {
    fn orders(self) -> bool {
        matches!(self, Endpoint::OrderGet | Endpoint::OrderCapture | Endpoint::OrderAuthorize)
    }
}

/// PayPal's 13 hex digits.
fn debug_id() -> String {
    let n = Utc::now().timestamp_nanos_opt().unwrap_or(0).unsigned_abs();
    format!("{:013x}", (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 12) & 0xF_FFFF_FFFF_FFFF)
}

/// The name and message of a status's error schema (`error_400` … `error_503`).
fn name_and_message(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates schema."),
        401 => (
            "AUTHENTICATION_FAILURE",
            "Authentication failed due to missing authorization header, or invalid authentication credentials.",
        ),
        403 => ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
        404 => ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
        409 => ("RESOURCE_CONFLICT", "The server has detected a conflict while processing this request."),
        422 => (
            "UNPROCESSABLE_ENTITY",
            "The requested action could not be performed, semantically incorrect, or failed business validation.",
        ),
        // not in PayPal's OpenAPI files; its REST error reference
        429 => ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
        503 => ("SERVICE_UNAVAILABLE", "Service Unavailable."),
        _ => ("INTERNAL_SERVER_ERROR", "An internal server error occurred."),
    }
}

/// The description PayPal's list for `endpoint` gives `issue` (`None`: not on its list).
pub(crate) fn description(endpoint: Endpoint, issue: &str) -> Option<&'static str> {
    use Endpoint::*;
    Some(match (issue, endpoint) {
        ("INVALID_RESOURCE_ID", _) => "Specified resource ID does not exist. Please check the resource ID and try again.",
        ("PERMISSION_DENIED", _) => "You do not have permission to access or perform operations on this resource.",
        ("ORDER_ALREADY_CAPTURED", OrderCapture) => "Order already captured.If 'intent=CAPTURE' only one capture per order is allowed.",
        ("ORDER_NOT_APPROVED", OrderCapture) => "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call or provide a valid `payment_source` in the request.",
        ("ORDER_NOT_APPROVED", OrderAuthorize) => "Payer has not yet approved the Order for payment. Please redirect the payer to the 'rel':'approve' url returned as part of the HATEOAS links within the Create Order call.",
        ("ACTION_DOES_NOT_MATCH_INTENT", OrderAuthorize) => "Order was created with an intent to 'CAPTURE'. Please use v2/checkout/orders/order_id/capture to complete the transaction or alternately Create an order with an intent of 'AUTHORIZE'.",
        ("ORDER_ALREADY_AUTHORIZED", OrderAuthorize) => "Order already authorized.If 'intent=AUTHORIZE' only one authorization per order is allowed.",
        ("ORDER_COMPLETED_OR_VOIDED", OrderAuthorize) => "Order is voided or completed and hence cannot be authorized.",
        ("INSTRUMENT_DECLINED", OrderCapture) => "The instrument presented  was either declined by the processor or bank, or it can't be used for this payment.",
        ("TRANSACTION_REFUSED", OrderCapture | OrderAuthorize) => "The request was refused.",
        ("TRANSACTION_REFUSED", AuthorizationCapture | AuthorizationReauthorize) => "PayPal's internal controls prevent authorization from being captured.",
        ("MALFORMED_REQUEST_JSON", e) if e.orders() => "The request JSON is not well formed.",
        ("INVALID_PARAMETER_VALUE", e) if e.orders() => "A parameter value is not valid.",
        ("INVALID_PARAMETER_VALUE", AuthorizationCapture) => "The value of a field is invalid.",
        ("MISSING_REQUIRED_PARAMETER", e) if e.orders() => "A required field / parameter is missing",
        ("MISSING_REQUIRED_PARAMETER", AuthorizationCapture) => "A required field / parameter is missing.",
        ("INVALID_PARAMETER_SYNTAX", e) if e.orders() || e == AuthorizationCapture => "The value of a field does not conform to the expected format.",
        ("INVALID_PARAMETER_SYNTAX", CaptureRefund) => "The value of a field does not conform to the expected format.",
        ("INVALID_PARAMETER_SYNTAX", AuthorizationReauthorize) => "The value of a field does not conform to the expected format.",
        ("MISSING_REQUIRED_PARAMETER", AuthorizationReauthorize) => "A required field / parameter is missing.",
        ("INVALID_STRING_LENGTH", AuthorizationReauthorize) => "The value of a field is either too short or too long.",
        ("AUTHORIZATION_VOIDED", AuthorizationCapture | AuthorizationReauthorize) => "A voided authorization cannot be captured or reauthorized. ",
        ("AUTHORIZATION_EXPIRED", AuthorizationCapture) => "An expired authorization cannot be captured.",
        ("AUTHORIZATION_ALREADY_CAPTURED", AuthorizationCapture | AuthorizationReauthorize) => "Authorization has previously been captured.",
        ("AUTHORIZATION_DENIED", AuthorizationCapture) => "An denied authorization cannot be captured.",
        ("AUTH_CAPTURE_CURRENCY_MISMATCH", AuthorizationCapture) => "Currency of capture must be the same as currency of authorization.",
        ("MAX_CAPTURE_AMOUNT_EXCEEDED", AuthorizationCapture) => "Capture amount exceeds allowable limit. Please contact customer service or your account manager to request the change to your overage limit. The default overage limit is 115%, which allows the sum of all captures to be up to 115% of the order amount. The ability to over capture is subjected to regulatory approvals.",
        ("MAX_CAPTURE_COUNT_EXCEEDED", AuthorizationCapture) => "Maxmimum number of allowable captures has been reached. No additional captures are possible for this authorization. Contact Customer Service or your account manager to change the number of captures for a given authorization.",
        ("INVALID_CURRENCY_CODE", AuthorizationCapture | CaptureRefund | AuthorizationReauthorize) => "Currency code is invalid or is not currently supported. Please refer https://developer.paypal.com/docs/api/reference/currency-codes/ for list of supported currency codes.",
        ("DECIMAL_PRECISION", AuthorizationCapture | CaptureRefund | AuthorizationReauthorize) => "If the currency supports decimals, only two decimal place precision is supported.",
        ("DECIMALS_NOT_SUPPORTED", AuthorizationCapture | CaptureRefund | AuthorizationReauthorize) => "Currency does not support decimals. Please refer to https://developer.paypal.com/docs/api/reference/currency-codes/ for more information.",
        ("CANNOT_BE_ZERO_OR_NEGATIVE", AuthorizationCapture | CaptureRefund | AuthorizationReauthorize) => "Must be greater than zero. If the currency supports decimals, only two decimal place precision is supported.",
        ("REAUTHORIZATION_NOT_SUPPORTED", AuthorizationReauthorize) => "A reauthorize cannot be attempted on an authorization_id that is the result of a prior reauthorization or on an authorization made on an Order saved using the `v2/orders/id/save` API.",
        ("AUTH_CURRENCY_MISMATCH", AuthorizationReauthorize) => "The currency specified during reauthorization should be the same as the currency specified in the original authorization. Please check the currency of the authorization for which you are trying to reauthorize and try again.",
        ("PREVIOUSLY_CAPTURED", AuthorizationVoid) => "Authorization has been previously captured and hence cannot be voided.",
        ("PREVIOUSLY_VOIDED", AuthorizationVoid) => "Authorization has been previously voided and hence cannot be voided again.",
        ("CANNOT_BE_VOIDED", AuthorizationVoid) => "A reauthorization cannot be voided. Please void the original parent authorization.",
        ("PREVIOUS_REQUEST_IN_PROGRESS", _) => "A previous request on this resource is currently in progress. Please wait for sometime and try again. It is best to space out the initial and the subsequent request(s) to avoid receiving this error.",
        ("CAPTURE_FULLY_REFUNDED", CaptureRefund) => "The capture has already been fully refunded",
        ("PENDING_CAPTURE", CaptureRefund) => "Cannot initiate a refund as the capture is pending. Capture is typically pending when the payer has funded the transaction using e-check/bank funded.",
        ("REFUND_NOT_ALLOWED", CaptureRefund) => "Capture cannot be refunded.",
        ("REFUND_AMOUNT_EXCEEDED", CaptureRefund) => "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
        ("REFUND_CAPTURE_CURRENCY_MISMATCH", CaptureRefund) => "Refund must be in the same currency as the capture",
        _ => return None,
    })
}

/// An error answer: the status's name and message, and `details` when there is an issue.
pub(crate) fn answer(status: StatusCode, details: Option<Value>) -> Response {
    let (name, message) = name_and_message(status);
    let mut body = json!({ "name": name, "message": message, "debug_id": debug_id() });
    if let Some(details) = details {
        let issue = details[0]["issue"].as_str().unwrap_or(name).to_lowercase();
        body["details"] = details;
        body["links"] = json!([{
            "href": format!("https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue}"),
            "rel": "information_link",
            "method": "GET"
        }]);
    } else {
        body["links"] = json!([{
            "href": format!("https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{}", name.to_lowercase()),
            "rel": "information_link",
            "method": "GET"
        }]);
    }
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

/// An error with one issue, described as `endpoint`'s list has it (or with `fallback`).
pub(crate) fn issue(
    status: StatusCode,
    endpoint: Endpoint,
    issue: &str,
    fallback: &str,
    field: Option<&str>,
) -> Response {
    let mut detail = json!({ "issue": issue, "description": description(endpoint, issue).unwrap_or(fallback) });
    if let Some(field) = field {
        detail["field"] = json!(field);
        detail["location"] = json!("body");
    }
    answer(status, Some(json!([detail])))
}

/// A 422 with an issue of `endpoint`'s list.
pub(crate) fn unprocessable(endpoint: Endpoint, name: &str) -> Response {
    issue(StatusCode::UNPROCESSABLE_ENTITY, endpoint, name, "The requested action could not be performed.", None)
}

/// A 400 with an issue of `endpoint`'s list, about `field` when given.
pub(crate) fn invalid(endpoint: Endpoint, name: &str, field: Option<&str>) -> Response {
    issue(StatusCode::BAD_REQUEST, endpoint, name, "The request is not valid.", field)
}

pub(crate) fn not_found(endpoint: Endpoint) -> Response {
    issue(StatusCode::NOT_FOUND, endpoint, "INVALID_RESOURCE_ID", "", None)
}

/// A refusal of the world's, as `endpoint` documents it (the two reauthorize refusals its list
/// does not name, described in the sandbox's own words).
pub(crate) fn refusal(endpoint: Endpoint, r: Refusal) -> Response {
    let unlisted = |text| issue(StatusCode::UNPROCESSABLE_ENTITY, endpoint, r.issue(), text, None);
    match r {
        Refusal::NotFound => not_found(endpoint),
        Refusal::PreviousRequestInProgress => in_progress(endpoint),
        Refusal::ReauthorizationTooSoon => {
            unlisted("An authorization can be reauthorized only after its three-day honor period.")
        }
        Refusal::AuthorizationExpired if endpoint == Endpoint::AuthorizationReauthorize => {
            unlisted("An expired authorization cannot be reauthorized. Create a new authorized payment.")
        }
        other => unprocessable(endpoint, other.issue()),
    }
}

/// 409: a request with the same PayPal-Request-Id (or on the same resource) is in progress.
pub(crate) fn in_progress(endpoint: Endpoint) -> Response {
    issue(StatusCode::CONFLICT, endpoint, "PREVIOUS_REQUEST_IN_PROGRESS", "", None)
}

/// A bearer token PayPal does not accept (`error_401`, no details).
pub(crate) fn unauthorized() -> Response {
    answer(StatusCode::UNAUTHORIZED, None)
}

/// The body of a fault the sandbox injects with `status`: the status's error schema, with the
/// one issue PayPal's lists give it where there is one.
pub(crate) fn injected(status: StatusCode) -> Response {
    let generic = Endpoint::OrderGet;
    match status.as_u16() {
        403 => issue(status, generic, "PERMISSION_DENIED", "", None),
        404 => not_found(generic),
        429 => issue(status, generic, "RATE_LIMIT_REACHED", "Too many requests.", None),
        _ => answer(status, None),
    }
}

/// An error whose issue is on no list of PayPal's (a fault of the sandbox's, after the change).
pub(crate) fn undocumented(status: StatusCode, name: &str) -> Response {
    answer(status, Some(json!([{ "issue": name, "description": "Injected by the sandbox after the request acted." }])))
}
