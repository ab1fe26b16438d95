//! Start the app in demo, wait for the first sync, read and filter the invoice list.

use crate::driver::{App, Check};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test]
async fn the_app_lists_filters_and_totals_demo_invoices() {
    let app = App::start().await;
    let result = scenario(&app).await;
    app.finish(result).await;
}

async fn scenario(app: &App) -> Check {
    // the first sync from the embedded sandbox fills the list
    app.wait_until(
        "at least 20 invoice rows",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length >= 20",
    )
    .await?;
    let first = app.js_string("return document.querySelector('[data-testid=invoice-row]').dataset.invoice").await?;
    if first.parse::<u64>().is_err() {
        return Err(format!("a row carries its invoice number, got {first:?}"));
    }
    let env = app
        .js_string("return document.querySelector('[data-testid=environment]').textContent.trim().toLowerCase()")
        .await?;
    if env != "demo" {
        return Err(format!("environment badge says {env:?}"));
    }
    app.wait_until(
        "the last sync time",
        Duration::from_secs(30),
        "return /last synced at 20/.test(document.querySelector('[data-testid=connection]').textContent)",
    )
    .await?;
    app.shot("invoice-list.png").await?;
    let totals = app.js_string("return document.querySelector('[data-testid=totals]').textContent").await?;
    if !totals.contains("JPY") {
        return Err(format!("per-currency totals: {totals}"));
    }

    // filter by currency: every row is JPY, and so are the totals
    let currency = app.driver.find(By::Css("[data-testid=filter-currency]")).await.map_err(|e| e.to_string())?;
    currency.send_keys("JPY").await.map_err(|e| e.to_string())?;
    currency.send_keys(Key::Tab).await.map_err(|e| e.to_string())?;
    app.wait_until(
        "only JPY rows and totals",
        Duration::from_secs(20),
        "const cells = [...document.querySelectorAll('[data-testid=invoice-row] td[data-col=currency]')].map(c => c.textContent.trim()); \
         const totals = document.querySelector('[data-testid=totals]').textContent; \
         return cells.length > 0 && cells.every(c => c === 'JPY') && totals.includes('JPY') && !totals.includes('EUR');",
    )
    .await?;

    app.shot("invoice-list-jpy.png").await?;
    Ok(())
}
