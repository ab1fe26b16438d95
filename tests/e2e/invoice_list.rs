//! Start the app in demo, wait for the first sync, read and filter the invoice list.

use crate::driver::App;
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test]
async fn the_app_lists_filters_and_totals_demo_invoices() {
    let app = App::start().await;
    let d = &app.driver;

    // the first sync from the embedded sandbox fills the list
    let rows = app.wait_for("[data-testid=invoice-row]", 20, Duration::from_secs(60)).await;
    let first = rows[0].attr("data-invoice").await.expect("attr").expect("an invoice number");
    assert!(first.parse::<u64>().is_ok(), "row carries its invoice number: {first}");
    let env = d.find(By::Css("[data-testid=environment]")).await.expect("env badge").text().await.expect("text");
    assert_eq!(env.to_lowercase(), "demo", "environment badge");
    let connection = d.find(By::Css("[data-testid=connection]")).await.expect("connection").text().await.expect("text");
    assert!(connection.contains("last synced at"), "{connection}");
    let totals = d.find(By::Css("[data-testid=totals]")).await.expect("totals").text().await.expect("text");
    assert!(totals.contains("JPY"), "per-currency totals: {totals}");

    // filter by currency: every row is JPY
    let currency = d.find(By::Css("[data-testid=filter-currency]")).await.expect("currency filter");
    currency.send_keys("JPY").await.expect("type");
    currency.send_keys(Key::Tab).await.expect("tab");
    let started = std::time::Instant::now();
    loop {
        let cells = d.find_all(By::Css("[data-testid=invoice-row] td:nth-child(4)")).await.expect("cells");
        let mut texts = Vec::new();
        for c in &cells {
            texts.push(c.text().await.expect("text"));
        }
        if !texts.is_empty() && texts.iter().all(|t| t == "JPY") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "rows still not all JPY: {texts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let totals = d.find(By::Css("[data-testid=totals]")).await.expect("totals").text().await.expect("text");
    assert!(totals.contains("JPY") && !totals.contains("EUR"), "totals follow the filter: {totals}");

    // screenshot for people to look at
    if let Ok(dir) = std::env::var("DESK_E2E_SHOTS") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = d.screenshot(&std::path::Path::new(&dir).join("invoice-list-jpy.png")).await;
    }
    app.quit().await;
}
