//! Whether the search indexes are live (migration 0012): `invoices_fts` (migration 0010), and
//! the names and customers with theirs (`search_names`, `search_customers`, migration 0015),
//! and their rebuild. A full sync suspends their triggers and rebuilds them once at its end,
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

/// The names and customers of the cached invoices, anew (and only theirs: a name no invoice has
/// any more goes). Their indexes are emptied first; their insert triggers index each row.
const REBUILD_CUSTOMERS: &[&str] = &[
    "INSERT INTO search_names_fts (search_names_fts) VALUES ('delete-all')",
    "INSERT INTO search_customers_fts (search_customers_fts) VALUES ('delete-all')",
    "DELETE FROM search_names",
    "DELETE FROM search_customers",
    "INSERT INTO search_names (customer_sort) SELECT DISTINCT customer_sort FROM invoices INDEXED BY invoices_customer_search",
    "INSERT INTO search_customers (customer_sort, customer_id, id_text, search_text) \
     SELECT customer_sort, customer_id, \
            substr(search_text, length(customer_sort) + 2, length(search_text) - length(customer_sort) - length(invoice_no) - 2), \
            substr(search_text, 1, length(search_text) - length(invoice_no) - 1) \
     FROM invoices GROUP BY customer_sort, customer_id",
];

/// Rebuilds the indexes from `invoices` and makes them live again, in one transaction.
pub async fn rebuild(pool: &SqlitePool) -> Result<(), DeskError> {
    let started = std::time::Instant::now();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("INSERT INTO invoices_fts (invoices_fts) VALUES ('rebuild')").execute(&mut *tx).await?;
    for sql in REBUILD_CUSTOMERS {
        sqlx::query(sql).execute(&mut *tx).await?;
    }
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
