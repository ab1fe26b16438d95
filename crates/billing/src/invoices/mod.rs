//! Cached invoices: writing them from the gateway, and the one keyset-paginated list query
//! behind the invoice browser and `desk invoices list`.

use crate::{time, DeskError};
use chrono::{DateTime, NaiveDate, Utc};
use money::{Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use ts_rs::TS;

/// Outstanding amounts are stored times 10^4 (exact for every currency we know).
const E4: i64 = 10_000;

/// An invoice as the desk shows it. Amounts are exact decimal text in the currency's digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct InvoiceRow {
    #[ts(type = "number")]
    pub invoice_no: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub currency: String,
    pub total: String,
    pub outstanding: String,
    /// `outstanding`, `paid`, `cancelled`, or `closed` (no longer listed as outstanding).
    pub status: String,
    pub issued_at: String,
    pub due_at: Option<String>,
    pub updated_at: String,
    pub overdue: bool,
    pub wallet: Option<WalletView>,
    pub paypal: Option<PaypalView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct WalletView {
    pub currency: String,
    pub balance: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PaypalView {
    pub intent: String,
    pub order_id: String,
    pub authorization_id: Option<String>,
    pub approved_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, Default)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum SortKey {
    #[default]
    DueAt,
    Amount,
    InvoiceNo,
    Customer,
}

impl SortKey {
    fn column(self) -> &'static str {
        match self {
            SortKey::DueAt => "due_key",
            SortKey::Amount => "outstanding_e4",
            SortKey::InvoiceNo => "invoice_no",
            SortKey::Customer => "customer_sort",
        }
    }
}

/// What to show. Every field is optional; `None` means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct InvoiceFilter {
    #[ts(optional)]
    pub status: Option<String>,
    #[ts(optional)]
    pub currency: Option<String>,
    /// Customer name or id, or invoice number (substring, any case).
    #[ts(optional)]
    pub search: Option<String>,
    /// Due on or after this day (`YYYY-MM-DD`).
    #[ts(optional)]
    pub due_from: Option<String>,
    /// Due on or before this day.
    #[ts(optional)]
    pub due_to: Option<String>,
    /// Only invoices already past their due date.
    #[ts(optional)]
    pub overdue: Option<bool>,
    /// Outstanding at least this (decimal text, in each invoice's currency).
    #[ts(optional)]
    pub min_amount: Option<String>,
    #[ts(optional)]
    pub max_amount: Option<String>,
    /// With (true) or without (false) an approved PayPal payment awaiting capture.
    #[ts(optional)]
    pub has_paypal: Option<bool>,
}

/// One page request. `after` is the `next` cursor of the previous page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct ListRequest {
    pub filter: InvoiceFilter,
    pub sort: SortKey,
    pub descending: bool,
    #[ts(optional)]
    pub limit: Option<u32>,
    #[ts(optional)]
    pub after: Option<String>,
    /// Also compute per-currency totals and the count of everything filtered.
    pub with_totals: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CurrencyTotal {
    pub currency: String,
    #[ts(type = "number")]
    pub count: i64,
    pub outstanding: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct InvoicePage {
    pub rows: Vec<InvoiceRow>,
    /// Cursor for the next page; `None` on the last.
    pub next: Option<String>,
    /// Present when asked for.
    pub totals: Option<Vec<CurrencyTotal>>,
    #[ts(type = "number | null")]
    pub total_count: Option<i64>,
}

pub const MAX_PAGE: u32 = 5_000;
pub const DEFAULT_PAGE: u32 = 200;

/// A filter checked and turned into SQL values.
struct Checked {
    status: Option<String>,
    currency: Option<String>,
    search: Option<String>,
    due_from: Option<String>,
    due_to: Option<String>,
    overdue_before: Option<String>,
    min_e4: Option<i64>,
    max_e4: Option<i64>,
    has_paypal: Option<bool>,
}

fn amount_e4(text: &str, what: &str) -> Result<i64, DeskError> {
    let d = money::parse_decimal_text(text.trim())
        .map_err(|_| DeskError::bad_input(format!("The {what} amount {text:?} is not a number like 1250.00.")))?;
    if d.is_sign_negative() {
        return Err(DeskError::bad_input(format!("The {what} amount cannot be negative.")));
    }
    let scaled = d.checked_mul(Decimal::from(E4)).map(|v| v.trunc());
    scaled
        .and_then(|v| i64::try_from(v.mantissa() / 10i128.pow(v.scale())).ok())
        .ok_or_else(|| DeskError::bad_input(format!("The {what} amount is too large.")))
}

fn day(text: &str, what: &str, end_of_day: bool) -> Result<String, DeskError> {
    let d = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| DeskError::bad_input(format!("The {what} date {text:?} must look like 2026-12-31.")))?;
    let t = if end_of_day { d.and_hms_opt(23, 59, 59) } else { d.and_hms_opt(0, 0, 0) };
    Ok(time::text(t.map(|t| t.and_utc()).unwrap_or_default()))
}

impl InvoiceFilter {
    fn check(&self, now: DateTime<Utc>) -> Result<Checked, DeskError> {
        let status = match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => None,
            Some(s @ ("outstanding" | "paid" | "cancelled" | "closed")) => Some(s.to_owned()),
            Some(other) => {
                return Err(DeskError::bad_input(format!(
                    "Unknown status {other:?}: use outstanding, paid, cancelled, closed or all."
                )))
            }
        };
        let currency = match self.currency.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(c) => Some(
                Currency::parse_user(c)
                    .map_err(|_| {
                        DeskError::bad_input(format!("Unknown currency {c:?}: use an ISO code such as USD or EUR."))
                    })?
                    .code()
                    .to_owned(),
            ),
        };
        let search = self.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
        if search.as_ref().is_some_and(|s| s.len() > 200) {
            return Err(DeskError::bad_input("The search text is too long."));
        }
        let due_from =
            self.due_from.as_deref().filter(|s| !s.trim().is_empty()).map(|d| day(d, "from", false)).transpose()?;
        let due_to = self.due_to.as_deref().filter(|s| !s.trim().is_empty()).map(|d| day(d, "to", true)).transpose()?;
        let min_e4 =
            self.min_amount.as_deref().filter(|s| !s.trim().is_empty()).map(|a| amount_e4(a, "minimum")).transpose()?;
        let max_e4 =
            self.max_amount.as_deref().filter(|s| !s.trim().is_empty()).map(|a| amount_e4(a, "maximum")).transpose()?;
        if let (Some(a), Some(b)) = (min_e4, max_e4) {
            if a > b {
                return Err(DeskError::bad_input("The minimum amount is above the maximum."));
            }
        }
        Ok(Checked {
            status,
            currency,
            search,
            due_from,
            due_to,
            overdue_before: (self.overdue == Some(true)).then(|| time::text(now)),
            min_e4,
            max_e4,
            has_paypal: self.has_paypal,
        })
    }
}

fn push_filter(q: &mut QueryBuilder<'_, Sqlite>, f: &Checked) {
    q.push(" WHERE 1=1");
    if let Some(s) = &f.status {
        q.push(" AND status = ").push_bind(s.clone());
    }
    if let Some(c) = &f.currency {
        q.push(" AND currency = ").push_bind(c.clone());
    }
    if let Some(s) = &f.search {
        let escaped = s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        q.push(" AND search_text LIKE ").push_bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
    }
    if let Some(d) = &f.due_from {
        q.push(" AND due_key >= ").push_bind(d.clone());
    }
    if let Some(d) = &f.due_to {
        q.push(" AND due_key <= ").push_bind(d.clone());
    }
    if let Some(now) = &f.overdue_before {
        q.push(" AND due_key < ").push_bind(now.clone());
    }
    if let Some(a) = f.min_e4 {
        q.push(" AND outstanding_e4 >= ").push_bind(a);
    }
    if let Some(a) = f.max_e4 {
        q.push(" AND outstanding_e4 <= ").push_bind(a);
    }
    if let Some(p) = f.has_paypal {
        q.push(" AND has_paypal = ").push_bind(i64::from(p));
    }
}

/// The keyset cursor: the last row's sort value and invoice number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    s: SortValue,
    n: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum SortValue {
    Int(i64),
    Text(String),
}

fn encode_cursor(c: &Cursor) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode_cursor(s: &str) -> Result<Cursor, DeskError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| DeskError::bad_input("The page cursor is not valid; start again from the first page."))
}

const COLUMNS: &str = "invoice_no, customer_id, customer_name, currency, total, outstanding, status, issued_at, due_at, updated_at, \
     wallet_currency, wallet_balance, paypal_intent, paypal_order_id, paypal_auth_id, paypal_approved_at, due_key, outstanding_e4, customer_sort";

#[derive(sqlx::FromRow)]
struct Row {
    invoice_no: i64,
    customer_id: String,
    customer_name: String,
    currency: String,
    total: String,
    outstanding: String,
    status: String,
    issued_at: String,
    due_at: Option<String>,
    updated_at: String,
    wallet_currency: Option<String>,
    wallet_balance: Option<String>,
    paypal_intent: Option<String>,
    paypal_order_id: Option<String>,
    paypal_auth_id: Option<String>,
    paypal_approved_at: Option<String>,
    due_key: String,
    outstanding_e4: i64,
    customer_sort: String,
}

impl Row {
    fn into_view(self, now: &str) -> InvoiceRow {
        let overdue = self.status == "outstanding" && self.due_at.as_deref().is_some_and(|d| d < now);
        InvoiceRow {
            invoice_no: self.invoice_no,
            customer_id: self.customer_id,
            customer_name: self.customer_name,
            currency: self.currency,
            total: self.total,
            outstanding: self.outstanding,
            status: self.status,
            issued_at: self.issued_at,
            due_at: self.due_at,
            updated_at: self.updated_at,
            overdue,
            wallet: match (self.wallet_currency, self.wallet_balance) {
                (Some(currency), Some(balance)) => Some(WalletView { currency, balance }),
                _ => None,
            },
            paypal: match (self.paypal_intent, self.paypal_order_id, self.paypal_approved_at) {
                (Some(intent), Some(order_id), Some(approved_at)) => {
                    Some(PaypalView { intent, order_id, authorization_id: self.paypal_auth_id, approved_at })
                }
                _ => None,
            },
        }
    }
}

/// One page of the filtered, sorted invoice list.
pub async fn list(pool: &SqlitePool, req: &ListRequest) -> Result<InvoicePage, DeskError> {
    let now = Utc::now();
    let f = req.filter.check(now)?;
    let limit = req.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    let after = req.after.as_deref().filter(|s| !s.is_empty()).map(decode_cursor).transpose()?;
    let col = req.sort.column();
    let (cmp, dir) = if req.descending { ("<", "DESC") } else { (">", "ASC") };

    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(format!("SELECT {COLUMNS} FROM invoices"));
    push_filter(&mut q, &f);
    if let Some(c) = &after {
        if req.sort == SortKey::InvoiceNo {
            q.push(format!(" AND invoice_no {cmp} ")).push_bind(c.n);
        } else {
            q.push(format!(" AND ({col}, invoice_no) {cmp} ("));
            match &c.s {
                SortValue::Int(v) => q.push_bind(*v),
                SortValue::Text(v) => q.push_bind(v.clone()),
            };
            q.push(", ").push_bind(c.n).push(")");
        }
    }
    q.push(format!(" ORDER BY {col} {dir}"));
    if req.sort != SortKey::InvoiceNo {
        q.push(format!(", invoice_no {dir}"));
    }
    q.push(" LIMIT ").push_bind(i64::from(limit) + 1);
    let mut rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;

    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| {
            let s = match req.sort {
                SortKey::DueAt => SortValue::Text(r.due_key.clone()),
                SortKey::Amount => SortValue::Int(r.outstanding_e4),
                SortKey::InvoiceNo => SortValue::Int(r.invoice_no),
                SortKey::Customer => SortValue::Text(r.customer_sort.clone()),
            };
            encode_cursor(&Cursor { s, n: r.invoice_no })
        })
    } else {
        None
    };
    let (totals, total_count) = if req.with_totals {
        let t = totals(pool, &f).await?;
        let count = t.iter().map(|c| c.count).sum();
        (Some(t), Some(count))
    } else {
        (None, None)
    };
    let now_text = time::text(now);
    Ok(InvoicePage { rows: rows.into_iter().map(|r| r.into_view(&now_text)).collect(), next, totals, total_count })
}

/// Count and outstanding sum per currency of everything the filter selects.
async fn totals(pool: &SqlitePool, f: &Checked) -> Result<Vec<CurrencyTotal>, DeskError> {
    let mut q: QueryBuilder<'_, Sqlite> =
        QueryBuilder::new("SELECT currency, COUNT(*), SUM(outstanding_e4) FROM invoices");
    push_filter(&mut q, f);
    q.push(" GROUP BY currency ORDER BY currency");
    let rows: Vec<(String, i64, i64)> = q.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(currency, count, sum_e4)| currency_total(currency, count, sum_e4)).collect())
}

fn currency_total(currency: String, count: i64, sum_e4: i64) -> CurrencyTotal {
    let digits = Currency::from_code(&currency).map_or(2, |c| c.minor_units());
    let mut amount = Decimal::new(sum_e4, 4);
    amount.rescale(digits);
    CurrencyTotal { currency, count, outstanding: amount.to_string() }
}

/// Count and outstanding sum per currency of the chosen invoices (a multi-selection).
pub async fn selection_totals(pool: &SqlitePool, invoice_nos: &[i64]) -> Result<Vec<CurrencyTotal>, DeskError> {
    if invoice_nos.len() > 200_000 {
        return Err(DeskError::bad_input("Select at most 200,000 invoices."));
    }
    let mut sums: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
    for chunk in invoice_nos.chunks(10_000) {
        let mut q: QueryBuilder<'_, Sqlite> =
            QueryBuilder::new("SELECT currency, COUNT(*), SUM(outstanding_e4) FROM invoices WHERE invoice_no IN (");
        let mut list = q.separated(", ");
        for no in chunk {
            list.push_bind(*no);
        }
        q.push(") GROUP BY currency");
        let rows: Vec<(String, i64, i64)> = q.build_query_as().fetch_all(pool).await?;
        for (currency, count, sum) in rows {
            let e = sums.entry(currency).or_default();
            e.0 += count;
            e.1 =
                e.1.checked_add(sum)
                    .ok_or_else(|| DeskError::bad_input("The selected amounts are too large to add."))?;
        }
    }
    Ok(sums.into_iter().map(|(currency, (count, sum))| currency_total(currency, count, sum)).collect())
}

/// One cached invoice.
pub async fn get(pool: &SqlitePool, invoice_no: i64) -> Result<Option<InvoiceRow>, DeskError> {
    let row: Option<Row> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM invoices WHERE invoice_no = ?"))
        .bind(invoice_no)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.into_view(&time::text(Utc::now()))))
}

/// How many invoices the cache holds.
pub async fn count(pool: &SqlitePool) -> Result<i64, DeskError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM invoices").fetch_one(pool).await?)
}

fn e4(m: &Money) -> i64 {
    let scaled = m.amount() * Decimal::from(E4);
    i64::try_from(scaled.trunc().mantissa() / 10i128.pow(scaled.trunc().scale())).unwrap_or(i64::MAX)
}

/// Writes a page of gateway invoices in one transaction (insert or replace by number), as one
/// multi-row statement: one round trip to SQLite per page.
pub async fn upsert_page(pool: &SqlitePool, invoices: &[gateway::Invoice], run: i64) -> Result<usize, DeskError> {
    if invoices.is_empty() {
        return Ok(0);
    }
    let synced_at = time::text(Utc::now());
    let mut rows = Vec::with_capacity(invoices.len());
    for inv in invoices {
        let no = i64::try_from(inv.invoice_no).map_err(|_| DeskError::bad_input("invoice number out of range"))?;
        rows.push((no, inv));
    }
    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "INSERT INTO invoices (invoice_no, customer_id, customer_name, customer_sort, search_text, currency, total, outstanding, \
         outstanding_e4, status, issued_at, due_at, due_key, updated_at, wallet_currency, wallet_balance, paypal_intent, \
         paypal_order_id, paypal_auth_id, paypal_approved_at, has_paypal, raw_json, synced_at, sync_run) ",
    );
    q.push_values(rows, |mut b, (no, inv)| {
        let due_at = inv.due_at.map(time::text);
        let due_key = due_at.clone().unwrap_or_else(|| "9999-12-31T00:00:00Z".into());
        let paypal = inv.paypal.as_ref().filter(|_| inv.status == gateway::InvoiceStatus::Outstanding);
        b.push_bind(no)
            .push_bind(inv.customer.id.clone())
            .push_bind(inv.customer.name.clone())
            .push_bind(inv.customer.name.to_lowercase())
            .push_bind(format!("{} {} {}", inv.customer.name, inv.customer.id, inv.invoice_no).to_lowercase())
            .push_bind(inv.currency.code())
            .push_bind(inv.total.to_paypal_string())
            .push_bind(inv.outstanding.to_paypal_string())
            .push_bind(e4(&inv.outstanding))
            .push_bind(inv.status.as_str())
            .push_bind(time::text(inv.issued_at))
            .push_bind(due_at)
            .push_bind(due_key)
            .push_bind(time::text(inv.updated_at))
            .push_bind(inv.wallet.as_ref().map(|w| w.balance.currency().code()))
            .push_bind(inv.wallet.as_ref().map(|w| w.balance.to_paypal_string()))
            .push_bind(paypal.map(|p| match p.intent {
                gateway::PaypalIntent::Capture => "CAPTURE",
                gateway::PaypalIntent::Authorize => "AUTHORIZE",
            }))
            .push_bind(paypal.map(|p| p.order_id.clone()))
            .push_bind(paypal.and_then(|p| p.authorization_id.clone()))
            .push_bind(paypal.map(|p| time::text(p.approved_at)))
            .push_bind(i64::from(paypal.is_some()))
            .push_bind(inv.raw.clone())
            .push_bind(synced_at.clone())
            .push_bind(run);
    });
    q.push(
        " ON CONFLICT(invoice_no) DO UPDATE SET customer_id = excluded.customer_id, customer_name = excluded.customer_name, \
         customer_sort = excluded.customer_sort, search_text = excluded.search_text, currency = excluded.currency, \
         total = excluded.total, outstanding = excluded.outstanding, outstanding_e4 = excluded.outstanding_e4, \
         status = excluded.status, issued_at = excluded.issued_at, due_at = excluded.due_at, due_key = excluded.due_key, \
         updated_at = excluded.updated_at, wallet_currency = excluded.wallet_currency, wallet_balance = excluded.wallet_balance, \
         paypal_intent = excluded.paypal_intent, paypal_order_id = excluded.paypal_order_id, paypal_auth_id = excluded.paypal_auth_id, \
         paypal_approved_at = excluded.paypal_approved_at, has_paypal = excluded.has_paypal, raw_json = excluded.raw_json, \
         synced_at = excluded.synced_at, sync_run = excluded.sync_run",
    );
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    q.build().execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(invoices.len())
}

/// Cached outstanding invoices that sync run `run` has not written (its lists left them out).
pub async fn outstanding_not_seen(pool: &SqlitePool, run: i64) -> Result<Vec<u64>, DeskError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT invoice_no FROM invoices WHERE status = 'outstanding' AND sync_run <> ? ORDER BY invoice_no",
    )
    .bind(run)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(|(no,)| u64::try_from(no).ok()).collect())
}

/// An outstanding invoice the gateway no longer knows (it answers 404 for it) is closed.
pub async fn close(pool: &SqlitePool, invoice_no: u64) -> Result<(), DeskError> {
    let no = i64::try_from(invoice_no).map_err(|_| DeskError::bad_input("invoice number out of range"))?;
    sqlx::query(
        "UPDATE invoices SET status = 'closed', has_paypal = 0 WHERE invoice_no = ? AND status = 'outstanding'",
    )
    .bind(no)
    .execute(pool)
    .await?;
    Ok(())
}

/// Writes one invoice fetched outside a sync (the detail view), keeping its sync run so a
/// later full sync's bookkeeping is unchanged.
pub async fn refresh_one(pool: &SqlitePool, invoice: &gateway::Invoice) -> Result<(), DeskError> {
    let no = i64::try_from(invoice.invoice_no).map_err(|_| DeskError::bad_input("invoice number out of range"))?;
    let run: Option<(i64,)> =
        sqlx::query_as("SELECT sync_run FROM invoices WHERE invoice_no = ?").bind(no).fetch_optional(pool).await?;
    upsert_page(pool, std::slice::from_ref(invoice), run.map_or(0, |(r,)| r)).await?;
    Ok(())
}
