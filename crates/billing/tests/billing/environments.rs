//! One database per environment: what one environment leaves (an unfinished capture, a synced
//! cache, a sync cursor) is never resumed, listed or continued in another, whichever way the
//! other is chosen (its settings, or `DESK_ENV` over the saved one). Two sandboxes play
//! "sandbox" and "live"; both hold the seed example 458732, as a staging copy of production would.

use crate::common::{desk_in, money_moved, no_progress, sandbox};
use billing::capture::{Interrupt, State, Step};
use billing::secrets::MemorySecrets;
use billing::session::Session;
use billing::sync::SyncMode;
use billing::{Desk, DeskOptions, EnvOverrides, Environment, ErrorCode, Settings};
use sandbox::Sandbox;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const SEED_INVOICE: i64 = 458_732;

/// Stops the capture just before the gateway's finalization is sent: PayPal has captured, the
/// journal says `finalize_sent`.
struct BeforeFinalize(AtomicBool);

impl Interrupt for BeforeFinalize {
    fn before(&self, step: Step, _: i64) -> bool {
        step == Step::Finalize && !self.0.swap(true, Ordering::SeqCst)
    }
    fn after(&self, _: Step, _: i64) -> bool {
        false
    }
}

async fn in_env(env: Environment, sb: &Sandbox, dir: &std::path::Path) -> Desk {
    desk_in(env, &sb.base_url(), &sb.base_url(), dir, "demo-client-secret").await
}

/// Syncs and captures the seed example, stopping before the finalization: an open attempt in
/// `finalize_sent` whose capture PayPal made.
async fn leave_finalize_sent(d: &Desk) -> i64 {
    d.sync(true, &no_progress()).await.expect("sync");
    let e = d.capture_with(SEED_INVOICE, &BeforeFinalize(AtomicBool::new(false))).await.expect_err("interrupted");
    assert_eq!(e.code, ErrorCode::Internal, "{e:?}");
    let open = d.journal(Some(SEED_INVOICE), 10).await.expect("journal");
    assert_eq!(open.iter().map(|e| e.state()).collect::<Vec<_>>(), vec![State::FinalizeSent]);
    open[0].id
}

#[tokio::test]
async fn a_sandbox_capture_left_in_finalize_sent_is_not_resumed_under_live() {
    let (s, l) = (sandbox(100, 7).await, sandbox(100, 8).await);
    let dir = tempfile::tempdir().expect("dir");
    let sb_desk = in_env(Environment::Sandbox, &s, dir.path()).await;
    leave_finalize_sent(&sb_desk).await;
    sb_desk.close().await;
    assert_eq!(money_moved(&s).await, (1, 0), "the sandbox captured, nothing finalized yet");

    let live = in_env(Environment::Live, &l, dir.path()).await;
    assert!(live.journal(None, 50).await.expect("journal").is_empty(), "live shows no sandbox attempt");
    assert!(live.recover().await.expect("recover").is_empty(), "live resumes no sandbox attempt");
    live.close().await;
    assert_eq!(money_moved(&l).await, (0, 0), "nothing reached live");

    // back in sandbox, the attempt is there and finishes once
    let sb_desk = in_env(Environment::Sandbox, &s, dir.path()).await;
    let done = sb_desk.recover().await.expect("recover");
    assert_eq!(done.iter().map(|r| r.state).collect::<Vec<_>>(), vec![State::Finalized], "{done:?}");
    sb_desk.close().await;
    assert_eq!(money_moved(&s).await, (1, 1));
}

/// Sandbox synced (twice: it has a cursor now) on `dir`; its number of cached invoices.
async fn sandbox_synced(s: &Sandbox, dir: &std::path::Path) -> i64 {
    let sb_desk = in_env(Environment::Sandbox, s, dir).await;
    sb_desk.sync(true, &no_progress()).await.expect("full sync");
    let again = sb_desk.sync(false, &no_progress()).await.expect("sync");
    assert_eq!(again.mode, SyncMode::Incremental, "sandbox has a cursor now");
    let cached = sb_desk.status().await.expect("status").cached_invoices;
    assert!(cached > 0);
    sb_desk.close().await;
    cached
}

#[tokio::test]
async fn live_lists_nothing_before_its_first_sync() {
    let (s, l) = (sandbox(100, 7).await, sandbox(60, 8).await);
    let dir = tempfile::tempdir().expect("dir");
    let in_sandbox = sandbox_synced(&s, dir.path()).await;

    let live = in_env(Environment::Live, &l, dir.path()).await;
    let status = live.status().await.expect("status");
    assert_eq!(status.environment, Environment::Live);
    assert_eq!(status.cached_invoices, 0, "live shows none of sandbox's invoices");
    assert_eq!(status.last_synced_at, None, "and none of its syncs");
    assert!(
        std::path::Path::new(&status.database).ends_with("live/desk.sqlite3"),
        "the status names live's own database: {}",
        status.database
    );
    let listed = live.list(&billing::ListRequest::default()).await.expect("list");
    assert!(listed.rows.is_empty(), "{:?}", listed.rows.first());
    live.sync(false, &no_progress()).await.expect("live's first sync");
    let in_live = live.status().await.expect("status").cached_invoices;
    live.close().await;

    // and sandbox's cache is as it was
    let sb_desk = in_env(Environment::Sandbox, &s, dir.path()).await;
    assert_eq!(sb_desk.status().await.expect("status").cached_invoices, in_sandbox);
    assert_ne!(in_live, in_sandbox, "two worlds of different sizes");
    sb_desk.close().await;
}

#[tokio::test]
async fn the_first_live_sync_is_full_not_incremental_from_sandboxs_cursor() {
    let (s, l) = (sandbox(100, 7).await, sandbox(60, 8).await);
    let dir = tempfile::tempdir().expect("dir");
    sandbox_synced(&s, dir.path()).await;
    let live = in_env(Environment::Live, &l, dir.path()).await;
    let first = live.sync(false, &no_progress()).await.expect("live's first sync");
    assert_eq!(first.mode, SyncMode::Full, "not incremental from sandbox's cursor");
    live.close().await;
}

#[tokio::test]
async fn desk_env_over_the_saved_environment_never_touches_its_attempts() {
    let (s, l) = (sandbox(100, 7).await, sandbox(100, 8).await);
    let dir = tempfile::tempdir().expect("dir");
    // the app's data directory: live saved, a live capture left before its finalization
    let secrets = Arc::new(MemorySecrets::default());
    let app = Session::open(Some(dir.path().to_owned()), {
        let secrets = secrets.clone();
        move |d| DeskOptions {
            data_dir: Some(d),
            secrets: secrets.clone(),
            env_overrides: EnvOverrides::off(),
            settings: None,
        }
    })
    .await
    .expect("session");
    let live_settings = Settings {
        environment: Environment::Live,
        gateway_url: Some(l.base_url()),
        paypal_url: Some(l.base_url()),
        paypal_client_id: Some("demo-client-id".into()),
        staff_name: "App Clerk".into(),
    };
    app.save_settings(live_settings, Some("LIVE")).await.expect("live saved");
    app.close().await;
    let live = in_env(Environment::Live, &l, dir.path()).await;
    let id = leave_finalize_sent(&live).await;
    let before = live.journal(None, 10).await.expect("journal");
    live.close().await;

    // `DESK_ENV=sandbox desk recover` on that directory
    let url = s.base_url();
    let vars = move |name: &str| {
        Some(match name {
            "DESK_ENV" => "sandbox".to_owned(),
            "DESK_GATEWAY_URL" | "DESK_PAYPAL_URL" => url.clone(),
            "DESK_PAYPAL_CLIENT_ID" => "demo-client-id".to_owned(),
            "DESK_GATEWAY_TOKEN" => "demo-staff-token".to_owned(),
            "DESK_PAYPAL_CLIENT_SECRET" => "demo-client-secret".to_owned(),
            _ => return None,
        })
    };
    let script = Desk::open(DeskOptions {
        data_dir: Some(dir.path().to_owned()),
        secrets: Arc::new(MemorySecrets::default()),
        env_overrides: EnvOverrides::from_fn(vars),
        settings: None,
    })
    .await
    .expect("open");
    assert_eq!(script.environment(), Environment::Sandbox);
    assert_eq!(script.saved_settings().environment, Environment::Live);
    assert!(script.recover().await.expect("recover").is_empty(), "no live attempt is resumed in sandbox");
    assert!(script.journal(None, 50).await.expect("journal").is_empty());
    script.close().await;
    assert_eq!(money_moved(&s).await, (0, 0), "nothing was sent to sandbox PayPal or its gateway");

    // live's attempt is untouched, and live finishes it
    let live = in_env(Environment::Live, &l, dir.path()).await;
    assert_eq!(live.journal(None, 10).await.expect("journal"), before);
    let done = live.recover().await.expect("recover");
    assert_eq!(done.iter().map(|r| (r.journal_id, r.state)).collect::<Vec<_>>(), vec![(id, State::Finalized)]);
    live.close().await;
    assert_eq!(money_moved(&l).await, (1, 1));
}
