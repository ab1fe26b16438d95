//! Pulling invoices from the gateway into the cache.
//!
//! * **Full** (first time, daily, or on request): every outstanding invoice, by invoice number,
//!   pages fetched a few at a time and each written in its own transaction. Then a catch-up
//!   pass (`status=all`, `updatedSince` = start − margin) picks up what changed meanwhile.
//!   Only when both passes completed, and nothing left the outstanding set during them (which
//!   could have shifted the gateway's offset pages), are cached invoices the gateway no longer
//!   lists marked `closed`; otherwise the next sync is a full one again. "Left" is judged
//!   against the cache, not the clock (see [`left_since_read`]), so a gateway whose clock runs
//!   ahead of the desk's does not make every full sync look disturbed.
//! * **Incremental**: `status=all&updatedSince=cursor`, by invoice number (a fixed order, so an
//!   update during the pass can duplicate a row but never skip one).
//!
//! A failure stops the sync, keeps every page already written (each is consistent), records
//! what failed in `sync_state`, and leaves the cursor where it was.

use crate::{invoices, time, DeskError};
use chrono::{DateTime, Duration, Utc};
use futures::{StreamExt, TryStreamExt};
use gateway::{GatewayClient, InvoiceListQuery, InvoiceStatusFilter, SortOrder};
use serde::Serialize;
use sqlx::SqlitePool;
use ts_rs::TS;

/// How far back the next incremental sync looks beyond the last start (clock skew, slow writes).
const MARGIN_MINUTES: i64 = 10;
/// A full sync at least this often.
const FULL_EVERY_HOURS: i64 = 24;
/// Pages in flight at once.
const CONCURRENT_PAGES: usize = 4;
const PAGE_SIZE: u64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum SyncMode {
    Full,
    Incremental,
}

/// Progress, reported after every page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncProgress {
    pub mode: SyncMode,
    #[ts(type = "number")]
    pub pages_done: u64,
    #[ts(type = "number | null")]
    pub pages_total: Option<u64>,
    #[ts(type = "number")]
    pub invoices: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncReport {
    pub mode: SyncMode,
    #[ts(type = "number")]
    pub pages: u64,
    #[ts(type = "number")]
    pub invoices: u64,
    /// Cached invoices marked closed because the gateway no longer lists them.
    #[ts(type = "number")]
    pub closed: u64,
    pub started_at: String,
    pub finished_at: String,
}

struct SyncState {
    run: i64,
    cursor: Option<String>,
    last_full_at: Option<String>,
}

async fn begin(pool: &SqlitePool, started: DateTime<Utc>) -> Result<SyncState, DeskError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE sync_state SET run = run + 1, last_attempt_at = ? WHERE id = 1")
        .bind(time::text(started))
        .execute(&mut *tx)
        .await?;
    let (run, cursor, last_full_at): (i64, Option<String>, Option<String>) =
        sqlx::query_as("SELECT run, cursor, last_full_at FROM sync_state WHERE id = 1").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(SyncState { run, cursor, last_full_at })
}

async fn record_failure(pool: &SqlitePool, e: &DeskError) {
    let r = sqlx::query("UPDATE sync_state SET last_error_code = ?, last_error = ? WHERE id = 1")
        .bind(serde_json::to_value(e.code).ok().and_then(|v| v.as_str().map(str::to_owned)))
        .bind(format!("{}{}", e.message, e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()))
        .execute(pool)
        .await;
    if let Err(err) = r {
        tracing::error!(error = %err, "could not record the sync failure");
    }
}

/// Runs one sync. `force_full` asks for a full sync whatever the schedule says.
pub async fn run(
    pool: &SqlitePool,
    gw: &GatewayClient,
    force_full: bool,
    progress: &(dyn Fn(SyncProgress) + Send + Sync),
) -> Result<SyncReport, DeskError> {
    let started = Utc::now();
    let state = begin(pool, started).await?;
    let due_full = state
        .last_full_at
        .as_deref()
        .and_then(time::parse)
        .is_none_or(|t| started - t > Duration::hours(FULL_EVERY_HOURS));
    let mode = if force_full || due_full || state.cursor.is_none() { SyncMode::Full } else { SyncMode::Incremental };
    let span = tracing::info_span!("sync", run = state.run, ?mode);
    let _enter = span.enter();
    let result = match mode {
        SyncMode::Full => full(pool, gw, state.run, started, progress).await,
        SyncMode::Incremental => {
            let since = state.cursor.as_deref().and_then(time::parse).unwrap_or(started);
            pass(pool, gw, state.run, InvoiceStatusFilter::All, Some(since), SyncMode::Incremental, progress)
                .await
                .map(|(p, n, _)| (p, n, 0, false))
        }
    };
    match result {
        Ok((pages, count, closed, complete_full)) => {
            let finished = Utc::now();
            let cursor = time::text(started - Duration::minutes(MARGIN_MINUTES));
            let mut q = sqlx::query(
                "UPDATE sync_state SET cursor = ?, last_success_at = ?, last_mode = ?, last_count = ?, last_error_code = NULL, last_error = NULL, \
                 last_full_at = CASE WHEN ? THEN ? ELSE last_full_at END WHERE id = 1",
            );
            q = q
                .bind(cursor)
                .bind(time::text(finished))
                .bind(if mode == SyncMode::Full { "full" } else { "incremental" })
                .bind(i64::try_from(count).unwrap_or(i64::MAX))
                // a disturbed full sync leaves `last_full_at` empty: the next sync is full again
                .bind(complete_full)
                .bind(time::text(started));
            q.execute(pool).await?;
            tracing::info!(pages, count, closed, "sync done");
            Ok(SyncReport {
                mode,
                pages,
                invoices: count,
                closed,
                started_at: time::text(started),
                finished_at: time::text(finished),
            })
        }
        Err(e) => {
            tracing::warn!(code = ?e.code, message = %e.message, detail = ?e.detail, "sync failed");
            record_failure(pool, &e).await;
            Err(e)
        }
    }
}

async fn full(
    pool: &SqlitePool,
    gw: &GatewayClient,
    run: i64,
    started: DateTime<Utc>,
    progress: &(dyn Fn(SyncProgress) + Send + Sync),
) -> Result<(u64, u64, u64, bool), DeskError> {
    let (pages, count, _) =
        pass(pool, gw, run, InvoiceStatusFilter::Outstanding, None, SyncMode::Full, progress).await?;
    let since = started - Duration::minutes(MARGIN_MINUTES);
    let (more_pages, more, left) =
        pass(pool, gw, run, InvoiceStatusFilter::All, Some(since), SyncMode::Full, progress).await?;
    let closed = if left == 0 {
        Some(invoices::close_unseen(pool, run).await?)
    } else {
        // Invoices left the outstanding set while we paged through it: an offset page may
        // have skipped one, so absence proves nothing this time. The next full sync closes.
        tracing::info!(left, "invoices changed during the full sync; not closing unseen ones this time");
        sqlx::query("UPDATE sync_state SET last_full_at = NULL WHERE id = 1").execute(pool).await?;
        None
    };
    Ok((pages + more_pages, count + more, closed.unwrap_or(0), closed.is_some()))
}

/// Pages through one list query, writing each page. Returns (pages, invoices, how many of them
/// left the outstanding set since the cache last had them outstanding).
async fn pass(
    pool: &SqlitePool,
    gw: &GatewayClient,
    run: i64,
    status: InvoiceStatusFilter,
    since: Option<DateTime<Utc>>,
    mode: SyncMode,
    progress: &(dyn Fn(SyncProgress) + Send + Sync),
) -> Result<(u64, u64, u64), DeskError> {
    let query = |page: u64| InvoiceListQuery {
        page,
        limit: PAGE_SIZE,
        status,
        updated_since: since,
        sort_by: "invoiceNo",
        sort_order: SortOrder::Asc,
    };
    let first = gw.list_invoices(&query(1)).await?;
    let total_pages = first.total_pages.unwrap_or(1).max(1);
    let mut pages = 1u64;
    let mut count = first.invoices.len() as u64;
    let mut left = left_since_read(pool, &first.invoices).await?;
    invoices::upsert_page(pool, &first.invoices, run).await?;
    progress(SyncProgress { mode, pages_done: pages, pages_total: Some(total_pages), invoices: count });
    let mut rest = futures::stream::iter(2..=total_pages)
        .map(|p| {
            let q = query(p);
            async move { gw.list_invoices(&q).await }
        })
        .buffered(CONCURRENT_PAGES);
    while let Some(page) = rest.try_next().await? {
        left += left_since_read(pool, &page.invoices).await?;
        invoices::upsert_page(pool, &page.invoices, run).await?;
        pages += 1;
        count += page.invoices.len() as u64;
        progress(SyncProgress { mode, pages_done: pages, pages_total: Some(total_pages), invoices: count });
    }
    // Pages past the announced total (the list grew meanwhile): keep going until a short page.
    let mut page_no = total_pages;
    let mut last_len = PAGE_SIZE;
    while last_len == PAGE_SIZE && pages >= total_pages && total_pages > 0 {
        page_no += 1;
        let page = gw.list_invoices(&query(page_no)).await?;
        last_len = page.invoices.len() as u64;
        if page.invoices.is_empty() {
            break;
        }
        left += left_since_read(pool, &page.invoices).await?;
        invoices::upsert_page(pool, &page.invoices, run).await?;
        pages += 1;
        count += last_len;
    }
    Ok((pages, count, left))
}

/// How many of `page` (before it is written) the gateway lists as no longer outstanding while the
/// cache still has them outstanding, seen so earlier in this sync or by an earlier one. Only such
/// an invoice can have shifted an offset page already read: a removal moves only the rows after
/// its own position, so it skips a row only if it sat on a page read before it left, and then we
/// saw it. One the cache already knew as settled, or never saw outstanding, cannot have, whatever
/// its `updatedAt` says by the gateway's clock.
async fn left_since_read(pool: &SqlitePool, page: &[gateway::Invoice]) -> Result<u64, DeskError> {
    let settled: Vec<i64> = page
        .iter()
        .filter(|i| i.status != gateway::InvoiceStatus::Outstanding)
        .filter_map(|i| i64::try_from(i.invoice_no).ok())
        .collect();
    if settled.is_empty() {
        return Ok(0);
    }
    let mut q =
        sqlx::QueryBuilder::new("SELECT COUNT(*) FROM invoices WHERE status = 'outstanding' AND invoice_no IN (");
    let mut list = q.separated(", ");
    for no in settled {
        list.push_bind(no);
    }
    list.push_unseparated(")");
    let n: i64 = q.build_query_scalar().fetch_one(pool).await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What the last syncs left behind, for the status line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SyncStatus {
    pub last_success_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
}

pub async fn status(pool: &SqlitePool) -> Result<SyncStatus, DeskError> {
    let (last_success_at, last_attempt_at, last_error, last_error_code): (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT last_success_at, last_attempt_at, last_error, last_error_code FROM sync_state WHERE id = 1",
    )
    .fetch_one(pool)
    .await?;
    Ok(SyncStatus { last_success_at, last_attempt_at, last_error, last_error_code })
}
