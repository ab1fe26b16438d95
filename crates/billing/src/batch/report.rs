//! The batch report: every item with its verdict, outcome, capture and amounts as the journal
//! holds them (what PayPal captured, what the wallet paid), PayPal's fee and the net, what to
//! do about an item that needs it, and totals per currency of what was finalized. As CSV too
//! (one row per item; a cell that a spreadsheet would run as a formula is disarmed).
//!
//! Each amount is written as its [`Money`] says: PayPal's amounts (what PayPal captured, its
//! fee and the net) with PayPal's digits (`"1234"` HUF, JPY or TWD), the gateway's (the
//! invoice's total and outstanding amount, the wallet's part) with ISO 4217's (`"1234.00"`
//! HUF), whatever form the journal or an older desk stored them in.

use super::model::BatchSummary;
use super::words::{ItemOutcome, Verdict};
use super::{store, BatchError};
use crate::{audit, DeskError};
use money::{Currency, Money};
use serde::Serialize;
use sqlx::SqlitePool;
use std::collections::BTreeMap;
use ts_rs::TS;

/// One item of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportItem {
    #[ts(type = "number")]
    pub invoice_no: i64,
    pub currency: String,
    /// The invoice's total and outstanding amount when the batch was made.
    pub total: String,
    pub outstanding: String,
    pub excluded: bool,
    pub verdict: Option<Verdict>,
    pub outcome: Option<ItemOutcome>,
    pub outcome_reason: Option<String>,
    #[ts(type = "number | null")]
    pub journal_id: Option<i64>,
    pub capture_id: Option<String>,
    /// What PayPal captured (invoice currency; PayPal's digits).
    pub paypal_amount: Option<String>,
    /// What the wallet paid, in the wallet's currency, and in the invoice's (ISO 4217's digits).
    pub wallet_amount: Option<String>,
    pub wallet_currency: Option<String>,
    pub wallet_in_invoice_currency: Option<String>,
    /// PayPal's fee and the net of the capture (`seller_receivable_breakdown`), when read
    /// (PayPal's digits).
    pub paypal_fee: Option<String>,
    pub net_amount: Option<String>,
    pub fee_currency: Option<String>,
    /// For an item that is not done or needs a person: what to do.
    #[sqlx(skip)]
    pub action: Option<String>,
}

/// What was finalized in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ReportTotal {
    pub currency: String,
    #[ts(type = "number")]
    pub finalized: i64,
    /// The finalized invoices' outstanding amounts. `paid` and `wallet_paid` in ISO 4217's
    /// digits (the gateway's), `paypal_captured`, `paypal_fee` and `net` in PayPal's.
    pub paid: String,
    pub paypal_captured: String,
    pub wallet_paid: String,
    /// Fee and net over the captures whose breakdown was read in this currency.
    pub paypal_fee: String,
    pub net: String,
    /// Finalized PayPal captures whose fee is not known (not read yet).
    #[ts(type = "number")]
    pub fee_unknown: i64,
}

/// The report on a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BatchReport {
    pub batch: BatchSummary,
    pub items: Vec<ReportItem>,
    pub totals: Vec<ReportTotal>,
    /// Items per outcome word (`none` for an item the run never reached).
    #[ts(type = "Record<string, number>")]
    pub outcomes: BTreeMap<String, i64>,
}

const ITEMS: &str = "SELECT i.invoice_no, i.currency, i.total, i.outstanding, i.excluded, i.verdict, i.outcome, \
     i.outcome_reason, i.journal_id, j.capture_id, j.paypal_amount, j.wallet_amount, j.wallet_currency, \
     j.wallet_in_invoice_currency, i.paypal_fee, i.net_amount, i.fee_currency \
     FROM batch_items i LEFT JOIN capture_journal j ON j.id = i.journal_id WHERE i.batch_id = ? ORDER BY i.position";

/// The report on batch `id`.
pub(crate) async fn report(pool: &SqlitePool, id: i64) -> Result<BatchReport, DeskError> {
    let mut conn = pool.acquire().await?;
    let batch = store::summary(&mut conn, id).await?.ok_or(BatchError::NotFound(id))?;
    let mut items: Vec<ReportItem> = sqlx::query_as(ITEMS).bind(id).fetch_all(&mut *conn).await?;
    for i in &mut items {
        i.action = action(i);
        in_digits(i);
    }
    let mut outcomes = BTreeMap::new();
    for i in &items {
        *outcomes.entry(i.outcome.map_or("none", ItemOutcome::as_str).to_owned()).or_insert(0) += 1;
    }
    let totals = totals(&items)?;
    Ok(BatchReport { batch, items, totals, outcomes })
}

fn action(i: &ReportItem) -> Option<String> {
    let journal = i.journal_id.map(|j| format!(" (journal entry {j})")).unwrap_or_default();
    match i.outcome? {
        ItemOutcome::NeedsAttention => Some(format!(
            "Open invoice {} in the desk{journal}: compare PayPal's capture with the gateway's payments and settle it \
             by hand (refund or record the payment) as the reason says.",
            i.invoice_no
        )),
        ItemOutcome::Pending => Some(format!(
            "Not finished{journal}: run the batch again or `desk recover` once PayPal completes the capture or the \
             services answer."
        )),
        ItemOutcome::Queued => Some("Not reached yet: run the batch again.".to_owned()),
        ItemOutcome::Running => Some(
            "Started by a run that did not finish (or is still running): its capture resumes from the journal when \
             the batch runs again or `desk recover` runs; it is never sent twice."
                .to_owned(),
        ),
        _ => None,
    }
}

/// The item's amounts rewritten with their currency's digits (see the module's doc); one that
/// does not read as an amount in its currency is left as stored (the totals refuse it).
fn in_digits(i: &mut ReportItem) {
    type Form = fn(&Money) -> String;
    /// `text` rewritten by `form` when it reads as an amount in `currency`.
    fn written(text: &str, currency: Option<&str>, form: Form) -> Option<String> {
        let cur = Currency::from_code(currency?).ok()?;
        Some(form(&amount(text, cur)?))
    }
    fn rewrite(text: &mut Option<String>, currency: Option<&str>, form: Form) {
        if let Some(new) = text.as_deref().and_then(|t| written(t, currency, form)) {
            *text = Some(new);
        }
    }
    let iso: Form = Money::to_decimal_string;
    let paypal: Form = Money::to_paypal_string;
    let invoice = Some(i.currency.as_str());
    i.total = written(&i.total, invoice, iso).unwrap_or_else(|| i.total.clone());
    i.outstanding = written(&i.outstanding, invoice, iso).unwrap_or_else(|| i.outstanding.clone());
    rewrite(&mut i.wallet_in_invoice_currency, invoice, iso);
    rewrite(&mut i.paypal_amount, invoice, paypal);
    rewrite(&mut i.wallet_amount, i.wallet_currency.as_deref(), iso);
    rewrite(&mut i.paypal_fee, i.fee_currency.as_deref(), paypal);
    rewrite(&mut i.net_amount, i.fee_currency.as_deref(), paypal);
}

/// `text` as an amount in `currency` (within ISO 4217's digits, which hold PayPal's).
fn amount(text: &str, currency: Currency) -> Option<Money> {
    money::parse_decimal_text(text).ok().and_then(|d| Money::new(d, currency).ok())
}

struct Sum {
    finalized: i64,
    paid: Money,
    captured: Money,
    wallet: Money,
    fee: Money,
    net: Money,
    fee_unknown: i64,
}

fn parse(text: Option<&str>, currency: Currency, what: &str, no: i64) -> Result<Money, DeskError> {
    match text {
        None => Ok(Money::zero(currency)),
        Some(t) => amount(t, currency).ok_or_else(|| {
            DeskError::internal(format!("batch item {no}: the stored {what} {t:?} is not an amount in {currency:?}"))
        }),
    }
}

fn plus(a: Money, b: Money) -> Result<Money, DeskError> {
    a.checked_add(b).ok_or_else(|| DeskError::internal("a report total overflowed"))
}

fn totals(items: &[ReportItem]) -> Result<Vec<ReportTotal>, DeskError> {
    let mut sums: BTreeMap<String, Sum> = BTreeMap::new();
    for i in items.iter().filter(|i| i.outcome == Some(ItemOutcome::Finalized)) {
        let cur = Currency::from_code(&i.currency).map_err(|_| {
            DeskError::internal(format!("batch item {}: unknown currency {}", i.invoice_no, i.currency))
        })?;
        let n = i.invoice_no;
        let zero = Money::zero(cur);
        let s = sums.entry(i.currency.clone()).or_insert(Sum {
            finalized: 0,
            paid: zero,
            captured: zero,
            wallet: zero,
            fee: zero,
            net: zero,
            fee_unknown: 0,
        });
        s.finalized += 1;
        s.paid = plus(s.paid, parse(Some(&i.outstanding), cur, "outstanding amount", n)?)?;
        let captured = parse(i.paypal_amount.as_deref(), cur, "PayPal amount", n)?;
        s.captured = plus(s.captured, captured)?;
        s.wallet = plus(s.wallet, parse(i.wallet_in_invoice_currency.as_deref(), cur, "wallet part", n)?)?;
        match (&i.paypal_fee, &i.net_amount, i.fee_currency.as_deref()) {
            (Some(fee), Some(net), Some(c)) if c == i.currency => {
                s.fee = plus(s.fee, parse(Some(fee), cur, "PayPal fee", n)?)?;
                s.net = plus(s.net, parse(Some(net), cur, "net amount", n)?)?;
            }
            _ if !captured.is_zero() => s.fee_unknown += 1,
            _ => {}
        }
    }
    Ok(sums
        .into_iter()
        .map(|(currency, s)| ReportTotal {
            currency,
            finalized: s.finalized,
            paid: s.paid.to_decimal_string(),
            paypal_captured: s.captured.to_paypal_string(),
            wallet_paid: s.wallet.to_decimal_string(),
            paypal_fee: s.fee.to_paypal_string(),
            net: s.net.to_paypal_string(),
            fee_unknown: s.fee_unknown,
        })
        .collect())
}

/// The report as CSV (RFC 4180, CRLF, a header row; one row per item).
pub fn to_csv(r: &BatchReport) -> String {
    let mut out = String::from(
        "invoice_no,currency,total,outstanding,verdict,outcome,capture_id,paypal_amount,wallet_amount,wallet_currency,\
         wallet_in_invoice_currency,paypal_fee,net_amount,fee_currency,reason,action\r\n",
    );
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    for i in &r.items {
        let fields = [
            i.invoice_no.to_string(),
            i.currency.clone(),
            i.total.clone(),
            i.outstanding.clone(),
            i.verdict.map(|v| v.as_str().to_owned()).unwrap_or_default(),
            i.outcome.map(|o| o.as_str().to_owned()).unwrap_or_default(),
            text(&i.capture_id),
            text(&i.paypal_amount),
            text(&i.wallet_amount),
            text(&i.wallet_currency),
            text(&i.wallet_in_invoice_currency),
            text(&i.paypal_fee),
            text(&i.net_amount),
            text(&i.fee_currency),
            text(&i.outcome_reason),
            text(&i.action),
        ];
        let line: Vec<String> = fields.iter().map(|f| audit::csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}
