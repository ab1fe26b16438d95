//! Writing a pass's pages to the cache, several pages to a transaction, while the next pages are
//! fetched.
//!
//! A pass ([`super::paging`]) fetches and reads pages and hands them over, in order, through a
//! bounded channel; the [`Writer`] writes them on one connection of its own, a batch of pages
//! in one transaction. Each commit of a page rewrites every index page its rows touch (the
//! invoices table has seven indexes, and a page's rows land all over each of them), so a
//! transaction per page wrote most of the database again for every page; a batch shares that
//! cost. One connection keeps SQLite's page cache warm: another connection of the pool would
//! find the database changed and read it again.
//!
//! A batch is written when it holds [`BATCH_ROWS`] entries, when its first page has waited
//! [`BATCH_WAIT`] (a slow gateway), and when the pass ends, however it ends: a pass stopped by a
//! failed fetch still writes every page read before it. Each batch is consistent (pages in the
//! order read, each page's set-aside invoices recorded before its invoices are written, as a page
//! at a time did), so a sync killed between two batches, or during one (its transaction never
//! commits), leaves whole pages in the cache, which the next sync (full again: the cursor and
//! `last_full_at` move only when a sync completes) completes. The write lock is held only while a
//! batch is written (0.1 to 0.5 s for 2,000 rows on a busy two-core machine), never while a page
//! is awaited, so a capture's journal write waits that long at most, never on the gateway.

use super::{set_aside, SyncMode, SyncProgress};
use crate::{invoices, DeskError};
use chrono::Utc;
use gateway::InvoicePage;
use sqlx::{Connection, SqliteConnection};
use tokio::sync::mpsc::Receiver;
use tokio::time::Instant;
use tracing::Instrument;

/// Entries (readable or set aside) after which a batch is written.
const BATCH_ROWS: usize = 2_000;
/// How long the first page of a batch waits for the rest at most.
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
/// Pages read ahead of the writer: a batch's worth, so the fetching goes on while one is written.
pub(super) const AHEAD_PAGES: usize = 24;

/// A page as read, with the page count known when it was read and the instant its request was
/// sent ([`super::instant_text`]): a row the desk marked paid since keeps the mark.
pub(super) struct Fetched {
    pub page: InvoicePage,
    pub pages_total: Option<u64>,
    pub asked_at: String,
}

/// Writes a pass's pages as they come (see the module doc).
pub(super) struct Writer<'a> {
    conn: &'a mut SqliteConnection,
    run: i64,
    mode: SyncMode,
    progress: &'a (dyn Fn(SyncProgress) + Send + Sync),
    pending: Vec<Fetched>,
    /// Entries of the pending pages.
    rows: usize,
    /// When the pending batch is written at the latest.
    due: Instant,
    /// Pages and invoices written so far (set-aside ones are not counted as invoices).
    pages: u64,
    invoices: u64,
}

impl<'a> Writer<'a> {
    pub fn new(
        conn: &'a mut SqliteConnection,
        run: i64,
        mode: SyncMode,
        progress: &'a (dyn Fn(SyncProgress) + Send + Sync),
    ) -> Self {
        Writer { conn, run, mode, progress, pending: Vec::new(), rows: 0, due: Instant::now(), pages: 0, invoices: 0 }
    }

    /// Writes every page `pages` brings until it closes. Returns (pages, invoices written). On a
    /// failed write it stops (dropping `pages`, which stops the fetching).
    pub async fn drain(mut self, mut pages: Receiver<Fetched>) -> Result<(u64, u64), DeskError> {
        loop {
            let next = if self.pending.is_empty() {
                pages.recv().await
            } else {
                match tokio::time::timeout_at(self.due, pages.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.flush().await?;
                        continue;
                    }
                }
            };
            let Some(fetched) = next else { break };
            if self.pending.is_empty() {
                self.due = Instant::now() + BATCH_WAIT;
            }
            self.rows += fetched.page.len();
            self.pending.push(fetched);
            if self.rows >= BATCH_ROWS {
                self.flush().await?;
            }
        }
        self.flush().await?;
        Ok((self.pages, self.invoices))
    }

    /// Writes the pending pages in one transaction, then reports each.
    async fn flush(&mut self) -> Result<(), DeskError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let span = tracing::debug_span!("sync_write", pages = self.pending.len(), rows = self.rows);
        write(self.conn, self.run, &self.pending).instrument(span).await?;
        self.rows = 0;
        for f in std::mem::take(&mut self.pending) {
            self.pages += 1;
            self.invoices += f.page.invoices.len() as u64;
            (self.progress)(SyncProgress {
                mode: self.mode,
                pages_done: self.pages,
                pages_total: f.pages_total.filter(|t| *t >= self.pages),
                invoices: self.invoices,
            });
        }
        Ok(())
    }
}

/// The pages, in one transaction, in the order a page at a time writes them: each page's
/// set-aside invoices recorded, then its invoices written. Consecutive pages' invoices go in the
/// same statements (fewer, larger statements cost less), split where a page sets some aside.
async fn write(conn: &mut SqliteConnection, run: i64, pages: &[Fetched]) -> Result<(), DeskError> {
    let now = Utc::now();
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut run_of: Vec<super::Read<'_>> = Vec::new();
    for f in pages {
        if !f.page.unreadable.is_empty() {
            invoices::upsert_in(&mut tx, &run_of, run).await?;
            run_of.clear();
            set_aside::record_in(&mut tx, run, &f.page.unreadable, now).await?;
        }
        run_of.extend(f.page.invoices.iter().map(|invoice| super::Read { invoice, asked_at: &f.asked_at }));
    }
    invoices::upsert_in(&mut tx, &run_of, run).await?;
    tx.commit().await?;
    Ok(())
}
