//! Payments v2 authorizations: show one, capture it (in full or in parts), void it, reauthorize
//! it.

use super::errors::{self, Endpoint};
use super::json::{self, Shape};
use super::{base, guard, object_body, ok, replay_answer, replayed, request_key, requested_amount, shape};
use crate::world::Replay;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

pub(super) async fn get_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut w = state.world();
    if let Err(r) = guard(&w, &headers, Endpoint::AuthorizationGet) {
        return r;
    }
    w.catch_up();
    match w.authorizations.get(&id) {
        Some(a) => ok(StatusCode::OK, json::authorization_resource(&base(&headers), a)),
        None => errors::not_found(Endpoint::AuthorizationGet),
    }
}

pub(super) async fn capture_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    const E: Endpoint = Endpoint::AuthorizationCapture;
    if let Err(r) = guard(&state.world(), &headers, E) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/authorizations/{id}/capture"), E) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let body = match object_body(body, E).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let final_capture = match body.get("final_capture") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return errors::invalid(E, "INVALID_PARAMETER_SYNTAX", Some("/final_capture")),
    };
    let amount = match requested_amount(&body, E) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let invoice_id = body.get("invoice_id").and_then(Value::as_str).map(str::to_owned);
    let (base, shape) = (base(&headers), shape(&headers));
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replayed(&mut w, &key) {
        return replay_answer(&base, &w, &r, shape, E);
    }
    let amount = amount.as_ref().map(|(code, v)| (code.as_str(), *v));
    let capture_id = match w.capture_authorization(&id, amount, final_capture, invoice_id) {
        Ok(c) => c,
        Err(refusal) => return errors::refusal(E, refusal),
    };
    if let Some(k) = key {
        w.remember(k, Replay::Capture(capture_id.clone()));
    }
    state.mark_dirty();
    match w.captures.get(&capture_id) {
        Some(c) => ok(StatusCode::CREATED, json::capture_created(&base, c, shape)),
        None => errors::not_found(E),
    }
}

/// 200 with the authorization (`return=representation`), else 204 without a body.
pub(super) async fn void_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    const E: Endpoint = Endpoint::AuthorizationVoid;
    if let Err(r) = guard(&state.world(), &headers, E) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/authorizations/{id}/void"), E) {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Err(r) = object_body(body, E).await {
        return r;
    }
    let (base, shape) = (base(&headers), shape(&headers));
    let mut w = state.world();
    w.catch_up();
    let replay = replayed(&mut w, &key);
    if replay.is_none() {
        if let Err(refusal) = w.void_authorization(&id) {
            return errors::refusal(E, refusal);
        }
        if let Some(k) = key {
            w.remember(k, Replay::Authorization(id.clone()));
        }
        state.mark_dirty();
    }
    match (shape, replay) {
        (Shape::Minimal, _) => StatusCode::NO_CONTENT.into_response(),
        (Shape::Representation, Some(r)) => replay_answer(&base, &w, &r, shape, E),
        (Shape::Representation, None) => match w.authorizations.get(&id) {
            Some(a) => ok(StatusCode::OK, json::authorization_resource(&base, a)),
            None => errors::not_found(E),
        },
    }
}

/// 201 with the new authorization (`return=representation`; else PayPal's minimal id, status and
/// links); a replay of the same `PayPal-Request-Id` answers 200 with it as it is now.
pub(super) async fn reauthorize_authorization(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    const E: Endpoint = Endpoint::AuthorizationReauthorize;
    if let Err(r) = guard(&state.world(), &headers, E) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/authorizations/{id}/reauthorize"), E) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let amount = match object_body(body, E).await.and_then(|b| requested_amount(&b, E)) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (base, shape) = (base(&headers), shape(&headers));
    let mut w = state.world();
    w.catch_up();
    let (status, new_id) = match replayed(&mut w, &key) {
        Some(Replay::Authorization(new_id)) => (StatusCode::OK, new_id),
        Some(other) => return replay_answer(&base, &w, &other, shape, E),
        None => {
            let amount = amount.as_ref().map(|(code, v)| (code.as_str(), *v));
            let new_id = match w.reauthorize(&id, amount) {
                Ok(n) => n,
                Err(refusal) => return errors::refusal(E, refusal),
            };
            if let Some(k) = key {
                w.remember(k, Replay::Authorization(new_id.clone()));
            }
            state.mark_dirty();
            (StatusCode::CREATED, new_id)
        }
    };
    match w.authorizations.get(&new_id) {
        Some(a) => ok(status, json::authorization_created(&base, a, shape)),
        None => errors::not_found(E),
    }
}
