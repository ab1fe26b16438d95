//! `PaypalClient::reauthorize_authorization` against the sandbox: the new authorization read in
//! PayPal's shape, its refusals typed with words for a clerk, and a lost answer recovered by
//! sending the same `PayPal-Request-Id` again.

use money::{Currency, Money};
use paypal::{AuthorizationStatus, ClientOptions, ClientSecret, PaypalClient, PaypalError, RequestId};
use sandbox::{Config, FaultConfig, Sandbox};
use std::time::Duration;

async fn sandbox() -> Sandbox {
    Sandbox::start(Config { rate_limit: 0, ..Config::default() }, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox")
}

fn client(sb: &Sandbox) -> PaypalClient {
    let options = ClientOptions {
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        ..ClientOptions::default()
    };
    PaypalClient::new(&sb.base_url(), "demo-client-id", ClientSecret::new("demo-client-secret"), options)
        .expect("client")
}

fn rid(s: &str) -> RequestId {
    RequestId::new(s).expect("request id")
}

fn usd(value: &str) -> Money {
    Money::parse_paypal(value, Currency::from_code("USD").expect("USD")).expect("amount")
}

/// A fresh authorization of `value` USD made now: (authorization id, order id).
async fn authorization(sb: &Sandbox, pp: &PaypalClient, value: &str) -> (String, String) {
    let body = serde_json::json!({ "intent": "AUTHORIZE", "currency_code": "USD", "value": value });
    let r = reqwest::Client::new()
        .post(format!("{}/__sandbox/orders", sb.base_url()))
        .json(&body)
        .send()
        .await
        .expect("control API");
    let order: serde_json::Value = r.json().await.expect("json");
    let order = order["id"].as_str().expect("order id").to_owned();
    let o = pp.authorize_order(&order, &rid(&format!("authorize-{order}"))).await.expect("authorized");
    let auth = o.purchase_units[0].authorizations[0].id.clone().expect("authorization id");
    (auth, order)
}

fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

#[tokio::test]
async fn within_the_honour_period_too_soon_after_it_a_new_authorization() {
    let sb = sandbox().await;
    let pp = client(&sb);
    let (id, order) = authorization(&sb, &pp, "80.00").await;
    let e = pp.reauthorize_authorization(&id, None, &rid("re-1")).await.expect_err("too soon");
    assert!(matches!(e, PaypalError::ReauthorizationTooSoon(_)), "{e:?}");
    assert!(e.to_string().contains("honour period"), "a clerk's words: {e}");

    sb.advance_clock(days(4)).expect("clock");
    let a = pp.reauthorize_authorization(&id, None, &rid("re-2")).await.expect("reauthorized");
    let new_id = a.id.clone().expect("id");
    assert_ne!(new_id, id, "a new authorization");
    assert_eq!(a.status, Some(AuthorizationStatus::Created));
    assert_eq!(a.amount, Some(usd("80.00")), "no amount: the original's");
    assert_eq!(a.order_id().as_deref(), Some(order.as_str()));
    let made = a.create_time.expect("create_time");
    assert_eq!(a.expiration_time, Some(made + days(29)), "a fresh validity from the reauthorization");

    // the same request id again: the same authorization, not another
    let again = pp.reauthorize_authorization(&id, None, &rid("re-2")).await.expect("replayed");
    assert_eq!(again.id.as_deref(), Some(new_id.as_str()));
    let e = pp.reauthorize_authorization(&id, None, &rid("re-3")).await.expect_err("once");
    assert!(matches!(e, PaypalError::ReauthorizationNotSupported(_)), "{e:?}");
    let e = pp.reauthorize_authorization(&new_id, None, &rid("re-4")).await.expect_err("not of a reauthorization");
    assert!(matches!(e, PaypalError::ReauthorizationNotSupported(_)), "{e:?}");
    let o = pp.get_order(&order).await.expect("order");
    let listed: Vec<_> = o.purchase_units[0].authorizations.iter().filter_map(|a| a.id.clone()).collect();
    assert_eq!(listed, vec![id, new_id], "the order lists the reauthorization after the original");
}

#[tokio::test]
async fn an_amount_in_another_currency_or_a_dead_authorization_is_refused_by_name() {
    let sb = sandbox().await;
    let pp = client(&sb);
    let (grows, _) = authorization(&sb, &pp, "100.00").await;
    let (voided, _) = authorization(&sb, &pp, "10.00").await;
    let (expires, _) = authorization(&sb, &pp, "10.00").await;
    pp.void_authorization(&voided, &rid("void")).await.expect("voided");
    sb.advance_clock(days(4)).expect("clock");
    let eur = Money::parse_paypal("100.00", Currency::from_code("EUR").expect("EUR")).expect("amount");
    let e = pp.reauthorize_authorization(&grows, Some(&eur), &rid("eur")).await.expect_err("currency");
    assert!(matches!(e, PaypalError::CurrencyMismatch(_)), "{e:?}");
    let a = pp.reauthorize_authorization(&grows, Some(&usd("110.00")), &rid("grow")).await.expect("110 %");
    assert_eq!(a.amount, Some(usd("110.00")));
    let e = pp.reauthorize_authorization(&voided, None, &rid("v")).await.expect_err("voided");
    assert!(matches!(e, PaypalError::AuthorizationVoided(_)), "{e:?}");
    sb.advance_clock(days(26)).expect("clock");
    let e = pp.reauthorize_authorization(&expires, None, &rid("x")).await.expect_err("expired");
    assert!(matches!(e, PaypalError::AuthorizationExpired(_)), "{e:?}");
    let e = pp.reauthorize_authorization("NOSUCH", None, &rid("n")).await.expect_err("unknown");
    assert!(matches!(e, PaypalError::NotFound(_)), "{e:?}");
}

#[tokio::test]
async fn a_lost_answer_is_recovered_with_the_same_request_id() {
    let sb = sandbox().await;
    let pp = client(&sb);
    let (id, order) = authorization(&sb, &pp, "25.00").await;
    sb.advance_clock(days(4)).expect("clock");
    let faults = serde_json::json!({ "routes": {
        "POST /v2/payments/authorizations/{id}/reauthorize": { "drop_after_commit_rate": 1 }
    }});
    sb.set_faults(serde_json::from_value::<FaultConfig>(faults).expect("faults"));
    let e = pp.reauthorize_authorization(&id, None, &rid("lost")).await.expect_err("every answer dropped");
    assert!(e.outcome_unknown(), "a dropped answer leaves the outcome unknown: {e:?}");
    sb.set_faults(FaultConfig::default());
    let a = pp.reauthorize_authorization(&id, None, &rid("lost")).await.expect("the first one's answer");
    let o = pp.get_order(&order).await.expect("order");
    let listed: Vec<_> = o.purchase_units[0].authorizations.iter().filter_map(|a| a.id.clone()).collect();
    assert_eq!(listed.len(), 2, "one reauthorization however many tries: {listed:?}");
    assert_eq!(listed.get(1), a.id.as_ref());
}
