//! What the invoice list shows: [`InvoiceFilter`] as the front ends send it, checked into SQL
//! values and pushed onto a query.

use super::{InvoiceStatus, E4};
use crate::{time, DeskError};
use chrono::{DateTime, NaiveDate, Utc};
use money::Currency;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};
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
        })
    }
}

pub(super) fn push_filter(q: &mut QueryBuilder<'_, Sqlite>, f: &Checked) {
    q.push(" WHERE 1=1");
    if let Some(s) = f.status {
        q.push(" AND status = ").push_bind(s);
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
