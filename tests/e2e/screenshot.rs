//! Screenshots of the app's window.
//!
//! WebKitGTK's WebDriver (2.50) answers Take Screenshot after the page's next rendering update.
//! With WebKit's DMA-BUF renderer off, as the app chooses on a machine without a GPU render node
//! (Xvfb among them: src-tauri/src/webkit.rs), a page that does not change has no next update:
//! the call waits until the client gives up (thirtyfour's 120 s), whatever build of the app
//! runs. So while the screenshot is asked for, the page is nudged into one: a transparent pixel
//! is added and removed again, every [`NUDGE_EVERY`], until the screenshot comes. The pixel is
//! transparent, so the screenshot shows the page as it stands.

use crate::driver::{App, Check};
use std::time::{Duration, Instant};
use thirtyfour::prelude::*;

/// How long a screenshot may take before the scenario fails.
const SHOT_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the page is nudged while the screenshot is awaited.
const NUDGE_EVERY: Duration = Duration::from_millis(200);

/// A transparent pixel in the window's corner for two frames: a rendering update, nothing seen.
const NUDGE: &str = "const d = document.createElement('div'); d.setAttribute('aria-hidden', 'true'); \
     d.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;background:transparent'; \
     document.body.appendChild(d); requestAnimationFrame(() => requestAnimationFrame(() => d.remove())); return true;";

/// The window as PNG, within [`SHOT_TIMEOUT`].
pub async fn png(driver: &WebDriver) -> Result<Vec<u8>, String> {
    let started = Instant::now();
    let shot = driver.screenshot_as_png();
    tokio::pin!(shot);
    loop {
        tokio::select! {
            png = &mut shot => return png.map_err(|e| format!("screenshot: {e}")),
            () = tokio::time::sleep(NUDGE_EVERY) => {
                if started.elapsed() > SHOT_TIMEOUT {
                    return Err(format!("the screenshot did not come in {SHOT_TIMEOUT:?}"));
                }
                // a failed nudge is only a missed one: the next may land
                let _ = driver.execute(NUDGE, Vec::new()).await;
            }
        }
    }
}

/// A PNG's width and height (its IHDR chunk).
fn dimensions(png: &[u8]) -> Option<(u32, u32)> {
    if png.get(..8)? != b"\x89PNG\r\n\x1a\n" || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?));
    Some((word(16)?, word(20)?))
}

/// A page that stands still (the invoice list after its first sync) is photographed at once,
/// the whole window. Still means WebKit has no rendering update coming: a plain screenshot (no
/// nudge) is asked for until one does not come within [`STILL_AFTER`]; before the nudge, the
/// screenshot that follows waited out the client's 120 s and failed (here: [`SHOT_TIMEOUT`]).
/// Where every plain screenshot comes (WebKit's DMA-BUF renderer, on a machine with a GPU),
/// there is nothing to show and the test says so.
#[tokio::test]
async fn a_page_standing_still_is_photographed_at_once() {
    let app = App::start().await;
    let result = still_page(&app).await;
    app.finish(result).await;
}

/// How long a plain screenshot may take on a page that is still painting.
const STILL_AFTER: Duration = Duration::from_secs(3);

async fn still_page(app: &App) -> Check {
    app.wait_until(
        "the invoice list after its first sync",
        Duration::from_secs(60),
        "return document.querySelectorAll('[data-testid=invoice-row]').length > 0 \
           && !document.querySelector('[data-testid=sync-progress]');",
    )
    .await?;
    let looking = Instant::now();
    loop {
        if tokio::time::timeout(STILL_AFTER, app.driver.screenshot_as_png()).await.is_err() {
            break;
        }
        if looking.elapsed() > Duration::from_secs(30) {
            eprintln!(
                "every plain screenshot came for 30 s (a GPU renderer, or a page that kept painting): not shown here"
            );
            return Ok(());
        }
    }
    let started = Instant::now();
    let png = png(&app.driver).await?;
    let took = started.elapsed();
    let size = app.js_string("return `${window.innerWidth}x${window.innerHeight}`").await?;
    let shown = dimensions(&png).map(|(w, h)| format!("{w}x{h}"));
    if shown.as_deref() != Some(size.as_str()) {
        return Err(format!("a PNG of the {size} window, got {shown:?} ({} bytes)", png.len()));
    }
    eprintln!("screenshot of a still page (a plain one waited {STILL_AFTER:?} in vain): {size} in {took:?}");
    Ok(())
}

#[test]
fn a_png_tells_its_dimensions() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&1280u32.to_be_bytes());
    png.extend_from_slice(&800u32.to_be_bytes());
    assert_eq!(dimensions(&png), Some((1280, 800)));
    assert_eq!(dimensions(&png[..20]), None);
    assert_eq!(dimensions(b"GIF89a not a png at all"), None);
}
