//! Situations the desk's hardening must survive, made by the sandbox's faults and clock: a
//! capture still in progress when its retry arrives, an undocumented error after the capture
//! happened, idempotency keys that expire, and answers forced into PayPal's minimal shape.

use crate::openapi::{response_schema, violations};
use crate::paypal::approved;
use crate::{issue, start, Http};
use serde_json::{json, Value};
use std::time::Duration;

fn config() -> sandbox::Config {
    sandbox::Config { rate_limit: 0, invoices: 1200, ..Default::default() }
}

async fn faults(h: &Http, f: Value) {
    let (s, v) = h.send("POST", "/__sandbox/faults", None, Some(&f.to_string()), &[]).await;
    assert_eq!(s, 200, "{v}");
}

async fn ledger_captures(h: &Http) -> Vec<Value> {
    let (_, l) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    l["paypal_captures"].as_array().cloned().unwrap_or_default()
}

/// An APPROVED order (intent CAPTURE) whose capture completes, from the seed.
async fn approved_order(h: &Http, t: &str) -> String {
    for inv in approved(h, "CAPTURE").await {
        let id = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
        let (_, o) = h.send("GET", &format!("/v2/checkout/orders/{id}"), Some(t), None, &[]).await;
        if o["status"] == "APPROVED" {
            return id;
        }
    }
    panic!("the seed has an approved order")
}

async fn advance(h: &Http, seconds: u64) {
    let body = json!({ "advance_seconds": seconds }).to_string();
    assert_eq!(h.send("POST", "/__sandbox/clock", None, Some(&body), &[]).await.0, 200);
}

fn conforms(method: &str, path: &str, status: u16, body: &Value) {
    let schema = response_schema(method, path, status).expect("a body schema");
    assert_eq!(violations(&schema, body), Vec::<String>::new(), "{method} {path} → {status}: {body}");
}

#[tokio::test]
async fn a_retry_while_the_capture_is_in_progress_gets_409_and_the_capture_then_completes() {
    let (_sb, h) = start(config()).await;
    let t = h.paypal_token().await;
    let order = approved_order(&h, &t).await;
    let path = format!("/v2/checkout/orders/{order}/capture");
    faults(&h, json!({ "routes": { "POST /v2/checkout/orders/{id}/capture": { "in_progress_ms": 600_000 } } })).await;
    // the first request is held; its caller gives up (a timeout) and goes away
    let first = {
        let (client, url, t) = (h.client.clone(), format!("{}{path}", h.base), t.clone());
        tokio::spawn(async move {
            client.post(url).bearer_auth(t).header("PayPal-Request-Id", "k1").body("{}").send().await
        })
    };
    let key = format!("{path}|k1");
    let mut held = false;
    for _ in 0..200 {
        let (_, v) = h.send("GET", "/__sandbox/in-progress", None, None, &[]).await;
        if v["keys"].as_array().is_some_and(|k| k.iter().any(|k| k == key.as_str())) {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held, "the first request is in progress");
    first.abort();
    // its retry, with the same key, while it is in progress
    let (s, e) = h.send("POST", &path, Some(&t), Some("{}"), &[("PayPal-Request-Id", "k1")]).await;
    assert_eq!((s, issue(&e)), (409, "PREVIOUS_REQUEST_IN_PROGRESS"), "{e}");
    assert_eq!(e["name"], "RESOURCE_CONFLICT");
    conforms("POST", &path, 409, &e);
    assert!(ledger_captures(&h).await.is_empty(), "nothing captured yet");
    // the sandbox finishes it although its caller is gone
    let (s, _) = h.send("POST", "/__sandbox/in-progress/release", None, None, &[]).await;
    assert_eq!(s, 200);
    let mut captured = Vec::new();
    for _ in 0..200 {
        captured = ledger_captures(&h).await;
        let (_, v) = h.send("GET", "/__sandbox/in-progress", None, None, &[]).await;
        if !captured.is_empty() && v["keys"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(captured.len(), 1, "{captured:?}");
    assert_eq!(captured[0]["order_id"], order.as_str());
    // the key now replays the capture that happened
    faults(&h, json!({})).await;
    let (s, o) = h.send("POST", &path, Some(&t), Some("{}"), &[("PayPal-Request-Id", "k1")]).await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["purchase_units"][0]["payments"]["captures"][0]["id"], captured[0]["id"]);
}

#[tokio::test]
async fn an_undocumented_error_can_come_after_the_capture_happened() {
    let (_sb, h) = start(config()).await;
    let t = h.paypal_token().await;
    for (status, expected) in [(422, "UNPROCESSABLE_ENTITY"), (400, "INVALID_REQUEST")] {
        let order = approved_order(&h, &t).await;
        let path = format!("/v2/checkout/orders/{order}/capture");
        let before = ledger_captures(&h).await.len();
        faults(
            &h,
            json!({ "routes": { "POST /v2/checkout/orders/{id}/capture": {
                "error_after_commit_rate": 1, "error_after_commit_status": status } } }),
        )
        .await;
        let (s, e) = h.send("POST", &path, Some(&t), Some("{}"), &[("PayPal-Request-Id", "after")]).await;
        assert_eq!((s, issue(&e)), (status, expected), "{e}");
        // on no documented list of this call: the answer does not conform
        assert!(!violations(&response_schema("POST", &path, status).expect("schema"), &e).is_empty(), "{e}");
        faults(&h, json!({})).await;
        assert_eq!(ledger_captures(&h).await.len(), before + 1, "the capture happened");
        let (_, o) = h.send("GET", &format!("/v2/checkout/orders/{order}"), Some(&t), None, &[]).await;
        assert_eq!(o["status"], "COMPLETED", "{o}");
    }
    let (s, _) =
        h.send("POST", "/__sandbox/faults", None, Some(r#"{"default":{"error_after_commit_status":500}}"#), &[]).await;
    assert_eq!(s, 400, "only 400 or 422");
}

#[tokio::test]
async fn idempotency_keys_expire_and_a_late_replay_is_a_new_request() {
    let retention = sandbox::KeyRetention { payments: chrono::Duration::hours(1), ..Default::default() };
    assert_eq!(sandbox::KeyRetention::default().orders, chrono::Duration::hours(6), "PAYPAL-API.md");
    assert_eq!(sandbox::KeyRetention::default().payments, chrono::Duration::days(45), "PAYPAL-API.md");
    let (_sb, h) = start(sandbox::Config { key_retention: retention, ..config() }).await;
    let t = h.paypal_token().await;
    let order = approved_order(&h, &t).await;
    let path = format!("/v2/checkout/orders/{order}/capture");
    let key = [("PayPal-Request-Id", "six-hours")];
    assert_eq!(h.send("POST", &path, Some(&t), Some("{}"), &key).await.0, 201);
    advance(&h, 6 * 3600 - 60).await;
    let t = h.paypal_token().await;
    assert_eq!(h.send("POST", &path, Some(&t), Some("{}"), &key).await.0, 200, "kept for 6 hours");
    advance(&h, 120).await;
    let (s, e) = h.send("POST", &path, Some(&t), Some("{}"), &key).await;
    assert_eq!((s, issue(&e)), (422, "ORDER_ALREADY_CAPTURED"), "forgotten after 6 hours: a new request: {e}");
    assert_eq!(ledger_captures(&h).await.len(), 1);

    // a Payments key, kept an hour here: its late replay captures again
    let mut capturable = None;
    for inv in approved(&h, "AUTHORIZE").await {
        let auth = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let (_, a) = h.send("GET", &format!("/v2/payments/authorizations/{auth}"), Some(&t), None, &[]).await;
        let (_, clock) = h.send("GET", "/__sandbox/clock", None, None, &[]).await;
        let at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().expect("time")).expect("time");
        if a["status"] == "CREATED" && at(&a["expiration_time"]) > at(&clock["now"]) + chrono::Duration::days(1) {
            capturable = Some((auth, a));
            break;
        }
    }
    let (auth, a) = capturable.expect("a capturable authorization in the seed");
    let cur = a["amount"]["currency_code"].as_str().expect("currency").to_owned();
    let one = if matches!(cur.as_str(), "JPY" | "HUF") { "1" } else { "1.00" };
    let body = json!({ "amount": { "currency_code": cur, "value": one } }).to_string();
    let capture = format!("/v2/payments/authorizations/{auth}/capture");
    let key = [("PayPal-Request-Id", "an-hour")];
    let (s, first) = h.send("POST", &capture, Some(&t), Some(&body), &key).await;
    assert_eq!(s, 201, "{first}");
    advance(&h, 3500).await;
    let t = h.paypal_token().await;
    let (s, again) = h.send("POST", &capture, Some(&t), Some(&body), &key).await;
    assert_eq!((s, &again["id"]), (200, &first["id"]), "kept for the hour: {again}");
    advance(&h, 101).await;
    let t = h.paypal_token().await;
    let (s, second) = h.send("POST", &capture, Some(&t), Some(&body), &key).await;
    assert_eq!(s, 201, "{second}");
    assert_ne!(second["id"], first["id"], "a new capture");
}

#[tokio::test]
async fn a_fault_forces_the_reference_example_s_minimal_order_capture() {
    let (_sb, h) = start(config()).await;
    let t = h.paypal_token().await;
    let order = approved_order(&h, &t).await;
    let path = format!("/v2/checkout/orders/{order}/capture");
    faults(&h, json!({ "routes": { "POST /v2/checkout/orders/{id}/capture": { "minimal_answer_rate": 1 } } })).await;
    let (s, o) = h.send("POST", &path, Some(&t), Some("{}"), &[("Prefer", "return=representation")]).await;
    assert_eq!(s, 201, "{o}");
    conforms("POST", &path, 201, &o);
    let example = crate::openapi::example("orders-capture-201.json");
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    for k in keys(&o) {
        assert!(example.get(&k).is_some(), "{k} is not in the reference example: {o}");
    }
    let unit = &o["purchase_units"][0];
    for k in keys(unit) {
        assert!(example["purchase_units"][0].get(&k).is_some(), "purchase unit {k}: {o}");
    }
    for k in keys(&unit["payments"]["captures"][0]) {
        assert!(
            example["purchase_units"][0]["payments"]["captures"][0].get(&k).is_some() || k == "status_details",
            "capture {k}: {o}"
        );
    }
}

/// `outage_after_commit_ms`: the capture happens, then PayPal answers 503 to everything (the
/// order cannot be read) while the gateway still answers; setting faults again ends the outage.
#[tokio::test]
async fn an_outage_after_the_capture_hides_it_until_the_faults_change() {
    let (_sb, h) = start(config()).await;
    let t = h.paypal_token().await;
    let order = approved_order(&h, &t).await;
    let path = format!("/v2/checkout/orders/{order}/capture");
    faults(&h, json!({ "routes": { "POST /v2/checkout/orders/{id}/capture": { "outage_after_commit_ms": 600_000 } } }))
        .await;
    let (s, o) = h.send("POST", &path, Some(&t), Some("{}"), &[("PayPal-Request-Id", "down")]).await;
    assert_eq!((s, o["status"].as_str()), (201, Some("COMPLETED")), "the capture itself answers: {o}");
    let (s, e) = h.send("GET", &format!("/v2/checkout/orders/{order}"), Some(&t), None, &[]).await;
    assert_eq!(s, 503, "{e}");
    conforms("GET", &format!("/v2/checkout/orders/{order}"), 503, &e);
    let (s, v) = h.gw("GET", "/api/v1/billing_admin/invoices?limit=1", None).await;
    assert_eq!(s, 200, "only PayPal is down: {v}");
    assert_eq!(ledger_captures(&h).await.len(), 1, "the capture happened");
    faults(&h, json!({})).await;
    let (s, o) = h.send("GET", &format!("/v2/checkout/orders/{order}"), Some(&t), None, &[]).await;
    assert_eq!((s, o["status"].as_str()), (200, Some("COMPLETED")), "{o}");
}

/// An error after the state change is for calls whose effect a caller can lose (captures): a
/// default `error_after_commit_rate` of 1 still issues OAuth tokens (a 400 there would say the
/// credentials request itself was refused), while a capture acts and answers the error.
#[tokio::test]
async fn the_oauth_token_never_answers_an_error_after_the_fact() {
    let (_sb, h) = start(config()).await;
    let t = h.paypal_token().await;
    let order = approved_order(&h, &t).await;
    faults(&h, json!({ "default": { "error_after_commit_rate": 1 } })).await;
    let again = h.paypal_token().await;
    assert!(!again.is_empty());
    let path = format!("/v2/checkout/orders/{order}/capture");
    let (s, e) = h.send("POST", &path, Some(&again), Some("{}"), &[("PayPal-Request-Id", "after-token")]).await;
    assert_eq!((s, issue(&e)), (422, "UNPROCESSABLE_ENTITY"), "{e}");
    assert_eq!(ledger_captures(&h).await.len(), 1, "the capture happened");
}
