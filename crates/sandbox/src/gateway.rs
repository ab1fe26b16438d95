//! The CargoExtra gateway's endpoints, as GATEWAY-API.md describes them.
//!
//! Errors are `{"message": "..."}`; numbers go out as exact JSON numbers (`250`, `40.5`) and
//! come in as raw JSON text, never through `f64`.

use crate::world::{exchange_rate, Invoice, InvoicePayment, InvoiceStatus, WalletRecord, World};
use crate::{dec, read_body, AppState, BodyError, BODY_LIMIT};
use axum::body::Body;
use axum::extract::{Path, Query, State};
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
        .route("/api/v1/billing/invoice/part-process", post(part_process))
        .route("/api/v1/billing/invoice/paypal/capture", post(paypal_capture))
        .route("/api/v1/billing/invoice/pay", post(pay))
        .route("/api/v1/billing/walletHistory", get(wallet_history_own))
        .route("/api/v1/billing_admin/wallet-history", get(wallet_history_admin))
        .route("/api/v1/billing_admin/wallet-history/{id}", get(wallet_history_one))
        .route("/api/v1/billing_admin/invoices", get(list_invoices))
        .route("/api/v1/billing_admin/invoices/{no}", get(invoice_detail))
}

/// `{"message": ...}` with `status`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message });
    (status, [("content-type", "application/json")], body.to_string()).into_response()
}

fn bad(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

const MISSING: &str = "Missing One or More Required Parameters";

fn json<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (StatusCode::OK, [("content-type", "application/json")], bytes).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("Unxepected Error: {e}")),
    }
}

/// An exact JSON number.
struct Num(Decimal);

impl Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(dec::gateway_number(self.0)).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------------------------
// Who is calling

#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    Staff,
    Customer(String),
}

fn caller(headers: &HeaderMap, world: &World) -> Result<Caller, Response> {
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

fn staff_only(headers: &HeaderMap, world: &World) -> Result<(), Response> {
    match caller(headers, world)? {
        Caller::Staff => Ok(()),
        Caller::Customer(_) => Err(error(StatusCode::UNAUTHORIZED, "Unauthorized: staff token required")),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading request bodies

type Fields = HashMap<String, Box<RawValue>>;

async fn fields(body: Body) -> Result<Fields, Response> {
    let bytes = read_body(body, BODY_LIMIT).await.map_err(|e| match e {
        BodyError::TooLarge => error(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"),
        BodyError::Unreadable => bad("Unreadable request body"),
    })?;
    serde_json::from_slice::<Fields>(&bytes).map_err(|_| bad("Invalid JSON body"))
}

/// A JSON integer field (no sign, no point).
fn int_field(f: &Fields, name: &str) -> Option<u64> {
    let t = f.get(name)?.get();
    (!t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.parse().ok()).flatten()
}

/// A JSON number field, exactly.
fn num_field(f: &Fields, name: &str) -> Option<Decimal> {
    dec::parse_plain(f.get(name)?.get())
}

fn str_field(f: &Fields, name: &str) -> Option<String> {
    serde_json::from_str::<String>(f.get(name)?.get()).ok()
}

fn obj_field(f: &Fields, name: &str) -> Option<Fields> {
    serde_json::from_str::<Fields>(f.get(name)?.get()).ok()
}

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
struct InvoiceJson<'a> {
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

fn invoice_json<'a>(w: &'a World, inv: &'a Invoice, with_payments: bool) -> InvoiceJson<'a> {
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pagination {
    page: u64,
    limit: u64,
    total: u64,
    total_pages: u64,
}

#[derive(Serialize)]
struct Page<T> {
    data: Vec<T>,
    pagination: Pagination,
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

fn page_params(q: &HashMap<String, String>) -> Result<(u64, u64), Response> {
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

fn page_of<T>(all: Vec<T>, page: u64, limit: u64) -> Page<T> {
    let total = all.len() as u64;
    let start = usize::try_from((page - 1).saturating_mul(limit)).unwrap_or(usize::MAX);
    let data = all.into_iter().skip(start).take(usize::try_from(limit).unwrap_or(100)).collect();
    Page { data, pagination: Pagination { page, limit, total, total_pages: total.div_ceil(limit) } }
}

async fn list_invoices(
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

async fn invoice_detail(State(state): State<AppState>, headers: HeaderMap, Path(no): Path<String>) -> Response {
    let w = state.world();
    if let Err(r) = staff_only(&headers, &w) {
        return r;
    }
    let Some(inv) = no.parse::<u64>().ok().and_then(|n| w.invoices.get(&n)) else {
        return error(StatusCode::NOT_FOUND, "Invoice not found");
    };
    json(&invoice_json(&w, inv, true))
}

// ---------------------------------------------------------------------------------------------
// Part payment, PayPal capture, full wallet payment

/// Looks up the invoice for a billing call, checking the caller may act on it.
fn billing_invoice<'a>(w: &'a World, who: &Caller, no: u64, mismatch: &str) -> Result<&'a Invoice, Response> {
    let inv = w.invoices.get(&no).ok_or_else(|| error(StatusCode::NOT_FOUND, "Invoice not found"))?;
    if let Caller::Customer(id) = who {
        if &inv.customer_id != id {
            return Err(bad(mismatch));
        }
    }
    Ok(inv)
}

async fn part_process(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let who = match caller(&headers, &state.world()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match fields(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (Some(no), Some(currency)) = (int_field(&f, "invoice"), str_field(&f, "currency")) else {
        return bad(MISSING);
    };
    let w = state.world();
    let inv = match billing_invoice(&w, &who, no, "Currency does not match expected credentials") {
        Ok(i) => i,
        Err(r) => return r,
    };
    if dec::digits(&currency).is_none() {
        return error(StatusCode::NOT_FOUND, "Currency not found");
    }
    if currency != inv.currency {
        return bad("Currency does not match expected credentials");
    }
    if inv.status != InvoiceStatus::Outstanding {
        return bad("Invoice already paid");
    }
    if inv.outstanding <= Decimal::ZERO {
        return bad("Wrong Amount");
    }
    let Some(wallet) = w.customers.get(&inv.customer_id).and_then(|c| c.wallet.as_ref()) else {
        return bad("Wallet not found");
    };
    let Some(rate) = exchange_rate(&wallet.currency, &inv.currency) else {
        return bad("Currency does not match expected credentials");
    };
    let wallet_part = dec::round(wallet.balance * rate, &inv.currency);
    if wallet_part >= inv.outstanding {
        return bad("Wallet balance is too high for this endpoint (use full wallet payment)");
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Part<'a> {
        currency: &'a str,
        exchange_rate: Num,
        charge_total_before: Num,
        charge_total_current: Num,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Prepared<'a> {
        invoice_no: u64,
        eligible_for_payment: bool,
        part_payment_from_wallet_balance: Part<'a>,
        currency_paid: &'a str,
        exchange_rate: Num,
        charge_total: Num,
    }
    #[derive(Serialize)]
    struct Resp<'a> {
        message: &'a str,
        invoice: Prepared<'a>,
    }
    json(&Resp {
        message: "Part payment prepared",
        invoice: Prepared {
            invoice_no: inv.no,
            eligible_for_payment: dec::paypal_accepts(&inv.currency),
            part_payment_from_wallet_balance: Part {
                currency: &wallet.currency,
                exchange_rate: Num(rate),
                charge_total_before: Num(inv.outstanding),
                charge_total_current: Num(wallet.balance),
            },
            currency_paid: &inv.currency,
            exchange_rate: Num(rate),
            charge_total: Num(inv.outstanding - wallet_part),
        },
    })
}

async fn paypal_capture(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let who = match caller(&headers, &state.world()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match fields(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let part = obj_field(&f, "partPaymentFromWalletBalance");
    let (Some(amount), Some(no), Some(payment_id), Some(code), Some(part)) = (
        num_field(&f, "amount"),
        int_field(&f, "invoiceNo"),
        str_field(&f, "paymentId"),
        str_field(&f, "currencyCode"),
        part,
    ) else {
        return bad(MISSING);
    };
    let (Some(part_currency), Some(rate), Some(before), Some(current)) = (
        str_field(&part, "currency"),
        num_field(&part, "exchangeRate"),
        num_field(&part, "chargeTotalBefore"),
        num_field(&part, "chargeTotalCurrent"),
    ) else {
        return bad(MISSING);
    };
    if payment_id.trim().is_empty() || payment_id.len() > 64 {
        return bad(MISSING);
    }
    let mut w = state.world();
    let inv = match billing_invoice(&w, &who, no, "Bad Invoice") {
        Ok(i) => i.clone(),
        Err(r) => return r,
    };
    if inv.status != InvoiceStatus::Outstanding || w.finalizations.iter().any(|f| f.payment_id == payment_id) {
        return bad("Bad Invoice");
    }
    if dec::digits(&code).is_none() || code != inv.currency {
        return bad("Invalid Currency");
    }
    if !dec::paypal_accepts(&code) {
        return bad("Payment method is disabled");
    }
    let wallet = w.customers.get(&inv.customer_id).and_then(|c| c.wallet.clone());
    let amount_ok = amount > Decimal::ZERO && dec::fits(amount, &code);
    let part_ok = before == inv.outstanding
        && current >= Decimal::ZERO
        && rate > Decimal::ZERO
        && dec::fits(current, &part_currency)
        && (current.is_zero()
            || wallet.as_ref().is_some_and(|wl| {
                wl.currency == part_currency
                    && wl.balance >= current
                    && exchange_rate(&wl.currency, &inv.currency) == Some(rate)
            }));
    let expected = before - dec::round(current * rate, &inv.currency);
    if !amount_ok || !part_ok || amount != expected {
        return bad("Invalid Amount");
    }
    let now = w.now();
    if !current.is_zero() {
        let wallet_payment_id = format!("WALLET-{}", w.new_id(12));
        debit_wallet(
            &mut w,
            &inv.customer_id,
            current,
            rate,
            &wallet_payment_id,
            &format!("Invoice {no} part payment"),
            now,
        );
        if let Some(i) = w.invoices.get_mut(&no) {
            i.payments.push(InvoicePayment {
                payment_id: wallet_payment_id,
                amount: current,
                currency: part_currency.clone(),
                method: "wallet".into(),
                at: now,
            });
        }
    }
    if let Some(i) = w.invoices.get_mut(&no) {
        i.payments.push(InvoicePayment {
            payment_id: payment_id.clone(),
            amount,
            currency: code.clone(),
            method: "paypal".into(),
            at: now,
        });
        i.outstanding = Decimal::ZERO;
        i.status = InvoiceStatus::Paid;
        i.updated_at = now;
    }
    w.finalizations.push(crate::world::Finalization {
        invoice_no: no,
        payment_id: payment_id.clone(),
        amount,
        currency_code: code.clone(),
    });
    w.touch();
    state.mark_dirty();
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Resp<'a> {
        message: &'a str,
        status: &'a str,
        invoice: InvoiceJson<'a>,
        invoice_no: u64,
        amount: Num,
        payment_id: &'a str,
    }
    let Some(paid) = w.invoices.get(&no) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Unxepected Error: invoice vanished");
    };
    json(&Resp {
        message: "Payment successful",
        status: "success",
        invoice: invoice_json(&w, paid, true),
        invoice_no: no,
        amount: Num(amount),
        payment_id: &payment_id,
    })
}

fn debit_wallet(
    w: &mut World,
    customer: &str,
    amount: Decimal,
    rate: Decimal,
    payment_id: &str,
    reference: &str,
    now: DateTime<Utc>,
) {
    let id = w.wallet_history.len() as u64 + 1;
    let Some(wallet) = w.customers.get_mut(customer).and_then(|c| c.wallet.as_mut()) else {
        return;
    };
    let before = wallet.balance;
    wallet.balance -= amount;
    let record = WalletRecord {
        id,
        customer_id: customer.into(),
        kind: "debit".into(),
        amount,
        exchange_rate: rate,
        status: 1,
        reference: reference.into(),
        transaction_id: format!("TX-{id:08}"),
        payment_gateway: "wallet".into(),
        payment_id: payment_id.into(),
        balance_before: before,
        balance_after: wallet.balance,
        currency: wallet.currency.clone(),
        at: now,
    };
    w.wallet_history.push(record);
}

async fn pay(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let who = match caller(&headers, &state.world()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match fields(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (Some(no), Some(currency)) = (int_field(&f, "invoice"), str_field(&f, "currency")) else {
        return bad(MISSING);
    };
    let mut w = state.world();
    let inv = match billing_invoice(&w, &who, no, "Customer Invoice does not match expected credentials") {
        Ok(i) => i.clone(),
        Err(r) => return r,
    };
    if dec::digits(&currency).is_none() {
        return error(StatusCode::NOT_FOUND, "Currency not found");
    }
    if currency != inv.currency {
        return bad("Currency does not match expected credentials");
    }
    if inv.status != InvoiceStatus::Outstanding {
        return bad("Invoice already paid");
    }
    let Some(customer) = w.customers.get(&inv.customer_id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    let Some(wallet) = customer.wallet.clone() else {
        return bad("Wallet not found");
    };
    let Some(rate) = exchange_rate(&wallet.currency, &inv.currency) else {
        return bad("Currency does not match expected credentials");
    };
    // Wallet units needed for the outstanding amount, rounded half-even in the wallet currency.
    let needed = dec::round(inv.outstanding / rate, &wallet.currency);
    if needed > wallet.balance || dec::round(wallet.balance * rate, &inv.currency) < inv.outstanding {
        return bad("Insufficient funds");
    }
    let now = w.now();
    let payment_id = format!("WALLET-{}", w.new_id(12));
    debit_wallet(&mut w, &inv.customer_id, needed, rate, &payment_id, &format!("Invoice {no} wallet payment"), now);
    if let Some(i) = w.invoices.get_mut(&no) {
        i.payments.push(InvoicePayment {
            payment_id,
            amount: inv.outstanding,
            currency: inv.currency.clone(),
            method: "wallet".into(),
            at: now,
        });
        i.outstanding = Decimal::ZERO;
        i.status = InvoiceStatus::Paid;
        i.updated_at = now;
    }
    w.touch();
    state.mark_dirty();
    let balance =
        w.customers.get(&inv.customer_id).and_then(|c| c.wallet.as_ref()).map_or(Decimal::ZERO, |wl| wl.balance);
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Resp<'a> {
        message: &'a str,
        invoice_no: u64,
        amount: Num,
        wallet_balance: Num,
    }
    json(&Resp {
        message: "Invoice paid from wallet",
        invoice_no: no,
        amount: Num(inv.outstanding),
        wallet_balance: Num(balance),
    })
}

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

async fn wallet_history_own(
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

async fn wallet_history_admin(
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

async fn wallet_history_one(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let w = state.world();
    if let Err(r) = staff_only(&headers, &w) {
        return r;
    }
    match id.parse::<u64>().ok().and_then(|id| w.wallet_history.iter().find(|r| r.id == id)) {
        Some(r) => json(&record_json(r)),
        None => error(StatusCode::NOT_FOUND, "Wallet history not found"),
    }
}
