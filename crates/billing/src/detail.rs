//! One invoice in full for the detail panel: what the cache knows (at once, offline too), and
//! what the gateway and PayPal say now (payment history, live PayPal status).

use crate::audit::AuditEntry;
use crate::capture::Entry;
use crate::{time, DeskError, InvoiceRow};
use serde::Serialize;
use ts_rs::TS;

/// The cached part: the invoice, its capture journal and its audit entries.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct InvoiceDetail {
    pub invoice: InvoiceRow,
    pub journal: Vec<Entry>,
    pub audit: Vec<AuditEntry>,
}

/// One payment the gateway lists for the invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PaymentView {
    pub payment_id: String,
    pub amount: String,
    pub currency: String,
    pub method: String,
    pub at: Option<String>,
}

/// A capture PayPal lists under the order or authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PaypalCaptureView {
    pub id: String,
    pub status: String,
    pub amount: String,
    pub currency: String,
    pub at: Option<String>,
}

/// The customer's PayPal approval as PayPal sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PaypalLiveView {
    /// `order` or `authorization`.
    pub kind: String,
    pub id: String,
    /// PayPal's status word, e.g. `APPROVED`, `CREATED`, `CAPTURED`, `EXPIRED`.
    pub status: String,
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub expires_at: Option<String>,
    pub captures: Vec<PaypalCaptureView>,
}

/// What the gateway and PayPal say now. Either side may be unreachable: its error is given
/// instead, and the cached detail stays usable.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct InvoiceLive {
    /// The invoice as the gateway has it now (the cache is updated with it).
    pub invoice: Option<InvoiceRow>,
    pub payments: Vec<PaymentView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub gateway_error: Option<DeskError>,
    pub paypal: Option<PaypalLiveView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub paypal_error: Option<DeskError>,
}

pub(crate) fn payments(invoice: &gateway::Invoice) -> Vec<PaymentView> {
    invoice
        .payments
        .iter()
        .flatten()
        .map(|p| PaymentView {
            payment_id: p.payment_id.clone(),
            amount: p.amount.to_paypal_string(),
            currency: p.amount.currency().code().to_owned(),
            method: p.method.clone(),
            at: p.at.map(time::text),
        })
        .collect()
}

fn capture_view(c: &paypal::Capture) -> PaypalCaptureView {
    PaypalCaptureView {
        id: c.id.clone().unwrap_or_default(),
        status: c.status.map_or("", |s| s.as_str()).to_owned(),
        amount: c.amount.map(|a| a.to_paypal_string()).unwrap_or_default(),
        currency: c.amount.map(|a| a.currency().code().to_owned()).unwrap_or_default(),
        at: c.create_time.map(time::text),
    }
}

/// Asks PayPal for the approval behind `row` (its authorization if it has one, else the order).
pub(crate) async fn paypal_live(
    client: &paypal::PaypalClient,
    row: &InvoiceRow,
) -> Result<Option<PaypalLiveView>, DeskError> {
    let Some(pp) = &row.paypal else { return Ok(None) };
    if let Some(auth_id) = &pp.authorization_id {
        let a = client.get_authorization(auth_id).await?;
        // The authorization's captures are listed under its order.
        let captures = match client.get_order(&pp.order_id).await {
            Ok(o) => {
                o.captures().filter(|c| c.authorization_id().as_deref() == Some(auth_id)).map(capture_view).collect()
            }
            Err(_) => Vec::new(),
        };
        return Ok(Some(PaypalLiveView {
            kind: "authorization".into(),
            id: a.id.clone().unwrap_or_else(|| auth_id.clone()),
            status: a.status.map_or("", |s| s.as_str()).to_owned(),
            amount: a.amount.map(|m| m.to_paypal_string()),
            currency: a.amount.map(|m| m.currency().code().to_owned()),
            expires_at: a.expiration_time.map(time::text),
            captures,
        }));
    }
    let o = client.get_order(&pp.order_id).await?;
    let unit = o.purchase_units.first();
    Ok(Some(PaypalLiveView {
        kind: "order".into(),
        id: o.id.clone().unwrap_or_else(|| pp.order_id.clone()),
        status: o.status.map_or("", |s| s.as_str()).to_owned(),
        amount: unit.and_then(|u| u.amount).map(|m| m.to_paypal_string()),
        currency: unit.and_then(|u| u.amount).map(|m| m.currency().code().to_owned()),
        expires_at: None,
        captures: o.captures().map(capture_view).collect(),
    }))
}
