use super::*;
use crate::capture::journal::{self, Plan};
use crate::Environment;

/// A fresh database (the directory must outlive the pool).
pub(in crate::capture) async fn database() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = crate::store::open(dir.path()).await.expect("database");
    (dir, pool)
}

/// A planned attempt (intent CAPTURE, order ORDER1, 10.00 USD) for `invoice_no`.
pub(in crate::capture) async fn entry(pool: &SqlitePool, invoice_no: i64) -> Entry {
    let plan = Plan {
        invoice_no,
        intent: Some("CAPTURE"),
        order_id: Some("ORDER1"),
        authorization_id: None,
        currency: "USD",
        outstanding: "10.00",
        staff: "t",
        environment: Environment::Sandbox,
    };
    journal::plan(pool, "desk", &plan).await.expect("planned")
}

/// The lease a run of this process held expires (as if the process had stopped for longer than
/// the TTL): its row is left as it was, only past its expiry.
async fn expire(pool: &SqlitePool, kind: Kind, key: &str) {
    sqlx::query(&format!("UPDATE {} SET expires_at = ? WHERE {} = ?", kind.table(), kind.key_column()))
        .bind(now_ms() - 1)
        .bind(key)
        .execute(pool)
        .await
        .expect("expired");
}

async fn rows(pool: &SqlitePool, kind: Kind) -> Vec<(String, String)> {
    sqlx::query_as(&format!("SELECT {}, holder FROM {}", kind.key_column(), kind.table()))
        .fetch_all(pool)
        .await
        .expect("rows")
}

#[tokio::test]
async fn a_holder_whose_lease_was_taken_over_can_neither_renew_confirm_nor_release_the_new_holders() {
    let (_dir, pool) = database().await;
    for kind in [Kind::Entry, Kind::Wallet] {
        let e = entry(&pool, 7).await;
        let key = format!("key-of-{kind:?}");
        let first = Lease::acquire(&pool, kind, &key, &e, Duration::ZERO).await.expect("db").expect("free");
        expire(&pool, kind, &key).await;
        // the same entry, another run (another process): the expired lease is taken over
        let second = Lease::acquire(&pool, kind, &key, &e, Duration::ZERO).await.expect("db").expect("taken over");
        assert_ne!(first.holder(), second.holder());
        assert!(!renew(&pool, kind, &key, first.holder()).await.expect("db"), "{kind:?}: renewed another's lease");
        assert!(!first.confirm().await.expect("db"), "{kind:?}: the first run confirmed the second's lease");
        assert!(first.is_lost());
        first.release().await;
        assert_eq!(rows(&pool, kind).await, vec![(key.clone(), second.holder().to_owned())], "{kind:?}");
        assert!(second.confirm().await.expect("db") && !second.is_lost());
        second.release().await;
        assert_eq!(rows(&pool, kind).await, vec![], "{kind:?}");
    }
}

#[tokio::test]
async fn a_waiter_gives_up_after_its_wait_and_says_who_holds_it() {
    let (_dir, pool) = database().await;
    let e = entry(&pool, 8).await;
    let held = Lease::acquire(&pool, Kind::Entry, "k", &e, Duration::ZERO).await.expect("db").expect("free");
    let started = tokio::time::Instant::now();
    let refused = Lease::acquire(&pool, Kind::Entry, "k", &e, Duration::from_millis(200)).await.expect("db");
    let who = refused.err().expect("still held");
    assert!(started.elapsed() >= Duration::from_millis(200), "it waited");
    assert_eq!((who.holder.as_str(), who.journal_id, who.invoice_no), (held.holder(), e.id, 8));
    assert_eq!(holder(&pool, Kind::Entry, "k").await.expect("db"), Some(who));
    held.release().await;
    assert_eq!(holder(&pool, Kind::Entry, "k").await.expect("db"), None);
}

/// The longest one read may take with its own retries: every attempt timing out, and the
/// longest back-off between attempts (PayPal's `Retry-After` aside, which may be longer).
fn read_budget(paypal: &paypal::ClientOptions, gateway: &gateway::ClientOptions) -> Duration {
    let budget = |attempts: u32, timeout: Duration, connect: Duration, backoff_max: Duration| {
        let attempts = attempts.max(1);
        (timeout + connect) * attempts + backoff_max * (attempts - 1)
    };
    let paypal_call = budget(paypal.attempts, paypal.timeout, paypal.connect_timeout, paypal.backoff_max);
    let gateway_call = budget(gateway.read_attempts, gateway.timeout, gateway.connect_timeout, gateway.backoff_max);
    paypal_call.max(gateway_call)
}

/// `WAIT` as documented: a waiter outlasts a holder's read with all its retries, not a PayPal
/// capture's whole budget (`paypal::post_budget`, the client's own, tokens and `Retry-After`
/// waits included): a waiter during a long capture gets its Conflict, nothing sent.
#[test]
fn a_waiter_waits_longer_than_a_read_with_its_retries_not_a_whole_capture() {
    let budget = read_budget(&paypal::ClientOptions::default(), &gateway::ClientOptions::default());
    assert!(budget >= Duration::from_secs(120), "{budget:?}");
    assert!(WAIT >= budget, "WAIT {WAIT:?} is shorter than one read's budget {budget:?}");
    let capture = paypal::post_budget(&paypal::ClientOptions::default());
    assert!(WAIT < capture, "WAIT {WAIT:?} outlasts a capture ({capture:?}): say so in lease.rs");
    // renewed well within its lifetime, and retried soon when a renewal fails
    assert!(RENEW_EVERY * 2 + RETRY_RENEWAL * 3 <= TTL);
}

/// A live holder's renewal is due every `RENEW_EVERY` and may wait SQLite's whole busy timeout
/// before it is written: the TTL leaves room for that twice (before: 15 s, shorter than one
/// renewal interval plus a busy wait, twice). The busy timeout is read back from a connection
/// of the store, so a change in `store.rs` fails here.
#[tokio::test]
async fn a_lease_outlives_two_renewals_that_each_wait_the_whole_busy_timeout() {
    let (_dir, pool) = database().await;
    let busy_ms: i64 = sqlx::query_scalar("PRAGMA busy_timeout").fetch_one(&pool).await.expect("pragma");
    let busy = Duration::from_millis(u64::try_from(busy_ms).expect("non-negative"));
    assert_eq!(busy, BUSY_TIMEOUT, "store.rs and lease.rs agree on the busy timeout");
    assert!(TTL >= (RENEW_EVERY + busy) * 2, "TTL {TTL:?} < 2 × ({RENEW_EVERY:?} + {busy:?})");
    assert_eq!(i128::from(ttl_ms()), i128::try_from(TTL.as_millis()).expect("ms"));
}

/// `wallet_lease::confirm`, as the part-process step calls it, for the same attempt run twice:
/// the run whose lease expired and was taken over is told it holds none (it matched the journal
/// id before, so it renewed the second run's lease and part-processed beside it).
#[tokio::test]
async fn the_part_process_confirmation_matches_the_runs_holder_not_the_journal_id() {
    use crate::capture::wallet_lease::{confirm, within};
    let (_dir, pool) = database().await;
    let e = entry(&pool, 9).await;
    let key = "customer:c9";
    let first = Lease::acquire(&pool, Kind::Wallet, key, &e, Duration::ZERO).await.expect("db").expect("free");
    assert!(within(Some(&first), key, confirm(&pool, e.id)).await.expect("db"), "the holder confirms");
    expire(&pool, Kind::Wallet, key).await;
    let second = Lease::acquire(&pool, Kind::Wallet, key, &e, Duration::ZERO).await.expect("db").expect("taken over");
    assert!(!within(Some(&first), key, confirm(&pool, e.id)).await.expect("db"), "the first run lost it");
    assert!(within(Some(&second), key, confirm(&pool, e.id)).await.expect("db"), "the second holds it");
    assert!(!within(None, key, confirm(&pool, e.id)).await.expect("db"), "a run without the lease");
    // the first run gives back nothing of the second's
    first.release().await;
    assert_eq!(rows(&pool, Kind::Wallet).await, vec![(key.to_owned(), second.holder().to_owned())]);
    second.release().await;
}
