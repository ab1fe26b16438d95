//! A virtual X display of our own (Xvfb) for the app, its end-to-end tests and the benchmarks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::steps::Result;

/// An Xvfb display of our own, stopped on drop.
pub struct Xvfb {
    pub display: String,
    child: Child,
}

impl Xvfb {
    pub fn start() -> Result<Xvfb> {
        let n = (90..130).find(|n| display_free(*n)).ok_or("no free X display")?;
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

/// Whether display `:n` is free: no lock file, or one left by an X server that is gone (its
/// process id no longer runs), which is then removed with its socket (a stale socket would pass
/// for the new server's before it listens).
fn display_free(n: u32) -> bool {
    display_free_in(Path::new("/tmp"), n)
}

/// [`display_free`] with the lock files and sockets under `tmp`.
fn display_free_in(tmp: &Path, n: u32) -> bool {
    let lock = tmp.join(format!(".X{n}-lock"));
    let Ok(text) = std::fs::read_to_string(&lock) else { return !lock.exists() };
    let Ok(pid) = text.trim().parse::<u32>() else { return false };
    if Path::new(&format!("/proc/{pid}")).exists() {
        return false;
    }
    let _ = std::fs::remove_file(tmp.join(format!(".X11-unix/X{n}")));
    std::fs::remove_file(&lock).is_ok()
}

impl Drop for Xvfb {
    /// Stops Xvfb with SIGTERM, so that it removes its lock file and socket (SIGKILL left them
    /// behind: 40 stale locks later, "no free X display"); SIGKILL only if it has not ended
    /// within 3 s.
    fn drop(&mut self) {
        let term = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let start = Instant::now();
        while term.as_ref().is_ok_and(|s| s.success()) && start.elapsed() < Duration::from_secs(3) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_left_by_a_server_that_is_gone_is_removed_with_its_socket_and_a_live_ones_is_kept() {
        let tmp = std::env::temp_dir().join(format!("xtask-xvfb-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join(".X11-unix")).expect("dir");
        // a process id that runs no more: a child that has ended
        let mut gone = Command::new("true").spawn().expect("true");
        let gone_pid = gone.id();
        gone.wait().expect("ended");
        std::fs::write(tmp.join(".X7-lock"), format!("{gone_pid:>10}\n")).expect("lock");
        std::fs::write(tmp.join(".X11-unix/X7"), "").expect("socket");
        assert!(display_free_in(&tmp, 7));
        assert!(!tmp.join(".X7-lock").exists() && !tmp.join(".X11-unix/X7").exists());
        // this process runs: its lock stands
        std::fs::write(tmp.join(".X8-lock"), format!("{:>10}\n", std::process::id())).expect("lock");
        assert!(!display_free_in(&tmp, 8));
        assert!(tmp.join(".X8-lock").exists());
        // no lock: free; an unreadable one: not
        assert!(display_free_in(&tmp, 9));
        std::fs::write(tmp.join(".X10-lock"), "not a pid").expect("lock");
        assert!(!display_free_in(&tmp, 10));
        let _ = std::fs::remove_dir_all(&tmp);
    }

    #[test]
    fn a_stopped_xvfb_leaves_no_lock_behind() {
        let x = Xvfb::start().expect("Xvfb (cargo xtask setup installs it)");
        let n: u32 = x.display.trim_start_matches(':').parse().expect("display number");
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        assert!(lock.exists(), "Xvfb holds {}", lock.display());
        drop(x);
        assert!(!lock.exists(), "{} left behind", lock.display());
        assert!(!Path::new(&format!("/tmp/.X11-unix/X{n}")).exists());
    }
}
