//! The batch pace settings: storage, checks, and the desk's preflight and run going at them.

use super::*;
use crate::batch::{Approval, BatchSource, BatchView};
use crate::desk::BatchPace;
use crate::{environments, EnvOverrides, ErrorCode, InvoiceFilter};
use std::sync::Mutex;

async fn machine() -> (SqlitePool, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let pool = environments::open_settings(dir.path()).await.expect("settings");
    (pool, dir)
}

fn given(rate: &str, concurrency: u16) -> BatchSettings {
    BatchSettings { rate: rate.into(), concurrency }
}

#[tokio::test]
async fn never_saved_reads_as_the_defaults() {
    let (pool, _dir) = machine().await;
    assert_eq!(BatchSettings::load(&pool).await.expect("load"), given("20", 4));
    let in_force = BatchSettings::in_force(&pool).await.expect("in force");
    assert_eq!((in_force.rate.to_string().as_str(), in_force.concurrency), ("20", 4));
}

#[tokio::test]
async fn saved_values_read_back_with_the_rate_as_rate_prints_it() {
    let (pool, _dir) = machine().await;
    assert_eq!(given(" 2.50 ", 16).save(&pool).await.expect("save"), given("2.5", 16));
    assert_eq!(BatchSettings::load(&pool).await.expect("load"), given("2.5", 16));
    let in_force = BatchSettings::in_force(&pool).await.expect("in force");
    assert_eq!((in_force.rate.to_string().as_str(), in_force.concurrency), ("2.5", 16));
    // saved again: the new values replace the old ones
    given("1000", 1).save(&pool).await.expect("save again");
    assert_eq!(BatchSettings::load(&pool).await.expect("load"), given("1000", 1));
}

#[tokio::test]
async fn a_refused_value_changes_nothing() {
    let (pool, _dir) = machine().await;
    given("7", 3).save(&pool).await.expect("save");
    let refused = [given("0", 4), given("-1", 4), given("abc", 4), given("", 4), given("100001", 4)];
    for bad in refused {
        let e = bad.save(&pool).await.expect_err("bad rate");
        assert_eq!(e.code, ErrorCode::BadInput, "{bad:?}: {e:?}");
        assert!(e.message.contains("rate"), "{bad:?}: {}", e.message);
    }
    for n in [0, 17, 400] {
        let e = given("20", n).save(&pool).await.expect_err("bad concurrency");
        assert_eq!(e.code, ErrorCode::BadInput, "{n}: {e:?}");
        assert!(e.message.contains("from 1 to 16"), "{n}: {}", e.message);
    }
    // neither half of a half-good pair is written
    given("30", 17).save(&pool).await.expect_err("bad concurrency");
    given("x", 5).save(&pool).await.expect_err("bad rate");
    assert_eq!(BatchSettings::load(&pool).await.expect("load"), given("7", 3));
}

#[tokio::test]
async fn a_hand_edited_value_is_refused_naming_the_setting_not_replaced() {
    let (pool, _dir) = machine().await;
    sqlx::query("INSERT INTO settings (key, value) VALUES ('batch.concurrency', 'many')")
        .execute(&pool)
        .await
        .expect("edit");
    // the screen still shows it, so it can be corrected
    assert_eq!(BatchSettings::load(&pool).await.expect("load").concurrency, 0);
    let e = BatchSettings::in_force(&pool).await.expect_err("refused");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert!(e.message.contains("saved batch settings") && e.message.contains("Settings"), "{}", e.message);
}

/// A sandbox desk where one person approves (four eyes off).
async fn sandbox_desk(url: &str, dir: &std::path::Path) -> Desk {
    let vars = EnvOverrides::from_fn(|name| (name == "DESK_FOUR_EYES").then(|| "0".to_owned()));
    crate::batch::tests::desk(url, dir, vars).await
}

/// A draft batch of two cached invoices with a PayPal approval.
async fn two_paypal_invoices(d: &Desk) -> BatchView {
    d.sync(false, &|_| {}).await.expect("sync");
    let filter = InvoiceFilter { has_paypal: Some(true), ..InvoiceFilter::default() };
    let all = d.batch_create("Alice", None, &BatchSource::Filter { filter }).await.expect("create");
    let invoices: Vec<i64> = all.items.iter().take(2).map(|i| i.invoice_no).collect();
    d.batch_cancel("Alice", all.id()).await.expect("cancel");
    d.batch_create("Alice", None, &BatchSource::Selection { invoices }).await.expect("create two")
}

/// The desk's preflight and run (as the app calls them: no rate, no concurrency) go at the
/// saved rate; a rate given (the CLI's `--rate`) goes before it; the saved concurrency applies
/// unless one is given.
#[tokio::test]
async fn preflight_and_run_go_at_the_saved_pace_unless_told() {
    let config = sandbox::Config { invoices: 60, seed: 3, rate_limit: 0, ..sandbox::Config::default() };
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    let dir = tempfile::tempdir().expect("dir");
    let d = sandbox_desk(&sb.base_url(), dir.path()).await;
    let saved = given("55.5", 3).save_for(&d).await.expect("save");
    assert_eq!(saved, given("55.5", 3));

    let pace = d.batch_pace(BatchPace::default()).await.expect("pace");
    assert_eq!((pace.rate.to_string().as_str(), pace.concurrency), ("55.5", 3));
    let flags = BatchPace { rate: Some(Rate::parse("9").expect("rate")), concurrency: None };
    let pace = d.batch_pace(flags).await.expect("pace");
    assert_eq!((pace.rate.to_string().as_str(), pace.concurrency), ("9", 3));

    let v = two_paypal_invoices(&d).await;
    let seen = Mutex::new(Vec::new());
    let tell = |_| seen.lock().expect("seen").push(d.pace().rate().map(|r| r.to_string()));
    let v = d.batch_preflight("Alice", v.id(), BatchPace::default(), &tell).await.expect("preflight");
    let rates = std::mem::take(&mut *seen.lock().expect("seen"));
    assert!(!rates.is_empty() && rates.iter().all(|r| r.as_deref() == Some("55.5")), "preflight: {rates:?}");

    let typed = v.totals.iter().map(|t| (t.currency.clone(), t.outstanding.clone())).collect();
    d.batch_approve(v.id(), &Approval { approver: "Bob".into(), typed_totals: Some(typed) }).await.expect("approve");
    let tell = |_| seen.lock().expect("seen").push(d.pace().rate().map(|r| r.to_string()));
    d.batch_run("Alice", v.id(), BatchPace::default(), &tell).await.expect("run");
    let rates = std::mem::take(&mut *seen.lock().expect("seen"));
    assert!(!rates.is_empty() && rates.iter().all(|r| r.as_deref() == Some("55.5")), "run: {rates:?}");
    // no limit is left behind
    assert_eq!(d.pace().rate(), None);

    // the change is audited in the environment's log
    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log WHERE action = 'settings.batch_saved'")
        .fetch_all(d.pool())
        .await
        .expect("audit");
    assert_eq!(actions.len(), 1);
    d.close().await;
}
