use crate::{message, quiet, Http};
use serde_json::Value;

const SEED: &str = r#"{"amount":250,"invoiceNo":458732,"paymentId":"PAYPAL-9X8Y7Z6W5V4U3T2S1R0","currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#;
const CAPTURE: &str = "/api/v1/billing/invoice/paypal/capture";
const PART: &str = "/api/v1/billing/invoice/part-process";
const PAY: &str = "/api/v1/billing/invoice/pay";

async fn invoices(h: &Http, query: &str) -> Vec<Value> {
    let (s, v) = h.gw("GET", &format!("/api/v1/billing_admin/invoices?limit=100&{query}"), None).await;
    assert_eq!(s, 200, "{v}");
    v["data"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn the_seed_example_pays_once_then_is_a_bad_invoice() {
    let (_sb, h) = quiet().await;
    let (s, v) = h.gw("POST", CAPTURE, Some(SEED)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["invoiceNo"], 458732);
    assert_eq!(v["paymentId"], "PAYPAL-9X8Y7Z6W5V4U3T2S1R0");
    assert_eq!(v["amount"].to_string(), "250", "an exact JSON number");
    let (s, v) = h.gw("POST", CAPTURE, Some(SEED)).await;
    assert_eq!((s, message(&v)), (400, "Bad Invoice"));
    let (s, v) = h.gw("GET", "/api/v1/billing_admin/invoices/458732", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "paid");
    assert_eq!(v["payments"][0]["paymentId"], "PAYPAL-9X8Y7Z6W5V4U3T2S1R0");
    assert!(v["paypal"].is_null());
}

#[tokio::test]
async fn auth_and_malformed_bodies_answer_the_documented_errors() {
    let (_sb, h) = quiet().await;
    assert_eq!(h.send("POST", CAPTURE, None, Some(SEED), &[]).await.0, 401);
    assert_eq!(h.send("POST", CAPTURE, Some("forged"), Some(SEED), &[]).await.0, 401);
    assert_eq!(h.send("GET", "/api/v1/billing_admin/invoices", Some("demo-customer-c_102"), None, &[]).await.0, 401);
    for bad in [
        r#"{"amount":"#,
        "[]",
        r#"{"amount":"250","invoiceNo":458732,"paymentId":"P","currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#,
        r#"{"amount":250,"invoiceNo":458732,"currencyCode":"USD","partPaymentFromWalletBalance":{"currency":"USD","exchangeRate":1,"chargeTotalBefore":250,"chargeTotalCurrent":0}}"#,
        r#"{"amount":250,"invoiceNo":458732,"paymentId":"P","currencyCode":"USD"}"#,
    ] {
        let (s, _) = h.gw("POST", CAPTURE, Some(bad)).await;
        assert_eq!(s, 400, "{bad}");
    }
    let huge = format!(r#"{{"pad":"{}"}}"#, "x".repeat(200_000));
    assert_eq!(h.gw("POST", CAPTURE, Some(&huge)).await.0, 413);
}

#[tokio::test]
async fn capture_validates_invoice_currency_and_amount() {
    let (_sb, h) = quiet().await;
    let cases = [
        (SEED.replace("458732", "1"), 404, "Invoice not found"),
        (SEED.replace("\"currencyCode\":\"USD\"", "\"currencyCode\":\"XYZ\""), 400, "Invalid Currency"),
        (SEED.replace("\"currencyCode\":\"USD\"", "\"currencyCode\":\"EUR\""), 400, "Invalid Currency"),
        (SEED.replace("\"amount\":250", "\"amount\":249.99"), 400, "Invalid Amount"),
        (SEED.replace("\"amount\":250", "\"amount\":250.001"), 400, "Invalid Amount"),
        (SEED.replace("\"amount\":250", "\"amount\":-250"), 400, "Invalid Amount"),
        (SEED.replace("\"chargeTotalBefore\":250", "\"chargeTotalBefore\":300"), 400, "Invalid Amount"),
    ];
    for (body, status, msg) in cases {
        let (s, v) = h.gw("POST", CAPTURE, Some(&body)).await;
        assert_eq!((s, message(&v)), (status, msg), "{body}");
    }
    // 250 and 250.00 are the same number
    let (s, v) = h.gw("POST", CAPTURE, Some(&SEED.replace("\"amount\":250", "\"amount\":250.00"))).await;
    assert_eq!(s, 200, "{v}");
}

#[tokio::test]
async fn part_process_then_capture_with_the_wallet_part() {
    let (_sb, h) = quiet().await;
    // the seed invoice: USD 250, wallet EUR 40.5
    let (s, v) = h.gw("POST", PART, Some(r#"{"invoice":458732,"currency":"USD"}"#)).await;
    assert_eq!(s, 200, "{v}");
    let inv = &v["invoice"];
    let part = &inv["partPaymentFromWalletBalance"];
    assert_eq!(part["currency"], "EUR");
    assert_eq!(part["chargeTotalBefore"].to_string(), "250");
    assert_eq!(part["chargeTotalCurrent"].to_string(), "40.5");
    let rate = part["exchangeRate"].to_string();
    let charge = inv["chargeTotal"].to_string();
    // 250 - round(40.5 x 1.0857) = 250 - 43.97 = 206.03
    assert_eq!((rate.as_str(), charge.as_str()), ("1.0857", "206.03"));
    let body = format!(
        r#"{{"amount":{charge},"invoiceNo":458732,"paymentId":"CAPT-1","currencyCode":"USD","partPaymentFromWalletBalance":{part}}}"#
    );
    let (s, v) = h.gw("POST", CAPTURE, Some(&body)).await;
    assert_eq!(s, 200, "{v}");
    let (_, detail) = h.gw("GET", "/api/v1/billing_admin/invoices/458732", None).await;
    assert_eq!(detail["wallet"]["balance"].to_string(), "0");
    let methods: Vec<&str> =
        detail["payments"].as_array().expect("payments").iter().filter_map(|p| p["method"].as_str()).collect();
    assert_eq!(methods, ["wallet", "paypal"]);
    // the wallet history has the debit
    let (s, hist) = h.gw("GET", "/api/v1/billing_admin/wallet-history", None).await;
    assert_eq!(s, 200);
    let rec = &hist["data"][0];
    assert_eq!((rec["type"].as_str(), rec["balanceAfter"].to_string().as_str()), (Some("debit"), "0"));
    let id = rec["id"].to_string();
    assert_eq!(h.gw("GET", &format!("/api/v1/billing_admin/wallet-history/{id}"), None).await.0, 200);
    assert_eq!(h.gw("GET", "/api/v1/billing_admin/wallet-history/999999", None).await.0, 404);
    let (s, own) = h.send("GET", "/api/v1/billing/walletHistory", Some("demo-customer-c_102"), None, &[]).await;
    assert_eq!(s, 200);
    assert!(own["data"].as_array().expect("data").iter().all(|r| r["customerId"] == "c_102"));
    // paying again
    let (s, v) = h.gw("POST", PART, Some(r#"{"invoice":458732,"currency":"USD"}"#)).await;
    assert_eq!((s, message(&v)), (400, "Invoice already paid"));
}

#[tokio::test]
async fn part_process_and_pay_errors() {
    let (_sb, h) = quiet().await;
    let all = invoices(&h, "status=outstanding&limit=100").await;
    let (s, v) = h.gw("POST", PART, Some(r#"{"invoice":1,"currency":"USD"}"#)).await;
    assert_eq!((s, message(&v)), (404, "Invoice not found"));
    let (s, v) = h.gw("POST", PART, Some(r#"{"invoice":458732,"currency":"ABC"}"#)).await;
    assert_eq!((s, message(&v)), (404, "Currency not found"));
    let (s, v) = h.gw("POST", PART, Some(r#"{"invoice":458732,"currency":"EUR"}"#)).await;
    assert_eq!((s, message(&v)), (400, "Currency does not match expected credentials"));
    let (s, v) = h.gw("POST", PART, Some(r#"{"invoice":458732}"#)).await;
    assert_eq!((s, message(&v)), (400, "Missing One or More Required Parameters"));
    let no_wallet = all.iter().find(|i| i["wallet"].is_null()).expect("an invoice without wallet");
    let body = format!(
        r#"{{"invoice":{},"currency":"{}"}}"#,
        no_wallet["invoiceNo"],
        no_wallet["currency"].as_str().expect("cur")
    );
    let (s, v) = h.gw("POST", PART, Some(&body)).await;
    assert_eq!((s, message(&v)), (400, "Wallet not found"));
    let (s, v) = h.gw("POST", PAY, Some(&body)).await;
    assert_eq!((s, message(&v)), (400, "Wallet not found"));
    // a customer acting on someone else's invoice
    let other = all.iter().find(|i| i["customer"]["id"] != "c_102").expect("another customer's invoice");
    let body =
        format!(r#"{{"invoice":{},"currency":"{}"}}"#, other["invoiceNo"], other["currency"].as_str().expect("cur"));
    let (s, v) = h.send("POST", PAY, Some("demo-customer-c_102"), Some(&body), &[]).await;
    assert_eq!((s, message(&v)), (400, "Customer Invoice does not match expected credentials"));
    // a small wallet cannot pay a big invoice
    let num = |v: &Value| rust_decimal::Decimal::from_str_exact(&v.to_string()).ok();
    let poor = all
        .iter()
        .find(|i| {
            num(&i["wallet"]["balance"]).is_some_and(|b| b > rust_decimal::Decimal::ZERO)
                && num(&i["outstanding"]).is_some_and(|o| o > rust_decimal::Decimal::from(10_000))
        })
        .expect("an invoice bigger than its wallet");
    let body =
        format!(r#"{{"invoice":{},"currency":"{}"}}"#, poor["invoiceNo"], poor["currency"].as_str().expect("cur"));
    let (s, v) = h.gw("POST", PAY, Some(&body)).await;
    assert_eq!((s, message(&v)), (400, "Insufficient funds"));
}

#[tokio::test]
async fn lists_paginate_filter_and_validate() {
    let (_sb, h) = quiet().await;
    let (s, v) = h.gw("GET", "/api/v1/billing_admin/invoices?status=all&limit=1000", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["pagination"]["limit"], 100, "limit is capped at 100");
    let total = v["pagination"]["total"].as_u64().expect("total");
    assert_eq!(total, 300);
    let mut seen = 0;
    for page in 1..=3 {
        seen += invoices(&h, &format!("status=all&page={page}")).await.len();
    }
    assert_eq!(seen, 300);
    assert!(invoices(&h, "status=paid").await.iter().all(|i| i["status"] == "paid"));
    let gmbh = invoices(&h, "status=all&q=gmbh").await;
    assert!(
        !gmbh.is_empty()
            && gmbh.iter().all(|i| i["customer"]["name"].as_str().is_some_and(|n| n.to_lowercase().contains("gmbh")))
    );
    let by_due = invoices(&h, "sortBy=dueAt&sortOrder=desc").await;
    assert!(by_due.windows(2).all(|w| w[0]["dueAt"].as_str() >= w[1]["dueAt"].as_str()));
    assert!(invoices(&h, "status=all&updatedSince=2099-01-01T00:00:00Z").await.is_empty());
    for bad in ["page=0", "limit=x", "sortBy=color", "sortOrder=up", "status=open", "updatedSince=yesterday"] {
        let (s, v) = h.gw("GET", &format!("/api/v1/billing_admin/invoices?{bad}"), None).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
    let (s, v) = h.gw("GET", "/api/v1/billing_admin/invoices/abc", None).await;
    assert_eq!((s, message(&v)), (404, "Invoice not found"));
    // the data set: six or more currencies with JPY, wallets in other currencies, approvals
    let all: Vec<Value> = {
        let mut v = Vec::new();
        for page in 1..=3 {
            v.extend(invoices(&h, &format!("status=all&page={page}")).await);
        }
        v
    };
    let currencies: std::collections::BTreeSet<&str> = all.iter().filter_map(|i| i["currency"].as_str()).collect();
    assert!(currencies.len() >= 6 && currencies.contains("JPY"), "{currencies:?}");
    assert!(all.iter().any(|i| i["wallet"]["currency"].as_str().is_some_and(|w| Some(w) != i["currency"].as_str())));
    assert!(all.iter().any(|i| i["paypal"]["intent"] == "CAPTURE"));
    assert!(all.iter().any(|i| i["paypal"]["intent"] == "AUTHORIZE"));
}

#[tokio::test]
async fn the_same_seed_gives_the_same_world() {
    let (_a, ha) = quiet().await;
    let (_b, hb) = quiet().await;
    assert_eq!(invoices(&ha, "status=all").await, invoices(&hb, "status=all").await);
}
