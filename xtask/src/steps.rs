//! The steps behind `run`, `test`, `e2e` and `bench`.

use crate::group::cmd_with_timeout;
use crate::setup::{self, Purpose};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Runs a command to completion, failing on a non-zero exit.
pub fn cmd(c: &mut Command) -> Result {
    eprintln!("$ {}", describe(c));
    let status = c.status().map_err(|e| format!("{}: {e}", describe(c)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(c)).into())
    }
}

pub(crate) fn describe(c: &Command) -> String {
    std::iter::once(c.get_program().to_string_lossy().into_owned())
        .chain(c.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo_path() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

pub(crate) fn cargo() -> Command {
    let mut c = Command::new(cargo_path());
    c.current_dir(root());
    c
}

fn npm(args: &[&str]) -> Result {
    cmd(Command::new("npm").args(args).current_dir(root().join("ui")))
}

pub(crate) fn build_ui() -> Result {
    npm(&["run", "build"])
}

/// The app and the binaries its end-to-end tests and benchmarks start beside it.
/// The packages `cargo xtask test` builds and tests with cargo (the end-to-end crate, which
/// brings its own WebDriver client, is built and run on its own, under Xvfb).
pub(crate) const WORKSPACE: [&str; 3] = ["--workspace", "--exclude", "desk-e2e"];

/// The app, the sandbox and `desk`: every binary of the workspace (for `cargo xtask run`: without
/// the test binaries, so features unify without the dev-dependencies).
pub(crate) fn build_app() -> Result {
    cmd(cargo().args(["build"]).args(WORKSPACE).arg("--bins"))
}

/// Every binary and test binary of the workspace, as `cargo xtask test` builds them (with the
/// dev-dependencies' features): the end-to-end runs use these, so that after `cargo xtask
/// test` they rebuild nothing.
pub(crate) fn build_for_tests() -> Result {
    cmd(cargo().args(["build"]).args(WORKSPACE).args(["--bins", "--tests"]))
}

fn app_binary() -> PathBuf {
    root().join("target/debug/capture-desk")
}

pub use crate::xvfb::Xvfb;

/// `cargo xtask run`: set up, build, start the app in demo.
pub fn run(args: &[String]) -> Result {
    setup::all(Purpose::Run)?;
    build_ui()?;
    build_app()?;
    let mut xvfb = None;
    let mut app = Command::new(app_binary());
    app.args(args).env("NO_AT_BRIDGE", "1");
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        let x = Xvfb::start()?;
        eprintln!("xtask: no display here; starting the app on the virtual display {} (headless)", x.display);
        app.env("DISPLAY", &x.display);
        xvfb = Some(x);
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() && setup::which("dbus-run-session") {
        let mut wrapped = Command::new("dbus-run-session");
        wrapped.arg("--").arg(app.get_program()).args(app.get_args());
        for (k, v) in app.get_envs() {
            if let Some(v) = v {
                wrapped.env(k, v);
            }
        }
        app = wrapped;
    }
    eprintln!(
        "xtask: starting Capture Desk (environment: {})",
        std::env::var("DESK_ENV").unwrap_or_else(|_| "from settings, demo by default".into())
    );
    let result = cmd(&mut app);
    drop(xvfb);
    result
}

/// `cargo xtask test`: every check, in an order that fails fast on cheap ones.
pub fn test() -> Result {
    let started = Instant::now();
    let mut passed = 0u32;
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result| -> Result {
        eprintln!("\n=== xtask test: {name}");
        let t = Instant::now();
        f().map_err(|e| format!("{name}: {e}"))?;
        passed += 1;
        eprintln!("=== {name}: ok ({:.0?})", t.elapsed());
        Ok(())
    };
    step("setup", &mut || setup::all(Purpose::Test))?;
    step("rustfmt", &mut || cmd(cargo().args(["fmt", "--all", "--", "--check"])))?;
    step("ui build", &mut build_ui)?;
    step("svelte-check", &mut || npm(&["run", "check"]))?;
    step("ui logic (vitest)", &mut || npm(&["run", "test:unit"]))?;
    step("clippy", &mut || cmd(cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])))?;
    // One build of every binary (the app's among them, which the end-to-end step starts) and
    // test binary: cargo overlaps the link of one with the compile of another, where building
    // them step by step leaves a core idle. Every build here selects the same packages
    // (`WORKSPACE`) and targets that bring the dev-dependencies, so that features unify alike
    // and no step rebuilds what another built with other features (a `--bins` build alone
    // unifies without the dev-dependencies, and rebuilt for three minutes on a new machine).
    step("build (binaries and tests)", &mut build_for_tests)?;
    // The tests wait on sandboxes and child processes far more than they compute: three at a
    // time per test binary on this 2-core machine, the slowest binaries beside the rest.
    step("rust tests", &mut crate::rust_tests::run)?;
    step("keyring (private Secret Service)", &mut keyring)?;
    step("bindings up to date", &mut bindings_unchanged)?;
    step("ui tests (chromium)", &mut || {
        cmd(Command::new("node").args(["--test", "--test-concurrency=1", "tests/"]).current_dir(root().join("ui")))
    })?;
    // A seed mostly waits (leases, windows, its desks' runs): the six run side by side.
    step("chaos (seeds 1-6, real kills)", &mut || {
        let args = ["--seeds", "6", "--from", "1", "--jobs", "6", "--no-build"];
        crate::chaos::run(&args.map(String::from))
    })?;
    step("end-to-end (real app, Xvfb)", &mut e2e)?;
    eprintln!("\nxtask test: every step green in {:.0?}", started.elapsed());
    println!("xtask: {passed} passed, 0 failed");
    Ok(())
}

/// The ts-rs bindings are regenerated by `cargo test`; a difference means they were stale.
fn bindings_unchanged() -> Result {
    if !root().join(".git").exists() {
        eprintln!("xtask: not a git checkout; cannot compare generated bindings");
        return Ok(());
    }
    let dir = "ui/src/lib/bindings";
    let changed = Command::new("git").args(["status", "--porcelain", "--", dir]).current_dir(root()).output()?;
    let out = String::from_utf8_lossy(&changed.stdout);
    if out.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("generated TypeScript bindings differ from the committed ones; commit them:\n{out}").into())
    }
}

/// The end-to-end test: the real app under Xvfb, driven through tauri-driver + WebKitWebDriver.
fn e2e() -> Result {
    e2e_with(&[])
}

/// Bounded in time; every process the run started is stopped (its process group), and no other.
fn e2e_with(env: &[(&str, String)]) -> Result {
    let x = Xvfb::start()?;
    let scratch = Scratch::new("desk-e2e")?;
    let mut c = private_session(&scratch, KEYRING_THEN_EXEC)?;
    c.arg(cargo_path())
        .args(["test", "-p", "desk-e2e", "--", "--test-threads=1", "--nocapture"])
        .env("DISPLAY", &x.display)
        .env("NO_AT_BRIDGE", "1")
        .env("DESK_E2E_APP", app_binary())
        .env("DESK_E2E_SANDBOX", root().join("target/debug/desk-sandbox"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let r = cmd_with_timeout(&mut c, Duration::from_secs(15 * 60));
    drop(x);
    r
}

/// The keyring round trip (`billing`'s ignored test) against a real Secret Service: a private
/// session as for e2e, the app's own slot holding a sentinel. A missing keyring fails it, and so
/// does a keyring whose items differ afterwards (the test must remove its own and touch no other).
fn keyring() -> Result {
    let scratch = Scratch::new("desk-keyring")?;
    let mut c = private_session(&scratch, KEYRING_TEST)?;
    // the same package selection as the "rust tests" step, so its test builds are reused (a
    // `-p billing` build unifies features differently and recompiles for minutes)
    c.arg(cargo_path()).args(["test", "--workspace", "--exclude", "desk-e2e", "--lib", "--"]);
    c.args(["--ignored", "--exact", KEYRING_TEST_NAME]);
    c.env("XTASK_TEST_LOG", scratch.path.join("test.log"));
    cmd_with_timeout(&mut c, Duration::from_secs(10 * 60))
}

/// The Rust test [`keyring`] runs (crates/billing/src/secrets.rs).
const KEYRING_TEST_NAME: &str = "secrets::tests::the_keyring_round_trips_from_async_code";

/// A private D-Bus session running `script` (which starts the keyring, then runs `"$@"`), every
/// per-user directory (XDG data, cache, config, runtime) in `scratch`: GNOME Keyring keeps its
/// keyrings there, WebKit its caches and local storage, and nothing lands in the home folder.
/// No `DESK_*` variable of the developer's reaches it.
fn private_session(scratch: &Scratch, script: &str) -> Result<Command> {
    let mut c = Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", script, "sh"]).current_dir(root());
    // the app turns its DESK_* overrides on: a developer's exported DESK_GATEWAY_TOKEN, DESK_ENV,
    // ... must not reach the app under test (the run sets the DESK_E2E_* it means)
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("DESK_") && !k.starts_with("DESK_E2E_")) {
            c.env_remove(&key);
        }
    }
    for (var, dir) in [
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_RUNTIME_DIR", "run"),
    ] {
        let path = scratch.path.join(dir);
        std::fs::create_dir_all(&path)?;
        c.env(var, path);
    }
    std::fs::set_permissions(scratch.path.join("run"), std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    Ok(c)
}

/// Starts GNOME Keyring's Secret Service unlocked (password from stdin), then runs the command.
const KEYRING_THEN_EXEC: &str =
    "printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec \"$@\"";

/// Starts the keyring, stores a sentinel in the app's live PayPal secret slot, lists every item,
/// runs the test (which must run: one passed), and checks the items and the sentinel afterwards.
const KEYRING_TEST: &str = r#"
set -u
printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null || { echo "xtask: no GNOME Keyring" >&2; exit 1; }
items() {
    gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets \
        --method org.freedesktop.Secret.Service.SearchItems '@a{ss} {}'
}
app_slot="service capture-desk username live/paypal-client-secret target default application rust-keyring"
printf app-sentinel | secret-tool store --label='Capture Desk (xtask sentinel)' $app_slot || exit 1
before=$(items) || exit 1
echo "xtask: Secret Service items before the test: $before" >&2
"$@" >"$XTASK_TEST_LOG"; rc=$?
cat "$XTASK_TEST_LOG"
[ "$rc" -eq 0 ] || exit "$rc"
grep -q "test result: ok. 1 passed" "$XTASK_TEST_LOG" || { echo "xtask: the keyring test did not run" >&2; exit 1; }
after=$(items) || exit 1
echo "xtask: Secret Service items after the test: $after" >&2
[ "$before" = "$after" ] || { echo "xtask: the keyring's items changed" >&2; exit 1; }
[ "$(secret-tool lookup $app_slot)" = app-sentinel ] || { echo "xtask: the app's keyring entry changed" >&2; exit 1; }
"#;

/// A temporary directory of this run, removed on drop.
pub(crate) struct Scratch {
    pub(crate) path: PathBuf,
}

impl Scratch {
    pub(crate) fn new(prefix: &str) -> Result<Scratch> {
        Ok(Scratch { path: tempfile_dir(prefix)? })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub(crate) fn tempfile_dir(prefix: &str) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `cargo xtask screenshots`: the end-to-end run on the release app (the packaging's build, what
/// a finance clerk installs), saving its screenshots to docs/screenshots.
pub fn screenshots() -> Result {
    setup::all(Purpose::Test)?;
    build_ui()?;
    // the sandbox the tests start is the debug one, as in `cargo xtask test`
    build_for_tests()?;
    cmd(cargo().args(crate::bench_release::RELEASE_BINS))?;
    let app = root().join("target/release/capture-desk");
    let dir = root().join("docs/screenshots");
    e2e_with(&[
        ("DESK_E2E_SHOTS", dir.to_string_lossy().into_owned()),
        ("DESK_E2E_APP", app.to_string_lossy().into_owned()),
    ])?;
    eprintln!("xtask: screenshots in {}", dir.display());
    Ok(())
}

pub fn e2e_only() -> Result {
    setup::all(Purpose::Test)?;
    build_ui()?;
    build_for_tests()?;
    e2e()
}

/// `cargo xtask bench`: the release build's figures beside their baselines, written to
/// docs/BENCHMARKS.md (see bench_release.rs).
pub fn bench(args: &[String]) -> Result {
    crate::bench_release::run(args)
}

/// `cargo xtask bench-batch [--items N] [--rate R]`: see crates/billing/examples/bench_batch.rs.
/// Builds `desk` (the run is the real binary), then writes the figures to docs/BENCHMARKS.md
/// unless `--doc FILE` names another file.
pub fn bench_batch(args: &[String]) -> Result {
    cmd(cargo().args(["build", "-q", "-p", "cli", "--bin", "desk"]))?;
    let mut example = cargo();
    example.args(["run", "-q", "-p", "billing", "--example", "bench_batch", "--"]).args(args);
    if !args.iter().any(|a| a == "--doc") {
        example.arg("--doc").arg(root().join("docs").join("BENCHMARKS.md"));
    }
    cmd(&mut example)
}
