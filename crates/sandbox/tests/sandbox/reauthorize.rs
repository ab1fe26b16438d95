//! PayPal's reauthorize (`POST /v2/payments/authorizations/{id}/reauthorize`) as
//! `payments_payment_v2.json` describes it: once the 3-day honour period has passed and within
//! the 29 days, once, a new CREATED authorization (a new id) with a fresh honour period and
//! validity, listed on the order; idempotent on `PayPal-Request-Id`.

use crate::openapi::{response_schema, violations};
use crate::{issue, start, Http};
use chrono::{DateTime, Duration, Utc};
use sandbox::Config;
use serde_json::{json, Value};

const REPRESENTATION: (&str, &str) = ("Prefer", "return=representation");

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time, not {v}")))
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn now(h: &Http) -> DateTime<Utc> {
    at(&h.send("GET", "/__sandbox/clock", None, None, &[]).await.1["now"])
}

/// Days pass; a new token (the old one expired with them).
async fn advance_days(h: &Http, days: u32) -> String {
    let (s, v) =
        h.send("POST", "/__sandbox/clock", None, Some(&json!({ "advance_days": days }).to_string()), &[]).await;
    assert_eq!(s, 200, "{v}");
    h.paypal_token().await
}

/// A fresh authorization of `value` USD (made now), its order and a token.
async fn authorization(h: &Http, value: &str) -> (String, String, String) {
    let body = json!({ "intent": "AUTHORIZE", "currency_code": "USD", "value": value }).to_string();
    let (s, o) = h.send("POST", "/__sandbox/orders", None, Some(&body), &[]).await;
    assert_eq!(s, 201, "{o}");
    let order = o["id"].as_str().expect("order id").to_owned();
    let t = h.paypal_token().await;
    let (s, v) = h
        .send("POST", &format!("/v2/checkout/orders/{order}/authorize"), Some(&t), Some("{}"), &[REPRESENTATION])
        .await;
    assert_eq!(s, 201, "{v}");
    let auth =
        v["purchase_units"][0]["payments"]["authorizations"][0]["id"].as_str().expect("authorization").to_owned();
    (auth, order, t)
}

async fn reauthorize(h: &Http, t: &str, id: &str, body: &str, key: &str) -> (u16, Value) {
    let path = format!("/v2/payments/authorizations/{id}/reauthorize");
    h.send("POST", &path, Some(t), Some(body), &[("PayPal-Request-Id", key), REPRESENTATION]).await
}

fn quiet() -> Config {
    Config { rate_limit: 0, ..Config::default() }
}

#[tokio::test]
async fn too_soon_within_the_honour_period_then_a_new_authorization_listed_on_the_order() {
    let (_sb, h) = start(quiet()).await;
    let (id, order, t) = authorization(&h, "100.00").await;
    let (s, v) = reauthorize(&h, &t, &id, "", "early").await;
    assert_eq!((s, issue(&v)), (422, "REAUTHORIZATION_TOO_SOON"), "{v}");

    let t = advance_days(&h, 4).await;
    let (s, r) = reauthorize(&h, &t, &id, "", "day-4").await;
    assert_eq!(s, 201, "{r}");
    let schema =
        response_schema("POST", &format!("/v2/payments/authorizations/{id}/reauthorize"), 201).expect("schema");
    assert_eq!(violations(&schema, &r), Vec::<String>::new(), "{r}");
    let new_id = r["id"].as_str().expect("id");
    assert_ne!(new_id, id, "a reauthorization is a new authorization");
    assert_eq!(r["status"], "CREATED", "{r}");
    assert_eq!(r["amount"], json!({ "currency_code": "USD", "value": "100.00" }), "no amount: the original's");
    let now = now(&h).await;
    assert!((at(&r["create_time"]) - now).num_seconds().abs() <= 2, "made now: {r}");
    let validity = at(&r["expiration_time"]) - at(&r["create_time"]);
    assert_eq!(validity, Duration::days(29), "a fresh validity, so a fresh honour period: {r}");
    assert_eq!(r["supplementary_data"]["related_ids"]["order_id"], order.as_str(), "{r}");
    let up = r["links"].as_array().expect("links").iter().find(|l| l["rel"] == "up").expect("up link");
    assert!(up["href"].as_str().is_some_and(|u| u.ends_with(&format!("/v2/checkout/orders/{order}"))), "{up}");

    let (s, o) = h.send("GET", &format!("/v2/checkout/orders/{order}"), Some(&t), None, &[]).await;
    assert_eq!(s, 200, "{o}");
    let listed: Vec<&str> = o["purchase_units"][0]["payments"]["authorizations"]
        .as_array()
        .expect("authorizations")
        .iter()
        .filter_map(|a| a["id"].as_str())
        .collect();
    assert_eq!(listed, vec![id.as_str(), new_id], "the order lists the reauthorization after the original");
    let (s, g) = h.send("GET", &format!("/v2/payments/authorizations/{new_id}"), Some(&t), None, &[]).await;
    assert_eq!((s, &g["status"]), (200, &json!("CREATED")), "{g}");
}

#[tokio::test]
async fn once_per_authorization_never_of_a_reauthorization_and_replayed_by_its_key() {
    let (_sb, h) = start(quiet()).await;
    let (id, order, _) = authorization(&h, "100.00").await;
    let t = advance_days(&h, 5).await;
    let (s, first) = reauthorize(&h, &t, &id, "", "k1").await;
    assert_eq!(s, 201, "{first}");
    // the same key again: the same reauthorization, not another
    let (s, replay) = reauthorize(&h, &t, &id, "", "k1").await;
    assert_eq!((s, &replay["id"]), (200, &first["id"]), "{replay}");
    let (s, v) = reauthorize(&h, &t, &id, "", "k2").await;
    assert_eq!((s, issue(&v)), (422, "REAUTHORIZATION_NOT_SUPPORTED"), "once: {v}");
    let t = advance_days(&h, 4).await;
    let new_id = first["id"].as_str().expect("id");
    let (s, v) = reauthorize(&h, &t, new_id, "", "k3").await;
    assert_eq!((s, issue(&v)), (422, "REAUTHORIZATION_NOT_SUPPORTED"), "a reauthorization: {v}");
    let (_, o) = h.send("GET", &format!("/v2/checkout/orders/{order}"), Some(&t), None, &[]).await;
    assert_eq!(o["purchase_units"][0]["payments"]["authorizations"].as_array().map(Vec::len), Some(2), "{o}");
}

#[tokio::test]
async fn the_amount_may_grow_to_115_percent_in_the_authorization_s_currency() {
    let (_sb, h) = start(quiet()).await;
    let body = |value: &str, code: &str| json!({ "amount": { "currency_code": code, "value": value } }).to_string();
    let (id, _, _) = authorization(&h, "100.00").await;
    let t = advance_days(&h, 4).await;
    let (s, v) = reauthorize(&h, &t, &id, &body("115.01", "USD"), "over").await;
    assert_eq!((s, issue(&v)), (422, "TRANSACTION_REFUSED"), "{v}");
    let (s, v) = reauthorize(&h, &t, &id, &body("110.00", "EUR"), "eur").await;
    assert_eq!((s, issue(&v)), (422, "AUTH_CURRENCY_MISMATCH"), "{v}");
    let (s, v) = reauthorize(&h, &t, &id, &body("110.001", "USD"), "digits").await;
    assert_eq!((s, issue(&v)), (422, "DECIMAL_PRECISION"), "{v}");
    let (s, v) = reauthorize(&h, &t, &id, &json!({ "amount": { "value": "1" } }).to_string(), "half").await;
    assert_eq!((s, issue(&v)), (400, "MISSING_REQUIRED_PARAMETER"), "{v}");
    let (s, r) = reauthorize(&h, &t, &id, &body("115.00", "USD"), "grow").await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["amount"]["value"], "115.00", "{r}");
}

#[tokio::test]
async fn voided_expired_captured_and_unknown_authorizations_are_refused() {
    let (_sb, h) = start(quiet()).await;
    let (voided, _, t) = authorization(&h, "10.00").await;
    let (captured, _, _) = authorization(&h, "10.00").await;
    let (expired, _, _) = authorization(&h, "10.00").await;
    let (s, v) = h.send("POST", &format!("/v2/payments/authorizations/{voided}/void"), Some(&t), None, &[]).await;
    assert_eq!(s, 204, "{v}");
    let (s, v) =
        h.send("POST", &format!("/v2/payments/authorizations/{captured}/capture"), Some(&t), Some("{}"), &[]).await;
    assert_eq!(s, 201, "{v}");
    let t = advance_days(&h, 4).await;
    let (s, v) = reauthorize(&h, &t, &voided, "", "a").await;
    assert_eq!((s, issue(&v)), (422, "AUTHORIZATION_VOIDED"), "{v}");
    let (s, v) = reauthorize(&h, &t, &captured, "", "b").await;
    assert_eq!((s, issue(&v)), (422, "AUTHORIZATION_ALREADY_CAPTURED"), "{v}");
    let (s, v) = reauthorize(&h, &t, "NOSUCHAUTHORIZATION", "", "c").await;
    assert_eq!((s, issue(&v)), (404, "INVALID_RESOURCE_ID"), "{v}");
    let t = advance_days(&h, 26).await;
    let (s, v) = reauthorize(&h, &t, &expired, "", "d").await;
    assert_eq!((s, issue(&v)), (422, "AUTHORIZATION_EXPIRED"), "past its 29 days: {v}");
}

#[tokio::test]
async fn the_original_and_its_reauthorization_hold_one_payment() {
    let (_sb, h) = start(quiet()).await;
    let (id, _, _) = authorization(&h, "50.00").await;
    let t = advance_days(&h, 4).await;
    let (s, r) = reauthorize(&h, &t, &id, "", "re").await;
    assert_eq!(s, 201, "{r}");
    let new_id = r["id"].as_str().expect("id");
    let void = format!("/v2/payments/authorizations/{new_id}/void");
    let (s, v) = h.send("POST", &void, Some(&t), None, &[]).await;
    assert_eq!((s, issue(&v)), (422, "CANNOT_BE_VOIDED"), "a reauthorization is voided through its original: {v}");
    let (s, c) =
        h.send("POST", &format!("/v2/payments/authorizations/{new_id}/capture"), Some(&t), Some("{}"), &[]).await;
    assert_eq!(s, 201, "{c}");
    // the money is taken once: the original cannot be captured again
    let (s, v) = h.send("POST", &format!("/v2/payments/authorizations/{id}/capture"), Some(&t), Some("{}"), &[]).await;
    assert_eq!((s, issue(&v)), (422, "AUTHORIZATION_ALREADY_CAPTURED"), "{v}");
    let (_, ledger) = h.send("GET", "/__sandbox/ledger", None, None, &[]).await;
    assert_eq!(ledger["paypal_captures"].as_array().map(Vec::len), Some(1), "{ledger}");
}
