//! PayPal's JSON as the official OpenAPI files define it (`checkout_orders_v2.json`,
//! `payments_payment_v2.json`): every property the schema does not list as required is optional
//! here, unknown properties are ignored, amounts are read strictly through `money`.

use crate::types::{
    Authorization, AuthorizationStatus, Capture, CaptureStatus, Link, Order, OrderStatus, PurchaseUnit, Refund,
    RelatedIds,
};
use crate::PaypalError;
use chrono::{DateTime, Utc};
use money::{Currency, Money};
use serde::Deserialize;

/// `money`: `currency_code` and `value` are required by the schema.
#[derive(Deserialize)]
pub(crate) struct AmountWire {
    currency_code: String,
    value: String,
}

impl AmountWire {
    fn money(&self, what: &str) -> Result<Money, PaypalError> {
        let invalid = |e: String| PaypalError::InvalidResponse { detail: format!("{what}: {e}") };
        let cur = Currency::from_code(&self.currency_code).map_err(|e| invalid(e.to_string()))?;
        Money::parse_paypal(&self.value, cur).map_err(|e| invalid(e.to_string()))
    }
}

fn money_of(a: Option<&AmountWire>, what: &str) -> Result<Option<Money>, PaypalError> {
    a.map(|a| a.money(what)).transpose()
}

/// `link_description`: `href` and `rel` required; a link without them is left out.
#[derive(Deserialize)]
struct LinkWire {
    href: Option<String>,
    rel: Option<String>,
    method: Option<String>,
}

fn links(l: Vec<LinkWire>) -> Vec<Link> {
    l.into_iter()
        .filter_map(|l| match (l.href, l.rel) {
            (Some(href), Some(rel)) => Some(Link { href, rel, method: l.method }),
            _ => None,
        })
        .collect()
}

#[derive(Deserialize, Default)]
struct RelatedIdsWire {
    order_id: Option<String>,
    authorization_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct SupplementaryWire {
    #[serde(default)]
    related_ids: Option<RelatedIdsWire>,
}

impl SupplementaryWire {
    fn related(self) -> RelatedIds {
        let r = self.related_ids.unwrap_or_default();
        RelatedIds { order_id: non_blank(r.order_id), authorization_id: non_blank(r.authorization_id) }
    }
}

#[derive(Deserialize)]
struct StatusDetails {
    reason: Option<String>,
}

/// `seller_receivable_breakdown` (`gross_amount` required, but we read only fee and net).
#[derive(Deserialize)]
struct Breakdown {
    paypal_fee: Option<AmountWire>,
    net_amount: Option<AmountWire>,
}

/// `capture` (Orders v2) and `capture-2` (Payments v2): nothing required.
#[derive(Deserialize)]
pub(crate) struct CaptureWire {
    id: Option<String>,
    status: Option<CaptureStatus>,
    status_details: Option<StatusDetails>,
    amount: Option<AmountWire>,
    final_capture: Option<bool>,
    invoice_id: Option<String>,
    custom_id: Option<String>,
    supplementary_data: Option<SupplementaryWire>,
    seller_receivable_breakdown: Option<Breakdown>,
    #[serde(default)]
    links: Vec<LinkWire>,
    create_time: Option<DateTime<Utc>>,
    update_time: Option<DateTime<Utc>>,
}

impl CaptureWire {
    pub(crate) fn typed(self) -> Result<Capture, PaypalError> {
        let id = checked_id(self.id, "capture id")?;
        let what = format!("capture {}", id.as_deref().unwrap_or("(no id)"));
        let breakdown = self.seller_receivable_breakdown.as_ref();
        Ok(Capture {
            amount: money_of(self.amount.as_ref(), &what)?,
            paypal_fee: money_of(breakdown.and_then(|b| b.paypal_fee.as_ref()), &what)?,
            net_amount: money_of(breakdown.and_then(|b| b.net_amount.as_ref()), &what)?,
            id,
            status: self.status,
            status_reason: self.status_details.and_then(|d| d.reason),
            final_capture: self.final_capture,
            invoice_id: self.invoice_id,
            custom_id: self.custom_id,
            related: self.supplementary_data.unwrap_or_default().related(),
            links: links(self.links),
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

/// `authorization_with_additional_data` (Orders v2) and `authorization-2` (Payments v2).
#[derive(Deserialize)]
pub(crate) struct AuthorizationWire {
    id: Option<String>,
    status: Option<AuthorizationStatus>,
    status_details: Option<StatusDetails>,
    amount: Option<AmountWire>,
    invoice_id: Option<String>,
    custom_id: Option<String>,
    supplementary_data: Option<SupplementaryWire>,
    #[serde(default)]
    links: Vec<LinkWire>,
    expiration_time: Option<DateTime<Utc>>,
    create_time: Option<DateTime<Utc>>,
}

impl AuthorizationWire {
    pub(crate) fn typed(self) -> Result<Authorization, PaypalError> {
        let id = checked_id(self.id, "authorization id")?;
        let what = format!("authorization {}", id.as_deref().unwrap_or("(no id)"));
        Ok(Authorization {
            amount: money_of(self.amount.as_ref(), &what)?,
            id,
            status: self.status,
            status_reason: self.status_details.and_then(|d| d.reason),
            invoice_id: self.invoice_id,
            custom_id: self.custom_id,
            related: self.supplementary_data.unwrap_or_default().related(),
            links: links(self.links),
            expiration_time: self.expiration_time,
            create_time: self.create_time,
        })
    }
}

/// `payment_collection`: `authorizations`, `captures` (and `refunds`, not read).
#[derive(Deserialize, Default)]
struct PaymentsWire {
    /// Absent: the answer does not say which captures the unit has (none required).
    captures: Option<Vec<CaptureWire>>,
    #[serde(default)]
    authorizations: Vec<AuthorizationWire>,
}

/// `purchase_unit`: nothing required; the order-capture answer carries no `amount`.
#[derive(Deserialize)]
struct UnitWire {
    reference_id: Option<String>,
    invoice_id: Option<String>,
    custom_id: Option<String>,
    amount: Option<AmountWire>,
    payments: Option<PaymentsWire>,
}

/// `order`: nothing required.
#[derive(Deserialize)]
pub(crate) struct OrderWire {
    id: Option<String>,
    intent: Option<String>,
    status: Option<OrderStatus>,
    #[serde(default)]
    purchase_units: Vec<UnitWire>,
    #[serde(default)]
    links: Vec<LinkWire>,
}

impl OrderWire {
    pub(crate) fn typed(self) -> Result<Order, PaypalError> {
        let id = checked_id(self.id, "order id")?;
        let what = format!("order {}", id.as_deref().unwrap_or("(no id)"));
        let purchase_units = self
            .purchase_units
            .into_iter()
            .map(|u| {
                let payments = u.payments.unwrap_or_default();
                let captures_listed = payments.captures.is_some();
                Ok(PurchaseUnit {
                    reference_id: u.reference_id,
                    invoice_id: u.invoice_id,
                    custom_id: u.custom_id,
                    amount: money_of(u.amount.as_ref(), &what)?,
                    captures: payments
                        .captures
                        .unwrap_or_default()
                        .into_iter()
                        .map(CaptureWire::typed)
                        .collect::<Result<_, _>>()?,
                    captures_listed,
                    authorizations: payments
                        .authorizations
                        .into_iter()
                        .map(AuthorizationWire::typed)
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect::<Result<Vec<_>, PaypalError>>()?;
        Ok(Order { id, intent: self.intent, status: self.status, purchase_units, links: links(self.links) })
    }
}

/// `refund`: nothing required.
#[derive(Deserialize)]
pub(crate) struct RefundWire {
    id: Option<String>,
    status: Option<String>,
    amount: Option<AmountWire>,
}

impl RefundWire {
    pub(crate) fn typed(self) -> Result<Refund, PaypalError> {
        let id = checked_id(self.id, "refund id")?;
        let what = format!("refund {}", id.as_deref().unwrap_or("(no id)"));
        Ok(Refund { amount: money_of(self.amount.as_ref(), &what)?, id, status: self.status })
    }
}

fn non_blank(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// An id that is there must be usable (it goes into URL paths and the journal); a blank one is
/// read as absent.
fn checked_id(id: Option<String>, what: &str) -> Result<Option<String>, PaypalError> {
    match non_blank(id) {
        Some(s) if s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            Err(PaypalError::InvalidResponse { detail: format!("{what} is not a PayPal id") })
        }
        other => Ok(other),
    }
}
