//! PayPal REST v2 as PAYPAL-API.md describes it: OAuth2 client credentials, orders,
//! authorizations, captures and refunds, with `PayPal-Request-Id` idempotency and
//! `PayPal-Mock-Response` negative testing.

use crate::world::{Authorization, Capture, Order, Refund, Replay, Token, World};
use crate::{dec, read_body, AppState, BodyError, BODY_LIMIT};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/oauth2/token", post(token))
        .route("/v2/checkout/orders/{id}", get(get_order))
        .route("/v2/checkout/orders/{id}/capture", post(capture_order))
        .route("/v2/checkout/orders/{id}/authorize", post(authorize_order))
        .route("/v2/payments/authorizations/{id}", get(get_authorization))
        .route("/v2/payments/authorizations/{id}/capture", post(capture_authorization))
        .route("/v2/payments/authorizations/{id}/void", post(void_authorization))
        .route("/v2/payments/captures/{id}", get(get_capture))
        .route("/v2/payments/captures/{id}/refund", post(refund_capture))
        .route("/v2/payments/refunds/{id}", get(get_refund))
}

/// Token lifetime, as PayPal's (about nine hours).
const TOKEN_SECONDS: i64 = 32_400;

fn debug_id() -> String {
    let n = Utc::now().timestamp_nanos_opt().unwrap_or(0).unsigned_abs();
    format!("{:013x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 12)
}

/// PayPal's error body: `{name, message, debug_id, details?, links}`.
pub(crate) fn error(status: StatusCode, name: &str, message: &str, issue: Option<(&str, &str)>) -> Response {
    let mut body = json!({ "name": name, "message": message, "debug_id": debug_id() });
    if let Some((issue, description)) = issue {
        body["details"] = json!([{ "issue": issue, "description": description }]);
        body["links"] = json!([{
            "href": format!("https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{}", issue.to_lowercase()),
            "rel": "information_link",
            "method": "GET"
        }]);
    }
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn unprocessable(issue: &str, description: &str) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed business validation.",
        Some((issue, description)),
    )
}

fn invalid(issue: &str, description: &str, field: Option<&str>) -> Response {
    let mut detail = json!({ "issue": issue, "description": description });
    if let Some(field) = field {
        detail["field"] = json!(field);
        detail["location"] = json!("body");
    }
    let body = json!({
        "name": "INVALID_REQUEST",
        "message": "Request is not well-formed, syntactically incorrect, or violates schema.",
        "debug_id": debug_id(),
        "details": [detail],
    });
    ok(StatusCode::BAD_REQUEST, body)
}

fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
        Some((
            "INVALID_RESOURCE_ID",
            &format!("Specified resource ID does not exist. Please check the resource ID and try again. ({what})"),
        )),
    )
}

fn ok(status: StatusCode, body: Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn money(currency: &str, value: Decimal) -> Value {
    json!({ "currency_code": currency, "value": dec::paypal_text(value, currency) })
}

// ---------------------------------------------------------------------------------------------
// Authentication

async fn token(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let auth_error = |status: StatusCode, error: &str, description: &str| {
        ok(status, json!({ "error": error, "error_description": description }))
    };
    let credentials = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = credentials.as_deref().and_then(|c| c.split_once(':')) else {
        return auth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client Authentication failed");
    };
    let expected = state.world().credentials.clone();
    if id != expected.client_id || secret != expected.client_secret {
        return auth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client Authentication failed");
    }
    let Ok(bytes) = read_body(body, BODY_LIMIT).await else {
        return auth_error(StatusCode::BAD_REQUEST, "invalid_request", "Request body unreadable");
    };
    let form = String::from_utf8_lossy(&bytes);
    let grant = form.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "grant_type").map(|(_, v)| v);
    match grant {
        Some("client_credentials") => {}
        None => return auth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Grant Type is NULL"),
        Some(_) => return auth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "unsupported grant_type"),
    }
    let mut w = state.world();
    let now = w.now();
    w.tokens.retain(|_, t| t.expires_at > now);
    let access_token = format!("A21AA{}", w.new_id(40));
    w.tokens.insert(access_token.clone(), Token { expires_at: now + Duration::seconds(TOKEN_SECONDS) });
    state.mark_dirty();
    ok(
        StatusCode::OK,
        json!({
            "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
            "access_token": access_token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": TOKEN_SECONDS,
            "nonce": format!("{}{}", time(now), w.new_id(16)),
        }),
    )
}

/// Checks the bearer token and the negative-testing header; `Err` is the response to send.
fn guard(w: &World, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let valid = token.and_then(|t| w.tokens.get(t)).is_some_and(|t| t.expires_at > w.now());
    if !valid {
        return Err(ok(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "invalid_token", "error_description": if token.is_some() { "Token signature verification failed" } else { "No permission for the requested operation" } }),
        ));
    }
    if let Some(mock) = headers.get("paypal-mock-response").and_then(|v| v.to_str().ok()) {
        let code = serde_json::from_str::<Value>(mock)
            .ok()
            .and_then(|v| v.get("mock_application_codes").and_then(Value::as_str).map(str::to_owned));
        let Some(code) = code else {
            return Err(invalid(
                "INVALID_PARAMETER_VALUE",
                "PayPal-Mock-Response must be {\"mock_application_codes\":\"ISSUE\"}",
                None,
            ));
        };
        return Err(match code.as_str() {
            "INVALID_RESOURCE_ID" => not_found("mocked"),
            "RATE_LIMIT_REACHED" => error(
                StatusCode::TOO_MANY_REQUESTS,
                "RATE_LIMIT_REACHED",
                "Too many requests. Blocked due to rate limiting.",
                Some(("RATE_LIMIT_REACHED", "Too many requests.")),
            ),
            "INTERNAL_SERVER_ERROR" => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVER_ERROR",
                "An internal server error has occurred.",
                Some(("INTERNAL_SERVER_ERROR", "An internal server error has occurred.")),
            ),
            "SERVICE_UNAVAILABLE" => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "Service Unavailable.",
                Some(("SERVICE_UNAVAILABLE", "Service Unavailable.")),
            ),
            "PERMISSION_DENIED" => error(
                StatusCode::FORBIDDEN,
                "NOT_AUTHORIZED",
                "Authorization failed due to insufficient permissions.",
                Some((
                    "PERMISSION_DENIED",
                    "You do not have permission to access or perform operations on this resource.",
                )),
            ),
            "INVALID_REQUEST"
            | "MALFORMED_REQUEST_JSON"
            | "DECIMAL_PRECISION"
            | "INVALID_PARAMETER_VALUE"
            | "MISSING_REQUIRED_PARAMETER" => invalid(&code, "Mocked by PayPal-Mock-Response.", None),
            other => unprocessable(other, "Mocked by PayPal-Mock-Response."),
        });
    }
    Ok(())
}

/// The request's idempotency key, per PayPal call path.
fn request_key(headers: &HeaderMap, path: &str) -> Result<Option<String>, Response> {
    match headers.get("paypal-request-id") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() && s.len() <= 108 => Ok(Some(format!("{path}|{s}"))),
            _ => Err(invalid("INVALID_PARAMETER_VALUE", "PayPal-Request-Id must be 1 to 108 characters.", None)),
        },
    }
}

/// Replays an earlier request with the same key: the resource's current state, 200.
fn replay(w: &World, key: &Option<String>) -> Option<Response> {
    let r = w.idempotency.get(key.as_ref()?)?;
    Some(match r {
        Replay::Order(id) => w.orders.get(id).map_or_else(|| not_found(id), |o| ok(StatusCode::OK, order_json(w, o))),
        Replay::Authorization(id) => {
            w.authorizations.get(id).map_or_else(|| not_found(id), |a| ok(StatusCode::OK, authorization_json(a)))
        }
        Replay::Capture(id) => {
            w.captures.get(id).map_or_else(|| not_found(id), |c| ok(StatusCode::OK, capture_json(c)))
        }
        Replay::Refund(id) => w.refunds.get(id).map_or_else(|| not_found(id), |r| ok(StatusCode::OK, refund_json(r))),
    })
}

/// Parses an optional JSON object body (`{}` or nothing is fine).
async fn object_body(body: Body) -> Result<Map<String, Value>, Response> {
    let bytes = read_body(body, BODY_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "INVALID_REQUEST",
            "Request body too large.",
            Some(("MALFORMED_REQUEST", "The request body is too large.")),
        ),
        BodyError::Unreadable => invalid("MALFORMED_REQUEST", "Unreadable body.", None),
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed.", None)),
    }
}

// ---------------------------------------------------------------------------------------------
// Representations

fn capture_json(c: &Capture) -> Value {
    let mut v = json!({
        "id": c.id,
        "status": c.status,
        "amount": money(&c.currency, c.value),
        "final_capture": c.final_capture,
        "seller_protection": { "status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"] },
        "seller_receivable_breakdown": {
            "gross_amount": money(&c.currency, c.value),
            "paypal_fee": money(&c.currency, c.fee),
            "net_amount": money(&c.currency, c.value - c.fee),
        },
        "invoice_id": c.invoice_id,
        "supplementary_data": { "related_ids": {} },
        "links": [
            { "href": format!("/v2/payments/captures/{}", c.id), "rel": "self", "method": "GET" },
            { "href": format!("/v2/payments/captures/{}/refund", c.id), "rel": "refund", "method": "POST" },
        ],
        "create_time": time(c.create_time),
        "update_time": time(c.update_time),
    });
    if let Some(reason) = &c.reason {
        v["status_details"] = json!({ "reason": reason });
    }
    if let Some(o) = &c.order_id {
        v["supplementary_data"]["related_ids"]["order_id"] = json!(o);
    }
    if let Some(a) = &c.authorization_id {
        v["supplementary_data"]["related_ids"]["authorization_id"] = json!(a);
    }
    v
}

fn authorization_json(a: &Authorization) -> Value {
    json!({
        "id": a.id,
        "status": a.status,
        "amount": money(&a.currency, a.value),
        "invoice_id": a.invoice_id,
        "seller_protection": { "status": "ELIGIBLE" },
        "supplementary_data": { "related_ids": { "order_id": a.order_id } },
        "expiration_time": time(a.expiration_time),
        "create_time": time(a.create_time),
        "update_time": time(a.update_time),
        "links": [
            { "href": format!("/v2/payments/authorizations/{}", a.id), "rel": "self", "method": "GET" },
            { "href": format!("/v2/payments/authorizations/{}/capture", a.id), "rel": "capture", "method": "POST" },
            { "href": format!("/v2/payments/authorizations/{}/void", a.id), "rel": "void", "method": "POST" },
        ],
    })
}

fn refund_json(r: &Refund) -> Value {
    json!({
        "id": r.id,
        "status": r.status,
        "amount": money(&r.currency, r.value),
        "create_time": time(r.create_time),
        "update_time": time(r.create_time),
        "links": [
            { "href": format!("/v2/payments/refunds/{}", r.id), "rel": "self", "method": "GET" },
            { "href": format!("/v2/payments/captures/{}", r.capture_id), "rel": "up", "method": "GET" },
        ],
    })
}

fn order_json(w: &World, o: &Order) -> Value {
    let captures: Vec<Value> = o.capture_ids.iter().filter_map(|id| w.captures.get(id)).map(capture_json).collect();
    let authorizations: Vec<Value> =
        o.authorization_ids.iter().filter_map(|id| w.authorizations.get(id)).map(authorization_json).collect();
    let mut payments = Map::new();
    if !captures.is_empty() {
        payments.insert("captures".into(), Value::Array(captures));
    }
    if !authorizations.is_empty() {
        payments.insert("authorizations".into(), Value::Array(authorizations));
    }
    let (given, surname) = o.payer_name.split_once(' ').unwrap_or((&o.payer_name, ""));
    let mut unit = json!({
        "reference_id": o.reference_id,
        "invoice_id": o.invoice_id,
        "amount": money(&o.currency, o.value),
        "payee": { "email_address": "billing@cargoextra.example", "merchant_id": "CARGOEXTRA01" },
    });
    if !payments.is_empty() {
        unit["payments"] = Value::Object(payments);
    }
    json!({
        "id": o.id,
        "intent": o.intent,
        "status": o.status,
        "purchase_units": [unit],
        "payer": { "name": { "given_name": given, "surname": surname }, "email_address": o.payer_email, "payer_id": format!("PAYER{}", &o.id[..8.min(o.id.len())]) },
        "create_time": time(o.create_time),
        "update_time": time(o.update_time),
        "links": [{ "href": format!("/v2/checkout/orders/{}", o.id), "rel": "self", "method": "GET" }],
    })
}

// ---------------------------------------------------------------------------------------------
// Orders

async fn get_order(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut w = state.world();
    if let Err(r) = guard(&w, &headers) {
        return r;
    }
    w.catch_up();
    match w.orders.get(&id) {
        Some(o) => ok(StatusCode::OK, order_json(&w, o)),
        None => not_found(&id),
    }
}

async fn capture_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    if let Err(r) = guard(&state.world(), &headers) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/checkout/orders/{id}/capture")) {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Err(r) = object_body(body).await {
        return r;
    }
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replay(&w, &key) {
        return r;
    }
    let Some(order) = w.orders.get(&id).cloned() else {
        return not_found(&id);
    };
    if order.intent != "CAPTURE" {
        return unprocessable("ACTION_DOES_NOT_MATCH_INTENT", "Order was created with an intent of 'AUTHORIZE'. Please use /v2/checkout/orders/order_id/authorize to complete the order or create an order with intent 'CAPTURE'.");
    }
    match order.status.as_str() {
        "APPROVED" => {}
        "COMPLETED" => {
            return unprocessable(
                "ORDER_ALREADY_CAPTURED",
                "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
            )
        }
        "VOIDED" => return unprocessable("ORDER_EXPIRED", "The order has expired or was voided."),
        _ => return unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."),
    }
    let now = w.now();
    let capture_id = w.record_capture(
        Some(id.clone()),
        None,
        &order.currency,
        order.value,
        true,
        &order.invoice_id,
        order.outcome,
        now,
    );
    if let Some(o) = w.orders.get_mut(&id) {
        o.status = "COMPLETED".into();
        o.update_time = now;
        o.capture_ids.push(capture_id);
    }
    if let Some(k) = key {
        w.idempotency.insert(k, Replay::Order(id.clone()));
    }
    state.mark_dirty();
    match w.orders.get(&id) {
        Some(o) => ok(StatusCode::CREATED, order_json(&w, o)),
        None => not_found(&id),
    }
}

async fn authorize_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    if let Err(r) = guard(&state.world(), &headers) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/checkout/orders/{id}/authorize")) {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Err(r) = object_body(body).await {
        return r;
    }
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replay(&w, &key) {
        return r;
    }
    let Some(order) = w.orders.get(&id).cloned() else {
        return not_found(&id);
    };
    if order.intent != "AUTHORIZE" {
        return unprocessable("ACTION_DOES_NOT_MATCH_INTENT", "Order was created with an intent of 'CAPTURE'. Please use /v2/checkout/orders/order_id/capture to complete the order or create an order with intent 'AUTHORIZE'.");
    }
    match order.status.as_str() {
        "APPROVED" => {}
        "COMPLETED" => {
            return unprocessable(
                "ORDER_ALREADY_AUTHORIZED",
                "Order already authorized. If 'intent=AUTHORIZE' only one authorization per order is allowed.",
            )
        }
        _ => return unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment."),
    }
    let now = w.now();
    let auth_id = w.new_id(17);
    w.authorizations.insert(
        auth_id.clone(),
        Authorization {
            id: auth_id.clone(),
            order_id: id.clone(),
            status: "CREATED".into(),
            currency: order.currency.clone(),
            value: order.value,
            invoice_id: order.invoice_id.clone(),
            create_time: now,
            update_time: now,
            expiration_time: now + Duration::days(29),
            capture_ids: vec![],
            outcome: order.outcome,
        },
    );
    if let Some(o) = w.orders.get_mut(&id) {
        o.status = "COMPLETED".into();
        o.update_time = now;
        o.authorization_ids.push(auth_id);
    }
    if let Some(k) = key {
        w.idempotency.insert(k, Replay::Order(id.clone()));
    }
    state.mark_dirty();
    match w.orders.get(&id) {
        Some(o) => ok(StatusCode::CREATED, order_json(&w, o)),
        None => not_found(&id),
    }
}

// ---------------------------------------------------------------------------------------------
// Authorizations

async fn get_authorization(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut w = state.world();
    if let Err(r) = guard(&w, &headers) {
        return r;
    }
    w.catch_up();
    match w.authorizations.get(&id) {
        Some(a) => ok(StatusCode::OK, authorization_json(a)),
        None => not_found(&id),
    }
}

/// Reads an optional `amount` object against the resource's currency.
fn requested_amount(body: &Map<String, Value>, currency: &str) -> Result<Option<Decimal>, Response> {
    let Some(amount) = body.get("amount") else {
        return Ok(None);
    };
    let (Some(code), Some(value)) =
        (amount.get("currency_code").and_then(Value::as_str), amount.get("value").and_then(Value::as_str))
    else {
        return Err(invalid(
            "MISSING_REQUIRED_PARAMETER",
            "amount needs currency_code and value as strings.",
            Some("/amount"),
        ));
    };
    if dec::digits(code).is_none() {
        return Err(invalid(
            "INVALID_CURRENCY_CODE",
            "Currency code is invalid or is not currently supported.",
            Some("/amount/currency_code"),
        ));
    }
    if code != currency {
        return Err(unprocessable(
            "AUTH_CAPTURE_CURRENCY_MISMATCH",
            "Currency of capture must be the same as currency of authorization.",
        ));
    }
    let Some(v) = dec::parse_plain(value) else {
        return Err(invalid("INVALID_PARAMETER_VALUE", "The value of a field is invalid.", Some("/amount/value")));
    };
    if !dec::fits(v, code) {
        return Err(invalid(
            "DECIMAL_PRECISION",
            "If the currency supports decimals, only two decimal place precision is supported.",
            Some("/amount/value"),
        ));
    }
    if v <= Decimal::ZERO {
        return Err(invalid("CANNOT_BE_ZERO_OR_NEGATIVE", "Must be greater than zero.", Some("/amount/value")));
    }
    Ok(Some(v))
}

async fn capture_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    if let Err(r) = guard(&state.world(), &headers) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/authorizations/{id}/capture")) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let body = match object_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replay(&w, &key) {
        return r;
    }
    let Some(auth) = w.authorizations.get(&id).cloned() else {
        return not_found(&id);
    };
    match auth.status.as_str() {
        "CREATED" | "PARTIALLY_CAPTURED" => {}
        "VOIDED" => {
            return unprocessable("AUTHORIZATION_VOIDED", "A voided authorization cannot be captured or reauthorized.")
        }
        "EXPIRED" => return unprocessable("AUTHORIZATION_EXPIRED", "An expired authorization cannot be captured."),
        "CAPTURED" => {
            return unprocessable("AUTHORIZATION_ALREADY_CAPTURED", "Authorization has already been captured.")
        }
        "DENIED" => return unprocessable("AUTHORIZATION_DENIED", "A denied authorization cannot be captured."),
        _ => {
            return unprocessable("PREVIOUS_REQUEST_IN_PROGRESS", "A previous request on this resource is in progress.")
        }
    }
    let final_capture = match body.get("final_capture") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return invalid("INVALID_PARAMETER_SYNTAX", "final_capture must be a boolean.", Some("/final_capture"))
        }
    };
    let requested = match requested_amount(&body, &auth.currency) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let captured: Decimal = auth
        .capture_ids
        .iter()
        .filter_map(|c| w.captures.get(c))
        .filter(|c| c.status != "DECLINED" && c.status != "FAILED")
        .map(|c| c.value)
        .sum();
    let remaining = auth.value - captured;
    let amount = requested.unwrap_or(remaining);
    if auth.capture_ids.len() >= 10 {
        return unprocessable("MAX_CAPTURE_COUNT_EXCEEDED", "Maximum number of allowable captures has been reached.");
    }
    if amount > remaining || amount <= Decimal::ZERO {
        return unprocessable("MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit.");
    }
    let invoice_id =
        body.get("invoice_id").and_then(Value::as_str).map_or_else(|| auth.invoice_id.clone(), str::to_owned);
    let now = w.now();
    let capture_id = w.record_capture(
        Some(auth.order_id.clone()),
        Some(id.clone()),
        &auth.currency,
        amount,
        final_capture,
        &invoice_id,
        auth.outcome,
        now,
    );
    let fully = final_capture || amount == remaining;
    if let Some(a) = w.authorizations.get_mut(&id) {
        a.capture_ids.push(capture_id.clone());
        a.status = if fully { "CAPTURED" } else { "PARTIALLY_CAPTURED" }.into();
        a.update_time = now;
    }
    // PayPal lists an authorization's captures under the order's payments too.
    if let Some(o) = w.orders.get_mut(&auth.order_id) {
        o.capture_ids.push(capture_id.clone());
    }
    if let Some(k) = key {
        w.idempotency.insert(k, Replay::Capture(capture_id.clone()));
    }
    state.mark_dirty();
    match w.captures.get(&capture_id) {
        Some(c) => ok(StatusCode::CREATED, capture_json(c)),
        None => not_found(&capture_id),
    }
}

async fn void_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    if let Err(r) = guard(&state.world(), &headers) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/authorizations/{id}/void")) {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Err(r) = object_body(body).await {
        return r;
    }
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replay(&w, &key) {
        return r;
    }
    let Some(auth) = w.authorizations.get(&id).cloned() else {
        return not_found(&id);
    };
    match auth.status.as_str() {
        "CREATED" | "PARTIALLY_CAPTURED" | "PENDING" => {}
        "VOIDED" => return unprocessable("AUTHORIZATION_VOIDED", "Authorization has already been voided."),
        "CAPTURED" => {
            return unprocessable("AUTHORIZATION_ALREADY_CAPTURED", "Authorization has already been captured.")
        }
        "EXPIRED" => return unprocessable("AUTHORIZATION_EXPIRED", "An expired authorization cannot be voided."),
        _ => return unprocessable("CANNOT_BE_VOIDED", "A reauthorization cannot be voided."),
    }
    let now = w.now();
    if let Some(a) = w.authorizations.get_mut(&id) {
        a.status = "VOIDED".into();
        a.update_time = now;
    }
    if let Some(k) = key {
        w.idempotency.insert(k, Replay::Authorization(id.clone()));
    }
    state.mark_dirty();
    match w.authorizations.get(&id) {
        Some(a) => ok(StatusCode::OK, authorization_json(a)),
        None => not_found(&id),
    }
}

// ---------------------------------------------------------------------------------------------
// Captures and refunds

async fn get_capture(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut w = state.world();
    if let Err(r) = guard(&w, &headers) {
        return r;
    }
    w.catch_up();
    match w.captures.get(&id) {
        Some(c) => ok(StatusCode::OK, capture_json(c)),
        None => not_found(&id),
    }
}

async fn refund_capture(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    if let Err(r) = guard(&state.world(), &headers) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/captures/{id}/refund")) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let body = match object_body(body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replay(&w, &key) {
        return r;
    }
    let Some(cap) = w.captures.get(&id).cloned() else {
        return not_found(&id);
    };
    if !matches!(cap.status.as_str(), "COMPLETED" | "PARTIALLY_REFUNDED") {
        return unprocessable(
            "CAPTURE_FULLY_REFUNDED",
            "The capture has already been fully refunded or cannot be refunded.",
        );
    }
    let requested = match requested_amount(&body, &cap.currency) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let remaining = cap.value - cap.refunded;
    let amount = requested.unwrap_or(remaining);
    if amount > remaining {
        return unprocessable(
            "REFUND_AMOUNT_EXCEEDED",
            "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
        );
    }
    let now = w.now();
    let refund_id = w.new_id(17);
    w.refunds.insert(
        refund_id.clone(),
        Refund {
            id: refund_id.clone(),
            capture_id: id.clone(),
            status: "COMPLETED".into(),
            currency: cap.currency.clone(),
            value: amount,
            create_time: now,
        },
    );
    if let Some(c) = w.captures.get_mut(&id) {
        c.refunded += amount;
        c.refund_ids.push(refund_id.clone());
        c.status = if c.refunded >= c.value { "REFUNDED" } else { "PARTIALLY_REFUNDED" }.into();
        c.update_time = now;
    }
    if let Some(k) = key {
        w.idempotency.insert(k, Replay::Refund(refund_id.clone()));
    }
    state.mark_dirty();
    match w.refunds.get(&refund_id) {
        Some(r) => ok(StatusCode::CREATED, refund_json(r)),
        None => not_found(&refund_id),
    }
}

async fn get_refund(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let w = state.world();
    if let Err(r) = guard(&w, &headers) {
        return r;
    }
    match w.refunds.get(&id) {
        Some(r) => ok(StatusCode::OK, refund_json(r)),
        None => not_found(&id),
    }
}
