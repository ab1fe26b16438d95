//! One customer's wallet, one capture at a time.
//!
//! Part-process promises an attempt the customer's **whole** wallet balance, and the gateway
//! debits it only when the attempt is finalized (or paid from the wallet). Two attempts of the
//! same customer that both part-process before either finalizes are both promised the same
//! money: both PayPal captures happen, and the second finalization is refused ("Invalid Amount")
//! with its money captured. So, within one data directory (the app, `desk`, batches):
//!
//! * **The lease.** A run of an attempt ([`Engine::resume`]) takes the wallet's lease (a row of
//!   `wallet_lease`, keyed on the customer: the wallet is the customer's) before it does
//!   anything, and gives it back when the run ends: the attempt is terminal, or it waits
//!   (PayPal pending, a service unreachable), or the run failed. While held, the lease is
//!   renewed every [`RENEW_EVERY`]; it expires [`TTL`] after the last renewal, so a process
//!   killed while holding it blocks the wallet for at most that long, and the next run takes
//!   it over. A run that finds the lease held waits for it (up to [`WAIT`]).
//! * **The promise.** An open attempt past part-process whose wallet part is not zero (or that
//!   pays from the wallet) still carries the wallet's promise when it stopped (a crash, PayPal
//!   pending, an unreachable gateway): its finalization will debit what part-process promised.
//!   While such an attempt is open, **no other attempt on the same wallet part-processes**: it
//!   stays `planned` and is deferred with a message naming the open one. Finish that one first
//!   (resume it: `desk recover`, the app's recovery, or a click on it); the deferred attempt is
//!   then captured again and part-process promises what is left.
//! * **The rule**, checked with the lease held: a `planned` attempt part-processes only while it
//!   holds its wallet's lease and no other open attempt on that wallet carries the promise; the
//!   lease is confirmed (and renewed) again just before `part_processed` is written. An attempt
//!   past part-process never needs the lease to go on (its promise is in the journal); it takes
//!   the lease when it can, so that attempts queued behind it wait for it instead of being
//!   deferred, and goes on without it when it cannot.
//!
//! Across desks (which share nothing) no lease helps: a finalization refused for the wallet
//! after PayPal captured ends `needs_attention` with what happened and how to resolve it (see
//! `gateway_steps.rs`).

use super::engine::Engine;
use super::journal::{self, Entry, State};
use super::result::CaptureResult;
use crate::DeskError;
use sqlx::SqlitePool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// How long a lease lives after its last renewal.
pub const TTL: Duration = Duration::from_secs(15);
/// How often a holder renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
/// How long a run waits for a wallet another run holds before it is deferred.
pub const WAIT: Duration = Duration::from_secs(60);

/// The lease's key for a customer's wallet.
pub fn wallet_key(customer_id: &str) -> String {
    format!("customer:{customer_id}")
}

/// The customer an invoice belongs to, from the cache.
pub(crate) async fn customer_of(pool: &SqlitePool, invoice_no: i64) -> Result<Option<String>, DeskError> {
    Ok(sqlx::query_scalar("SELECT customer_id FROM invoices WHERE invoice_no = ?")
        .bind(invoice_no)
        .fetch_optional(pool)
        .await?)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn ttl_ms() -> i64 {
    i64::try_from(TTL.as_millis()).unwrap_or(15_000)
}

/// A fresh holder id: this process (its id and a random number) and this run.
fn new_holder(journal_id: i64) -> String {
    static PROCESS: OnceLock<String> = OnceLock::new();
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        format!("{}-{random:016x}", std::process::id())
    });
    format!("{process}/{}/j{journal_id}", RUNS.fetch_add(1, Ordering::Relaxed) + 1)
}

/// Who holds a wallet's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub holder: String,
    pub journal_id: i64,
    pub invoice_no: i64,
}

/// The unexpired lease on `key`, if any.
pub(crate) async fn holder(pool: &SqlitePool, key: &str) -> Result<Option<Held>, DeskError> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT holder, journal_id, invoice_no FROM wallet_lease WHERE wallet_key = ? AND expires_at > ?",
    )
    .bind(key)
    .bind(now_ms())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(holder, journal_id, invoice_no)| Held { holder, journal_id, invoice_no }))
}

/// Takes the lease on `key` for `holder` if it is free or expired; else says who holds it.
async fn try_take(pool: &SqlitePool, key: &str, holder: &str, e: &Entry) -> Result<Option<Held>, DeskError> {
    let now = now_ms();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let current: Option<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT holder, journal_id, invoice_no, expires_at FROM wallet_lease WHERE wallet_key = ?")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some((h, journal_id, invoice_no, expires_at)) = current {
        if expires_at > now {
            tx.rollback().await?;
            return Ok(Some(Held { holder: h, journal_id, invoice_no }));
        }
        tracing::warn!(wallet = key, previous = %h, journal_id, invoice_no, "taking over an expired wallet lease");
    }
    sqlx::query(
        "INSERT INTO wallet_lease (wallet_key, holder, journal_id, invoice_no, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (wallet_key) DO UPDATE SET holder = excluded.holder, journal_id = excluded.journal_id, \
         invoice_no = excluded.invoice_no, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
    )
    .bind(key)
    .bind(holder)
    .bind(e.id)
    .bind(e.invoice_no)
    .bind(crate::time::text(chrono::Utc::now()))
    .bind(now + ttl_ms())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(None)
}

/// A held lease. Renewed in the background until [`Lease::release`] (or drop) gives it back.
pub(crate) struct Lease {
    pool: SqlitePool,
    key: String,
    holder: String,
    renew: tokio::task::JoinHandle<()>,
    released: bool,
}

impl Lease {
    /// Takes the lease on `key` for the run of `e`, waiting up to `wait` for another holder.
    /// `Err(held)`: still held by another run after `wait`.
    pub(crate) async fn acquire(
        pool: &SqlitePool,
        key: &str,
        e: &Entry,
        wait: Duration,
    ) -> Result<Result<Lease, Held>, DeskError> {
        let holder = new_holder(e.id);
        let deadline = tokio::time::Instant::now() + wait;
        let mut pause = Duration::from_millis(25);
        loop {
            match try_take(pool, key, &holder, e).await? {
                None => break,
                Some(held) if tokio::time::Instant::now() >= deadline => return Ok(Err(held)),
                Some(held) => {
                    tracing::debug!(wallet = key, holder = %held.holder, "waiting for the wallet lease");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
            }
        }
        let renew = {
            let (pool, key, holder) = (pool.clone(), key.to_owned(), holder.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(RENEW_EVERY).await;
                    let r = sqlx::query("UPDATE wallet_lease SET expires_at = ? WHERE wallet_key = ? AND holder = ?")
                        .bind(now_ms() + ttl_ms())
                        .bind(&key)
                        .bind(&holder)
                        .execute(&pool)
                        .await;
                    match r {
                        Ok(r) if r.rows_affected() == 1 => {}
                        Ok(_) => {
                            tracing::warn!(wallet = %key, %holder, "the wallet lease was lost (expired and taken over)");
                            return;
                        }
                        Err(err) => tracing::warn!(wallet = %key, error = %err, "could not renew the wallet lease"),
                    }
                }
            })
        };
        tracing::debug!(wallet = key, %holder, "wallet lease taken");
        Ok(Ok(Lease { pool: pool.clone(), key: key.to_owned(), holder, renew, released: false }))
    }

    /// Gives the lease back.
    pub(crate) async fn release(mut self) {
        self.released = true;
        self.renew.abort();
        let r = sqlx::query("DELETE FROM wallet_lease WHERE wallet_key = ? AND holder = ?")
            .bind(&self.key)
            .bind(&self.holder)
            .execute(&self.pool)
            .await;
        if let Err(err) = r {
            // it expires by itself
            tracing::warn!(wallet = %self.key, error = %err, "could not give the wallet lease back");
        }
    }
}

impl Drop for Lease {
    /// A run dropped mid-way (cancelled) gives its lease back too, as soon as it can.
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.renew.abort();
        let (pool, key, holder) = (self.pool.clone(), std::mem::take(&mut self.key), std::mem::take(&mut self.holder));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = sqlx::query("DELETE FROM wallet_lease WHERE wallet_key = ? AND holder = ?")
                    .bind(&key)
                    .bind(&holder)
                    .execute(&pool)
                    .await;
            });
        }
    }
}

/// Renews the lease the run of journal `journal_id` holds. `false`: it holds none any more
/// (it expired and another run took it over), so it must not part-process now.
pub(crate) async fn confirm(pool: &SqlitePool, journal_id: i64) -> Result<bool, DeskError> {
    let now = now_ms();
    let r = sqlx::query("UPDATE wallet_lease SET expires_at = ? WHERE journal_id = ? AND expires_at > ?")
        .bind(now + ttl_ms())
        .bind(journal_id)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// An open attempt that carries a wallet's promise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promise {
    pub journal_id: i64,
    pub invoice_no: i64,
    pub state: State,
}

/// The oldest open attempt past part-process on `customer_id`'s wallet, other than invoice
/// `except_invoice`'s, whose finalization will still debit the wallet.
pub(crate) async fn promised_elsewhere(
    pool: &SqlitePool,
    customer_id: &str,
    except_invoice: i64,
) -> Result<Option<Promise>, DeskError> {
    let rows: Vec<(i64, i64, String, bool, Option<String>)> = sqlx::query_as(
        "SELECT j.id, j.invoice_no, j.state, j.path = 'wallet', j.wallet_amount FROM capture_journal j \
         JOIN invoices i ON i.invoice_no = j.invoice_no \
         WHERE i.customer_id = ? AND j.invoice_no <> ? AND j.state NOT IN ('finalized', 'rejected', 'needs_attention') \
         ORDER BY j.id",
    )
    .bind(customer_id)
    .bind(except_invoice)
    .fetch_all(pool)
    .await?;
    for (journal_id, invoice_no, state, pays_from_wallet, wallet_amount) in rows {
        let state = State::parse(&state)?;
        if state == State::Planned || state.is_terminal() {
            continue;
        }
        let draws = pays_from_wallet
            || wallet_amount.as_deref().is_some_and(|a| !money::parse_decimal_text(a).is_ok_and(|d| d.is_zero()));
        if draws {
            return Ok(Some(Promise { journal_id, invoice_no, state }));
        }
    }
    Ok(None)
}

/// For a clerk: why an attempt on the same wallet must wait for `p`.
pub(crate) fn promise_words(p: &Promise) -> String {
    format!(
        "invoice {} of the same customer has an unfinished capture ({}) that has already drawn on the customer's wallet: \
         finish it first (recovery resumes it)",
        p.invoice_no,
        p.state.as_str().replace('_', " ")
    )
}

/// For a clerk: why an attempt on the same wallet must wait for the run `h`.
pub(crate) fn running_words(h: &Held) -> String {
    format!("a capture of invoice {} draws on the same customer's wallet and is running right now", h.invoice_no)
}

/// What [`Engine::enter_wallet`] decided.
pub(crate) enum Entered {
    /// Run the attempt (holding the lease, or without it past part-process).
    Run(Option<Lease>),
    /// Do not run it now: this is where it stands.
    Done(CaptureResult),
}

impl Engine<'_> {
    /// Takes the wallet lease for a run of `e`, and applies the rule of the module doc.
    pub(super) async fn enter_wallet(&self, e: &mut Entry) -> Result<Entered, DeskError> {
        if e.state().is_terminal() {
            return Ok(Entered::Run(None));
        }
        let planned = e.state() == State::Planned;
        let Some(customer) = customer_of(self.pool, e.invoice_no).await? else {
            if planned {
                // Without the invoice we cannot tell whose wallet it draws on. Nothing moved yet.
                self.reject(e, "the invoice is no longer in the local cache; sync, then capture it again").await?;
                return Ok(Entered::Done(CaptureResult::of(e)));
            }
            return Ok(Entered::Run(None));
        };
        let key = wallet_key(&customer);
        let lease = match Lease::acquire(self.pool, &key, e, WAIT).await? {
            Ok(lease) => lease,
            Err(held) if planned => return self.defer(e, &running_words(&held), &held_detail(&held)).await,
            Err(held) => {
                // Its promise is journaled already: going on cannot overlap anything.
                tracing::info!(wallet = %key, holder = %held.holder, "going on without the wallet lease");
                return Ok(Entered::Run(None));
            }
        };
        if planned {
            if let Some(p) = promised_elsewhere(self.pool, &customer, e.invoice_no).await? {
                lease.release().await;
                let detail = format!("wallet_promised: journal {} ({})", p.journal_id, p.state.as_str());
                return self.defer(e, &promise_words(&p), &detail).await;
            }
        }
        Ok(Entered::Run(Some(lease)))
    }

    /// Leaves the attempt `planned` (nothing moved), with why in the journal and the result.
    async fn defer(&self, e: &mut Entry, why: &str, detail: &str) -> Result<Entered, DeskError> {
        journal::note_failure(self.pool, e, &format!("{detail}: {why}")).await?;
        let mut r = CaptureResult::of(e);
        r.message =
            format!("Not started: {why}. Nothing was captured; capture this invoice again once that one is finished.");
        Ok(Entered::Done(r))
    }
}

fn held_detail(h: &Held) -> String {
    format!("wallet_busy: journal {} holds the wallet lease ({})", h.journal_id, h.holder)
}
