//! The gateway's steps: part-process, finalize, and the full wallet payment.

use super::engine::{cur, money_of, Engine, Flow};
use super::journal::{self, Entry, State};
use super::result::Step;
use super::wallet_lease;
use crate::{DeskError, ErrorCode};
use gateway::{GatewayError, WalletPart};
use money::{Currency, Money};
use serde_json::value::RawValue;

/// Why an attempt stays `planned` when its run lost the wallet lease during part-process.
const LEASE_LOST: &str =
    "wallet_lease_lost: another run took the customer's wallet over during part-process; nothing moved, resume to retry";

/// Why a capture cannot go through PayPal when part-process says `eligibleForPayment: false`.
pub(super) fn not_eligible(currency: Currency) -> String {
    if currency.paypal_supported() {
        "the gateway does not allow a PayPal payment for this invoice (it switched PayPal payments off for it)".into()
    } else {
        format!(
            "the gateway does not allow a PayPal payment for this invoice (PayPal does not take {})",
            currency.code()
        )
    }
}

impl Engine<'_> {
    // ------------------------------------------------------------------------------------------
    // planned → part_processed (or wallet_pay_sent, or rejected)

    pub(super) async fn part_process(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let currency = cur(&e.currency)?;
        let outstanding = money_of(&e.outstanding, &e.currency)?;
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::PartProcess, e.id)?;
        let answer = self.gateway.part_process(no, currency).await;
        self.check_after(Step::PartProcess, e.id)?;
        let part = match answer {
            Ok(p) => {
                if p.currency_paid != currency || p.charge_total.currency() != currency {
                    return self
                        .reject(
                            e,
                            format!(
                                "the gateway prepared the payment in {}, the invoice is in {}",
                                p.currency_paid, currency
                            ),
                        )
                        .await;
                }
                if !p.eligible_for_payment {
                    // The gateway would refuse the finalization ("Payment method is disabled")
                    // after PayPal captured: refuse now, before any PayPal call.
                    e.last_error = Some("part-process: eligibleForPayment is false".into());
                    return self.reject(e, format!("{}; nothing was captured", not_eligible(currency))).await;
                }
                if p.wallet_part.charge_total_before != outstanding.amount() {
                    return self
                        .reject(
                            e,
                            format!(
                                "the gateway's outstanding total ({}) differs from ours ({}); sync and try again",
                                p.wallet_part.charge_total_before, outstanding
                            ),
                        )
                        .await;
                }
                (p.wallet_part, p.charge_total)
            }
            Err(GatewayError::WalletNotFound) => (WalletPart::none(outstanding), outstanding),
            Err(GatewayError::WalletBalanceTooHigh) => {
                if !wallet_lease::confirm(self.pool, e.id).await? {
                    return self.wait(e, LEASE_LOST).await;
                }
                e.path = super::journal::CapturePath::Wallet;
                e.paypal_amount = Some(Money::zero(currency).to_paypal_string());
                self.to(e, State::WalletPaySent).await?;
                return Ok(Flow::Continue);
            }
            Err(GatewayError::InvoiceAlreadyPaid) => {
                journal::mark_invoice_paid(self.pool, e.invoice_no, &e.currency).await?;
                return self.reject(e, "the invoice is already paid at the gateway").await;
            }
            Err(err) if err.is_transient() || err.is_offline() => {
                return self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err) => return self.reject(e, format!("the gateway refused to prepare the payment: {err}")).await,
        };
        let (wallet, charge_total) = part;
        let in_invoice =
            outstanding.checked_sub(charge_total).ok_or_else(|| DeskError::internal("currency mismatch"))?;
        if in_invoice.is_negative() {
            return self
                .reject(e, format!("the PayPal part {charge_total} is more than the outstanding {outstanding}"))
                .await;
        }
        e.wallet_part_json = Some(wallet.raw.get().to_owned());
        e.wallet_currency = Some(wallet.currency.code().to_owned());
        e.wallet_amount = Some(wallet.charge_total_current.to_paypal_string());
        e.exchange_rate = Some(wallet.exchange_rate.normalize().to_string());
        e.wallet_in_invoice_currency = Some(in_invoice.to_paypal_string());
        e.paypal_amount = Some(charge_total.to_paypal_string());
        if !wallet_lease::confirm(self.pool, e.id).await? {
            return self.wait(e, LEASE_LOST).await;
        }
        e.last_error = None;
        self.to(e, State::PartProcessed).await?;
        Ok(Flow::Continue)
    }

    // ------------------------------------------------------------------------------------------
    // finalize_sent → finalized (or needs_attention); unknown outcome waits

    /// Is `payment_id` among the invoice's payments at the gateway? `None`: cannot tell now.
    async fn gateway_has_payment(
        &self,
        e: &mut Entry,
        payment_id: Option<&str>,
    ) -> Result<Option<(bool, gateway::Invoice)>, DeskError> {
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        match self.gateway.invoice(no).await {
            Ok(inv) => {
                let ours = payment_id.is_some_and(|p| inv.payments.iter().any(|x| x.payment_id == p));
                Ok(Some((ours, inv)))
            }
            Err(err) => {
                journal::note_failure(self.pool, e, &format!("{}: {}", err.code(), err.detail())).await?;
                Ok(None)
            }
        }
    }

    pub(super) async fn finalize(&self, e: &mut Entry, resumed: bool) -> Result<Flow, DeskError> {
        let Some(capture_id) = e.capture_id.clone() else {
            return self.attention(e, "the journal has no capture id to finalize").await;
        };
        if resumed {
            // The last send may have reached the gateway: look before sending again.
            match self.gateway_has_payment(e, Some(&capture_id)).await? {
                None => return Ok(Flow::Wait),
                Some((true, _)) => {
                    self.to(e, State::Finalized).await?;
                    return Ok(Flow::Continue);
                }
                Some((false, inv)) if inv.status != gateway::InvoiceStatus::Outstanding => {
                    return self
                        .attention(e, format!("PayPal captured {capture_id} but the invoice is already {} at the gateway by another payment; refund or reconcile", inv.status.as_str()))
                        .await
                }
                Some((false, _)) => {}
            }
        }
        let amount = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        let part_json = e.wallet_part_json.clone().unwrap_or_default();
        let raw = RawValue::from_string(part_json)
            .map_err(|err| DeskError::storage(format!("journal {}: wallet part: {err}", e.id)))?;
        let wallet = WalletPart {
            raw,
            currency: cur(e.wallet_currency.as_deref().unwrap_or(&e.currency))?,
            exchange_rate: money::parse_decimal_text(e.exchange_rate.as_deref().unwrap_or("1"))
                .unwrap_or(rust_decimal::Decimal::ONE),
            charge_total_before: money_of(&e.outstanding, &e.currency)?.amount(),
            charge_total_current: money_of(
                e.wallet_amount.as_deref().unwrap_or("0"),
                e.wallet_currency.as_deref().unwrap_or(&e.currency),
            )?,
        };
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::Finalize, e.id)?;
        let result = self.gateway.finalize_paypal_capture(no, amount, &capture_id, &wallet).await;
        self.check_after(Step::Finalize, e.id)?;
        match result {
            Ok(_) => {
                e.last_error = None;
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            Err(GatewayError::BadInvoice) | Err(GatewayError::InvoiceAlreadyPaid) => match self.gateway_has_payment(e, Some(&capture_id)).await? {
                None => Ok(Flow::Wait),
                Some((true, _)) => {
                    self.to(e, State::Finalized).await?;
                    Ok(Flow::Continue)
                }
                Some((false, inv)) => {
                    self.attention(
                        e,
                        format!(
                            "PayPal captured {amount} ({capture_id}) but the gateway refuses the invoice (it is {}, paid by {}); refund or reconcile",
                            inv.status.as_str(),
                            inv.payments.iter().map(|p| p.payment_id.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .await
                }
            },
            Err(err) if err.is_transient() || err.is_offline() || matches!(err, GatewayError::InvalidResponse { .. }) => {
                // Unknown: the next resume reads the invoice before sending again.
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err @ (GatewayError::Unauthorized { .. } | GatewayError::Forbidden { .. })) => {
                // Our credentials (or the traffic guard) stopped it, not the invoice: the attempt
                // stays open and is finalized when it resumes with working credentials.
                self.credentials_stop(e, amount, &capture_id, err).await
            }
            Err(GatewayError::InvalidAmount) => {
                let why = self.invalid_amount_words(e).await?;
                e.last_error = Some(format!("{}: {}", GatewayError::InvalidAmount.code(), GatewayError::InvalidAmount.detail()));
                self.attention(
                    e,
                    format!(
                        "PayPal captured {amount} ({capture_id}) but the gateway refused to finalize the invoice (Invalid Amount): {why}. \
                         To resolve it, refund the PayPal capture {capture_id} and capture the invoice again, \
                         or record the payment at the gateway by hand and reconcile the customer's wallet"
                    ),
                )
                .await
            }
            Err(err) => {
                e.last_error = Some(format!("{}: {}", err.code(), err.detail()));
                self.attention(e, format!("PayPal captured {amount} ({capture_id}) but the gateway refused to finalize: {err}")).await
            }
        }
    }

    /// A finalization stopped by our credentials (401) or the gateway's traffic guard (403):
    /// journaled, and told to the caller as an error; the attempt stays `finalize_sent`.
    async fn credentials_stop(
        &self,
        e: &mut Entry,
        amount: Money,
        capture_id: &str,
        err: GatewayError,
    ) -> Result<Flow, DeskError> {
        journal::note_failure(self.pool, e, &format!("{}: {}", err.code(), err.detail())).await?;
        let what = match err {
            GatewayError::Forbidden { .. } => {
                "the gateway's traffic guard blocked the finalization. Try again later, or ask IT to let Capture Desk through"
            }
            _ => "the gateway refused our staff token when finalizing. Check the gateway token in Settings",
        };
        Err(DeskError::new(
            ErrorCode::GatewayUnauthorized,
            format!(
                "PayPal captured {amount} ({capture_id}), but {what}; the invoice is finalized when this capture resumes \
                 (nothing is captured again)."
            ),
        )
        .with_detail(format!(
            "journal {} waits in finalize_sent: {}: {}",
            e.id,
            err.code(),
            err.detail()
        )))
    }

    /// Why the gateway refused the amount, read from its invoice now (the wallet, most often).
    async fn invalid_amount_words(&self, e: &mut Entry) -> Result<String, DeskError> {
        let generic = "the gateway expects another amount for this invoice now (its outstanding total, the customer's \
                       wallet or the exchange rate changed since part-process)";
        let promised = match (e.wallet_amount.as_deref(), e.wallet_currency.as_deref()) {
            (Some(a), Some(c)) => money_of(a, c).ok().filter(|m| !m.is_zero()),
            _ => None,
        };
        let Some(promised) = promised else {
            return Ok(generic.to_owned());
        };
        let Some((_, inv)) = self.gateway_has_payment(e, None).await? else {
            return Ok(format!(
                "part-process set {promised} of the customer's wallet aside for this invoice, and the gateway most likely \
                 finds less in the wallet now (another payment drew on it meanwhile)"
            ));
        };
        let now = inv.wallet.as_ref().and_then(|w| w.money());
        Ok(match now {
            Some(held) if held.currency() == promised.currency() && held.amount() < promised.amount() => format!(
                "the customer's wallet no longer holds the {promised} that part-process set aside for this invoice \
                 (it holds {held} now): another payment drew on the same wallet meanwhile, probably from another Capture Desk"
            ),
            None if inv.wallet.is_none() => format!(
                "the customer's wallet, from which part-process set {promised} aside for this invoice, is gone at the gateway"
            ),
            _ => generic.to_owned(),
        })
    }

    // ------------------------------------------------------------------------------------------
    // wallet_pay_sent → finalized (or rejected); unknown outcome waits

    pub(super) async fn wallet_pay(&self, e: &mut Entry, resumed: bool) -> Result<Flow, DeskError> {
        if resumed {
            match self.gateway_has_payment(e, None).await? {
                None => return Ok(Flow::Wait),
                Some((_, inv))
                    if inv.status == gateway::InvoiceStatus::Paid
                        && inv.payments.iter().any(|p| p.method == "wallet") =>
                {
                    let outstanding = money_of(&e.outstanding, &e.currency)?;
                    let amount = inv
                        .payments
                        .iter()
                        .rfind(|p| p.method == "wallet" && p.amount.currency() == outstanding.currency())
                        .map_or(outstanding, |p| p.amount);
                    record_wallet_payment(e, amount);
                    self.to(e, State::Finalized).await?;
                    return Ok(Flow::Continue);
                }
                Some((_, inv)) if inv.status != gateway::InvoiceStatus::Outstanding => {
                    journal::mark_invoice_paid(self.pool, e.invoice_no, &e.currency).await?;
                    return self
                        .reject(e, format!("the invoice is already {} at the gateway", inv.status.as_str()))
                        .await;
                }
                Some(_) => {}
            }
        }
        let currency = cur(&e.currency)?;
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::WalletPay, e.id)?;
        let result = self.gateway.pay_from_wallet(no, currency).await;
        self.check_after(Step::WalletPay, e.id)?;
        match result {
            Ok(paid) => {
                let outstanding = money_of(&e.outstanding, &e.currency)?;
                let amount = Money::new(paid.amount, currency).ok().filter(|m| !m.is_zero()).unwrap_or(outstanding);
                record_wallet_payment(e, amount);
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            Err(GatewayError::InvoiceAlreadyPaid) => {
                journal::mark_invoice_paid(self.pool, e.invoice_no, &e.currency).await?;
                self.reject(e, "the invoice is already paid at the gateway").await
            }
            Err(err)
                if err.is_transient() || err.is_offline() || matches!(err, GatewayError::InvalidResponse { .. }) =>
            {
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err) => self.reject(e, format!("the wallet payment was refused: {err}")).await,
        }
    }
}

/// The full wallet payment, journaled as what the gateway's answer states: the amount paid in
/// the **invoice's** currency, with that currency (the answer of `pay` gives no wallet-currency
/// figure or rate). `wallet_amount` is always in `wallet_currency`, on both paths.
fn record_wallet_payment(e: &mut Entry, amount: Money) {
    let text = amount.to_decimal_string();
    e.wallet_amount = Some(text.clone());
    e.wallet_currency = Some(amount.currency().code().to_owned());
    e.wallet_in_invoice_currency = Some(text);
    e.exchange_rate = None;
}
