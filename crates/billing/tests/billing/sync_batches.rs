//! A sync writes several pages to a transaction (`sync/writer.rs`). A sync stopped between or
//! during those transactions, or by a page that fails, leaves whole pages in the cache, and the
//! next sync completes it: the same rows, columns and search results as a sync never stopped.

use crate::common::{desk, no_progress, sandbox};
use crate::gateway_proxy::{self as double, ListCall};
use billing::sync::SyncMode;
use billing::{Desk, ErrorCode, InvoiceFilter, ListRequest, SyncProgress};
use futures::FutureExt;
use std::sync::Arc;
use tokio::sync::{Notify, Semaphore};

/// Every column the gateway's answer sets (not when or by which run it was written), by number.
async fn rows(d: &Desk) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT json_array(invoice_no, customer_id, customer_name, customer_sort, search_text, currency, total, \
         outstanding, outstanding_e4, status, issued_at, due_at, due_key, updated_at, wallet_currency, wallet_balance, \
         paypal_intent, paypal_order_id, paypal_auth_id, paypal_approved_at, has_paypal, raw_json) \
         FROM invoices ORDER BY invoice_no",
    )
    .fetch_all(d.pool())
    .await
    .expect("rows")
}

async fn written_by_last_run(d: &Desk) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT invoice_no FROM invoices WHERE sync_run = (SELECT run FROM sync_state WHERE id = 1) ORDER BY invoice_no",
    )
    .fetch_all(d.pool())
    .await
    .expect("written")
}

async fn index_live(d: &Desk) -> bool {
    billing::invoices::search_index::live(d.pool()).await.expect("live")
}

async fn found(d: &Desk, term: &str) -> Vec<i64> {
    let req = ListRequest {
        filter: InvoiceFilter { status: Some("all".into()), search: Some(term.into()), ..Default::default() },
        limit: Some(5000),
        ..Default::default()
    };
    d.list(&req).await.expect("search").rows.iter().map(|r| r.invoice_no).collect()
}

/// The outstanding invoices at the gateway, by number.
async fn outstanding_at(url: &str) -> Vec<i64> {
    let gw =
        gateway::GatewayClient::new(url, gateway::Token::new("demo-staff-token"), Default::default()).expect("client");
    let mut all = Vec::new();
    for page in 1.. {
        let q = gateway::InvoiceListQuery { page, limit: 100, sort_by: "invoiceNo", ..Default::default() };
        let p = gw.list_invoices(&q).await.expect("page");
        all.extend(p.invoices.iter().map(|i| i64::try_from(i.invoice_no).expect("no")));
        if page >= p.total_pages.expect("the sandbox counts its pages") {
            break;
        }
    }
    all.sort_unstable();
    all
}

/// The cache of `d` agrees with `reference` (a sync never stopped): rows, search index, searches.
async fn agrees(d: &Desk, reference: &Desk) {
    let (got, want) = (rows(d).await, rows(reference).await);
    assert_eq!(got.len(), want.len(), "as many rows");
    let differs = got.iter().zip(&want).find(|(g, w)| g != w);
    assert!(differs.is_none(), "the same rows and columns: {differs:?}");
    assert!(index_live(d).await && index_live(reference).await, "the search index is live again");
    for term in ["gmbh", "ltd", "00"] {
        let (got, want) = (found(d, term).await, found(reference, term).await);
        assert!(!want.is_empty(), "{term}");
        assert_eq!(got, want, "searching {term:?}");
    }
}

/// The desk is stopped (its sync dropped, as a killed process stops) once a first batch is
/// written, while later pages are held at the gateway: the cache holds whole pages of the list,
/// the search index stays suspended, and the next sync is full and completes it.
#[tokio::test]
async fn a_sync_stopped_half_way_is_completed_by_the_next() {
    let sb = sandbox(5000, 21).await;
    let reference_dir = tempfile::tempdir().expect("dir");
    let reference = desk(&sb.base_url(), reference_dir.path()).await;
    reference.sync(true, &no_progress()).await.expect("reference sync");

    let proxy = double::Proxy::start(&sb.base_url()).await;
    let gate = Arc::new(Semaphore::new(0));
    let g = gate.clone();
    proxy.set_hook(Some(Arc::new(move |call: ListCall| {
        let g = g.clone();
        async move {
            if call.outstanding_page().is_some_and(|p| p >= 35) {
                drop(g.acquire().await.expect("gate"));
            }
            None
        }
        .boxed()
    })));
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&proxy.url, dir.path()).await;
    let written = Arc::new(Notify::new());
    let w = written.clone();
    let progress = move |_: SyncProgress| w.notify_one();
    tokio::select! {
        biased;
        () = written.notified() => {}
        r = d.sync(true, &progress) => panic!("pages from 35 on are held: the sync cannot end ({r:?})"),
    }
    gate.add_permits(1000);
    proxy.set_hook(None);

    let kept = written_by_last_run(&d).await;
    let listed = outstanding_at(&sb.base_url()).await;
    assert!(listed.len() > 4000, "{}", listed.len());
    assert!(!kept.is_empty() && kept.len() % 100 == 0 && kept.len() < 3500, "whole pages before 35: {}", kept.len());
    assert_eq!(kept, listed[..kept.len()], "the first pages of the list, in order");
    assert!(!index_live(&d).await, "the search index stays suspended until a sync rebuilds it");

    let next = d.sync(false, &no_progress()).await.expect("next sync");
    assert_eq!(next.mode, SyncMode::Full, "a stopped full sync is done again in full");
    agrees(&d, &reference).await;
    d.close().await;
    reference.close().await;
}

/// A page that fails after a batch was written: every page before it is written (the batch
/// before, and the pages read since), none after, the sync fails, and the next one completes.
#[tokio::test]
async fn a_page_that_fails_keeps_every_page_before_it() {
    let sb = sandbox(4000, 22).await;
    let reference_dir = tempfile::tempdir().expect("dir");
    let reference = desk(&sb.base_url(), reference_dir.path()).await;
    reference.sync(true, &no_progress()).await.expect("reference sync");

    let proxy = double::Proxy::start(&sb.base_url()).await;
    proxy.set_hook(Some(Arc::new(|call: ListCall| {
        async move { (call.outstanding_page() == Some(27)).then_some(500) }.boxed()
    })));
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&proxy.url, dir.path()).await;
    let e = d.sync(true, &no_progress()).await.expect_err("page 27 fails");
    assert_eq!(e.code, ErrorCode::GatewayError, "{e:?}");
    let listed = outstanding_at(&sb.base_url()).await;
    assert!(listed.len() > 2700, "{}", listed.len());
    assert_eq!(written_by_last_run(&d).await, listed[..2600], "pages 1 to 26, none after");

    proxy.set_hook(None);
    assert_eq!(d.sync(false, &no_progress()).await.expect("next sync").mode, SyncMode::Full);
    agrees(&d, &reference).await;
    d.close().await;
    reference.close().await;
}
