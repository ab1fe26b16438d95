//! The admin invoice list and one invoice's detail.

use super::{bad, error, json, page_params, staff_only, time, Num, Page, Pagination};
use crate::world::{Invoice, InvoiceStatus, World};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;

// ---------------------------------------------------------------------------------------------
// Invoices as JSON

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CustomerJson<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct WalletJson<'a> {
    currency: &'a str,
    balance: Num,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaypalJson<'a> {
    intent: &'a str,
    order_id: &'a str,
    authorization_id: Option<&'a str>,
    approved_at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentJson<'a> {
    payment_id: &'a str,
    amount: Num,
    currency: &'a str,
    method: &'a str,
    at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InvoiceJson<'a> {
    invoice_no: u64,
    customer: CustomerJson<'a>,
    currency: &'a str,
    total: Num,
    outstanding: Num,
    status: &'a str,
    issued_at: String,
    due_at: String,
    updated_at: String,
    wallet: Option<WalletJson<'a>>,
    paypal: Option<PaypalJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payments: Option<Vec<PaymentJson<'a>>>,
}

pub(super) fn invoice_json<'a>(w: &'a World, inv: &'a Invoice, with_payments: bool) -> InvoiceJson<'a> {
    let customer = w.customers.get(&inv.customer_id);
    InvoiceJson {
        invoice_no: inv.no,
        customer: CustomerJson { id: &inv.customer_id, name: customer.map_or("", |c| c.name.as_str()) },
        currency: &inv.currency,
        total: Num(inv.total),
        outstanding: Num(inv.outstanding),
        status: inv.status.as_str(),
        issued_at: time(inv.issued_at),
        due_at: time(inv.due_at),
        updated_at: time(inv.updated_at),
        wallet: customer
            .and_then(|c| c.wallet.as_ref())
            .map(|wl| WalletJson { currency: &wl.currency, balance: Num(wl.balance) }),
        paypal: inv.paypal.as_ref().filter(|_| inv.status == InvoiceStatus::Outstanding).map(|p| PaypalJson {
            intent: &p.intent,
            order_id: &p.order_id,
            authorization_id: p.authorization_id.as_deref(),
            approved_at: time(p.approved_at),
        }),
        payments: with_payments.then(|| {
            inv.payments
                .iter()
                .map(|p| PaymentJson {
                    payment_id: &p.payment_id,
                    amount: Num(p.amount),
                    currency: &p.currency,
                    method: &p.method,
                    at: time(p.at),
                })
                .collect()
        }),
    }
}

/// A cached ordering of invoice numbers for one list query, valid for one world generation.
pub(crate) struct ListView {
    key: String,
    generation: u64,
    nos: Vec<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortBy {
    InvoiceNo,
    DueAt,
    IssuedAt,
    UpdatedAt,
    Total,
    Outstanding,
}

fn parse_time(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t).map(|d| d.with_timezone(&Utc)).ok().or_else(|| {
        chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc())
    })
}

pub(super) async fn list_invoices(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (page, limit) = match page_params(&q) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let sort = match q.get("sortBy").map(String::as_str) {
        None | Some("invoiceNo") => SortBy::InvoiceNo,
        Some("dueAt") => SortBy::DueAt,
        Some("issuedAt") | Some("createdAt") => SortBy::IssuedAt,
        Some("updatedAt") => SortBy::UpdatedAt,
        Some("total") => SortBy::Total,
        Some("outstanding") => SortBy::Outstanding,
        Some(_) => return bad("Invalid sortBy"),
    };
    let desc = match q.get("sortOrder").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return bad("Invalid sortOrder"),
    };
    let status = match q.get("status").map(String::as_str) {
        None | Some("outstanding") => Some(InvoiceStatus::Outstanding),
        Some("paid") => Some(InvoiceStatus::Paid),
        Some("cancelled") => Some(InvoiceStatus::Cancelled),
        Some("all") => None,
        Some(_) => return bad("Invalid status"),
    };
    let bound = |name: &str| -> Result<Option<DateTime<Utc>>, Response> {
        match q.get(name) {
            None => Ok(None),
            Some(t) => parse_time(t).map(Some).ok_or_else(|| bad(&format!("Invalid {name}"))),
        }
    };
    let (since, from, to) = match (bound("updatedSince"), bound("dateFrom"), bound("dateTo")) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let needle = q.get("q").map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let key = format!("{sort:?}|{desc}|{status:?}|{since:?}|{from:?}|{to:?}|{needle:?}");

    let w = state.world();
    if let Err(r) = staff_only(&headers, &w) {
        return r;
    }
    let mut view = state.view.lock().unwrap_or_else(|p| p.into_inner());
    let fresh = view.as_ref().is_some_and(|v| v.key == key && v.generation == w.generation);
    if !fresh {
        let mut rows: Vec<&Invoice> = w
            .invoices
            .values()
            .filter(|i| status.is_none_or(|s| i.status == s))
            .filter(|i| since.is_none_or(|s| i.updated_at >= s))
            .filter(|i| from.is_none_or(|f| i.issued_at >= f))
            .filter(|i| to.is_none_or(|t| i.issued_at <= t))
            .filter(|i| {
                needle.as_ref().is_none_or(|n| {
                    i.no.to_string().contains(n.as_str())
                        || w.customers.get(&i.customer_id).is_some_and(|c| c.name.to_lowercase().contains(n.as_str()))
                })
            })
            .collect();
        // Stable: ties keep invoice-number order.
        match sort {
            SortBy::InvoiceNo => {}
            SortBy::DueAt => rows.sort_by_key(|i| i.due_at),
            SortBy::IssuedAt => rows.sort_by_key(|i| i.issued_at),
            SortBy::UpdatedAt => rows.sort_by_key(|i| i.updated_at),
            SortBy::Total => rows.sort_by_key(|i| i.total),
            SortBy::Outstanding => rows.sort_by_key(|i| i.outstanding),
        }
        if desc {
            rows.reverse();
        }
        *view = Some(ListView { key, generation: w.generation, nos: rows.iter().map(|i| i.no).collect() });
    }
    let nos = view.as_ref().map(|v| v.nos.as_slice()).unwrap_or_default();
    let total = nos.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX).min(nos.len());
    let end = start.saturating_add(usize::try_from(limit).unwrap_or(100)).min(nos.len());
    let data: Vec<InvoiceJson<'_>> =
        nos[start..end].iter().filter_map(|no| w.invoices.get(no)).map(|i| invoice_json(&w, i, false)).collect();
    json(&Page { data, pagination: Pagination { page, limit, total, total_pages: total.div_ceil(limit) } })
}

pub(super) async fn invoice_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(no): Path<String>,
) -> Response {
    let w = state.world();
    if let Err(r) = staff_only(&headers, &w) {
        return r;
    }
    let Some(inv) = no.parse::<u64>().ok().and_then(|n| w.invoices.get(&n)) else {
        return error(StatusCode::NOT_FOUND, "Invoice not found");
    };
    json(&invoice_json(&w, inv, true))
}
