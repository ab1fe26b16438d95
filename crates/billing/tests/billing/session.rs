//! The app's session: settings saved and applied, credentials into the keyring store, the live
//! confirmation, "test connection", the detail panel, the activity log, and a whole session
//! that must leave no secret in the data directory, the logs or any answer.

use crate::common;
use billing::audit::{AuditAction, AuditFilter};
use billing::capture::State;
use billing::secrets::MemorySecrets;
use billing::session::{CredentialKind, CredentialSource, Session};
use billing::{DeskOptions, Environment, ErrorCode, InvoiceFilter, ListRequest, Settings};
use sandbox::{Config, Credentials, Sandbox};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "gw-tok-5f1c9a7e3b2d4c6a8e0f";
const SECRET: &str = "pp-sec-9d8c7b6a5f4e3d2c1b0a";

async fn sandbox_with_credentials() -> Sandbox {
    let credentials =
        Credentials { staff_token: TOKEN.into(), client_id: "desk-test-app".into(), client_secret: SECRET.into() };
    Sandbox::start(
        Config { invoices: 120, seed: 7, rate_limit: 0, credentials, ..Config::default() },
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("sandbox")
}

async fn session(dir: &std::path::Path, secrets: Arc<MemorySecrets>) -> Session {
    Session::open(Some(dir.to_owned()), move |d| DeskOptions {
        data_dir: Some(d),
        secrets: secrets.clone(),
        env_overrides: billing::EnvOverrides::off(),
        settings: None,
    })
    .await
    .expect("session")
}

fn sandbox_settings(url: &str) -> Settings {
    Settings {
        environment: Environment::Sandbox,
        gateway_url: Some(url.to_owned()),
        paypal_url: Some(url.to_owned()),
        paypal_client_id: Some("desk-test-app".into()),
        staff_name: "Test Clerk".into(),
    }
}

fn source(view: &billing::session::SettingsView, kind: CredentialKind) -> CredentialSource {
    view.credentials.iter().find(|c| c.kind == kind).map(|c| c.source).expect("listed")
}

#[tokio::test]
async fn settings_and_credentials_apply_at_once_and_live_needs_the_typed_word() {
    let sb = sandbox_with_credentials().await;
    let dir = tempfile::tempdir().expect("dir");
    let s = session(dir.path(), Arc::new(MemorySecrets::default())).await;
    assert_eq!(s.settings().await.expect("view").effective.environment, Environment::Demo);

    let view = s.save_settings(sandbox_settings(&sb.base_url()), None).await.expect("saved");
    assert_eq!(view.saved.environment, Environment::Sandbox);
    assert_eq!(source(&view, CredentialKind::GatewayToken), CredentialSource::Missing);
    let report = s.desk().await.expect("desk").test_connection().await;
    assert!(!report.gateway.ok && !report.paypal.ok, "{report:?}");
    assert_eq!(report.gateway.error.as_ref().map(|e| e.code), Some(ErrorCode::MissingCredentials));

    // a wrong token is stored, tried, and replaced
    s.set_credential(CredentialKind::GatewayToken, "not-the-token").await.expect("stored");
    let report = s.desk().await.expect("desk").test_connection().await;
    assert_eq!(report.gateway.error.as_ref().map(|e| e.code), Some(ErrorCode::GatewayUnauthorized));
    s.set_credential(CredentialKind::GatewayToken, TOKEN).await.expect("stored");
    let view = s.set_credential(CredentialKind::PaypalClientSecret, SECRET).await.expect("stored");
    assert_eq!(source(&view, CredentialKind::GatewayToken), CredentialSource::Keyring);
    assert_eq!(source(&view, CredentialKind::PaypalClientSecret), CredentialSource::Keyring);
    let report = s.desk().await.expect("desk").test_connection().await;
    assert!(report.gateway.ok && report.paypal.ok, "{report:?}");

    // bad input changes nothing
    let e = s.set_credential(CredentialKind::GatewayToken, "  ").await.expect_err("empty");
    assert_eq!(e.code, ErrorCode::BadInput);
    let mut bad = sandbox_settings(&sb.base_url());
    bad.gateway_url = Some("ftp://gateway".into());
    assert_eq!(s.save_settings(bad, None).await.expect_err("bad url").code, ErrorCode::BadInput);

    // every change so far is in sandbox's audit log
    let actions = |d: Arc<billing::Desk>| async move {
        billing::audit::query(d.pool(), &AuditFilter::default())
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.action)
            .collect::<Vec<String>>()
    };
    let in_sandbox = actions(s.desk().await.expect("desk")).await;
    assert_eq!(in_sandbox.iter().filter(|a| *a == "settings.saved").count(), 1, "{in_sandbox:?}");
    assert_eq!(in_sandbox.iter().filter(|a| *a == "credential.saved").count(), 3, "{in_sandbox:?}");

    // live: refused without the word, nothing written
    let mut live = sandbox_settings(&sb.base_url());
    live.environment = Environment::Live;
    let e = s.save_settings(live.clone(), Some("live please")).await.expect_err("needs the word");
    assert_eq!(e.code, ErrorCode::BadInput);
    assert!(e.message.contains("LIVE"), "{}", e.message);
    assert_eq!(s.settings().await.expect("view").saved.environment, Environment::Sandbox);

    // not while the desk is in use
    let busy = s.desk().await.expect("desk");
    assert_eq!(s.save_settings(live.clone(), Some("LIVE")).await.expect_err("busy").code, ErrorCode::Conflict);
    drop(busy);
    let view = s.save_settings(live, Some("LIVE")).await.expect("live");
    assert_eq!(view.effective.environment, Environment::Live);
    // credentials are per environment: live has none yet
    assert_eq!(source(&view, CredentialKind::GatewayToken), CredentialSource::Missing);
    assert!(s.desk().await.expect("desk").status().await.expect("status").gateway_problem.is_some());

    // live has an audit log of its own: the switch is there, sandbox's credentials are not
    let in_live = actions(s.desk().await.expect("desk")).await;
    assert_eq!(in_live, vec!["settings.saved".to_owned()], "{in_live:?}");
    // and the Settings screen gets each environment's own connection settings
    let view = s.settings().await.expect("view");
    let by_env = view.by_environment.expect("each environment's settings");
    let of = |env| by_env.iter().find(|x| x.environment == env).expect("listed");
    assert_eq!(of(Environment::Sandbox).gateway_url.as_deref(), Some(sb.base_url().as_str()));
    assert_eq!(of(Environment::Demo).gateway_url, None);
    s.close().await;
}

/// Captures every log line of the test's thread.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "current_thread")]
async fn a_whole_session_leaves_no_secret_in_files_logs_or_answers() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sb = sandbox_with_credentials().await;
    let dir = tempfile::tempdir().expect("dir");
    let s = session(dir.path(), Arc::new(MemorySecrets::default())).await;
    let mut answers: Vec<String> = Vec::new();
    let mut keep = |v: &dyn erased::Json| answers.push(v.json());

    keep(&s.save_settings(sandbox_settings(&sb.base_url()), None).await.expect("saved"));
    keep(&s.set_credential(CredentialKind::GatewayToken, TOKEN).await.expect("token"));
    keep(&s.set_credential(CredentialKind::PaypalClientSecret, SECRET).await.expect("secret"));
    let desk = s.desk().await.expect("desk");
    keep(&desk.test_connection().await);
    keep(&desk.sync(true, &common::no_progress()).await.expect("sync"));
    keep(&desk.status().await.expect("status"));
    let approved = desk
        .list(&ListRequest {
            filter: InvoiceFilter {
                has_paypal: Some(true),
                status: Some("outstanding".into()),
                ..InvoiceFilter::default()
            },
            with_totals: true,
            ..ListRequest::default()
        })
        .await
        .expect("list");
    keep(&approved);
    let no = approved.rows.first().expect("an approved invoice").invoice_no;
    keep(&desk.invoice_detail(no).await.expect("detail"));
    keep(&desk.invoice_live(no).await.expect("live"));
    keep(&desk.capture_preview(no).await.expect("preview"));
    let result = desk.capture(no).await.expect("capture");
    assert_eq!(result.state, State::Finalized, "{result:?}");
    keep(&result);
    keep(&desk.invoice_live(no).await.expect("live after"));
    keep(&billing::audit::query(desk.pool(), &AuditFilter::default()).await.expect("audit"));
    keep(
        &billing::audit::export_csv(desk.pool(), &AuditFilter::default(), &dir.path().join("exports"))
            .await
            .expect("csv"),
    );
    // a failing call with the wrong secret: its error must not echo what was sent either
    drop(desk);
    keep(&s.set_credential(CredentialKind::PaypalClientSecret, "pp-wrong-secret-1").await.expect("wrong secret"));
    keep(&s.desk().await.expect("desk").test_connection().await);
    s.set_credential(CredentialKind::PaypalClientSecret, SECRET).await.expect("secret back");
    s.close().await;
    drop(sb);

    let mut files = Vec::new();
    files_under(dir.path(), &mut files);
    assert!(files.iter().any(|f| f.ends_with("desk.sqlite3")), "{files:?}");
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "csv")), "{files:?}");
    let log = logs.0.lock().expect("logs").clone();
    assert!(contains(&log, "sandbox listening"), "the logs were captured");
    for secret in [TOKEN, SECRET, "pp-wrong-secret-1"] {
        for f in &files {
            // a file may vanish between listing and reading (SQLite removes `-wal`/`-shm` when
            // its last connection is gone); what is not there is not left behind
            let bytes = match std::fs::read(f) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => panic!("{}: {e}", f.display()),
            };
            assert!(!contains(&bytes, secret), "{secret} found in {}", f.display());
        }
        assert!(!contains(&log, secret), "{secret} found in the logs");
        for a in &answers {
            assert!(!a.contains(secret), "{secret} found in an answer: {a}");
        }
    }
}

/// Any serializable answer as JSON (what IPC would send).
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("serializes")
        }
    }
}

#[tokio::test]
async fn the_detail_shows_payment_history_and_paypal_status_and_works_offline() {
    let sb = sandbox_with_credentials().await;
    let dir = tempfile::tempdir().expect("dir");
    let secrets = Arc::new(MemorySecrets::default());
    let s = session(dir.path(), secrets).await;
    s.save_settings(sandbox_settings(&sb.base_url()), None).await.expect("saved");
    s.set_credential(CredentialKind::GatewayToken, TOKEN).await.expect("token");
    s.set_credential(CredentialKind::PaypalClientSecret, SECRET).await.expect("secret");
    let desk = s.desk().await.expect("desk");
    desk.sync(true, &common::no_progress()).await.expect("sync");
    let page = desk
        .list(&ListRequest {
            filter: InvoiceFilter { has_paypal: Some(true), ..InvoiceFilter::default() },
            ..ListRequest::default()
        })
        .await
        .expect("list");
    let row = page.rows.first().expect("approved invoice").clone();
    let live = desk.invoice_live(row.invoice_no).await.expect("live");
    assert!(live.gateway_error.is_none() && live.paypal_error.is_none(), "{live:?}");
    let pp = live.paypal.expect("paypal status");
    assert!(["APPROVED", "CREATED"].contains(&pp.status.as_str()), "{pp:?}");
    assert!(pp.captures.is_empty());

    let result = desk.capture(row.invoice_no).await.expect("capture");
    assert_eq!(result.state, State::Finalized, "{result:?}");
    let capture_id = result.capture_id.clone().expect("capture id");
    let live = desk.invoice_live(row.invoice_no).await.expect("live");
    let inv = live.invoice.clone().expect("fresh invoice");
    assert_eq!(inv.status, billing::invoices::InvoiceStatus::Paid);
    assert_eq!(
        live.payments.iter().map(|p| p.payment_id.as_str()).collect::<Vec<_>>(),
        vec![capture_id.as_str()],
        "the gateway lists the payment: {live:?}"
    );
    // a paid invoice has no PayPal approval awaiting capture any more: nothing to ask PayPal
    assert!(live.paypal.is_none() && live.paypal_error.is_none(), "{live:?}");
    let detail = desk.invoice_detail(row.invoice_no).await.expect("detail");
    assert_eq!(detail.journal.iter().map(|j| j.state()).collect::<Vec<_>>(), vec![State::Finalized]);
    assert!(detail.audit.iter().any(|a| a.action == "capture.finalized"), "{:?}", detail.audit);
    assert!(detail.audit.iter().all(|a| a.invoice_no == Some(row.invoice_no)));

    // PayPal captured but the gateway refused: the invoice still has its approval, and the
    // live part shows PayPal's capture
    let other = page.rows.iter().find(|r| r.invoice_no != row.invoice_no).expect("another approved invoice");
    sb.set_faults(
        serde_json::from_str(
            r#"{"routes":{"POST /api/v1/billing/invoice/paypal/capture":{"error_rate":1,"error_status":400}}}"#,
        )
        .expect("faults"),
    );
    let stuck = desk.capture(other.invoice_no).await.expect("capture");
    sb.set_faults(Default::default());
    assert_eq!(stuck.state, State::NeedsAttention, "{stuck:?}");
    let live = desk.invoice_live(other.invoice_no).await.expect("live");
    assert!(live.gateway_error.is_none() && live.paypal_error.is_none(), "{live:?}");
    assert_eq!(live.invoice.as_ref().map(|i| i.status.as_str()), Some("outstanding"));
    assert!(live.payments.is_empty(), "{live:?}");
    let pp = live.paypal.expect("the approval is still there");
    assert_eq!(
        pp.captures.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        vec![stuck.capture_id.as_deref().expect("id")]
    );
    assert_eq!(pp.captures[0].status, "COMPLETED", "{pp:?}");

    // the sandbox goes away: the cached detail still opens, the live part says offline
    sb.shutdown().await;
    let offline = desk.invoice_live(row.invoice_no).await.expect("answers");
    assert_eq!(offline.gateway_error.map(|e| e.code), Some(ErrorCode::Offline));
    assert_eq!(
        desk.invoice_detail(row.invoice_no).await.expect("cached").invoice.status,
        billing::invoices::InvoiceStatus::Paid
    );
    assert_eq!(desk.status().await.expect("status").online, Some(false));
}

#[tokio::test]
async fn the_activity_log_filters_and_exports() {
    let sb = common::sandbox(60, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let desk = common::desk(&sb.base_url(), dir.path()).await;
    desk.sync(true, &common::no_progress()).await.expect("sync");
    let pool = desk.pool();
    for (staff, action, invoice) in [
        ("Ana", AuditAction::ConnectionTested, Some(1)),
        ("Ben", AuditAction::ConnectionTested, Some(2)),
        ("Ana", AuditAction::SettingsSaved, None),
    ] {
        billing::audit::record(pool, staff, Environment::Sandbox, action, invoice, serde_json::json!({"x": "a,b"}))
            .await
            .expect("record");
    }
    let q = |f: AuditFilter| async move { billing::audit::query(pool, &f).await.expect("query") };
    assert_eq!(q(AuditFilter { staff: Some("Ana".into()), ..AuditFilter::default() }).await.len(), 2);
    assert_eq!(q(AuditFilter { action: Some("connection.tested".into()), ..AuditFilter::default() }).await.len(), 2);
    assert_eq!(q(AuditFilter { invoice_no: Some(2), ..AuditFilter::default() }).await[0].staff, "Ben");
    // the days the entries were written on (two if the test ran across midnight UTC)
    let all = q(AuditFilter::default()).await;
    assert_eq!(all.len(), 4, "sync + three notes");
    let days: Vec<chrono::NaiveDate> =
        all.iter().map(|e| chrono::DateTime::parse_from_rfc3339(&e.at).expect("at").to_utc().date_naive()).collect();
    let (first, last) = (days.iter().min().expect("a day"), days.iter().max().expect("a day"));
    let on_their_days =
        q(AuditFilter { from: Some(first.to_string()), to: Some(last.to_string()), ..AuditFilter::default() }).await;
    assert_eq!(on_their_days, all);
    for day in &days {
        let that_day =
            q(AuditFilter { from: Some(day.to_string()), to: Some(day.to_string()), ..AuditFilter::default() }).await;
        assert_eq!(that_day.len(), days.iter().filter(|d| *d == day).count(), "{day}");
    }
    let before = first.pred_opt().expect("the day before").to_string();
    assert!(q(AuditFilter { to: Some(before), ..AuditFilter::default() }).await.is_empty());
    let tomorrow = last.succ_opt().expect("tomorrow").to_string();
    assert!(q(AuditFilter { from: Some(tomorrow), ..AuditFilter::default() }).await.is_empty());
    let first = q(AuditFilter { limit: Some(2), ..AuditFilter::default() }).await;
    let rest = q(AuditFilter { before_id: first.last().map(|e| e.id), ..AuditFilter::default() }).await;
    assert_eq!(first.len() + rest.len(), 4);
    let facets = billing::audit::facets(pool).await.expect("facets");
    assert!(facets.staff.contains(&"Ben".to_owned()));
    let sync = facets.actions.iter().find(|a| a.word == "sync").expect("the sync's action in the menu");
    assert_eq!(sync.label, "Invoices synced");
    assert_eq!(all[0].action_label, "Settings saved", "{:?}", all[0]);

    let out = tempfile::tempdir().expect("out");
    let file = billing::audit::export_csv(
        pool,
        &AuditFilter { staff: Some("Ana".into()), ..AuditFilter::default() },
        out.path(),
    )
    .await
    .expect("export");
    assert_eq!(file.rows, 2);
    let text = std::fs::read_to_string(&file.path).expect("csv");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains(r#""{""x"":""a,b""}""#), "{text}");
}
