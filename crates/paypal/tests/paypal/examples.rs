//! The client reads PayPal's own documented example answers (`specs/paypal/examples/` at the
//! repository's root, copied unchanged from PayPal's API reference with its LICENSE): an
//! HTTP-level double serves them as PayPal would, and every field the desk relies on is checked.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use money::{Currency, Money};
use paypal::{
    AuthorizationCaptureRequest, CaptureStatus, ClientOptions, ClientSecret, OrderStatus, Parent, PaypalClient,
    RelatedIds, RequestId,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One request as the double saw it: `METHOD /path`, and two of its headers.
pub type Seen = (String, Option<String>, Option<String>);

/// One canned answer per `METHOD /path`; every request's `PayPal-Request-Id` is kept.
#[derive(Clone, Default)]
pub struct Double {
    answers: Arc<BTreeMap<String, (u16, String)>>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

async fn answer(State(d): State<Double>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let target = format!("{method} {}", uri.path());
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    d.seen.lock().expect("seen").push((target.clone(), header("paypal-request-id"), header("prefer")));
    match d.answers.get(&target) {
        Some((status, body)) => {
            (StatusCode::from_u16(*status).expect("status"), [("content-type", "application/json")], body.clone())
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("the double has no answer for {target}")).into_response(),
    }
}

impl Double {
    /// Serves `answers` (plus an OAuth token) on 127.0.0.1, port 0; the base URL.
    pub async fn start(answers: &[(&str, u16, &str)]) -> (Double, String) {
        let mut map: BTreeMap<String, (u16, String)> = answers
            .iter()
            .map(|(target, status, body)| ((*target).to_owned(), (*status, (*body).to_owned())))
            .collect();
        map.insert(
            "POST /v1/oauth2/token".into(),
            (200, r#"{"access_token":"A21AA","token_type":"Bearer","expires_in":32400,"scope":"x","app_id":"APP-1","nonce":"n"}"#.into()),
        );
        let double = Double { answers: Arc::new(map), ..Double::default() };
        let app = Router::new().fallback(answer).with_state(double.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (double, url)
    }
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../specs/paypal/examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn client(url: &str) -> PaypalClient {
    PaypalClient::new(
        url,
        "client-id",
        ClientSecret::new("secret"),
        ClientOptions { attempts: 1, ..Default::default() },
    )
    .expect("client")
}

fn usd(value: &str) -> Money {
    Money::parse_paypal(value, Currency::from_code("USD").expect("USD")).expect("amount")
}

fn time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(s.parse().expect("time"))
}

#[tokio::test]
async fn the_documented_order_capture_answer_reads_without_amount_or_supplementary_data() {
    let body = fixture("orders-capture-201.json");
    let (double, url) = Double::start(&[("POST /v2/checkout/orders/24F22464WC842504J/capture", 201, &body)]).await;
    let rid = RequestId::new("capture-desk-test-1-24F22464WC842504J").expect("request id");
    let order = client(&url).capture_order("24F22464WC842504J", &rid).await.expect("PayPal's own example reads");

    assert_eq!(order.id.as_deref(), Some("24F22464WC842504J"));
    assert_eq!(order.status, Some(OrderStatus::Completed));
    assert_eq!(order.intent, None, "the example has no intent");
    assert_eq!(order.purchase_units.len(), 1);
    let unit = &order.purchase_units[0];
    assert_eq!((unit.reference_id.as_deref(), unit.amount, unit.invoice_id.as_deref()), (Some("default"), None, None));
    assert_eq!(order.amount(), None);
    assert!(unit.authorizations.is_empty());
    let captures: Vec<_> = order.captures().collect();
    assert_eq!(captures.len(), 1);
    let c = captures[0];
    assert_eq!(c.id.as_deref(), Some("7KY78659SG487110K"));
    assert_eq!((c.status, c.status_reason.as_deref()), (Some(CaptureStatus::Completed), None));
    assert_eq!((c.amount, c.final_capture), (Some(usd("100.00")), Some(true)));
    assert_eq!((c.paypal_fee, c.net_amount), (Some(usd("3.98")), Some(usd("96.02"))));
    assert_eq!((c.invoice_id.as_deref(), c.custom_id.as_deref()), (None, None));
    assert_eq!(c.related, RelatedIds::default(), "no supplementary_data inside an Orders v2 answer");
    assert_eq!(c.up(), Some(Parent::Order("24F22464WC842504J".into())));
    assert_eq!((c.order_id().as_deref(), c.authorization_id()), (Some("24F22464WC842504J"), None));
    assert_eq!((c.create_time, c.update_time), (time("2021-11-14T23:38:52Z"), time("2021-11-14T23:38:52Z")));
    assert_eq!(c.links.len(), 3);

    let seen = double.seen.lock().expect("seen").clone();
    let capture = seen.iter().find(|(t, ..)| t.ends_with("/capture")).expect("the capture was sent");
    assert_eq!(
        (capture.1.as_deref(), capture.2.as_deref()),
        (Some("capture-desk-test-1-24F22464WC842504J"), Some("return=representation"))
    );
}

#[tokio::test]
async fn the_documented_authorization_capture_answer_names_its_authorization_by_the_up_link() {
    let body = fixture("authorizations-capture-201.json");
    let (_double, url) =
        Double::start(&[("POST /v2/payments/authorizations/6DR965477U7140544/capture", 201, &body)]).await;
    let req = AuthorizationCaptureRequest { amount: Some(usd("100.00")), invoice_id: None, final_capture: false };
    let rid = RequestId::new("capture-desk-test-2-6DR965477U7140544").expect("request id");
    let c = client(&url).capture_authorization("6DR965477U7140544", &req, &rid).await.expect("reads");

    assert_eq!(c.id.as_deref(), Some("23T524207X938445J"));
    assert_eq!(
        (c.status, c.amount, c.final_capture),
        (Some(CaptureStatus::Completed), Some(usd("100.00")), Some(false))
    );
    assert_eq!(c.invoice_id.as_deref(), Some("OrderInvoice-10_10_2024_12_58_20_pm"));
    assert_eq!((c.paypal_fee, c.net_amount), (Some(usd("0.52")), Some(usd("0.48"))));
    assert_eq!(c.related, RelatedIds::default());
    assert_eq!(c.up(), Some(Parent::Authorization("6DR965477U7140544".into())));
    assert_eq!((c.authorization_id().as_deref(), c.order_id()), (Some("6DR965477U7140544"), None));
    assert_eq!(c.create_time, time("2024-10-14T21:29:26Z"));
}

#[tokio::test]
async fn the_documented_capture_details_carry_related_ids() {
    let body = fixture("captures-get-200.json");
    let (_double, url) = Double::start(&[("GET /v2/payments/captures/74L756601X447022Y", 200, &body)]).await;
    let c = client(&url).get_capture("74L756601X447022Y").await.expect("reads");

    assert_eq!(c.id.as_deref(), Some("74L756601X447022Y"));
    assert_eq!(
        (c.status, c.amount, c.final_capture),
        (Some(CaptureStatus::Completed), Some(usd("100.00")), Some(true))
    );
    assert_eq!(c.invoice_id.as_deref(), Some("OrderInvoice-23_10_2024_12_27_32_pm"));
    assert_eq!((c.paypal_fee, c.net_amount), (Some(usd("3.98")), Some(usd("96.02"))));
    assert_eq!(
        c.related,
        RelatedIds { order_id: Some("25M43554V9523650M".into()), authorization_id: Some("0T620041CK889853A".into()) }
    );
    assert_eq!(c.up(), Some(Parent::Authorization("0T620041CK889853A".into())));
    assert_eq!(
        (c.order_id().as_deref(), c.authorization_id().as_deref()),
        (Some("25M43554V9523650M"), Some("0T620041CK889853A"))
    );
}

/// A capture with none of the optional fields still reads: the caller decides what is missing.
#[tokio::test]
async fn an_answer_with_only_what_the_schema_requires_reads() {
    let (_double, url) = Double::start(&[
        ("GET /v2/payments/captures/ABC", 200, "{}"),
        (
            "GET /v2/checkout/orders/O1",
            200,
            r#"{"purchase_units":[{"payments":{"captures":[{}]}}],"links":[{"rel":"self"}]}"#,
        ),
    ])
    .await;
    let c = client(&url).get_capture("ABC").await.expect("an empty capture reads");
    assert_eq!(
        (c.id.as_deref(), c.status, c.amount, c.order_id(), c.authorization_id()),
        (None, None, None, None, None)
    );
    let o = client(&url).get_order("O1").await.expect("reads");
    assert_eq!(
        (o.id.as_deref(), o.status, o.links.len(), o.captures().count()),
        (None, None, 0, 1),
        "a link without href is left out"
    );
}

/// Present fields are still read strictly: a bad amount or id is an unreadable answer.
#[tokio::test]
async fn present_fields_are_read_strictly() {
    let (_double, url) = Double::start(&[
        ("GET /v2/payments/captures/A", 200, r#"{"id":"A","amount":{"currency_code":"USD","value":"1.001"}}"#),
        ("GET /v2/payments/captures/B", 200, r#"{"id":"../B"}"#),
        ("GET /v2/payments/captures/C", 200, r#"{"id":"C","amount":{"currency_code":"USD"}}"#),
    ])
    .await;
    for id in ["A", "B", "C"] {
        let e = client(&url).get_capture(id).await.expect_err("unreadable");
        assert!(matches!(e, paypal::PaypalError::InvalidResponse { .. }), "{id}: {e:?}");
    }
}
