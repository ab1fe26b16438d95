//! The gateway's JSON, read strictly: numbers from their exact text, currencies and amounts
//! checked (ISO 4217's digits), every invoice validated before it is handed out. An invoice of a
//! list that does not validate is handed out apart, as an [`UnreadableInvoice`]: the rest of its
//! page is still good. A wallet in a currency outside our table is kept as sent and marked so.

use crate::GatewayError;
use chrono::{DateTime, Utc};
use money::{Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Outstanding,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Outstanding => "outstanding",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PaypalIntent {
    Capture,
    Authorize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub id: String,
    pub name: String,
}

/// The customer's wallet as the gateway lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wallet {
    /// In a currency of our table, within its digits.
    Known(Money),
    /// In a currency outside our table: kept as sent (the code, and the exact balance), but the
    /// desk cannot use it. The invoice itself is read as usual.
    UnknownCurrency { code: String, balance: Decimal },
}

impl Wallet {
    /// The balance as money, when its currency is one we know.
    pub fn money(&self) -> Option<Money> {
        match self {
            Wallet::Known(m) => Some(*m),
            Wallet::UnknownCurrency { .. } => None,
        }
    }

    /// The currency code as the gateway sent it.
    pub fn currency_code(&self) -> &str {
        match self {
            Wallet::Known(m) => m.currency().code(),
            Wallet::UnknownCurrency { code, .. } => code,
        }
    }

    /// The exact balance as decimal text (the currency's ISO digits when we know it).
    pub fn balance_text(&self) -> String {
        match self {
            Wallet::Known(m) => m.to_decimal_string(),
            Wallet::UnknownCurrency { balance, .. } => balance.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaypalApproval {
    pub intent: PaypalIntent,
    pub order_id: String,
    pub authorization_id: Option<String>,
    pub approved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicePayment {
    pub payment_id: String,
    pub amount: Money,
    pub method: String,
    /// When the gateway made it, by its clock. `None`: absent, or not a time that reads (the
    /// payment is kept; only its time is unknown).
    pub at: Option<DateTime<Utc>>,
}

/// One invoice as the gateway lists it, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub invoice_no: u64,
    pub customer: Customer,
    pub currency: Currency,
    pub total: Money,
    pub outstanding: Money,
    pub status: InvoiceStatus,
    pub issued_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub wallet: Option<Wallet>,
    pub paypal: Option<PaypalApproval>,
    /// The invoice's payments, as the detail endpoint lists them. `None`: the answer carried no
    /// `payments` list (absent or `null`; list answers never carry one). GATEWAY-API.md gives
    /// the detail answer a `payments[]`, but an answer without it says nothing about which
    /// payments the invoice holds: it is never read as "no payments".
    pub payments: Option<Vec<InvoicePayment>>,
    /// The invoice's JSON exactly as received, kept for forward compatibility.
    pub raw: String,
}

/// An invoice the gateway sent that does not read or validate. None of it is used; it says why,
/// and its number when that much reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableInvoice {
    /// `invoiceNo` when it is a whole number above 0 (or such a number written as a string).
    pub invoice_no: Option<u64>,
    /// `invoiceNo` as sent (its JSON text, at most 40 characters), when there is one.
    pub invoice_no_text: Option<String>,
    /// Why it was refused, e.g. `total: 1.005 has more decimals than USD allows (2)`.
    pub reason: String,
    /// The invoice's JSON as received (at most 8 KiB of it).
    pub raw: String,
}

/// One page of the invoice list.
#[derive(Debug, Clone)]
pub struct InvoicePage {
    /// The invoices that read and validate, in the gateway's order.
    pub invoices: Vec<Invoice>,
    /// The ones that do not (they still take their place on the page).
    pub unreadable: Vec<UnreadableInvoice>,
    pub page: u64,
    /// `pagination.limit`, when the gateway says it (it may cap what we asked for).
    pub limit: Option<u64>,
    pub total: Option<u64>,
    pub total_pages: Option<u64>,
}

impl InvoicePage {
    /// How many entries the page holds, readable or not (what paging counts).
    pub fn len(&self) -> usize {
        self.invoices.len() + self.unreadable.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CustomerWire {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct WalletWire {
    currency: String,
    balance: Box<RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaypalWire {
    intent: PaypalIntent,
    order_id: String,
    authorization_id: Option<String>,
    approved_at: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentWire {
    payment_id: String,
    amount: Box<RawValue>,
    currency: String,
    method: Option<String>,
    #[serde(default)]
    at: Option<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvoiceWire {
    invoice_no: u64,
    customer: CustomerWire,
    currency: String,
    total: Box<RawValue>,
    outstanding: Box<RawValue>,
    status: InvoiceStatus,
    issued_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    wallet: Option<WalletWire>,
    paypal: Option<PaypalWire>,
    /// Absent and `null` both read as `None` (not as an empty list).
    #[serde(default)]
    payments: Option<Vec<PaymentWire>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaginationWire {
    page: Option<u64>,
    limit: Option<u64>,
    total: Option<u64>,
    total_pages: Option<u64>,
}

#[derive(Deserialize)]
struct PageWire {
    data: Vec<Box<RawValue>>,
    pagination: Option<PaginationWire>,
}

fn invalid(what: impl std::fmt::Display) -> GatewayError {
    GatewayError::InvalidResponse { detail: what.to_string() }
}

/// Why one invoice was refused (without the "invoice N: " that [`refused`] adds).
type Refusal = String;

fn currency(code: &str) -> Result<Currency, Refusal> {
    Currency::from_code(code).map_err(|e| e.to_string())
}

fn amount(raw: &RawValue, cur: Currency, field: &str) -> Result<Money, Refusal> {
    let m = Money::parse_gateway(raw.get(), cur).map_err(|e| format!("{field}: {e}"))?;
    if m.is_negative() {
        return Err(format!("{field} is negative"));
    }
    Ok(m)
}

fn non_empty(s: String, what: &str) -> Result<String, Refusal> {
    let t = s.trim();
    if t.is_empty() || t.len() > 200 {
        return Err(format!("{what} is empty or too long"));
    }
    Ok(t.to_owned())
}

/// A wallet: in a currency of our table, or (kept as sent, unusable) in one outside it. Only a
/// balance that is not a plain non-negative number, or no code at all, refuses the invoice.
fn wallet(w: WalletWire) -> Result<Wallet, Refusal> {
    match Currency::from_code(&w.currency) {
        Ok(cur) => Ok(Wallet::Known(amount(&w.balance, cur, "wallet.balance")?)),
        Err(_) => {
            let code = w.currency.trim();
            if code.is_empty() || code.len() > 16 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(format!("wallet.currency {:?} is not a currency code", w.currency));
            }
            let balance = money::parse_decimal_text(w.balance.get()).map_err(|e| format!("wallet.balance: {e}"))?;
            if balance.is_sign_negative() {
                return Err("wallet.balance is negative".into());
            }
            Ok(Wallet::UnknownCurrency { code: code.to_owned(), balance })
        }
    }
}

/// The error for an invoice that does not read.
pub(crate) fn refused(u: &UnreadableInvoice) -> GatewayError {
    match u.invoice_no {
        Some(no) => invalid(format!("invoice {no}: {}", u.reason)),
        None => invalid(format!("invoice: {}", u.reason)),
    }
}

/// One invoice, or why not (with as much of its number as reads).
pub(crate) fn read_invoice(raw: &RawValue) -> Result<Invoice, UnreadableInvoice> {
    validate(raw).map_err(|reason| unreadable(raw, reason))
}

fn validate(raw: &RawValue) -> Result<Invoice, Refusal> {
    let w: InvoiceWire = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let at = w.invoice_no;
    if at == 0 {
        return Err("invoice number 0".into());
    }
    let cur = currency(&w.currency)?;
    let total = amount(&w.total, cur, "total")?;
    let outstanding = amount(&w.outstanding, cur, "outstanding")?;
    if outstanding.amount() > total.amount() {
        return Err("outstanding exceeds total".into());
    }
    let wallet = w.wallet.map(wallet).transpose()?;
    let paypal = match w.paypal {
        None => None,
        Some(p) => {
            let order_id = non_empty(p.order_id, "paypal.orderId")?;
            let authorization_id = p.authorization_id.map(|a| non_empty(a, "paypal.authorizationId")).transpose()?;
            if p.intent == PaypalIntent::Authorize && authorization_id.is_none() {
                return Err("AUTHORIZE without authorizationId".into());
            }
            Some(PaypalApproval { intent: p.intent, order_id, authorization_id, approved_at: p.approved_at })
        }
    };
    let payments = w
        .payments
        .map(|list| {
            list.into_iter()
                .map(|p| {
                    let pc = currency(&p.currency).map_err(|e| format!("payments.currency: {e}"))?;
                    Ok(InvoicePayment {
                        payment_id: non_empty(p.payment_id, "payments.paymentId")?,
                        amount: amount(&p.amount, pc, "payments.amount")?,
                        method: p.method.unwrap_or_default(),
                        at: p.at.as_ref().and_then(|t| t.as_str()?.parse().ok()),
                    })
                })
                .collect::<Result<Vec<_>, Refusal>>()
        })
        .transpose()?;
    Ok(Invoice {
        invoice_no: at,
        customer: Customer { id: non_empty(w.customer.id, "customer.id")?, name: w.customer.name.trim().to_owned() },
        currency: cur,
        total,
        outstanding,
        status: w.status,
        issued_at: w.issued_at,
        due_at: w.due_at,
        updated_at: w.updated_at,
        wallet,
        paypal,
        payments,
        raw: raw.get().to_owned(),
    })
}

/// What reads of an invoice that does not validate: its number, if any.
fn unreadable(raw: &RawValue, reason: Refusal) -> UnreadableInvoice {
    #[derive(Deserialize)]
    struct Number<'a> {
        #[serde(rename = "invoiceNo", borrow)]
        invoice_no: Option<&'a RawValue>,
    }
    let text = serde_json::from_str::<Number<'_>>(raw.get()).ok().and_then(|n| n.invoice_no).map(RawValue::get);
    let digits = text.map(|t| t.trim_matches('"')).filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    UnreadableInvoice {
        invoice_no: digits.and_then(|d| d.parse::<u64>().ok()).filter(|n| *n > 0),
        invoice_no_text: text.map(|t| t.chars().take(40).collect()),
        reason: reason.chars().take(500).collect(),
        raw: truncated(raw.get(), 8 * 1024),
    }
}

fn truncated(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// Parses a list page. Each invoice that does not validate is set apart on the page, with why;
/// only a page that is not a page (not JSON, no `data` list) is refused whole.
pub(crate) fn parse_page(body: &[u8], asked_page: u64) -> Result<InvoicePage, GatewayError> {
    let w: PageWire = serde_json::from_slice(body).map_err(|e| invalid(format!("invoice list: {e}")))?;
    let mut invoices = Vec::with_capacity(w.data.len());
    let mut unreadable = Vec::new();
    for raw in &w.data {
        match read_invoice(raw) {
            Ok(inv) => invoices.push(inv),
            Err(u) => unreadable.push(u),
        }
    }
    let p = w.pagination;
    Ok(InvoicePage {
        invoices,
        unreadable,
        page: p.as_ref().and_then(|p| p.page).unwrap_or(asked_page),
        limit: p.as_ref().and_then(|p| p.limit),
        total: p.as_ref().and_then(|p| p.total),
        total_pages: p.as_ref().and_then(|p| p.total_pages),
    })
}

#[cfg(test)]
mod tests;
