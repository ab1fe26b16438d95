//! Whether the search index `invoices_fts` (migration 0010) is live, and its rebuild
//! (migration 0012). A full sync suspends the index's triggers and rebuilds it once at its end,
//! which costs a fraction of indexing every page as it is written. While suspended, the list
//! scans (`filter.rs`: the same rows match either way).

use crate::DeskError;
use sqlx::SqlitePool;

/// Whether the triggers keep the index (else a search scans).
pub async fn live(pool: &SqlitePool) -> Result<bool, DeskError> {
    let live: Option<i64> =
        sqlx::query_scalar("SELECT live FROM search_index WHERE id = 1").fetch_optional(pool).await?;
    Ok(live == Some(1))
}

/// Stops indexing writes (before a full sync rewrites every invoice).
pub async fn suspend(pool: &SqlitePool) -> Result<(), DeskError> {
    sqlx::query("UPDATE search_index SET live = 0 WHERE id = 1").execute(pool).await?;
    Ok(())
}

/// Rebuilds the index from `invoices` and makes it live again, in one transaction.
pub async fn rebuild(pool: &SqlitePool) -> Result<(), DeskError> {
    let started = std::time::Instant::now();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("INSERT INTO invoices_fts (invoices_fts) VALUES ('rebuild')").execute(&mut *tx).await?;
    sqlx::query("UPDATE search_index SET live = 1 WHERE id = 1").execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX), "search index rebuilt");
    Ok(())
}

/// Rebuilds the index if a sync left it suspended (a process stopped mid-sync).
pub async fn repair(pool: &SqlitePool) -> Result<(), DeskError> {
    if !live(pool).await? {
        rebuild(pool).await?;
    }
    Ok(())
}
