//! Preflight: for each included item, the invoice read again at the gateway (the cache is
//! refreshed with it) and the capture preview's reads ([`Engine::assess`]: part-process, which
//! reserves nothing, and the order or authorization at PayPal), turned into a verdict with its
//! reason. Nothing moves; it can run again at any time before the run. Items are read
//! concurrently (bounded), with progress; then [`super::store::record_preflight`] stores the
//! verdicts, moves the batch to `preflighted` and voids any approval.

use super::model::{BatchSummary, ItemVerdict};
use super::verdicts::{self, Judged};
use super::words::Verdict;
use super::{store, BatchError};
use crate::capture::Engine;
use crate::invoices::{self, InvoiceRow, WalletView};
use crate::DeskError;
use futures::StreamExt;
use serde::Serialize;
use std::collections::BTreeMap;
use tracing::Instrument;
use ts_rs::TS;

/// Preflight's progress: items done of the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PreflightProgress {
    #[ts(type = "number")]
    pub done: usize,
    #[ts(type = "number")]
    pub total: usize,
}

/// How a preflight runs (its requests are paced by the desk's pace, as the run's are).
pub struct PreflightOptions<'a> {
    pub concurrency: usize,
    pub progress: &'a (dyn Fn(PreflightProgress) + Send + Sync),
}

/// One item read: its verdict, and who pays it from which wallet (for the shared-wallet pass).
struct Read {
    verdict: ItemVerdict,
    customer: Option<(String, String)>,
}

/// Preflights batch `id` as `staff`; the batch as it stands after.
pub(crate) async fn preflight(
    engine: &Engine<'_>,
    id: i64,
    staff: &str,
    options: &PreflightOptions<'_>,
) -> Result<BatchSummary, DeskError> {
    if staff.trim().is_empty() {
        return Err(BatchError::NoStaff.into());
    }
    let items = {
        let mut conn = engine.pool.acquire().await?;
        let b = store::summary(&mut conn, id).await?.ok_or(BatchError::NotFound(id))?;
        if !b.state.is_before_run() {
            return Err(BatchError::WrongState { id, state: b.state, action: "preflighted" }.into());
        }
        store::items(&mut conn, id).await?
    };
    let included: Vec<i64> = items.iter().filter(|i| !i.excluded).map(|i| i.invoice_no).collect();
    let total = included.len();
    (options.progress)(PreflightProgress { done: 0, total });
    let mut reads = futures::stream::iter(included.iter().copied())
        .map(|no| async move {
            read_item(engine, no).instrument(tracing::info_span!("preflight_item", batch = id, invoice_no = no)).await
        })
        .buffer_unordered(options.concurrency.clamp(1, super::run::MAX_CONCURRENCY));
    let mut done = Vec::with_capacity(total);
    while let Some(read) = reads.next().await {
        done.push(read?);
        (options.progress)(PreflightProgress { done: done.len(), total });
    }
    drop(reads);
    let verdicts = shared_wallets(done, &included);
    store::record_preflight(engine.pool, id, staff, engine.environment, &verdicts).await
}

/// Items that would run and draw on one customer's wallet run one after another: `wallet_shared`.
/// The verdicts come back in the batch's order.
fn shared_wallets(reads: Vec<Read>, order: &[i64]) -> Vec<ItemVerdict> {
    let mut by_wallet: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for r in reads.iter().filter(|r| r.verdict.verdict == Verdict::Ready) {
        if let Some((customer, _)) = &r.customer {
            by_wallet.entry(customer.as_str()).or_default().push(r.verdict.invoice_no);
        }
    }
    let mut shared: BTreeMap<i64, String> = BTreeMap::new();
    for r in &reads {
        let Some((customer, name)) = &r.customer else { continue };
        let Some(group) = by_wallet.get(customer.as_str()).filter(|g| g.len() > 1) else { continue };
        if r.verdict.verdict != Verdict::Ready {
            continue;
        }
        let others: Vec<String> = group.iter().filter(|n| **n != r.verdict.invoice_no).map(i64::to_string).collect();
        shared.insert(
            r.verdict.invoice_no,
            format!(
                "Ready; {name}'s wallet also pays invoice(s) {} in this batch: they run one after another, and the \
                 wallet part may be smaller when this one's turn comes.",
                others.join(", ")
            ),
        );
    }
    let mut by_no: BTreeMap<i64, ItemVerdict> = reads.into_iter().map(|r| (r.verdict.invoice_no, r.verdict)).collect();
    for (no, reason) in shared {
        if let Some(v) = by_no.get_mut(&no) {
            v.verdict = Verdict::WalletShared;
            v.reason = Some(reason);
        }
    }
    order.iter().filter_map(|n| by_no.remove(n)).collect()
}

fn judged(invoice_no: i64, (verdict, reason): Judged) -> Read {
    Read {
        verdict: ItemVerdict { invoice_no, verdict, reason: Some(reason), wallet_part: None, paypal_part: None },
        customer: None,
    }
}

fn wallet_changed(before: Option<&WalletView>, now: Option<&WalletView>) -> Option<String> {
    let same = |a: &WalletView, b: &WalletView| {
        a.currency == b.currency
            && match (money::parse_decimal_text(&a.balance), money::parse_decimal_text(&b.balance)) {
                (Ok(x), Ok(y)) => x == y,
                _ => a.balance == b.balance,
            }
    };
    let show =
        |w: Option<&WalletView>| w.map_or_else(|| "no wallet".to_owned(), |w| format!("{} {}", w.balance, w.currency));
    match (before, now) {
        (None, None) => None,
        (Some(a), Some(b)) if same(a, b) => None,
        _ => Some(format!(
            "The customer's wallet changed since the cache ({} then, {} now): the wallet and PayPal parts differ from \
             what was shown; check them before capturing.",
            show(before),
            show(now)
        )),
    }
}

/// One item: the invoice at the gateway (refreshing the cache), then the preview's reads.
async fn read_item(engine: &Engine<'_>, invoice_no: i64) -> Result<Read, DeskError> {
    let cached = invoices::get(engine.pool, invoice_no).await?;
    let no = u64::try_from(invoice_no).map_err(DeskError::internal)?;
    let asked_at = chrono::Utc::now();
    let fresh = match engine.gateway.invoice(no).await {
        Ok(inv) => inv,
        Err(gateway::GatewayError::InvoiceNotFound) => {
            let why = "The gateway no longer lists this invoice; it is not outstanding.".to_owned();
            return Ok(judged(invoice_no, (Verdict::NotOutstanding, why)));
        }
        Err(e) => {
            let e = DeskError::from(e);
            let verdict = if verdicts::transient(e.code) { Verdict::Unreachable } else { Verdict::NotOutstanding };
            return Ok(judged(invoice_no, (verdict, format!("{} Run preflight again.", e.message))));
        }
    };
    invoices::refresh_one(engine.pool, &fresh, asked_at).await?;
    let a = engine.assess(invoice_no).await?;
    let row: &InvoiceRow = &a.invoice;
    let mut candidates: Vec<Judged> = a.findings.iter().map(verdicts::of_finding).collect();
    if let Some(why) = wallet_changed(cached.as_ref().and_then(|c| c.wallet.as_ref()), row.wallet.as_ref()) {
        candidates.push((Verdict::WalletChanged, why));
    }
    let judged_as = verdicts::pick(candidates);
    let p = &a.preview;
    let (wallet_part, paypal_part) = match (&p.wallet, p.path) {
        (_, crate::capture::words::CapturePath::Wallet) => (p.outstanding.clone(), "0".to_owned()),
        (Some(w), _) => (w.in_invoice_currency.clone(), p.paypal_amount.clone()),
        (None, _) => ("0".to_owned(), p.paypal_amount.clone()),
    };
    let mut read = judged(invoice_no, judged_as);
    read.verdict.wallet_part = Some(wallet_part);
    read.verdict.paypal_part = Some(paypal_part);
    read.customer = row.wallet.as_ref().map(|_| (row.customer_id.clone(), row.customer_name.clone()));
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(invoice_no: i64, verdict: Verdict, customer: Option<&str>) -> Read {
        let mut r = judged(invoice_no, (verdict, "as read.".into()));
        r.customer = customer.map(|c| (c.to_owned(), format!("{c} Ltd")));
        r
    }

    #[test]
    fn ready_items_on_one_wallet_are_wallet_shared_and_come_back_in_batch_order() {
        let reads = vec![
            read(3, Verdict::Ready, Some("c1")),
            read(1, Verdict::Ready, Some("c1")),
            read(2, Verdict::Ready, Some("c2")),
            read(4, Verdict::NotApproved, Some("c2")),
            read(5, Verdict::Ready, None),
            read(6, Verdict::Ready, None),
        ];
        let v = shared_wallets(reads, &[1, 2, 3, 4, 5, 6]);
        let got: Vec<(i64, Verdict)> = v.iter().map(|v| (v.invoice_no, v.verdict)).collect();
        assert_eq!(
            got,
            [
                (1, Verdict::WalletShared),
                (2, Verdict::Ready),
                (3, Verdict::WalletShared),
                (4, Verdict::NotApproved),
                (5, Verdict::Ready),
                (6, Verdict::Ready),
            ]
        );
        assert!(v[0].reason.as_deref().is_some_and(|r| r.contains("c1 Ltd") && r.contains("invoice(s) 3")), "{v:?}");
        assert!(Verdict::WalletShared.runs());
    }

    #[test]
    fn a_wallet_changed_only_when_its_currency_or_balance_did() {
        let w = |balance: &str, currency: &str| WalletView {
            currency: currency.into(),
            balance: balance.into(),
            unusable: None,
        };
        assert_eq!(wallet_changed(Some(&w("10.5", "EUR")), Some(&w("10.50", "EUR"))), None);
        assert_eq!(wallet_changed(None, None), None);
        assert!(wallet_changed(Some(&w("10.5", "EUR")), Some(&w("9", "EUR"))).is_some());
        assert!(wallet_changed(Some(&w("10.5", "EUR")), Some(&w("10.5", "USD"))).is_some());
        assert!(wallet_changed(None, Some(&w("1", "EUR"))).is_some());
    }
}
