//! One app per data directory, with the real app binary (no WebDriver): a second start on the
//! same data directory hands over to the first (the single-instance plugin on the test's private
//! D-Bus session) and exits; without a session bus the data directory's lock refuses it with a
//! message and exit code 3, before it opens anything; an app on another data directory runs beside
//! it; and `desk status` works on the data directory while the app runs.

use crate::driver::app_binary;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The app's exit code when another app runs on its data directory (src-tauri one_instance.rs).
const EXIT_IN_USE: i32 = 3;
/// The line the app logs once it holds its data directory and has opened the desk.
const STARTED: &str = "Capture Desk started: the only app on this data folder";

/// The app, killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn app(data_dir: &Path) -> Command {
    assert!(std::env::var_os("DISPLAY").is_some(), "DISPLAY is not set: the e2e test needs an X display (Xvfb)");
    let mut c = Command::new(app_binary());
    c.env("DESK_DATA_DIR", data_dir).env("DESK_ENV", "demo").env("NO_AT_BRIDGE", "1");
    c
}

fn log(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("logs/capture-desk.log")).unwrap_or_default()
}

/// Waits (bounded) until the data directory's log says `line`.
fn wait_for_log(data_dir: &Path, line: &str, first: &mut Running) {
    let started = Instant::now();
    while !log(data_dir).contains(line) {
        if let Ok(Some(status)) = first.0.try_wait() {
            panic!("the app ended ({status}) before logging {line:?}; log:\n{}", log(data_dir));
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no {line:?} within 60 s; log:\n{}", log(data_dir));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `c` to its end (bounded: a second app that did not exit is killed and fails the test).
fn run_to_end(c: &mut Command) -> Output {
    let mut child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!("still running after 60 s; stderr:\n{}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn a_second_app_on_one_data_directory_hands_over_or_is_refused_and_desk_runs_beside_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut first = Running(app(&data).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("the first app"));
    wait_for_log(&data, STARTED, &mut first);

    // on the session bus: the second start brings the first forward and exits cleanly
    let second = run_to_end(&mut app(&data));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "the second start hands over; stderr:\n{stderr}");
    wait_for_log(&data, "Capture Desk was started again on this data folder", &mut first);
    assert_eq!(log(&data).matches(STARTED).count(), 1, "one app started on the data folder");

    // without a session bus the plugin cannot tell: the data folder's lock refuses the app
    let no_bus = format!("unix:path={}", dir.path().join("no-bus").display());
    let third = run_to_end(app(&data).env("DBUS_SESSION_BUS_ADDRESS", &no_bus));
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert_eq!(third.status.code(), Some(EXIT_IN_USE), "refused; stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!("Capture Desk is already open on the data folder {}", data.display())),
        "a clear message; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!("(process {})", first.0.id())),
        "it names the app that holds it; stderr:\n{stderr}"
    );
    // it stopped before opening the desk: nothing of a start (demo world, recovery, sync) logged
    assert!(!stderr.contains(" INFO "), "the refused app did nothing; stderr:\n{stderr}");
    assert!(log(&data).contains("not started: Capture Desk is already open"), "and said so in the log");
    assert_eq!(log(&data).matches(STARTED).count(), 1);

    // an app on another data directory is not this one's business: it starts beside it
    let other = dir.path().join("other");
    let mut beside = Running(app(&other).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("another app"));
    wait_for_log(&other, STARTED, &mut beside);
    assert!(beside.0.try_wait().expect("wait").is_none(), "the app on another data folder keeps running");
    drop(beside);

    // `desk` takes no such lock: it runs beside the app on the same data directory
    let desk = app_binary().with_file_name("desk");
    let status = run_to_end(Command::new(&desk).arg("status").env("DESK_DATA_DIR", &data).env("DESK_ENV", "demo"));
    let stdout = String::from_utf8_lossy(&status.stdout);
    assert_eq!(
        status.status.code(),
        Some(0),
        "desk status; stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(stdout.contains(&data.display().to_string()), "{stdout}");
    assert!(stdout.contains("hosted by another Capture Desk program"), "desk joins the app's demo world: {stdout}");

    assert!(first.0.try_wait().expect("wait").is_none(), "the first app keeps running throughout");
}
