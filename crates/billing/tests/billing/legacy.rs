//! The single `desk.sqlite3` of earlier versions, split into one database per environment:
//! every row lands in its environment, the audit log is copied as it was, an open attempt keeps
//! its request id and resumes once, and the split survives an interruption and two processes.

use crate::common::{desk_in, no_progress, sandbox};
use billing::audit::{AuditAction, AuditEntry, AuditFilter};
use billing::capture::{Entry, Interrupt, State, Step};
use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, EnvOverrides, Environment, ErrorCode};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const SEED_INVOICE: i64 = 458_732;

struct BeforeFinalize(AtomicBool);

impl Interrupt for BeforeFinalize {
    fn before(&self, step: Step, _: i64) -> bool {
        step == Step::Finalize && !self.0.swap(true, Ordering::SeqCst)
    }
    fn after(&self, _: Step, _: i64) -> bool {
        false
    }
}

/// The old file as the old code made it: `store::open` on the data directory itself.
async fn legacy_pool(data: &Path) -> SqlitePool {
    billing::store::open(data).await.expect("the old database")
}

async fn exec(pool: &SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A journal row of `env` for `invoice_no`, left in `state`.
async fn journal_row(pool: &SqlitePool, env: &str, invoice_no: i64, state: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO capture_journal (invoice_no, state, path, intent, order_id, currency, outstanding, request_id, \
         staff, environment, created_at, updated_at) VALUES (?, ?, 'paypal', 'CAPTURE', ?, 'EUR', '120.00', '', \
         'Old Clerk', ?, '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z') RETURNING id",
    )
    .bind(invoice_no)
    .bind(state)
    .bind(format!("ORDER-{invoice_no}"))
    .bind(env)
    .fetch_one(pool)
    .await
    .expect("journal row")
}

async fn set_request_id(pool: &SqlitePool, id: i64) {
    let desk_id = billing::capture::journal::desk_id(pool).await.expect("desk id");
    sqlx::query("UPDATE capture_journal SET request_id = ? WHERE id = ?")
        .bind(format!("capture-desk-{desk_id}-{id}-capture"))
        .bind(id)
        .execute(pool)
        .await
        .expect("request id");
}

async fn audit_row(pool: &SqlitePool, env: Environment, action: AuditAction, invoice_no: Option<i64>) {
    billing::audit::record(pool, "Old Clerk", env, action, invoice_no, serde_json::json!({ "old": true }))
        .await
        .expect("audit row");
}

async fn audit_of(pool: &SqlitePool) -> Vec<AuditEntry> {
    let mut all = billing::audit::query(pool, &AuditFilter { limit: Some(10_000), ..AuditFilter::default() })
        .await
        .expect("audit");
    all.sort_by_key(|e| e.id);
    all
}

async fn journal_of(pool: &SqlitePool) -> Vec<Entry> {
    let mut all = billing::capture::journal::recent(pool, None, 10_000).await.expect("journal");
    all.sort_by_key(|e| e.id);
    all
}

fn sandbox_secrets() -> Arc<MemorySecrets> {
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(Environment::Sandbox, SecretKey::GatewayToken, &Secret::new("demo-staff-token")).expect("secret");
    secrets
        .set(Environment::Sandbox, SecretKey::PaypalClientSecret, &Secret::new("demo-client-secret"))
        .expect("secret");
    secrets
}

/// A desk on `data` with the saved settings (the old file's, once split).
async fn open_saved(data: &Path) -> Result<Desk, billing::DeskError> {
    Desk::open(DeskOptions {
        data_dir: Some(data.to_owned()),
        secrets: sandbox_secrets(),
        env_overrides: EnvOverrides::off(),
        settings: None,
    })
    .await
}

/// Another program reading a file, changing nothing.
async fn read_only(path: &Path) -> SqlitePool {
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
    SqlitePool::connect_with(options).await.expect("read only")
}

fn retired(data: &Path) -> PathBuf {
    data.join("desk.sqlite3.migrated")
}

#[tokio::test]
async fn the_old_database_is_split_by_environment_and_an_open_attempt_resumes_with_its_request_id() {
    let sb = sandbox(100, 7).await;
    let url = sb.base_url();
    // a real sandbox history: a synced cache, one capture finalized, the seed example left
    // in finalize_sent (PayPal captured it)
    let work = tempfile::tempdir().expect("dir");
    let d = desk_in(Environment::Sandbox, &url, &url, work.path(), "demo-client-secret").await;
    d.sync(true, &no_progress()).await.expect("sync");
    d.capture_with(SEED_INVOICE, &BeforeFinalize(AtomicBool::new(false))).await.expect_err("interrupted");
    d.close().await;
    // that database, as the single file of an earlier version, with rows of live and demo too
    let data = tempfile::tempdir().expect("data");
    let made = billing::environments::database_path(work.path(), Environment::Sandbox);
    for side in ["", "-wal"] {
        let from = PathBuf::from(format!("{}{side}", made.display()));
        if from.exists() {
            std::fs::copy(&from, data.path().join(format!("desk.sqlite3{side}"))).expect("copy");
        }
    }
    std::fs::write(data.path().join("demo-world.json"), b"{\"the\":\"old demo world\"}").expect("world");
    let old = legacy_pool(data.path()).await;
    for (k, v) in [
        ("environment", "sandbox"),
        ("gateway_url", url.as_str()),
        ("paypal_url", url.as_str()),
        ("paypal_client_id", "demo-client-id"),
        ("staff_name", "Old Clerk"),
        ("ui.columns", "invoice,customer"),
    ] {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?)")
            .bind(k)
            .bind(v)
            .execute(&old)
            .await
            .expect("setting");
    }
    let live_open = journal_row(&old, "live", 900_001, "paypal_capture_sent").await;
    set_request_id(&old, live_open).await;
    journal_row(&old, "live", 900_002, "rejected").await;
    audit_row(&old, Environment::Live, AuditAction::Capture(State::Planned), Some(900_001)).await;
    audit_row(&old, Environment::Live, AuditAction::SettingsSaved, None).await;
    audit_row(&old, Environment::Demo, AuditAction::Sync, None).await;
    let old_journal = journal_of(&old).await;
    let old_audit = audit_of(&old).await;
    let old_desk_id = billing::capture::journal::desk_id(&old).await.expect("desk id");
    let old_invoices = billing::invoices::count(&old).await.expect("count");
    let old_sync: (Option<String>, Option<String>) =
        sqlx::query_as("SELECT cursor, last_success_at FROM sync_state").fetch_one(&old).await.expect("sync state");
    let last_id = old_journal.iter().map(|e| e.id).max().expect("rows");
    old.close().await;
    let of_env = |env: &str| old_journal.iter().filter(|e| e.environment == env).cloned().collect::<Vec<_>>();
    let audit_env = |env: &str| old_audit.iter().filter(|e| e.environment == env).cloned().collect::<Vec<_>>();

    // the first open splits it: the saved settings named sandbox
    let d = open_saved(data.path()).await.expect("opens");
    assert!(!data.path().join("desk.sqlite3").exists(), "the old file is never read again");
    assert!(retired(data.path()).exists());
    assert_eq!(d.environment(), Environment::Sandbox);
    assert_eq!(d.settings().gateway_url.as_deref(), Some(url.as_str()));
    assert_eq!(d.settings().staff_name, "Old Clerk");
    assert_eq!(
        billing::settings::preference(d.machine_pool(), "ui.columns").await.expect("pref").as_deref(),
        Some("invoice,customer")
    );
    // sandbox: the cache, the sync state, its journal and audit rows exactly, the same desk id
    assert_eq!(journal_of(d.pool()).await, of_env("sandbox"));
    let audit = audit_of(d.pool()).await;
    assert_eq!(audit[..audit.len() - 1], audit_env("sandbox")[..], "copied as they were");
    assert_eq!(audit.last().map(|e| e.action.as_str()), Some("data.migrated"));
    assert_eq!(billing::invoices::count(d.pool()).await.expect("count"), old_invoices);
    let sync: (Option<String>, Option<String>) =
        sqlx::query_as("SELECT cursor, last_success_at FROM sync_state").fetch_one(d.pool()).await.expect("sync state");
    assert_eq!(sync, old_sync);
    assert_eq!(billing::capture::journal::desk_id(d.pool()).await.expect("desk id"), old_desk_id);
    // the open attempt resumes with the request id stored on it, and money moves once
    let open = of_env("sandbox").into_iter().find(|e| e.state() == State::FinalizeSent).expect("open attempt");
    let done = d.recover().await.expect("recover");
    assert_eq!(done.iter().map(|r| (r.journal_id, r.state)).collect::<Vec<_>>(), vec![(open.id, State::Finalized)]);
    let resumed = journal_of(d.pool()).await.into_iter().find(|e| e.id == open.id).expect("entry");
    assert_eq!(resumed.request_id, open.request_id);
    assert_eq!(crate::common::money_moved(&sb).await, (1, 1), "captured once, finalized once");
    d.close().await;

    // live: its journal rows (the open one with its request id) and audit rows, no cache
    let live = desk_in(Environment::Live, &url, &url, data.path(), "demo-client-secret").await;
    assert_eq!(journal_of(live.pool()).await, of_env("live"));
    let audit = audit_of(live.pool()).await;
    assert_eq!(audit[..audit.len() - 1], audit_env("live")[..]);
    assert_eq!(live.status().await.expect("status").cached_invoices, 0);
    assert_eq!(live.status().await.expect("status").last_synced_at, None);
    assert_eq!(billing::capture::journal::desk_id(live.pool()).await.expect("desk id"), old_desk_id);
    let next: i64 = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'capture_journal'")
        .fetch_one(live.pool())
        .await
        .expect("sequence");
    assert!(
        next >= last_id,
        "a new live attempt never reuses an old id (and so an old request id): {next} < {last_id}"
    );
    live.close().await;

    // demo: its audit row and its world
    let demo_db = billing::environments::database_path(data.path(), Environment::Demo);
    let demo = billing::store::open(demo_db.parent().expect("dir")).await.expect("demo db");
    let audit = audit_of(&demo).await;
    assert_eq!(audit[..audit.len() - 1], audit_env("demo")[..]);
    demo.close().await;
    assert!(!data.path().join("demo-world.json").exists());
    assert_eq!(
        std::fs::read(data.path().join("demo").join("demo-world.json")).expect("moved"),
        b"{\"the\":\"old demo world\"}"
    );
    // the old file itself is as it was (append-only: nothing edited, nothing removed)
    let kept = read_only(&retired(data.path())).await;
    assert_eq!(audit_of(&kept).await, old_audit);
    assert_eq!(journal_of(&kept).await, old_journal);
    kept.close().await;
}

/// A small old database: settings naming live, rows of sandbox and live.
async fn small_legacy(data: &Path) -> (Vec<Entry>, Vec<AuditEntry>) {
    let old = legacy_pool(data).await;
    exec(
        &old,
        "INSERT INTO settings (key, value) VALUES ('environment', 'live'), ('gateway_url', 'http://127.0.0.1:9')",
    )
    .await;
    let a = journal_row(&old, "sandbox", 7001, "planned").await;
    set_request_id(&old, a).await;
    let b = journal_row(&old, "live", 7002, "paypal_capture_sent").await;
    set_request_id(&old, b).await;
    audit_row(&old, Environment::Sandbox, AuditAction::Capture(State::Planned), Some(7001)).await;
    audit_row(&old, Environment::Live, AuditAction::Capture(State::Planned), Some(7002)).await;
    let rows = (journal_of(&old).await, audit_of(&old).await);
    old.close().await;
    rows
}

async fn migrated_count(pool: &SqlitePool) -> usize {
    audit_of(pool).await.iter().filter(|e| e.action == "data.migrated").count()
}

async fn env_pool(data: &Path, env: Environment) -> SqlitePool {
    billing::store::open(&billing::environments::environment_dir(data, env)).await.expect("env db")
}

#[tokio::test]
async fn the_split_survives_an_interruption_and_two_processes_opening_at_once() {
    let data = tempfile::tempdir().expect("data");
    let (journal, _) = small_legacy(data.path()).await;
    // an earlier run stopped half-way through building live
    std::fs::create_dir_all(data.path().join("live")).expect("dir");
    std::fs::write(data.path().join("live").join("desk.sqlite3.migrating"), b"half a database").expect("stale");

    // the app and `desk` start together
    let (a, b) = tokio::join!(open_saved(data.path()), open_saved(data.path()));
    let (a, b) = (a.expect("a opens"), b.expect("b opens"));
    assert_eq!((a.environment(), b.environment()), (Environment::Live, Environment::Live));
    assert_eq!(
        journal_of(a.pool()).await,
        journal.iter().filter(|e| e.environment == "live").cloned().collect::<Vec<_>>()
    );
    assert_eq!(migrated_count(a.pool()).await, 1, "split once");
    a.close().await;
    b.close().await;
    assert!(retired(data.path()).exists() && !data.path().join("desk.sqlite3.migrated-2").exists());
    assert!(!data.path().join("live").join("desk.sqlite3.migrating").exists());

    // interrupted after live was in place, before sandbox was, the old file not yet renamed
    std::fs::copy(retired(data.path()), data.path().join("desk.sqlite3")).expect("back");
    std::fs::remove_file(billing::environments::database_path(data.path(), Environment::Sandbox)).expect("rm");
    let d = open_saved(data.path()).await.expect("opens again");
    assert_eq!(journal_of(d.pool()).await.len(), 1, "live's finished database is kept, not filled twice");
    assert_eq!(migrated_count(d.pool()).await, 1);
    d.close().await;
    let sandbox_db = env_pool(data.path(), Environment::Sandbox).await;
    assert_eq!(
        journal_of(&sandbox_db).await,
        journal.iter().filter(|e| e.environment == "sandbox").cloned().collect::<Vec<_>>()
    );
    sandbox_db.close().await;
    assert!(!data.path().join("desk.sqlite3").exists());
}

#[tokio::test]
async fn an_old_database_beside_an_environment_database_in_use_is_refused() {
    let data = tempfile::tempdir().expect("data");
    // live in use already (another desk id), then an old single file appears beside it
    env_pool(data.path(), Environment::Live).await.close().await;
    small_legacy(data.path()).await;
    let e = open_saved(data.path()).await.err().expect("refused");
    assert_eq!(e.code, ErrorCode::Storage);
    assert!(e.message.contains("earlier version"), "{}", e.message);
    assert!(data.path().join("desk.sqlite3").exists(), "nothing is renamed");
}
