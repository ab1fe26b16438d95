//! The append-only audit log (`audit_log`; triggers refuse UPDATE and DELETE).

use crate::{time, DeskError, Environment};
use chrono::Utc;
use serde::Serialize;
use sqlx::SqlitePool;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AuditEntry {
    #[ts(type = "number")]
    pub id: i64,
    pub at: String,
    pub staff: String,
    pub environment: String,
    pub action: String,
    #[ts(type = "number | null")]
    pub invoice_no: Option<i64>,
    /// JSON text: amounts, ids, before/after.
    pub detail: String,
}

/// Appends one entry.
pub async fn record(
    pool: &SqlitePool,
    staff: &str,
    env: Environment,
    action: &str,
    invoice_no: Option<i64>,
    detail: serde_json::Value,
) -> Result<(), DeskError> {
    let mut conn = pool.acquire().await?;
    record_in(&mut conn, staff, env, action, invoice_no, detail).await
}

/// Appends one entry on `conn`, e.g. inside the transaction whose change it records.
pub async fn record_in(
    conn: &mut sqlx::SqliteConnection,
    staff: &str,
    env: Environment,
    action: &str,
    invoice_no: Option<i64>,
    detail: serde_json::Value,
) -> Result<(), DeskError> {
    sqlx::query("INSERT INTO audit_log (at, staff, environment, action, invoice_no, detail) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(time::text(Utc::now()))
        .bind(staff)
        .bind(env.as_str())
        .bind(action)
        .bind(invoice_no)
        .bind(detail.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The newest entries first.
pub async fn recent(pool: &SqlitePool, limit: u32) -> Result<Vec<AuditEntry>, DeskError> {
    Ok(sqlx::query_as(
        "SELECT id, at, staff, environment, action, invoice_no, detail FROM audit_log ORDER BY id DESC LIMIT ?",
    )
    .bind(i64::from(limit.min(10_000)))
    .fetch_all(pool)
    .await?)
}
