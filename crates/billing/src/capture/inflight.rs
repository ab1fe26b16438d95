//! In one process, one run per invoice.
//!
//! The app resumes every unfinished attempt at start; a clerk may click the same invoice
//! meanwhile, or a batch may list it twice. Two runs of one journal entry would each send the
//! step's call (a capture replayed with the same request id, a second finalization read-then-
//! sent). So a run holds its invoice here, keyed on (desk id, invoice number), for as long as it
//! runs. A second caller **waits** for the first to finish, then reads the entry again from the
//! journal and goes on from where the first left it (usually: it is finished, and the second
//! caller is told its outcome). Across processes the journal's own rules apply (one open attempt
//! per invoice, stale-row refusal, the wallet lease).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
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

/// Waits until no other run of this process holds `invoice_no` of `desk_id`, then holds it;
/// the flag says whether another run held it first.
pub async fn hold(desk_id: &str, invoice_no: i64) -> (InvoiceHold, bool) {
    let key = (desk_id.to_owned(), invoice_no);
    let lock = {
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key.clone()).or_default())
    };
    let (guard, waited) = match Arc::clone(&lock).try_lock_owned() {
        Ok(g) => (g, false),
        Err(_) => {
            tracing::info!(invoice_no, "another run of this process holds the invoice; waiting for it");
            (Arc::clone(&lock).lock_owned().await, true)
        }
    };
    (InvoiceHold { key, lock, guard: Some(guard) }, waited)
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
        let (first, waited) = hold("desk-t", 7).await;
        assert!(!waited && is_held("desk-t", 7));
        let other = hold("desk-t", 8).await; // another invoice is not held up
        let second = tokio::spawn(async { hold("desk-t", 7).await.1 });
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
}
