//! Capture an invoice from the app: open the dialog, read the breakdown, confirm, see it paid.

use crate::driver::{App, Check};
use std::time::Duration;
use thirtyfour::prelude::*;

#[tokio::test]
async fn a_clerk_captures_the_seed_invoice_from_the_app() {
    let app = App::start().await;
    let result = scenario(&app).await;
    app.quit().await;
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn click(app: &App, css: &str) -> Check {
    app.driver
        .find(By::Css(css))
        .await
        .map_err(|e| format!("{css}: {e}"))?
        .click()
        .await
        .map_err(|e| format!("{css}: {e}"))
}

async fn shot(app: &App, name: &str) {
    if let Ok(dir) = std::env::var("DESK_E2E_SHOTS") {
        let _ = std::fs::create_dir_all(&dir);
        let _ = app.driver.screenshot(&std::path::Path::new(&dir).join(name)).await;
    }
}

async fn scenario(app: &App) -> Check {
    app.wait_until(
        "the first sync",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length > 0",
    )
    .await?;
    // the seed invoice: USD 250, wallet EUR 40.50, an approved PayPal order
    let search = app.driver.find(By::Css("[data-testid=filter-search]")).await.map_err(|e| e.to_string())?;
    search.send_keys("458732").await.map_err(|e| e.to_string())?;
    app.wait_until(
        "only the seed invoice",
        Duration::from_secs(20),
        "const rows = document.querySelectorAll('[data-testid=invoice-row]'); return rows.length === 1 && rows[0].dataset.invoice === '458732';",
    )
    .await?;
    click(app, "[data-invoice='458732'] [data-testid=capture-button]").await?;
    app.wait_until(
        "the breakdown",
        Duration::from_secs(30),
        "return !!document.querySelector('[data-testid=capture-breakdown]')",
    )
    .await?;
    let breakdown =
        app.js_string("return document.querySelector('[data-testid=capture-breakdown]').textContent").await?;
    for want in ["40.50 EUR", "1.0857", "43.97 USD", "206.03 USD"] {
        if !breakdown.contains(want) {
            return Err(format!("breakdown lacks {want:?}: {breakdown}"));
        }
    }
    let env = app.js_string("return document.querySelector('[data-testid=capture-environment]').textContent").await?;
    if !env.contains("DEMO") {
        return Err(format!("environment banner: {env}"));
    }
    shot(app, "capture-dialog.png").await;
    click(app, "[data-testid=capture-confirm]").await?;
    app.wait_until(
        "the capture's result",
        Duration::from_secs(60),
        "const r = document.querySelector('[data-testid=capture-result]'); return !!r && /Paid/.test(r.textContent);",
    )
    .await?;
    shot(app, "capture-paid.png").await;
    click(app, "[data-testid=capture-dialog] footer button").await?;
    // the list shows it paid (no longer outstanding, so gone from the default filter)
    app.wait_until(
        "the paid invoice to leave the outstanding list",
        Duration::from_secs(20),
        "return !document.querySelector('[data-invoice=\"458732\"]') && !document.querySelector('[data-testid=capture-dialog]');",
    )
    .await?;
    Ok(())
}
