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
    assert_eq!(
        ledger["paypal_captures"].as_array().map(Vec::len),
        Some(0),
        "the gateway call captured nothing at PayPal"
    );
    // reset brings the seeded world back
    assert_eq!(post(&h, "/__sandbox/reset", "").await.0, 200);
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    assert_eq!(ledger["gateway_finalizations"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    // 5/s with a burst of 10. Bounds the bucket guarantees whatever the machine's load: the
    // first 10 pass; no more pass than 10 + 5 a second since the start; and requests sent
    // back to back meet a 429 long before 200 of them.
    let (_sb, h) = start(Config { rate_limit: 5, ..Config::default() }).await;
    let started = std::time::Instant::now();
    let (mut granted, mut first_limited) = (0u32, None);
    for i in 0..200 {
        let r = h
            .client
            .get(format!("{}/api/v1/billing_admin/invoices/458732", h.base))
            .bearer_auth("demo-staff-token")
            .send()
            .await
            .expect("req");
        match r.status().as_u16() {
            200 => granted += 1,
            429 => {
                assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
                first_limited.get_or_insert(i);
                if i >= 40 {
                    break;
                }
            }
            other => panic!("status {other}"),
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let first_limited = first_limited.expect("a 429 within 200 requests at 5/s");
    assert!(first_limited >= 10, "the burst of 10 passes first (first 429 at request {first_limited})");
    let most = 10.0 + 5.0 * elapsed + 1.0;
    assert!(f64::from(granted) <= most, "{granted} passed in {elapsed:.2} s; at most {most:.1} may");
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

/// The first PENDING capture of the seed (captures approved CAPTURE orders in turn until one
/// comes back PENDING) and a PayPal token.
pub async fn first_pending_capture(h: &Http) -> (String, String) {
    let t = h.paypal_token().await;
    for inv in crate::paypal::approved(h, "CAPTURE").await {
        let order = inv["paypal"]["orderId"].as_str().expect("order id");
        let (s, o) = h.send("POST", &format!("/v2/checkout/orders/{order}/capture"), Some(&t), Some("{}"), &[]).await;
        if s != 201 {
            continue; // not approved after all (CREATED / VOIDED in the seed)
        }
        let c = &o["purchase_units"][0]["payments"]["captures"][0];
        if c["status"] == "PENDING" {
            return (c["id"].as_str().expect("id").to_owned(), t);
        }
    }
    panic!("the seed has a capture that goes PENDING")
}

#[tokio::test]
async fn pending_captures_complete_on_request() {
    let (_sb, h) = start(Config { rate_limit: 0, pending_seconds: 0, ..Config::default() }).await;
    let (s, v) = post(&h, "/__sandbox/captures/NOPE/complete", "").await;
    assert_eq!(s, 404, "{v}");
    let (id, t) = first_pending_capture(&h).await;
    // with pending_seconds 0 it waits for the request, however much time passes
    assert_eq!(post(&h, "/__sandbox/clock", r#"{"advance_days":3}"#).await.0, 200);
    // the token was issued before the clock moved three days: it expired
    let (s, _) = h.send("GET", &format!("/v2/payments/captures/{id}"), Some(&t), None, &[]).await;
    assert_eq!(s, 401, "a nine-hour token is stale three days later");
    let t = h.paypal_token().await;
    let (_, c) = h.send("GET", &format!("/v2/payments/captures/{id}"), Some(&t), None, &[]).await;
    assert_eq!(c["status"], "PENDING", "{c}");
    let (s, v) = post(&h, &format!("/__sandbox/captures/{id}/complete"), "").await;
    assert_eq!((s, v["status"].as_str()), (200, Some("COMPLETED")), "{v}");
    let (_, c) = h.send("GET", &format!("/v2/payments/captures/{id}"), Some(&t), None, &[]).await;
    assert_eq!(c["status"], "COMPLETED", "{c}");
    assert!(c.get("status_details").is_none(), "a completed capture has no pending reason: {c}");
    let (s, _) = post(&h, &format!("/__sandbox/captures/{id}/complete"), "").await;
    assert_eq!(s, 409, "only a PENDING capture completes");
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    let entry =
        ledger["paypal_captures"].as_array().expect("captures").iter().find(|c| c["id"] == id.as_str()).cloned();
    assert_eq!(entry.map(|c| c["status"].clone()), Some(Value::from("COMPLETED")));
}
