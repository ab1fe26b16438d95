//! `desk status`, `desk sync`, `desk invoices list|show`: what they print, checked against what
//! the gateway itself lists.

use crate::common::{config, dec, s, Harness, SEED_INVOICE, STAFF};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn numbers(rows: &Value) -> Vec<u64> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not an array: {rows}"))
        .iter()
        .map(|r| r["invoiceNo"].as_u64().unwrap_or_else(|| panic!("no invoiceNo in {r}")))
        .collect()
}

fn set(v: &[u64]) -> BTreeSet<u64> {
    v.iter().copied().collect()
}

/// The invoice numbers `desk invoices list --all ARGS --json` prints.
async fn ids(h: &Harness, args: &[&str]) -> BTreeSet<u64> {
    let mut a = vec!["invoices", "list", "--all"];
    a.extend_from_slice(args);
    set(&numbers(&h.json(&a).await))
}

#[tokio::test]
async fn status_and_sync_report_the_cache_and_invoices_match_the_gateway() {
    let h = Harness::start(config(120, 5)).await;

    // before the first sync
    let st = h.json(&["status"]).await;
    assert_eq!(st["environment"], "sandbox");
    assert_eq!(st["gatewayUrl"], h.url.as_str());
    assert_eq!(st["staffName"], STAFF);
    assert_eq!(st["dataDir"], h.data_dir().display().to_string().as_str());
    // whose data is shown: sandbox's own database
    let database = h.data_dir().join("sandbox").join("desk.sqlite3");
    assert_eq!(st["database"], database.display().to_string().as_str());
    assert_eq!(st["demoWorld"], Value::Null);
    assert_eq!(st["cachedInvoices"], 0);
    assert_eq!(st["lastSyncedAt"], Value::Null);
    assert_eq!(st["gatewayProblem"], Value::Null);
    let out = h.run(&["status"]).await.code(0);
    assert_eq!(out.line("environment:").split_whitespace().collect::<Vec<_>>(), ["environment:", "sandbox"]);
    assert_eq!(out.line("data shown:"), format!("data shown:      sandbox's own ({})", database.display()));
    assert!(out.line("gateway:").ends_with(h.url.as_str()), "{}", out.stdout);
    assert!(out.line("staff:").ends_with(STAFF));
    assert!(out.line("cached invoices:").ends_with(" 0"));
    assert!(out.line("last synced at:").ends_with("never"));

    // the first sync is a full one and caches exactly the gateway's outstanding invoices (and
    // what its catch-up pass finds changed since shortly before it started)
    let gw = h.gateway_invoices("outstanding").await;
    assert!(gw.len() > 50, "{} outstanding", gw.len());
    let report = h.json(&["sync"]).await;
    assert_eq!(report["mode"], "full");
    let caught = caught_up(&h, &report).await;
    assert_eq!(report["invoices"], gw.len() + caught.len());
    assert_eq!(report["pages"], gw.len().div_ceil(100).max(1) + caught.len().div_ceil(100).max(1));
    assert_eq!(report["closed"], 0);
    let cached: BTreeSet<u64> = gw.iter().map(|i| i.invoice_no).chain(caught.iter().copied()).collect();

    let rows = h.json(&["invoices", "list", "--all"]).await;
    let listed = numbers(&rows);
    assert_eq!(set(&listed), gw.iter().map(|i| i.invoice_no).collect(), "the cache lists what the gateway lists");
    for g in &gw {
        let r = rows.as_array().and_then(|a| a.iter().find(|r| r["invoiceNo"] == g.invoice_no)).expect("listed");
        assert_eq!(g.status, "outstanding");
        assert_eq!(r["status"], "outstanding");
        assert_eq!(s(r, "currency"), g.currency);
        assert_eq!(s(r, "customerId"), g.customer.id);
        assert_eq!(s(r, "customerName"), g.customer.name);
        assert_eq!(dec(s(r, "total")), dec(g.total.get()), "invoice {}", g.invoice_no);
        assert_eq!(dec(s(r, "outstanding")), dec(g.outstanding.get()), "invoice {}", g.invoice_no);
        assert_eq!(r["paypal"]["orderId"].as_str(), g.paypal.as_ref().map(|p| p.order_id.as_str()));
        assert_eq!(r["paypal"]["intent"].as_str(), g.paypal.as_ref().map(|p| p.intent.as_str()));
        assert_eq!(
            r["paypal"]["authorizationId"].as_str(),
            g.paypal.as_ref().and_then(|p| p.authorization_id.as_deref())
        );
        assert_eq!(r["dueAt"].as_str().map(|d| d[..19].to_owned()), g.due_at.as_ref().map(|d| d[..19].to_owned()));
    }

    // the seed example, to the digit
    let seed = h.json(&["invoices", "show", &SEED_INVOICE.to_string()]).await;
    assert_eq!(seed["invoiceNo"], SEED_INVOICE);
    assert_eq!(seed["customerId"], "c_102");
    assert_eq!(seed["customerName"], "Nordlicht Freight GmbH");
    assert_eq!(seed["currency"], "USD");
    assert_eq!(seed["total"], "250.00");
    assert_eq!(seed["outstanding"], "250.00");
    assert_eq!(seed["status"], "outstanding");
    assert_eq!(seed["wallet"], json!({ "currency": "EUR", "balance": "40.50" }));
    assert_eq!(seed["paypal"]["intent"], "CAPTURE");
    assert_eq!(seed["paypal"]["orderId"], "5O190127TN364715T");
    assert_eq!(seed["paypal"]["authorizationId"], Value::Null);
    let in_list = rows.as_array().and_then(|a| a.iter().find(|r| r["invoiceNo"] == SEED_INVOICE)).expect("listed");
    assert_eq!(&seed, in_list, "show and list agree");
    let out = h.run(&["invoices", "show", &SEED_INVOICE.to_string()]).await.code(0);
    assert_eq!(out.line("invoice:"), format!("invoice:      {SEED_INVOICE}"));
    assert_eq!(out.line("customer:"), "customer:     Nordlicht Freight GmbH (c_102)");
    assert!(out.line("status:").starts_with("status:       outstanding"));
    assert_eq!(out.line("total:"), "total:        250.00 USD");
    assert_eq!(out.line("outstanding:"), "outstanding:  250.00 USD");
    assert_eq!(out.line("wallet:"), "wallet:       40.50 EUR");
    assert!(out.line("paypal:").starts_with("paypal:       CAPTURE order 5O190127TN364715T, approved "));

    // status after the sync
    let st = h.json(&["status"]).await;
    assert_eq!(st["cachedInvoices"], cached.len());
    let synced_at = s(&st, "lastSyncedAt").to_owned();
    assert_eq!(st["lastSyncError"], Value::Null);
    let out = h.run(&["status"]).await.code(0);
    assert!(out.line("cached invoices:").ends_with(&format!(" {}", cached.len())));
    assert!(out.line("last synced at:").ends_with(&synced_at));

    // someone pays the seed example at the gateway; the next (incremental) sync sees it
    let paid = h
        .post(
            "/api/v1/billing/invoice/paypal/capture",
            &json!({ "amount": 250, "invoiceNo": SEED_INVOICE, "paymentId": "PAYPAL-9X8Y7Z6W5V4U3T2S1R0", "currencyCode": "USD",
                     "partPaymentFromWalletBalance": { "currency": "USD", "exchangeRate": 1, "chargeTotalBefore": 250, "chargeTotalCurrent": 0 } }),
        )
        .await;
    assert_eq!(paid, 200);
    let out = h.run(&["sync"]).await.code(0);
    let line = out.line("incremental sync:");
    assert!(line.starts_with("incremental sync: ") && line.contains(" invoices in "), "{line}");
    let seed = h.json(&["invoices", "show", &SEED_INVOICE.to_string()]).await;
    assert_eq!(seed["status"], "paid");
    assert_eq!(seed["outstanding"], "0.00");
    assert_eq!(seed["total"], "250.00");
    assert_eq!(seed["paypal"], Value::Null);
    let paid_at_gateway: BTreeSet<u64> = h.gateway_invoices("paid").await.iter().map(|i| i.invoice_no).collect();
    let paid_cached: BTreeSet<u64> = cached.intersection(&paid_at_gateway).copied().collect();
    assert!(paid_cached.contains(&SEED_INVOICE));
    assert_eq!(ids(&h, &["--status", "paid"]).await, paid_cached);
    assert!(!ids(&h, &[]).await.contains(&SEED_INVOICE));

    // --full re-reads everything
    let out = h.run(&["sync", "--full"]).await.code(0);
    let words: Vec<&str> = out.line("full sync:").split_whitespace().collect();
    assert_eq!(words[..2], ["full", "sync:"]);
    assert_eq!(words[3..5], ["invoices", "in"]);
    assert!(words[2].parse::<usize>().expect("a count") >= gw.len() - 1, "{}", out.stdout);
    let report = h.json(&["sync", "--full"]).await;
    assert_eq!(report["mode"], "full");
    let caught = caught_up(&h, &report).await;
    assert_eq!(report["invoices"], gw.len() - 1 + caught.len());
    assert_eq!(report["closed"], 0);
    let st = h.json(&["status"]).await;
    assert_eq!(st["cachedInvoices"], cached.iter().chain(caught.iter()).collect::<BTreeSet<_>>().len());
}

/// The invoices a full sync's catch-up pass reads: every status, updated since ten minutes
/// before the sync started (by the gateway's `updatedAt`).
async fn caught_up(h: &Harness, report: &Value) -> BTreeSet<u64> {
    let started = chrono::DateTime::parse_from_rfc3339(s(report, "startedAt")).expect("startedAt").to_utc();
    let since = started - chrono::Duration::minutes(10);
    h.gateway_invoices("all").await.iter().filter(|i| i.updated_at() >= since).map(|i| i.invoice_no).collect()
}

/// `desk invoices list --all --sort SORT [--desc] --json`: every row exactly once.
async fn sorted(h: &Harness, sort: &str, desc: bool, every: &BTreeSet<u64>) -> Value {
    let mut a = vec!["invoices", "list", "--all", "--sort", sort];
    if desc {
        a.push("--desc");
    }
    let v = h.json(&a).await;
    assert_eq!(&set(&numbers(&v)), every, "--sort {sort}");
    assert_eq!(numbers(&v).len(), every.len(), "--sort {sort}: no row twice");
    v
}

/// Every row of `rows` in the order `key` says (ties by invoice number, in the same direction).
fn assert_sorted<K: Ord + std::fmt::Debug>(rows: &Value, desc: bool, what: &str, key: impl Fn(&Value) -> K) {
    let keyed: Vec<(K, u64)> =
        rows.as_array().expect("rows").iter().map(|r| (key(r), r["invoiceNo"].as_u64().expect("no"))).collect();
    for pair in keyed.windows(2) {
        let ok = if desc { pair[0] > pair[1] } else { pair[0] < pair[1] };
        assert!(ok, "--sort {what}{}: {:?} before {:?}", if desc { " --desc" } else { "" }, pair[0], pair[1]);
    }
}

#[tokio::test]
async fn invoices_list_filters_sorts_and_limits_like_the_readme_says() {
    let h = Harness::synced(config(300, 5)).await;
    let all = h.json(&["invoices", "list", "--all"]).await;
    let rows = all.as_array().expect("rows").clone();
    let every = set(&numbers(&all));
    assert!(rows.len() > 200, "{} outstanding", rows.len());
    let expect = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<u64> {
        rows.iter().filter(|r| pred(r)).map(|r| r["invoiceNo"].as_u64().expect("no")).collect()
    };
    // --currency
    let eur = expect(&|r| r["currency"] == "EUR");
    assert!(!eur.is_empty() && eur.len() < rows.len());
    assert_eq!(ids(&h, &["--currency", "EUR"]).await, eur);

    // --search: customer name (any case), customer id, invoice number
    let name = s(&rows[0], "customerName").to_owned();
    let word = name.split_whitespace().next().expect("a word").to_uppercase();
    let by_name = expect(&|r| s(r, "customerName").to_uppercase().contains(&word));
    assert!(by_name.contains(&rows[0]["invoiceNo"].as_u64().expect("no")));
    assert_eq!(ids(&h, &["--search", &word]).await, by_name);
    let id = s(&rows[1], "customerId").to_owned();
    assert_eq!(ids(&h, &["--search", &id]).await, expect(&|r| s(r, "customerId").contains(&id)));
    assert_eq!(ids(&h, &["--search", &SEED_INVOICE.to_string()]).await, BTreeSet::from([SEED_INVOICE]));

    // --due-from / --due-to (whole days, both ends included), --overdue
    let mut dues: Vec<String> = rows.iter().map(|r| s(r, "dueAt")[..10].to_owned()).collect();
    dues.sort();
    let (from, to) = (dues[dues.len() / 3].clone(), dues[2 * dues.len() / 3].clone());
    let between = expect(&|r| {
        let d = &s(r, "dueAt")[..10];
        d >= from.as_str() && d <= to.as_str()
    });
    assert!(!between.is_empty() && between.len() < rows.len());
    assert_eq!(ids(&h, &["--due-from", &from, "--due-to", &to]).await, between);
    assert_eq!(ids(&h, &["--due-from", &from]).await, expect(&|r| &s(r, "dueAt")[..10] >= from.as_str()));
    let overdue = expect(&|r| r["overdue"] == true);
    assert!(!overdue.is_empty() && overdue.len() < rows.len(), "the seeded world has overdue and current invoices");
    assert_eq!(ids(&h, &["--overdue"]).await, overdue);

    // --min-amount / --max-amount (outstanding, any currency)
    let (lo, hi) = (Decimal::from(500), Decimal::new(500_000, 2));
    let in_range = expect(&|r| {
        let a = dec(s(r, "outstanding"));
        a >= lo && a <= hi
    });
    assert!(!in_range.is_empty() && in_range.len() < rows.len());
    assert_eq!(ids(&h, &["--min-amount", "500", "--max-amount", "5000.00"]).await, in_range);

    // --paypal / --no-paypal
    let with = expect(&|r| !r["paypal"].is_null());
    assert!(!with.is_empty() && with.len() < rows.len());
    assert_eq!(ids(&h, &["--paypal"]).await, with);
    assert_eq!(ids(&h, &["--no-paypal"]).await, every.difference(&with).copied().collect::<BTreeSet<_>>());

    // --status
    assert_eq!(ids(&h, &["--status", "outstanding"]).await, every);
    let everything = h.json(&["invoices", "list", "--all", "--status", "all"]).await;
    assert!(set(&numbers(&everything)).is_superset(&every));
    assert!(h
        .json(&["invoices", "list", "--all", "--status", "cancelled"])
        .await
        .as_array()
        .expect("rows")
        .iter()
        .all(|r| r["status"] == "cancelled"));

    // combined filters are an intersection
    assert_eq!(
        ids(&h, &["--currency", "EUR", "--paypal"]).await,
        eur.intersection(&with).copied().collect::<BTreeSet<_>>()
    );

    // every sort, both ways, lists every row exactly once in order
    for desc in [false, true] {
        assert_sorted(&sorted(&h, "due", desc, &every).await, desc, "due", |r| s(r, "dueAt").to_owned());
        assert_sorted(&sorted(&h, "amount", desc, &every).await, desc, "amount", |r| dec(s(r, "outstanding")));
        assert_sorted(&sorted(&h, "number", desc, &every).await, desc, "number", |r| r["invoiceNo"].as_u64());
        assert_sorted(&sorted(&h, "customer", desc, &every).await, desc, "customer", |r| {
            s(r, "customerName").to_lowercase()
        });
    }
    // the default sort is by due date
    assert_sorted(&all, false, "due (default)", |r| s(r, "dueAt").to_owned());

    // --limit: the first N of the same order, with a note on stderr; --all: no note
    let out = h.run(&["invoices", "list", "--limit", "7", "--json"]).await.code(0);
    assert_eq!(numbers(&out.json()), numbers(&all)[..7]);
    assert!(out.stderr.contains("showing the first 7 invoices; use --limit N or --all for more"), "{}", out.stderr);
    let out = h.run(&["invoices", "list", "--limit", &rows.len().to_string(), "--json"]).await.code(0);
    assert_eq!(numbers(&out.json()), numbers(&all));
    assert!(!out.stderr.contains("showing the first"), "{}", out.stderr);
    let out = h.run(&["invoices", "list", "--all", "--json"]).await.code(0);
    assert!(!out.stderr.contains("showing the first"), "{}", out.stderr);
    // without --limit or --all at most 1000 rows: all of these
    assert_eq!(numbers(&h.json(&["invoices", "list"]).await), numbers(&all));

    // the table: a header and one line per invoice, amounts as cached
    let out = h.run(&["invoices", "list", "--search", &SEED_INVOICE.to_string()]).await.code(0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["INVOICE", "CUSTOMER", "OUTSTANDING", "CUR", "DUE", "STATUS", "PAYPAL"]);
    let seed = rows.iter().find(|r| r["invoiceNo"] == SEED_INVOICE).expect("seed listed");
    let status = if seed["overdue"] == true { "overdue" } else { "outstanding" };
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        cells,
        [
            &SEED_INVOICE.to_string(),
            "Nordlicht",
            "Freight",
            "GmbH",
            "250.00",
            "USD",
            &s(seed, "dueAt")[..10],
            status,
            "capture",
            "5O190127TN364715T"
        ]
    );
    let out = h.run(&["invoices", "list", "--all"]).await.code(0);
    assert_eq!(out.stdout.lines().count(), rows.len() + 1);
}
