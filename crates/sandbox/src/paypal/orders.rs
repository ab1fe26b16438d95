//! Orders v2: show an order, capture it (intent CAPTURE), authorize it (intent AUTHORIZE).

use super::errors::{self, Endpoint};
use super::json::{self, OrderAnswer, Shape};
use super::{base, guard, object_body, ok, replay_answer, replayed, request_key, shape};
use crate::world::Replay;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

pub(super) async fn get_order(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut w = state.world();
    if let Err(r) = guard(&w, &headers, Endpoint::OrderGet) {
        return r;
    }
    w.catch_up();
    match w.orders.get(&id) {
        Some(o) => ok(StatusCode::OK, json::order(&base(&headers), &w, o, OrderAnswer::Whole)),
        None => errors::not_found(Endpoint::OrderGet),
    }
}

pub(super) async fn capture_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    act(state, headers, id, body, Endpoint::OrderCapture).await
}

pub(super) async fn authorize_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Response {
    act(state, headers, id, body, Endpoint::OrderAuthorize).await
}

/// Capture or authorize: the two calls differ only in what they ask of the world and how the
/// order is shown after.
async fn act(state: AppState, headers: HeaderMap, id: String, body: Body, endpoint: Endpoint) -> Response {
    if let Err(r) = guard(&state.world(), &headers, endpoint) {
        return r;
    }
    let verb = if endpoint == Endpoint::OrderCapture { "capture" } else { "authorize" };
    let key = match request_key(&headers, &format!("/v2/checkout/orders/{id}/{verb}"), endpoint) {
        Ok(k) => k,
        Err(r) => return r,
    };
    if let Err(r) = object_body(body, endpoint).await {
        return r;
    }
    let (base, shape) = (base(&headers), shape(&headers));
    let mut w = state.world();
    w.catch_up();
    if let Some(r) = replayed(&mut w, &key) {
        return replay_answer(&base, &w, &r, shape, endpoint);
    }
    let done = if endpoint == Endpoint::OrderCapture { w.capture_order(&id) } else { w.authorize_order(&id) };
    if let Err(refusal) = done {
        return errors::refusal(endpoint, refusal);
    }
    if let Some(k) = key {
        w.remember(k, Replay::Order(id.clone()));
    }
    state.mark_dirty();
    let answer = match (endpoint, shape) {
        (Endpoint::OrderCapture, s) => OrderAnswer::Captured(s),
        (_, Shape::Minimal) => OrderAnswer::AuthorizedMinimal,
        (_, Shape::Representation) => OrderAnswer::Whole,
    };
    match w.orders.get(&id) {
        Some(o) => ok(StatusCode::CREATED, json::order(&base, &w, o, answer)),
        None => errors::not_found(endpoint),
    }
}
