//! What the invoice list shows: [`InvoiceFilter`] as the front ends send it, checked into SQL
//! values and pushed onto a query.
//!
//! The search is a case-insensitive substring of `search_text` (customer name, customer id and
//! invoice number, lower-cased: `name id number`), with `%`, `_` and `\` taken literally:
//! `search_text LIKE '%term%'`. Shorter terms than [`FTS_MIN_CHARS`] have no trigram to look
//! up: they scan (as while a full sync has the indexes suspended). A longer term is answered in
//! up to three disjoint parts ([`Part`]), whose union is exactly what the LIKE matches:
//!
//! - [`Part::Names`]: invoices whose name (`customer_sort`, the prefix of `search_text`)
//!   contains the term, found through the names that do (`search_names`, migration 0015);
//! - [`Part::Customers`]: invoices whose name does not contain it but whose `name id` does,
//!   found through those customers (`search_customers`): a term without a space lies in the id,
//!   one with a space may span name and id;
//! - [`Part::Numbers`]: invoices whose `name id` does not contain it, but `search_text` does: the
//!   match reaches the invoice number, so the term is digits, or ends in a space and digits;
//!   only then is this part asked, through the invoices' own trigram index `invoices_fts`.
//!
//! The first two read the invoices from the covering index `invoices_customer_search` (a broad
//! term such as "gmbh" names a few hundred customers, not every row of its 10,000 invoices). Each
//! FTS5 lookup only narrows: the LIKE still applies to the names, customers or rows it finds,
//! so an index never changes what matches (its own case folding is Unicode's, not Rust's
//! `to_lowercase`).

use super::statement::{Sink, Value};
use super::{InvoiceStatus, E4};
use crate::{time, DeskError};
use chrono::{DateTime, NaiveDate, Utc};
use money::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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

/// A filter checked and turned into SQL values.
pub(super) struct Checked {
    status: Option<InvoiceStatus>,
    currency: Option<String>,
    search: Option<String>,
    due_from: Option<String>,
    due_to: Option<String>,
    overdue_before: Option<String>,
    min_e4: Option<i64>,
    max_e4: Option<i64>,
    has_paypal: Option<bool>,
    /// The search index may answer (not while a full sync has it suspended: `search_index.rs`).
    index: bool,
    /// The page's names part walks `invoices_status_due` in the list's order (see
    /// [`Checked::dense`]).
    pub(super) in_due_order: bool,
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
    pub(super) fn check(&self, now: DateTime<Utc>) -> Result<Checked, DeskError> {
        let status = match self.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("all") => None,
            Some(word) => Some(InvoiceStatus::from_word(word).ok_or_else(|| {
                DeskError::bad_input(format!(
                    "Unknown status {word:?}: use outstanding, paid, cancelled, closed or all."
                ))
            })?),
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
            index: true,
            in_due_order: false,
        })
    }
}

/// A trigram needs three characters (Unicode scalar values, as FTS5 counts them).
const FTS_MIN_CHARS: usize = 3;

/// `term` as one FTS5 phrase: quoted, an embedded quote doubled, so no character of it is read
/// as query syntax (`AND`, `*`, `:`, parentheses, ...).
pub(super) fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// `term` as a LIKE pattern matching it anywhere, `%`, `_` and `\` escaped (with `ESCAPE '\'`).
fn like_pattern(term: &str) -> String {
    let escaped = term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// One disjoint part of an indexed search (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Names,
    Customers,
    Numbers,
}

/// Whether a match of `term` in `name id number` can reach the number: the term is digits, or
/// ends in a space and digits (the number has no space, so that space is the one before it).
fn may_reach_number(term: &str) -> bool {
    let last = term.rsplit(' ').next().unwrap_or(term);
    !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit())
}

impl Checked {
    /// The search term when the trigram indexes can answer it.
    fn indexed_search(&self) -> Option<&str> {
        self.search.as_deref().filter(|s| self.index && s.chars().count() >= FTS_MIN_CHARS)
    }

    /// The same filter, searching by a scan (the index is suspended).
    pub(super) fn scanning(self) -> Checked {
        Checked { index: false, ..self }
    }

    /// Whether the page's names part may walk `invoices_status_due` ([`Checked::dense`]): an
    /// indexed search with a status and nothing else (another condition would need each row).
    pub(super) fn may_walk(&self) -> bool {
        let only_status = self.status.is_some()
            && self.currency.is_none()
            && self.due_from.is_none()
            && self.due_to.is_none()
            && self.overdue_before.is_none()
            && self.min_e4.is_none()
            && self.max_e4.is_none()
            && self.has_paypal.is_none();
        only_status && self.indexed_search().is_some()
    }

    /// Whether a search matching about `count` of the invoices numbered across `span` is dense
    /// enough that the page by due date is found sooner by walking `invoices_status_due` in its
    /// order (about `limit × span / count` entries, each name looked up in the index's own
    /// `customer_sort`) than by sorting every match (`count` entries). The choice is only about
    /// speed: either plan lists the same rows.
    pub(super) fn dense(&self, count: i64, span: i64, limit: u32) -> bool {
        self.may_walk() && i128::from(count) * i128::from(count) >= i128::from(limit) * i128::from(span.max(1))
    }

    /// The parts an indexed search reads, or `None`: one query over `invoices` ([`push_filter`]).
    pub(super) fn parts(&self) -> Option<Vec<Part>> {
        let term = self.indexed_search()?;
        let mut parts = vec![Part::Names, Part::Customers];
        if may_reach_number(term) {
            parts.push(Part::Numbers);
        }
        Some(parts)
    }
}

/// One row: the span of the invoice numbers (standing for the number of invoices: an O(log n)
/// read, not a count), the customers (name and id) whose name contains `f`'s search term, and
/// all the customers. The share of customers that match, times the span, estimates how many
/// invoices the term matches, in a fraction of a millisecond: the page's plan
/// ([`Checked::dense`]) is chosen from it, so the page need not wait for the totals' exact
/// count and is read beside them. It takes the matching customers' invoices to be spread across
/// statuses as everyone's: a term whose customers hold few invoices of the status asked for
/// may walk that status's whole range (slower; never other rows).
pub(super) fn push_density<S: Sink>(q: &mut S, f: &Checked) {
    q.sql(
        "SELECT COALESCE((SELECT MAX(invoice_no) FROM invoices) - (SELECT MIN(invoice_no) FROM invoices) + 1, 0), \
         (SELECT COUNT(*) FROM search_customers WHERE customer_sort IN (",
    );
    push_matching_names(q, f.indexed_search().unwrap_or_default(), None);
    q.sql(")), (SELECT COUNT(*) FROM search_customers)");
}

/// `SELECT customer_sort FROM search_names` of the names that contain `term` (looked up in
/// their trigram index, the LIKE still applied); `shard`: `(k, n)` keeps only the names whose id
/// is `k` modulo `n`.
fn push_matching_names<S: Sink>(q: &mut S, term: &str, shard: Option<(i64, i64)>) {
    q.sql("SELECT customer_sort FROM search_names WHERE id IN (SELECT rowid FROM search_names_fts WHERE search_names_fts MATCH ");
    q.value(Value::Text(fts_phrase(term)));
    q.sql(") AND customer_sort LIKE ");
    q.value(Value::Text(like_pattern(term)));
    q.sql(" ESCAPE '\\'");
    if let Some((k, n)) = shard {
        q.sql(" AND id % ");
        q.value(Value::Int(n));
        q.sql(" = ");
        q.value(Value::Int(k));
    }
}

/// The FROM and WHERE clauses of `f` without an indexed search: every invoice, the search (if
/// any) by LIKE.
pub(super) fn push_filter<S: Sink>(q: &mut S, f: &Checked) {
    q.sql(" FROM invoices WHERE 1=1");
    if let Some(s) = &f.search {
        q.sql(" AND invoices.search_text LIKE ");
        q.value(Value::Text(like_pattern(s)));
        q.sql(" ESCAPE '\\'");
    }
    push_conditions(q, f);
}

/// The FROM and WHERE clauses of one part of `f`'s indexed search; `in_due_order`: the names
/// part read from `invoices_status_due` (`status, due_key, invoice_no, customer_sort`, migration
/// 0016) in its order, for a page by due date.
/// `shard`: `(k, n)` keeps, of the names part, only the names whose id is `k` modulo `n` (the
/// totals are read in shards side by side, see `mod.rs`).
pub(super) fn push_part<S: Sink>(q: &mut S, f: &Checked, part: Part, in_due_order: bool, shard: Option<(i64, i64)>) {
    let term = f.indexed_search().unwrap_or_default();
    let like = |q: &mut S, sql: &str| {
        q.sql(sql);
        q.value(Value::Text(like_pattern(term)));
        q.sql(" ESCAPE '\\'");
    };
    match part {
        Part::Names => {
            let index = if in_due_order { "invoices_status_due" } else { "invoices_customer_search" };
            q.sql(&format!(" FROM invoices INDEXED BY {index} WHERE customer_sort IN ("));
            push_matching_names(q, term, shard);
            q.sql(")");
        }
        Part::Customers => {
            q.sql(
                " FROM invoices INDEXED BY invoices_customer_search WHERE (customer_sort, customer_id) IN (SELECT \
                 customer_sort, customer_id FROM search_customers WHERE id IN (SELECT rowid FROM search_customers_fts \
                 WHERE search_customers_fts MATCH ",
            );
            // without a space the term cannot span name and id: it lies in the id
            let column = if term.contains(' ') { "search_text" } else { "id_text" };
            q.value(Value::Text(format!("{column} : {}", fts_phrase(term))));
            like(q, ") AND search_text LIKE ");
            like(q, " AND customer_sort NOT LIKE ");
            q.sql(")");
        }
        Part::Numbers => {
            q.sql(
                " FROM invoices_fts CROSS JOIN invoices ON invoices.invoice_no = invoices_fts.rowid \
                 WHERE invoices_fts MATCH ",
            );
            q.value(Value::Text(fts_phrase(term)));
            like(q, " AND invoices.search_text LIKE ");
            like(
                q,
                " AND substr(invoices.search_text, 1, length(invoices.search_text) - length(invoices.invoice_no) - 1) \
                 NOT LIKE ",
            );
        }
    }
    push_conditions(q, f);
}

/// The filter's conditions other than the search, each as ` AND ...`.
fn push_conditions<S: Sink>(q: &mut S, f: &Checked) {
    if let Some(s) = f.status {
        q.sql(" AND status = ");
        q.value(Value::Text(s.as_str().to_owned()));
    }
    if let Some(c) = &f.currency {
        q.sql(" AND currency = ");
        q.value(Value::Text(c.clone()));
    }
    let texts =
        [(" AND due_key >= ", &f.due_from), (" AND due_key <= ", &f.due_to), (" AND due_key < ", &f.overdue_before)];
    for (sql, value) in texts {
        if let Some(v) = value {
            q.sql(sql);
            q.value(Value::Text(v.clone()));
        }
    }
    let ints = [
        (" AND outstanding_e4 >= ", f.min_e4),
        (" AND outstanding_e4 <= ", f.max_e4),
        (" AND has_paypal = ", f.has_paypal.map(i64::from)),
    ];
    for (sql, value) in ints {
        if let Some(v) = value {
            q.sql(sql);
            q.value(Value::Int(v));
        }
    }
}
