//! The CargoExtra gateway's endpoints, as GATEWAY-API.md describes them.
//!
//! Errors are `{"message": "..."}`; numbers go out as exact JSON numbers (`250`, `40.5`) and
//! come in as raw JSON text, never through `f64`. The faces by resource: `invoices` (the admin
//! list and detail), `billing` (part payment, PayPal finalization, full wallet payment) and
//! `wallet` (wallet history); what they change in the world is done by `World`'s methods.

mod billing;
mod invoices;
mod wallet;

pub(crate) use invoices::ListView;

use crate::world::World;
use crate::{dec, read_body, AppState, BodyError, BODY_LIMIT};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/billing/invoice/part-process", post(billing::part_process))
        .route("/api/v1/billing/invoice/paypal/capture", post(billing::paypal_capture))
        .route("/api/v1/billing/invoice/pay", post(billing::pay))
        .route("/api/v1/billing/walletHistory", get(wallet::wallet_history_own))
        .route("/api/v1/billing_admin/wallet-history", get(wallet::wallet_history_admin))
        .route("/api/v1/billing_admin/wallet-history/{id}", get(wallet::wallet_history_one))
        .route("/api/v1/billing_admin/invoices", get(invoices::list_invoices))
        .route("/api/v1/billing_admin/invoices/{no}", get(invoices::invoice_detail))
}

/// `{"message": ...}` with `status`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message });
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

pub(super) fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

pub(super) const MISSING: &str = "Missing One or More Required Parameters";

pub(super) fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (StatusCode::OK, [("content-type", "application/json")], bytes).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("Unxepected Error: {e}")),
    }
}

/// An exact JSON number.
pub(super) struct Num(pub(super) Decimal);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(dec::gateway_number(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

pub(super) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// Who is calling

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Caller {
    Staff,
    Customer(String),
}

pub(super) fn caller(headers: &HeaderMap, world: &World) -> Result<Caller, Response> {
    let unauthorized = |m: &str| error(StatusCode::UNAUTHORIZED, m);
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Unauthorized: token missing"));
    };
    let Some(token) = value.strip_prefix("Bearer ").map(str::trim) else {
        return Err(unauthorized("Unauthorized: token missing"));
    };
    if token == world.credentials.staff_token {
        return Ok(Caller::Staff);
    }
    if let Some(id) = token.strip_prefix("demo-customer-") {
        if world.customers.contains_key(id) {
            return Ok(Caller::Customer(id.to_owned()));
        }
        return Err(unauthorized("Unauthorized: account/token pair not found"));
    }
    Err(unauthorized("Unauthorized: invalid token"))
}

pub(super) fn staff_only(headers: &HeaderMap, world: &World) -> Result<(), Response> {
    match caller(headers, world)? {
        Caller::Staff => Ok(()),
        Caller::Customer(_) => Err(error(StatusCode::UNAUTHORIZED, "Unauthorized: staff token required")),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading request bodies

pub(super) type Fields = HashMap<String, Box<RawValue>>;

pub(super) async fn fields(body: Body) -> Result<Fields, Response> {
    let bytes = read_body(body, BODY_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
        BodyError::Unreadable => bad("Unreadable request body"),
    })?;
    serde_json::from_slice::<Fields>(&bytes).map_err(|_| bad("Invalid JSON body"))
}

/// A JSON integer field (no sign, no point).
pub(super) fn int_field(f: &Fields, name: &str) -> Option<u64> {
    let t = f.get(name)?.get();
    (!t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
}

/// A JSON number field, exactly.
pub(super) fn num_field(f: &Fields, name: &str) -> Option<Decimal> {
    dec::parse_plain(f.get(name)?.get())
}

pub(super) fn str_field(f: &Fields, name: &str) -> Option<String> {
    serde_json::from_str::<String>(f.get(name)?.get()).ok()
}

pub(super) fn obj_field(f: &Fields, name: &str) -> Option<Fields> {
    serde_json::from_str::<Fields>(f.get(name)?.get()).ok()
}

// ---------------------------------------------------------------------------------------------
// Pages

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Pagination {
    pub(super) page: u64,
    pub(super) limit: u64,
    pub(super) total: u64,
    pub(super) total_pages: u64,
}

#[derive(Serialize)]
pub(super) struct Page<T> {
    pub(super) data: Vec<T>,
    pub(super) pagination: Pagination,
}

pub(super) fn page_params(q: &HashMap<String, String>) -> Result<(u64, u64), Response> {
    let page = match q.get("page") {
        None => 1,
        Some(p) => p.parse::<u64>().ok().filter(|p| *p >= 1).ok_or_else(|| bad("Invalid page"))?,
    };
    let limit = match q.get("limit") {
        None => 20,
        Some(l) => l.parse::<u64>().ok().filter(|l| *l >= 1).ok_or_else(|| bad("Invalid limit"))?.min(100),
    };
    Ok((page, limit))
}

pub(super) fn page_of<T>(all: Vec<T>, page: u64, limit: u64) -> Page<T> {
    let total = all.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let data = all.into_iter().skip(start).take(usize::try_from(limit).unwrap_or(100)).collect();
    Page { data, pagination: Pagination { page, limit, total, total_pages: total.div_ceil(limit) } }
}
