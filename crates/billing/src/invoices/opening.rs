//! The invoice list's opening page, read ahead. The app starts reading it as soon as its
//! database is open, while its window and WebKit start (a few hundred milliseconds in which the
//! database is idle), so that the UI's first list request is answered from memory.
//!
//! [`opening_request`] is that request; the UI starts from it (its bindings carry it:
//! `ui/src/lib/bindings/opening.ts`, written by this module's test). A page read ahead is given
//! once, to the first list request only, and only if that request is the opening one (with a
//! limit up to [`READ_AHEAD_LIMIT`]) and nothing was written to the database since the page
//! was read: `PRAGMA data_version` on a connection held for the purpose changes whenever any
//! other connection (of this process or another) commits. Anything else reads the database as
//! always.

use super::{read, InvoiceFilter, InvoicePage, ListRequest, Read, SortKey};
use crate::DeskError;
use chrono::Utc;
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, SqlitePool};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// The most rows the UI's first request may ask for and be answered from the page read ahead
/// (it asks for the rows in view, 20 more and a page of 200: 239 in the window's first size).
pub const READ_AHEAD_LIMIT: u32 = 400;

/// How long a page read ahead is kept for a first request that does not come (then its
/// connection goes back to the pool).
const KEEP: Duration = Duration::from_secs(30);

/// How long the first request waits for a read ahead still under way, before it reads the
/// database itself (the read ahead takes tens of milliseconds; a database busy for longer
/// is no reason to make the request wait longer than it would).
const WAIT: Duration = Duration::from_secs(2);

/// The list's first request: outstanding invoices by due date, with the totals.
pub fn opening_request() -> ListRequest {
    ListRequest {
        filter: InvoiceFilter { status: Some("outstanding".into()), ..InvoiceFilter::default() },
        sort: SortKey::DueAt,
        descending: false,
        limit: None,
        after: None,
        with_totals: true,
    }
}

/// Whether `req` is the opening request, asking for no more rows than were read ahead.
fn answers(req: &ListRequest) -> bool {
    let opening = opening_request();
    req.filter == opening.filter
        && req.sort == opening.sort
        && req.descending == opening.descending
        && req.after.is_none()
        && req.with_totals == opening.with_totals
        && super::statement::limit(req) <= READ_AHEAD_LIMIT
}

/// A page read ahead, with the connection whose `data_version` was read before it.
struct Ready {
    read: Read,
    held: PoolConnection<Sqlite>,
    version: i64,
}

/// The opening page being read ahead, or read (see the module's documentation).
#[derive(Default)]
pub struct ReadAhead {
    slot: Arc<Mutex<Option<oneshot::Receiver<Ready>>>>,
    /// The read and the wait after it (aborted by [`ReadAhead::clear`]).
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl ReadAhead {
    /// Starts reading the opening page from `pool` (on the current Tokio runtime; a second
    /// start replaces the first).
    pub fn start(&self, pool: &SqlitePool) {
        let (tx, rx) = oneshot::channel();
        match self.slot.lock() {
            Ok(mut slot) => *slot = Some(rx),
            Err(_) => return,
        }
        let pool = pool.clone();
        let slot = Arc::clone(&self.slot);
        let task = tokio::spawn(async move {
            match read_ahead(&pool).await {
                Ok(ready) => {
                    let _ = tx.send(ready);
                }
                Err(e) => {
                    // the first request reads the database itself, at once
                    drop(tx);
                    tracing::debug!(code = ?e.code, message = %e.message, "opening page not read ahead");
                    return;
                }
            }
            tokio::time::sleep(KEEP).await;
            if let Ok(mut slot) = slot.lock() {
                slot.take();
            }
        });
        if let Ok(mut t) = self.task.lock() {
            if let Some(earlier) = t.replace(task) {
                earlier.abort();
            }
        }
    }

    /// Drops the page read ahead, or stops its read, giving its connections back to the pool
    /// (before the pool closes: a connection held would keep its close waiting).
    pub fn clear(&self) {
        if let Ok(mut slot) = self.slot.lock() {
            slot.take();
        }
        if let Some(task) = self.task.lock().ok().and_then(|mut t| t.take()) {
            task.abort();
        }
    }

    /// The page for `req` read ahead, if `req` is the first request asked of this desk, is the
    /// opening request, and nothing was written since the page was read; `None` otherwise (the
    /// caller reads the database). Only the first call can have it.
    pub async fn take(&self, req: &ListRequest) -> Option<InvoicePage> {
        let pending = self.slot.lock().ok()?.take()?;
        if !answers(req) {
            return None;
        }
        let mut ready = tokio::time::timeout(WAIT, pending).await.ok()?.ok()?;
        match data_version(&mut ready.held).await {
            Ok(version) if version == ready.version => Some(ready.read.page(req, Utc::now())),
            _ => {
                tracing::debug!("the database changed since the opening page was read ahead");
                None
            }
        }
    }
}

async fn read_ahead(pool: &SqlitePool) -> Result<Ready, DeskError> {
    let mut held = pool.acquire().await?;
    // before the page is read: any commit after it changes the version the first request sees
    let version = data_version(&mut held).await?;
    let req = ListRequest { limit: Some(READ_AHEAD_LIMIT), ..opening_request() };
    let read = read(pool, &req, Utc::now()).await?;
    Ok(Ready { read, held, version })
}

async fn data_version(conn: &mut SqliteConnection) -> Result<i64, DeskError> {
    Ok(sqlx::query_scalar("PRAGMA data_version").fetch_one(conn).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoices::{list, upsert_page};
    use sqlx::Connection;

    async fn database(n: u64) -> (tempfile::TempDir, SqlitePool) {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = crate::store::open(dir.path()).await.expect("open");
        let eur = money::Currency::from_code("EUR").expect("EUR");
        let invoices: Vec<gateway::Invoice> =
            (1..=n).map(|no| super::super::search_tests::invoice(no, "Freight GmbH", "c_1", eur, 1_000)).collect();
        upsert_page(&pool, &invoices, 1).await.expect("write");
        (dir, pool)
    }

    /// Waits until `ahead` has its page read (or failed).
    async fn wait_read(ahead: &ReadAhead) {
        let waiting = || ahead.slot.lock().expect("lock").as_ref().is_some_and(|rx| rx.is_empty());
        for _ in 0..1_000 {
            if !waiting() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the page was not read ahead within 5 s");
    }

    fn first(limit: u32) -> ListRequest {
        ListRequest { limit: Some(limit), ..opening_request() }
    }

    #[tokio::test]
    async fn the_first_request_gets_the_page_read_ahead_as_the_database_would_answer_it() {
        let (_dir, pool) = database(300).await;
        let ahead = ReadAhead::default();
        ahead.start(&pool);
        let expected = list(&pool, &first(239)).await.expect("list");
        let page = ahead.take(&first(239)).await.expect("read ahead");
        assert_eq!(page, expected);
        assert_eq!(page.rows.len(), 239);
        assert!(page.next.is_some());
        // once: the next request reads the database
        assert!(ahead.take(&first(239)).await.is_none());
    }

    #[tokio::test]
    async fn a_write_since_the_page_was_read_ahead_makes_the_first_request_read_again() {
        let (dir, pool) = database(50).await;
        let ahead = ReadAhead::default();
        ahead.start(&pool);
        // the read ahead has its version before this write: wait until its page is read
        wait_read(&ahead).await;
        // another process's write (its own connection)
        let path = dir.path().join(crate::environments::DATABASE_FILE);
        let mut other =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.expect("connect");
        sqlx::query("UPDATE invoices SET status = 'paid' WHERE invoice_no = 1")
            .execute(&mut other)
            .await
            .expect("write");
        assert!(ahead.take(&first(239)).await.is_none());
    }

    #[tokio::test]
    async fn another_request_first_reads_the_database_and_the_page_is_dropped() {
        let (_dir, pool) = database(20).await;
        for other in [
            ListRequest { descending: true, ..first(239) },
            ListRequest { sort: SortKey::Amount, ..first(239) },
            ListRequest { with_totals: false, ..first(239) },
            ListRequest { after: Some("x".into()), ..first(239) },
            first(READ_AHEAD_LIMIT + 1),
            ListRequest {
                filter: InvoiceFilter { search: Some("gmbh".into()), ..opening_request().filter },
                ..first(239)
            },
        ] {
            let ahead = ReadAhead::default();
            ahead.start(&pool);
            assert!(ahead.take(&other).await.is_none(), "{other:?}");
            assert!(ahead.take(&first(239)).await.is_none(), "taken by the first request");
        }
    }

    #[tokio::test]
    async fn a_read_ahead_that_fails_lets_the_first_request_read_at_once() {
        let (_dir, pool) = database(5).await;
        let ahead = ReadAhead::default();
        pool.close().await; // every read fails
        ahead.start(&pool);
        let started = std::time::Instant::now();
        assert!(ahead.take(&first(239)).await.is_none());
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn cleared_the_page_read_ahead_gives_its_connection_back_so_the_pool_closes() {
        let (_dir, pool) = database(5).await;
        let ahead = ReadAhead::default();
        ahead.start(&pool);
        wait_read(&ahead).await;
        ahead.clear();
        // without the clear, the held connection keeps this waiting for the 30 s KEEP
        tokio::time::timeout(Duration::from_secs(5), pool.close()).await.expect("the pool closes");
        assert!(ahead.take(&first(239)).await.is_none());
    }

    #[tokio::test]
    async fn fewer_invoices_than_the_limit_make_a_last_page() {
        let (_dir, pool) = database(12).await;
        let ahead = ReadAhead::default();
        ahead.start(&pool);
        let page = ahead.take(&first(239)).await.expect("read ahead");
        assert_eq!(page, list(&pool, &first(239)).await.expect("list"));
        assert_eq!((page.rows.len(), page.next, page.total_count), (12, None, Some(12)));
    }

    /// The UI starts from the opening request: its bindings carry it (checked in by CI's
    /// "bindings up to date", as ts-rs's own).
    #[test]
    fn the_ui_bindings_carry_the_opening_request() {
        fn without_nulls(v: serde_json::Value) -> serde_json::Value {
            match v {
                serde_json::Value::Object(m) => {
                    m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_nulls(v))).collect()
                }
                other => other,
            }
        }
        let json = without_nulls(serde_json::to_value(opening_request()).expect("json"));
        let text = format!(
            "// Generated by crates/billing/src/invoices/opening.rs (cargo test); do not edit.\n\
             // The invoice list's first request, which the app reads ahead while its window starts.\n\
             import type {{ ListRequest }} from \"./ListRequest\";\n\n\
             export const OPENING: ListRequest = {json};\n"
        );
        let dir = std::env::var("TS_RS_EXPORT_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/lib/bindings"));
        std::fs::write(dir.join("opening.ts"), text).expect("write opening.ts");
    }
}
