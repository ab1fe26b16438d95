use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, Environment, Settings};
use sandbox::{Config, Sandbox};
use std::sync::Arc;

pub async fn sandbox(invoices: u64, seed: u64) -> Sandbox {
    Sandbox::start(Config { invoices, seed, rate_limit: 0, ..Config::default() }, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("sandbox")
}

/// A desk in the `sandbox` environment pointed at `url`, with its own data directory.
pub async fn desk(url: &str, dir: &std::path::Path) -> Desk {
    desk_at(url, url, dir, "demo-client-secret").await
}

/// A desk in the `sandbox` environment, its gateway at `gateway`, PayPal at `paypal`.
pub async fn desk_at(gateway: &str, paypal: &str, dir: &std::path::Path, paypal_secret: &str) -> Desk {
    desk_in(Environment::Sandbox, gateway, paypal, dir, paypal_secret).await
}

/// A desk in `env`, its gateway at `gateway`, PayPal at `paypal`, with the demo credentials in
/// that environment's keyring slots.
pub async fn desk_in(
    env: Environment,
    gateway: &str,
    paypal: &str,
    dir: &std::path::Path,
    paypal_secret: &str,
) -> Desk {
    let secrets = Arc::new(MemorySecrets::default());
    secrets.set(env, SecretKey::GatewayToken, &Secret::new("demo-staff-token")).expect("secret");
    secrets.set(env, SecretKey::PaypalClientSecret, &Secret::new(paypal_secret)).expect("secret");
    let settings = Settings {
        environment: env,
        gateway_url: Some(gateway.to_owned()),
        paypal_url: Some(paypal.to_owned()),
        paypal_client_id: Some("demo-client-id".into()),
        staff_name: "Test Clerk".into(),
    };
    Desk::open(DeskOptions {
        data_dir: Some(dir.to_owned()),
        secrets,
        env_overrides: billing::EnvOverrides::off(),
        settings: Some(settings),
    })
    .await
    .expect("desk opens")
}

/// Everything the sandbox's PayPal captured and its gateway had finalized (its ledger).
pub async fn ledger(sb: &Sandbox) -> serde_json::Value {
    reqwest::get(format!("{}/__sandbox/ledger", sb.base_url()))
        .await
        .expect("ledger")
        .json()
        .await
        .expect("ledger JSON")
}

/// How many PayPal captures and gateway finalizations the sandbox's ledger holds.
pub async fn money_moved(sb: &Sandbox) -> (usize, usize) {
    let l = ledger(sb).await;
    let n = |k: &str| l[k].as_array().map_or(0, Vec::len);
    (n("paypal_captures"), n("gateway_finalizations"))
}

/// The cached invoices with a PayPal approval, by invoice number.
pub async fn approved_rows(d: &Desk) -> Vec<billing::InvoiceRow> {
    let page = d
        .list(&billing::ListRequest {
            filter: billing::InvoiceFilter { has_paypal: Some(true), ..Default::default() },
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .expect("list");
    page.rows
}

pub fn no_progress() -> impl Fn(billing::SyncProgress) + Send + Sync {
    |_| {}
}

/// Pays invoice 458732 at the gateway with GATEWAY-API.md's own example; the HTTP status.
pub async fn pay_seed_example(sb: &Sandbox) -> u16 {
    finalize_at_gateway(
        sb,
        r#"{"amount":250,"invoiceNo":458732,"paymentId":"PAYPAL-9X8Y7Z6W5V4U3T2S1R0","currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#,
    )
    .await
}

/// `POST /api/v1/billing/invoice/paypal/capture` with `body`, as another payer would; the HTTP status.
pub async fn finalize_at_gateway(sb: &Sandbox, body: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/v1/billing/invoice/paypal/capture", sb.base_url()))
        .bearer_auth("demo-staff-token")
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("pay")
        .status()
        .as_u16()
}
