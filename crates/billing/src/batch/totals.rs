//! A batch's totals per currency: what it would capture (its included items that are ready, or
//! before a preflight all its included items), exact in each currency's digits.

use super::model::{BatchItem, BatchTotal};
use crate::DeskError;
use money::{Currency, Money};
use std::collections::BTreeMap;

struct Sum {
    count: i64,
    total: Money,
    outstanding: Money,
    wallet: Money,
    paypal: Money,
}

fn amount(text: &str, currency: Currency, what: &str, invoice_no: i64) -> Result<Money, DeskError> {
    money::parse_decimal_text(text).ok().and_then(|d| Money::new(d, currency).ok()).ok_or_else(|| {
        DeskError::internal(format!("batch item {invoice_no}: the stored {what} {text:?} is not an amount"))
    })
}

fn add(a: Money, b: Money) -> Result<Money, DeskError> {
    a.checked_add(b).ok_or_else(|| DeskError::internal("a batch total overflowed"))
}

/// The totals per currency (sorted by currency code) of the items [`BatchItem::counts`].
pub fn of(items: &[BatchItem]) -> Result<Vec<BatchTotal>, DeskError> {
    let mut sums: BTreeMap<String, Sum> = BTreeMap::new();
    for item in items.iter().filter(|i| i.counts()) {
        let cur = Currency::from_code(&item.currency).map_err(|_| {
            DeskError::internal(format!("batch item {}: unknown currency {}", item.invoice_no, item.currency))
        })?;
        let n = item.invoice_no;
        let total = amount(&item.total, cur, "total", n)?;
        let outstanding = amount(&item.outstanding, cur, "outstanding amount", n)?;
        let wallet = match &item.wallet_part {
            Some(w) => amount(w, cur, "wallet part", n)?,
            None => Money::zero(cur),
        };
        let paypal = match &item.paypal_part {
            Some(p) => amount(p, cur, "PayPal part", n)?,
            None => outstanding.checked_sub(wallet).ok_or_else(|| DeskError::internal("a batch total overflowed"))?,
        };
        let zero = Money::zero(cur);
        let s = sums.entry(item.currency.clone()).or_insert(Sum {
            count: 0,
            total: zero,
            outstanding: zero,
            wallet: zero,
            paypal: zero,
        });
        s.count += 1;
        s.total = add(s.total, total)?;
        s.outstanding = add(s.outstanding, outstanding)?;
        s.wallet = add(s.wallet, wallet)?;
        s.paypal = add(s.paypal, paypal)?;
    }
    Ok(sums
        .into_iter()
        .map(|(currency, s)| BatchTotal {
            currency,
            count: s.count,
            total: s.total.to_decimal_string(),
            outstanding: s.outstanding.to_decimal_string(),
            wallet_part: s.wallet.to_decimal_string(),
            paypal_part: s.paypal.to_decimal_string(),
        })
        .collect())
}
