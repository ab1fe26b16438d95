//! Authorizations (captured in parts, voided, refused), authorizing an order, and the error
//! answers: unknown ids, a refused token, negative testing and injected faults.

use super::orders::Seen;
use super::{captures, id, time, up, Traffic, MINIMAL, REPRESENTATION};
use crate::issue;
use crate::paypal::approved;
use serde_json::{json, Value};

pub(super) async fn authorizations(t: &mut Traffic) {
    let (_, clock) = t.h.send("GET", "/__sandbox/clock", None, None, &[]).await;
    let now = time(&clock["now"]);
    let mut auths: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for inv in approved(&t.h, "AUTHORIZE").await {
        let auth = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let order = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
        let (s, a) =
            t.call("authorization get", "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[]).await;
        assert_eq!(s, 200, "{a}");
        let (s, o) = t.call("order get, authorized", "GET", &format!("/v2/checkout/orders/{order}"), None, &[]).await;
        assert_eq!(s, 200, "{o}");
        // PayPal's schema has no EXPIRED status: an authorization past its expiration_time is expired
        let expired = time(&a["expiration_time"]) <= now;
        t.expect(time(&a["expiration_time"]) > time(&a["create_time"]), format!("expires after it was made: {a}"));
        let kind = if expired { "EXPIRED".to_owned() } else { a["status"].as_str().expect("status").to_owned() };
        auths.entry(kind).or_default().push((auth, order));
    }
    for (kind, n) in [("CREATED", 3), ("VOIDED", 1), ("EXPIRED", 1)] {
        assert!(
            auths.get(kind).is_some_and(|v| v.len() >= n),
            "the seed has {n} {kind} authorizations: {:?}",
            auths.keys()
        );
    }
    let (auth, order) = auths["CREATED"][0].clone();
    let path = format!("/v2/payments/authorizations/{auth}/capture");
    let (_, a) = t.call("authorization get", "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[]).await;
    let cur = a["amount"]["currency_code"].as_str().expect("currency").to_owned();
    let other = if cur == "EUR" { "USD" } else { "EUR" };
    for (what, body, status, expected) in [
        (
            "currency mismatch",
            format!(r#"{{"amount":{{"currency_code":"{other}","value":"1.00"}}}}"#),
            422,
            "AUTH_CAPTURE_CURRENCY_MISMATCH",
        ),
        (
            "too much",
            format!(r#"{{"amount":{{"currency_code":"{cur}","value":"99999999"}}}}"#),
            422,
            "MAX_CAPTURE_AMOUNT_EXCEEDED",
        ),
        ("zero", format!(r#"{{"amount":{{"currency_code":"{cur}","value":"0"}}}}"#), 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        (
            "decimals",
            format!(r#"{{"amount":{{"currency_code":"{cur}","value":"1.001"}}}}"#),
            422,
            if matches!(cur.as_str(), "JPY" | "HUF") { "DECIMALS_NOT_SUPPORTED" } else { "DECIMAL_PRECISION" },
        ),
        (
            "unknown currency",
            r#"{"amount":{"currency_code":"XQX","value":"1.00"}}"#.to_owned(),
            422,
            "INVALID_CURRENCY_CODE",
        ),
        ("final_capture not a boolean", r#"{"final_capture":"yes"}"#.to_owned(), 400, "INVALID_PARAMETER_SYNTAX"),
    ] {
        let (s, e) = t
            .call(&format!("authorization capture, {what}"), "POST", &path, Some(&body), &[("PayPal-Request-Id", what)])
            .await;
        t.expect((s, issue(&e)) == (status, expected), format!("{what}: {e}"));
    }
    // a part, then the rest
    let part = if matches!(cur.as_str(), "JPY" | "HUF") { "1" } else { "1.00" };
    let (s, c) = t
        .call(
            "authorization capture",
            "POST",
            &path,
            Some(&format!(r#"{{"amount":{{"currency_code":"{cur}","value":"{part}"}}}}"#)),
            &[REPRESENTATION, ("PayPal-Request-Id", "part")],
        )
        .await;
    assert_eq!(s, 201, "{c}");
    t.expect(
        up(&c).ends_with(&format!("/v2/payments/authorizations/{auth}")),
        format!("the up link names the authorization: {c}"),
    );
    let (s, a) = t
        .call("authorization get, partly captured", "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[])
        .await;
    assert_eq!((s, a["status"].as_str()), (200, Some("PARTIALLY_CAPTURED")), "{a}");
    let (s, rest) = t
        .call(
            "authorization capture, the rest",
            "POST",
            &path,
            Some(r#"{"final_capture":true}"#),
            &[MINIMAL, ("PayPal-Request-Id", "rest")],
        )
        .await;
    assert_eq!(s, 201, "{rest}");
    let (s, e) =
        t.call("authorization capture again", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "again")]).await;
    t.expect((s, issue(&e)) == (422, "AUTHORIZATION_ALREADY_CAPTURED"), format!("{e}"));
    let (s, c) = t
        .call("capture get, of an authorization", "GET", &format!("/v2/payments/captures/{}", id(&rest)), None, &[])
        .await;
    assert_eq!(s, 200);
    t.expect(c["supplementary_data"]["related_ids"]["authorization_id"] == auth.as_str(), format!("{c}"));
    t.expect(c["supplementary_data"]["related_ids"]["order_id"] == order.as_str(), format!("{c}"));
    let (s, o) = t
        .call("order get, with authorization captures", "GET", &format!("/v2/checkout/orders/{order}"), None, &[])
        .await;
    assert_eq!(s, 200);
    for cap in captures(&o) {
        t.expect(up(&cap).ends_with(&format!("/v2/payments/authorizations/{auth}")), format!("{cap}"));
    }
    let (s, e) = t.call("void, captured", "POST", &format!("/v2/payments/authorizations/{auth}/void"), None, &[]).await;
    t.expect((s, issue(&e)) == (422, "PREVIOUSLY_CAPTURED"), format!("{e}"));
    for (kind, expected) in [("VOIDED", "AUTHORIZATION_VOIDED"), ("EXPIRED", "AUTHORIZATION_EXPIRED")] {
        let (auth, _) = &auths[kind][0];
        let path = format!("/v2/payments/authorizations/{auth}/capture");
        let (s, e) =
            t.call("authorization capture refused", "POST", &path, Some("{}"), &[("PayPal-Request-Id", kind)]).await;
        t.expect((s, issue(&e)) == (422, expected), format!("{kind}: {e}"));
    }
    let (voided, _) = &auths["VOIDED"][0];
    let (s, e) = t.call("void, voided", "POST", &format!("/v2/payments/authorizations/{voided}/void"), None, &[]).await;
    t.expect((s, issue(&e)) == (422, "PREVIOUSLY_VOIDED"), format!("{e}"));
    let (to_void, _) = &auths["CREATED"][1];
    let (s, v) =
        t.call("void", "POST", &format!("/v2/payments/authorizations/{to_void}/void"), None, &[REPRESENTATION]).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("VOIDED")), "{v}");
    let (to_void, _) = &auths["CREATED"][2];
    let (s, v) =
        t.call("void, minimal", "POST", &format!("/v2/payments/authorizations/{to_void}/void"), None, &[MINIMAL]).await;
    t.expect((s, v) == (204, Value::Null), "a 204 has no content".to_owned());
    t.answers.pop(); // a 204 has no body to validate
}

/// Authorizing an order (an approved order of intent AUTHORIZE, made for the test).
pub(super) async fn authorize_order(t: &mut Traffic, seen: &Seen) {
    let approved_orders = &seen.approved;
    let made = t
        .control(
            "/__sandbox/orders",
            r#"{"intent":"AUTHORIZE","currency_code":"EUR","value":"120.50","invoice_id":"T-1"}"#,
        )
        .await;
    if let Some(made) = made["id"].as_str().map(str::to_owned) {
        let path = format!("/v2/checkout/orders/{made}/authorize");
        let (s, o) =
            t.call("order authorize", "POST", &path, Some("{}"), &[REPRESENTATION, ("PayPal-Request-Id", "az")]).await;
        assert_eq!(s, 201, "{o}");
        let a = &o["purchase_units"][0]["payments"]["authorizations"][0];
        t.expect(up(a).ends_with(&format!("/v2/checkout/orders/{made}")), format!("{a}"));
        let (s, _) =
            t.call("order authorize replayed", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "az")]).await;
        assert_eq!(s, 200);
        let (s, e) = t.call("order authorize again", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "az2")]).await;
        t.expect((s, issue(&e)) == (422, "ORDER_ALREADY_AUTHORIZED"), format!("{e}"));
    }
    let capture_order = &approved_orders[approved_orders.len() - 1];
    let (s, e) = t
        .call(
            "order authorize, intent CAPTURE",
            "POST",
            &format!("/v2/checkout/orders/{capture_order}/authorize"),
            Some("{}"),
            &[],
        )
        .await;
    t.expect((s, issue(&e)) == (422, "ACTION_DOES_NOT_MATCH_INTENT"), format!("{e}"));
}

/// Unknown ids, a refused token, negative testing and injected faults.
pub(super) async fn errors(t: &mut Traffic, seen: &Seen) {
    let approved_orders = &seen.approved;
    let completed = seen.outcomes["COMPLETED"].clone();
    for path in [
        "/v2/checkout/orders/NOPE",
        "/v2/payments/authorizations/NOPE",
        "/v2/payments/captures/NOPE",
        "/v2/payments/refunds/NOPE",
    ] {
        let (s, e) = t.call("unknown id", "GET", path, None, &[]).await;
        t.expect((s, issue(&e)) == (404, "INVALID_RESOURCE_ID"), format!("{path}: {e}"));
    }
    let (s, e) = t.call("unknown order capture", "POST", "/v2/checkout/orders/NOPE/capture", Some("{}"), &[]).await;
    t.expect((s, issue(&e)) == (404, "INVALID_RESOURCE_ID"), format!("{e}"));
    let seed_order = format!("/v2/checkout/orders/{}", approved_orders[0]);
    for (path, method) in [
        (seed_order.clone(), "GET"),
        (format!("/v2/payments/captures/{completed}"), "GET"),
        (format!("{seed_order}/capture"), "POST"),
    ] {
        let (s, e) = t.call_as("a refused token", Some("not-a-token"), method, &path, Some("{}"), &[]).await;
        t.expect((s, e["name"].as_str()) == (401, Some("AUTHENTICATION_FAILURE")), format!("{e}"));
    }
    let fresh = approved_orders.last().expect("an order");
    let capture = format!("/v2/checkout/orders/{fresh}/capture");
    // negative testing, with issues of this call's lists (a mocked 500 or 503 carries its issue in
    // details[], which error_500 does not define: PayPal's mocks are outside its files)
    for (mock, status) in [("INSTRUMENT_DECLINED", 422), ("PERMISSION_DENIED", 403), ("INVALID_RESOURCE_ID", 404)] {
        let header = format!(r#"{{"mock_application_codes":"{mock}"}}"#);
        let (s, _) = t.call("mocked", "POST", &capture, Some("{}"), &[("PayPal-Mock-Response", &header)]).await;
        assert_eq!(s, status, "{mock}");
    }
    for status in [500, 503, 401, 403, 404] {
        t.control("/__sandbox/faults", &json!({ "default": { "error_rate": 1, "error_status": status } }).to_string())
            .await;
        let (s, _) = t.call("injected", "GET", &seed_order, None, &[]).await;
        let (s2, _) = t.call("injected", "POST", &capture, Some("{}"), &[]).await;
        assert_eq!((s, s2), (status, status));
    }
    t.control("/__sandbox/faults", "{}").await;
}
