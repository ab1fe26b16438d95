//! Paging as GATEWAY-API.md allows it: a gateway that caps `limit` and leaves `totalPages` out,
//! and a page far larger than SQLite takes in one statement.

use crate::common::{desk, no_progress, sandbox};
use crate::gateway_proxy::{self as double, ListCall};
use billing::{Desk, InvoiceFilter, ListRequest};
use std::collections::BTreeSet;

async fn cached_outstanding(d: &Desk) -> BTreeSet<i64> {
    let page = d
        .list(&ListRequest {
            filter: InvoiceFilter { status: Some("outstanding".into()), ..Default::default() },
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .expect("list");
    page.rows.iter().map(|r| r.invoice_no).collect()
}

async fn outstanding_at(url: &str) -> BTreeSet<i64> {
    let gw =
        gateway::GatewayClient::new(url, gateway::Token::new("demo-staff-token"), Default::default()).expect("client");
    let mut all = BTreeSet::new();
    for page in 1.. {
        let p = gw.list_invoices(&gateway::InvoiceListQuery { page, ..Default::default() }).await.expect("page");
        all.extend(p.invoices.iter().map(|i| i64::try_from(i.invoice_no).expect("no")));
        if page >= p.total_pages.expect("the sandbox counts its pages") {
            break;
        }
    }
    all
}

/// A gateway that answers 30 rows where we ask for 100, and leaves out `totalPages` (and in the
/// second case `total` and `limit` as well): the sync used to stop after page 2. Every page is
/// read now, and the pass ends on the first short page (or one empty page past the end).
#[tokio::test]
async fn a_gateway_that_caps_limit_without_counting_pages_is_read_to_the_end() {
    let sb = sandbox(300, 15).await;
    let want = outstanding_at(&sb.base_url()).await;
    assert!(want.len() > 120, "well past two capped pages: {}", want.len());
    for dropped in [&["totalPages"][..], &["totalPages", "total", "limit"][..]] {
        let proxy = double::Proxy::start(&sb.base_url()).await;
        proxy.cap_limit(Some(30));
        proxy.drop_pagination(dropped);
        proxy.set_hook(None);
        let dir = tempfile::tempdir().expect("dir");
        let d = desk(&proxy.url, dir.path()).await;
        let report = d.sync(true, &no_progress()).await.expect("sync");
        assert_eq!(cached_outstanding(&d).await, want, "{dropped:?}: every outstanding invoice");
        // the outstanding pass: every capped page, plus at most one empty page past the end
        let pages: Vec<u64> = proxy.answered().iter().filter_map(ListCall::outstanding_page).collect();
        let needed = (want.len() as u64).div_ceil(30);
        assert!(
            pages.len() as u64 >= needed && pages.len() as u64 <= needed + 1,
            "{dropped:?}: {} pages asked for {needed}: {pages:?}",
            pages.len()
        );
        assert!(report.pages >= needed, "{dropped:?}: {report:?}");
        d.close().await;
    }
}

/// One synthetic invoice of the scripted gateway.
fn invoice(no: u64) -> String {
    format!(
        r#"{{"invoiceNo":{no},"customer":{{"id":"c_{no}","name":"Customer {no}"}},"currency":"EUR","total":{no}.25,"outstanding":{no}.25,"status":"outstanding","issuedAt":"2026-11-01T00:00:00Z","dueAt":"2026-12-01T00:00:00Z","updatedAt":"2026-11-02T00:00:00Z","wallet":{{"currency":"USD","balance":1.5}},"paypal":null}}"#
    )
}

/// A page of 1,500 invoices (a gateway that ignores `limit`) is 36,000 bound values in one
/// INSERT, past SQLite's 32,766: the whole sync used to fail ("too many SQL variables"). The
/// page is written in statements under the limit, still in one transaction.
#[tokio::test]
async fn a_page_beyond_sqlites_variable_limit_is_written_whole() {
    const ROWS: u64 = 1_500;
    let page_one = format!(
        r#"{{"data":[{}],"pagination":{{"page":1,"limit":100,"total":{ROWS},"totalPages":1}}}}"#,
        (1..=ROWS).map(invoice).collect::<Vec<_>>().join(",")
    );
    let url = double::scripted(move |target| {
        let first = target.contains("page=1&") || target.ends_with("page=1");
        let body = if first {
            page_one.clone()
        } else {
            format!(r#"{{"data":[],"pagination":{{"total":{ROWS},"totalPages":1}}}}"#)
        };
        (200, body)
    })
    .await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&url, dir.path()).await;
    let report = d.sync(false, &no_progress()).await.expect("sync");
    assert_eq!(report.set_aside, 0, "{report:?}");
    let cached = cached_outstanding(&d).await;
    assert_eq!(cached, (1..=ROWS as i64).collect::<BTreeSet<_>>());
    let last = d.invoice(ROWS as i64).await.expect("the last row");
    assert_eq!((last.outstanding.as_str(), last.currency.as_str()), ("1500.25", "EUR"));
    d.close().await;
}
