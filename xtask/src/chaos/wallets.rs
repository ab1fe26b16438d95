//! The checker's wallet rules: no wallet debited twice, every debit paying its invoice, no
//! balance below zero; and the one unfinalized capture the rules allow, where the other desk
//! spent the wallet an attempt counted on.

use super::check::{journals_on, Rule};
use super::evidence::{Capture, Entry, Evidence, WalletRecord};
use std::collections::BTreeMap;

pub(super) fn check_wallets(e: &Evidence, v: &mut impl FnMut(Rule, String)) {
    let mut per_invoice: BTreeMap<u64, Vec<&WalletRecord>> = BTreeMap::new();
    let mut per_customer: BTreeMap<&str, Vec<&WalletRecord>> = BTreeMap::new();
    // every row carries the balance on: the chain is checked over all of them, the debits'
    // arithmetic and their invoices on the debits
    for r in &e.wallet {
        per_customer.entry(&r.customer_id).or_default().push(r);
    }
    for r in e.wallet.iter().filter(|r| r.kind == "debit") {
        match r.invoice() {
            Some(no) => per_invoice.entry(no).or_default().push(r),
            None => v(Rule::WalletDebitedTwice, format!("wallet debit {} names no invoice: {:?}", r.id, r.reference)),
        }
    }
    for (no, debits) in &per_invoice {
        if debits.len() > 1 {
            v(
                Rule::WalletDebitedTwice,
                format!(
                    "the wallet of {} was debited {} times for invoice {no}: {}; {}",
                    debits.first().map_or("?", |r| r.customer_id.as_str()),
                    debits.len(),
                    debits
                        .iter()
                        .map(|r| format!("{} {} ({})", r.amount, r.currency, r.payment_id))
                        .collect::<Vec<_>>()
                        .join(", "),
                    journals_on(e, *no)
                ),
            );
        }
        let part_payment = debits.iter().any(|r| r.reference.contains("part payment"));
        if part_payment && !e.finalizations.iter().any(|x| x.invoice_no == *no) {
            v(
                Rule::WalletDebitedTwice,
                format!("the wallet paid part of invoice {no}, and the invoice has no finalization"),
            );
        }
    }
    for (customer, mut rows) in per_customer {
        rows.sort_by_key(|r| r.id);
        let mut previous: Option<&WalletRecord> = None;
        for r in rows {
            if r.balance_after.is_negative() {
                v(
                    Rule::WalletDebitedTwice,
                    format!("the wallet of {customer} went to {} {} (row {})", r.balance_after, r.currency, r.id),
                );
            }
            if r.kind == "debit" && r.balance_before.checked_sub(r.amount) != Some(r.balance_after) {
                v(
                    Rule::WalletDebitedTwice,
                    format!(
                        "wallet debit {} of {customer}: {} − {} is not {}",
                        r.id, r.balance_before, r.amount, r.balance_after
                    ),
                );
            }
            if let Some(p) = previous.filter(|p| p.balance_after != r.balance_before) {
                v(
                    Rule::WalletDebitedTwice,
                    format!(
                        "the wallet of {customer} left {} after debit {}, and debit {} started from {}",
                        p.balance_after, p.id, r.id, r.balance_before
                    ),
                );
            }
            previous = Some(r);
        }
    }
}

/// A completed capture left unfinalized is allowed in one case: its attempt ended in
/// `needs_attention` on one desk because the other desk (a data directory that shares nothing)
/// spent the same customer's wallet on another invoice, so the gateway refused the amounts
/// part-process had promised. Within one desk the wallet lease must prevent that.
pub(super) fn conflict_across_desks(e: &Evidence, c: &Capture, invoice: Option<u64>) -> Option<String> {
    let invoice = invoice?;
    let customer = &e.invoices.iter().find(|i| i.no == invoice)?.customer_id;
    // any attempt holding the capture may be the one whose promise was broken (a later attempt
    // on the invoice may have adopted the capture with what the wallet held by then)
    e.journals.iter().find_map(|(desk, entries)| {
        entries
            .iter()
            .filter(|j| j.capture_id.as_deref() == Some(&c.id) && j.state == "needs_attention")
            .find_map(|entry| broken_promise(e, c, invoice, customer, desk, entry))
    })
}

/// `entry` (on `desk`) counted on more of `customer`'s wallet than it holds now, and every other
/// invoice the wallet paid was finalized by the other desk only.
fn broken_promise(
    e: &Evidence,
    c: &Capture,
    invoice: u64,
    customer: &str,
    desk: &str,
    entry: &Entry,
) -> Option<String> {
    let counted_on = entry.wallet_amount.filter(|a| !a.is_zero())?;
    // the wallet now holds less than the attempt counted on, spent on other invoices...
    let debits: Vec<&WalletRecord> =
        e.wallet.iter().filter(|r| r.customer_id == customer && r.kind == "debit").collect();
    let left = debits.iter().max_by_key(|r| r.id).map(|r| r.balance_after)?;
    if left >= counted_on {
        return None;
    }
    // ...by the other desk only
    let finalized_on = |d: &str, no: u64| {
        e.journals
            .iter()
            .any(|(dd, entries)| dd == d && entries.iter().any(|j| j.invoice_no == no && j.state == "finalized"))
    };
    let others: Vec<u64> = debits.iter().filter_map(|r| r.invoice()).filter(|no| *no != invoice).collect();
    let by_other_desk =
        |no: &u64| e.journals.iter().any(|(d, _)| d != desk && finalized_on(d, *no)) && !finalized_on(desk, *no);
    if others.is_empty() || !others.iter().all(by_other_desk) {
        return None;
    }
    Some(format!(
        "capture {} of invoice {invoice}: desk {desk} counted on {counted_on} from the wallet of {customer}, the other desk spent it on invoice(s) {}; entry {} is needs_attention",
        c.id,
        others.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
        entry.id
    ))
}

/// Where the wallet of `invoice`'s customer went, when it paid other invoices: the usual cause
/// of a finalization refused for its amount.
pub(super) fn spent_elsewhere(e: &Evidence, invoice: u64) -> String {
    let Some(customer) = e.invoices.iter().find(|i| i.no == invoice).map(|i| &i.customer_id) else {
        return String::new();
    };
    let spent: Vec<String> = e
        .wallet
        .iter()
        .filter(|r| &r.customer_id == customer && r.kind == "debit" && r.invoice() != Some(invoice))
        .map(|r| {
            let no = r.invoice();
            let by: Vec<&str> = e
                .journals
                .iter()
                .filter(|(_, entries)| entries.iter().any(|j| Some(j.invoice_no) == no && j.state == "finalized"))
                .map(|(d, _)| d.as_str())
                .collect();
            format!(
                "{} {} on invoice {} (finalized on desk {})",
                r.amount,
                r.currency,
                no.map_or("?".into(), |n| n.to_string()),
                if by.is_empty() { "none".into() } else { by.join(" and ") }
            )
        })
        .collect();
    if spent.is_empty() {
        String::new()
    } else {
        format!("; the wallet of {customer} was spent: {}", spent.join(", "))
    }
}
