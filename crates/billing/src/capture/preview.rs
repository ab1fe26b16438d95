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

/// One thing the reads before a capture found, with its data: the preview shows the blocking
/// ones as sentences ([`Finding::problem`]); a batch preflight turns them into verdicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The (cached) invoice is not outstanding.
    NotOutstanding(InvoiceStatus),
    /// Another open attempt holds the customer's wallet (the sentence says which).
    WalletInUse(String),
    /// Part-process's outstanding total differs from the cached one.
    OutstandingDiffers {
        gateway: rust_decimal::Decimal,
        cached: Money,
    },
    /// The gateway does not allow a PayPal payment for this invoice.
    NotEligible(money::Currency),
    /// Part-process failed (`paid`: the gateway said the invoice is already paid).
    GatewayFailed {
        error: DeskError,
        paid: bool,
    },
    /// The cache holds no PayPal approval for the invoice.
    NoApproval,
    /// Reading the order or authorization at PayPal failed.
    PaypalFailed(DeskError),
    AuthorizationStatusUnknown,
    /// The authorization can no longer be captured (voided, denied, pending, ...).
    AuthorizationNotCapturable(AuthorizationStatus),
    /// Past its expiration time (by this machine's clock).
    AuthorizationExpired,
    AuthorizationAmountUnknown(AuthorizationStatus),
    AuthorizationAmountDiffers {
        authorized: Money,
        paypal_part: Money,
    },
    /// Capturable, but it expires within 24 hours (no preview problem).
    AuthorizationExpiringSoon {
        expires: chrono::DateTime<chrono::Utc>,
    },
    /// Capturable, but past its 3-day honour period (no preview problem).
    HonourPeriodPassed {
        ended: chrono::DateTime<chrono::Utc>,
    },
    OrderCompletedWithoutCapture,
    OrderCaptureDeclined,
    OrderVoided,
    OrderStatusUnknown,
    OrderNotApproved,
    OrderAmountDiffers {
        approved: Option<Money>,
        paypal_part: Money,
    },
}

/// PayPal's authorizations are valid 29 days, with a 3-day honour period from their creation.
const AUTHORIZATION_DAYS: i64 = 29;
const HONOUR_DAYS: i64 = 3;

impl Finding {
    /// The sentence the preview shows for it; `None` for what does not stop a capture.
    pub fn problem(&self) -> Option<String> {
        use Finding as F;
        Some(match self {
            F::NotOutstanding(status) => format!("The invoice is {status}, not outstanding."),
            F::WalletInUse(words) => words.clone(),
            F::OutstandingDiffers { gateway, cached } => format!(
                "The gateway's outstanding total ({gateway}) differs from the cached one ({cached}); sync first."
            ),
            F::NotEligible(currency) => format!("{}; it cannot be captured.", capitalized(&not_eligible(*currency))),
            F::GatewayFailed { error, .. } | F::PaypalFailed(error) => error.message.clone(),
            F::NoApproval => "The customer has no approved PayPal payment for this invoice.".into(),
            F::AuthorizationStatusUnknown => {
                "PayPal did not say where the authorization stands; check it before capturing.".into()
            }
            F::AuthorizationNotCapturable(status) => {
                format!("The PayPal authorization is {}; the customer must pay again.", status.words())
            }
            F::AuthorizationExpired => "The PayPal authorization has expired; the customer must pay again.".into(),
            F::AuthorizationAmountUnknown(status) => format!(
                "PayPal did not say how much the customer authorized (the authorization is {}); check it before capturing.",
                status.words()
            ),
            F::AuthorizationAmountDiffers { authorized, paypal_part } => {
                format!("The customer authorized {authorized} but the PayPal part is {paypal_part}.")
            }
            F::AuthorizationExpiringSoon { .. } | F::HonourPeriodPassed { .. } => return None,
            F::OrderCompletedWithoutCapture => {
                "The PayPal order is completed but holds no capture; it cannot be captured.".into()
            }
            F::OrderCaptureDeclined => {
                "PayPal declined the capture of this order; nothing was paid, and the customer must pay again.".into()
            }
            F::OrderVoided => "The PayPal order was voided; the customer must pay again.".into(),
            F::OrderStatusUnknown => "PayPal did not say where the order stands; check it before capturing.".into(),
            F::OrderNotApproved => "The customer has not approved the PayPal payment yet.".into(),
            F::OrderAmountDiffers { approved, paypal_part } => format!(
                "The customer approved {} but the PayPal part is {paypal_part}.",
                approved.map_or_else(|| "nothing".to_owned(), |m| m.to_string())
            ),
        })
    }
}

/// What the reads before a capture found: the breakdown (its `problems` and `ready` not yet
/// filled) and every finding, in the order they were found.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub preview: CapturePreview,
    pub findings: Vec<Finding>,
    /// The cached invoice it was made from.
    pub invoice: invoices::InvoiceRow,
}

impl Assessment {
    /// The preview as the clerk sees it: the blocking findings as sentences.
    pub fn into_preview(self) -> CapturePreview {
        let mut p = self.preview;
        p.problems = self.findings.iter().filter_map(Finding::problem).collect();
        p.ready = p.problems.is_empty();
        p
    }
}

impl Engine<'_> {
    // preview

    /// The breakdown for one invoice, read from the gateway and PayPal; moves nothing.
    pub async fn preview(&self, invoice_no: i64) -> Result<CapturePreview, DeskError> {
        Ok(self.assess(invoice_no).await?.into_preview())
    }

    /// The reads of [`Engine::preview`] for the cached invoice `invoice_no`, as findings.
    /// Calls part-process (which reserves nothing: the gateway debits a wallet only at
    /// finalization) and reads the order or authorization at PayPal; moves nothing.
    pub async fn assess(&self, invoice_no: i64) -> Result<Assessment, DeskError> {
        let inv = invoices::get(self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })?;
        let currency = cur(&inv.currency)?;
        let outstanding = money_of(&inv.outstanding, &inv.currency)?;
        let mut found = Vec::new();
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
            found.push(Finding::NotOutstanding(inv.status));
            return Ok(Assessment { preview: p, findings: found, invoice: inv });
        }
        // Another open attempt on the same customer's wallet (wallet_lease.rs): part-process would
        // promise this one the wallet that attempt is about to debit.
        if let Some(busy) = self.wallet_in_use(invoice_no, &inv.customer_id).await? {
            found.push(Finding::WalletInUse(busy));
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
                    found.push(Finding::OutstandingDiffers {
                        gateway: pp.wallet_part.charge_total_before,
                        cached: outstanding,
                    });
                }
                p.paypal_amount = pp.charge_total.to_paypal_string();
                if pp.eligible_for_payment {
                    Some(pp.charge_total)
                } else {
                    // the engine refuses it right after part-process: no PayPal call
                    found.push(Finding::NotEligible(currency));
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
                let paid = matches!(err, GatewayError::InvoiceAlreadyPaid);
                found.push(Finding::GatewayFailed { error: DeskError::from(err), paid });
                None
            }
        };
        if let Some(ct) = charge_total {
            p.paypal_amount = ct.to_paypal_string();
            match inv.paypal.as_ref() {
                None => found.push(Finding::NoApproval),
                Some(a) if a.intent == "AUTHORIZE" => {
                    // the one a capture would take: a reauthorization the desk has, else the gateway's
                    let authorization_id = match a.authorization_id.as_deref() {
                        Some(id) => Some(super::reauthorize::to_capture(self.pool, id).await?),
                        None => None,
                    };
                    match self.paypal.get_authorization(authorization_id.as_deref().unwrap_or_default()).await {
                        Ok(auth) => {
                            p.approval = Some(ApprovalView {
                                intent: a.intent.clone(),
                                order_id: a.order_id.clone(),
                                authorization_id: authorization_id.clone(),
                                status: auth.status.map(|s| s.as_str()).unwrap_or_default().to_owned(),
                                amount: auth.amount.map(|m| m.to_paypal_string()).unwrap_or_default(),
                                currency: auth.amount.map(|m| m.currency().code().to_owned()).unwrap_or_default(),
                            });
                            found.extend(authorization_finding(&auth, ct));
                        }
                        Err(err) => found.push(Finding::PaypalFailed(DeskError::from(err))),
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
                            Some(OrderStatus::Completed) => found.extend(completed_order_finding(&order)),
                            Some(OrderStatus::Voided) => found.push(Finding::OrderVoided),
                            None => found.push(Finding::OrderStatusUnknown),
                            Some(_) => found.push(Finding::OrderNotApproved),
                        }
                        if amount != Some(ct) && order.status == Some(OrderStatus::Approved) {
                            found.push(Finding::OrderAmountDiffers { approved: amount, paypal_part: ct });
                        }
                    }
                    Err(err) => found.push(Finding::PaypalFailed(DeskError::from(err))),
                },
            }
        }
        Ok(Assessment { preview: p, findings: found, invoice: inv })
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

/// What stops the capture of the PayPal part `ct` from this authorization, if anything; else
/// whether it expires within 24 hours or is past its honour period.
fn authorization_finding(auth: &Authorization, ct: Money) -> Option<Finding> {
    use AuthorizationStatus as S;
    let Some(status) = auth.status else {
        return Some(Finding::AuthorizationStatusUnknown);
    };
    if !matches!(status, S::Created | S::PartiallyCaptured | S::Captured) {
        return Some(Finding::AuthorizationNotCapturable(status));
    }
    // PayPal's schema has no EXPIRED: an authorization past its validity keeps its status
    // (by this machine's clock; the capture itself is refused as expired either way)
    let now = chrono::Utc::now();
    if status != S::Captured && auth.expiration_time.is_some_and(|t| t <= now) {
        return Some(Finding::AuthorizationExpired);
    }
    let Some(amount) = auth.amount else {
        return Some(Finding::AuthorizationAmountUnknown(status));
    };
    if amount.currency() != ct.currency() || amount.amount() < ct.amount() {
        return Some(Finding::AuthorizationAmountDiffers { authorized: amount, paypal_part: ct });
    }
    let expires = auth.expiration_time.filter(|_| status != S::Captured)?;
    if expires - now <= chrono::Duration::hours(24) {
        return Some(Finding::AuthorizationExpiringSoon { expires });
    }
    // the honour period ends 3 days after the authorization was made; when its answer leaves
    // `create_time` out (no schema requires it), 3 of its 29 days in
    let ended = match auth.create_time {
        Some(created) => created + chrono::Duration::days(HONOUR_DAYS),
        None => expires - chrono::Duration::days(AUTHORIZATION_DAYS - HONOUR_DAYS),
    };
    (ended <= now).then_some(Finding::HonourPeriodPassed { ended })
}

/// A COMPLETED order can only be adopted: what stops that, if anything.
fn completed_order_finding(order: &Order) -> Option<Finding> {
    let mut captures = order.captures().peekable();
    if captures.peek().is_none() {
        return Some(Finding::OrderCompletedWithoutCapture);
    }
    // adoption takes a capture that went through; declined and failed ones moved no money
    let usable = order.captures().any(|c| !matches!(c.status, Some(CaptureStatus::Declined | CaptureStatus::Failed)));
    (!usable).then_some(Finding::OrderCaptureDeclined)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn auth(created_days_ago: Option<i64>, expires_in_days: i64) -> Authorization {
        let usd = money::Currency::from_code("USD").expect("USD");
        Authorization {
            id: Some("AUTH-1".into()),
            status: Some(AuthorizationStatus::Created),
            status_reason: None,
            amount: Some(Money::from_minor(10_000, usd)),
            invoice_id: None,
            custom_id: None,
            related: Default::default(),
            links: Vec::new(),
            expiration_time: Some(Utc::now() + Duration::days(expires_in_days)),
            create_time: created_days_ago.map(|d| Utc::now() - Duration::days(d)),
        }
    }

    fn honour_passed(a: &Authorization) -> bool {
        let usd = money::Currency::from_code("USD").expect("USD");
        matches!(authorization_finding(a, Money::from_minor(10_000, usd)), Some(Finding::HonourPeriodPassed { .. }))
    }

    #[test]
    fn the_honour_period_runs_three_days_from_the_authorizations_creation() {
        // made 4 days ago, valid 28 more days (a validity not counted from its creation):
        // past its honour period, though 29 − 3 days before its expiry is still ahead
        assert!(honour_passed(&auth(Some(4), 28)));
        // made yesterday, expiring in 10 days: within its honour period
        assert!(!honour_passed(&auth(Some(1), 10)));
        // without create_time (no schema requires it): 3 of its 29 days in
        assert!(honour_passed(&auth(None, 20)));
        assert!(!honour_passed(&auth(None, 27)));
    }
}
