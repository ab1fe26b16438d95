//! The app's log files: `<data>/logs/capture-desk.log`, rotated by size so the log never grows
//! without bound. When the next write would take the file past [`MAX_BYTES`], the file is
//! renamed `capture-desk.log.1` (the `.1` before it `.2`, and so on) and a new one begun; with
//! [`KEEP`] files in all the oldest is removed. A write is never split across two files (the
//! tracing formatter hands over one whole line per write), so one oversized line makes a file of
//! its own.
//!
//! A writer of our own rather than a crate: `tracing-appender` rotates by time only, and the
//! size-based appenders on crates.io are small and little maintained; this is all we need.
//! If a rotation fails (a file held open elsewhere), the writer keeps appending to the file it
//! has and tries again after another [`MAX_BYTES`]: a log line is never lost to a rotation.
//!
//! Secrets are never logged (see [`crate::secrets`]): nothing here filters them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The logs folder in the data directory.
pub const LOGS_DIR: &str = "logs";
/// The app's log file in the logs folder.
pub const APP_LOG: &str = "capture-desk.log";
/// The size at which a log file is rotated.
pub const MAX_BYTES: u64 = 5 * 1024 * 1024;
/// How many log files are kept, the one being written included.
pub const KEEP: usize = 5;

/// `<data>/logs`.
pub fn logs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(LOGS_DIR)
}

/// A log file that rotates by size: `name`, `name.1` (the newest before it), … `name.{keep-1}`.
#[derive(Debug)]
pub struct RotatingFile {
    dir: PathBuf,
    name: String,
    max_bytes: u64,
    keep: usize,
    file: File,
    /// Bytes in `file` as far as this writer knows (its size when opened, plus what it wrote).
    size: u64,
}

impl RotatingFile {
    /// The app's log ([`APP_LOG`] in [`logs_dir`], [`MAX_BYTES`] × [`KEEP`]).
    pub fn app_log(data_dir: &Path) -> std::io::Result<RotatingFile> {
        RotatingFile::open(&logs_dir(data_dir), APP_LOG, MAX_BYTES, KEEP)
    }

    /// Opens (creating `dir` and the file) `dir/name` for appending. `keep` counts every file
    /// (at least 1: then the file starts over when full).
    pub fn open(dir: &Path, name: &str, max_bytes: u64, keep: usize) -> std::io::Result<RotatingFile> {
        std::fs::create_dir_all(dir)?;
        let file = append(&dir.join(name))?;
        let size = file.metadata()?.len();
        Ok(RotatingFile { dir: dir.to_path_buf(), name: name.to_owned(), max_bytes, keep: keep.max(1), file, size })
    }

    /// `name` (0) or `name.n`.
    pub fn path(&self, n: usize) -> PathBuf {
        if n == 0 {
            self.dir.join(&self.name)
        } else {
            self.dir.join(format!("{}.{n}", self.name))
        }
    }

    /// Shifts every kept file one number up (dropping the oldest) and begins a new file.
    fn rotate(&mut self) -> std::io::Result<()> {
        let last = self.keep - 1;
        if last == 0 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        remove_if_there(&self.path(last))?;
        for n in (1..last).rev() {
            rename_if_there(&self.path(n), &self.path(n + 1))?;
        }
        rename_if_there(&self.path(0), &self.path(1))?;
        self.file = append(&self.path(0))?;
        self.size = 0;
        Ok(())
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_there(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let len = buf.len() as u64;
        if self.size > 0 && self.size.saturating_add(len) > self.max_bytes && self.rotate().is_err() {
            // keep the line in the file we have; try again after another bound's worth
            self.size = 0;
        }
        self.file.write_all(buf)?;
        self.size = self.size.saturating_add(len);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A line of exactly `len` bytes (newline included) starting with `tag`.
    fn line(tag: &str, len: usize) -> String {
        format!("{tag}{}\n", "x".repeat(len - tag.len() - 1))
    }

    #[test]
    fn a_file_rotates_when_the_next_line_would_pass_the_bound_and_lines_are_never_split() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = RotatingFile::open(dir.path(), "a.log", 100, 3).expect("open");
        log.write_all(line("one", 40).as_bytes()).expect("write");
        log.write_all(line("two", 60).as_bytes()).expect("write"); // exactly 100: no rotation yet
        assert!(!log.path(1).exists(), "at the bound, not past it: one file");
        log.write_all(line("three", 10).as_bytes()).expect("write");
        assert_eq!(read(&log.path(1)), line("one", 40) + &line("two", 60));
        assert_eq!(read(&log.path(0)), line("three", 10));
        // a line bigger than the bound gets a file of its own, whole
        log.write_all(line("big", 150).as_bytes()).expect("write");
        assert_eq!(read(&log.path(0)), line("big", 150));
        assert_eq!(read(&log.path(1)), line("three", 10));
        assert_eq!(read(&log.path(2)), line("one", 40) + &line("two", 60));
    }

    #[test]
    fn only_the_last_n_files_are_kept_and_the_oldest_goes_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = RotatingFile::open(dir.path(), "a.log", 50, 3).expect("open");
        for n in 0..7 {
            log.write_all(line(&format!("line{n}"), 50).as_bytes()).expect("write");
        }
        assert_eq!(read(&log.path(0)), line("line6", 50));
        assert_eq!(read(&log.path(1)), line("line5", 50));
        assert_eq!(read(&log.path(2)), line("line4", 50));
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["a.log", "a.log.1", "a.log.2"], "three files and no more");
    }

    #[test]
    fn a_reopened_log_counts_what_is_already_in_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = RotatingFile::open(dir.path(), "a.log", 100, 2).expect("open");
        log.write_all(line("before", 80).as_bytes()).expect("write");
        drop(log);
        let mut log = RotatingFile::open(dir.path(), "a.log", 100, 2).expect("reopen");
        log.write_all(line("after", 30).as_bytes()).expect("write");
        assert_eq!(read(&log.path(1)), line("before", 80));
        assert_eq!(read(&log.path(0)), line("after", 30));
    }

    #[test]
    fn keeping_one_file_starts_it_over() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = RotatingFile::open(dir.path(), "a.log", 50, 1).expect("open");
        log.write_all(line("first", 40).as_bytes()).expect("write");
        log.write_all(line("second", 40).as_bytes()).expect("write");
        assert_eq!(read(&log.path(0)), line("second", 40));
        assert!(!log.path(1).exists());
    }

    #[test]
    fn the_app_log_is_in_the_logs_folder_of_the_data_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut log = RotatingFile::app_log(dir.path()).expect("open");
        log.write_all(b"hello\n").expect("write");
        assert_eq!(read(&dir.path().join("logs").join("capture-desk.log")), "hello\n");
        assert_eq!(log.path(0), logs_dir(dir.path()).join(APP_LOG));
    }
}
