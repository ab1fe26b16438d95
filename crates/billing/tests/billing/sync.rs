use crate::common::{desk, no_progress, pay_seed_example, sandbox};
use billing::sync::SyncMode;
use billing::{ErrorCode, InvoiceFilter, ListRequest};
use std::io::{Read, Write};

fn all(status: &str) -> ListRequest {
    ListRequest {
        filter: InvoiceFilter { status: Some(status.into()), ..Default::default() },
        limit: Some(5000),
        with_totals: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn full_then_incremental_sync_follows_the_gateway() {
    let sb = sandbox(300, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;

    let first = d.sync(false, &no_progress()).await.expect("first sync");
    assert_eq!(first.mode, SyncMode::Full);
    let outstanding = d.list(&all("outstanding")).await.expect("list");
    assert!(outstanding.rows.len() > 200, "{}", outstanding.rows.len());
    assert_eq!(outstanding.total_count, Some(outstanding.rows.len() as i64));
    let seed = d.invoice(458_732).await.expect("seed invoice cached");
    assert_eq!((seed.outstanding.as_str(), seed.currency.as_str()), ("250.00", "USD"));
    assert_eq!(seed.wallet.as_ref().map(|w| w.balance.as_str()), Some("40.50"));
    assert_eq!(seed.paypal.as_ref().map(|p| p.order_id.as_str()), Some("5O190127TN364715T"));
    let raw: String = sqlx::query_scalar("SELECT raw_json FROM invoices WHERE invoice_no = 458732")
        .fetch_one(d.pool())
        .await
        .expect("raw");
    assert!(raw.contains("\"outstanding\":250"), "raw JSON kept as received: {raw}");

    // the invoice is paid at the gateway (the seed example), then an incremental sync sees it
    assert_eq!(pay_seed_example(&sb).await, 200);
    let second = d.sync(false, &no_progress()).await.expect("second sync");
    assert_eq!(second.mode, SyncMode::Incremental);
    assert!(second.invoices >= 1);
    let paid = d.invoice(458_732).await.expect("still cached");
    assert_eq!(paid.status, "paid");
    assert_eq!(paid.outstanding, "0.00");
    assert!(paid.paypal.is_none(), "no PayPal payment awaiting capture any more");
    let now_outstanding = d.list(&all("outstanding")).await.expect("list");
    assert_eq!(now_outstanding.rows.len(), outstanding.rows.len() - 1);

    let status = d.status().await.expect("status");
    assert_eq!(status.online, Some(true));
    assert!(status.last_synced_at.is_some());
    let audits =
        billing::audit::query(d.pool(), &billing::audit::AuditFilter { limit: Some(10), ..Default::default() })
            .await
            .expect("audit");
    assert_eq!(audits.iter().filter(|a| a.action == "sync").count(), 2);
    assert!(audits.iter().all(|a| a.staff == "Test Clerk" && a.environment == "sandbox"));
    d.close().await;
}

#[tokio::test]
async fn progress_is_reported_per_page() {
    let sb = sandbox(450, 4).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    let seen = std::sync::Mutex::new(Vec::new());
    d.sync(false, &|p| seen.lock().expect("lock").push(p)).await.expect("sync");
    let seen = seen.into_inner().expect("lock");
    assert!(seen.len() >= 4, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].invoices <= w[1].invoices || w[1].pages_done == 1));
    d.close().await;
}

#[tokio::test]
async fn a_failing_gateway_keeps_the_cache_and_says_what_failed() {
    let sb = sandbox(200, 5).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(false, &no_progress()).await.expect("first sync");
    let before = d.list(&all("all")).await.expect("list");

    sb.set_faults(
        serde_json::from_str(
            r#"{"routes":{"GET /api/v1/billing_admin/invoices":{"error_rate":1,"error_status":500}}}"#,
        )
        .expect("faults"),
    );
    let e = d.sync(true, &no_progress()).await.expect_err("the gateway fails");
    assert_eq!(e.code, ErrorCode::GatewayError);
    let after = d.list(&all("all")).await.expect("cache still there");
    assert_eq!(after, before, "a failed sync changes nothing");
    let status = d.status().await.expect("status");
    assert!(status.last_sync_error.as_deref().is_some_and(|m| m.contains("internal error")), "{status:?}");

    sb.set_faults(Default::default());
    d.sync(false, &no_progress()).await.expect("works again");
    assert!(d.status().await.expect("status").last_sync_error.is_none());
    d.close().await;
}

#[tokio::test]
async fn offline_the_cache_stays_browsable() {
    let sb = sandbox(120, 6).await;
    let url = sb.base_url();
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&url, dir.path()).await;
    d.sync(false, &no_progress()).await.expect("sync");
    let synced_at = d.status().await.expect("status").last_synced_at;
    sb.shutdown().await;

    let e = d.sync(false, &no_progress()).await.expect_err("offline");
    assert_eq!(e.code, ErrorCode::Offline);
    let status = d.status().await.expect("status");
    assert_eq!(status.online, Some(false));
    assert_eq!(status.last_synced_at, synced_at, "last successful sync time kept");
    assert!(!d.list(&all("outstanding")).await.expect("list").rows.is_empty());
    d.close().await;
}

/// A one-shot HTTP server answering every request with `body`.
fn garbage_server(body: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let response = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}", body.len(), body);
            let _ = s.write_all(response.as_bytes());
        }
    });
    url
}

#[tokio::test]
async fn bad_gateway_answers_never_reach_the_cache() {
    let bad = [
        r#"{"data":[{"invoiceNo":1,"customer":{"id":"c","name":"X"},"currency":"XXX","total":1,"outstanding":1,"status":"outstanding","issuedAt":"2026-11-01T00:00:00Z","dueAt":null,"updatedAt":"2026-11-01T00:00:00Z","wallet":null,"paypal":null}],"pagination":{"page":1,"limit":100,"total":1,"totalPages":1}}"#,
        r#"{"data":[{"invoiceNo":1,"customer":{"id":"c","name":"X"},"currency":"USD","total":1,"outstanding":-1,"status":"outstanding","issuedAt":"2026-11-01T00:00:00Z","dueAt":null,"updatedAt":"2026-11-01T00:00:00Z","wallet":null,"paypal":null}],"pagination":{"page":1,"limit":100,"total":1,"totalPages":1}}"#,
        r#"{"data":[{"invoiceNo":1,"customer":{"id":"c","name":"X"},"currency":"USD","total":1.005,"outstanding":1,"status":"outstanding","issuedAt":"2026-11-01T00:00:00Z","dueAt":null,"updatedAt":"2026-11-01T00:00:00Z","wallet":null,"paypal":null}],"pagination":{"page":1,"limit":100,"total":1,"totalPages":1}}"#,
        r#"{"data":[{"invoiceNo":"1","customer":{"id":"c","name":"X"}"#,
        r#"<html>502 Bad Gateway</html>"#,
        r#"{"data":"nope"}"#,
    ];
    for body in bad {
        let url = garbage_server(body);
        let dir = tempfile::tempdir().expect("dir");
        let d = desk(&url, dir.path()).await;
        let e = d.sync(false, &no_progress()).await.expect_err(body);
        assert_eq!(e.code, ErrorCode::InvalidResponse, "{body}: {e:?}");
        assert_eq!(billing::invoices::count(d.pool()).await.expect("count"), 0, "{body}");
        d.close().await;
    }
}

#[tokio::test]
async fn wrong_token_is_a_credentials_error() {
    let sb = sandbox(20, 7).await;
    let dir = tempfile::tempdir().expect("dir");
    let secrets = std::sync::Arc::new(billing::secrets::MemorySecrets::default());
    use billing::secrets::Secrets;
    secrets
        .set(
            billing::Environment::Sandbox,
            billing::secrets::SecretKey::GatewayToken,
            &billing::secrets::Secret::new("wrong"),
        )
        .expect("secret");
    let settings = billing::Settings {
        environment: billing::Environment::Sandbox,
        gateway_url: Some(sb.base_url()),
        paypal_url: None,
        paypal_client_id: None,
        staff_name: "T".into(),
    };
    let d = billing::Desk::open(billing::DeskOptions {
        data_dir: Some(dir.path().to_owned()),
        secrets,
        env_overrides: false,
        settings: Some(settings),
    })
    .await
    .expect("open");
    let e = d.sync(false, &no_progress()).await.expect_err("401");
    assert_eq!(e.code, ErrorCode::GatewayUnauthorized);
    assert!(e.message.contains("token"), "{}", e.message);
    d.close().await;
}

#[tokio::test]
async fn without_a_token_the_desk_says_what_to_do() {
    let dir = tempfile::tempdir().expect("dir");
    let settings = billing::Settings {
        environment: billing::Environment::Live,
        gateway_url: Some("http://127.0.0.1:9".into()),
        paypal_url: None,
        paypal_client_id: None,
        staff_name: "T".into(),
    };
    let d = billing::Desk::open(billing::DeskOptions {
        data_dir: Some(dir.path().to_owned()),
        secrets: std::sync::Arc::new(billing::secrets::MemorySecrets::default()),
        env_overrides: false,
        settings: Some(settings),
    })
    .await
    .expect("open");
    let e = d.sync(false, &no_progress()).await.expect_err("no token");
    assert_eq!(e.code, ErrorCode::MissingCredentials);
    assert!(d.status().await.expect("status").gateway_problem.is_some());
    d.close().await;
}
