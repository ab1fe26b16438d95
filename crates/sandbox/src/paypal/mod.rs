//! PayPal REST v2 as PAYPAL-API.md and PayPal's OpenAPI files (`specs/paypal/`) describe it:
//! OAuth2 client credentials (`oauth`), orders (`orders`), authorizations (`authorizations`:
//! show, capture, void, reauthorize),
//! captures and refunds (`captures`), with `PayPal-Request-Id` idempotency (keys kept as long
//! as [`crate::KeyRetention`] says), `Prefer: return=minimal | representation` (PayPal's default
//! is minimal) and `PayPal-Mock-Response` negative testing. Every answer has the documented
//! shape of its endpoint (`json`, `errors`); what a call changes is done by `World`'s methods.

mod authorizations;
mod captures;
pub(crate) mod errors;
mod json;
mod oauth;
mod orders;

use crate::world::{Replay, World};
use crate::{dec, read_body, AppState, BodyError, BODY_LIMIT};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use errors::Endpoint;
use json::{OrderAnswer, Shape};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/oauth2/token", post(oauth::token))
        .route("/v2/checkout/orders/{id}", get(orders::get_order))
        .route("/v2/checkout/orders/{id}/capture", post(orders::capture_order))
        .route("/v2/checkout/orders/{id}/authorize", post(orders::authorize_order))
        .route("/v2/payments/authorizations/{id}", get(authorizations::get_authorization))
        .route("/v2/payments/authorizations/{id}/capture", post(authorizations::capture_authorization))
        .route("/v2/payments/authorizations/{id}/void", post(authorizations::void_authorization))
        .route("/v2/payments/authorizations/{id}/reauthorize", post(authorizations::reauthorize_authorization))
        .route("/v2/payments/captures/{id}", get(captures::get_capture))
        .route("/v2/payments/captures/{id}/refund", post(captures::refund_capture))
        .route("/v2/payments/refunds/{id}", get(captures::get_refund))
}

fn ok(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

/// Where links point: this sandbox, as the caller addressed it.
fn base(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// `Prefer: return=representation` asks for the whole resource; anything else is PayPal's
/// default, minimal.
fn shape(headers: &HeaderMap) -> Shape {
    let wants = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=representation"));
    if wants {
        Shape::Representation
    } else {
        Shape::Minimal
    }
}

/// Checks the bearer token and the negative-testing header; `Err` is the answer to send.
fn guard(w: &World, headers: &HeaderMap, endpoint: Endpoint) -> Result<(), Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let valid = token.and_then(|t| w.tokens.get(t)).is_some_and(|t| t.expires_at > w.now());
    if !valid {
        return Err(errors::unauthorized());
    }
    let Some(mock) = headers.get("paypal-mock-response").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let code = serde_json::from_str::<Value>(mock)
        .ok()
        .and_then(|v| v.get("mock_application_codes").and_then(Value::as_str).map(str::to_owned));
    let Some(code) = code else {
        return Err(errors::invalid(endpoint, "INVALID_PARAMETER_VALUE", None));
    };
    let status = match code.as_str() {
        "INVALID_RESOURCE_ID" => StatusCode::NOT_FOUND,
        "RATE_LIMIT_REACHED" => StatusCode::TOO_MANY_REQUESTS,
        "INTERNAL_SERVER_ERROR" => StatusCode::INTERNAL_SERVER_ERROR,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "PERMISSION_DENIED" => StatusCode::FORBIDDEN,
        "PREVIOUS_REQUEST_IN_PROGRESS" => StatusCode::CONFLICT,
        "INVALID_REQUEST"
        | "MALFORMED_REQUEST_JSON"
        | "INVALID_PARAMETER_VALUE"
        | "MISSING_REQUIRED_PARAMETER"
        | "INVALID_PARAMETER_SYNTAX"
        | "INVALID_STRING_LENGTH" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Err(errors::issue(status, endpoint, &code, "Mocked by PayPal-Mock-Response.", None))
}

/// The request's idempotency key, per call path.
fn request_key(headers: &HeaderMap, path: &str, endpoint: Endpoint) -> Result<Option<String>, Response> {
    match headers.get("paypal-request-id") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 108 => Ok(Some(format!("{path}|{s}"))),
            _ => Err(errors::invalid(endpoint, "INVALID_PARAMETER_VALUE", None)),
        },
    }
}

/// What an earlier request with this key made, if it is still kept (orders' keys and payments'
/// keys are kept for different times).
fn replayed(w: &mut World, key: &Option<String>) -> Option<Replay> {
    let key = key.as_deref()?;
    let keep = if key.starts_with("/v2/checkout/") { w.key_retention.orders } else { w.key_retention.payments };
    w.replay_of(key, keep)
}

/// A replay answers the current state of what the first request made, 200.
fn replay_answer(base: &str, w: &World, replay: &Replay, shape: Shape, endpoint: Endpoint) -> Response {
    let found = match replay {
        Replay::Order(id) => w.orders.get(id).map(|o| {
            let answer = match (endpoint, shape) {
                (Endpoint::OrderCapture, s) => OrderAnswer::Captured(s),
                (_, Shape::Minimal) => OrderAnswer::AuthorizedMinimal,
                (_, Shape::Representation) => OrderAnswer::Whole,
            };
            json::order(base, w, o, answer)
        }),
        Replay::Authorization(id) => w.authorizations.get(id).map(|a| json::authorization_resource(base, a)),
        Replay::Capture(id) => w.captures.get(id).map(|c| json::capture_created(base, c, shape)),
        Replay::Refund(id) => w.refunds.get(id).map(|r| json::refund(base, r, shape)),
    };
    found.map_or_else(|| errors::not_found(endpoint), |v| ok(StatusCode::OK, v))
}

/// Parses an optional JSON object body (`{}` or nothing is fine).
async fn object_body(body: Body, endpoint: Endpoint) -> Result<Map<String, Value>, Response> {
    // the Payments calls' lists have no MALFORMED_REQUEST_JSON
    let malformed = if matches!(endpoint, Endpoint::OrderCapture | Endpoint::OrderAuthorize) {
        "MALFORMED_REQUEST_JSON"
    } else {
        "INVALID_PARAMETER_SYNTAX"
    };
    let bytes = read_body(body, BODY_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => errors::issue(
            StatusCode::PAYLOAD_TOO_LARGE,
            endpoint,
            "MALFORMED_REQUEST",
            "The request body is too large.",
            None,
        ),
        BodyError::Unreadable => errors::invalid(endpoint, malformed, None),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(errors::invalid(endpoint, malformed, None)),
    }
}

/// An optional `amount` of a Payments call, read as far as its syntax goes: its currency code
/// and its value (the currency is checked against the resource's by the world).
fn requested_amount(body: &Map<String, Value>, endpoint: Endpoint) -> Result<Option<(String, Decimal)>, Response> {
    let Some(amount) = body.get("amount") else {
        return Ok(None);
    };
    let (Some(code), Some(value)) =
        (amount.get("currency_code").and_then(Value::as_str), amount.get("value").and_then(Value::as_str))
    else {
        return Err(errors::invalid(endpoint, "MISSING_REQUIRED_PARAMETER", Some("/amount")));
    };
    let unprocessable = |issue| Err(errors::unprocessable(endpoint, issue));
    let Some(digits) = dec::digits(code) else {
        return unprocessable("INVALID_CURRENCY_CODE");
    };
    let Some(v) = dec::parse_plain(value) else {
        return Err(errors::invalid(endpoint, "INVALID_PARAMETER_SYNTAX", Some("/amount/value")));
    };
    if !dec::fits(v, code) {
        return unprocessable(if digits == 0 { "DECIMALS_NOT_SUPPORTED" } else { "DECIMAL_PRECISION" });
    }
    if v <= Decimal::ZERO {
        return unprocessable("CANNOT_BE_ZERO_OR_NEGATIVE");
    }
    Ok(Some((code.to_owned(), v)))
}
