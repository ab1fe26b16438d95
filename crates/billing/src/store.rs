//! The SQLite file: opened with WAL, migrated on open, in the OS app-data directory unless
//! `DESK_DATA_DIR` says otherwise.

use crate::DeskError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The app's identifier; also Tauri's, so the app and the CLI share one data directory.
pub const APP_ID: &str = "com.cargoextra.capturedesk";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// `DESK_DATA_DIR`, else the OS app-data directory (`~/.local/share/com.cargoextra.capturedesk`).
pub fn default_data_dir() -> Result<PathBuf, DeskError> {
    if let Some(d) = crate::settings::env("DESK_DATA_DIR") {
        return Ok(PathBuf::from(d));
    }
    dirs::data_dir()
        .map(|d| d.join(APP_ID))
        .ok_or_else(|| DeskError::storage("no application data directory on this system; set DESK_DATA_DIR"))
}

/// Opens (creating if needed) and migrates the database in `dir`.
pub async fn open(dir: &Path) -> Result<SqlitePool, DeskError> {
    std::fs::create_dir_all(dir).map_err(|e| DeskError::storage(format!("{}: {e}", dir.display())))?;
    let path = dir.join("desk.sqlite3");
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
        .pragma("cache_size", "-65536")
        .pragma("wal_autocheckpoint", "8192")
        .pragma("mmap_size", "268435456");
    let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}
