//! In one process, one run per invoice.
//!
//! The app resumes every unfinished attempt at start; a clerk may click the same invoice
//! meanwhile, or a batch may list it twice. Two runs of one journal entry would each send the
//! step's call (a capture replayed with the same request id, a second finalization read-then-
//! sent). So a run holds its invoice here, keyed on the desk's database pool (one per opened
//! `Desk`) and the invoice number, for as long as it runs. A second caller **waits** for the first
//! to finish, then reads the entry again from the journal and goes on from where the first left it
//! (usually: it is finished, and the second caller is told its outcome). Two `Desk`s opened on one
//! data directory are two pools: between them, as between processes, the journal's own rules
//! apply (one open attempt per invoice, each `*_sent` state written before its call, the
//! stale-row refusal, the wallet lease).

use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// (the pool's identity, the invoice number)
type Key = (usize, i64);

/// One pool (and its clones) is one opened desk: its connect options live as long as it does.
fn pool_identity(pool: &SqlitePool) -> usize {
    Arc::as_ptr(&pool.connect_options()) as usize
}

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

/// Waits until no other run on this desk (`pool`) holds `invoice_no`, then holds it; the flag
/// says whether another run held it first.
pub async fn hold(pool: &SqlitePool, invoice_no: i64) -> (InvoiceHold, bool) {
    let key = (pool_identity(pool), invoice_no);
    let lock = {
        let mut map = registry().lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(map.entry(key).or_default())
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

    fn is_held(pool: &SqlitePool, invoice_no: i64) -> bool {
        let map = registry().lock().expect("registry");
        map.get(&(pool_identity(pool), invoice_no)).is_some_and(|l| l.try_lock().is_err())
    }

    async fn pool() -> SqlitePool {
        SqlitePool::connect("sqlite::memory:").await.expect("pool")
    }

    #[tokio::test]
    async fn a_second_run_on_one_desk_waits_for_the_first_and_the_key_is_forgotten_after() {
        let (desk, other_desk) = (pool().await, pool().await);
        let (first, waited) = hold(&desk, 7).await;
        assert!(!waited && is_held(&desk, 7));
        let other_invoice = hold(&desk, 8).await; // another invoice is not held up
        let (on_other_desk, waited) = hold(&other_desk, 7).await; // nor another desk: the journal decides there
        assert!(!waited);
        let clone = desk.clone();
        let second = tokio::spawn(async move { hold(&clone, 7).await.1 });
        tokio::time::timeout(Duration::from_millis(100), async {
            while !second.is_finished() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect_err("the second run waits while the first holds the invoice");
        drop(first);
        assert!(second.await.expect("joined"), "it waited");
        drop((other_invoice, on_other_desk));
        assert!(!is_held(&desk, 7) && !is_held(&desk, 8) && !is_held(&other_desk, 7));
        let map = registry().lock().expect("registry");
        assert!(!map.contains_key(&(pool_identity(&desk), 7)) && !map.contains_key(&(pool_identity(&desk), 8)));
    }
}
