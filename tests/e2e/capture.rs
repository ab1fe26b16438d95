//! A clerk's day in demo: find an invoice, open its detail, capture it, see it paid, find the
//! capture in the Activity log.

use crate::driver::{App, Check};
use std::time::Duration;

#[tokio::test]
async fn a_clerk_opens_captures_and_sees_the_seed_invoice_paid() {
    let app = App::start().await;
    let result = scenario(&app).await;
    app.finish(result).await;
}

async fn scenario(app: &App) -> Check {
    app.wait_until(
        "the first sync",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length > 0",
    )
    .await?;
    // the seed invoice: USD 250, wallet EUR 40.50, an approved PayPal order
    app.type_into("[data-testid=filter-search]", "458732").await?;
    app.wait_until(
        "only the seed invoice",
        Duration::from_secs(20),
        "const rows = document.querySelectorAll('[data-testid=invoice-row]'); return rows.length === 1 && rows[0].dataset.invoice === '458732';",
    )
    .await?;
    // keyboard: into the table, first row, Enter opens the detail
    app.driver
        .execute("document.querySelector('[data-testid=invoice-table]').focus()", Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    app.driver.action_chain().send_keys("\u{E015}").send_keys("\u{E007}").perform().await.map_err(|e| e.to_string())?;
    app.wait_until(
        "the detail with PayPal's live status",
        Duration::from_secs(30),
        "const s = document.querySelector('[data-testid=detail-paypal-status]'); return !!s && /APPROVED/.test(s.textContent);",
    )
    .await?;
    let customer = app.js_string("return document.querySelector('[data-testid=detail-customer]').textContent").await?;
    if customer.trim().is_empty() {
        return Err("the detail shows no customer".into());
    }
    app.shot("invoice-detail.png").await?;

    app.click("[data-testid=detail-capture]").await?;
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
    app.shot("capture-dialog.png").await?;
    app.click("[data-testid=capture-confirm]").await?;
    app.wait_until(
        "the capture's result",
        Duration::from_secs(60),
        "const r = document.querySelector('[data-testid=capture-result]'); return !!r && /Paid/.test(r.textContent);",
    )
    .await?;
    app.shot("capture-paid.png").await?;
    app.click("[data-testid=capture-dialog] footer button").await?;

    // the detail now says paid, with the payment and the journal; the list drops it
    app.wait_until(
        "the detail to show it paid, with its payment and journal",
        Duration::from_secs(30),
        "const s = document.querySelector('[data-testid=detail-status]'); \
         const pay = document.querySelector('[data-testid=detail-payments]'); \
         const j = document.querySelector('[data-testid=detail-journal]'); \
         return !!s && s.textContent.trim() === 'paid' && !!pay && !!j && /finalized/.test(j.textContent) \
           && !document.querySelector('[data-invoice=\"458732\"]');",
    )
    .await?;

    // the Activity log has the capture, filterable by invoice
    app.click("[data-testid=nav-activity]").await?;
    app.type_into("[data-testid=activity-invoice]", "458732").await?;
    app.wait_until(
        "the capture's audit entries",
        Duration::from_secs(20),
        "const rows = [...document.querySelectorAll('[data-testid=activity-row]')]; \
         return rows.length >= 3 && rows.every(r => r.textContent.includes('458732')) \
           && rows.some(r => r.querySelector('[data-action]')?.dataset.action === 'capture.finalized' \
             && r.textContent.includes('Capture done: invoice paid'));",
    )
    .await?;
    app.type_into("[data-testid=activity-invoice]", "").await?;
    app.wait_until(
        "the whole log again",
        Duration::from_secs(20),
        "return [...document.querySelectorAll('[data-testid=activity-row] td:nth-child(4)')].some(td => td.textContent.trim() === 'Invoices synced');",
    )
    .await?;
    app.shot("activity.png").await?;

    // the webview may not reach anything but the app: its CSP blocks a fetch to the internet
    let outcome = app
        .driver
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             document.addEventListener('securitypolicyviolation', e => done('blocked by ' + e.violatedDirective), { once: true }); \
             fetch('https://api-m.paypal.com/v1/oauth2/token').then(() => done('fetched'), () => {}); \
             setTimeout(() => done('not blocked'), 5000);",
            Vec::new(),
        )
        .await
        .map_err(|e| e.to_string())?;
    let outcome = outcome.json().as_str().unwrap_or_default().to_owned();
    if !outcome.starts_with("blocked by connect-src") {
        return Err(format!("a fetch to an external URL: {outcome}"));
    }
    Ok(())
}
