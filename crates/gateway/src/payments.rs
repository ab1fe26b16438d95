//! The billing calls that move money at the gateway: part-process (prepare a part payment),
//! paypal/capture (finalize an invoice after the PayPal capture) and pay (full wallet payment).
//!
//! `partPaymentFromWalletBalance` is kept as the raw JSON the gateway sent and is sent back
//! unchanged; it is only read to show the breakdown and to check the PayPal amount.

use crate::client::{GatewayClient, Slot};
use crate::GatewayError;
use money::{Currency, Money};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tracing::Instrument;

/// The gateway's `partPaymentFromWalletBalance`, raw and read.
#[derive(Debug, Clone)]
pub struct WalletPart {
    /// Exactly as received; sent back unchanged.
    pub raw: Box<RawValue>,
    /// The wallet's currency.
    pub currency: Currency,
    /// Invoice-currency units per wallet unit.
    pub exchange_rate: Decimal,
    /// The invoice's outstanding total, in the invoice currency.
    pub charge_total_before: Decimal,
    /// The wallet part, in the wallet currency.
    pub charge_total_current: Money,
}

impl PartialEq for WalletPart {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get()
    }
}

impl WalletPart {
    /// The object for an invoice paid without a wallet part (as in the gateway's own example:
    /// the invoice currency, rate 1, nothing from the wallet).
    pub fn none(outstanding: Money) -> WalletPart {
        let before = outstanding.amount().normalize();
        let text = format!(
            r#"{{"currency":"{}","exchangeRate":1,"chargeTotalBefore":{},"chargeTotalCurrent":0}}"#,
            outstanding.currency().code(),
            if before.is_zero() { "0".to_owned() } else { before.to_string() }
        );
        WalletPart {
            raw: RawValue::from_string(text).unwrap_or_else(|_| RawValue::from_string("{}".into()).unwrap_or_default()),
            currency: outstanding.currency(),
            exchange_rate: Decimal::ONE,
            charge_total_before: outstanding.amount(),
            charge_total_current: Money::zero(outstanding.currency()),
        }
    }

    fn parse(raw: Box<RawValue>, at: u64) -> Result<WalletPart, GatewayError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct W<'a> {
            currency: String,
            #[serde(borrow)]
            exchange_rate: &'a RawValue,
            #[serde(borrow)]
            charge_total_before: &'a RawValue,
            #[serde(borrow)]
            charge_total_current: &'a RawValue,
        }
        let invalid = |e: String| GatewayError::InvalidResponse {
            detail: format!("invoice {at}: partPaymentFromWalletBalance: {e}"),
        };
        let w: W<'_> = serde_json::from_str(raw.get()).map_err(|e| invalid(e.to_string()))?;
        let currency = Currency::from_code(&w.currency).map_err(|e| invalid(e.to_string()))?;
        let num =
            |r: &RawValue, what: &str| money::parse_decimal_text(r.get()).map_err(|e| invalid(format!("{what}: {e}")));
        let exchange_rate = num(w.exchange_rate, "exchangeRate")?;
        let charge_total_before = num(w.charge_total_before, "chargeTotalBefore")?;
        let current = Money::parse_gateway(w.charge_total_current.get(), currency)
            .map_err(|e| invalid(format!("chargeTotalCurrent: {e}")))?;
        if exchange_rate <= Decimal::ZERO || charge_total_before.is_sign_negative() || current.is_negative() {
            return Err(invalid("negative or zero values".into()));
        }
        Ok(WalletPart { raw, currency, exchange_rate, charge_total_before, charge_total_current: current })
    }
}

/// The answer of part-process.
#[derive(Debug, Clone, PartialEq)]
pub struct PartPayment {
    pub invoice_no: u64,
    /// `eligibleForPayment`. `false`: the gateway will not take an online payment for this
    /// invoice (it refuses the finalization with "Payment method is disabled"), so nothing may
    /// be captured for it. An answer without the flag reads as eligible (the flag is the only
    /// refusal part-process gives; the finalization still checks).
    pub eligible_for_payment: bool,
    pub wallet_part: WalletPart,
    pub currency_paid: Currency,
    pub exchange_rate: Decimal,
    /// What remains to be paid online (the PayPal part), in `currency_paid`.
    pub charge_total: Money,
}

/// The answer of paypal/capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalized {
    pub message: String,
    /// `status` as sent (the sandbox says `success`; GATEWAY-API.md lists the field without its
    /// values). Anything else, or none, does not confirm the finalization by itself.
    pub status: Option<String>,
    pub invoice_no: u64,
    pub payment_id: String,
}

impl Finalized {
    /// The answer says `success` (in any case).
    pub fn says_success(&self) -> bool {
        self.status.as_deref().is_some_and(|s| s.trim().eq_ignore_ascii_case("success"))
    }
}

/// The answer of pay (full wallet payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPaid {
    pub message: String,
    pub invoice_no: u64,
    pub amount: Decimal,
    pub wallet_balance: Decimal,
}

impl GatewayClient {
    /// `POST /api/v1/billing/invoice/part-process`. No side effect at the gateway: retried on
    /// transient failures.
    pub async fn part_process(&self, invoice_no: u64, currency: Currency) -> Result<PartPayment, GatewayError> {
        let span = tracing::info_span!("gateway.part_process", invoice_no, currency = currency.code());
        async {
            let body = format!(r#"{{"invoice":{invoice_no},"currency":"{}"}}"#, currency.code());
            let bytes = self.post_with_retries("/api/v1/billing/invoice/part-process", body).await?;
            parse_part_payment(&bytes, invoice_no)
        }
        .instrument(span)
        .await
    }

    /// `POST /api/v1/billing/invoice/paypal/capture`: finalizes the invoice after the PayPal
    /// capture. **Sent once**: an unknown outcome is for the caller to resolve (by reading the
    /// invoice's payments), never by blindly sending again.
    pub async fn finalize_paypal_capture(
        &self,
        slot: Slot,
        invoice_no: u64,
        amount: Money,
        payment_id: &str,
        wallet_part: &WalletPart,
    ) -> Result<Finalized, GatewayError> {
        let span = tracing::info_span!("gateway.finalize", invoice_no, payment_id, amount = %amount);
        async {
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Body<'a> {
                amount: &'a RawValue,
                invoice_no: u64,
                payment_id: &'a str,
                currency_code: &'a str,
                part_payment_from_wallet_balance: &'a RawValue,
            }
            let amount_text = RawValue::from_string(amount.amount().normalize().to_string())
                .map_err(|e| GatewayError::InvalidResponse { detail: format!("amount: {e}") })?;
            let body = serde_json::to_string(&Body {
                amount: &amount_text,
                invoice_no,
                payment_id,
                currency_code: amount.currency().code(),
                part_payment_from_wallet_balance: &wallet_part.raw,
            })
            .map_err(|e| GatewayError::InvalidResponse { detail: e.to_string() })?;
            let bytes = self.post_once(slot, "/api/v1/billing/invoice/paypal/capture", body).await?;
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Resp {
                message: Option<String>,
                status: Option<String>,
                invoice_no: Option<u64>,
                payment_id: Option<String>,
            }
            let r: Resp = serde_json::from_slice(&bytes)
                .map_err(|e| GatewayError::InvalidResponse { detail: format!("finalize: {e}") })?;
            if r.invoice_no.is_some_and(|n| n != invoice_no) || r.payment_id.as_deref().is_some_and(|p| p != payment_id)
            {
                return Err(GatewayError::InvalidResponse {
                    detail: "finalize answered for another invoice or payment".into(),
                });
            }
            Ok(Finalized {
                message: r.message.unwrap_or_default(),
                status: r.status,
                invoice_no,
                payment_id: payment_id.to_owned(),
            })
        }
        .instrument(span)
        .await
    }

    /// `POST /api/v1/billing/invoice/pay`: pays the invoice entirely from the wallet. Sent once.
    pub async fn pay_from_wallet(
        &self,
        slot: Slot,
        invoice_no: u64,
        currency: Currency,
    ) -> Result<WalletPaid, GatewayError> {
        let span = tracing::info_span!("gateway.pay_from_wallet", invoice_no);
        async {
            let body = format!(r#"{{"invoice":{invoice_no},"currency":"{}"}}"#, currency.code());
            let bytes = self.post_once(slot, "/api/v1/billing/invoice/pay", body).await?;
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Resp<'a> {
                message: Option<String>,
                invoice_no: Option<u64>,
                #[serde(borrow)]
                amount: Option<&'a RawValue>,
                #[serde(borrow)]
                wallet_balance: Option<&'a RawValue>,
            }
            let r: Resp<'_> = serde_json::from_slice(&bytes)
                .map_err(|e| GatewayError::InvalidResponse { detail: format!("pay: {e}") })?;
            let num =
                |v: Option<&RawValue>| v.and_then(|r| money::parse_decimal_text(r.get()).ok()).unwrap_or_default();
            Ok(WalletPaid {
                message: r.message.unwrap_or_default(),
                invoice_no: r.invoice_no.unwrap_or(invoice_no),
                amount: num(r.amount),
                wallet_balance: num(r.wallet_balance),
            })
        }
        .instrument(span)
        .await
    }
}

fn parse_part_payment(bytes: &[u8], invoice_no: u64) -> Result<PartPayment, GatewayError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Inv {
        invoice_no: u64,
        #[serde(default)]
        eligible_for_payment: Option<bool>,
        part_payment_from_wallet_balance: Box<RawValue>,
        currency_paid: String,
        exchange_rate: Box<RawValue>,
        charge_total: Box<RawValue>,
    }
    #[derive(Deserialize)]
    struct Resp {
        invoice: Inv,
    }
    let invalid = |e: String| GatewayError::InvalidResponse { detail: format!("part-process {invoice_no}: {e}") };
    let r: Resp = serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
    let i = r.invoice;
    if i.invoice_no != invoice_no {
        return Err(invalid(format!("answered for invoice {}", i.invoice_no)));
    }
    let currency_paid = Currency::from_code(&i.currency_paid).map_err(|e| invalid(e.to_string()))?;
    let charge_total =
        Money::parse_gateway(i.charge_total.get(), currency_paid).map_err(|e| invalid(format!("chargeTotal: {e}")))?;
    if charge_total.is_negative() {
        return Err(invalid("negative chargeTotal".into()));
    }
    let exchange_rate =
        money::parse_decimal_text(i.exchange_rate.get()).map_err(|e| invalid(format!("exchangeRate: {e}")))?;
    let wallet_part = WalletPart::parse(i.part_payment_from_wallet_balance, invoice_no)?;
    Ok(PartPayment {
        invoice_no,
        eligible_for_payment: i.eligible_for_payment.unwrap_or(true),
        wallet_part,
        currency_paid,
        exchange_rate,
        charge_total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(flag: &str) -> String {
        format!(
            r#"{{"message":"Part payment prepared","invoice":{{"invoiceNo":458732,{flag}"partPaymentFromWalletBalance":{{"currency":"EUR","exchangeRate":1.0857,"chargeTotalBefore":250,"chargeTotalCurrent":40.5}},"currencyPaid":"USD","exchangeRate":1.0857,"chargeTotal":206.03}}}}"#
        )
    }

    #[test]
    fn eligible_for_payment_is_read_as_sent_and_absent_reads_as_eligible() {
        let read = |flag: &str| parse_part_payment(answer(flag).as_bytes(), 458_732).map(|p| p.eligible_for_payment);
        assert_eq!(read(r#""eligibleForPayment":false,"#), Ok(false));
        assert_eq!(read(r#""eligibleForPayment":true,"#), Ok(true));
        assert_eq!(read(""), Ok(true));
        // anything but a boolean is not guessed at: the answer is unreadable, nothing of it is used
        assert!(matches!(read(r#""eligibleForPayment":"false","#), Err(GatewayError::InvalidResponse { .. })));
        assert!(matches!(read(r#""eligibleForPayment":0,"#), Err(GatewayError::InvalidResponse { .. })));
    }
}
