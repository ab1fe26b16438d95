//! One pass through a list query, page by page, each page written in its own transaction.
//!
//! GATEWAY-API.md's lists are offset pages: `page` and `limit` (at most 100) in the query,
//! `data` and `pagination` in the answer. The gateway may cap `limit` below what we ask, and
//! `pagination` may leave out `totalPages` (or `total`, or be absent). So a count only lets
//! pages be fetched a few at a time; the pass ends on an empty page, or on one shorter than the
//! longest page before it (the gateway's own page size, whatever it capped `limit` to). Pages are
//! asked for by invoice number, ascending, so a page past the count that brings no number above
//! those already read means the gateway is not paging (it answers every `page` alike): that
//! ends the pass too, rather than asking for ever.

use super::{set_aside, SyncMode, SyncProgress, CONCURRENT_PAGES};
use crate::{invoices, DeskError};
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use gateway::{GatewayClient, InvoiceListQuery, InvoicePage, InvoiceStatusFilter, SortOrder};
use sqlx::SqlitePool;

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

/// The pages of one pass so far.
#[derive(Default)]
struct Tally {
    pages: u64,
    /// Invoices written (set-aside ones are not).
    invoices: u64,
    /// Entries on the longest page so far, readable or not: the gateway's page size.
    longest: usize,
    /// The highest invoice number read so far (readable or set aside).
    highest: Option<u64>,
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

    /// Writes one page (its unreadable invoices set aside) and reports progress.
    async fn write(&self, page: &InvoicePage, tally: &mut Tally, pages_total: Option<u64>) -> Result<(), DeskError> {
        set_aside::record(self.pool, self.run, &page.unreadable, Utc::now()).await?;
        invoices::upsert_page(self.pool, &page.invoices, self.run).await?;
        tally.pages += 1;
        tally.invoices += page.invoices.len() as u64;
        tally.longest = tally.longest.max(page.len());
        tally.highest = tally.highest.max(highest(page));
        (self.progress)(SyncProgress {
            mode: self.mode,
            pages_done: tally.pages,
            pages_total: pages_total.filter(|t| *t >= tally.pages),
            invoices: tally.invoices,
        });
        Ok(())
    }

    /// Pages through one list query, writing each page. Returns (pages, invoices written).
    pub async fn run(
        &self,
        status: InvoiceStatusFilter,
        since: Option<DateTime<Utc>>,
    ) -> Result<(u64, u64), DeskError> {
        let query = self.query(status, since);
        let first = self.gw.list_invoices(&query(1)).await?;
        let mut tally = Tally::default();
        // How many pages: the gateway's count, else its total over the rows a page holds.
        let pages_total = first.total_pages.or_else(|| match (first.total, first.len() as u64) {
            (Some(total), rows) if rows > 0 => Some(total.div_ceil(rows)),
            _ => None,
        });
        self.write(&first, &mut tally, pages_total).await?;
        let mut last_len = first.len();
        let mut page_no = 1u64;
        if let Some(total) = pages_total.filter(|t| *t > 1 && last_len > 0) {
            let mut rest = futures::stream::iter(2..=total)
                .map(|p| {
                    let q = query(p);
                    async move { self.gw.list_invoices(&q).await }
                })
                .buffered(CONCURRENT_PAGES);
            page_no = 1;
            while let Some(page) = rest.try_next().await? {
                page_no += 1;
                last_len = page.len();
                if page.is_empty() {
                    // the list is shorter than counted (it shrank meanwhile): the rest is empty too
                    break;
                }
                self.write(&page, &mut tally, pages_total).await?;
            }
        }
        // Past the count (the list grew meanwhile), or without one: on until a page is empty or
        // shorter than the gateway's page size.
        while last_len > 0 && last_len >= tally.longest {
            page_no += 1;
            let page = self.gw.list_invoices(&query(page_no)).await?;
            if page.is_empty() {
                break;
            }
            let advances = highest(&page) > tally.highest;
            self.write(&page, &mut tally, pages_total).await?;
            if !advances {
                tracing::warn!(page = page_no, "the gateway's page brings no newer invoice number; ending the pass");
                break;
            }
            last_len = page.len();
        }
        Ok((tally.pages, tally.invoices))
    }
}
