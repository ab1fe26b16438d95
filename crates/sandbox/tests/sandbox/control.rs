use crate::{quiet, start, Http};
use sandbox::Config;
use serde_json::Value;

async fn post(h: &Http, path: &str, body: &str) -> (u16, Value) {
    h.send("POST", path, None, Some(body), &[]).await
}

#[tokio::test]
async fn faults_are_set_validated_and_cleared() {
    let (_sb, h) = quiet().await;
    let (s, _) = post(&h, "/__sandbox/faults", r#"{"default":{"error_rate":1,"error_status":503}}"#).await;
    assert_eq!(s, 200);
    let (s, v) = h.gw("GET", "/api/v1/billing_admin/invoices", None).await;
    assert_eq!((s, v["message"].as_str()), (503, Some("Service Unavailable")));
    let (s, _) = post(
        &h,
        "/__sandbox/faults",
        r#"{"routes":{"GET /api/v1/billing_admin/invoices/{no}":{"rate_limit_rate":1}}}"#,
    )
    .await;
    assert_eq!(s, 200);
    let r = h
        .client
        .get(format!("{}/api/v1/billing_admin/invoices/458732", h.base))
        .bearer_auth("demo-staff-token")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(h.gw("GET", "/api/v1/billing_admin/invoices", None).await.0, 200, "other routes unaffected");
    assert_eq!(post(&h, "/__sandbox/faults", r#"{"default":{"error_rate":3}}"#).await.0, 400);
    assert_eq!(post(&h, "/__sandbox/faults", r#"{"default":{"bogus":1}}"#).await.0, 400);
    assert_eq!(post(&h, "/__sandbox/faults", "{}").await.0, 200);
    assert_eq!(h.gw("GET", "/api/v1/billing_admin/invoices/458732", None).await.0, 200);
}

#[tokio::test]
async fn a_dropped_connection_still_committed_and_the_ledger_shows_it() {
    let (_sb, h) = quiet().await;
    post(
        &h,
        "/__sandbox/faults",
        r#"{"routes":{"POST /api/v1/billing/invoice/paypal/capture":{"drop_after_commit_rate":1}}}"#,
    )
    .await;
    let body = r#"{"amount":250,"invoiceNo":458732,"paymentId":"PAYPAL-1","currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#;
    let r = h
        .client
        .post(format!("{}/api/v1/billing/invoice/paypal/capture", h.base))
        .bearer_auth("demo-staff-token")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let failed = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the client saw the connection drop");
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    let fins = ledger["gateway_finalizations"].as_array().expect("finalizations");
    assert_eq!(fins.len(), 1);
    assert_eq!(fins[0]["invoiceNo"], 458732);
    assert_eq!(fins[0]["amount"].to_string(), "250");
    assert!(ledger["paypal_captures"].as_array().is_some());
    // reset brings the seeded world back
    assert_eq!(post(&h, "/__sandbox/reset", "").await.0, 200);
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    assert_eq!(ledger["gateway_finalizations"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let (_sb, h) = start(Config { rate_limit: 5, ..Config::default() }).await;
    let mut limited = 0;
    for _ in 0..30 {
        let r = h
            .client
            .get(format!("{}/api/v1/billing_admin/invoices/458732", h.base))
            .bearer_auth("demo-staff-token")
            .send()
            .await
            .expect("req");
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
            limited += 1;
        }
    }
    assert!(limited >= 15, "{limited} of 30 limited at 5/s");
}

#[tokio::test]
async fn the_world_persists_across_restarts() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("world.json");
    let config = Config { rate_limit: 0, state_file: Some(state.clone()), ..Config::default() };
    let (sb, h) = start(config.clone()).await;
    let body = r#"{"amount":250,"invoiceNo":458732,"paymentId":"PAYPAL-2","currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#;
    assert_eq!(h.gw("POST", "/api/v1/billing/invoice/paypal/capture", Some(body)).await.0, 200);
    sb.shutdown().await;
    assert!(state.exists());
    let (_sb, h) = start(config).await;
    let (_, v) = h.gw("GET", "/api/v1/billing_admin/invoices/458732", None).await;
    assert_eq!(v["status"], "paid", "the restarted sandbox remembers");
}

#[tokio::test]
async fn pending_captures_complete_on_request() {
    let (_sb, h) = start(Config { rate_limit: 0, pending_seconds: 0, ..Config::default() }).await;
    let (s, v) = post(&h, "/__sandbox/captures/NOPE/complete", "").await;
    assert_eq!(s, 404, "{v}");
}
