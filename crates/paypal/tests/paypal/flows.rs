//! The real PayPal client against the sandbox on port 0: every issue of PAYPAL-API.md.

use gateway::{GatewayClient, InvoiceListQuery, InvoiceStatusFilter, PaypalIntent, Token};
use money::{Currency, Money};
use paypal::{
    AuthorizationCaptureRequest, AuthorizationStatus, CaptureStatus, ClientOptions, ClientSecret, OrderStatus,
    PaypalClient, PaypalError, RequestId,
};
use sandbox::{Config, Sandbox};
use std::time::Duration;

async fn sandbox() -> Sandbox {
    seeded(Config::default().seed).await
}

async fn seeded(seed: u64) -> Sandbox {
    Sandbox::start(Config { rate_limit: 0, seed, ..Config::default() }, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox")
}

fn fast() -> ClientOptions {
    ClientOptions {
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        ..ClientOptions::default()
    }
}

fn client(sb: &Sandbox) -> PaypalClient {
    PaypalClient::new(&sb.base_url(), "demo-client-id", ClientSecret::new("demo-client-secret"), fast())
        .expect("client")
}

fn rid(s: &str) -> RequestId {
    RequestId::new(s).expect("request id")
}

/// Approved PayPal references of one intent, from the gateway's list.
async fn approvals(sb: &Sandbox, intent: PaypalIntent) -> Vec<gateway::PaypalApproval> {
    let gw = GatewayClient::new(&sb.base_url(), Token::new("demo-staff-token"), Default::default()).expect("gateway");
    let mut out = Vec::new();
    for page in 1..=3 {
        let p = gw
            .list_invoices(&InvoiceListQuery { page, status: InvoiceStatusFilter::Outstanding, ..Default::default() })
            .await
            .expect("list");
        out.extend(p.invoices.into_iter().filter_map(|i| i.paypal).filter(|p| p.intent == intent));
    }
    out
}

/// Requests the sandbox received per `METHOD /path` (since its start or last reset).
async fn requests(sb: &Sandbox) -> std::collections::BTreeMap<String, u64> {
    let v: serde_json::Value =
        reqwest::get(format!("{}/__sandbox/stats", sb.base_url())).await.expect("stats").json().await.expect("json");
    serde_json::from_value(v["by_route"].clone()).expect("counts")
}

async fn ledger_captures(sb: &Sandbox) -> usize {
    let v: serde_json::Value =
        reqwest::get(format!("{}/__sandbox/ledger", sb.base_url())).await.expect("ledger").json().await.expect("json");
    v["paypal_captures"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn wrong_credentials_fail_clearly() {
    let sb = sandbox().await;
    let c = PaypalClient::new(&sb.base_url(), "demo-client-id", ClientSecret::new("nope"), fast()).expect("client");
    let e = c.get_order("5O190127TN364715T").await.expect_err("401");
    assert!(matches!(e, PaypalError::AuthFailed { .. }), "{e:?}");
    assert!(!format!("{c:?}").contains("demo-client-secret") && !format!("{c:?}").contains("nope"));
}

#[tokio::test]
async fn capture_is_idempotent_and_never_captures_twice() {
    let sb = sandbox().await;
    let c = client(&sb);
    let order = c.get_order("5O190127TN364715T").await.expect("seed order");
    assert_eq!(order.status, Some(OrderStatus::Approved));
    let order_id = order.id.clone().expect("the order's id");
    let captured = c.capture_order(&order_id, &rid("journal-1-capture")).await.expect("capture");
    assert_eq!(captured.status, Some(OrderStatus::Completed));
    let cap = captured.captures().next().expect("a capture").clone();
    let cap_id = cap.id.clone().expect("the capture's id");
    assert!(cap.amount.is_some() && cap.amount == order.amount());
    assert_eq!(cap.order_id().as_deref(), Some(order_id.as_str()));
    // the same request id again: the same capture
    let replay = c.capture_order(&order_id, &rid("journal-1-capture")).await.expect("replay");
    assert_eq!(replay.captures().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![Some(cap_id.clone())]);
    // a new request id: PayPal says it is already captured
    let e = c.capture_order(&order_id, &rid("journal-2-capture")).await.expect_err("already");
    assert!(matches!(e, PaypalError::OrderAlreadyCaptured(_)), "{e:?}");
    assert!(e.api().and_then(|a| a.debug_id.as_deref()).is_some_and(|d| !d.is_empty()));
    assert_eq!(ledger_captures(&sb).await, 1);
    let read = c.get_capture(&cap_id).await.expect("get capture");
    assert_eq!(read.id, cap.id);
    assert_eq!(read.order_id().as_deref(), Some(order_id.as_str()));
    assert!(read.paypal_fee.is_some() && read.net_amount.is_some());
    // the seed order's capture completes at once (GATEWAY-API.md's example), so it can be refunded
    assert_eq!(read.status, Some(CaptureStatus::Completed));
    let refund = c.refund_capture(&cap_id, None, &rid("refund-1")).await.expect("refund");
    assert_eq!(refund.amount, cap.amount);
    let again = c.refund_capture(&cap_id, None, &rid("refund-1")).await.expect("replayed refund");
    assert_eq!(again.id, refund.id, "the same request id is the same refund");
}

#[tokio::test]
async fn a_dropped_answer_is_resolved_by_replaying_the_same_request_id() {
    let sb = sandbox().await;
    let c = PaypalClient::new(
        &sb.base_url(),
        "demo-client-id",
        ClientSecret::new("demo-client-secret"),
        ClientOptions { attempts: 1, ..fast() },
    )
    .expect("client");
    sb.set_faults(
        serde_json::from_str(r#"{"routes":{"POST /v2/checkout/orders/{id}/capture":{"drop_after_commit_rate":1}}}"#)
            .expect("faults"),
    );
    let e = c.capture_order("5O190127TN364715T", &rid("journal-9")).await.expect_err("dropped");
    assert!(e.outcome_unknown(), "{e:?}");
    sb.set_faults(Default::default());
    let order = c.capture_order("5O190127TN364715T", &rid("journal-9")).await.expect("replay tells the outcome");
    assert_eq!(order.captures().count(), 1);
    assert_eq!(ledger_captures(&sb).await, 1, "captured once");
}

#[tokio::test]
async fn retries_through_5xx_and_429_with_the_same_request_id() {
    let sb = sandbox().await;
    let c = PaypalClient::new(
        &sb.base_url(),
        "demo-client-id",
        ClientSecret::new("demo-client-secret"),
        ClientOptions { attempts: 40, ..fast() },
    )
    .expect("client");
    c.access_token().await.expect("token first");
    sb.set_faults(serde_json::from_str(r#"{"routes":{"POST /v2/checkout/orders/{id}/capture":{"error_rate":0.5,"error_status":503,"rate_limit_rate":0.3}}}"#).expect("faults"));
    let order = c.capture_order("5O190127TN364715T", &rid("journal-3")).await.expect("eventually");
    assert_eq!(order.captures().count(), 1);
    assert_eq!(ledger_captures(&sb).await, 1);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once() {
    let sb = sandbox().await;
    let c = client(&sb);
    c.get_order("5O190127TN364715T").await.expect("first");
    c.get_order("5O190127TN364715T").await.expect("second, same token");
    let token = "POST /v1/oauth2/token";
    let order = "GET /v2/checkout/orders/5O190127TN364715T";
    let seen = requests(&sb).await;
    assert_eq!((seen.get(token), seen.get(order)), (Some(&1), Some(&2)), "{seen:?}");
    // the sandbox forgets every token (and its world, and its counts) on reset
    let reset = reqwest::Client::new().post(format!("{}/__sandbox/reset", sb.base_url())).send().await.expect("reset");
    assert!(reset.status().is_success());
    c.get_order("5O190127TN364715T").await.expect("refreshed and retried");
    let seen = requests(&sb).await;
    // one 401, one new token, one retry
    assert_eq!((seen.get(token), seen.get(order)), (Some(&1), Some(&2)), "{seen:?}");
    c.get_order("5O190127TN364715T").await.expect("the new token is kept");
    let seen = requests(&sb).await;
    assert_eq!((seen.get(token), seen.get(order)), (Some(&1), Some(&3)), "{seen:?}");
}

#[tokio::test]
async fn a_token_that_keeps_being_refused_is_refreshed_only_once_per_call() {
    let sb = sandbox().await;
    let c = client(&sb);
    c.access_token().await.expect("token");
    sb.set_faults(
        serde_json::from_str(r#"{"routes":{"GET /v2/checkout/orders/{id}":{"error_rate":1,"error_status":401}}}"#)
            .expect("faults"),
    );
    let e = c.get_order("5O190127TN364715T").await.expect_err("401 twice");
    assert!(matches!(e, PaypalError::Unauthorized(_) | PaypalError::AuthFailed { .. }), "{e:?}");
    let seen = requests(&sb).await;
    assert_eq!(seen.get("POST /v1/oauth2/token"), Some(&2), "the first token and one refresh: {seen:?}");
    assert_eq!(seen.get("GET /v2/checkout/orders/5O190127TN364715T"), Some(&2), "{seen:?}");
}

#[tokio::test]
async fn unknown_ids_and_negative_testing_map_to_typed_errors() {
    let sb = sandbox().await;
    let c = client(&sb);
    assert!(matches!(c.get_order("NOPE").await, Err(PaypalError::NotFound(_))));
    assert!(matches!(c.get_capture("NOPE").await, Err(PaypalError::NotFound(_))));
    assert!(matches!(c.get_authorization("NOPE").await, Err(PaypalError::NotFound(_))));
    assert!(matches!(c.get_order("../etc").await, Err(PaypalError::NotSent { .. })));
    type Is = fn(&PaypalError) -> bool;
    let cases: [(&str, Is); 5] = [
        ("ORDER_NOT_APPROVED", |e| matches!(e, PaypalError::OrderNotApproved(_))),
        ("MAX_CAPTURE_COUNT_EXCEEDED", |e| matches!(e, PaypalError::MaxCaptureCountExceeded(_))),
        ("RATE_LIMIT_REACHED", |e| matches!(e, PaypalError::RateLimited { .. })),
        ("INTERNAL_SERVER_ERROR", |e| matches!(e, PaypalError::Server(_))),
        ("INSTRUMENT_DECLINED", |e| matches!(e, PaypalError::Rejected(_))),
    ];
    for (issue, is) in cases {
        let m = PaypalClient::new(
            &sb.base_url(),
            "demo-client-id",
            ClientSecret::new("demo-client-secret"),
            ClientOptions { attempts: 1, ..fast() },
        )
        .expect("client")
        .with_mock_response(issue);
        let e = m.capture_order("5O190127TN364715T", &rid(&format!("mock-{issue}"))).await.expect_err(issue);
        assert!(is(&e), "{issue}: {e:?}");
        assert_eq!(e.issue(), Some(issue));
    }
    assert_eq!(ledger_captures(&sb).await, 0, "mocked errors moved nothing");
}

#[tokio::test]
async fn authorizations_capture_once_up_to_their_amount() {
    // seed 2 has voided, expired and capturable authorizations among its outstanding invoices
    let sb = seeded(2).await;
    let c = client(&sb);
    let mut seen = (0, 0, 0);
    for a in approvals(&sb, PaypalIntent::Authorize).await {
        let id = a.authorization_id.expect("authorization id");
        let auth = c.get_authorization(&id).await.expect("authorization");
        let authorized = auth.amount.expect("the authorized amount");
        let full = AuthorizationCaptureRequest { amount: Some(authorized), invoice_id: None, final_capture: true };
        match auth.status.expect("a status") {
            AuthorizationStatus::Voided => {
                seen.0 += 1;
                let e = c.capture_authorization(&id, &full, &rid(&format!("v-{id}"))).await.expect_err("voided");
                assert!(matches!(e, PaypalError::AuthorizationVoided(_)), "{e:?}");
            }
            AuthorizationStatus::Expired => {
                seen.1 += 1;
                let e = c.capture_authorization(&id, &full, &rid(&format!("x-{id}"))).await.expect_err("expired");
                assert!(matches!(e, PaypalError::AuthorizationExpired(_)), "{e:?}");
            }
            // PayPal's schema has no EXPIRED status: an expired authorization still reads CREATED,
            // and its capture is refused with AUTHORIZATION_EXPIRED
            AuthorizationStatus::Created if auth.expiration_time.is_some_and(|t| t <= sb.now()) => {
                seen.1 += 1;
                let e = c.capture_authorization(&id, &full, &rid(&format!("x-{id}"))).await.expect_err("expired");
                assert!(matches!(e, PaypalError::AuthorizationExpired(_)), "{e:?}");
            }
            AuthorizationStatus::Created => {
                seen.2 += 1;
                let other = if authorized.currency().code() == "EUR" { "USD" } else { "EUR" };
                let wrong = AuthorizationCaptureRequest {
                    amount: Some(Money::from_minor(100, Currency::from_code(other).expect("currency"))),
                    ..full.clone()
                };
                let e = c.capture_authorization(&id, &wrong, &rid(&format!("m-{id}"))).await.expect_err("mismatch");
                assert!(matches!(e, PaypalError::CurrencyMismatch(_)), "{e:?}");
                // one unit of PayPal's smallest digit for the currency (1 HUF, 0.01 USD)
                let step = rust_decimal::Decimal::new(1, authorized.currency().paypal_minor_units());
                let too_much = AuthorizationCaptureRequest {
                    amount: authorized.checked_add(Money::new(step, authorized.currency()).expect("a step")),
                    ..full.clone()
                };
                let e = c.capture_authorization(&id, &too_much, &rid(&format!("o-{id}"))).await.expect_err("over");
                assert!(matches!(e, PaypalError::MaxCaptureAmountExceeded(_)), "{e:?}");
                let cap = c.capture_authorization(&id, &full, &rid(&format!("c-{id}"))).await.expect("capture");
                assert_eq!(
                    (cap.amount, cap.final_capture, cap.authorization_id().as_deref()),
                    (Some(authorized), Some(true), Some(id.as_str()))
                );
                let again = c.capture_authorization(&id, &full, &rid(&format!("c-{id}"))).await.expect("replay");
                assert_eq!(again.id, cap.id);
                let e = c.capture_authorization(&id, &full, &rid(&format!("c2-{id}"))).await.expect_err("twice");
                assert!(matches!(e, PaypalError::AuthorizationAlreadyCaptured(_)), "{e:?}");
            }
            other => panic!("unexpected seeded authorization status {other:?}"),
        }
    }
    // the seeded world has every case: voided, expired and capturable authorizations
    assert!(seen.0 > 0 && seen.1 > 0 && seen.2 > 0, "(voided, expired, created): {seen:?}");
}

#[tokio::test]
async fn void_then_capture_is_refused() {
    let sb = sandbox().await;
    let c = client(&sb);
    for a in approvals(&sb, PaypalIntent::Authorize).await {
        let id = a.authorization_id.expect("id");
        if c.get_authorization(&id).await.expect("auth").status == Some(AuthorizationStatus::Created) {
            let voided = c.void_authorization(&id, &rid("void-1")).await.expect("void");
            assert_eq!(voided.status, Some(AuthorizationStatus::Voided));
            let e = c
                .capture_authorization(&id, &AuthorizationCaptureRequest::default(), &rid("cap-after-void"))
                .await
                .expect_err("voided");
            assert!(matches!(e, PaypalError::AuthorizationVoided(_)));
            return;
        }
    }
    panic!("no capturable authorization in the seed");
}
