//! What a capture would do, shown before anything moves.

use super::engine::{cur, money_of, Engine};
use super::gateway_steps::not_eligible;
use super::wallet_lease;
use super::words::CapturePath;
use crate::invoices::InvoiceStatus;
use crate::{invoices, DeskError, ErrorCode};
use gateway::GatewayError;
use money::Money;
use paypal::{Authorization, AuthorizationStatus, CaptureStatus, Order, OrderStatus};
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
    pub path: CapturePath,
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
            path: CapturePath::Paypal,
            wallet: None,
            paypal_amount: inv.outstanding.clone(),
            approval: None,
            ready: false,
            problems: Vec::new(),
        };
        if inv.status != InvoiceStatus::Outstanding {
            problems.push(format!("The invoice is {}, not outstanding.", inv.status));
            p.problems = problems;
            return Ok(p);
        }
        // Another open attempt on the same customer's wallet (wallet_lease.rs): part-process would
        // promise this one the wallet that attempt is about to debit.
        if let Some(busy) = self.wallet_in_use(invoice_no, &inv.customer_id).await? {
            problems.push(busy);
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
                p.paypal_amount = pp.charge_total.to_paypal_string();
                if pp.eligible_for_payment {
                    Some(pp.charge_total)
                } else {
                    // the engine refuses it right after part-process: no PayPal call
                    problems.push(format!("{}; it cannot be captured.", capitalized(&not_eligible(currency))));
                    None
                }
            }
            Err(GatewayError::WalletNotFound) => Some(outstanding),
            Err(GatewayError::WalletBalanceTooHigh) => {
                p.path = CapturePath::Wallet;
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
                                status: auth.status.map(|s| s.as_str()).unwrap_or_default().to_owned(),
                                amount: auth.amount.map(|m| m.to_paypal_string()).unwrap_or_default(),
                                currency: auth.amount.map(|m| m.currency().code().to_owned()).unwrap_or_default(),
                            });
                            if let Some(problem) = authorization_problem(&auth, ct) {
                                problems.push(problem);
                            }
                        }
                        Err(err) => problems.push(DeskError::from(err).message),
                    }
                }
                Some(a) => match self.paypal.get_order(&a.order_id).await {
                    Ok(order) => {
                        let amount = order.amount();
                        p.approval = Some(ApprovalView {
                            intent: a.intent.clone(),
                            order_id: a.order_id.clone(),
                            authorization_id: None,
                            status: order.status.map(|s| s.as_str()).unwrap_or_default().to_owned(),
                            amount: amount.map(|m| m.to_paypal_string()).unwrap_or_default(),
                            currency: amount.map(|m| m.currency().code().to_owned()).unwrap_or_default(),
                        });
                        match order.status {
                            Some(OrderStatus::Approved) => {}
                            Some(OrderStatus::Completed) => {
                                if let Some(problem) = completed_order_problem(&order) {
                                    problems.push(problem);
                                }
                            }
                            Some(OrderStatus::Voided) => {
                                problems.push("The PayPal order was voided; the customer must pay again.".into())
                            }
                            None => problems
                                .push("PayPal did not say where the order stands; check it before capturing.".into()),
                            Some(_) => problems.push("The customer has not approved the PayPal payment yet.".into()),
                        }
                        if amount != Some(ct) && order.status == Some(OrderStatus::Approved) {
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

impl Engine<'_> {
    /// Says so when another open attempt holds `customer_id`'s wallet: one past part-process
    /// (its promise), or a run holding the wallet's lease right now.
    async fn wallet_in_use(&self, invoice_no: i64, customer_id: &str) -> Result<Option<String>, DeskError> {
        if let Some(p) = wallet_lease::promised_elsewhere(self.pool, customer_id, invoice_no).await? {
            return Ok(Some(format!(
                "{}. Until then this invoice is not captured, and the wallet part shown here may change.",
                capitalized(&wallet_lease::promise_words(&p))
            )));
        }
        let held = wallet_lease::holder(self.pool, &wallet_lease::wallet_key(customer_id)).await?;
        Ok(held.filter(|h| h.invoice_no != invoice_no).map(|h| {
            format!(
                "{}. This capture waits for it, and the wallet part shown here may change.",
                capitalized(&wallet_lease::running_words(&h))
            )
        }))
    }
}

/// What stops the capture of the PayPal part `ct` from this authorization, if anything.
fn authorization_problem(auth: &Authorization, ct: Money) -> Option<String> {
    use AuthorizationStatus as S;
    let Some(status) = auth.status else {
        return Some("PayPal did not say where the authorization stands; check it before capturing.".into());
    };
    if !matches!(status, S::Created | S::PartiallyCaptured | S::Captured) {
        return Some(format!("The PayPal authorization is {}; the customer must pay again.", status.words()));
    }
    // PayPal's schema has no EXPIRED: an authorization past its validity keeps its status
    // (by this machine's clock; the capture itself is refused as expired either way)
    if status != S::Captured && auth.expiration_time.is_some_and(|t| t <= chrono::Utc::now()) {
        return Some("The PayPal authorization has expired; the customer must pay again.".into());
    }
    let Some(amount) = auth.amount else {
        return Some(format!(
            "PayPal did not say how much the customer authorized (the authorization is {}); check it before capturing.",
            status.words()
        ));
    };
    (amount.currency() != ct.currency() || amount.amount() < ct.amount())
        .then(|| format!("The customer authorized {amount} but the PayPal part is {ct}."))
}

/// A COMPLETED order can only be adopted: what stops that, if anything.
fn completed_order_problem(order: &Order) -> Option<String> {
    let mut captures = order.captures().peekable();
    if captures.peek().is_none() {
        return Some("The PayPal order is completed but holds no capture; it cannot be captured.".into());
    }
    // adoption takes a capture that went through; declined and failed ones moved no money
    let usable = order.captures().any(|c| !matches!(c.status, Some(CaptureStatus::Declined | CaptureStatus::Failed)));
    if usable {
        return None;
    }
    Some("PayPal declined the capture of this order; nothing was paid, and the customer must pay again.".into())
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
