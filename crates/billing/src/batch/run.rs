//! The run: every queued item through the journaled capture workflow ([`Engine`]), `concurrency`
//! at a time, exactly once; items that draw on one customer's wallet one after another. The
//! pace of the requests is the desk's ([`pace::Pace`], set by the caller); this paces nothing
//! itself.
//!
//! * A run holds the batch's run lease (`run_lease`) from before it starts until it ends: a
//!   second runner, in this process or another, is refused while it is live. Pause and cancel
//!   need no lease (below).
//! * Before each item the batch's state is read: `paused` or `cancelled` (from any process)
//!   start nothing new (the items in flight finish). A run that lost its lease (stopped for
//!   longer than its TTL, and another run took the batch over) starts nothing new either.
//! * An item is marked `running` (with when it first started) before its capture is planned. A
//!   run after a crash resumes the item's own journal entry (linked, or planned after the item
//!   started) and never plans a second one while the first is open; the engine's locks keep
//!   two desks from driving one attempt.
//! * An attempt that must wait (PayPal holds the capture PENDING, a service did not answer) makes
//!   the item `pending`: the run does not wait for it; a later run or `desk recover` ends it.
//! * A finalized PayPal capture is read once more for its fee and net (the report's).

use super::progress::{Counts, Tell, Throttle};
use super::run_lease::RunLease;
use super::run_store::{self, Work};
use super::words::{BatchState, ItemOutcome, Verdict};
use super::{BatchError, RunProgress};
use crate::capture::journal::{self, PaypalCaptureStatus};
use crate::capture::{CaptureResult, Engine, State};
use crate::{DeskError, ErrorCode};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tracing::Instrument;

/// How many items run at once unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The most items at once.
pub const MAX_CONCURRENCY: usize = 32;

/// How a run went: the batch's state after it, and its items by outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub state: BatchState,
    pub counts: BTreeMap<ItemOutcome, usize>,
}

impl RunEnd {
    /// Items not at an end (pending or never reached).
    pub fn unfinished(&self) -> usize {
        self.counts.iter().filter(|(o, _)| !o.is_terminal()).map(|(_, n)| n).sum()
    }

    /// Items rejected or needing attention.
    pub fn failed(&self) -> usize {
        [ItemOutcome::Rejected, ItemOutcome::NeedsAttention].iter().filter_map(|o| self.counts.get(o)).sum()
    }
}

/// Runs batch `id` as `staff` (see the module's doc).
pub(crate) async fn run(
    engine: &Engine<'_>,
    id: i64,
    rate: &str,
    concurrency: usize,
    settle_for: Duration,
    progress: &(dyn Fn(RunProgress) + Send + Sync),
) -> Result<RunEnd, DeskError> {
    if engine.staff.trim().is_empty() {
        return Err(BatchError::NoStaff.into());
    }
    let lease = RunLease::take(engine.pool, id).await?;
    let end = run_held(engine, id, rate, concurrency, settle_for, progress, &lease).await;
    lease.release().await;
    end
}

/// [`run`] while it holds the batch's run lease.
async fn run_held(
    engine: &Engine<'_>,
    id: i64,
    rate: &str,
    concurrency: usize,
    settle_for: Duration,
    progress: &(dyn Fn(RunProgress) + Send + Sync),
    lease: &RunLease,
) -> Result<RunEnd, DeskError> {
    run_store::start(engine.pool, id, engine.staff, engine.environment, rate).await?;
    let work = run_store::work(engine.pool, id).await?;
    let counts = Mutex::new(Counts::of(&run_store::outcomes(engine.pool, id).await?));
    let throttle = Throttle::new(progress);
    throttle.tell(&counts, Tell::Now);
    // an error that is not an item's (credentials refused, the database failing) stops the run:
    // no chain starts another item after it
    let stop = AtomicBool::new(false);
    let mut chains = futures::stream::iter(chains(work))
        .map(|chain| {
            let (counts, throttle, stop) = (&counts, &throttle, &stop);
            async move {
                for item in chain {
                    if stop.load(Ordering::SeqCst) || !still_ours(engine, id, lease).await? {
                        break;
                    }
                    let (no, before) = (item.invoice_no, item.outcome);
                    let span = tracing::info_span!("batch_item", batch = id, invoice_no = no);
                    match run_item(engine, id, item).instrument(span).await {
                        Ok(Some(after)) => {
                            Counts::moved(counts, before, after);
                            throttle.tell(counts, Tell::IfDue);
                        }
                        Ok(None) => {}
                        Err(e) => {
                            stop.store(true, Ordering::SeqCst);
                            return Err(e);
                        }
                    }
                }
                Ok::<(), DeskError>(())
            }
        })
        .buffer_unordered(concurrency.clamp(1, MAX_CONCURRENCY));
    let mut first_error = None;
    while let Some(done) = chains.next().await {
        if let Err(e) = done {
            // stop starting new work, let the chains in flight end their item
            tracing::warn!(code = ?e.code, detail = ?e.detail, "batch run stopped: {}", e.message);
            if first_error.is_none() {
                first_error = Some(e);
            }
        }
    }
    drop(chains);
    if first_error.is_none() {
        if let Err(e) = settle(engine, id, settle_for, &counts, &throttle, lease).await {
            first_error = Some(e);
        }
    }
    if first_error.is_none() && lease.is_lost() {
        // another run took the batch over: this one ends here, and says so
        first_error = Some(lease.lost_to().await?);
    }
    if first_error.is_none() {
        if let Err(e) = fill_fees(engine, Some(id)).await {
            tracing::warn!(code = ?e.code, "the fees of batch items could not be read: {}", e.message);
        }
    }
    let state = run_store::finish(engine.pool, id, engine.staff, engine.environment).await?;
    throttle.tell(&counts, Tell::Last);
    if let Some(e) = first_error {
        return Err(e);
    }
    let by_outcome = run_store::outcomes(engine.pool, id).await?.into_iter().filter_map(|(o, n)| Some((o?, n)));
    Ok(RunEnd { state, counts: by_outcome.collect() })
}

/// How often the items left waiting are tried again at the end of a run.
const SETTLE_EVERY: Duration = Duration::from_secs(3);

/// The end of a run: items left `pending` by an attempt that waits out the window of a send
/// still in flight (after a crash), a service that did not answer, or another process holding
/// the invoice are tried again every [`SETTLE_EVERY`] for at most `settle_for` (the in-flight
/// window), one after another. Captures PayPal holds PENDING are not waited for.
async fn settle(
    engine: &Engine<'_>,
    id: i64,
    settle_for: Duration,
    counts: &Mutex<Counts>,
    throttle: &Throttle<'_>,
    lease: &RunLease,
) -> Result<(), DeskError> {
    let deadline = tokio::time::Instant::now() + settle_for;
    loop {
        let mut waiting = Vec::new();
        for w in run_store::work(engine.pool, id).await? {
            if w.outcome == Some(ItemOutcome::Pending) && !pending_at_paypal(engine, w.journal_id).await? {
                waiting.push(w);
            }
        }
        if waiting.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tracing::info!(batch = id, items = waiting.len(), "waiting to finish the items left unfinished");
        tokio::time::sleep(SETTLE_EVERY).await;
        for w in waiting {
            if !still_ours(engine, id, lease).await? {
                return Ok(());
            }
            let (no, before) = (w.invoice_no, w.outcome);
            let span = tracing::info_span!("batch_item", batch = id, invoice_no = no);
            if let Some(after) = run_item(engine, id, w).instrument(span).await? {
                Counts::moved(counts, before, after);
                throttle.tell(counts, Tell::IfDue);
            }
        }
    }
}

/// Whether the run may start another item: this run still holds its lease (confirmed in the
/// database; a database busy past its busy timeout is asked again, not an error that ends the
/// run: [`RunLease::confirm`]) and the batch is still `running` (not paused or cancelled, from
/// any process).
async fn still_ours(engine: &Engine<'_>, id: i64, lease: &RunLease) -> Result<bool, DeskError> {
    Ok(lease.confirm().await? && run_store::state(engine.pool, id).await? == BatchState::Running)
}

async fn pending_at_paypal(engine: &Engine<'_>, journal_id: Option<i64>) -> Result<bool, DeskError> {
    Ok(match journal_id {
        Some(j) => {
            journal::get(engine.pool, j).await?.is_some_and(|e| e.capture_status == Some(PaypalCaptureStatus::Pending))
        }
        None => false,
    })
}

/// Items that share a customer's wallet (`wallet_shared`) in one chain, run one after another;
/// every other item a chain of its own. In the batch's order.
fn chains(work: Vec<Work>) -> Vec<Vec<Work>> {
    let mut chains: Vec<Vec<Work>> = Vec::new();
    let mut by_customer: BTreeMap<String, usize> = BTreeMap::new();
    for w in work {
        match (w.verdict, w.customer_id.clone()) {
            (Some(Verdict::WalletShared), Some(customer)) => match by_customer.get(&customer) {
                Some(&at) => chains[at].push(w),
                None => {
                    by_customer.insert(customer, chains.len());
                    chains.push(vec![w]);
                }
            },
            _ => chains.push(vec![w]),
        }
    }
    chains
}

/// One item to an end or to a wait; its outcome (`None`: cancelled before it started).
/// `Err` stops the run (credentials refused, the database failing): nothing about the item is
/// concluded then.
async fn run_item(engine: &Engine<'_>, id: i64, item: Work) -> Result<Option<ItemOutcome>, DeskError> {
    let no = item.invoice_no;
    let Some(started_at) = run_store::mark_started(engine.pool, id, no).await? else {
        return Ok(None); // cancelled meanwhile
    };
    // the item's own attempt: linked, or planned since the item first started (a crash between
    // planning it and linking it); never a second attempt beside an open one
    let own = match item.journal_id {
        Some(j) => journal::get(engine.pool, j).await?,
        None => journal::recent(engine.pool, Some(no), 1)
            .await?
            .into_iter()
            .next()
            .filter(|e| e.created_at >= started_at || !e.state().is_terminal()),
    };
    let resumed = own.is_some();
    let result = match own {
        Some(entry) => engine.resume(entry).await,
        None => engine.capture(no).await,
    };
    let (outcome, reason, journal_id) = match result {
        // an attempt that ended before this item started is not the batch's (a capture made
        // outside the batch, between approval and the run): the item does not claim it
        Ok(r) if r.finished && !resumed && started_before(engine, r.journal_id, &started_at).await? => (
            ItemOutcome::Excluded,
            Some(format!(
                "Ended outside this batch before its run reached it (journal entry {}): {}",
                r.journal_id, r.message
            )),
            None,
        ),
        Ok(r) => {
            let (outcome, reason) = outcome_of(engine, &r).await?;
            (outcome, reason, Some(r.journal_id))
        }
        Err(e) => match settled_by(&e) {
            // an attempt of this item exists: whatever failed, it is not "nothing moved"
            Settled::Item(ItemOutcome::Rejected) if resumed => (ItemOutcome::Pending, Some(e.message.clone()), None),
            Settled::Item(outcome) => (outcome, Some(e.message.clone()), None),
            Settled::Run => return Err(e),
        },
    };
    run_store::record_outcome(
        engine.pool,
        id,
        no,
        outcome,
        reason.as_deref(),
        journal_id,
        engine.staff,
        engine.environment,
    )
    .await?;
    if outcome == ItemOutcome::Finalized {
        if let Some(j) = journal_id {
            fee_of(engine, id, no, j).await;
        }
    }
    Ok(Some(outcome))
}

/// Whether journal entry `journal_id` was made before `started_at` (the item's first start).
async fn started_before(engine: &Engine<'_>, journal_id: i64, started_at: &str) -> Result<bool, DeskError> {
    Ok(journal::get(engine.pool, journal_id).await?.is_some_and(|e| e.created_at.as_str() < started_at))
}

/// The item's outcome from where its attempt stands.
async fn outcome_of(engine: &Engine<'_>, r: &CaptureResult) -> Result<(ItemOutcome, Option<String>), DeskError> {
    Ok(match r.state {
        State::Finalized => (ItemOutcome::Finalized, None),
        State::Rejected => (ItemOutcome::Rejected, Some(r.message.clone())),
        State::NeedsAttention => (ItemOutcome::NeedsAttention, Some(r.message.clone())),
        _ => {
            let why = if pending_at_paypal(engine, Some(r.journal_id)).await? {
                r.message.clone()
            } else {
                format!("{} A later run or `desk recover` finishes it.", r.message)
            };
            (ItemOutcome::Pending, Some(why))
        }
    })
}

enum Settled {
    /// The item ends (or waits) with this outcome; the run goes on.
    Item(ItemOutcome),
    /// The run stops: what went wrong is not the item's.
    Run,
}

/// An error from starting an item's capture: refusals of the invoice itself end the item
/// (nothing was planned, so nothing moved); a service not answering or another process
/// holding the invoice leave it `pending`; credentials refused or the database failing stop
/// the run.
fn settled_by(e: &DeskError) -> Settled {
    match e.code {
        ErrorCode::BadInput | ErrorCode::NotFound | ErrorCode::GatewayRejected | ErrorCode::PaypalRejected => {
            Settled::Item(ItemOutcome::Rejected)
        }
        ErrorCode::Offline
        | ErrorCode::GatewayError
        | ErrorCode::PaypalError
        | ErrorCode::InvalidResponse
        | ErrorCode::Conflict => Settled::Item(ItemOutcome::Pending),
        ErrorCode::GatewayUnauthorized
        | ErrorCode::MissingCredentials
        | ErrorCode::NoKeyring
        | ErrorCode::Storage
        | ErrorCode::Internal => Settled::Run,
    }
}

/// Reads the fee and net of every finalized item (of batch `id`, or of any batch) whose capture
/// was finalized outside a run (`desk recover`) or whose read failed.
pub(crate) async fn fill_fees(engine: &Engine<'_>, id: Option<i64>) -> Result<(), DeskError> {
    for (batch, no, journal_id) in run_store::missing_fees(engine.pool, id).await? {
        fee_of(engine, batch, no, journal_id).await;
    }
    Ok(())
}

/// PayPal's fee and net of a finalized item's capture, for the report, as PayPal writes them
/// (its digits); a failed read leaves them unknown (the report says so), it changes no outcome.
async fn fee_of(engine: &Engine<'_>, id: i64, no: i64, journal_id: i64) {
    let entry = match journal::get(engine.pool, journal_id).await {
        Ok(Some(e)) => e,
        _ => return,
    };
    let Some(capture_id) = entry.capture_id.as_deref() else { return };
    match engine.paypal.get_capture(capture_id).await {
        Ok(c) => {
            if let (Some(fee), Some(net)) = (&c.paypal_fee, &c.net_amount) {
                let stored = run_store::record_fee(
                    engine.pool,
                    id,
                    no,
                    &fee.to_paypal_string(),
                    &net.to_paypal_string(),
                    fee.currency().code(),
                )
                .await;
                if let Err(e) = stored {
                    tracing::warn!(invoice_no = no, "the capture's fee could not be stored: {}", e.message);
                }
            }
        }
        Err(e) => {
            tracing::info!(invoice_no = no, code = e.code(), detail = %e.detail(), "the capture's fee could not be read")
        }
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
