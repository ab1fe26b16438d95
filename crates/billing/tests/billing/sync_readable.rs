//! What a sync reads from the gateway: an invoice it cannot read is set aside and the sync goes
//! on; amounts with ISO 4217's digits (HUF and TWD have two); a wallet in a currency outside the
//! desk's table. The real sandbox behind the test proxy, which sends the crafted invoices.

use crate::common::{desk, no_progress, sandbox};
use crate::gateway_proxy::{self as double, with_fields, Rewrite};
use billing::invoices::InvoiceStatus;
use billing::sync::{set_aside, SyncMode};
use billing::{Desk, InvoiceFilter, ListRequest};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Every cached invoice number with `status` (`all` for every one).
async fn cached(d: &Desk, status: &str) -> BTreeSet<i64> {
    let page = d
        .list(&ListRequest {
            filter: InvoiceFilter { status: Some(status.into()), ..Default::default() },
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .expect("list");
    page.rows.iter().map(|r| r.invoice_no).collect()
}

/// The outstanding invoice numbers at the sandbox itself (asked directly, page by page).
async fn at_gateway(url: &str) -> BTreeSet<i64> {
    let gw =
        gateway::GatewayClient::new(url, gateway::Token::new("demo-staff-token"), Default::default()).expect("client");
    let mut all = BTreeSet::new();
    for page in 1.. {
        let p = gw.list_invoices(&gateway::InvoiceListQuery { page, ..Default::default() }).await.expect("page");
        all.extend(p.invoices.iter().map(|i| i64::try_from(i.invoice_no).expect("no")));
        if page >= p.total_pages.expect("the sandbox counts its pages") {
            return all;
        }
    }
    all
}

fn rewrite(f: impl Fn(&str) -> String + Send + Sync + 'static) -> Option<Rewrite> {
    Some(Arc::new(f))
}

/// An invoice the desk cannot read: its total is not a number.
fn unreadable_total() -> Option<Rewrite> {
    rewrite(|raw| with_fields(raw, &[("total", r#""a lot""#)]))
}

fn no(n: i64) -> u64 {
    u64::try_from(n).expect("invoice number")
}

/// One bad invoice used to refuse its whole page, and so every later sync. Now it is set aside
/// (with the reason and its number), the rest is written, and a later read that validates
/// clears it; one whose number does not read goes once a full sync no longer meets it.
#[tokio::test]
async fn an_unreadable_invoice_is_set_aside_and_the_sync_goes_on() {
    let sb = sandbox(300, 11).await;
    let outstanding = at_gateway(&sb.base_url()).await;
    let proxy = double::Proxy::start(&sb.base_url()).await;
    let numbers: Vec<i64> = outstanding.iter().copied().collect();
    // never cached / cached, then unreadable / its number unreadable too
    let (fresh, later, nameless) = (numbers[3], numbers[150], numbers[200]);
    assert_ne!(fresh, 458_732);
    proxy.rewrite(no(fresh), unreadable_total());
    proxy.rewrite(no(nameless), rewrite(|raw| with_fields(raw, &[("invoiceNo", r#""INV-?""#)])));

    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&proxy.url, dir.path()).await;
    let first = d.sync(false, &no_progress()).await.expect("the first sync goes on past the bad invoices");
    assert_eq!((first.mode, first.set_aside), (SyncMode::Full, 2), "{first:?}");
    let want: BTreeSet<i64> = outstanding.iter().copied().filter(|n| *n != fresh && *n != nameless).collect();
    assert_eq!(cached(&d, "outstanding").await, want, "every other invoice of their pages is written");
    assert_eq!(set_aside::count(d.pool()).await.expect("count"), 2);
    let aside = set_aside::list(d.pool()).await.expect("list");
    assert_eq!(aside[0].invoice_no, Some(fresh));
    assert_eq!(aside[0].invoice_no_text.as_deref(), Some(fresh.to_string().as_str()));
    assert!(!aside[0].cached);
    assert!(aside[0].reason.starts_with("total: ") && aside[0].reason.contains("not a decimal amount"), "{aside:?}");
    assert_eq!((aside[1].invoice_no, aside[1].invoice_no_text.as_deref()), (None, Some(r#""INV-?""#)));
    assert!(d.status().await.expect("status").last_sync_error.is_none());

    // an invoice the cache holds becomes unreadable: its cached copy stays as it was, not closed
    let before = d.invoice(later).await.expect("cached");
    proxy.rewrite(no(later), unreadable_total());
    let second = d.sync(true, &no_progress()).await.expect("the next full sync goes on too");
    assert_eq!((second.set_aside, second.closed), (3, 0), "{second:?}");
    assert_eq!(d.invoice(later).await.expect("still cached"), before, "the last good copy is kept");
    assert!(proxy.details().is_empty(), "listed, though unreadable: nothing to ask for by number");
    let later_aside = set_aside::get(d.pool(), later).await.expect("get").expect("set aside");
    assert!(later_aside.cached);
    let third = d.sync(false, &no_progress()).await.expect("and every later sync");
    assert_eq!((third.mode, third.set_aside), (SyncMode::Incremental, 3));

    // the gateway sends them readably again: the next full sync writes them and clears the list
    for n in [fresh, later, nameless] {
        proxy.rewrite(no(n), None);
    }
    let healed = d.sync(true, &no_progress()).await.expect("full sync");
    assert_eq!(healed.set_aside, 0, "{healed:?}");
    assert!(set_aside::list(d.pool()).await.expect("list").is_empty());
    assert_eq!(cached(&d, "outstanding").await, outstanding);
    d.close().await;
}

/// A cached outstanding invoice the lists leave out is asked for by number; an answer that does
/// not validate sets it aside (the sync goes on, the invoice is not closed), and a valid answer
/// later clears it.
#[tokio::test]
async fn an_unreadable_answer_by_number_is_set_aside_not_closed() {
    let sb = sandbox(200, 12).await;
    let proxy = double::Proxy::start(&sb.base_url()).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&proxy.url, dir.path()).await;
    d.sync(true, &no_progress()).await.expect("first sync");
    let target = *cached(&d, "outstanding").await.iter().nth(10).expect("an invoice");
    proxy.hide(no(target));
    proxy.rewrite(no(target), unreadable_total());

    let report = d.sync(true, &no_progress()).await.expect("the sync goes on");
    assert_eq!((report.closed, report.set_aside), (0, 1), "{report:?}");
    assert_eq!(proxy.details(), vec![no(target)], "asked for by number");
    assert_eq!(d.invoice(target).await.expect("cached").status, InvoiceStatus::Outstanding, "not closed");
    let aside = set_aside::list(d.pool()).await.expect("list");
    assert_eq!((aside.len(), aside[0].invoice_no, aside[0].cached), (1, Some(target), true), "{aside:?}");

    proxy.rewrite(no(target), None);
    let report = d.sync(true, &no_progress()).await.expect("full sync");
    assert_eq!((report.closed, report.set_aside), (0, 0), "{report:?}");
    assert!(set_aside::list(d.pool()).await.expect("list").is_empty());
    d.close().await;
}

/// The gateway's amounts have ISO 4217's digits: 1234.50 HUF (and TWD) are read and kept exact.
/// PayPal's digits (none for HUF and TWD) do not apply to them.
#[tokio::test]
async fn huf_and_twd_amounts_with_two_digits_are_cached_exactly() {
    let sb = sandbox(120, 13).await;
    let proxy = double::Proxy::start(&sb.base_url()).await;
    let numbers: Vec<i64> = at_gateway(&sb.base_url()).await.into_iter().collect();
    let (huf, twd) = (numbers[5], numbers[6]);
    for (n, code) in [(huf, "HUF"), (twd, "TWD")] {
        let cur = format!("\"{code}\"");
        let wallet = format!(r#"{{"currency":"{code}","balance":0.75}}"#);
        proxy.rewrite(
            no(n),
            rewrite(move |raw| {
                with_fields(
                    raw,
                    &[("currency", &cur), ("total", "1234.50"), ("outstanding", "1234.5"), ("wallet", &wallet)],
                )
            }),
        );
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&proxy.url, dir.path()).await;
    let report = d.sync(false, &no_progress()).await.expect("sync");
    assert_eq!(report.set_aside, 0, "{report:?}");
    for (n, code) in [(huf, "HUF"), (twd, "TWD")] {
        let row = d.invoice(n).await.expect("cached");
        assert_eq!(
            (row.currency.as_str(), row.total.as_str(), row.outstanding.as_str()),
            (code, "1234.50", "1234.50"),
            "{row:?}"
        );
        let w = row.wallet.expect("wallet");
        assert_eq!((w.currency.as_str(), w.balance.as_str(), w.unusable), (code, "0.75", None));
        let page = d
            .list(&ListRequest {
                filter: InvoiceFilter {
                    currency: Some(code.into()),
                    min_amount: Some("1234.50".into()),
                    max_amount: Some("1234.50".into()),
                    ..Default::default()
                },
                with_totals: true,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(page.rows.iter().map(|r| r.invoice_no).collect::<Vec<_>>(), vec![n], "{code}: exact ranges");
        let totals = page.totals.expect("totals");
        assert_eq!((totals[0].currency.as_str(), totals[0].outstanding.as_str()), (code, "1234.50"));
    }
    d.close().await;
}

/// A wallet in a currency outside the desk's table does not block its invoice: the invoice is
/// cached, the wallet shown as sent and marked unusable.
#[tokio::test]
async fn a_wallet_in_an_unknown_currency_does_not_block_its_invoice() {
    let sb = sandbox(120, 14).await;
    let proxy = double::Proxy::start(&sb.base_url()).await;
    let n = *at_gateway(&sb.base_url()).await.iter().nth(7).expect("an invoice");
    proxy.rewrite(no(n), rewrite(|raw| with_fields(raw, &[("wallet", r#"{"currency":"XAU","balance":12.3456}"#)])));
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&proxy.url, dir.path()).await;
    let report = d.sync(false, &no_progress()).await.expect("sync");
    assert_eq!(report.set_aside, 0, "{report:?}");
    let row = d.invoice(n).await.expect("the invoice is cached");
    assert_eq!(row.status, InvoiceStatus::Outstanding);
    let w = row.wallet.expect("the wallet is kept");
    assert_eq!((w.currency.as_str(), w.balance.as_str()), ("XAU", "12.3456"));
    let why = w.unusable.expect("marked unusable");
    assert!(why.contains("XAU") && why.contains("cannot be used"), "{why}");
    d.close().await;
}
