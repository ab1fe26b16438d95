use crate::common::{desk, no_progress, sandbox};
use billing::invoices::InvoiceStatus;
use billing::{Desk, ErrorCode, InvoiceFilter, InvoiceRow, ListRequest, SortKey};
use rust_decimal::Decimal;
use std::str::FromStr;

async fn synced(invoices: u64, seed: u64) -> (sandbox::Sandbox, tempfile::TempDir, Desk) {
    let sb = sandbox(invoices, seed).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    (sb, dir, d)
}

/// Every row the filter selects, walking the keyset pages of `limit`.
async fn walk(d: &Desk, filter: &InvoiceFilter, sort: SortKey, descending: bool, limit: u32) -> Vec<InvoiceRow> {
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = d
            .list(&ListRequest {
                filter: filter.clone(),
                sort,
                descending,
                limit: Some(limit),
                after,
                with_totals: false,
            })
            .await
            .expect("page");
        assert!(page.rows.len() <= limit as usize);
        rows.extend(page.rows);
        match page.next {
            Some(n) => after = Some(n),
            None => return rows,
        }
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn key(r: &InvoiceRow, sort: SortKey) -> (String, Decimal, i64) {
    match sort {
        SortKey::DueAt => (r.due_at.clone().unwrap_or_else(|| "9999".into()), Decimal::ZERO, r.invoice_no),
        SortKey::Amount => (String::new(), dec(&r.outstanding), r.invoice_no),
        SortKey::InvoiceNo => (String::new(), Decimal::ZERO, r.invoice_no),
        SortKey::Customer => (r.customer_name.to_lowercase(), Decimal::ZERO, r.invoice_no),
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_row_once_in_order_for_every_sort() {
    let (_sb, _dir, d) = synced(700, 21).await;
    let everything = InvoiceFilter { status: Some("all".into()), ..Default::default() };
    let reference = walk(&d, &everything, SortKey::InvoiceNo, false, 5000).await;
    assert!(reference.len() > 500);
    for sort in [SortKey::DueAt, SortKey::Amount, SortKey::InvoiceNo, SortKey::Customer] {
        for descending in [false, true] {
            let rows = walk(&d, &everything, sort, descending, 37).await;
            let mut want = reference.clone();
            want.sort_by_key(|r| key(r, sort));
            if descending {
                want.reverse();
            }
            let got: Vec<i64> = rows.iter().map(|r| r.invoice_no).collect();
            let want: Vec<i64> = want.iter().map(|r| r.invoice_no).collect();
            assert_eq!(got, want, "{sort:?} descending={descending}");
        }
    }
    d.close().await;
}

#[tokio::test]
async fn filters_select_exactly_the_matching_rows_and_totals_add_up() {
    let (_sb, _dir, d) = synced(600, 22).await;
    let everything =
        walk(&d, &InvoiceFilter { status: Some("all".into()), ..Default::default() }, SortKey::InvoiceNo, false, 5000)
            .await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // a due-date range inside the seeded world's (its dates follow the sandbox clock): the
    // middle half of the outstanding invoices' due days
    let mut due_days: Vec<chrono::NaiveDate> = everything
        .iter()
        .filter(|r| r.status == InvoiceStatus::Outstanding)
        .filter_map(|r| r.due_at.as_deref())
        .map(|d| chrono::NaiveDate::parse_from_str(&d[..10], "%Y-%m-%d").expect("due day"))
        .collect();
    due_days.sort_unstable();
    let (due_from, due_to) = (due_days[due_days.len() / 4], due_days[due_days.len() * 3 / 4]);
    assert!(due_from < due_to, "{due_from}..{due_to}");
    let (from_text, to_text) = (due_from.to_string(), due_to.to_string());
    let after_to = due_to.succ_opt().expect("next day").to_string();
    type Matches = Box<dyn Fn(&InvoiceRow) -> bool>;
    let cases: Vec<(InvoiceFilter, Matches)> = vec![
        (InvoiceFilter { currency: Some("jpy".into()), ..Default::default() }, Box::new(|r| r.currency == "JPY")),
        (
            InvoiceFilter { search: Some("GMBH".into()), ..Default::default() },
            Box::new(|r| r.customer_name.to_lowercase().contains("gmbh")),
        ),
        (
            InvoiceFilter { search: Some("4587".into()), ..Default::default() },
            Box::new(|r| r.invoice_no.to_string().contains("4587") || r.customer_id.contains("4587")),
        ),
        (InvoiceFilter { has_paypal: Some(true), ..Default::default() }, Box::new(|r| r.paypal.is_some())),
        (InvoiceFilter { has_paypal: Some(false), ..Default::default() }, Box::new(|r| r.paypal.is_none())),
        (
            InvoiceFilter { min_amount: Some("1000".into()), max_amount: Some("5000.50".into()), ..Default::default() },
            Box::new(|r| dec(&r.outstanding) >= dec("1000") && dec(&r.outstanding) <= dec("5000.50")),
        ),
        (
            InvoiceFilter { due_from: Some(from_text.clone()), due_to: Some(to_text.clone()), ..Default::default() },
            Box::new(move |r| {
                r.due_at.as_deref().is_some_and(|d| (from_text.as_str()..after_to.as_str()).contains(&&d[..10]))
            }),
        ),
        (InvoiceFilter { overdue: Some(true), ..Default::default() }, {
            let now = now.clone();
            Box::new(move |r| r.due_at.as_deref().is_some_and(|d| d < now.as_str()))
        }),
        (
            InvoiceFilter {
                currency: Some("EUR".into()),
                has_paypal: Some(true),
                search: Some("a".into()),
                ..Default::default()
            },
            Box::new(|r| r.currency == "EUR" && r.paypal.is_some() && r.customer_name.to_lowercase().contains('a')),
        ),
    ];
    let outstanding = everything.iter().filter(|r| r.status == InvoiceStatus::Outstanding).count();
    for (mut filter, matches) in cases {
        filter.status = Some("outstanding".into());
        let want: Vec<i64> = everything
            .iter()
            .filter(|r| r.status == InvoiceStatus::Outstanding && matches(r))
            .map(|r| r.invoice_no)
            .collect();
        // each case selects some of the outstanding invoices, not none and not all
        assert!(!want.is_empty() && want.len() < outstanding, "{} of {outstanding}: {filter:?}", want.len());
        let got: Vec<i64> =
            walk(&d, &filter, SortKey::InvoiceNo, false, 97).await.iter().map(|r| r.invoice_no).collect();
        assert_eq!(got, want, "{filter:?}");
        let page = d
            .list(&ListRequest { filter: filter.clone(), with_totals: true, limit: Some(1), ..Default::default() })
            .await
            .expect("totals");
        assert_eq!(page.total_count, Some(want.len() as i64), "{filter:?}");
        for t in page.totals.expect("asked for totals") {
            let sum: Decimal = everything
                .iter()
                .filter(|r| want.contains(&r.invoice_no) && r.currency == t.currency)
                .map(|r| dec(&r.outstanding))
                .sum();
            assert_eq!(dec(&t.outstanding), sum, "{} {filter:?}", t.currency);
            let digits = t.outstanding.split_once('.').map_or(0, |(_, f)| f.len());
            // ISO 4217's digits, as the gateway's amounts: HUF has two (PayPal's none do not apply)
            assert_eq!(digits, if t.currency == "JPY" { 0 } else { 2 }, "{}", t.outstanding);
        }
    }
    d.close().await;
}

#[tokio::test]
async fn bad_filters_are_clear_errors() {
    let (_sb, _dir, d) = synced(30, 23).await;
    let bad = [
        InvoiceFilter { currency: Some("XYZ".into()), ..Default::default() },
        InvoiceFilter { status: Some("open".into()), ..Default::default() },
        InvoiceFilter { min_amount: Some("ten".into()), ..Default::default() },
        InvoiceFilter { min_amount: Some("-5".into()), ..Default::default() },
        InvoiceFilter { min_amount: Some("10".into()), max_amount: Some("5".into()), ..Default::default() },
        InvoiceFilter { due_from: Some("31/12/2026".into()), ..Default::default() },
    ];
    for filter in bad {
        let e = d.list(&ListRequest { filter: filter.clone(), ..Default::default() }).await.expect_err("refused");
        assert_eq!(e.code, ErrorCode::BadInput, "{filter:?}");
    }
    let e =
        d.list(&ListRequest { after: Some("not-a-cursor".into()), ..Default::default() }).await.expect_err("refused");
    assert_eq!(e.code, ErrorCode::BadInput);
    // a search with SQL wildcards is taken literally
    let page = d
        .list(&ListRequest {
            filter: InvoiceFilter { search: Some("%_%".into()), ..Default::default() },
            ..Default::default()
        })
        .await
        .expect("ok");
    assert!(page.rows.is_empty());
    d.close().await;
}

#[tokio::test]
async fn selection_totals_add_exactly_per_currency() {
    let sb = crate::common::sandbox(300, 11).await;
    let dir = tempfile::tempdir().expect("dir");
    let desk = desk(&sb.base_url(), dir.path()).await;
    desk.sync(true, &no_progress()).await.expect("sync");
    let page =
        desk.list(&billing::ListRequest { limit: Some(300), ..billing::ListRequest::default() }).await.expect("list");
    let nos: Vec<i64> = page.rows.iter().map(|r| r.invoice_no).collect();
    let totals = billing::invoices::selection_totals(desk.pool(), &nos).await.expect("totals");
    assert!(nos.len() > 100 && totals.len() > 1, "{} rows, {totals:?}", nos.len());
    for t in &totals {
        let expected: rust_decimal::Decimal = page
            .rows
            .iter()
            .filter(|r| r.currency == t.currency)
            .map(|r| r.outstanding.parse::<rust_decimal::Decimal>().expect("decimal"))
            .sum();
        assert_eq!(t.outstanding.parse::<rust_decimal::Decimal>().expect("decimal"), expected, "{}", t.currency);
        assert_eq!(t.count, page.rows.iter().filter(|r| r.currency == t.currency).count() as i64);
    }
    assert!(billing::invoices::selection_totals(desk.pool(), &[]).await.expect("empty").is_empty());
}
