//! Splitting the single `<data>/desk.sqlite3` of earlier versions into one database per
//! environment (see [`crate::environments`]). Runs under the data directory's lock, so never
//! twice at once; safe to interrupt at any point:
//!
//! 1. The old file is brought to this version's schema (its own migrations, nothing else
//!    changes), so every table is copied column for column.
//! 2. Each environment that gets anything is built as `<env>/desk.sqlite3.migrating` (rollback
//!    journal, so the finished file is self-contained) in one transaction, synced, and renamed
//!    into place. A stale `.migrating` file of an interrupted run is thrown away and rebuilt;
//!    an environment database already in place that carries the old file's `desk_id` and a
//!    `migrated_from` mark was finished by an interrupted run and is kept. Any other database
//!    already in place is refused (the old file is not merged into a database in use).
//! 3. The machine's settings are written (a value already there is kept).
//! 4. Last, the old file is renamed `desk.sqlite3.migrated` (with its `-wal`, if one is left):
//!    from then on it is never read again, and its presence is what "not migrated yet" means.
//!
//! Where rows go:
//! * a table with an `environment` column (`capture_journal`, `audit_log`) is split by it; the
//!   audit log is append-only, so its rows are copied as they are (ids and times included) and
//!   never changed in the old file; a value that names no environment goes with the cache;
//! * the other tables (`invoices`, `sync_state`, what later migrations add) have no environment:
//!   they go to the environment the saved settings named when the migration ran (the cache can
//!   always be synced again);
//! * `desk_meta` goes to every environment database built: each keeps the old `desk_id`, and its
//!   journal ids continue after the old file's highest, so an open attempt keeps the request id
//!   stored on it and no request id the old desk made is ever made again (the same
//!   `desk_id`-and-number in two environments reaches two different PayPal accounts);
//! * `settings`: the environment and staff name and `ui.*` preferences go to the machine's
//!   settings, the connection settings to the keys of the environment they were saved for;
//! * `<data>/demo-world.json` moves to `<data>/demo/`.

use crate::environments::{self, DATABASE_FILE};
use crate::store::{self, Journal};
use crate::{audit, DeskError, Environment, Settings};
use sqlx::{Connection, SqliteConnection, SqlitePool};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The name the old file gets once split.
pub const RETIRED_SUFFIX: &str = "migrated";
const BUILDING: &str = "desk.sqlite3.migrating";
/// Tables that are not rows of an environment's data.
const NOT_COPIED: [&str; 5] = ["_sqlx_migrations", "settings", "desk_meta", "search_names", "search_customers"];

/// What the old file holds, read once.
struct Legacy {
    path: PathBuf,
    desk_id: String,
    /// The environment the saved settings named: the cache goes there.
    cache_env: Environment,
    staff: String,
    settings: Vec<(String, String)>,
    last_journal_id: i64,
    /// Every data table, and whether it has an `environment` column.
    tables: Vec<(String, bool)>,
    /// The environments that get anything.
    needed: BTreeSet<&'static str>,
}

/// Splits `<data>/desk.sqlite3` if it is there (the caller holds the directory's lock).
pub(crate) async fn run_if_needed(data_dir: &Path) -> Result<(), DeskError> {
    let path = data_dir.join(DATABASE_FILE);
    if !path.try_exists().map_err(|e| DeskError::storage(format!("{}: {e}", path.display())))? {
        return Ok(());
    }
    tracing::info!(path = %path.display(), "splitting the database of an earlier version into one per environment");
    let pool = store::open_existing(&path, Journal::Wal).await?;
    let split = async {
        let legacy = read(&pool, path.clone()).await?;
        let needed: Vec<Environment> =
            Environment::ALL.into_iter().filter(|e| legacy.needed.contains(e.as_str())).collect();
        // every database already in place is checked before anything is built
        let mut to_build = Vec::new();
        for env in needed {
            let target = environments::database_path(data_dir, env);
            if target.try_exists().map_err(io(&target))? {
                check_finished(&target, env, &legacy).await?;
            } else {
                to_build.push(env);
            }
        }
        for env in to_build {
            build(data_dir, env, &legacy).await?;
        }
        move_demo_world(data_dir)?;
        write_machine_settings(data_dir, &legacy).await
    }
    .await;
    if let Err(e) = split {
        pool.close().await;
        return Err(e);
    }
    retire(&path, pool).await
}

async fn read(pool: &SqlitePool, path: PathBuf) -> Result<Legacy, DeskError> {
    store::MIGRATOR.run(pool).await?;
    let desk_id = crate::capture::journal::desk_id(pool).await?;
    let settings: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings").fetch_all(pool).await?;
    let setting = |k: &str| settings.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let cache_env = match setting("environment") {
        Some(e) => Environment::parse(&e)?,
        None => Settings::default().environment,
    };
    let staff = setting("staff_name").unwrap_or_else(|| Settings::default().staff_name);
    let last_journal_id: i64 = sqlx::query_scalar(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'capture_journal'), 0), \
                    COALESCE((SELECT MAX(id) FROM capture_journal), 0))",
    )
    .fetch_one(pool)
    .await?;
    // ordinary tables only: a virtual table (the search index, migration 0010) and its shadow
    // tables are not rows to copy; the new database's triggers rebuild the index from `invoices`
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    let mut tables = Vec::new();
    let mut needed = BTreeSet::from([cache_env.as_str()]);
    for name in names.into_iter().filter(|n| !NOT_COPIED.contains(&n.as_str())) {
        let with_env = columns(pool, "main", &name).await?.iter().any(|c| c == "environment");
        if with_env {
            let envs: Vec<String> =
                sqlx::query_scalar(&format!("SELECT DISTINCT environment FROM \"{name}\"")).fetch_all(pool).await?;
            needed.extend(envs.iter().map(|e| Environment::parse(e).unwrap_or(cache_env).as_str()));
        }
        tables.push((name, with_env));
    }
    Ok(Legacy { path, desk_id, cache_env, staff, settings, last_journal_id, tables, needed })
}

async fn columns<'e, E>(db: E, schema: &str, table: &str) -> Result<Vec<String>, DeskError>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    Ok(sqlx::query_scalar("SELECT name FROM pragma_table_info(?, ?) ORDER BY cid")
        .bind(table)
        .bind(schema)
        .fetch_all(db)
        .await?)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> DeskError + '_ {
    move |e| DeskError::storage(format!("{}: {e}", path.display()))
}

fn remove_if_there(path: &Path) -> Result<(), DeskError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<(), DeskError> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Builds `env`'s database from the old file and renames it into place.
async fn build(data_dir: &Path, env: Environment, legacy: &Legacy) -> Result<(), DeskError> {
    let target = environments::database_path(data_dir, env);
    let dir = environments::environment_dir(data_dir, env);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let building = dir.join(BUILDING);
    remove_if_there(&building)?;
    remove_if_there(&dir.join(format!("{BUILDING}-journal")))?;
    let pool = store::open_file(&building, Journal::Rollback).await?;
    let copied = async {
        store::MIGRATOR.run(&pool).await?;
        let mut conn = pool.acquire().await?;
        copy(&mut conn, env, legacy).await
    }
    .await;
    pool.close().await;
    copied?;
    std::fs::File::open(&building).and_then(|f| f.sync_all()).map_err(io(&building))?;
    std::fs::rename(&building, &target).map_err(io(&target))?;
    sync_dir(&dir)
}

/// An environment database already in place: one an interrupted run finished, or refused.
async fn check_finished(target: &Path, env: Environment, legacy: &Legacy) -> Result<(), DeskError> {
    let pool = store::open_existing(target, Journal::Wal).await?;
    let meta: Result<Vec<(String, String)>, sqlx::Error> =
        sqlx::query_as("SELECT key, value FROM desk_meta WHERE key IN ('desk_id', 'migrated_from')")
            .fetch_all(&pool)
            .await;
    pool.close().await;
    let meta = meta?;
    let has = |k: &str, v: Option<&str>| meta.iter().any(|(key, value)| key == k && v.is_none_or(|v| v == value));
    if has("desk_id", Some(&legacy.desk_id)) && has("migrated_from", None) {
        tracing::info!(environment = env.as_str(), "kept the environment database an interrupted split finished");
        return Ok(());
    }
    Err(DeskError::new(
        crate::ErrorCode::Storage,
        format!(
            "The data folder holds both the single database of an earlier version (desk.sqlite3) and a {} database of \
             its own. Move one of them out of the folder, then start again.",
            env.as_str()
        ),
    )
    .with_detail(format!("{} and {}", legacy.path.display(), target.display())))
}

/// Copies `env`'s rows from the old file, attached, in one transaction.
async fn copy(conn: &mut SqliteConnection, env: Environment, legacy: &Legacy) -> Result<(), DeskError> {
    let path = legacy.path.to_str().ok_or_else(|| DeskError::storage("the data folder's path is not UTF-8"))?;
    sqlx::query("ATTACH DATABASE ? AS legacy").bind(path).execute(&mut *conn).await?;
    // rows arrive table by table; their references hold in the old file
    sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
    let is_cache = env == legacy.cache_env;
    let mut tx = conn.begin().await?;
    let mut counts = serde_json::Map::new();
    for (table, with_env) in &legacy.tables {
        let theirs = columns(&mut *tx, "legacy", table).await?;
        let cols: Vec<String> = columns(&mut *tx, "main", table)
            .await?
            .into_iter()
            .filter(|c| theirs.contains(c))
            .map(|c| format!("\"{c}\""))
            .collect();
        let cols = cols.join(", ");
        let copied = if *with_env {
            let unnamed = if is_cache { " OR environment NOT IN ('demo', 'sandbox', 'live')" } else { "" };
            sqlx::query(&format!(
                "INSERT INTO main.\"{table}\" ({cols}) SELECT {cols} FROM legacy.\"{table}\" WHERE environment = ?{unnamed} ORDER BY rowid"
            ))
            .bind(env.as_str())
            .execute(&mut *tx)
            .await?
        } else if is_cache {
            sqlx::query(&format!("DELETE FROM main.\"{table}\"")).execute(&mut *tx).await?;
            sqlx::query(&format!(
                "INSERT INTO main.\"{table}\" ({cols}) SELECT {cols} FROM legacy.\"{table}\" ORDER BY rowid"
            ))
            .execute(&mut *tx)
            .await?
        } else {
            continue;
        };
        counts.insert(table.clone(), copied.rows_affected().into());
    }
    sqlx::query("DELETE FROM main.desk_meta").execute(&mut *tx).await?;
    sqlx::query(
        "INSERT INTO main.desk_meta (key, value) SELECT key, value FROM legacy.desk_meta WHERE key <> 'migrated_from'",
    )
    .execute(&mut *tx)
    .await?;
    let from =
        serde_json::json!({ "file": legacy.path.display().to_string(), "at": crate::time::text(chrono::Utc::now()) });
    sqlx::query("INSERT INTO main.desk_meta (key, value) VALUES ('migrated_from', ?)")
        .bind(from.to_string())
        .execute(&mut *tx)
        .await?;
    // journal ids continue after the old file's: no request id of the old desk is made again
    let moved = sqlx::query("UPDATE main.sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'capture_journal'")
        .bind(legacy.last_journal_id)
        .execute(&mut *tx)
        .await?;
    if moved.rows_affected() == 0 {
        sqlx::query("INSERT INTO main.sqlite_sequence (name, seq) VALUES ('capture_journal', ?)")
            .bind(legacy.last_journal_id)
            .execute(&mut *tx)
            .await?;
    }
    let detail = serde_json::json!({ "from": from, "rows": counts, "cache": is_cache });
    audit::record_in(&mut tx, &legacy.staff, env, audit::AuditAction::DataMigrated, None, detail).await?;
    tx.commit().await?;
    sqlx::query("DETACH DATABASE legacy").execute(&mut *conn).await?;
    Ok(())
}

/// `<data>/demo-world.json` belongs to demo.
fn move_demo_world(data_dir: &Path) -> Result<(), DeskError> {
    let old = data_dir.join("demo-world.json");
    let new = environments::environment_dir(data_dir, Environment::Demo).join("demo-world.json");
    if !old.try_exists().map_err(io(&old))? {
        return Ok(());
    }
    if new.try_exists().map_err(io(&new))? {
        tracing::warn!(old = %old.display(), "a demo world is in place already; the old one is left where it is");
        return Ok(());
    }
    let dir = environments::environment_dir(data_dir, Environment::Demo);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    std::fs::rename(&old, &new).map_err(io(&new))
}

async fn write_machine_settings(data_dir: &Path, legacy: &Legacy) -> Result<(), DeskError> {
    let pool = environments::open_settings(data_dir).await?;
    let written = async {
        let mut tx = pool.begin().await?;
        for (key, value) in &legacy.settings {
            let key = match key.as_str() {
                "gateway_url" | "paypal_url" | "paypal_client_id" => {
                    crate::settings::connection_key(legacy.cache_env, key)
                }
                _ => key.clone(),
            };
            sqlx::query("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)")
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok::<(), DeskError>(())
    }
    .await;
    pool.close().await;
    written
}

/// Renames the old file (and what SQLite keeps beside it) so it is never read again.
async fn retire(path: &Path, pool: SqlitePool) -> Result<(), DeskError> {
    // everything into the main file, and no -wal left beside it, if no one else has it open
    let settled = async {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&pool).await?;
        sqlx::query("PRAGMA journal_mode = DELETE").execute(&pool).await
    }
    .await;
    pool.close().await;
    if let Err(e) = settled {
        tracing::warn!(error = %e, "the old database could not be checkpointed; its -wal is kept beside it");
    }
    let mut retired = path.with_extension(format!("sqlite3.{RETIRED_SUFFIX}"));
    let mut n = 2;
    while retired.try_exists().map_err(io(&retired))? {
        retired = path.with_extension(format!("sqlite3.{RETIRED_SUFFIX}-{n}"));
        n += 1;
    }
    std::fs::rename(path, &retired).map_err(io(path))?;
    for side in ["-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{side}", path.display()));
        if from.try_exists().map_err(io(&from))? {
            std::fs::rename(&from, format!("{}{side}", retired.display())).map_err(io(&from))?;
        }
    }
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    tracing::info!(retired = %retired.display(), "the old database is split and kept aside");
    Ok(())
}
