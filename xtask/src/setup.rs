//! Machine setup: Debian packages (only the missing ones), npm packages, tauri-driver.

use crate::steps::{cmd, root, Result};
use std::path::Path;
use std::process::Command;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Run,
    Test,
}

/// What building and running the Tauri app needs (PLATFORM.md).
const RUN_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libsoup-3.0-dev",
    "libjavascriptcoregtk-4.1-dev",
    "librsvg2-dev",
    "libayatana-appindicator3-dev",
    "libxdo-dev",
    "libssl-dev",
    "build-essential",
    "pkg-config",
    "file",
    "xvfb",
    "xauth",
    "dbus",
];

/// What the tests add: WebKitWebDriver, Chromium, screenshots, the Secret Service (and
/// `secret-tool`, `gdbus` to list its items before and after the keyring test), `makensis` (the
/// Windows installer's hooks are compiled by a test: `xtask/src/bundle/windows_tests.rs`).
const TEST_PACKAGES: &[&str] = &[
    "webkit2gtk-driver",
    "chromium",
    "imagemagick",
    "sqlite3",
    "gnome-keyring",
    "dbus-x11",
    "libsecret-tools",
    "libglib2.0-bin",
    "nsis",
];

pub fn all(purpose: Purpose) -> Result {
    let mut packages: Vec<&str> = RUN_PACKAGES.to_vec();
    if purpose == Purpose::Test {
        packages.extend_from_slice(TEST_PACKAGES);
    }
    debian_packages(&packages)?;
    node_packages()?;
    if purpose == Purpose::Test {
        tauri_driver()?;
    }
    Ok(())
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn debian_packages(packages: &[&str]) -> Result {
    if !Path::new("/usr/bin/dpkg-query").exists() {
        eprintln!("xtask: not a Debian system; install the packages of PLATFORM.md yourself");
        return Ok(());
    }
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| -> Result {
        let mut all: Vec<&str> = sudo.to_vec();
        all.extend_from_slice(args);
        let (program, rest) = all.split_first().ok_or("empty command")?;
        let mut c = Command::new(program);
        c.args(rest).env("DEBIAN_FRONTEND", "noninteractive");
        cmd(&mut c)
    };
    apt(&["apt-get", "update", "-qq"])?;
    let mut install = vec!["apt-get", "install", "-y", "-qq", "--no-install-recommends"];
    install.extend(missing.iter().copied());
    apt(&install)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// `npm ci` when node_modules is missing or older than the lock file.
fn node_packages() -> Result {
    let ui = root().join("ui");
    let lock = ui.join("package-lock.json");
    let stamp = ui.join("node_modules/.package-lock.json");
    let fresh = match (
        std::fs::metadata(&lock).and_then(|m| m.modified()),
        std::fs::metadata(&stamp).and_then(|m| m.modified()),
    ) {
        (Ok(l), Ok(s)) => s >= l,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    if Command::new(npm_program()).arg("--version").output().is_err() {
        return Err("npm is missing: install Node.js 20 or newer".into());
    }
    cmd(Command::new(npm_program()).args(["ci", "--no-audit", "--no-fund"]).current_dir(&ui))
}

/// npm's launcher: a batch file on Windows, which `Command` finds only by its full name.
pub fn npm_program() -> &'static str {
    if cfg!(windows) {
        "npm.cmd"
    } else {
        "npm"
    }
}

/// tauri-driver (from crates.io) for the end-to-end test.
fn tauri_driver() -> Result {
    if which("tauri-driver") {
        return Ok(());
    }
    eprintln!("xtask: installing tauri-driver");
    cmd(Command::new("cargo").args(["install", "tauri-driver", "--locked", "--version", "2.1.0"]))
}

pub fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
}
