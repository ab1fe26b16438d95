//! A page (or a detail read) asked for before a capture marked its invoice paid, written after
//! the mark, through the real sandbox: the capture is the desk's own, and the race is made by
//! holding the page between its fetch and the writer, so no timing decides it.

use super::writer::{Fetched, Writer};
use super::{begin, paging, SyncMode};
use crate::capture::State;
use crate::invoices::InvoiceStatus;
use crate::{Desk, EnvOverrides};
use chrono::Utc;
use gateway::{GatewayClient, InvoiceListQuery, InvoiceStatusFilter, SortOrder};

/// The seed example: outstanding 250.00 USD with an approved PayPal order; captures cleanly.
const SEED: i64 = 458_732;

async fn started(seed: u64) -> (sandbox::Sandbox, tempfile::TempDir, Desk) {
    let config = sandbox::Config { invoices: 250, seed, rate_limit: 0, ..sandbox::Config::default() };
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("dir");
    let d = crate::batch::tests::desk(&sb.base_url(), dir.path(), EnvOverrides::off()).await;
    d.sync(true, &|_| {}).await.expect("first sync");
    (sb, dir, d)
}

fn gateway(d: &Desk) -> GatewayClient {
    d.engine(None).expect("engine").gateway.clone()
}

/// Page `page` of the outstanding list (by number, as a full sync asks), as `paging` fetches it:
/// with the instant its request was sent.
async fn page_at(gw: &GatewayClient, page: u64) -> Fetched {
    let q = InvoiceListQuery {
        page,
        limit: 100,
        status: InvoiceStatusFilter::Outstanding,
        updated_since: None,
        sort_by: "invoiceNo",
        sort_order: SortOrder::Asc,
    };
    let (asked_at, page) = paging::fetch(gw, &q).await.expect("page");
    Fetched { page, pages_total: None, asked_at }
}

fn holds(f: &Fetched, invoice_no: i64) -> bool {
    f.page.invoices.iter().any(|i| i64::try_from(i.invoice_no).ok() == Some(invoice_no))
}

/// The page of the outstanding list that holds `invoice_no`.
async fn page_with(gw: &GatewayClient, invoice_no: i64) -> Fetched {
    for page in 1..=10 {
        let f = page_at(gw, page).await;
        if holds(&f, invoice_no) {
            return f;
        }
    }
    panic!("invoice {invoice_no} is on no outstanding page");
}

/// Writes `pages` as a sync run writes them (the writer, one batch), in a new sync run; the run.
async fn write_as_a_sync(d: &Desk, pages: Vec<Fetched>) -> i64 {
    let run = begin(d.pool(), Utc::now()).await.expect("run").run;
    let (to_writer, from_reader) = tokio::sync::mpsc::channel(pages.len());
    for f in pages {
        to_writer.send(f).await.expect("send");
    }
    drop(to_writer);
    let mut conn = d.pool().acquire().await.expect("connection");
    let progress = |_| {};
    Writer::new(&mut conn, run, SyncMode::Full, &progress).drain(from_reader).await.expect("written");
    run
}

async fn sync_run_of(d: &Desk, invoice_no: i64) -> i64 {
    sqlx::query_scalar("SELECT sync_run FROM invoices WHERE invoice_no = ?")
        .bind(invoice_no)
        .fetch_one(d.pool())
        .await
        .expect("sync_run")
}

async fn assert_search_index_whole(d: &Desk) {
    crate::invoices::search_index::repair(d.pool()).await.expect("index live");
    sqlx::query("INSERT INTO invoices_fts (invoices_fts) VALUES ('integrity-check')")
        .execute(d.pool())
        .await
        .expect("the search index matches the invoices");
}

/// POST /__sandbox/reset: the seeded world again, so the gateway holds the invoice outstanding
/// again after the desk's payment (as a reversal would).
async fn gateway_reverts(sb: &sandbox::Sandbox) {
    let r = reqwest::Client::new().post(format!("{}/__sandbox/reset", sb.base_url())).send().await.expect("reset");
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn a_page_asked_for_before_the_capture_marked_its_invoice_paid_leaves_it_paid() {
    let (_sb, _dir, d) = started(31).await;
    let gw = gateway(&d);
    // the sync's page is read while the invoice is outstanding, then waits for the writer
    let stale = page_with(&gw, SEED).await;
    let other = stale.page.invoices.iter().map(|i| i64::try_from(i.invoice_no).expect("no")).find(|n| *n != SEED);
    let other = other.expect("another invoice on the page");
    let stale_asked_at = stale.asked_at.clone();

    let r = d.capture(SEED).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    let paid = d.invoice(SEED).await.expect("cached");
    assert_eq!((paid.status, paid.outstanding.as_str(), paid.paypal.is_none()), (InvoiceStatus::Paid, "0.00", true));

    let run = write_as_a_sync(&d, vec![stale]).await;
    assert_eq!(d.invoice(SEED).await.expect("cached"), paid, "the older page left the paid mark as it was");
    assert_eq!(sync_run_of(&d, SEED).await, run, "a row the page left as marked still counts as seen");
    assert_eq!(sync_run_of(&d, other).await, run, "the rest of the page is written");
    let synced_at: String = sqlx::query_scalar("SELECT synced_at FROM invoices WHERE invoice_no = ?")
        .bind(other)
        .fetch_one(d.pool())
        .await
        .expect("synced_at");
    assert_eq!(synced_at, stale_asked_at, "a row keeps when its view was asked for");
    let unseen = crate::invoices::outstanding_not_seen(d.pool(), run).await.expect("unseen");
    assert!(!unseen.contains(&u64::try_from(SEED).expect("no")), "{unseen:?}");
    assert_search_index_whole(&d).await;

    // a second capture attempt is answered by the finalized entry, the clerk's list by the mark
    let again = d.capture(SEED).await.expect("again");
    assert_eq!((again.journal_id, again.state), (r.journal_id, State::Finalized));
    d.close().await;
}

#[tokio::test]
async fn a_page_asked_for_after_the_mark_is_the_gateways_word_even_in_a_batch_with_an_older_page() {
    let (sb, _dir, d) = started(32).await;
    let gw = gateway(&d);
    // a page without the invoice, asked for before the capture; written in one batch with the next
    let older = page_at(&gw, 1).await;
    assert!(!older.page.invoices.is_empty() && !holds(&older, SEED));
    let r = d.capture(SEED).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert_eq!(d.invoice(SEED).await.expect("cached").status, InvoiceStatus::Paid);

    gateway_reverts(&sb).await;
    let newer = page_with(&gw, SEED).await;
    let run = write_as_a_sync(&d, vec![older, newer]).await;
    let row = d.invoice(SEED).await.expect("cached");
    assert_eq!((row.status, row.outstanding.as_str()), (InvoiceStatus::Outstanding, "250.00"));
    assert!(row.paypal.is_some(), "the approval is back with the gateway's view");
    assert_eq!(sync_run_of(&d, SEED).await, run);
    assert_search_index_whole(&d).await;
    d.close().await;
}

#[tokio::test]
async fn a_full_sync_after_the_mark_takes_the_gateways_outstanding_view() {
    let (sb, _dir, d) = started(33).await;
    let r = d.capture(SEED).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    gateway_reverts(&sb).await;
    d.sync(true, &|_| {}).await.expect("full sync");
    let row = d.invoice(SEED).await.expect("cached");
    assert_eq!((row.status, row.outstanding.as_str()), (InvoiceStatus::Outstanding, "250.00"));
    assert_search_index_whole(&d).await;
    d.close().await;
}

#[tokio::test]
async fn a_detail_read_asked_for_before_the_capture_marked_its_invoice_paid_leaves_it_paid() {
    let (sb, _dir, d) = started(34).await;
    let gw = gateway(&d);
    let asked_at = Utc::now();
    let stale = gw.invoice(u64::try_from(SEED).expect("no")).await.expect("detail, outstanding");
    assert_eq!(stale.status, gateway::InvoiceStatus::Outstanding);
    let r = d.capture(SEED).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    let paid = d.invoice(SEED).await.expect("cached");

    crate::invoices::refresh_one(d.pool(), &stale, asked_at).await.expect("refresh");
    assert_eq!(d.invoice(SEED).await.expect("cached"), paid, "the older answer left the paid mark as it was");

    // asked for after the mark, the gateway's answer is written, outstanding again too
    gateway_reverts(&sb).await;
    let live = d.invoice_live(SEED).await.expect("live");
    assert!(live.gateway_error.is_none(), "{:?}", live.gateway_error);
    let row = d.invoice(SEED).await.expect("cached");
    assert_eq!((row.status, row.outstanding.as_str()), (InvoiceStatus::Outstanding, "250.00"));
    d.close().await;
}
