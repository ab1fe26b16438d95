//! One database per environment: how the data directory is laid out, and the lock that keeps
//! two processes (the app and `desk`) from preparing it at the same time.
//!
//! ```text
//! <data>/settings.sqlite3        the machine's settings: which environment, the staff name, the UI
//!                                preferences, and each environment's connection settings under
//!                                its own keys ("sandbox.gateway_url"); never invoices or captures
//! <data>/demo/desk.sqlite3       demo's invoice cache, sync state, capture journal, audit log
//! <data>/demo/demo-world.json    demo's world (hosted by the front end, see `crate::demo`)
//! <data>/sandbox/desk.sqlite3    the same for sandbox
//! <data>/live/desk.sqlite3       the same for live
//! <data>/desk.lock               held while a process prepares the directory (below)
//! <data>/desk.sqlite3.migrated   the single database of earlier versions, once split (never read)
//! <data>/logs/, <data>/exports/  the app's log, CSV exports when there is no Downloads folder
//! ```
//!
//! **Invariant: environments never mix.** A desk opens exactly one environment's database: the
//! environment in effect (the saved one, or `DESK_ENV`). Its cache, sync cursor, capture journal
//! (with the `desk_id` its request ids are made from) and audit log are that environment's only,
//! so nothing of one environment is listed, shown, resumed or synced in another, whatever
//! `DESK_ENV` says. Credentials are per environment too (the keyring entry is named by it).
//! What the machine shares is only what belongs to the person and the screen: the environment
//! choice, the staff name and the UI preferences.
//!
//! Preparing the directory (creating it, splitting a database of an earlier version with
//! [`crate::legacy_migration`], creating a missing environment database and running its
//! migrations) happens under an exclusive lock on `desk.lock` (`File::try_lock`, polled, so
//! it is bounded), which the OS releases if the process dies.

use crate::{store, DeskError, Environment};
use sqlx::SqlitePool;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The database file name inside an environment's directory.
pub const DATABASE_FILE: &str = "desk.sqlite3";
/// The machine's settings database in the data directory.
pub const SETTINGS_FILE: &str = "settings.sqlite3";
const LOCK_FILE: &str = "desk.lock";
/// How long a process waits for another one preparing the same data directory.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// `<data>/<env>`: everything of one environment.
pub fn environment_dir(data_dir: &Path, env: Environment) -> PathBuf {
    data_dir.join(env.as_str())
}

/// `<data>/<env>/desk.sqlite3`.
pub fn database_path(data_dir: &Path, env: Environment) -> PathBuf {
    environment_dir(data_dir, env).join(DATABASE_FILE)
}

/// The exclusive right to prepare one data directory, until dropped.
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Waits (bounded) until no other process prepares `data_dir`, creating it if needed.
    pub async fn acquire(data_dir: &Path) -> Result<DataDirLock, DeskError> {
        let io = |e: std::io::Error| DeskError::storage(format!("{}: {e}", data_dir.display()));
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DataDirLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(DeskError::new(
                        crate::ErrorCode::Conflict,
                        "Another Capture Desk program is still preparing the data folder. Try again in a moment.",
                    )
                    .with_detail(format!("{} held for {LOCK_WAIT:?}", data_dir.join(LOCK_FILE).display())))
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

/// The data directory, prepared: a database of an earlier version split into environments,
/// the machine's settings open. Holds the directory's lock until [`Prepared::open_environment`].
pub struct Prepared {
    lock: DataDirLock,
    pub settings: SqlitePool,
}

/// Locks `data_dir`, splits a single database of an earlier version (once), and opens the
/// machine's settings.
pub async fn prepare(data_dir: &Path) -> Result<Prepared, DeskError> {
    let lock = DataDirLock::acquire(data_dir).await?;
    crate::legacy_migration::run_if_needed(data_dir).await?;
    let settings = open_settings(data_dir).await?;
    Ok(Prepared { lock, settings })
}

impl Prepared {
    /// Opens (creating and migrating) `env`'s database, then lets other processes in.
    pub async fn open_environment(
        self,
        data_dir: &Path,
        env: Environment,
    ) -> Result<(SqlitePool, SqlitePool), DeskError> {
        let pool = store::open(&environment_dir(data_dir, env)).await;
        drop(self.lock);
        match pool {
            Ok(pool) => Ok((self.settings, pool)),
            Err(e) => {
                self.settings.close().await;
                Err(e)
            }
        }
    }
}

/// Opens (creating) the machine's settings database in `data_dir`.
pub(crate) async fn open_settings(data_dir: &Path) -> Result<SqlitePool, DeskError> {
    let pool = store::open_file(&data_dir.join(SETTINGS_FILE), store::Journal::Wal).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT")
        .execute(&pool)
        .await?;
    Ok(pool)
}

/// Opens `env`'s database under the directory's lock, for a process that has no desk open
/// (saving settings while the desk could not open).
pub(crate) async fn open_environment_alone(data_dir: &Path, env: Environment) -> Result<SqlitePool, DeskError> {
    let prepared = prepare(data_dir).await?;
    let (settings, pool) = prepared.open_environment(data_dir, env).await?;
    settings.close().await;
    Ok(pool)
}
