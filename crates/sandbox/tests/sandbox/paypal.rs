use crate::{issue, quiet, Http};
use serde_json::Value;

/// Approved orders of one intent, as the gateway lists them.
async fn approved(h: &Http, intent: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1..=3 {
        let (_, v) = h.gw("GET", &format!("/api/v1/billing_admin/invoices?limit=100&page={page}"), None).await;
        out.extend(
            v["data"].as_array().cloned().unwrap_or_default().into_iter().filter(|i| i["paypal"]["intent"] == intent),
        );
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
    assert_eq!((s, v["error"].as_str()), (401, Some("invalid_token")));
}

#[tokio::test]
async fn an_order_captures_once_and_idempotency_replays() {
    let (_sb, h) = quiet().await;
    let t = h.paypal_token().await;
    let inv = approved(&h, "CAPTURE").await.into_iter().next().expect("an approved CAPTURE order");
    let order = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
    let (s, o) = pp(&h, &t, "GET", &format!("/v2/checkout/orders/{order}"), None, &[]).await;
    assert_eq!(s, 200);
    let status = o["status"].as_str().expect("status").to_owned();
    if status != "APPROVED" {
        let (s, e) = pp(
            &h,
            &t,
            "POST",
            &format!("/v2/checkout/orders/{order}/capture"),
            Some("{}"),
            &[("PayPal-Request-Id", "k0")],
        )
        .await;
        assert_eq!(s, 422, "{e}");
        return;
    }
    let path = format!("/v2/checkout/orders/{order}/capture");
    let (s, first) =
        pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "key-1"), ("Prefer", "return=representation")])
            .await;
    assert_eq!(s, 201, "{first}");
    let capture = &first["purchase_units"][0]["payments"]["captures"][0];
    assert_eq!(capture["amount"]["currency_code"], inv["currency"]);
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
    assert_eq!(c["supplementary_data"]["related_ids"]["order_id"], order.as_str());
    assert!(c["seller_receivable_breakdown"]["paypal_fee"]["value"].is_string());
    // refunds: full, then nothing left
    let (s, r) =
        pp(&h, &t, "POST", &format!("/v2/payments/captures/{cid}/refund"), Some("{}"), &[("PayPal-Request-Id", "r1")])
            .await;
    if c["status"] == "COMPLETED" {
        assert_eq!(s, 201, "{r}");
        let (s, e) = pp(
            &h,
            &t,
            "POST",
            &format!("/v2/payments/captures/{cid}/refund"),
            Some("{}"),
            &[("PayPal-Request-Id", "r2")],
        )
        .await;
        assert_eq!(s, 422, "{e}");
    }
}

#[tokio::test]
async fn authorizations_capture_up_to_their_amount() {
    let (_sb, h) = quiet().await;
    let t = h.paypal_token().await;
    let mut checked = 0;
    for inv in approved(&h, "AUTHORIZE").await {
        let auth = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let (s, a) = pp(&h, &t, "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[]).await;
        assert_eq!(s, 200);
        let path = format!("/v2/payments/authorizations/{auth}/capture");
        match a["status"].as_str() {
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
                assert_eq!((s, issue(&e)), (400, "MALFORMED_REQUEST_JSON"));
                let body =
                    format!(r#"{{"amount":{{"currency_code":"{cur}","value":"{value}"}},"final_capture":true}}"#);
                let (s, c) = pp(&h, &t, "POST", &path, Some(&body), &[("PayPal-Request-Id", "c4")]).await;
                assert_eq!(s, 201, "{c}");
                assert_eq!(c["amount"]["value"], value.as_str());
                assert_eq!(c["final_capture"], true);
                let (s, e) = pp(&h, &t, "POST", &path, Some("{}"), &[("PayPal-Request-Id", "c5")]).await;
                assert_eq!((s, issue(&e)), (422, "AUTHORIZATION_ALREADY_CAPTURED"));
                checked += 1;
            }
            other => panic!("unexpected authorization status {other:?}"),
        }
    }
    assert!(checked > 0, "at least one capturable authorization in the seed");
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
