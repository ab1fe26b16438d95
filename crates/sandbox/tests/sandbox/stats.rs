//! `GET /__sandbox/stats`: `{"requests": N, "rate_limited": M, "by_route": {...}}` since the
//! start or the last reset, so that a client's pacing can be measured.

use crate::{issue, start, Http};
use sandbox::Config;
use serde_json::{json, Value};

const INVOICE: &str = "/api/v1/billing_admin/invoices/458732";

async fn stats(h: &Http) -> Value {
    let (s, v) = h.send("GET", "/__sandbox/stats", None, None, &[]).await;
    assert_eq!(s, 200, "{v}");
    v
}

fn quiet() -> Config {
    Config { rate_limit: 0, ..Config::default() }
}

#[tokio::test]
async fn stats_count_what_the_clients_sent() {
    let (_sb, h) = start(quiet()).await;
    for _ in 0..3 {
        h.paypal_token().await;
    }
    h.gw("GET", INVOICE, None).await;
    let v = stats(&h).await;
    assert_eq!(
        v,
        json!({ "requests": 4, "rate_limited": 0, "by_route": { "POST /v1/oauth2/token": 3, format!("GET {INVOICE}"): 1 } }),
        "the control API (faults, clock, stats) is not counted"
    );
    assert_eq!(h.send("POST", "/__sandbox/reset", None, Some(""), &[]).await.0, 200);
    assert_eq!(stats(&h).await, json!({ "requests": 0, "rate_limited": 0, "by_route": {} }), "reset clears them");
    h.gw("GET", INVOICE, None).await;
    assert_eq!(stats(&h).await["requests"], 1, "counted again from the reset");
}

#[tokio::test]
async fn requests_the_rate_limit_refused_are_counted_and_counted_as_rate_limited() {
    // one request a second, bursts of two: a dozen back to back cannot all pass unless sending
    // them took ten seconds; whatever passed, the stats say exactly what the client saw
    let (_sb, h) = start(Config { rate_limit: 1, ..Config::default() }).await;
    let mut refused = 0;
    for _ in 0..12 {
        let (s, v) = h.gw("GET", INVOICE, None).await;
        assert!(s == 200 || s == 429, "{s} {v}");
        refused += u64::from(s == 429);
    }
    assert!(refused >= 1, "the bucket refused none of 12 requests at 1/s");
    let v = stats(&h).await;
    assert_eq!(v["requests"], 12, "429s are requests too: {v}");
    assert_eq!(v["rate_limited"], refused, "{v}");
    assert_eq!(v["by_route"][format!("GET {INVOICE}")], 12, "{v}");
}

#[tokio::test]
async fn a_429_fault_and_a_mocked_rate_limit_count_as_rate_limited() {
    let (sb, h) = start(quiet()).await;
    sb.set_faults(
        serde_json::from_value(
            json!({ "routes": { "GET /api/v1/billing_admin/invoices/{no}": { "rate_limit_rate": 1 } } }),
        )
        .expect("faults"),
    );
    for _ in 0..3 {
        assert_eq!(h.gw("GET", INVOICE, None).await.0, 429);
    }
    h.gw("GET", "/api/v1/billing_admin/invoices?page=1&limit=1", None).await;
    let t = h.paypal_token().await;
    let mock = ("PayPal-Mock-Response", r#"{"mock_application_codes":"RATE_LIMIT_REACHED"}"#);
    let (s, v) = h.send("GET", "/v2/checkout/orders/NOSUCHORDER", Some(&t), None, &[mock]).await;
    assert_eq!((s, issue(&v)), (429, "RATE_LIMIT_REACHED"), "{v}");
    let v = stats(&h).await;
    assert_eq!((v["requests"].as_u64(), v["rate_limited"].as_u64()), (Some(6), Some(4)), "{v}");
    assert_eq!(v["by_route"][format!("GET {INVOICE}")], 3, "{v}");
}
