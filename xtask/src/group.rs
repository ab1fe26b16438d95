//! Commands in a process group of their own: bounded in time, and when they end whatever they
//! left running is stopped — that group only, never a process found by name (a developer's
//! own desk or WebKitWebDriver must survive a test run).

use crate::steps::{describe, Result};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Like [`cmd`], in a process group of its own, bounded by `limit`. When the command ends (or
/// runs out of time) whatever is left of its group is stopped: SIGTERM, then SIGKILL after a
/// grace period. Only that group is signalled, never a process by name.
pub(crate) fn cmd_with_timeout(c: &mut Command, limit: Duration) -> Result {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::Scratch;
    use std::path::Path;
    use std::process::Stdio;

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
