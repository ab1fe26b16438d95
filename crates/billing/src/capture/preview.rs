//! What a capture would do, shown before anything moves.

use super::engine::{cur, money_of, Engine};
use crate::{invoices, DeskError, ErrorCode};
use gateway::GatewayError;
use money::Money;
use paypal::{AuthorizationStatus, OrderStatus};
use serde::Serialize;
use ts_rs::TS;

/// The wallet part of a part-payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct WalletPartView {
    /// In the wallet's currency.
    pub amount: String,
    pub currency: String,
    /// Invoice-currency units per wallet unit.
    pub exchange_rate: String,
    /// The wallet part in the invoice's currency (rounded half-even).
    pub in_invoice_currency: String,
}

/// What the customer approved at PayPal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ApprovalView {
    pub intent: String,
    pub order_id: String,
    pub authorization_id: Option<String>,
    pub status: String,
    pub amount: String,
    pub currency: String,
}

/// The breakdown shown before a capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CapturePreview {
    #[ts(type = "number")]
    pub invoice_no: i64,
    pub customer_name: String,
    pub environment: String,
    pub currency: String,
    pub outstanding: String,
    /// `paypal` (wallet part + PayPal part) or `wallet` (the wallet pays everything).
    pub path: String,
    pub wallet: Option<WalletPartView>,
    /// What PayPal must capture, in the invoice's currency.
    pub paypal_amount: String,
    pub approval: Option<ApprovalView>,
    /// The approval matches the PayPal part and can be captured.
    pub ready: bool,
    /// Everything that stops the capture, for a clerk.
    pub problems: Vec<String>,
}

impl Engine<'_> {
    // preview

    /// The breakdown for one invoice, read from the gateway and PayPal; moves nothing.
    pub async fn preview(&self, invoice_no: i64) -> Result<CapturePreview, DeskError> {
        let inv = invoices::get(self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })?;
        let currency = cur(&inv.currency)?;
        let outstanding = money_of(&inv.outstanding, &inv.currency)?;
        let mut problems = Vec::new();
        let mut p = CapturePreview {
            invoice_no,
            customer_name: inv.customer_name.clone(),
            environment: self.environment.as_str().to_owned(),
            currency: inv.currency.clone(),
            outstanding: inv.outstanding.clone(),
            path: "paypal".into(),
            wallet: None,
            paypal_amount: inv.outstanding.clone(),
            approval: None,
            ready: false,
            problems: Vec::new(),
        };
        if inv.status != "outstanding" {
            problems.push(format!("The invoice is {}, not outstanding.", inv.status));
            p.problems = problems;
            return Ok(p);
        }
        let no = u64::try_from(invoice_no).map_err(DeskError::internal)?;
        let charge_total = match self.gateway.part_process(no, currency).await {
            Ok(pp) => {
                let in_invoice = outstanding.checked_sub(pp.charge_total).unwrap_or(outstanding);
                p.wallet = Some(WalletPartView {
                    amount: pp.wallet_part.charge_total_current.to_paypal_string(),
                    currency: pp.wallet_part.currency.code().to_owned(),
                    exchange_rate: pp.wallet_part.exchange_rate.normalize().to_string(),
                    in_invoice_currency: in_invoice.to_paypal_string(),
                });
                if pp.wallet_part.charge_total_before != outstanding.amount() {
                    problems.push(format!(
                        "The gateway's outstanding total ({}) differs from the cached one ({outstanding}); sync first.",
                        pp.wallet_part.charge_total_before
                    ));
                }
                Some(pp.charge_total)
            }
            Err(GatewayError::WalletNotFound) => Some(outstanding),
            Err(GatewayError::WalletBalanceTooHigh) => {
                p.path = "wallet".into();
                p.paypal_amount = Money::zero(currency).to_paypal_string();
                None
            }
            Err(err) => {
                problems.push(DeskError::from(err).message);
                None
            }
        };
        if let Some(ct) = charge_total {
            p.paypal_amount = ct.to_paypal_string();
            match inv.paypal.as_ref() {
                None => problems.push("The customer has no approved PayPal payment for this invoice.".into()),
                Some(a) if a.intent == "AUTHORIZE" => {
                    match self.paypal.get_authorization(a.authorization_id.as_deref().unwrap_or_default()).await {
                        Ok(auth) => {
                            p.approval = Some(ApprovalView {
                                intent: a.intent.clone(),
                                order_id: a.order_id.clone(),
                                authorization_id: a.authorization_id.clone(),
                                status: auth.status.as_str().to_owned(),
                                amount: auth.amount.to_paypal_string(),
                                currency: auth.amount.currency().code().to_owned(),
                            });
                            if !matches!(
                                auth.status,
                                AuthorizationStatus::Created
                                    | AuthorizationStatus::PartiallyCaptured
                                    | AuthorizationStatus::Captured
                            ) {
                                problems.push(format!(
                                    "The PayPal authorization is {:?}; the customer must pay again.",
                                    auth.status
                                ));
                            } else if auth.amount.currency() != ct.currency() || auth.amount.amount() < ct.amount() {
                                problems.push(format!(
                                    "The customer authorized {} but the PayPal part is {ct}.",
                                    auth.amount
                                ));
                            }
                        }
                        Err(err) => problems.push(DeskError::from(err).message),
                    }
                }
                Some(a) => match self.paypal.get_order(&a.order_id).await {
                    Ok(order) => {
                        let amount = order.purchase_units.first().map(|u| u.amount);
                        p.approval = Some(ApprovalView {
                            intent: a.intent.clone(),
                            order_id: a.order_id.clone(),
                            authorization_id: None,
                            status: order.status.as_str().to_owned(),
                            amount: amount.map(|m| m.to_paypal_string()).unwrap_or_default(),
                            currency: amount.map(|m| m.currency().code().to_owned()).unwrap_or_default(),
                        });
                        match order.status {
                            OrderStatus::Approved => {}
                            // captured already: the capture adopts it
                            OrderStatus::Completed if order.captures().next().is_some() => {}
                            OrderStatus::Completed => problems.push(
                                "The PayPal order is completed but holds no capture; it cannot be captured.".into(),
                            ),
                            OrderStatus::Voided => {
                                problems.push("The PayPal order was voided; the customer must pay again.".into())
                            }
                            _ => problems.push("The customer has not approved the PayPal payment yet.".into()),
                        }
                        if amount != Some(ct) && order.status == OrderStatus::Approved {
                            problems.push(format!(
                                "The customer approved {} at PayPal but the PayPal part is {ct}.",
                                amount.map_or_else(|| "nothing".to_owned(), |m| m.to_string())
                            ));
                        }
                    }
                    Err(err) => problems.push(DeskError::from(err).message),
                },
            }
        }
        p.ready = problems.is_empty();
        p.problems = problems;
        Ok(p)
    }
}
