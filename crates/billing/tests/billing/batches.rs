//! Batches through the real sandbox (synced first): created from a selection, a filter and a
//! file, all or nothing; one open batch per invoice; exclude and include; approve before a
//! preflight refused; cancel. (The approval after a preflight is tested in the crate, where
//! preflight's store function is reachable.)

use crate::common::{approved_rows, desk, no_progress, sandbox};
use billing::audit::{self, AuditFilter};
use billing::batch::{Approval, BatchSource, BatchState, BatchView, ItemOutcome, SourceKind};
use billing::{Desk, ErrorCode, InvoiceFilter};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

async fn synced(dir: &std::path::Path, url: &str) -> Desk {
    let d = desk(url, dir).await;
    d.sync(false, &no_progress()).await.expect("sync");
    d
}

fn numbers(v: &BatchView) -> Vec<i64> {
    v.items.iter().map(|i| i.invoice_no).collect()
}

async fn batch_audit(d: &Desk) -> Vec<String> {
    let all = audit::query(d.pool(), &AuditFilter::default()).await.expect("audit");
    all.into_iter()
        .rev()
        .filter(|e| e.action.starts_with("batch."))
        .map(|e| format!("{} {}", e.action, e.staff))
        .collect()
}

fn selection(invoices: &[i64]) -> BatchSource {
    BatchSource::Selection { invoices: invoices.to_vec() }
}

#[tokio::test]
async fn a_batch_from_a_filter_holds_what_the_list_shows_with_its_totals_per_currency() {
    let sb = sandbox(150, 11).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let rows = approved_rows(&d).await;
    assert!(rows.len() > 5, "{} approved", rows.len());

    let filter = InvoiceFilter { status: Some("outstanding".into()), has_paypal: Some(true), ..Default::default() };
    let v = d
        .batch_create("Ana", Some("morning run"), &BatchSource::Filter { filter: filter.clone() })
        .await
        .expect("create");
    let mut want: Vec<i64> = rows.iter().map(|r| r.invoice_no).collect();
    want.sort_unstable();
    assert_eq!(numbers(&v), want, "the filter's invoices, by number");
    assert_eq!(
        (v.state(), v.batch.source_kind, v.batch.name.as_str()),
        (BatchState::Draft, SourceKind::Filter, "morning run")
    );
    assert_eq!(v.batch.created_by, "Ana");
    let kept: InvoiceFilter = serde_json::from_str(v.batch.source.as_deref().expect("source")).expect("filter JSON");
    assert_eq!(kept, filter);
    assert!(v.items.iter().all(|i| i.verdict.is_none() && i.outcome.is_none() && !i.excluded));
    assert_eq!(v.batch.item_count, rows.len() as i64);

    // totals per currency: the outstanding amounts at creation, exactly
    let mut sums: BTreeMap<String, (i64, Decimal)> = BTreeMap::new();
    for r in &rows {
        let e = sums.entry(r.currency.clone()).or_default();
        e.0 += 1;
        e.1 += Decimal::from_str(&r.outstanding).expect("amount");
    }
    let got: BTreeMap<String, (i64, Decimal)> = v
        .totals
        .iter()
        .map(|t| (t.currency.clone(), (t.count, Decimal::from_str(&t.outstanding).expect("total"))))
        .collect();
    assert_eq!(got, sums);
    for i in &v.items {
        let r = rows.iter().find(|r| r.invoice_no == i.invoice_no).expect("row");
        assert_eq!((&i.currency, &i.total, &i.outstanding), (&r.currency, &r.total, &r.outstanding));
    }
    assert_eq!(d.batches().await.expect("list").len(), 1);
    assert_eq!(batch_audit(&d).await, ["batch.created Ana"]);
    d.close().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn a_file_with_unknown_numbers_or_duplicates_is_reported_line_by_line_and_nothing_is_made() {
    let sb = sandbox(80, 12).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let rows = approved_rows(&d).await;
    let (a, b) = (rows[0].invoice_no, rows[1].invoice_no);
    let file = dir.path().join("numbers.csv");
    std::fs::write(&file, format!("invoice,customer\n{a},x\n987654321,y\n\n{b}\n{a}\nnot-a-number\n")).expect("file");
    let path = file.display().to_string();

    let e = d.batch_create("Ana", None, &BatchSource::File { path: path.clone() }).await.expect_err("problems");
    assert_eq!(e.code, ErrorCode::BadInput);
    let lines: Vec<&str> = e.message.lines().skip(1).map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "line 3: \"987654321\": no such invoice in the local cache (sync first?)".to_owned(),
            format!("line 6: \"{a}\": duplicate of line 2"),
            "line 7: \"not-a-number\": not an invoice number".to_owned(),
        ]
    );
    assert!(d.batches().await.expect("list").is_empty(), "nothing half-made");
    assert!(batch_audit(&d).await.is_empty());

    // the same numbers given by hand: the duplicate reported, nothing made
    let e = d.batch_create("Ana", None, &selection(&[a, b, a])).await.expect_err("duplicate");
    assert!(e.message.contains(&format!("line 3: \"{a}\": duplicate of line 1")), "{}", e.message);
    assert!(d.batches().await.expect("list").is_empty());

    // the file fixed: a header, one number a line, the first CSV column
    std::fs::write(&file, format!("invoice,customer\n{a},x\n\n{b}\n")).expect("file");
    let v = d.batch_create("Ana", None, &BatchSource::File { path }).await.expect("create");
    assert_eq!(numbers(&v), [a, b], "in the file's order");
    assert_eq!((v.batch.source_kind, v.batch.source.as_deref()), (SourceKind::File, Some("numbers.csv")));
    d.close().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn an_invoice_is_in_one_open_batch_at_a_time() {
    let sb = sandbox(80, 13).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let rows = approved_rows(&d).await;
    let (x, y, z) = (rows[0].invoice_no, rows[1].invoice_no, rows[2].invoice_no);

    let first = d.batch_create("Ana", None, &selection(&[x, y])).await.expect("first");
    let e = d.batch_create("Ben", None, &selection(&[z, y])).await.expect_err("y is held");
    assert_eq!(e.code, ErrorCode::Conflict);
    assert!(e.message.contains(&format!("{y} (batch {})", first.id())), "{}", e.message);
    assert_eq!(d.batches().await.expect("list").len(), 1, "nothing made");
    // the database itself refuses a second open item for the invoice, in another batch
    let other: (i64,) = sqlx::query_as(
        "INSERT INTO batches (name, created_by, created_at, environment, source_kind, updated_at) \
         VALUES ('raw', 'Eve', 'now', 'sandbox', 'selection', 'now') RETURNING id",
    )
    .fetch_one(d.pool())
    .await
    .expect("a batch row");
    let dup = sqlx::query(
        "INSERT INTO batch_items (batch_id, invoice_no, position, currency, total, outstanding, updated_at) \
         VALUES (?, ?, 0, 'USD', '1.00', '1.00', 'now')",
    )
    .bind(other.0)
    .bind(y)
    .execute(d.pool())
    .await
    .expect_err("a second open item for the invoice");
    assert!(dup.to_string().contains("UNIQUE"), "{dup}");
    sqlx::query("DELETE FROM batches WHERE id = ?").bind(other.0).execute(d.pool()).await.expect("tidy");

    // once the first batch is cancelled its invoices are free again
    d.batch_cancel("Ana", first.id()).await.expect("cancel");
    let second = d.batch_create("Ben", None, &selection(&[z, y])).await.expect("second");
    assert_eq!(numbers(&second), [z, y]);
    d.close().await;
    sb.shutdown().await;
}

#[tokio::test]
async fn exclude_include_approve_before_preflight_and_cancel() {
    let sb = sandbox(80, 14).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let rows = approved_rows(&d).await;
    let (x, y) = (rows[0].invoice_no, rows[1].invoice_no);
    let v = d.batch_create("Ana", None, &selection(&[x, y])).await.expect("create");
    let id = v.id();
    let count = |v: &BatchView| v.totals.iter().map(|t| t.count).sum::<i64>();
    assert_eq!(count(&v), 2);

    let ex = d.batch_exclude("Ben", id, &[x]).await.expect("exclude");
    assert!(ex.items[0].excluded && !ex.items[1].excluded);
    assert_eq!((count(&ex), ex.batch.excluded_count), (1, 1), "an excluded item leaves the totals");
    // an invoice not in the batch: refused, nothing changed
    let e = d.batch_include("Ben", id, &[x, 1]).await.expect_err("not in batch");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert!(d.batch(id).await.expect("show").items[0].excluded);
    let back = d.batch_include("Ben", id, &[x]).await.expect("include");
    assert_eq!(count(&back), 2);

    // no preflight yet: approval refused, the batch stays a draft
    let e = d.batch_approve(id, &Approval { approver: "Cleo".into(), typed_totals: None }).await.expect_err("draft");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert!(e.message.contains("run preflight first"), "{}", e.message);
    assert_eq!(d.batch(id).await.expect("show").state(), BatchState::Draft);

    let c = d.batch_cancel("Ben", id).await.expect("cancel");
    assert_eq!(c.state(), BatchState::Cancelled);
    assert!(c.items.iter().all(|i| i.outcome == Some(ItemOutcome::Cancelled)), "{:?}", c.items);
    // nothing more happens to a cancelled batch
    for e in [
        d.batch_cancel("Ben", id).await.expect_err("cancel twice"),
        d.batch_exclude("Ben", id, &[y]).await.expect_err("exclude after cancel"),
    ] {
        assert_eq!(e.code, ErrorCode::BadInput);
        assert!(e.message.contains("is cancelled"), "{}", e.message);
    }
    assert_eq!(d.batch(9_999).await.expect_err("no such batch").code, ErrorCode::NotFound);
    assert_eq!(
        batch_audit(&d).await,
        ["batch.created Ana", "batch.excluded Ben", "batch.included Ben", "batch.cancelled Ben"]
    );
    // the staff is named: a blank name is refused
    assert_eq!(d.batch_create("  ", None, &selection(&[y])).await.expect_err("no name").code, ErrorCode::BadInput);
    d.close().await;
    sb.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// Preflight (issue 10, second slice)

use billing::batch::{PreflightProgress, Verdict};
use std::sync::Mutex;

async fn preflight(d: &Desk, staff: &str, id: i64) -> (BatchView, Vec<PreflightProgress>) {
    let seen = Mutex::new(Vec::new());
    let progress = |p: PreflightProgress| seen.lock().expect("progress").push(p);
    let v = d.batch_preflight(staff, id, billing::desk::BatchPace::default(), &progress).await.expect("preflight");
    (v, seen.into_inner().expect("progress"))
}

fn verdict_counts(v: &BatchView) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for i in v.items.iter().filter(|i| !i.excluded) {
        *m.entry(i.verdict.map_or("-", Verdict::as_str)).or_default() += 1;
    }
    m
}

async fn set_faults(sb: &sandbox::Sandbox, json: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sandbox/faults", sb.base_url()))
        .header("content-type", "application/json")
        .body(json.to_owned())
        .send()
        .await
        .expect("faults");
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test]
async fn preflight_reads_each_item_live_gives_its_verdict_and_moves_nothing() {
    let sb = sandbox(600, 7).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let mut numbers: Vec<i64> = approved_rows(&d).await.iter().map(|r| r.invoice_no).collect();
    if !numbers.contains(&458_732) {
        numbers.push(458_732); // the seed example, paid at the gateway after the cache was made
    }
    let b = d.batch_create("alice", Some("preflight"), &selection(&numbers)).await.expect("create");
    let excluded = *numbers.iter().find(|n| **n != 458_732).expect("an item");
    d.batch_exclude("alice", b.id(), &[excluded]).await.expect("exclude");
    assert_eq!(crate::common::pay_seed_example(&sb).await, 200);

    let (v, progress) = preflight(&d, "alice", b.id()).await;
    let included = numbers.len() - 1;
    assert_eq!(progress.last(), Some(&PreflightProgress { done: included, total: included }), "progress to the end");
    assert!(progress.windows(2).all(|w| w[0].done < w[1].done), "progress only moves forward");
    assert_eq!(v.state(), BatchState::Preflighted);
    assert_eq!(v.batch.preflight_run, 1);
    let counts = verdict_counts(&v);
    for want in [
        "ready",
        "already_paid",
        "not_approved",
        "authorization_voided",
        "authorization_expired",
        "honour_period_passed",
    ] {
        assert!(counts.get(want).copied().unwrap_or(0) > 0, "no {want}: {counts:?}");
    }
    assert!(!counts.contains_key("-") && !counts.contains_key("unreachable"), "{counts:?}");
    let item = |n: i64| v.items.iter().find(|i| i.invoice_no == n).expect("item");
    assert_eq!(item(458_732).verdict, Some(Verdict::AlreadyPaid));
    assert!(item(excluded).excluded && item(excluded).verdict.is_none(), "the excluded item keeps its exclusion");
    assert!(v
        .items
        .iter()
        .filter(|i| i.verdict.is_some())
        .all(|i| i.verdict_reason.as_deref().is_some_and(|r| r.ends_with('.'))));

    // every verdict agrees with the capture preview's reads; the ready ones' parts are its parts
    for i in v.items.iter().filter(|i| !i.excluded) {
        let p = d.capture_preview(i.invoice_no).await.expect("preview");
        let verdict = i.verdict.expect("verdict");
        if verdict == Verdict::Ready {
            assert!(p.ready, "{}: ready but the preview says {:?}", i.invoice_no, p.problems);
            assert_eq!(i.paypal_part.as_deref(), Some(p.paypal_amount.as_str()), "{}", i.invoice_no);
        }
        if !p.problems.is_empty() && verdict.runs() {
            assert_eq!(verdict, Verdict::WalletShared, "{}: {:?}", i.invoice_no, p.problems);
        }
    }
    // the totals are the items that run, with their wallet and PayPal parts
    let runs = v.items.iter().filter(|i| !i.excluded && i.verdict.is_some_and(Verdict::runs)).count();
    assert_eq!(v.totals.iter().map(|t| t.count).sum::<i64>(), runs as i64);
    for t in &v.totals {
        let dec = |s: &str| Decimal::from_str(s).expect("decimal");
        assert_eq!(dec(&t.wallet_part) + dec(&t.paypal_part), dec(&t.outstanding), "{t:?}");
    }
    // nothing moved but the seed example's own payment
    let l = crate::common::ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(0));
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1));
    assert!(batch_audit(&d).await.contains(&"batch.preflighted alice".to_owned()));
    d.close().await;
}

#[tokio::test]
async fn an_unreachable_gateway_makes_items_unreachable_and_a_second_preflight_reads_them_again() {
    let sb = sandbox(200, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let numbers: Vec<i64> = approved_rows(&d).await.iter().take(3).map(|r| r.invoice_no).collect();
    let b = d.batch_create("alice", None, &selection(&numbers)).await.expect("create");
    set_faults(&sb, r#"{"routes":{"POST /api/v1/billing/invoice/part-process":{"error_rate":1,"error_status":503}}}"#)
        .await;
    let (v, _) = preflight(&d, "alice", b.id()).await;
    assert!(v.items.iter().all(|i| i.verdict == Some(Verdict::Unreachable)), "{:?}", verdict_counts(&v));
    assert!(v.items.iter().all(|i| i.verdict_reason.as_deref().is_some_and(|r| r.contains("Run preflight again"))));
    assert!(v.totals.is_empty(), "nothing ready: {:?}", v.totals);
    set_faults(&sb, "{}").await;
    let (v, _) = preflight(&d, "alice", b.id()).await;
    assert_eq!(v.batch.preflight_run, 2);
    assert!(v.items.iter().all(|i| i.verdict.is_some_and(|x| x != Verdict::Unreachable)), "{:?}", verdict_counts(&v));
    d.close().await;
}

#[tokio::test]
async fn an_authorization_that_expires_within_a_day_is_expiring_soon() {
    let config = sandbox::Config {
        invoices: 1200,
        seed: 4,
        rate_limit: 0,
        clock_offset: expiring_within_a_day_offset(chrono::Utc::now()),
        ..sandbox::Config::default()
    };
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let numbers: Vec<i64> = approved_rows(&d)
        .await
        .iter()
        .filter(|r| r.paypal.as_ref().is_some_and(|p| p.intent == "AUTHORIZE"))
        .map(|r| r.invoice_no)
        .collect();
    let b = d.batch_create("alice", None, &selection(&numbers)).await.expect("create");
    let (v, _) = preflight(&d, "alice", b.id()).await;
    let counts = verdict_counts(&v);
    assert!(counts.get("expiring_soon").copied().unwrap_or(0) > 0, "{counts:?}");
    assert!(!counts.contains_key("ready"), "every authorization is past its honour period: {counts:?}");
    let soon = v.items.iter().find(|i| i.verdict == Some(Verdict::ExpiringSoon)).expect("soon");
    assert!(soon.verdict_reason.as_deref().is_some_and(|r| r.contains("within 24 hours")));
    // the preview still lets it be captured: it is a warning, not a problem
    assert!(d.capture_preview(soon.invoice_no).await.expect("preview").ready);
    d.close().await;
}

/// The sandbox clock's offset for `an_authorization_that_expires_within_a_day_is_expiring_soon`,
/// whatever the time of day the test runs at. The sandbox seeds its world from its latest
/// 10:00 UTC (its "morning"), its approvals 0–7 days before that, and a PayPal authorization
/// expires 29 days after it was made. Its clock is set to 10:30 on a day `28 days − back`
/// before now (`back` in 0–24 h): an authorization `age` old in its clock then has
/// `24 h + back − age` left on the desk's clock, so those `back`–`24 h + back` old (a whole
/// day of the seeded week) expire within the desk's next 24 hours, older ones have expired, and
/// every one is weeks past its 3-day honour period. With a fixed offset instead (28 days and an
/// hour), the test failed every day from 10:00 to 11:00 UTC: the world's morning was then 23
/// hours back, and every authorization had expired.
fn expiring_within_a_day_offset(now: chrono::DateTime<chrono::Utc>) -> chrono::Duration {
    let day = chrono::Duration::days(1);
    let morning = chrono::NaiveTime::from_hms_opt(10, 30, 0).expect("10:30");
    let since_morning = (now.time() - morning + day).num_milliseconds().rem_euclid(day.num_milliseconds());
    // 28 days back, then forward to the next 10:30 (or none when it is 10:30 now)
    let back = if since_morning == 0 { 0 } else { day.num_milliseconds() - since_morning };
    chrono::Duration::days(-28) + chrono::Duration::milliseconds(back)
}

#[test]
fn the_expiring_offset_puts_the_sandbox_at_half_past_ten() {
    use chrono::TimeZone;
    for (h, m) in [(0, 0), (9, 59), (10, 0), (10, 30), (10, 31), (11, 0), (23, 59)] {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).single().expect("time");
        let offset = expiring_within_a_day_offset(now);
        let sandbox_now = now + offset;
        assert_eq!(sandbox_now.time(), chrono::NaiveTime::from_hms_opt(10, 30, 0).expect("10:30"), "{h}:{m}");
        let back = offset + chrono::Duration::days(28);
        assert!(back >= chrono::Duration::zero() && back < chrono::Duration::days(1), "{h}:{m}: {back}");
    }
}

#[tokio::test]
async fn a_preflight_after_an_approval_voids_it() {
    let sb = sandbox(200, 11).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let numbers: Vec<i64> = approved_rows(&d).await.iter().map(|r| r.invoice_no).collect();
    let b = d.batch_create("alice", None, &selection(&numbers)).await.expect("create");
    preflight(&d, "alice", b.id()).await;
    let refused = d.batch_approve(b.id(), &Approval { approver: "alice".into(), typed_totals: None }).await;
    assert_eq!(refused.expect_err("four eyes").code, ErrorCode::BadInput);
    let v = d.batch_approve(b.id(), &Approval { approver: "bob".into(), typed_totals: None }).await.expect("approve");
    assert_eq!((v.state(), v.batch.approved_by.as_deref()), (BatchState::Approved, Some("bob")));
    assert!(billing::batch::approval_holds(d.pool(), b.id()).await.expect("holds"));
    let (v, _) = preflight(&d, "carol", b.id()).await;
    assert_eq!((v.state(), v.batch.approved_by.as_deref(), v.batch.preflight_run), (BatchState::Preflighted, None, 2));
    assert!(!billing::batch::approval_holds(d.pool(), b.id()).await.expect("holds"));
    let log = batch_audit(&d).await;
    assert!(log.ends_with(&["batch.approved bob".to_owned(), "batch.preflighted carol".to_owned()]), "{log:?}");
    d.close().await;
}

#[tokio::test]
async fn a_wallet_changed_since_the_cache_and_a_wallet_two_ready_items_share() {
    use crate::capture_paths::{synced_desk, World};
    let mut world = World::seeded(1, 300).await;
    let no_money = |w: &World, no: i64| {
        let customer = w.invoice(no)["customer_id"].as_str().expect("customer").to_owned();
        let wallet = &w.json["customers"][customer]["wallet"];
        wallet.is_null() || wallet["balance"].as_str().is_some_and(|b| Decimal::from_str(b).is_ok_and(|d| d.is_zero()))
    };
    let plain = |w: &World, n: i64| w.is_order(n, "APPROVED", "Completed") && no_money(w, n);
    let a = world.find("an approved order without wallet money", plain);
    let b = world.find("a second one", |w, n| n != a && plain(w, n));
    let c = world.find("a third one", |w, n| n != a && n != b && plain(w, n));
    // b's invoice is billed to a's customer, whose wallet is empty: both are ready, on one wallet
    let customer = world.invoice(a)["customer_id"].clone();
    world.json["invoices"][b.to_string()]["customer_id"] = customer;
    let cur = world.currency(a).to_owned();
    world.set_wallet(a, &cur, "0");
    // e's customer has wallet money the approval did not count, in the cache too: amount_differs
    let e = world.find("a fourth one", |w, n| ![a, b, c].contains(&n) && plain(w, n) && w.currency(n) == "USD");
    world.set_wallet(e, "USD", "7");
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    synced_desk(&sb, dir.path()).await.close().await;
    sb.shutdown().await;

    // after the cache was made, c's customer got wallet money
    let cur_c = world.currency(c).to_owned();
    world.set_wallet(c, &cur_c, "5");
    let sb = world.start().await;
    let d = desk(&sb.base_url(), dir.path()).await;
    let v = d.batch_create("alice", None, &selection(&[a, b, c, e])).await.expect("create");
    let (v, _) = preflight(&d, "alice", v.id()).await;
    let verdict = |n: i64| v.items.iter().find(|i| i.invoice_no == n).and_then(|i| i.verdict);
    assert_eq!(
        (verdict(a), verdict(b), verdict(c)),
        (Some(Verdict::WalletShared), Some(Verdict::WalletShared), Some(Verdict::WalletChanged)),
        "{:?}",
        v.items
    );
    let reason =
        |n: i64| v.items.iter().find(|i| i.invoice_no == n).and_then(|i| i.verdict_reason.clone()).unwrap_or_default();
    assert!(reason(a).contains(&b.to_string()) && reason(b).contains(&a.to_string()), "{}", reason(a));
    assert!(reason(c).contains("wallet changed since the cache"), "{}", reason(c));
    assert_eq!(verdict(e), Some(Verdict::AmountDiffers), "{}", reason(e));
    assert!(reason(e).contains("but the PayPal part is"), "{}", reason(e));
    // the shared ones run (and count in the totals); the changed one does not
    assert_eq!(v.batch.ready_count, 2);
    assert_eq!(v.totals.iter().map(|t| t.count).sum::<i64>(), 2);
    d.close().await;
}

#[tokio::test]
async fn an_invoice_in_a_currency_paypal_does_not_take_is_not_eligible() {
    use crate::capture_paths::synced_desk;
    // an approved order of an invoice in NGN with an empty wallet, as capture_checks shapes it
    let (world, no) = crate::capture_checks::ineligible_invoice().await;
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let b = d.batch_create("alice", None, &selection(&[no])).await.expect("create");
    let (v, _) = preflight(&d, "alice", b.id()).await;
    assert_eq!(v.items[0].verdict, Some(Verdict::NotEligible), "{:?}", v.items[0]);
    assert!(
        v.items[0].verdict_reason.as_deref().is_some_and(|r| r.contains("PayPal does not take NGN")),
        "{:?}",
        v.items[0]
    );
    assert!(v.totals.is_empty());
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// The report's amounts in their currency's digits (issue 10)

/// How many digits `text` has after its point.
fn digits(text: &str) -> usize {
    text.split_once('.').map_or(0, |(_, f)| f.len())
}

#[tokio::test]
async fn the_report_writes_paypal_amounts_in_paypals_digits_and_the_gateways_in_iso_digits() {
    use money::Currency;
    let sb = sandbox(900, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    // HUF: 2 digits in ISO 4217 (the gateway's), none at PayPal; JPY: none in both
    let picked: Vec<i64> = approved_rows(&d)
        .await
        .iter()
        .filter(|r| r.currency == "HUF" || r.currency == "JPY")
        .map(|r| r.invoice_no)
        .collect();
    let v = d.batch_create("Alice", Some("huf"), &selection(&picked)).await.expect("create");
    preflight(&d, "Alice", v.batch.id).await;
    d.batch_approve(v.batch.id, &Approval { approver: "Bob".into(), typed_totals: None }).await.expect("approve");
    d.batch_run("Bob", v.batch.id, billing::desk::BatchPace::default(), &|_| {}).await.expect("run");
    let r = d.batch_report(v.batch.id).await.expect("report");
    let with_fee: Vec<_> = r.items.iter().filter(|i| i.paypal_fee.is_some()).collect();
    assert!(with_fee.iter().any(|i| i.currency == "HUF"), "a HUF capture's fee was read: {:?}", r.items);
    assert!(with_fee.iter().any(|i| i.currency == "JPY"), "a JPY capture's fee was read: {:?}", r.items);
    let csv = billing::batch::report::to_csv(&r);
    for i in &r.items {
        let cur = Currency::from_code(&i.currency).expect("currency");
        let (iso, paypal) = (cur.minor_units() as usize, cur.paypal_minor_units() as usize);
        assert_eq!((digits(&i.total), digits(&i.outstanding)), (iso, iso), "gateway amounts: {i:?}");
        if let Some(w) = &i.wallet_in_invoice_currency {
            assert_eq!(digits(w), iso, "the wallet's part is the gateway's: {i:?}");
        }
        if let (Some(w), Some(c)) = (&i.wallet_amount, &i.wallet_currency) {
            let wallet = Currency::from_code(c).expect("wallet currency");
            assert_eq!(digits(w), wallet.minor_units() as usize, "the wallet's payment is the gateway's: {i:?}");
        }
        for a in [&i.paypal_amount, &i.paypal_fee, &i.net_amount].into_iter().flatten() {
            assert_eq!(digits(a), paypal, "PayPal's amounts in PayPal's digits: {i:?}");
        }
        if let (Some(fee), Some(net)) = (&i.paypal_fee, &i.net_amount) {
            let row = format!("{},{},", fee, net);
            assert!(csv.contains(&row), "the CSV row of {} has {row}: {csv}", i.invoice_no);
        }
    }
    for t in &r.totals {
        let cur = Currency::from_code(&t.currency).expect("currency");
        let (iso, paypal) = (cur.minor_units() as usize, cur.paypal_minor_units() as usize);
        assert_eq!((digits(&t.paid), digits(&t.wallet_paid)), (iso, iso), "{t:?}");
        for a in [&t.paypal_captured, &t.paypal_fee, &t.net] {
            assert_eq!(digits(a), paypal, "{t:?}");
        }
    }
    let huf = r.totals.iter().find(|t| t.currency == "HUF").expect("HUF finalized");
    assert!(huf.finalized > 0 && huf.fee_unknown < huf.finalized, "{huf:?}");
}

#[tokio::test]
async fn an_item_left_out_at_the_runs_start_counts_as_excluded_in_the_list_as_in_the_report() {
    let sb = sandbox(901, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced(dir.path(), &sb.base_url()).await;
    let approved: Vec<i64> = approved_rows(&d).await.iter().take(2).map(|r| r.invoice_no).collect();
    let unapproved = d
        .list(&billing::ListRequest {
            filter: billing::InvoiceFilter {
                has_paypal: Some(false),
                status: Some("outstanding".into()),
                ..Default::default()
            },
            limit: Some(1),
            ..Default::default()
        })
        .await
        .expect("list")
        .rows[0]
        .invoice_no;
    let picked = [approved.clone(), vec![unapproved]].concat();
    let v = d.batch_create("Alice", Some("mixed"), &selection(&picked)).await.expect("create");
    preflight(&d, "Alice", v.batch.id).await;
    d.batch_approve(v.batch.id, &Approval { approver: "Bob".into(), typed_totals: None }).await.expect("approve");
    d.batch_run("Bob", v.batch.id, billing::desk::BatchPace::default(), &|_| {}).await.expect("run");
    let r = d.batch_report(v.batch.id).await.expect("report");
    let excluded = r.items.iter().filter(|i| i.outcome == Some(ItemOutcome::Excluded)).count();
    assert_eq!(excluded, 1, "the unapproved invoice was not run: {:?}", r.items);
    let listed = d.batches().await.expect("list").into_iter().find(|b| b.id == v.batch.id).expect("listed");
    assert_eq!((listed.excluded_count, listed.done_count, listed.item_count), (1, 3, 3), "{listed:?}");
    assert_eq!(r.batch.excluded_count, 1, "the report's summary agrees");
}
