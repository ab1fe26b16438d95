//! One client-side request pace shared by the gateway and PayPal clients of a desk.
//!
//! A batch capture review must stay within the services' rate limits: the **sum** of every
//! request both clients send (retries, OAuth token requests and polls included) is paced at
//! `rate` requests a second, and a 429's `Retry-After` holds **every** request back, not only
//! the one that met it.
//!
//! Each request takes the next free slot; slots are `1/rate` apart. A slot nobody took is not
//! saved up beyond [`Pace::CREDIT_MS`], so after a quiet spell at most `rate × CREDIT_MS`
//! requests go at once (well inside a token bucket that holds a second or more). Without a rate
//! the pace only counts.

use rust_decimal::Decimal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Requests a second, as given (`--rate`, the setting): above zero, at most [`Rate::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(Decimal);

impl Rate {
    /// The largest rate accepted.
    pub const MAX: u32 = 100_000;

    pub fn per_second(r: Decimal) -> Option<Rate> {
        (r > Decimal::ZERO && r <= Decimal::from(Self::MAX)).then_some(Rate(r.normalize()))
    }

    /// A whole number of requests a second (always within [`Rate::MAX`]).
    pub fn whole(n: std::num::NonZeroU16) -> Rate {
        Rate(Decimal::from(n.get()))
    }

    /// `"20"`, `"2.5"`.
    pub fn parse(text: &str) -> Option<Rate> {
        text.trim().parse::<Decimal>().ok().and_then(Rate::per_second)
    }

    pub fn get(self) -> Decimal {
        self.0
    }

    fn interval(self) -> Duration {
        let nanos = (Decimal::from(1_000_000_000_u64) / self.0).round();
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX).max(1))
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug)]
struct Slots {
    /// The rate set with [`Pace::set_rate`].
    base: Option<Rate>,
    /// The limits in force ([`Pace::limit`]), by id.
    limits: Vec<(u64, Rate)>,
    next_limit: u64,
    /// In force: the lowest of the limits, else the base.
    rate: Option<Rate>,
    interval: Option<Duration>,
    /// The next free slot.
    next: Instant,
    /// No request before this (a 429's `Retry-After`).
    held_until: Option<Instant>,
}

/// The pace. Share it (`Arc`) between the clients it paces.
#[derive(Debug)]
pub struct Pace {
    slots: Mutex<Slots>,
    sent: AtomicU64,
    held: AtomicU64,
}

impl Slots {
    /// The rate in force after a change of the base or the limits.
    fn settle(&mut self) {
        self.rate = self.limits.iter().map(|(_, r)| *r).min_by(|a, b| a.0.cmp(&b.0)).or(self.base);
        self.interval = self.rate.map(Rate::interval);
    }
}

/// A limit in force while it lives (see [`Pace::limit`]).
#[derive(Debug)]
#[must_use]
pub struct Limit<'a> {
    pace: &'a Pace,
    id: u64,
}

impl Drop for Limit<'_> {
    fn drop(&mut self) {
        let mut s = self.pace.lock();
        s.limits.retain(|(id, _)| *id != self.id);
        s.settle();
    }
}

impl Default for Pace {
    fn default() -> Self {
        Pace::unlimited()
    }
}

impl Pace {
    /// How long (ms) a slot nobody took stays usable.
    pub const CREDIT_MS: u64 = 250;

    /// No limit: requests are only counted.
    pub fn unlimited() -> Pace {
        Pace {
            slots: Mutex::new(Slots {
                base: None,
                limits: Vec::new(),
                next_limit: 0,
                rate: None,
                interval: None,
                next: Instant::now(),
                held_until: None,
            }),
            sent: AtomicU64::new(0),
            held: AtomicU64::new(0),
        }
    }

    /// At most `rate` requests a second.
    pub fn limited(rate: Rate) -> Pace {
        let pace = Pace::unlimited();
        pace.set_rate(Some(rate));
        pace
    }

    /// Sets (or with `None` lifts) the base rate from now on (a [`Pace::limit`] in force is
    /// kept). Slots already given keep their time.
    pub fn set_rate(&self, rate: Option<Rate>) {
        let mut s = self.lock();
        s.base = rate;
        s.settle();
    }

    /// Limits the pace to `rate` while the returned guard lives. Limits overlap safely (two
    /// batch operations in one app): while several are in force the lowest rate applies, and
    /// when the last ends the base rate is back.
    pub fn limit(&self, rate: Rate) -> Limit<'_> {
        let mut s = self.lock();
        let id = s.next_limit;
        s.next_limit += 1;
        s.limits.push((id, rate));
        s.settle();
        Limit { pace: self, id }
    }

    /// The limit in effect.
    pub fn rate(&self) -> Option<Rate> {
        self.lock().rate
    }

    /// Waits for this request's slot; call it right before every request is sent.
    pub async fn admit(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let at = self.reserve(Instant::now());
        if let Some(at) = at {
            tokio::time::sleep_until(at).await;
        }
        // a 429 met while this one waited holds it back too
        loop {
            let held = self.lock().held_until.filter(|h| *h > Instant::now());
            match held {
                Some(until) => tokio::time::sleep_until(until).await,
                None => break,
            }
        }
    }

    /// A service answered 429 with `Retry-After: wait`: no request of anyone's before then.
    pub fn hold_off(&self, wait: Duration) {
        self.held.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + wait;
        let mut s = self.lock();
        s.held_until = Some(s.held_until.map_or(until, |h| h.max(until)));
        s.next = s.next.max(until);
    }

    /// Requests admitted since the pace was made.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// How many times a 429 held every request back.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The slot of a request asked for at `now`; `None` to go at once.
    fn reserve(&self, now: Instant) -> Option<Instant> {
        let mut s = self.lock();
        let held = s.held_until.filter(|h| *h > now);
        if held.is_none() {
            s.held_until = None;
        }
        let Some(interval) = s.interval else {
            return held;
        };
        let credit = Duration::from_millis(Self::CREDIT_MS);
        let earliest = now.checked_sub(credit).unwrap_or(now);
        let mut slot = s.next.max(earliest);
        if let Some(h) = held {
            slot = slot.max(h);
        }
        s.next = slot + interval;
        (slot > now).then_some(slot)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spaced_at_the_rate_after_a_small_credit() {
        let pace = Pace::limited(Rate::parse("20").expect("rate"));
        // nothing was saved up at the start: the first request goes, then one every 50 ms
        let start = Instant::now();
        for _ in 0..21 {
            pace.admit().await;
        }
        let took = start.elapsed();
        assert_eq!(took, Duration::from_millis(1000), "{took:?}");
        assert_eq!(pace.sent(), 21);
        // a quiet second saves up only CREDIT of a second: 5 slots at 20/s
        tokio::time::advance(Duration::from_secs(1)).await;
        let start = Instant::now();
        for _ in 0..6 {
            pace.admit().await;
        }
        assert!(start.elapsed() <= Duration::from_millis(50), "{:?}", start.elapsed());
        let start = Instant::now();
        pace.admit().await;
        assert_eq!(start.elapsed(), Duration::from_millis(50));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_rate() {
        let pace = Arc::new(Pace::limited(Rate::parse("10").expect("rate")));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let pace = Arc::clone(&pace);
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    pace.admit().await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
        // 40 requests at 10/s: the first at once, the last 3.9 s later
        assert_eq!(start.elapsed(), Duration::from_millis(3900));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_off_holds_every_request_back_limited_or_not() {
        for pace in [Pace::unlimited(), Pace::limited(Rate::parse("100").expect("rate"))] {
            pace.hold_off(Duration::from_secs(2));
            let start = Instant::now();
            pace.admit().await;
            assert_eq!(start.elapsed(), Duration::from_secs(2));
            let start = Instant::now();
            pace.admit().await;
            assert!(start.elapsed() <= Duration::from_millis(10), "{:?}", start.elapsed());
            assert_eq!(pace.held(), 1);
        }
    }

    #[test]
    fn overlapping_limits_apply_the_lowest_and_the_base_comes_back_when_the_last_ends() {
        let pace = Pace::unlimited();
        let rate = |t| Rate::parse(t).expect("rate");
        let a = pace.limit(rate("20"));
        let b = pace.limit(rate("5"));
        assert_eq!(pace.rate(), Some(rate("5")));
        drop(b);
        assert_eq!(pace.rate(), Some(rate("20")), "the first limit is still in force");
        let c = pace.limit(rate("40"));
        drop(a);
        assert_eq!(pace.rate(), Some(rate("40")));
        drop(c);
        assert_eq!(pace.rate(), None, "unlimited again");
        pace.set_rate(Some(rate("7")));
        drop(pace.limit(rate("3")));
        assert_eq!(pace.rate(), Some(rate("7")));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_off_holds_back_a_request_whose_slot_was_given_before_it() {
        let pace = Arc::new(Pace::limited(Rate::parse("1").expect("rate")));
        pace.admit().await;
        // the next slot is 1 s away; a 429 then holds everything for 5 s
        let waiting = {
            let pace = Arc::clone(&pace);
            tokio::spawn(async move {
                let start = Instant::now();
                pace.admit().await;
                start.elapsed()
            })
        };
        tokio::task::yield_now().await;
        pace.hold_off(Duration::from_secs(5));
        let waited = waiting.await.expect("task");
        assert!(waited >= Duration::from_secs(5), "{waited:?}");
    }

    #[test]
    fn a_rate_is_above_zero_and_at_most_the_max() {
        for bad in ["0", "-1", "NaN", "", "x", "100001"] {
            assert!(Rate::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Rate::parse("2.50").map(|r| r.to_string()), Some("2.5".into()));
        assert_eq!(Rate::parse("3").map(Rate::interval), Some(Duration::from_nanos(333_333_333)));
        let pace = Pace::unlimited();
        assert!(pace.rate().is_none());
        pace.set_rate(Rate::parse("40"));
        assert_eq!(pace.rate().map(|r| r.to_string()), Some("40".into()));
    }
}
