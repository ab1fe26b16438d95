//! Settings' About in the real app: the `about` command is allowed by the capability and answers
//! with the version, the environment and the app's own data and logs folders.

use crate::driver::{App, Check};
use std::time::Duration;

#[tokio::test]
async fn settings_shows_the_version_environment_and_the_folders_of_the_running_app() {
    let app = App::start().await;
    let result = scenario(&app).await;
    app.finish(result).await;
}

async fn scenario(app: &App) -> Check {
    app.wait_until("the app", Duration::from_secs(60), "return !!document.querySelector('[data-testid=nav-settings]')")
        .await?;
    app.click("[data-testid=nav-settings]").await?;
    app.wait_until("About", Duration::from_secs(30), "return !!document.querySelector('[data-testid=about-logs]')")
        .await?;
    let value = |id: &str| format!("return document.querySelector('[data-testid=about-{id}]').value");
    let text = |id: &str| format!("return document.querySelector('[data-testid=about-{id}]').textContent.trim()");
    let version = app.js_string(&text("version")).await?;
    if version != env!("CARGO_PKG_VERSION") {
        return Err(format!("version {version:?}, the workspace's is {}", env!("CARGO_PKG_VERSION")));
    }
    let environment = app.js_string(&text("environment")).await?;
    if environment != "Demo" {
        return Err(format!("environment {environment:?}"));
    }
    let data = app.js_string(&value("data")).await?;
    let logs = app.js_string(&value("logs")).await?;
    let database = app.js_string(&value("database")).await?;
    let data_dir = std::path::Path::new(&data);
    if !data_dir.starts_with(std::env::temp_dir()) || std::path::Path::new(&logs) != data_dir.join("logs") {
        return Err(format!("the test's temporary data folder and its logs, got {data:?} and {logs:?}"));
    }
    if std::path::Path::new(&database) != data_dir.join("demo/desk.sqlite3") {
        return Err(format!("demo's database, got {database:?}"));
    }
    if !data_dir.join("logs/capture-desk.log").is_file() {
        return Err(format!("no log file in {logs}"));
    }
    app.js_string("document.querySelector('[data-testid=about]').scrollIntoView(); return ''").await?;
    app.shot("settings-about.png").await?;
    Ok(())
}
