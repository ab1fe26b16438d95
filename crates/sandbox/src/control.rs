//! The control API under `/__sandbox/`: faults, reset, the ledger, completing PENDING captures,
//! the clock, request statistics, approved PayPal orders made to order, and invoices cancelled.
//!
//! * `POST /faults` (a [`crate::FaultConfig`]), `GET /faults`
//! * `POST /reset`: the seeded world again, no faults, no statistics
//! * `GET /ledger`: PayPal captures and gateway finalizations so far
//! * `POST /captures/{id}/complete`: a PENDING capture completes now
//! * `GET /clock`, `POST /clock {"advance_days", "advance_seconds"}`
//! * `GET /stats`: `{"requests": N, "rate_limited": M, "by_route": {"METHOD /path": n}}`, the
//!   API requests since the start or the last reset (429s included; the control API is not
//!   counted)
//! * `POST /orders {"intent", "currency_code", "value", "invoice_id"?, "outcome"?}`: 201 `{"id"}`
//! * `POST /invoices/{no}/cancel`: billing staff cancel an outstanding invoice: 200
//!   `{"invoiceNo", "status"}`; 404 if there is no such invoice, 409 if it is not outstanding
//! * `GET /in-progress`: the PayPal requests held in progress (fault `in_progress_ms`), as
//!   `{"keys": ["POST-path|PayPal-Request-Id", ...]}`; `POST /in-progress/release`: they act now

use crate::faults::FaultConfig;
use crate::{dec, read_body, AppState, Shared};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Duration, SecondsFormat};
use serde_json::json;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/faults", post(set_faults).get(get_faults))
        .route("/reset", post(reset))
        .route("/ledger", get(ledger))
        .route("/captures/{id}/complete", post(complete_capture))
        .route("/clock", get(get_clock).post(advance_clock))
        .route("/stats", get(stats))
        .route("/orders", post(add_order))
        .route("/invoices/{no}/cancel", post(cancel_invoice))
        .route("/in-progress", get(in_progress))
        .route("/in-progress/release", post(release_in_progress))
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

async fn set_faults(State(state): State<AppState>, body: Body) -> Response {
    let Ok(bytes) = read_body(body, 256 * 1024).await else {
        return reply(StatusCode::BAD_REQUEST, json!({ "message": "unreadable body" }));
    };
    let config: FaultConfig = match serde_json::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({ "message": format!("bad fault configuration: {e}") })),
    };
    if let Err(e) = config.validate() {
        return reply(StatusCode::BAD_REQUEST, json!({ "message": e }));
    }
    tracing::info!(?config, "faults set");
    *state.faults.lock().unwrap_or_else(|p| p.into_inner()) = config.clone();
    *state.outage.lock().unwrap_or_else(|p| p.into_inner()) = None;
    reply(StatusCode::OK, serde_json::to_value(&config).unwrap_or_default())
}

async fn get_faults(State(state): State<AppState>) -> Response {
    let config = state.faults.lock().unwrap_or_else(|p| p.into_inner()).clone();
    reply(StatusCode::OK, serde_json::to_value(&config).unwrap_or_default())
}

/// Back to the seeded world (seeded again around the clock's now; the clock keeps its time),
/// with no faults, fresh fault generators and no statistics.
async fn reset(State(state): State<AppState>) -> Response {
    let mut w = state.world();
    let generation = w.generation;
    *w = Shared::seed_world(&state.config, w.clock);
    w.generation = generation.wrapping_add(1);
    *state.faults.lock().unwrap_or_else(|p| p.into_inner()) = FaultConfig::default();
    state.chaos.lock().unwrap_or_else(|p| p.into_inner()).clear();
    state.stats.lock().unwrap_or_else(|p| p.into_inner()).clear();
    state.mark_dirty();
    reply(StatusCode::OK, json!({ "message": "reset", "invoices": w.invoices.len() }))
}

/// Everything captured at PayPal and finalized at the gateway so far.
async fn ledger(State(state): State<AppState>) -> Response {
    let mut w = state.world();
    w.catch_up();
    let captures: Vec<_> = w
        .capture_log
        .iter()
        .filter_map(|id| w.captures.get(id))
        .map(|c| {
            json!({
                "id": c.id,
                "order_id": c.order_id,
                "authorization_id": c.authorization_id,
                "amount": { "currency_code": c.currency, "value": dec::paypal_text(c.value, &c.currency) },
                "status": c.status,
            })
        })
        .collect();
    let finalizations: Vec<_> = w
        .finalizations
        .iter()
        .map(|f| {
            // exact JSON number for the amount, as the gateway sends it
            let amount: serde_json::Value = serde_json::from_str(&dec::gateway_number(f.amount)).unwrap_or(json!(null));
            json!({ "invoiceNo": f.invoice_no, "paymentId": f.payment_id, "amount": amount, "currencyCode": f.currency_code })
        })
        .collect();
    reply(StatusCode::OK, json!({ "paypal_captures": captures, "gateway_finalizations": finalizations }))
}

async fn complete_capture(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let mut w = state.world();
    let now = w.now();
    let Some(c) = w.captures.get_mut(&id) else {
        return reply(StatusCode::NOT_FOUND, json!({ "message": format!("no capture {id}") }));
    };
    if c.status != "PENDING" {
        return reply(StatusCode::CONFLICT, json!({ "message": format!("capture {id} is {}", c.status) }));
    }
    c.status = "COMPLETED".into();
    c.reason = None;
    c.completes_at = None;
    c.update_time = now;
    state.mark_dirty();
    reply(StatusCode::OK, json!({ "id": id, "status": "COMPLETED" }))
}

fn clock_json(w: &crate::world::World) -> serde_json::Value {
    json!({
        "now": w.now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "offset_seconds": w.clock.offset().num_seconds(),
    })
}

async fn get_clock(State(state): State<AppState>) -> Response {
    reply(StatusCode::OK, clock_json(&state.world()))
}

/// `{"advance_days": N}` and/or `{"advance_seconds": N}` (whole, ≥ 0): time passes for
/// everything at once — tokens, authorizations, PENDING captures, `updatedAt`.
async fn advance_clock(State(state): State<AppState>, body: Body) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Advance {
        #[serde(default)]
        advance_days: u32,
        #[serde(default)]
        advance_seconds: u64,
    }
    let Ok(bytes) = read_body(body, 4096).await else {
        return reply(StatusCode::BAD_REQUEST, json!({ "message": "unreadable body" }));
    };
    let a: Advance = match serde_json::from_slice(&bytes) {
        Ok(a) => a,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({ "message": format!("bad clock request: {e}") })),
    };
    let by = i64::try_from(a.advance_seconds)
        .ok()
        .and_then(Duration::try_seconds)
        .and_then(|s| s.checked_add(&Duration::days(i64::from(a.advance_days))));
    let mut w = state.world();
    if let Err(e) =
        by.ok_or_else(|| "the sandbox clock cannot move that far".to_owned()).and_then(|by| w.advance_clock(by))
    {
        return reply(StatusCode::BAD_REQUEST, json!({ "message": e }));
    }
    state.mark_dirty();
    tracing::info!(offset_seconds = w.clock.offset().num_seconds(), "sandbox clock moved");
    reply(StatusCode::OK, clock_json(&w))
}

/// `{"requests": N, "rate_limited": M, "by_route": {"METHOD /path": n}}`: the API requests
/// received since the start or the last reset (rate-limited and faulted ones included: this is
/// what the clients sent), how many were answered 429, and the count per route.
async fn stats(State(state): State<AppState>) -> Response {
    let stats = state.stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
    reply(StatusCode::OK, serde_json::to_value(&stats).unwrap_or_default())
}

/// Billing staff cancel outstanding invoice `no` at the gateway: 200 `{"invoiceNo", "status"}`;
/// 404 if there is no invoice `no`, 409 if it is not outstanding.
async fn cancel_invoice(State(state): State<AppState>, Path(no): Path<u64>) -> Response {
    let mut w = state.world();
    let Some(status) = w.invoices.get(&no).map(|i| i.status) else {
        return reply(StatusCode::NOT_FOUND, json!({ "message": format!("no invoice {no}") }));
    };
    if !w.cancel_invoice(no) {
        return reply(StatusCode::CONFLICT, json!({ "message": format!("invoice {no} is {}", status.as_str()) }));
    }
    drop(w);
    state.mark_dirty();
    reply(StatusCode::OK, json!({ "invoiceNo": no, "status": "cancelled" }))
}

/// `{"intent": "CAPTURE" | "AUTHORIZE", "currency_code", "value", "invoice_id"?, "outcome"?}`
/// (`outcome`: how its capture turns out, `Completed` (default), `Pending` or `Declined`): an
/// order the payer approved at PayPal, tied to no invoice; answers 201 `{"id"}`.
async fn add_order(State(state): State<AppState>, body: Body) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewOrder {
        intent: String,
        currency_code: String,
        value: String,
        #[serde(default)]
        invoice_id: Option<String>,
        #[serde(default)]
        outcome: Option<crate::world::CaptureOutcome>,
    }
    let Ok(bytes) = read_body(body, 4096).await else {
        return reply(StatusCode::BAD_REQUEST, json!({ "message": "unreadable body" }));
    };
    let o: NewOrder = match serde_json::from_slice(&bytes) {
        Ok(o) => o,
        Err(e) => return reply(StatusCode::BAD_REQUEST, json!({ "message": format!("bad order: {e}") })),
    };
    let value =
        dec::parse_plain(&o.value).filter(|v| dec::fits(*v, &o.currency_code) && *v > rust_decimal::Decimal::ZERO);
    let (Some(value), true) = (value, matches!(o.intent.as_str(), "CAPTURE" | "AUTHORIZE")) else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "message": "intent must be CAPTURE or AUTHORIZE, value a positive amount in the currency's digits" }),
        );
    };
    let mut w = state.world();
    let id = w.add_order(
        &o.intent,
        &o.currency_code,
        value,
        o.invoice_id.as_deref().unwrap_or("sandbox-order"),
        o.outcome.unwrap_or(crate::world::CaptureOutcome::Completed),
    );
    state.mark_dirty();
    reply(StatusCode::CREATED, json!({ "id": id }))
}

/// The PayPal requests held in progress, by `path|PayPal-Request-Id`.
async fn in_progress(State(state): State<AppState>) -> Response {
    let mut keys: Vec<String> = state.in_progress.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect();
    keys.sort();
    reply(StatusCode::OK, json!({ "keys": keys }))
}

/// Every request held in progress acts now (each is still in progress until it has acted).
async fn release_in_progress(State(state): State<AppState>) -> Response {
    let mut released = 0;
    for release in state.in_progress.lock().unwrap_or_else(|p| p.into_inner()).values_mut() {
        if let Some(tx) = release.take() {
            let _ = tx.send(());
            released += 1;
        }
    }
    reply(StatusCode::OK, json!({ "released": released }))
}
