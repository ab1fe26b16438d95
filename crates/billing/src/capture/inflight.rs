//! One driver per open journal entry.
//!
//! The app resumes every unfinished attempt at start; a clerk may click the same invoice
//! meanwhile, a batch may list it twice, and `desk recover` may run beside the app (or beside
//! another `desk recover`). Two runs of one journal entry would each send the step's call (a
//! capture replayed with the same request id, a second finalization read-then-sent). Two locks,
//! always taken in this order (then the wallet lease, `wallet_lease.rs`), keep it to one:
//!
//! * **In one process**, a run holds its invoice here ([`hold`]), keyed on (desk id, invoice
//!   number), for as long as it runs.
//! * **In one data directory** (every process), the run then takes the attempt's **entry
//!   lease** ([`take_entry`]: a row of `entry_lease` with a holder id and an expiry renewed
//!   while held, `lease.rs`), and only then reads the entry again from the journal: whatever
//!   another run (of this process or another) did meanwhile is seen, so a finished attempt is not
//!   sent again, and a sent one is resumed by reading what it did.
//!
//! A second caller **waits** for either, at most [`WAIT`] (longer than a read with its retries,
//! not a whole PayPal capture: see there). One that gives up leaves the entry as it was (nothing written, nothing sent) and is
//! told that another run is working on it ([`busy`]); the clerk tries again later. A process
//! killed while holding the entry lease blocks the attempt for at most the lease's TTL; the next
//! run takes it over. A run that finds its lease lost (expired and perhaps taken over) stops
//! before its next step.

use super::journal::Entry;
use super::lease::{Held, Kind, Lease, WAIT};
use crate::{DeskError, ErrorCode};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

type Key = (String, i64);

fn registry() -> &'static Mutex<HashMap<Key, Arc<AsyncMutex<()>>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Key, Arc<AsyncMutex<()>>>>> = OnceLock::new();
    REGISTRY.get_or_init(Mutex::default)
}

/// This process's hold on one invoice; released when dropped.
pub struct InvoiceHold {
    key: Key,
    lock: Arc<AsyncMutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

/// Waits until no other run of this process holds `invoice_no` of `desk_id` (at most `wait`),
/// then holds it; the flag says whether another run held it first. `None`: still held after
/// `wait`.
pub async fn hold(desk_id: &str, invoice_no: i64, wait: Duration) -> Option<(InvoiceHold, bool)> {
    let key = (desk_id.to_owned(), invoice_no);
    let lock = {
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.clone()).or_default())
    };
    let (guard, waited) = match Arc::clone(&lock).try_lock_owned() {
        Ok(g) => (g, false),
        Err(_) => {
            tracing::info!(invoice_no, "another run of this process holds the invoice; waiting for it");
            match tokio::time::timeout(wait, Arc::clone(&lock).lock_owned()).await {
                Ok(g) => (g, true),
                Err(_) => {
                    // give the key back to the registry's bookkeeping: nobody holds it for us
                    forget_if_unused(&key, lock);
                    return None;
                }
            }
        }
    };
    Some((InvoiceHold { key, lock, guard: Some(guard) }, waited))
}

fn forget_if_unused(key: &Key, lock: Arc<AsyncMutex<()>>) {
    let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
    // the map's and ours: nobody waits, nobody else took it; forget the key
    if Arc::strong_count(&lock) == 2 && lock.try_lock().is_ok() {
        map.remove(key);
    }
}

impl Drop for InvoiceHold {
    fn drop(&mut self) {
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        drop(self.guard.take());
        // the map's and ours: nobody waits, nobody else took it; forget the key
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(&self.key);
        }
    }
}

tokio::task_local! {
    /// The entry lease the current run holds: (journal id, holder id).
    static RUN_ENTRY: (i64, String);
}

/// Runs `f` (a run of entry `journal_id`) as the holder of `lease`, so that every journal
/// transition and every send inside it is checked against exactly that holder.
pub(crate) async fn within<F: std::future::Future>(lease: &Lease, journal_id: i64, f: F) -> F::Output {
    RUN_ENTRY.scope((journal_id, lease.holder().to_owned()), f).await
}

/// The holder id of the entry lease the current run holds on entry `journal_id`, if any.
pub(crate) fn run_holder(journal_id: i64) -> Option<String> {
    RUN_ENTRY.try_with(|(id, holder)| (*id == journal_id).then(|| holder.clone())).ok().flatten()
}

/// The entry lease's key for journal entry `journal_id`.
pub fn entry_key(journal_id: i64) -> String {
    format!("journal:{journal_id}")
}

/// Takes the entry lease of `e` for this run, waiting at most `wait` for another run (of any
/// process on this data directory). `Err(held)`: another run still holds it.
pub(crate) async fn take_entry(pool: &SqlitePool, e: &Entry, wait: Duration) -> Result<Result<Lease, Held>, DeskError> {
    Lease::acquire(pool, Kind::Entry, &entry_key(e.id), e, wait).await
}

/// For a clerk: the run gave up waiting for `e` (another run holds it); nothing was done.
pub(crate) fn busy(e: &Entry, held: Option<&Held>) -> DeskError {
    let who = match held {
        Some(h) => format!("entry_busy: journal {} is held by run {}", e.id, h.holder),
        None => format!("entry_busy: invoice {} is held by another run of this process", e.invoice_no),
    };
    DeskError::new(
        ErrorCode::Conflict,
        format!(
            "Another Capture Desk run is working on the capture of invoice {} right now (waited {} s for it). \
             Nothing was sent and the capture is left as it was; try again once that run has finished.",
            e.invoice_no,
            WAIT.as_secs()
        ),
    )
    .with_detail(who)
}

/// For a clerk: the run's entry lease was lost mid-way (expired and perhaps taken over).
pub(crate) fn lost(e: &Entry) -> DeskError {
    DeskError::new(
        ErrorCode::Conflict,
        format!(
            "Another Capture Desk run took over the capture of invoice {} (this run paused for too long); \
             this run stopped before its next step.",
            e.invoice_no
        ),
    )
    .with_detail(format!("entry_lease_lost: journal {} state {}", e.id, e.state().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn is_held(desk_id: &str, invoice_no: i64) -> bool {
        let map = registry().lock().expect("registry");
        map.get(&(desk_id.to_owned(), invoice_no)).is_some_and(|l| l.try_lock().is_err())
    }

    #[tokio::test]
    async fn a_second_run_waits_for_the_first_and_the_key_is_forgotten_after() {
        let (first, waited) = hold("desk-t", 7, WAIT).await.expect("held");
        assert!(!waited && is_held("desk-t", 7));
        let other = hold("desk-t", 8, WAIT).await.expect("held"); // another invoice is not held up
        let second = tokio::spawn(async { hold("desk-t", 7, WAIT).await.expect("held").1 });
        tokio::time::timeout(Duration::from_millis(100), async {
            while !second.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect_err("the second run waits while the first holds the invoice");
        drop(first);
        assert!(second.await.expect("joined"), "it waited");
        drop(other);
        assert!(!is_held("desk-t", 7) && !is_held("desk-t", 8));
        let map = registry().lock().expect("registry");
        assert!(!map.contains_key(&("desk-t".to_owned(), 7)) && !map.contains_key(&("desk-t".to_owned(), 8)));
    }

    #[tokio::test]
    async fn a_second_run_gives_up_after_its_wait_and_the_first_keeps_the_invoice() {
        let (first, _) = hold("desk-g", 7, WAIT).await.expect("held");
        assert!(hold("desk-g", 7, Duration::from_millis(50)).await.is_none(), "gave up");
        assert!(is_held("desk-g", 7), "the first still holds it");
        drop(first);
        assert!(registry().lock().expect("registry").get(&("desk-g".to_owned(), 7)).is_none(), "forgotten");
        let (again, waited) = hold("desk-g", 7, Duration::ZERO).await.expect("free again");
        assert!(!waited);
        drop(again);
    }
}
