//! The SQLite files: opened with WAL, an environment's database migrated on open, all in the OS
//! app-data directory unless `DESK_DATA_DIR` says otherwise. Which file holds what is
//! [`crate::environments`]'s.

use crate::DeskError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The app's identifier; also Tauri's, so the app and the CLI share one data directory.
pub const APP_ID: &str = "com.cargoextra.capturedesk";

/// The migrations of an environment's database (`migrations/`).
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// `DESK_DATA_DIR`, else the OS app-data directory (`~/.local/share/com.cargoextra.capturedesk`).
pub fn default_data_dir() -> Result<PathBuf, DeskError> {
    if let Some(d) = crate::settings::env("DESK_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    dirs::data_dir()
        .map(|d| d.join(APP_ID))
        .ok_or_else(|| DeskError::storage("no application data directory on this system; set DESK_DATA_DIR"))
}

/// How a file keeps its journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Journal {
    /// Everyday use: readers never wait for the writer.
    Wal,
    /// A file that is renamed into place when complete: one file, nothing beside it.
    Rollback,
}

/// Opens (creating if needed) and migrates the database `desk.sqlite3` in `dir` (an
/// environment's directory).
pub async fn open(dir: &Path) -> Result<SqlitePool, DeskError> {
    std::fs::create_dir_all(dir).map_err(|e| DeskError::storage(format!("{}: {e}", dir.display())))?;
    let pool = open_file(&dir.join(crate::environments::DATABASE_FILE), Journal::Wal).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Opens (creating if needed) the SQLite file at `path`, without migrating it.
pub(crate) async fn open_file(path: &Path, journal: Journal) -> Result<SqlitePool, DeskError> {
    pool(options(path).create_if_missing(true), journal, 4).await
}

/// Opens the existing SQLite file at `path` (never creates one) on one connection.
pub(crate) async fn open_existing(path: &Path, journal: Journal) -> Result<SqlitePool, DeskError> {
    pool(options(path).create_if_missing(false), journal, 1).await
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new().filename(path)
}

/// The settings of every connection that bear on how fast queries run (the release bench gives
/// the same to the `sqlite3` shell it compares the list queries with).
///
/// No memory-mapped I/O (`mmap_size` 0): pages are read (pread) into the connection's page
/// cache, bounded by `cache_size` (64 MiB). Mapped, every page a query touched (and the
/// neighbours the kernel maps with it) stayed in the process's memory: the app's first page (240
/// rows spread over the table) left ~47 MiB of the 100k-invoice file in its PSS, against ~7 MiB
/// of heap read this way; the list queries take as long either way while the table fits the
/// cache, and a smaller cache makes the scans 1.5–3× slower (issue 11, docs/BENCHMARKS.md).
pub const QUERY_PRAGMAS: [(&str, &str); 3] = [("temp_store", "memory"), ("cache_size", "-65536"), ("mmap_size", "0")];

async fn pool(options: SqliteConnectOptions, journal: Journal, connections: u32) -> Result<SqlitePool, DeskError> {
    let options = match journal {
        Journal::Wal => options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .pragma("wal_autocheckpoint", "8192"),
        Journal::Rollback => options.journal_mode(SqliteJournalMode::Delete).synchronous(SqliteSynchronous::Full),
    }
    .foreign_keys(true)
    .busy_timeout(Duration::from_secs(10))
    .busy_timeout(Duration::from_secs(10));
    let options = QUERY_PRAGMAS.iter().fold(options, |o, (name, value)| o.pragma(*name, *value));
    Ok(SqlitePoolOptions::new().max_connections(connections).connect_with(options).await?)
}

#[cfg(test)]
mod tests {
    /// `.cargo/config.toml` builds SQLite with `SQLITE_DEFAULT_MEMSTATUS=0`: with its memory
    /// statistics every allocation takes one mutex shared by all connections.
    #[tokio::test]
    async fn sqlite_is_built_without_memory_statistics() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = super::open(dir.path()).await.expect("open");
        let options: Vec<String> = sqlx::query_scalar("SELECT compile_options FROM pragma_compile_options")
            .fetch_all(&pool)
            .await
            .expect("options");
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "SQLite built without DEFAULT_MEMSTATUS=0: {options:?}"
        );
    }
}
