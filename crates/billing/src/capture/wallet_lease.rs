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
//!   anything (after the attempt's own entry lease, `inflight.rs`), and gives it back when the
//!   run ends: the attempt is terminal, or it waits (PayPal pending, a service unreachable), or
//!   the run failed. The lease's mechanics are `lease.rs`'s: renewed every [`RENEW_EVERY`] while
//!   held, expired [`TTL`] after the last renewal (a killed process blocks the wallet for at most
//!   that long; the next run takes it over), every renewal and release matching the holder. A
//!   run that finds the lease held waits for it (up to [`WAIT`]).
//! * **The promise.** An open attempt past part-process whose wallet part is not zero (or that
//!   pays from the wallet) still carries the wallet's promise when it stopped (a crash, PayPal
//!   pending, an unreachable gateway): its finalization will debit what part-process promised.
//!   While such an attempt is open, **no other attempt on the same wallet part-processes**: it
//!   stays `planned` and is deferred with a message naming the open one. Finish that one first
//!   (resume it: `desk recover`, the app's recovery, or a click on it); the deferred attempt is
//!   then captured again and part-process promises what is left.
//! * **The rule**, checked with the lease held: a `planned` attempt part-processes only while it
//!   holds its wallet's lease and no other open attempt on that wallet carries the promise; the
//!   lease is confirmed (renewed, by this run's holder id: [`confirm`]) again just before
//!   `part_processed` is written. An attempt
//!   past part-process never needs the lease to go on (its promise is in the journal); it takes
//!   the lease when it can, so that attempts queued behind it wait for it instead of being
//!   deferred, and goes on without it when it cannot.
//!
//! Across desks (which share nothing) no lease helps: a finalization refused for the wallet
//! after PayPal captured ends `needs_attention` with what happened and how to resolve it (see
//! `gateway_steps.rs`).

use super::engine::Engine;
use super::journal::{self, Entry, State};
pub use super::lease::{Held, RENEW_EVERY, TTL, WAIT};
use super::lease::{Kind, Lease};
use super::result::CaptureResult;
use crate::DeskError;
use sqlx::SqlitePool;

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

/// The unexpired lease on `key`, if any.
pub(crate) async fn holder(pool: &SqlitePool, key: &str) -> Result<Option<Held>, DeskError> {
    super::lease::holder(pool, Kind::Wallet, key).await
}

tokio::task_local! {
    /// The wallet lease the current run holds: (wallet key, holder id).
    static RUN_WALLET: Option<(String, String)>;
}

/// Runs `f` (a run of an attempt) as the holder of `lease`, so that [`confirm`] inside it
/// renews exactly that lease.
pub(crate) async fn within<F: std::future::Future>(lease: Option<&Lease>, key: &str, f: F) -> F::Output {
    RUN_WALLET.scope(lease.map(|l| (key.to_owned(), l.holder().to_owned())), f).await
}

/// Renews the wallet lease the current run (of journal `journal_id`) holds. `false`: it holds
/// none any more (it expired and another run, perhaps of the same attempt, took it over), so it
/// must not part-process now. Matches the run's **holder id**, never just the journal id.
pub(crate) async fn confirm(pool: &SqlitePool, journal_id: i64) -> Result<bool, DeskError> {
    let Ok(Some((key, holder))) = RUN_WALLET.try_with(Clone::clone) else {
        return Ok(false);
    };
    // the holder id names the attempt its run drives (`…/j{journal id}`)
    if !holder.ends_with(&format!("/j{journal_id}")) {
        return Ok(false);
    }
    super::lease::renew(pool, Kind::Wallet, &key, &holder).await
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
    /// Run the attempt (holding the lease on the wallet key, or without it past part-process).
    Run(Option<(Lease, String)>),
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
        let lease = match Lease::acquire(self.pool, Kind::Wallet, &key, e, WAIT).await? {
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
        Ok(Entered::Run(Some((lease, key))))
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
