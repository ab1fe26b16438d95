//! Payments v2 captures and refunds: show a capture, refund it (in full or in parts), show a
//! refund.

use super::errors::{self, Endpoint};
use super::json;
use super::{base, guard, object_body, ok, replay_answer, replayed, request_key, requested_amount, shape};
use crate::world::Replay;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

pub(super) async fn get_capture(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut w = state.world();
    if let Err(r) = guard(&w, &headers, Endpoint::CaptureGet) {
        return r;
    }
    w.catch_up();
    match w.captures.get(&id) {
        Some(c) => ok(StatusCode::OK, json::capture_resource(&base(&headers), c)),
        None => errors::not_found(Endpoint::CaptureGet),
    }
}

pub(super) async fn refund_capture(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    const E: Endpoint = Endpoint::CaptureRefund;
    if let Err(r) = guard(&state.world(), &headers, E) {
        return r;
    }
    let key = match request_key(&headers, &format!("/v2/payments/captures/{id}/refund"), E) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let body = match object_body(body, E).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let amount = match requested_amount(&body, E) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (base, shape) = (base(&headers), shape(&headers));
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replayed(&mut w, &key) {
        return replay_answer(&base, &w, &r, shape, E);
    }
    let refund_id = match w.refund_capture(&id, amount.as_ref().map(|(code, v)| (code.as_str(), *v))) {
        Ok(r) => r,
        Err(refusal) => return errors::refusal(E, refusal),
    };
    if let Some(k) = key {
        w.remember(k, Replay::Refund(refund_id.clone()));
    }
    state.mark_dirty();
    match w.refunds.get(&refund_id) {
        Some(r) => ok(StatusCode::CREATED, json::refund(&base, r, shape)),
        None => errors::not_found(E),
    }
}

pub(super) async fn get_refund(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let w = state.world();
    if let Err(r) = guard(&w, &headers, Endpoint::RefundGet) {
        return r;
    }
    match w.refunds.get(&id) {
        Some(r) => ok(StatusCode::OK, json::refund(&base(&headers), r, json::Shape::Representation)),
        None => errors::not_found(Endpoint::RefundGet),
    }
}
