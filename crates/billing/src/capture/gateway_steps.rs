//! The gateway's steps: part-process and finalize; the full wallet payment in `wallet_pay.rs`.

use super::engine::{cur, money_of, Engine, Flow};
use super::in_flight;
use super::journal::{self, Entry, State};
use super::result::Step;
use super::wallet_lease;
use crate::{DeskError, ErrorCode};
use gateway::{GatewayError, WalletPart};
use money::{Currency, Money};
use serde_json::value::RawValue;

mod wallet_pay;

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
            Err(refusal @ GatewayError::InvoiceAlreadyPaid) => {
                // the gateway says so of any invoice that takes no payment: its invoice says
                // which (paid, or cancelled); a read that fails or lags takes the refusal's word
                let refused = format!("{}: {}", refusal.code(), refusal.detail());
                let (status, read) = match self.gateway.invoice(no).await {
                    Ok(inv) if inv.status != gateway::InvoiceStatus::Outstanding => (inv.status, None),
                    Ok(_) => (gateway::InvoiceStatus::Paid, Some("the invoice read still outstanding".to_owned())),
                    Err(err) => (gateway::InvoiceStatus::Paid, Some(format!("{}: {}", err.code(), err.detail()))),
                };
                if let Some(read) = &read {
                    tracing::warn!(journal = e.id, invoice = e.invoice_no, read = %read, "taken as paid on the refusal's word");
                }
                e.last_error = Some(match read {
                    None => refused,
                    Some(read) => format!("{refused}; then {read}"),
                });
                journal::mark_invoice_settled(self.pool, e.invoice_no, &e.currency, status).await?;
                return self.reject(e, format!("the invoice is already {} at the gateway", status.as_str())).await;
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

    /// What the gateway's invoice says of `payment_id` now. An answer without its payments list
    /// cannot tell (GATEWAY-API.md gives the detail answer a `payments[]`; one without it is
    /// never read as "no payments").
    pub(super) async fn gateway_has_payment(&self, e: &Entry, payment_id: &str) -> Result<AtGateway, DeskError> {
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        Ok(match self.gateway.invoice(no).await {
            Ok(invoice) => match invoice.payments.as_deref() {
                Some(list) => AtGateway::Listed { ours: list.iter().any(|p| p.payment_id == payment_id), invoice: Box::new(invoice) },
                None => AtGateway::Unknown(format!(
                    "gateway_payments_missing: the gateway's invoice {no} came without its payments; cannot tell whether {payment_id} is among them"
                )),
            },
            Err(GatewayError::InvoiceNotFound) => AtGateway::NoInvoice,
            Err(err) => AtGateway::Unknown(format!("{}: {}", err.code(), err.detail())),
        })
    }

    pub(super) async fn finalize(&self, e: &mut Entry, resumed: bool) -> Result<Flow, DeskError> {
        let Some(capture_id) = e.capture_id.clone() else {
            return self.attention(e, "the journal has no capture id to finalize").await;
        };
        if resumed {
            // The last send may have reached the gateway: look before sending again. One that
            // may still be in flight (no answer, within the window) can land after this read:
            // until it cannot, only finding it decides (in_flight.rs).
            let open = in_flight::window(self.pool, e).await?.open();
            let found = self.gateway_has_payment(e, &capture_id).await?;
            if let (Some(remaining), AtGateway::NoInvoice | AtGateway::Listed { ours: false, .. }) = (open, &found) {
                return self.wait(e, &in_flight::waiting_words("finalization", remaining)).await;
            }
            match found {
                AtGateway::Unknown(why) => return self.wait(e, &why).await,
                AtGateway::Listed { ours: true, .. } => {
                    self.to(e, State::Finalized).await?;
                    return Ok(Flow::Continue);
                }
                AtGateway::NoInvoice => return self.wait(e, "invoice_not_found: invoice_not_found").await,
                AtGateway::Listed { invoice: inv, .. } if inv.status != gateway::InvoiceStatus::Outstanding => {
                    return self
                        .attention(e, format!("PayPal captured {capture_id} but the invoice is already {} at the gateway by another payment; refund or reconcile", inv.status.as_str()))
                        .await
                }
                AtGateway::Listed { .. } => {}
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
        // the pace's slot first: the request leaves right after the journal says it was sent
        let slot = self.gateway.slot().await;
        let sent_at = self.sending(e).await?;
        let result = self.gateway.finalize_paypal_capture(slot, no, amount, &capture_id, &wallet).await;
        self.check_after(Step::Finalize, e.id)?;
        if result.as_ref().err().is_none_or(in_flight::gateway_answered) {
            in_flight::mark_answered(self.pool, e, sent_at).await?;
        }
        match result {
            Ok(f) if f.says_success() => {
                e.last_error = None;
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            Ok(f) => self.finalize_unconfirmed(e, &capture_id, &f).await,
            Err(err)
                if err.is_transient() || err.is_offline() || matches!(err, GatewayError::InvalidResponse { .. }) =>
            {
                // Unknown: the next resume reads the invoice before sending again.
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err @ (GatewayError::Unauthorized { .. } | GatewayError::Forbidden { .. })) => {
                // Our credentials (or the traffic guard) stopped it, not the invoice: the attempt
                // stays open and is finalized when it resumes with working credentials.
                self.credentials_stop(e, amount, &capture_id, err).await
            }
            Err(err) => self.finalize_refused(e, amount, &capture_id, err).await,
        }
    }

    /// The gateway answered the finalization without saying `success` (another status, or
    /// none): not read as finalized on its word. Ours among the invoice's payments: finalized;
    /// otherwise the attempt waits, and its next run reads the payments before sending again.
    async fn finalize_unconfirmed(
        &self,
        e: &mut Entry,
        capture_id: &str,
        answer: &gateway::Finalized,
    ) -> Result<Flow, DeskError> {
        let said = format!(
            "gateway_finalize_unconfirmed: the finalization answered status {:?} ({:?})",
            answer.status.as_deref().unwrap_or("none"),
            answer.message
        );
        match self.gateway_has_payment(e, capture_id).await? {
            AtGateway::Listed { ours: true, .. } => {
                e.last_error = None;
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            AtGateway::Unknown(why) => self.wait(e, &format!("{said}; then {why}")).await,
            AtGateway::Listed { .. } | AtGateway::NoInvoice => {
                self.wait(e, &format!("{said}; {capture_id} is not among the invoice's payments")).await
            }
        }
    }

    /// The gateway refused a finalization. A finalization was sent (this one, or an earlier one
    /// whose answer was lost), so the gateway may hold the capture already and refuse this send
    /// for that very reason ("Bad Invoice", "Invalid Amount", an undocumented error after it
    /// acted): its invoice's payments decide. Ours among them: finalized; the payments cannot be
    /// read: the attempt waits (and its next run reads them before sending again); only a
    /// gateway that lists the invoice's payments without ours (or no longer knows the invoice)
    /// ends it `needs_attention`.
    async fn finalize_refused(
        &self,
        e: &mut Entry,
        amount: Money,
        capture_id: &str,
        err: GatewayError,
    ) -> Result<Flow, DeskError> {
        let refusal = format!("{}: {}", err.code(), err.detail());
        let invoice = match self.gateway_has_payment(e, capture_id).await? {
            AtGateway::Unknown(why) => return self.wait(e, &format!("{refusal}; then {why}")).await,
            AtGateway::Listed { ours: true, .. } => {
                e.last_error = None;
                self.to(e, State::Finalized).await?;
                return Ok(Flow::Continue);
            }
            AtGateway::Listed { invoice, .. } => Some(invoice),
            AtGateway::NoInvoice => None,
        };
        e.last_error = Some(refusal);
        let reason = match (&err, &invoice) {
            (GatewayError::BadInvoice | GatewayError::InvoiceAlreadyPaid, Some(inv)) => format!(
                "PayPal captured {amount} ({capture_id}) but the gateway refuses the invoice (it is {}, paid by {}); refund or reconcile",
                inv.status.as_str(),
                inv.payments.iter().flatten().map(|p| p.payment_id.as_str()).collect::<Vec<_>>().join(", ")
            ),
            (GatewayError::InvalidAmount, _) => format!(
                "PayPal captured {amount} ({capture_id}) but the gateway refused to finalize the invoice (Invalid Amount): {}. \
                 To resolve it, refund the PayPal capture {capture_id} and capture the invoice again, \
                 or record the payment at the gateway by hand and reconcile the customer's wallet",
                invalid_amount_words(e, invoice.as_deref())
            ),
            _ => format!("PayPal captured {amount} ({capture_id}) but the gateway refused to finalize: {err}"),
        };
        self.attention(e, reason).await
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
}

/// What the gateway's invoice says of a payment of ours.
pub(super) enum AtGateway {
    /// Cannot tell now (why): the invoice did not read, or its answer lists no payments.
    Unknown(String),
    /// The invoice lists its payments; ours is among them or not.
    Listed { ours: bool, invoice: Box<gateway::Invoice> },
    /// The gateway does not know the invoice (404 Invoice not found).
    NoInvoice,
}

/// Why the gateway refused the amount, from its invoice as read after the refusal (the wallet,
/// most often).
fn invalid_amount_words(e: &Entry, invoice: Option<&gateway::Invoice>) -> String {
    let generic = "the gateway expects another amount for this invoice now (its outstanding total, the customer's \
                   wallet or the exchange rate changed since part-process)";
    let promised = match (e.wallet_amount.as_deref(), e.wallet_currency.as_deref()) {
        (Some(a), Some(c)) => money_of(a, c).ok().filter(|m| !m.is_zero()),
        _ => None,
    };
    let Some(promised) = promised else {
        return generic.to_owned();
    };
    let Some(inv) = invoice else {
        return format!(
            "part-process set {promised} of the customer's wallet aside for this invoice, and the gateway most likely \
             finds less in the wallet now (another payment drew on it meanwhile)"
        );
    };
    let now = inv.wallet.as_ref().and_then(|w| w.money());
    match now {
        Some(held) if held.currency() == promised.currency() && held.amount() < promised.amount() => format!(
            "the customer's wallet no longer holds the {promised} that part-process set aside for this invoice \
             (it holds {held} now): another payment drew on the same wallet meanwhile, probably from another Capture Desk"
        ),
        None if inv.wallet.is_none() => format!(
            "the customer's wallet, from which part-process set {promised} aside for this invoice, is gone at the gateway"
        ),
        _ => generic.to_owned(),
    }
}
