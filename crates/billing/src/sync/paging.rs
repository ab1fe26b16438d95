//! One pass through a list query, page by page; the pages are written a batch at a time
//! ([`super::writer`]) while the next ones are fetched.
//!
//! GATEWAY-API.md's lists are offset pages: `page` and `limit` (at most 100) in the query,
//! `data` and `pagination` in the answer. The gateway may cap `limit` below what we ask, and
//! `pagination` may leave out `totalPages` (or `total`, or be absent). So a count only lets
//! pages be fetched a few at a time; the pass ends on an empty page, or on one shorter than the
//! longest page before it (the gateway's own page size, whatever it capped `limit` to). Pages are
//! asked for by invoice number, ascending, so a page past the count that brings no number above
//! those already read means the gateway is not paging (it answers every `page` alike): that
//! ends the pass too, rather than asking for ever.

use super::writer::{Fetched, Writer, AHEAD_PAGES};
use super::{SyncMode, SyncProgress, CONCURRENT_PAGES};
use crate::DeskError;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use gateway::{GatewayClient, InvoiceListQuery, InvoicePage, InvoiceStatusFilter, SortOrder};
use sqlx::SqlitePool;
use std::future::Future;
use tokio::sync::mpsc::Sender;

/// The `limit` we ask for (GATEWAY-API.md's maximum).
const PAGE_SIZE: u64 = 100;

/// What a pass needs: where to write, whom to ask, and whom to tell.
pub(super) struct Pass<'a> {
    pub pool: &'a SqlitePool,
    pub gw: &'a GatewayClient,
    pub run: i64,
    pub mode: SyncMode,
    pub progress: &'a (dyn Fn(SyncProgress) + Send + Sync),
}

/// What the pages read so far say about the list, and where they go.
struct Reader {
    to_writer: Sender<Fetched>,
    /// The page count, once the first page said it.
    pages_total: Option<u64>,
    /// Entries on the longest page so far, readable or not: the gateway's page size.
    longest: usize,
    /// The highest invoice number read so far (readable or set aside).
    highest: Option<u64>,
}

impl Reader {
    /// Hands `page`, asked for at `asked_at`, to the writer. False once the writer has stopped
    /// (a write failed).
    async fn hand_over(&mut self, (asked_at, page): (String, InvoicePage)) -> bool {
        self.longest = self.longest.max(page.len());
        self.highest = self.highest.max(highest(&page));
        self.to_writer.send(Fetched { page, pages_total: self.pages_total, asked_at }).await.is_ok()
    }

    /// `fetch`'s answer, or `None` once the writer has stopped: nothing more is read then.
    async fn unless_stopped<T>(&self, fetch: impl Future<Output = T>) -> Option<T> {
        tokio::select! {
            biased;
            () = self.to_writer.closed() => None,
            out = fetch => Some(out),
        }
    }
}

/// Page `q` of the list, with the instant its request was sent (taken before it, and before any
/// retry: a paid mark at that instant or later is newer than the page).
pub(super) async fn fetch(
    gw: &GatewayClient,
    q: &InvoiceListQuery,
) -> Result<(String, InvoicePage), gateway::GatewayError> {
    let asked_at = super::instant_text(Utc::now());
    gw.list_invoices(q).await.map(|page| (asked_at, page))
}

/// The highest invoice number on `page`, readable or not.
fn highest(page: &InvoicePage) -> Option<u64> {
    page.invoices.iter().map(|i| i.invoice_no).chain(page.unreadable.iter().filter_map(|u| u.invoice_no)).max()
}

impl Pass<'_> {
    fn query(
        &self,
        status: InvoiceStatusFilter,
        since: Option<DateTime<Utc>>,
    ) -> impl Fn(u64) -> InvoiceListQuery + Send + Sync {
        move |page| InvoiceListQuery {
            page,
            limit: PAGE_SIZE,
            status,
            updated_since: since,
            sort_by: "invoiceNo",
            sort_order: SortOrder::Asc,
        }
    }

    /// Pages through one list query, writing each page. Returns (pages, invoices written).
    pub async fn run(
        &self,
        status: InvoiceStatusFilter,
        since: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64), DeskError> {
        let mut conn = self.pool.acquire().await?;
        let (to_writer, pages) = tokio::sync::mpsc::channel(AHEAD_PAGES);
        let writer = Writer::new(&mut conn, self.run, self.mode, self.progress);
        let (read, written) = tokio::join!(self.read(status, since, to_writer), writer.drain(pages));
        // a failed write stops the reading: its error is the one to report
        let written = written?;
        read?;
        Ok(written)
    }

    /// Reads the pages of one list query and hands each to the writer, until the list ends, a
    /// fetch fails (the pages before it are written) or the writer stops.
    async fn read(
        &self,
        status: InvoiceStatusFilter,
        since: Option<DateTime<Utc>>,
        to_writer: Sender<Fetched>,
    ) -> Result<(), DeskError> {
        let query = self.query(status, since);
        let mut r = Reader { to_writer, pages_total: None, longest: 0, highest: None };
        let Some(first) = r.unless_stopped(fetch(self.gw, &query(1))).await else { return Ok(()) };
        let first = first?;
        // How many pages: the gateway's count, else its total over the rows a page holds.
        r.pages_total = first.1.total_pages.or_else(|| match (first.1.total, first.1.len() as u64) {
            (Some(total), rows) if rows > 0 => Some(total.div_ceil(rows)),
            _ => None,
        });
        let mut last_len = first.1.len();
        if !r.hand_over(first).await {
            return Ok(());
        }
        let mut page_no = 1u64;
        if let Some(total) = r.pages_total.filter(|t| *t > 1 && last_len > 0) {
            let mut rest = futures::stream::iter(2..=total)
                .map(|p| {
                    let q = query(p);
                    async move { fetch(self.gw, &q).await }
                })
                .buffered(CONCURRENT_PAGES);
            loop {
                let Some(next) = r.unless_stopped(rest.try_next()).await else { return Ok(()) };
                let Some(page) = next? else { break };
                page_no += 1;
                last_len = page.1.len();
                if page.1.is_empty() {
                    // the list is shorter than counted (it shrank meanwhile): the rest is empty too
                    break;
                }
                if !r.hand_over(page).await {
                    return Ok(());
                }
            }
        }
        // Past the count (the list grew meanwhile), or without one: on until a page is empty or
        // shorter than the gateway's page size.
        while last_len > 0 && last_len >= r.longest {
            page_no += 1;
            let Some(page) = r.unless_stopped(fetch(self.gw, &query(page_no))).await else { return Ok(()) };
            let page = page?;
            if page.1.is_empty() {
                break;
            }
            let advances = highest(&page.1) > r.highest;
            let len = page.1.len();
            if !r.hand_over(page).await {
                return Ok(());
            }
            if !advances {
                tracing::warn!(page = page_no, "the gateway's page brings no newer invoice number; ending the pass");
                break;
            }
            last_len = len;
        }
        Ok(())
    }
}
