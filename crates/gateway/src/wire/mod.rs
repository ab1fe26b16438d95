//! The gateway's JSON, read strictly: numbers from their exact text, currencies and amounts
//! checked, every invoice validated before it is handed out.

use crate::GatewayError;
use chrono::{DateTime, Utc};
use money::{Currency, Money};
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wallet {
    pub balance: Money,
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
    /// Only in the detail endpoint's answer.
    pub payments: Vec<InvoicePayment>,
    /// The invoice's JSON exactly as received, kept for forward compatibility.
    pub raw: String,
}

/// One page of the invoice list.
#[derive(Debug, Clone)]
pub struct InvoicePage {
    pub invoices: Vec<Invoice>,
    pub page: u64,
    pub limit: u64,
    pub total: Option<u64>,
    pub total_pages: Option<u64>,
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
    at: Option<DateTime<Utc>>,
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

fn currency(code: &str, at: u64) -> Result<Currency, GatewayError> {
    Currency::from_code(code).map_err(|e| invalid(format!("invoice {at}: {e}")))
}

fn amount(raw: &RawValue, cur: Currency, field: &str, at: u64) -> Result<Money, GatewayError> {
    let m = Money::parse_gateway(raw.get(), cur).map_err(|e| invalid(format!("invoice {at}: {field}: {e}")))?;
    if m.is_negative() {
        return Err(invalid(format!("invoice {at}: {field} is negative")));
    }
    Ok(m)
}

fn non_empty(s: String, what: &str, at: u64) -> Result<String, GatewayError> {
    let t = s.trim();
    if t.is_empty() || t.len() > 200 {
        return Err(invalid(format!("invoice {at}: {what} is empty or too long")));
    }
    Ok(t.to_owned())
}

/// Parses and validates one invoice object.
pub(crate) fn parse_invoice(raw: &RawValue) -> Result<Invoice, GatewayError> {
    let w: InvoiceWire = serde_json::from_str(raw.get()).map_err(|e| invalid(format!("invoice: {e}")))?;
    let at = w.invoice_no;
    if at == 0 {
        return Err(invalid("invoice number 0"));
    }
    let cur = currency(&w.currency, at)?;
    let total = amount(&w.total, cur, "total", at)?;
    let outstanding = amount(&w.outstanding, cur, "outstanding", at)?;
    if outstanding.amount() > total.amount() {
        return Err(invalid(format!("invoice {at}: outstanding exceeds total")));
    }
    let wallet = match w.wallet {
        None => None,
        Some(wl) => {
            let wc = currency(&wl.currency, at)?;
            Some(Wallet { balance: amount(&wl.balance, wc, "wallet.balance", at)? })
        }
    };
    let paypal = match w.paypal {
        None => None,
        Some(p) => {
            let order_id = non_empty(p.order_id, "paypal.orderId", at)?;
            let authorization_id =
                p.authorization_id.map(|a| non_empty(a, "paypal.authorizationId", at)).transpose()?;
            if p.intent == PaypalIntent::Authorize && authorization_id.is_none() {
                return Err(invalid(format!("invoice {at}: AUTHORIZE without authorizationId")));
            }
            Some(PaypalApproval { intent: p.intent, order_id, authorization_id, approved_at: p.approved_at })
        }
    };
    let payments = w
        .payments
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let pc = currency(&p.currency, at)?;
            Ok(InvoicePayment {
                payment_id: non_empty(p.payment_id, "payments.paymentId", at)?,
                amount: amount(&p.amount, pc, "payments.amount", at)?,
                method: p.method.unwrap_or_default(),
                at: p.at,
            })
        })
        .collect::<Result<Vec<_>, GatewayError>>()?;
    Ok(Invoice {
        invoice_no: at,
        customer: Customer {
            id: non_empty(w.customer.id, "customer.id", at)?,
            name: w.customer.name.trim().to_owned(),
        },
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

/// Parses a list page; one bad invoice refuses the whole page.
pub(crate) fn parse_page(body: &[u8], asked_page: u64, asked_limit: u64) -> Result<InvoicePage, GatewayError> {
    let w: PageWire = serde_json::from_slice(body).map_err(|e| invalid(format!("invoice list: {e}")))?;
    let invoices = w.data.iter().map(|r| parse_invoice(r)).collect::<Result<Vec<_>, _>>()?;
    let p = w.pagination;
    Ok(InvoicePage {
        invoices,
        page: p.as_ref().and_then(|p| p.page).unwrap_or(asked_page),
        limit: p.as_ref().and_then(|p| p.limit).unwrap_or(asked_limit),
        total: p.as_ref().and_then(|p| p.total),
        total_pages: p.as_ref().and_then(|p| p.total_pages),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"{ "invoiceNo": 458732, "customer": { "id": "c_102", "name": "Nordlicht Freight GmbH" },
      "currency": "USD", "total": 250, "outstanding": 250, "status": "outstanding",
      "issuedAt": "2026-11-02T09:15:00Z", "dueAt": "2026-12-02T00:00:00Z",
      "updatedAt": "2026-11-20T10:00:00Z",
      "wallet": { "currency": "EUR", "balance": 40.5 },
      "paypal": { "intent": "CAPTURE", "orderId": "5O190127TN364715T",
                  "authorizationId": null, "approvedAt": "2026-11-20T09:58:00Z" } }"#;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).expect("json")
    }

    #[test]
    fn the_documented_example_parses_exactly() {
        let inv = parse_invoice(&raw(SEED)).expect("valid");
        assert_eq!(inv.invoice_no, 458732);
        assert_eq!(inv.outstanding.to_paypal_string(), "250.00");
        assert_eq!(inv.wallet.as_ref().map(|w| w.balance.to_paypal_string()), Some("40.50".into()));
        assert_eq!(inv.wallet.as_ref().map(|w| w.balance.currency().code()), Some("EUR"));
        assert_eq!(inv.paypal.as_ref().map(|p| p.intent), Some(PaypalIntent::Capture));
        assert_eq!(inv.raw, SEED);
    }

    #[test]
    fn bad_invoices_are_refused() {
        let cases = [
            SEED.replace("\"USD\"", "\"XXX\""),
            SEED.replace("\"total\": 250", "\"total\": \"250\""),
            SEED.replace("\"outstanding\": 250", "\"outstanding\": 250.001"),
            SEED.replace("\"outstanding\": 250", "\"outstanding\": -1"),
            SEED.replace("\"outstanding\": 250", "\"outstanding\": 300"),
            SEED.replace("\"outstanding\": 250", "\"outstanding\": 2.5e2"),
            SEED.replace("\"balance\": 40.5", "\"balance\": 40.555"),
            SEED.replace("\"outstanding\"", "\"outstandin\""),
            SEED.replace("\"CAPTURE\"", "\"AUTHORIZE\""),
            SEED.replace("\"status\": \"outstanding\"", "\"status\": 3"),
            SEED.replace("2026-12-02T00:00:00Z", "tomorrow"),
        ];
        for bad in cases {
            assert!(matches!(parse_invoice(&raw(&bad)), Err(GatewayError::InvalidResponse { .. })), "{bad}");
        }
    }

    #[test]
    fn a_page_with_one_bad_invoice_is_refused_whole() {
        let bad = SEED.replace("\"USD\"", "\"XXX\"");
        let body = format!(r#"{{"data":[{SEED},{bad}],"pagination":{{"page":1,"limit":2,"total":2,"totalPages":1}}}}"#);
        assert!(parse_page(body.as_bytes(), 1, 2).is_err());
        let good = format!(r#"{{"data":[{SEED}],"pagination":{{"page":1,"limit":2,"total":1,"totalPages":1}}}}"#);
        let page = parse_page(good.as_bytes(), 1, 2).expect("valid");
        assert_eq!((page.invoices.len(), page.total_pages), (1, Some(1)));
        assert!(parse_page(&good.as_bytes()[..good.len() / 2], 1, 2).is_err(), "truncated");
    }
}
