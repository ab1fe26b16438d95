use crate::{issue, quiet, Http};
use serde_json::Value;

/// Invoices with a PayPal approval of one intent, as the gateway lists them (every page).
pub async fn approved(h: &Http, intent: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let (s, v) = h.gw("GET", &format!("/api/v1/billing_admin/invoices?limit=100&page={page}"), None).await;
        assert_eq!(s, 200, "{v}");
        let data = v["data"].as_array().cloned().unwrap_or_default();
        out.extend(data.into_iter().filter(|i| i["paypal"]["intent"] == intent));
        if v["pagination"]["totalPages"].as_u64().is_none_or(|n| page >= n) {
            break;
        }
    }
    out
}

async fn pp(
    h: &Http,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    h.send(method, path, Some(token), body, headers).await
}

#[tokio::test]
async fn oauth_tokens_and_their_errors() {
    let (_sb, h) = quiet().await;
    let token = h.paypal_token().await;
    assert!(token.starts_with("A21AA"));
    let r = h
        .client
        .post(format!("{}/v1/oauth2/token", h.base))
        .basic_auth("demo-client-id", Some("wrong"))
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"], "invalid_client");
    let r = h
        .client
        .post(format!("{}/v1/oauth2/token", h.base))
        .basic_auth("demo-client-id", Some("demo-client-secret"))
        .body("grant_type=password")
        .send()
        .await
        .expect("req");
    assert_eq!(r.status(), 400);
    let (s, v) = pp(&h, "not-a-token", "GET", "/v2/checkout/orders/X", None, &[]).await;
    // API calls answer PayPal's error_401, not OAuth's shape
    assert_eq!((s, v["name"].as_str()), (401, Some("AUTHENTICATION_FAILURE")), "{v}");
}

/// Every CAPTURE order the gateway lists, with PayPal's status of it.
async fn capture_orders(h: &Http, t: &str) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    for inv in approved(h, "CAPTURE").await {
        let order = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
        let (s, o) = pp(h, t, "GET", &format!("/v2/checkout/orders/{order}"), None, &[]).await;
        assert_eq!(s, 200, "{o}");
        out.push((inv, o["status"].as_str().expect("status").to_owned()));
    }
    out
}

#[tokio::test]
async fn an_order_captures_once_and_idempotency_replays() {
    let (_sb, h) = quiet().await;
    let t = h.paypal_token().await;
    let orders = capture_orders(&h, &t).await;
    // the seed's first approved order captures COMPLETED
    let (inv, _) = orders.iter().find(|(_, s)| s == "APPROVED").expect("an APPROVED order in the seed");
    let order = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
    let path = format!("/v2/checkout/orders/{order}/capture");
    let (s, first) =
        pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "key-1"), ("Prefer", "return=representation")])
            .await;
    assert_eq!(s, 201, "{first}");
    let capture = &first["purchase_units"][0]["payments"]["captures"][0];
    assert_eq!(capture["amount"]["currency_code"], inv["currency"]);
    assert_eq!(capture["status"], "COMPLETED", "{first}");
    let cid = capture["id"].as_str().expect("capture id").to_owned();
    // the same key: the same capture, no new one
    let (s, again) = pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "key-1")]).await;
    assert!(s == 200 || s == 201);
    assert_eq!(again["purchase_units"][0]["payments"]["captures"][0]["id"], cid.as_str());
    // a new key: already captured
    let (s, e) = pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "key-2")]).await;
    assert_eq!((s, issue(&e)), (422, "ORDER_ALREADY_CAPTURED"));
    assert!(e["debug_id"].as_str().is_some_and(|d| !d.is_empty()));
    let (s, c) = pp(&h, &t, "GET", &format!("/v2/payments/captures/{cid}"), None, &[]).await;
    assert_eq!(s, 200);
    assert_eq!(c["status"], "COMPLETED");
    assert_eq!(c["supplementary_data"]["related_ids"]["order_id"], order.as_str());
    assert!(c["seller_receivable_breakdown"]["paypal_fee"]["value"].is_string());
    // refunds: full, then nothing left
    let refund = format!("/v2/payments/captures/{cid}/refund");
    let (s, r) =
        pp(&h, &t, "POST", &refund, Some("{}"), &[("PayPal-Request-Id", "r1"), ("Prefer", "return=representation")])
            .await;
    assert_eq!((s, r["status"].as_str()), (201, Some("COMPLETED")), "{r}");
    assert_eq!(r["amount"]["value"], c["amount"]["value"]);
    let (s, c) = pp(&h, &t, "GET", &format!("/v2/payments/captures/{cid}"), None, &[]).await;
    assert_eq!((s, c["status"].as_str()), (200, Some("REFUNDED")));
    let (s, e) = pp(&h, &t, "POST", &refund, Some("{}"), &[("PayPal-Request-Id", "r2")]).await;
    assert_eq!((s, issue(&e)), (422, "CAPTURE_FULLY_REFUNDED"), "{e}");
}

#[tokio::test]
async fn orders_not_approved_or_voided_refuse_the_capture() {
    let (_sb, h) = quiet().await;
    let t = h.paypal_token().await;
    let orders = capture_orders(&h, &t).await;
    // PayPal's list for the order capture has nothing closer than ORDER_NOT_APPROVED for a voided order
    for (status, issue_expected) in [("CREATED", "ORDER_NOT_APPROVED"), ("VOIDED", "ORDER_NOT_APPROVED")] {
        let (inv, _) =
            orders.iter().find(|(_, s)| s == status).unwrap_or_else(|| panic!("a {status} order in the seed"));
        let order = inv["paypal"]["orderId"].as_str().expect("order id");
        let (s, e) = pp(
            &h,
            &t,
            "POST",
            &format!("/v2/checkout/orders/{order}/capture"),
            Some("{}"),
            &[("PayPal-Request-Id", status)],
        )
        .await;
        assert_eq!((s, issue(&e)), (422, issue_expected), "{status}: {e}");
    }
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    assert_eq!(ledger["paypal_captures"].as_array().map(Vec::len), Some(0), "nothing captured");
}

#[tokio::test]
async fn captures_come_back_completed_pending_or_declined_and_only_completed_ones_refund() {
    let (_sb, h) = crate::start(sandbox::Config { rate_limit: 0, pending_seconds: 0, ..Default::default() }).await;
    let t = h.paypal_token().await;
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    for (inv, status) in capture_orders(&h, &t).await {
        if status != "APPROVED" {
            continue;
        }
        let order = inv["paypal"]["orderId"].as_str().expect("order id");
        let (s, o) = pp(&h, &t, "POST", &format!("/v2/checkout/orders/{order}/capture"), Some("{}"), &[]).await;
        assert_eq!(s, 201, "{o}");
        // PayPal: the order can be COMPLETED while its capture is DECLINED; read the capture's own status
        assert_eq!(o["status"], "COMPLETED");
        let c = &o["purchase_units"][0]["payments"]["captures"][0];
        seen.entry(c["status"].as_str().expect("status").to_owned())
            .or_insert_with(|| c["id"].as_str().expect("id").to_owned());
        if seen.len() == 3 {
            break;
        }
    }
    let ids: Vec<&str> = ["COMPLETED", "PENDING", "DECLINED"]
        .iter()
        .map(|s| seen.get(*s).unwrap_or_else(|| panic!("the seed has a {s} capture: {seen:?}")).as_str())
        .collect();
    let (pending, declined) = (ids[1], ids[2]);
    let (_, c) = pp(&h, &t, "GET", &format!("/v2/payments/captures/{pending}"), None, &[]).await;
    assert_eq!(c["status_details"]["reason"], "PENDING_REVIEW");
    let (_, c) = pp(&h, &t, "GET", &format!("/v2/payments/captures/{declined}"), None, &[]).await;
    assert_eq!(c["status"], "DECLINED");
    assert!(c.get("status_details").is_none(), "PayPal's list of reasons has none for a decline: {c}");
    for (id, expected) in [(pending, "PENDING_CAPTURE"), (declined, "REFUND_NOT_ALLOWED")] {
        let (s, e) =
            pp(&h, &t, "POST", &format!("/v2/payments/captures/{id}/refund"), Some("{}"), &[("PayPal-Request-Id", id)])
                .await;
        assert_eq!((s, issue(&e)), (422, expected), "{id}: {e}");
    }
}

#[tokio::test]
async fn authorizations_capture_up_to_their_amount() {
    // 1,200 invoices: the smallest seeded world here with a voided and an expired authorization
    let (_sb, h) = crate::start(sandbox::Config { rate_limit: 0, invoices: 1200, ..Default::default() }).await;
    let t = h.paypal_token().await;
    let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
    let (_, clock) = h.send("GET", "/__sandbox/clock", None, None, &[]).await;
    let now = clock["now"].as_str().expect("now").to_owned();
    for inv in approved(&h, "AUTHORIZE").await {
        let auth = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let (s, a) = pp(&h, &t, "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[]).await;
        assert_eq!(s, 200);
        let path = format!("/v2/payments/authorizations/{auth}/capture");
        // PayPal's schema has no EXPIRED status: an authorization past its expiration_time is expired
        let past = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("time");
        let expired = past(a["expiration_time"].as_str().expect("expiration")) <= past(&now);
        let kind = if expired { "EXPIRED" } else { a["status"].as_str().unwrap_or("") };
        *seen.entry(kind.to_owned()).or_default() += 1;
        match Some(kind) {
            Some("VOIDED") => {
                let (s, e) = pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "v")]).await;
                assert_eq!((s, issue(&e)), (422, "AUTHORIZATION_VOIDED"));
            }
            Some("EXPIRED") => {
                let (s, e) = pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "x")]).await;
                assert_eq!((s, issue(&e)), (422, "AUTHORIZATION_EXPIRED"));
            }
            Some("CREATED") => {
                let cur = a["amount"]["currency_code"].as_str().expect("currency").to_owned();
                let value = a["amount"]["value"].as_str().expect("value").to_owned();
                let other = if cur == "EUR" { "USD" } else { "EUR" };
                let (s, e) = pp(
                    &h,
                    &t,
                    "POST",
                    &path,
                    Some(&format!(r#"{{"amount":{{"currency_code":"{other}","value":"1.00"}}}}"#)),
                    &[("PayPal-Request-Id", "c1")],
                )
                .await;
                assert_eq!((s, issue(&e)), (422, "AUTH_CAPTURE_CURRENCY_MISMATCH"));
                let (s, e) = pp(
                    &h,
                    &t,
                    "POST",
                    &path,
                    Some(&format!(r#"{{"amount":{{"currency_code":"{cur}","value":"99999999"}}}}"#)),
                    &[("PayPal-Request-Id", "c2")],
                )
                .await;
                assert_eq!((s, issue(&e)), (422, "MAX_CAPTURE_AMOUNT_EXCEEDED"));
                let (s, e) = pp(&h, &t, "POST", &path, Some(r#"{"amount":"#), &[("PayPal-Request-Id", "c3")]).await;
                // the Payments call's list of 400 issues has no MALFORMED_REQUEST_JSON
                assert_eq!((s, issue(&e)), (400, "INVALID_PARAMETER_SYNTAX"));
                let body =
                    format!(r#"{{"amount":{{"currency_code":"{cur}","value":"{value}"}},"final_capture":true}}"#);
                let representation = ("Prefer", "return=representation");
                let (s, c) =
                    pp(&h, &t, "POST", &path, Some(&body), &[("PayPal-Request-Id", "c4"), representation]).await;
                assert_eq!(s, 201, "{c}");
                assert_eq!(c["amount"]["value"], value.as_str());
                assert_eq!(c["final_capture"], true);
                let (s, e) = pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "c5")]).await;
                assert_eq!((s, issue(&e)), (422, "AUTHORIZATION_ALREADY_CAPTURED"));
            }
            other => panic!("unexpected authorization status {other:?}"),
        }
    }
    for status in ["CREATED", "VOIDED", "EXPIRED"] {
        assert!(seen.get(status).is_some_and(|n| *n > 0), "the seed has a {status} authorization: {seen:?}");
    }
}

#[tokio::test]
async fn negative_testing_and_unknown_ids() {
    let (_sb, h) = quiet().await;
    let t = h.paypal_token().await;
    for (code, status) in [
        ("INSTRUMENT_DECLINED", 422),
        ("INTERNAL_SERVER_ERROR", 500),
        ("RATE_LIMIT_REACHED", 429),
        ("INVALID_RESOURCE_ID", 404),
        ("ORDER_NOT_APPROVED", 422),
    ] {
        let mock = format!(r#"{{"mock_application_codes":"{code}"}}"#);
        let (s, e) = pp(
            &h,
            &t,
            "POST",
            "/v2/checkout/orders/5O190127TN364715T/capture",
            Some("{}"),
            &[("PayPal-Mock-Response", &mock)],
        )
        .await;
        assert_eq!((s, issue(&e)), (status, code), "{e}");
        assert!(e["name"].is_string() && e["message"].is_string() && e["debug_id"].is_string());
    }
    // the mocked failure moved nothing: the order still captures
    let (s, _) = pp(&h, &t, "POST", "/v2/checkout/orders/5O190127TN364715T/capture", Some("{}"), &[]).await;
    assert_eq!(s, 201);
    for path in [
        "/v2/checkout/orders/NOPE",
        "/v2/payments/authorizations/NOPE",
        "/v2/payments/captures/NOPE",
        "/v2/payments/refunds/NOPE",
    ] {
        let (s, e) = pp(&h, &t, "GET", path, None, &[]).await;
        assert_eq!((s, issue(&e)), (404, "INVALID_RESOURCE_ID"), "{path}");
    }
}
