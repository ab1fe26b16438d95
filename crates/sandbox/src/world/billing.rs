//! The gateway's state changes: wallet debits, an invoice settled through PayPal (with an
//! optional wallet part) or entirely from the wallet, and an invoice cancelled by billing staff.

use super::{Finalization, InvoicePayment, InvoiceStatus, WalletRecord, World};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// The wallet part of a PayPal finalization: `amount` in the wallet's `currency`, at `rate`.
#[derive(Debug, Clone)]
pub struct WalletPart {
    pub currency: String,
    pub amount: Decimal,
    pub rate: Decimal,
}

impl World {
    /// Takes `amount` from `customer`'s wallet and records it in the wallet history.
    pub fn debit_wallet(
        &mut self,
        customer: &str,
        amount: Decimal,
        rate: Decimal,
        payment_id: &str,
        reference: &str,
        now: DateTime<Utc>,
    ) {
        let id = self.wallet_history.len() as u64 + 1;
        let Some(wallet) = self.customers.get_mut(customer).and_then(|c| c.wallet.as_mut()) else {
            return;
        };
        let before = wallet.balance;
        wallet.balance -= amount;
        let record = WalletRecord {
            id,
            customer_id: customer.into(),
            kind: "debit".into(),
            amount,
            exchange_rate: rate,
            status: 1,
            reference: reference.into(),
            transaction_id: format!("TX-{id:08}"),
            payment_gateway: "wallet".into(),
            payment_id: payment_id.into(),
            balance_before: before,
            balance_after: wallet.balance,
            currency: wallet.currency.clone(),
            at: now,
        };
        self.wallet_history.push(record);
    }

    /// Settles invoice `no`: the wallet part (if any) is debited, the PayPal payment `payment_id`
    /// of `amount` is recorded, and the finalization goes into the ledger.
    pub fn settle_by_paypal(
        &mut self,
        no: u64,
        payment_id: &str,
        amount: Decimal,
        code: &str,
        wallet: Option<WalletPart>,
    ) {
        let now = self.now();
        let Some(customer) = self.invoices.get(&no).map(|i| i.customer_id.clone()) else {
            return;
        };
        if let Some(part) = wallet {
            let wallet_payment_id = format!("WALLET-{}", self.new_id(12));
            let reference = format!("Invoice {no} part payment");
            self.debit_wallet(&customer, part.amount, part.rate, &wallet_payment_id, &reference, now);
            if let Some(i) = self.invoices.get_mut(&no) {
                i.payments.push(InvoicePayment {
                    payment_id: wallet_payment_id,
                    amount: part.amount,
                    currency: part.currency,
                    method: "wallet".into(),
                    at: now,
                });
            }
        }
        if let Some(i) = self.invoices.get_mut(&no) {
            i.payments.push(InvoicePayment {
                payment_id: payment_id.to_owned(),
                amount,
                currency: code.to_owned(),
                method: "paypal".into(),
                at: now,
            });
            i.outstanding = Decimal::ZERO;
            i.status = InvoiceStatus::Paid;
            i.updated_at = now;
        }
        self.finalizations.push(Finalization {
            invoice_no: no,
            payment_id: payment_id.to_owned(),
            amount,
            currency_code: code.to_owned(),
        });
        self.touch();
    }

    /// Settles invoice `no` entirely from the wallet: `needed` wallet units at `rate`.
    pub fn settle_from_wallet(&mut self, no: u64, needed: Decimal, rate: Decimal) {
        let now = self.now();
        let Some(inv) = self.invoices.get(&no).cloned() else {
            return;
        };
        let payment_id = format!("WALLET-{}", self.new_id(12));
        let reference = format!("Invoice {no} wallet payment");
        self.debit_wallet(&inv.customer_id, needed, rate, &payment_id, &reference, now);
        if let Some(i) = self.invoices.get_mut(&no) {
            i.payments.push(InvoicePayment {
                payment_id,
                amount: inv.outstanding,
                currency: inv.currency.clone(),
                method: "wallet".into(),
                at: now,
            });
            i.outstanding = Decimal::ZERO;
            i.status = InvoiceStatus::Paid;
            i.updated_at = now;
        }
        self.touch();
    }

    /// Cancels outstanding invoice `no` (billing staff at the gateway): it owes nothing (as the
    /// seeded cancelled invoices), takes no payment, and its approved PayPal payment, if any,
    /// stays with PayPal. `false`: no such invoice, or it is not outstanding.
    pub fn cancel_invoice(&mut self, no: u64) -> bool {
        let now = self.now();
        let Some(i) = self.invoices.get_mut(&no).filter(|i| i.status == InvoiceStatus::Outstanding) else {
            return false;
        };
        i.outstanding = Decimal::ZERO;
        i.status = InvoiceStatus::Cancelled;
        i.updated_at = now;
        self.touch();
        true
    }
}
