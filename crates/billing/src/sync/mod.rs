//! Pulling invoices from the gateway into the cache.
//!
//! * **Full** (first time, daily, or on request): every outstanding invoice, by invoice number,
//!   pages fetched a few at a time and each written in its own transaction. Then a catch-up
//!   pass (`status=all`, `updatedSince` = start − margin) picks up what changed meanwhile.
//!   Then every cached invoice still outstanding that neither pass listed is asked for by
//!   number, and takes the gateway's answer: paid or cancelled, still outstanding (an offset
//!   page shifted under us), or `closed` when the gateway no longer knows it. Absence from a
//!   paged list proves nothing on its own — an invoice leaving the outstanding set mid-pass
//!   shifts every later page, concurrent page fetches see it at different moments, and the
//!   catch-up pass trusts the gateway's clock — so nothing is closed on absence alone.
//! * **Incremental**: `status=all&updatedSince=cursor`, by invoice number (a fixed order, so an
//!   update during the pass can duplicate a row but never skip one).
//!
//! Paging ([`paging`]) follows GATEWAY-API.md: offset pages of `limit` rows (at most 100), which
//! the gateway may cap lower and may not count (`totalPages` left out): a pass ends on an empty
//! page, or one shorter than the longest before it, never on a count alone.
//!
//! An invoice the gateway sends that does not validate is set aside with why ([`set_aside`]); the
//! rest of its page is written and the sync goes on.
//!
//! A failure stops the sync, keeps every page already written (each is consistent), records
//! what failed in `sync_state`, and leaves the cursor where it was.
//!
//! Every page (and every invoice asked for by number) carries the instant its request was sent
//! ([`instant_text`]), taken before the request: a row the desk marked paid at or after it (a
//! capture finalized while the page was on its way, or waiting for the writer) keeps the mark,
//! and one marked before it takes the gateway's view (`invoices::write`'s module doc).

mod paging;
#[cfg(test)]
mod paid_mark_tests;
pub mod set_aside;
mod writer;

pub use set_aside::SetAside;

use crate::{invoices, time, DeskError};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures::StreamExt;
use gateway::{GatewayClient, InvoiceStatusFilter};
use paging::Pass;
use serde::Serialize;
use sqlx::SqlitePool;
use ts_rs::TS;

/// How far back the next incremental sync looks beyond the last start (clock skew, slow writes).
const MARGIN_MINUTES: i64 = 10;
/// A full sync at least this often.
const FULL_EVERY_HOURS: i64 = 24;
/// Pages (or invoices asked for by number) in flight at once.
const CONCURRENT_PAGES: usize = 4;

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
    /// Cached outstanding invoices the lists left out that the gateway, asked for each by number,
    /// says are paid or cancelled, or no longer knows (those are marked closed).
    #[ts(type = "number")]
    pub closed: u64,
    /// How many invoices are set aside after this sync: the gateway sent them in a form the
    /// desk cannot read (`sync::set_aside::list` says which, and why).
    #[ts(type = "number")]
    pub set_aside: u64,
    pub started_at: String,
    pub finished_at: String,
}

/// An instant as the cache compares a view's request (`invoices.synced_at`) with the desk's paid
/// mark (`invoices.paid_marked_at`): RFC 3339 UTC with milliseconds, one fixed shape, so text
/// order is time order. Both are taken on this machine's clock.
pub(crate) fn instant_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A gateway invoice as read, with the instant its request was sent ([`instant_text`], taken
/// before the request and any retry of it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Read<'a> {
    pub invoice: &'a gateway::Invoice,
    pub asked_at: &'a str,
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
    // a full sync rewrites every invoice: the search index is rebuilt once at its end, whatever
    // the end, rather than kept page by page (invoices::search_index)
    let result = match mode {
        SyncMode::Full => {
            invoices::search_index::suspend(pool).await?;
            let done = full(pool, gw, state.run, started, progress).await;
            if let Err(e) = invoices::search_index::rebuild(pool).await {
                // searches scan meanwhile (the same rows match); the next sync rebuilds it
                tracing::warn!(code = ?e.code, detail = ?e.detail, "the search index could not be rebuilt: {}", e.message);
            }
            done
        }
        SyncMode::Incremental => {
            invoices::search_index::repair(pool).await?;
            let since = state.cursor.as_deref().and_then(time::parse).unwrap_or(started);
            let p = Pass { pool, gw, run: state.run, mode, progress };
            p.run(InvoiceStatusFilter::All, Some(since)).await.map(|(p, n)| (p, n, 0))
        }
    };
    let result = match result {
        // a full sync that completed met every invoice the gateway still lists
        Ok(done) if mode == SyncMode::Full => set_aside::forget_unmet(pool, state.run).await.map(|_| done),
        other => other,
    };
    match result {
        Ok((pages, count, closed)) => {
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
                .bind(mode == SyncMode::Full)
                .bind(time::text(started));
            q.execute(pool).await?;
            let set_aside = set_aside::count(pool).await?;
            tracing::info!(pages, count, closed, set_aside, "sync done");
            Ok(SyncReport {
                mode,
                pages,
                invoices: count,
                closed,
                set_aside,
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
) -> Result<(u64, u64, u64), DeskError> {
    let p = Pass { pool, gw, run, mode: SyncMode::Full, progress };
    let (pages, count) = p.run(InvoiceStatusFilter::Outstanding, None).await?;
    let since = started - Duration::minutes(MARGIN_MINUTES);
    let (more_pages, more) = p.run(InvoiceStatusFilter::All, Some(since)).await?;
    let settled = settle_unlisted(pool, gw, run).await?;
    Ok((pages + more_pages, count + more, settled))
}

/// Asks the gateway, by number, for each cached invoice still outstanding that this full sync's
/// passes did not list (nor set aside), and writes its answer (with this run, so it counts as
/// seen). Returns how many left the outstanding set: settled at the gateway, or closed because
/// it answers 404. An answer that does not validate sets the invoice aside (its cached copy
/// stays). Any other failure stops the sync; what was already answered stays written.
async fn settle_unlisted(pool: &SqlitePool, gw: &GatewayClient, run: i64) -> Result<u64, DeskError> {
    let unlisted = invoices::outstanding_not_seen(pool, run).await?;
    if !unlisted.is_empty() {
        tracing::info!(count = unlisted.len(), "outstanding invoices the lists left out; asking for each");
    }
    let mut answers = futures::stream::iter(unlisted)
        .map(|no| async move {
            let asked_at = instant_text(Utc::now());
            (no, asked_at, gw.invoice_or_unreadable(no).await)
        })
        .buffered(CONCURRENT_PAGES);
    let mut settled = 0;
    while let Some((no, asked_at, answer)) = answers.next().await {
        match answer {
            Ok(Ok(inv)) => {
                if inv.status != gateway::InvoiceStatus::Outstanding {
                    settled += 1;
                }
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                invoices::upsert_in(&mut tx, &[Read { invoice: &inv, asked_at: &asked_at }], run).await?;
                tx.commit().await?;
            }
            Ok(Err(unreadable)) => set_aside::record(pool, run, &[unreadable], Utc::now()).await?,
            Err(gateway::GatewayError::InvoiceNotFound) => {
                invoices::close(pool, no).await?;
                settled += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(settled)
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
