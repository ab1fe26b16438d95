//! The steps behind `run`, `test`, `e2e` and `bench`.

use crate::setup::{self, Purpose};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

fn describe(c: &Command) -> String {
    std::iter::once(c.get_program().to_string_lossy().into_owned())
        .chain(c.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo_path() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo() -> Command {
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
pub(crate) fn build_app() -> Result {
    cmd(cargo().args([
        "build",
        "-p",
        "capture-desk",
        "--bin",
        "capture-desk",
        "-p",
        "sandbox",
        "--bin",
        "desk-sandbox",
        "-p",
        "cli",
        "--bin",
        "desk",
    ]))
}

fn app_binary() -> PathBuf {
    root().join("target/debug/capture-desk")
}

/// An Xvfb display of our own, stopped on drop.
pub struct Xvfb {
    pub display: String,
    child: Child,
}

impl Xvfb {
    pub fn start() -> Result<Xvfb> {
        let n = (90..130).find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists()).ok_or("no free X display")?;
        let display = format!(":{n}");
        let child = Command::new("Xvfb")
            .args([display.as_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("Xvfb: {e}"))?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        let start = Instant::now();
        while !socket.exists() {
            if start.elapsed() > Duration::from_secs(10) {
                return Err("Xvfb did not start".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Xvfb { display, child })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    step("rust tests", &mut || cmd(cargo().args(["test", "--workspace", "--exclude", "desk-e2e"])))?;
    step("keyring (private Secret Service)", &mut keyring)?;
    step("bindings up to date", &mut bindings_unchanged)?;
    step("ui tests (chromium)", &mut || {
        cmd(Command::new("node").args(["--test", "--test-concurrency=1", "tests/"]).current_dir(root().join("ui")))
    })?;
    step("app build", &mut build_app)?;
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
    c.arg(cargo_path()).args(["test", "-p", "billing", "--lib", "--", "--ignored", "--exact", KEYRING_TEST_NAME]);
    c.env("XTASK_TEST_LOG", scratch.path.join("test.log"));
    cmd_with_timeout(&mut c, Duration::from_secs(10 * 60))
}

/// The Rust test [`keyring`] runs (crates/billing/src/secrets.rs).
const KEYRING_TEST_NAME: &str = "secrets::tests::the_keyring_round_trips_from_async_code";

/// A private D-Bus session running `script` (which starts the keyring, then runs `"$@"`), every
/// per-user directory (XDG data, cache, config, runtime) in `scratch`: GNOME Keyring keeps its
/// keyrings there, WebKit its caches and local storage, and nothing lands in the home folder.
fn private_session(scratch: &Scratch, script: &str) -> Result<Command> {
    let mut c = Command::new("dbus-run-session");
    c.args(["--", "sh", "-c", script, "sh"]).current_dir(root());
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
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(prefix: &str) -> Result<Scratch> {
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

/// Like [`cmd`], in a process group of its own, bounded by `limit`. When the command ends (or
/// runs out of time) whatever is left of its group is stopped: SIGTERM, then SIGKILL after a
/// grace period. Only that group is signalled, never a process by name.
fn cmd_with_timeout(c: &mut Command, limit: Duration) -> Result {
    use std::os::unix::process::CommandExt;
    eprintln!("$ {} (at most {limit:?})", describe(c));
    let mut child = c.process_group(0).spawn().map_err(|e| format!("{}: {e}", describe(c)))?;
    let group = child.id();
    let started = Instant::now();
    // the leader is reaped only after its group is stopped: until then its pid, the group's id,
    // cannot be handed to another process
    while !has_exited(&mut child)? {
        if started.elapsed() > limit {
            stop_group(group);
            let _ = child.wait();
            return Err(format!("`{}` took longer than {limit:?}", describe(c)).into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    stop_group(group);
    let status = child.wait()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(c)).into())
    }
}

/// The child has exited (it is a zombie, not yet reaped). Without /proc, reaps it to find out.
fn has_exited(child: &mut Child) -> Result<bool> {
    match std::fs::read_to_string(format!("/proc/{}/stat", child.id())) {
        Ok(stat) => Ok(stat_fields(&stat).is_some_and(|(state, _)| state == "Z" || state == "X")),
        Err(_) => Ok(child.try_wait()?.is_some()),
    }
}

/// A `/proc/<pid>/stat` line's state and process group.
fn stat_fields(stat: &str) -> Option<(&str, u32)> {
    // the command name (field 2) is in parentheses and may hold spaces: read after the last ')'
    let mut rest = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?;
    let _parent = rest.next()?;
    let group = rest.next()?.parse().ok()?;
    Some((state, group))
}

/// The live (not zombie) processes of process group `group`.
fn group_members(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().is_some_and(|stat| {
                stat_fields(&stat).is_some_and(|(state, g)| g == group && state != "Z" && state != "X")
            })
        })
        .collect()
}

/// SIGTERM to the group, SIGKILL to what is still there after 10 s.
fn stop_group(group: u32) {
    for (signal, grace) in [("-TERM", Duration::from_secs(10)), ("-KILL", Duration::from_secs(5))] {
        let left = group_members(group);
        if left.is_empty() {
            return;
        }
        eprintln!("xtask: stopping what the run left behind (process group {group}, {signal}): {left:?}");
        let _ = Command::new("kill").args([signal, "--", &format!("-{group}")]).status();
        let started = Instant::now();
        while !group_members(group).is_empty() && started.elapsed() < grace {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// `cargo xtask screenshots`: the end-to-end run, saving its screenshots to docs/screenshots.
pub fn screenshots() -> Result {
    setup::all(Purpose::Test)?;
    build_ui()?;
    build_app()?;
    let dir = root().join("docs/screenshots");
    e2e_with(&[("DESK_E2E_SHOTS", dir.to_string_lossy().into_owned())])?;
    eprintln!("xtask: screenshots in {}", dir.display());
    Ok(())
}

pub fn e2e_only() -> Result {
    setup::all(Purpose::Test)?;
    build_ui()?;
    build_app()?;
    e2e()
}

/// `cargo xtask bench`: sync and list figures against the sandbox (see crates/billing/examples/bench.rs).
pub fn bench(args: &[String]) -> Result {
    cmd(cargo().args(["run", "-q", "-p", "billing", "--example", "bench", "--"]).args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .is_some_and(|stat| stat_fields(&stat).is_some_and(|(state, _)| state != "Z" && state != "X"))
    }

    fn pid_in(file: &Path) -> u32 {
        let started = Instant::now();
        loop {
            if let Some(pid) = std::fs::read_to_string(file).ok().and_then(|s| s.trim().parse().ok()) {
                return pid;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "no pid in {}", file.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What a command leaves running in its group is stopped when it ends; a process outside
    /// the group (one a developer started) is not.
    #[test]
    fn a_finished_command_leaves_nothing_of_its_group_and_touches_nothing_else() {
        let scratch = Scratch::new("xtask-group-test").expect("scratch");
        let outsider = Outsider(quiet("sleep").arg("1000").spawn().expect("sleep"));
        let left = scratch.path.join("left.pid");
        let mut c = quiet("sh");
        c.args(["-c", "sleep 1000 & echo $! > \"$1\"", "sh"]).arg(&left);
        cmd_with_timeout(&mut c, Duration::from_secs(60)).expect("the command succeeds");
        let left = pid_in(&left);
        assert!(!alive(left), "the command's background process {left} is still running");
        assert!(alive(outsider.0.id()), "a process outside the run was stopped");
    }

    /// A process the test started outside the run; stopped (by its pid) when the test ends.
    struct Outsider(Child);

    impl Drop for Outsider {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// A command whose leftovers, should the test fail, hold no pipe of the test runner's.
    fn quiet(program: &str) -> Command {
        let mut c = Command::new(program);
        c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        c
    }

    /// A command over its time is stopped with everything it started, and reported.
    #[test]
    fn a_command_over_its_time_is_stopped_with_its_group() {
        let scratch = Scratch::new("xtask-timeout-test").expect("scratch");
        let left = scratch.path.join("left.pid");
        let mut c = quiet("sh");
        c.args(["-c", "sleep 1000 & echo $! > \"$1\"; wait", "sh"]).arg(&left);
        let e = cmd_with_timeout(&mut c, Duration::from_secs(2)).expect_err("over its time");
        assert!(e.to_string().contains("took longer"), "{e}");
        let left = pid_in(&left);
        assert!(!alive(left), "the command's background process {left} is still running");
    }

    #[test]
    fn stat_lines_with_spaces_in_the_name_are_read() {
        assert_eq!(stat_fields("42 (Web Content) S 1 4242 4242 0"), Some(("S", 4242)));
        assert_eq!(stat_fields("7 (a) b) Z 1 9 9"), Some(("Z", 9)));
    }
}
