//! The real client against the real sandbox on port 0.

use gateway::{ClientOptions, GatewayClient, GatewayError, InvoiceListQuery, InvoiceStatusFilter, Token};
use sandbox::{Config, FaultConfig, Sandbox};
use std::time::Duration;

async fn sandbox(invoices: u64) -> Sandbox {
    let config = Config { invoices, rate_limit: 0, ..Config::default() };
    Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox starts")
}

fn fast() -> ClientOptions {
    ClientOptions {
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(50),
        ..ClientOptions::default()
    }
}

fn client(sb: &Sandbox, token: &str) -> GatewayClient {
    GatewayClient::new(&sb.base_url(), Token::new(token), fast()).expect("client")
}

#[tokio::test]
async fn lists_every_outstanding_invoice_page_by_page() {
    let sb = sandbox(250).await;
    let c = client(&sb, "demo-staff-token");
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let p = c.list_invoices(&InvoiceListQuery { page, limit: 100, ..Default::default() }).await.expect("page");
        seen.extend(p.invoices.iter().map(|i| i.invoice_no));
        assert!(p.invoices.iter().all(|i| i.status == gateway::InvoiceStatus::Outstanding));
        if page >= p.total_pages.unwrap_or(0) {
            break;
        }
        page += 1;
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no duplicates");
    assert!(seen.len() > 150, "most of 250 are outstanding: {}", seen.len());
    assert!(seen.contains(&458_732));
}

#[tokio::test]
async fn reads_the_seed_invoice_with_payments() {
    let sb = sandbox(300).await;
    let c = client(&sb, "demo-staff-token");
    let inv = c.invoice(458_732).await.expect("detail");
    assert_eq!(inv.outstanding.to_paypal_string(), "250.00");
    assert_eq!(inv.customer.name, "Nordlicht Freight GmbH");
    assert!(inv.payments.is_empty());
    assert_eq!(c.invoice(1).await.expect_err("unknown"), GatewayError::InvoiceNotFound);
}

#[tokio::test]
async fn wrong_token_is_unauthorized_and_not_retried() {
    let sb = sandbox(20).await;
    let c = client(&sb, "nope");
    let e = c.list_invoices(&InvoiceListQuery::default()).await.expect_err("401");
    assert!(matches!(e, GatewayError::Unauthorized { .. }), "{e:?}");
}

#[tokio::test]
async fn retries_through_429_and_5xx_on_reads() {
    let sb = sandbox(50).await;
    let faults: FaultConfig =
        serde_json::from_str(r#"{"default":{"error_rate":0.3,"error_status":503,"rate_limit_rate":0.3}}"#)
            .expect("faults");
    sb.set_faults(faults);
    let c = GatewayClient::new(
        &sb.base_url(),
        Token::new("demo-staff-token"),
        ClientOptions { read_attempts: 30, ..fast() },
    )
    .expect("client");
    for _ in 0..10 {
        c.list_invoices(&InvoiceListQuery { status: InvoiceStatusFilter::All, ..Default::default() })
            .await
            .expect("eventually");
    }
}

#[tokio::test]
async fn gives_up_with_a_typed_error_after_the_attempts() {
    let sb = sandbox(20).await;
    sb.set_faults(serde_json::from_str(r#"{"default":{"error_rate":1,"error_status":500}}"#).expect("faults"));
    let e = client(&sb, "demo-staff-token").invoice(458_732).await.expect_err("always 500");
    assert!(matches!(e, GatewayError::Server { status: 500, .. }), "{e:?}");
    sb.set_faults(serde_json::from_str(r#"{"default":{"error_rate":1,"error_status":403}}"#).expect("faults"));
    let e = client(&sb, "demo-staff-token").invoice(458_732).await.expect_err("403");
    assert!(matches!(e, GatewayError::Forbidden { .. }), "{e:?}");
}

#[tokio::test]
async fn unreachable_gateway_is_offline() {
    let sb = sandbox(10).await;
    let url = sb.base_url();
    sb.shutdown().await;
    let c = GatewayClient::new(&url, Token::new("demo-staff-token"), ClientOptions { read_attempts: 2, ..fast() })
        .expect("client");
    let e = c.invoice(458_732).await.expect_err("offline");
    assert!(e.is_offline(), "{e:?}");
}

#[tokio::test]
async fn invalid_query_values_come_back_typed() {
    let sb = sandbox(10).await;
    let c = client(&sb, "demo-staff-token");
    let e = c.list_invoices(&InvoiceListQuery { sort_by: "color", ..Default::default() }).await.expect_err("400");
    assert!(matches!(e, GatewayError::Other { status: 400, .. }), "{e:?}");
}

#[tokio::test]
async fn a_429_without_retries_left_is_rate_limited_with_retry_after() {
    let sb = sandbox(10).await;
    sb.set_faults(serde_json::from_str(r#"{"default":{"rate_limit_rate":1}}"#).expect("faults"));
    let c = GatewayClient::new(
        &sb.base_url(),
        Token::new("demo-staff-token"),
        ClientOptions { read_attempts: 1, ..fast() },
    )
    .expect("client");
    let e = c.invoice(458_732).await.expect_err("429");
    assert_eq!(e, GatewayError::RateLimited { retry_after: Some(Duration::from_secs(1)) });
    assert!(e.is_transient());
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let sb = sandbox(10).await;
    let small = GatewayClient::new(
        &sb.base_url(),
        Token::new("demo-staff-token"),
        ClientOptions { max_body_bytes: 100, ..fast() },
    )
    .expect("client");
    let e = small.invoice(458_732).await.expect_err("too large");
    assert!(matches!(e, GatewayError::InvalidResponse { .. }), "{e:?}");
}
