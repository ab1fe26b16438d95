//! Wallet history: a customer's own, and the admin views.

use super::{caller, error, json, page_of, page_params, staff_only, time, Caller, Num, Page};
use crate::world::{WalletRecord, World};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Serialize;
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Wallet history

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WalletRecordJson<'a> {
    id: u64,
    #[serde(rename = "type")]
    kind: &'a str,
    amount: Num,
    exchange_rate: Num,
    status: i8,
    reference: &'a str,
    transaction_id: &'a str,
    payment_gateway: &'a str,
    payment_id: &'a str,
    balance_before: Num,
    balance_after: Num,
    currency: &'a str,
    customer_id: &'a str,
    created_at: String,
}

fn record_json(r: &WalletRecord) -> WalletRecordJson<'_> {
    WalletRecordJson {
        id: r.id,
        kind: &r.kind,
        amount: Num(r.amount),
        exchange_rate: Num(r.exchange_rate),
        status: r.status,
        reference: &r.reference,
        transaction_id: &r.transaction_id,
        payment_gateway: &r.payment_gateway,
        payment_id: &r.payment_id,
        balance_before: Num(r.balance_before),
        balance_after: Num(r.balance_after),
        currency: &r.currency,
        customer_id: &r.customer_id,
        created_at: time(r.at),
    }
}

fn history(w: &World, customer: Option<&str>, q: &HashMap<String, String>) -> Response {
    let (page, limit) = match page_params(q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let needle = q.get("q").map(|s| s.to_lowercase());
    let mut rows: Vec<&WalletRecord> = w
        .wallet_history
        .iter()
        .filter(|r| customer.is_none_or(|c| r.customer_id == c))
        .filter(|r| {
            needle
                .as_ref()
                .is_none_or(|n| r.customer_id.to_lowercase().contains(n) || r.reference.to_lowercase().contains(n))
        })
        .collect();
    if q.get("sortOrder").map(String::as_str) != Some("asc") {
        rows.reverse();
    }
    let p = page_of(rows, page, limit);
    json(&Page { data: p.data.into_iter().map(record_json).collect(), pagination: p.pagination })
}

pub(super) async fn wallet_history_own(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let w = state.world();
    match caller(&headers, &w) {
        Ok(Caller::Customer(id)) => history(&w, Some(&id), &q),
        Ok(Caller::Staff) => history(&w, q.get("customerId").map(String::as_str), &q),
        Err(r) => r,
    }
}

pub(super) async fn wallet_history_admin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let w = state.world();
    if let Err(r) = staff_only(&headers, &w) {
        return r;
    }
    history(&w, None, &q)
}

pub(super) async fn wallet_history_one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let w = state.world();
    if let Err(r) = staff_only(&headers, &w) {
        return r;
    }
    match id.parse::<u64>().ok().and_then(|id| w.wallet_history.iter().find(|r| r.id == id)) {
        Some(r) => json(&record_json(r)),
        None => error(StatusCode::NOT_FOUND, "Wallet history not found"),
    }
}
