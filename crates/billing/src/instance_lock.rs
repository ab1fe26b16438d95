//! One app per data directory: the lock `<data>/app.lock` that the desktop app holds for its
//! whole life, so a second app on the same data directory is refused before it opens a
//! database (two apps would run two recoveries and two background syncs).
//!
//! It is an OS advisory lock (`File::try_lock`: `flock` on Unix, `LockFileEx` on Windows) on a
//! file that stays in place: the OS releases it however the process ends (a crash or a kill
//! leaves no stale lock to clean up). The holder writes its process id into the file, so the
//! refusal can name it (on Windows the locked file cannot be read: no id then).
//!
//! `desk` (the CLI) does not take it: it may run beside the app, whose captures the journal's
//! leases already keep apart. The short lock on `desk.lock` while a process prepares the
//! directory ([`crate::environments`]) is another one, taken by both.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The lock file in the data directory.
pub const INSTANCE_LOCK_FILE: &str = "app.lock";

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum InstanceLockError {
    /// Another process holds it: another Capture Desk app runs on this data directory.
    #[error(
        "Capture Desk is already open on the data folder {} (process {}). Switch to that window, or close it before starting the desk again.",
        .data_dir.display(),
        .pid.map_or_else(|| "unknown".to_owned(), |p| p.to_string())
    )]
    InUse { data_dir: PathBuf, pid: Option<u32> },
    /// The directory or the lock file could not be created, opened or locked.
    #[error("The data folder {} cannot be locked: {source}", .data_dir.display())]
    Io {
        data_dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The right to run the app on one data directory, until dropped (or the process ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Takes the lock on `data_dir` (creating the directory), or says who holds it. Never waits.
    pub fn take(data_dir: &Path) -> Result<InstanceLock, InstanceLockError> {
        let io = |source: std::io::Error| InstanceLockError::Io { data_dir: data_dir.to_path_buf(), source };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let path = data_dir.join(INSTANCE_LOCK_FILE);
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(InstanceLockError::InUse { data_dir: data_dir.to_path_buf(), pid: holder(&mut file) })
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // who holds it, for the refusal of the next one (best effort: the lock is what counts)
        let _ = file.set_len(0).and_then(|()| writeln!(file, "{}", std::process::id())).and_then(|()| file.flush());
        Ok(InstanceLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The process id the holder wrote, if it can be read.
fn holder(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    #[test]
    fn a_second_taker_is_refused_and_names_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let first = InstanceLock::take(&data).expect("the first takes it");
        assert_eq!(first.path(), data.join(INSTANCE_LOCK_FILE));
        match InstanceLock::take(&data) {
            Err(InstanceLockError::InUse { data_dir, pid }) => {
                assert_eq!(data_dir, data);
                assert_eq!(pid, Some(std::process::id()));
            }
            other => panic!("a second taker must be refused, got {other:?}"),
        }
        let message = InstanceLock::take(&data).expect_err("still held").to_string();
        assert!(message.contains("already open on the data folder"), "{message}");
        assert!(message.contains(&data.display().to_string()), "{message}");
        drop(first);
        let again = InstanceLock::take(&data).expect("free once the first is dropped");
        // another data directory is not this one's business
        let other = InstanceLock::take(&dir.path().join("other")).expect("another data directory");
        drop((again, other));
    }

    #[test]
    fn an_unusable_data_directory_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").expect("write");
        assert!(matches!(InstanceLock::take(&file.join("data")), Err(InstanceLockError::Io { .. })));
    }

    /// The variable that makes [`the_child_holds_the_lock_until_killed`] take it.
    const CHILD_DIR: &str = "DESK_TEST_INSTANCE_LOCK_CHILD_DIR";
    const CHILD_LOCKED: &str = "instance-lock-child: locked";

    /// Run only as the child of the next test (this test binary started again, `--ignored`).
    #[test]
    #[ignore = "the child process of a_lock_held_by_a_process_is_released_when_it_is_killed"]
    fn the_child_holds_the_lock_until_killed() {
        let Some(dir) = std::env::var_os(CHILD_DIR) else { return };
        let _lock = InstanceLock::take(Path::new(&dir)).expect("the child takes the lock");
        println!("{CHILD_LOCKED}");
        std::io::stdout().flush().expect("flush");
        // held until the parent kills this process (bounded, should the parent die first)
        std::thread::sleep(std::time::Duration::from_secs(120));
    }

    #[test]
    fn a_lock_held_by_a_process_is_released_when_it_is_killed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([
                "instance_lock::tests::the_child_holds_the_lock_until_killed",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the child");
        let stdout = child.stdout.take().expect("stdout");
        let locked = std::io::BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.trim() == CHILD_LOCKED);
        if !locked {
            let _ = child.kill();
            panic!("the child never took the lock: {:?}", child.wait());
        }
        let refused = InstanceLock::take(dir.path());
        let pid = match &refused {
            Err(InstanceLockError::InUse { pid, .. }) => *pid,
            other => {
                let _ = child.kill();
                panic!("held by the child, the lock must be refused here, got {other:?}");
            }
        };
        assert_eq!(pid, Some(child.id()), "the refusal names the child");
        child.kill().expect("kill the child");
        child.wait().expect("wait for the child");
        InstanceLock::take(dir.path()).expect("the OS released the killed child's lock");
    }
}
