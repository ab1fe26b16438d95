//! `cargo xtask bundle`: the release app as this platform's installable packages, made by Tauri's
//! CLI (`@tauri-apps/cli`, a dev dependency of the UI, so `npm ci` brings it).
//!
//! Steps: the project's setup, the UI's production build, the release build (exactly the command
//! the release benchmark runs, so the two share one build), then `tauri bundle` (bundles the
//! binaries already built; `tauri build` would build them again with its own flags).
//!
//! Tauri's CLI takes the folder of its config as the app crate's folder, so it cannot use the
//! `tauri.conf.json` at the repository root (src-tauri/build.rs and `generate_context!` read
//! that one). The CLI's config, `src-tauri/tauri.conf.json` (not committed), is derived here
//! from the root one at every run: paths are rewritten to resolve from `src-tauri/`, and on Linux
//! the package is named after the main binary (`capture-desk`: the bundler names the desktop
//! entry after the product name, and "Capture Desk.desktop" has a space) while the desktop
//! entry's template keeps the product name as the name shown. Nothing else differs; the tests
//! below check that against the real configs.

mod config;
#[cfg(test)]
mod windows_tests;

use crate::setup::{self, Purpose};
use crate::steps::{cmd, root, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use config::{derive, Os};

/// The release build. Exactly this command: the release benchmark runs it too, and any other
/// feature or flag would make the two builds differ (and each take ~6 min on 2 cores).
pub const RELEASE_BUILD: [&str; 6] = ["build", "--release", "--workspace", "--exclude", "desk-e2e", "--bins"];

/// Where the derived config goes: the app crate's folder, where the CLI looks for it.
const DERIVED_CONFIG: &str = "src-tauri/tauri.conf.json";

/// Where the Linux desktop entry's template goes (generated with the config).
const DESKTOP_TEMPLATE: &str = "target/xtask/capture-desk.desktop";

/// `cargo xtask bundle [--bundles deb,rpm,...]`.
pub fn run(args: &[String]) -> Result {
    let os = Os::current().ok_or("bundling runs on Linux, Windows or macOS")?;
    let bundles = match args {
        [] => os.default_bundles().to_string(),
        [flag, list] if flag == "--bundles" => list.clone(),
        _ => return Err("usage: cargo xtask bundle [--bundles deb,rpm,appimage,nsis,msi,app,dmg]".into()),
    };
    let start = Instant::now();
    setup::all(Purpose::Run)?;
    cmd(Command::new(setup::npm_program()).args(["run", "build"]).current_dir(root().join("ui")))?;
    cmd(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(RELEASE_BUILD)
        .current_dir(root()))?;
    let built = start.elapsed();

    write_derived_config(os)?;
    let bundling = Instant::now();
    let npx = if cfg!(windows) { "npx.cmd" } else { "npx" };
    cmd(Command::new(npx)
        .args(["tauri", "bundle", "--bundles", &bundles])
        .env("TAURI_APP_PATH", root().join("src-tauri"))
        .current_dir(root().join("ui")))?;

    eprintln!(
        "xtask bundle: setup, UI and release build {} s, bundles {} s, total {} s",
        built.as_secs(),
        bundling.elapsed().as_secs(),
        start.elapsed().as_secs()
    );
    for bundle in bundles.split(',') {
        report_outputs(&root().join("target/release/bundle").join(bundle_folder(bundle)));
    }
    Ok(())
}

/// Writes `src-tauri/tauri.conf.json` (and on Linux the desktop entry's template) from the
/// root config.
fn write_derived_config(os: Os) -> Result {
    let source = std::fs::read_to_string(root().join("tauri.conf.json"))?;
    let root_config: serde_json::Value = serde_json::from_str(&source)?;
    let derived = derive(&root_config, os, DESKTOP_TEMPLATE)?;
    std::fs::write(root().join(DERIVED_CONFIG), serde_json::to_string_pretty(&derived.config)? + "\n")?;
    if let Some(template) = derived.desktop_template {
        let path = root().join(DESKTOP_TEMPLATE);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, template)?;
    }
    Ok(())
}

/// The folder under target/release/bundle/ that a bundle type writes to.
fn bundle_folder(bundle: &str) -> &str {
    match bundle {
        "app" => "macos",
        other => other,
    }
}

fn report_outputs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(PathBuf, u64)> = entries
        .flatten()
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            meta.is_file().then(|| (e.path(), meta.len()))
        })
        .collect();
    files.sort();
    for (path, len) in files {
        let tenths = len.saturating_mul(10) / 1_048_576;
        eprintln!("xtask bundle: {} ({}.{} MiB)", path.display(), tenths / 10, tenths % 10);
    }
}
