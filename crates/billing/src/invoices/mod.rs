//! Cached invoices: the one keyset-paginated list query behind the invoice browser and `desk
//! invoices list`; writing them from the gateway is [`write`]'s; [`InvoiceStatus`] is where one
//! stands.

mod filter;
mod opening;
pub mod search_index;
#[cfg(test)]
mod search_tests;
mod statement;
mod status;
mod write;

use filter::Checked;
pub use filter::InvoiceFilter;
pub use opening::{opening_request, ReadAhead};
pub use statement::statements;
pub use status::InvoiceStatus;
pub use write::{close, outstanding_not_seen, refresh_one, upsert_page};
pub(crate) use write::{upsert_in, MAX_VARIABLES};

use crate::{time, DeskError};
use chrono::Utc;
use money::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use ts_rs::TS;

/// Outstanding amounts are stored times 10^4 (exact for every currency we know).
const E4: i64 = 10_000;

/// An invoice as the desk shows it. Amounts are exact decimal text in the currency's ISO 4217
/// digits (as the gateway sends them).
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
    pub status: InvoiceStatus,
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
    /// As the gateway sent it (possibly a currency outside the desk's table).
    pub currency: String,
    pub balance: String,
    /// Why the desk cannot use this wallet (a currency it does not know), when it cannot.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unusable: Option<String>,
}

impl WalletView {
    fn new(currency: String, balance: String) -> WalletView {
        let unusable = Currency::from_code(&currency)
            .is_err()
            .then(|| format!("The desk does not know the currency {currency}, so this wallet cannot be used here."));
        WalletView { currency, balance, unusable }
    }
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
    status: InvoiceStatus,
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
        let overdue = self.status == InvoiceStatus::Outstanding && self.due_at.as_deref().is_some_and(|d| d < now);
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
                (Some(currency), Some(balance)) => Some(WalletView::new(currency, balance)),
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

/// `req`'s filter checked, with the page's plan: a search that matches densely enough finds
/// its page by due date by walking the list's order ([`Checked::dense`]), judged from an
/// estimate of its matches ([`filter::push_density`]), not from the totals' count, so that the
/// page and the totals are read side by side.
async fn plan(pool: &SqlitePool, req: &ListRequest, now: chrono::DateTime<Utc>) -> Result<Checked, DeskError> {
    let mut f = req.filter.check(now)?;
    if !search_index::live(pool).await? {
        f = f.scanning(); // a full sync is rewriting the index
    }
    if req.sort == SortKey::DueAt && f.may_walk() {
        let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new("");
        filter::push_density(&mut q, &f);
        let (span, matched, customers): (i64, i64, i64) = q.build_query_as().fetch_one(pool).await?;
        let estimate =
            i64::try_from(i128::from(span) * i128::from(matched) / i128::from(customers.max(1))).unwrap_or(span);
        f.in_due_order = f.dense(estimate, span, statement::limit(req));
    }
    Ok(f)
}

/// One page of the filtered, sorted invoice list, and its totals when asked for.
pub async fn list(pool: &SqlitePool, req: &ListRequest) -> Result<InvoicePage, DeskError> {
    let now = Utc::now();
    let read = read(pool, req, now).await?;
    Ok(read.page(req, now))
}

/// What [`list`] reads for a request, before it is shaped into its page ([`Read::page`]).
struct Read {
    /// In the list's order, up to one more than the request's limit.
    rows: Vec<Row>,
    totals: Option<Vec<CurrencyTotal>>,
}

/// The page's rows and the totals, read at once on two of the pool's connections.
async fn read(pool: &SqlitePool, req: &ListRequest, now: chrono::DateTime<Utc>) -> Result<Read, DeskError> {
    let f = plan(pool, req, now).await?;
    let limit = statement::limit(req);
    let page = async {
        let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new("");
        statement::page(&mut q, &f, req, limit)?;
        let rows: Vec<Row> = q.build_query_as().fetch_all(pool).await?;
        Ok::<_, DeskError>(rows)
    };
    let totals = async {
        if req.with_totals {
            totals(pool, &f).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (rows, totals) = tokio::try_join!(page, totals)?;
    Ok(Read { rows, totals })
}

impl Read {
    /// The page `req` asks for (its limit at most the one read with), `overdue` as of `now`.
    fn page(mut self, req: &ListRequest, now: chrono::DateTime<Utc>) -> InvoicePage {
        let limit = statement::limit(req) as usize;
        let more = self.rows.len() > limit;
        self.rows.truncate(limit);
        let next = if more {
            self.rows.last().map(|r| {
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
        let total_count = self.totals.as_ref().map(|t| t.iter().map(|c| c.count).sum());
        let now_text = time::text(now);
        InvoicePage {
            rows: self.rows.into_iter().map(|r| r.into_view(&now_text)).collect(),
            next,
            totals: self.totals,
            total_count,
        }
    }
}

/// Count and outstanding sum per currency of everything the filter selects, read in shards
/// side by side ([`statement::totals_shards`]) and added up exactly.
async fn totals(pool: &SqlitePool, f: &Checked) -> Result<Vec<CurrencyTotal>, DeskError> {
    let shards = statement::totals_shards(f);
    let reads = (0..shards).map(|k| async move {
        let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new("");
        statement::totals(&mut q, f, (k, shards));
        let rows: Vec<(String, i64, i64)> = q.build_query_as().fetch_all(pool).await?;
        Ok::<_, DeskError>(rows)
    });
    let rows = futures::future::try_join_all(reads).await?.into_iter().flatten();
    add_up(rows, || DeskError::storage("The outstanding amounts are too large to add."))
}

/// Rows of (currency, count, sum × 10^4) added up per currency, exactly, in currency order;
/// `too_large` when a sum would overflow.
fn add_up(
    rows: impl IntoIterator<Item = (String, i64, i64)>,
    too_large: fn() -> DeskError,
) -> Result<Vec<CurrencyTotal>, DeskError> {
    let mut sums: std::collections::BTreeMap<String, (i64, i64)> = std::collections::BTreeMap::new();
    for (currency, count, sum_e4) in rows {
        let e = sums.entry(currency).or_default();
        e.0 += count;
        e.1 = e.1.checked_add(sum_e4).ok_or_else(too_large)?;
    }
    Ok(sums.into_iter().map(|(currency, (count, sum_e4))| currency_total(currency, count, sum_e4)).collect())
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
    let mut rows: Vec<(String, i64, i64)> = Vec::new();
    for chunk in invoice_nos.chunks(10_000) {
        let mut q: QueryBuilder<'_, Sqlite> =
            QueryBuilder::new("SELECT currency, COUNT(*), SUM(outstanding_e4) FROM invoices WHERE invoice_no IN (");
        let mut list = q.separated(", ");
        for no in chunk {
            list.push_bind(*no);
        }
        q.push(") GROUP BY currency");
        rows.extend(q.build_query_as::<(String, i64, i64)>().fetch_all(pool).await?);
    }
    add_up(rows, || DeskError::bad_input("The selected amounts are too large to add."))
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
