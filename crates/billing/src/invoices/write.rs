//! Writing gateway invoices into the cache: a sync's pages (and the invoices it asks for by
//! number), the detail view's refresh of one invoice, and closing one the gateway no longer knows.
//! An invoice written here read fine, so it is no longer set aside ([`crate::sync::set_aside`]).
//!
//! **A view older than the desk's paid mark changes nothing.** A capture the desk finalized marks
//! its invoice paid at once (`capture::journal`'s `mark_paid` stamps `paid_marked_at`; so does its
//! `mark_invoice_settled`, for an invoice the gateway says was paid or cancelled otherwise), while a
//! sync page or a detail read asked for before that may have been read at the gateway before the
//! payment, and be written after the mark. Each row is written with the instant its request was
//! sent (`synced_at`, [`crate::sync::instant_text`]: the desk's clock, milliseconds, like the
//! mark), and a row marked paid at or after that instant keeps the mark: the write leaves it
//! as it is (the search index's triggers see no UPDATE). A view asked for after the mark is the
//! gateway's word and wins, paid or outstanding again (a reversal). A sync's row kept this way
//! still counts as seen by the sync (its `sync_run` is stamped).

use super::{InvoiceStatus, E4};
use crate::sync::{set_aside, Read};
use crate::{time, DeskError};
use chrono::Utc;
use money::Money;
use rust_decimal::Decimal;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

/// Values bound per invoice row (the columns of the INSERT below).
const BINDS_PER_ROW: usize = 24;
/// SQLite's limit on the variables of one statement (`SQLITE_MAX_VARIABLE_NUMBER`: 32766 in the
/// bundled SQLite, as in every SQLite since 3.32).
pub(crate) const MAX_VARIABLES: usize = 32_766;
/// Rows per INSERT statement, so that a page of any size stays under the limit.
const ROWS_PER_STATEMENT: usize = MAX_VARIABLES / BINDS_PER_ROW;

/// How a write meets a row the cache already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// A sync's read: the gateway's answer replaces the row, stamped with the sync's run, unless
    /// the desk marked the row paid after the answer's request was sent (`guarded`; see the
    /// module doc): then only the run is stamped.
    Sync { run: i64, guarded: bool },
    /// A read outside a sync (the detail view, a batch's preflight): the row keeps its run, and
    /// an answer older than the row (by the gateway's `updatedAt`), or asked for before the desk
    /// marked the row paid, changes nothing, so a read that raced a sync or a capture never
    /// writes an old state, or an old run, back.
    Refresh,
}

fn e4(m: &Money) -> i64 {
    let scaled = m.amount() * Decimal::from(E4);
    i64::try_from(scaled.trunc().mantissa() / 10i128.pow(scaled.trunc().scale())).unwrap_or(i64::MAX)
}

fn number(inv: &gateway::Invoice) -> Result<i64, DeskError> {
    i64::try_from(inv.invoice_no).map_err(|_| DeskError::bad_input("invoice number out of range"))
}

/// Writes a page of gateway invoices read just now, in one transaction (insert or replace by
/// number, stamped with sync run `run`), whatever the desk marked before: for a caller whose
/// view is current (tests). A sync writes with [`upsert_in`], which keeps a paid mark newer
/// than the view. Multi-row statements of at most [`ROWS_PER_STATEMENT`] rows
/// each, so any page fits SQLite's limits.
pub async fn upsert_page(pool: &SqlitePool, invoices: &[gateway::Invoice], run: i64) -> Result<usize, DeskError> {
    let now = crate::sync::instant_text(Utc::now());
    write(pool, invoices, &now, Write::Sync { run, guarded: false }).await
}

/// Writes one invoice fetched outside a sync (the detail view, a batch's preflight), whose
/// request was sent at `asked_at` (taken before it: `Utc::now()`). It keeps the row's sync run,
/// and an answer older than the cached row, or asked for before the desk marked the row paid,
/// changes nothing (see [`Write::Refresh`]).
pub async fn refresh_one(
    pool: &SqlitePool,
    invoice: &gateway::Invoice,
    asked_at: chrono::DateTime<Utc>,
) -> Result<(), DeskError> {
    let asked_at = crate::sync::instant_text(asked_at);
    write(pool, std::slice::from_ref(invoice), &asked_at, Write::Refresh).await.map(|_| ())
}

/// Writes a sync's pages of gateway invoices (insert or replace by number, stamped with sync run
/// `run`; a row the desk marked paid after its page was asked for keeps the mark) in the
/// caller's transaction: a sync writes several pages in one ([`crate::sync`]'s writer).
pub(crate) async fn upsert_in(
    conn: &mut SqliteConnection,
    invoices: &[Read<'_>],
    run: i64,
) -> Result<usize, DeskError> {
    write_in(conn, invoices, Write::Sync { run, guarded: true }).await
}

async fn write(
    pool: &SqlitePool,
    invoices: &[gateway::Invoice],
    asked_at: &str,
    mode: Write,
) -> Result<usize, DeskError> {
    if invoices.is_empty() {
        return Ok(0);
    }
    let invoices: Vec<Read<'_>> = invoices.iter().map(|invoice| Read { invoice, asked_at }).collect();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    write_in(&mut tx, &invoices, mode).await?;
    tx.commit().await?;
    Ok(invoices.len())
}

async fn write_in(conn: &mut SqliteConnection, invoices: &[Read<'_>], mode: Write) -> Result<usize, DeskError> {
    if invoices.is_empty() {
        return Ok(0);
    }
    let mut numbers = Vec::with_capacity(invoices.len());
    for r in invoices {
        numbers.push(number(r.invoice)?);
    }
    for (chunk, nos) in invoices.chunks(ROWS_PER_STATEMENT).zip(numbers.chunks(ROWS_PER_STATEMENT)) {
        let written = statement(chunk, mode)?.build().execute(&mut *conn).await?.rows_affected();
        if let Write::Sync { run, guarded: true } = mode {
            // a row left as the desk marked it (no insert, no update) was still met by this run
            if written < chunk.len() as u64 {
                stamp_run(conn, nos, run).await?;
            }
        }
    }
    set_aside::clear(conn, &numbers).await?;
    Ok(invoices.len())
}

/// Stamps sync run `run` on these rows where a guarded write left them as they were (at most
/// [`ROWS_PER_STATEMENT`] numbers: under SQLite's variable limit).
async fn stamp_run(conn: &mut SqliteConnection, invoice_nos: &[i64], run: i64) -> Result<(), DeskError> {
    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new("UPDATE invoices SET sync_run = ");
    q.push_bind(run).push(" WHERE sync_run <> ").push_bind(run).push(" AND invoice_no IN (");
    let mut list = q.separated(", ");
    for no in invoice_nos {
        list.push_bind(*no);
    }
    q.push(")");
    let kept = q.build().execute(&mut *conn).await?.rows_affected();
    tracing::info!(kept, run, "invoices marked paid after their page was asked for: the page left them as marked");
    Ok(())
}

/// One multi-row INSERT .. ON CONFLICT for `rows` (at most [`ROWS_PER_STATEMENT`]).
fn statement<'a>(rows: &[Read<'a>], mode: Write) -> Result<QueryBuilder<'a, Sqlite>, DeskError> {
    let mut numbered = Vec::with_capacity(rows.len());
    for r in rows {
        numbered.push((number(r.invoice)?, r.invoice, r.asked_at));
    }
    let run = match mode {
        Write::Sync { run, .. } => run,
        // a row the cache did not have yet: no sync has seen it
        Write::Refresh => 0,
    };
    let mut q: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
        "INSERT INTO invoices (invoice_no, customer_id, customer_name, customer_sort, search_text, currency, total, outstanding, \
         outstanding_e4, status, issued_at, due_at, due_key, updated_at, wallet_currency, wallet_balance, paypal_intent, \
         paypal_order_id, paypal_auth_id, paypal_approved_at, has_paypal, raw_json, synced_at, sync_run) ",
    );
    q.push_values(numbered, |mut b, (no, inv, asked_at)| {
        let due_at = inv.due_at.map(time::text);
        let due_key = due_at.clone().unwrap_or_else(|| "9999-12-31T00:00:00Z".into());
        let paypal = inv.paypal.as_ref().filter(|_| inv.status == gateway::InvoiceStatus::Outstanding);
        b.push_bind(no)
            .push_bind(inv.customer.id.clone())
            .push_bind(inv.customer.name.clone())
            .push_bind(inv.customer.name.to_lowercase())
            .push_bind(format!("{} {} {}", inv.customer.name, inv.customer.id, inv.invoice_no).to_lowercase())
            .push_bind(inv.currency.code())
            .push_bind(inv.total.to_decimal_string())
            .push_bind(inv.outstanding.to_decimal_string())
            .push_bind(e4(&inv.outstanding))
            .push_bind(InvoiceStatus::from(inv.status))
            .push_bind(time::text(inv.issued_at))
            .push_bind(due_at)
            .push_bind(due_key)
            .push_bind(time::text(inv.updated_at))
            .push_bind(inv.wallet.as_ref().map(|w| w.currency_code().to_owned()))
            .push_bind(inv.wallet.as_ref().map(gateway::Wallet::balance_text))
            .push_bind(paypal.map(|p| match p.intent {
                gateway::PaypalIntent::Capture => "CAPTURE",
                gateway::PaypalIntent::Authorize => "AUTHORIZE",
            }))
            .push_bind(paypal.map(|p| p.order_id.clone()))
            .push_bind(paypal.and_then(|p| p.authorization_id.clone()))
            .push_bind(paypal.map(|p| time::text(p.approved_at)))
            .push_bind(i64::from(paypal.is_some()))
            .push_bind(inv.raw.clone())
            .push_bind(asked_at)
            .push_bind(run);
    });
    q.push(
        " ON CONFLICT(invoice_no) DO UPDATE SET customer_id = excluded.customer_id, customer_name = excluded.customer_name, \
         customer_sort = excluded.customer_sort, search_text = excluded.search_text, currency = excluded.currency, \
         total = excluded.total, outstanding = excluded.outstanding, outstanding_e4 = excluded.outstanding_e4, \
         status = excluded.status, issued_at = excluded.issued_at, due_at = excluded.due_at, due_key = excluded.due_key, \
         updated_at = excluded.updated_at, wallet_currency = excluded.wallet_currency, wallet_balance = excluded.wallet_balance, \
         paypal_intent = excluded.paypal_intent, paypal_order_id = excluded.paypal_order_id, paypal_auth_id = excluded.paypal_auth_id, \
         paypal_approved_at = excluded.paypal_approved_at, has_paypal = excluded.has_paypal, raw_json = excluded.raw_json, \
         synced_at = excluded.synced_at",
    );
    // `synced_at`: when this view was asked for; a paid mark at that instant or later stands (text
    // order is time order: one fixed shape)
    const NOT_MARKED_SINCE: &str = "(invoices.paid_marked_at IS NULL OR invoices.paid_marked_at < excluded.synced_at)";
    match mode {
        Write::Sync { guarded: false, .. } => q.push(", sync_run = excluded.sync_run"),
        Write::Sync { guarded: true, .. } => q.push(", sync_run = excluded.sync_run WHERE ").push(NOT_MARKED_SINCE),
        // text order is time order (one fixed shape); the same moment still writes (payments)
        Write::Refresh => q.push(" WHERE excluded.updated_at >= invoices.updated_at AND ").push(NOT_MARKED_SINCE),
    };
    Ok(q)
}

/// Cached outstanding invoices that sync run `run` has neither written nor set aside (its lists
/// left them out).
pub async fn outstanding_not_seen(pool: &SqlitePool, run: i64) -> Result<Vec<u64>, DeskError> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT invoice_no FROM invoices WHERE status = 'outstanding' AND sync_run <> ? \
         AND invoice_no NOT IN (SELECT invoice_no FROM sync_set_aside WHERE sync_run = ? AND invoice_no IS NOT NULL) \
         ORDER BY invoice_no",
    )
    .bind(run)
    .bind(run)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(|(no,)| u64::try_from(no).ok()).collect())
}

/// An outstanding invoice the gateway no longer knows (it answers 404 for it) is closed, and no
/// longer set aside.
pub async fn close(pool: &SqlitePool, invoice_no: u64) -> Result<(), DeskError> {
    let no = i64::try_from(invoice_no).map_err(|_| DeskError::bad_input("invoice number out of range"))?;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    sqlx::query("UPDATE invoices SET status = ?, has_paypal = 0 WHERE invoice_no = ? AND status = ?")
        .bind(InvoiceStatus::Closed)
        .bind(no)
        .bind(InvoiceStatus::Outstanding)
        .execute(&mut *tx)
        .await?;
    set_aside::clear(&mut tx, &[no]).await?;
    tx.commit().await?;
    Ok(())
}
