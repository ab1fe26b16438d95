//! A run's progress: done / failed / pending / remaining, throughput and ETA, told at most
//! [`Throttle::PER_SECOND`] times a second (the last state always).

use super::words::ItemOutcome;
use rust_decimal::Decimal;
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ts_rs::TS;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RunProgress {
    #[ts(type = "number")]
    pub total: usize,
    /// Items at an end (any terminal outcome).
    #[ts(type = "number")]
    pub done: usize,
    /// Of those, rejected or needing attention.
    #[ts(type = "number")]
    pub failed: usize,
    /// Left for a later run or `desk recover` (PayPal holds the capture PENDING, or a service did
    /// not answer).
    #[ts(type = "number")]
    pub pending: usize,
    /// Not at an end yet (queued, running, pending).
    #[ts(type = "number")]
    pub remaining: usize,
    /// Items ended a second during this run, as decimal text (e.g. `"7.5"`).
    pub per_second: String,
    /// Seconds left at that pace; unknown before the first item ends.
    #[ts(type = "number | null")]
    pub eta_seconds: Option<u64>,
    /// The last tell of the run.
    pub finished: bool,
}

/// The run's counters.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts {
    total: usize,
    done: usize,
    failed: usize,
    pending: usize,
    /// Ended during this run.
    ended_now: usize,
}

impl Counts {
    /// From how many items have each outcome (`None`: none yet).
    pub fn of(outcomes: &[(Option<ItemOutcome>, usize)]) -> Counts {
        let mut c = Counts { total: outcomes.iter().map(|(_, n)| n).sum(), ..Counts::default() };
        for &(o, n) in outcomes {
            let Some(o) = o else { continue };
            c.count(o, n);
            if o == ItemOutcome::Pending {
                c.pending += n;
            }
        }
        c
    }

    fn count(&mut self, o: ItemOutcome, n: usize) {
        if o.is_terminal() {
            self.done += n;
        }
        if matches!(o, ItemOutcome::Rejected | ItemOutcome::NeedsAttention) {
            self.failed += n;
        }
    }

    /// An item went from `before` to `after` during this run.
    pub fn moved(counts: &Mutex<Counts>, before: Option<ItemOutcome>, after: ItemOutcome) {
        let mut c = counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if before == Some(ItemOutcome::Pending) {
            c.pending = c.pending.saturating_sub(1);
        }
        if after == ItemOutcome::Pending {
            c.pending += 1;
        }
        if after.is_terminal() {
            c.count(after, 1);
            c.ended_now += 1;
        }
    }

    fn progress(&self, elapsed: Duration, finished: bool) -> RunProgress {
        let remaining = self.total.saturating_sub(self.done);
        let millis = Decimal::from(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX).max(1));
        let per_second = Decimal::from(self.ended_now) * Decimal::from(1000) / millis;
        let eta_seconds = (self.ended_now > 0 && !per_second.is_zero())
            .then(|| (Decimal::from(remaining) / per_second).ceil())
            .and_then(|d| u64::try_from(d).ok());
        RunProgress {
            total: self.total,
            done: self.done,
            failed: self.failed,
            pending: self.pending,
            remaining,
            per_second: per_second.round_dp(1).normalize().to_string(),
            eta_seconds,
            finished,
        }
    }
}

/// When [`Throttle::tell`] tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tell {
    /// Unless told less than a tenth of a second ago.
    IfDue,
    /// Now (the start of a run).
    Now,
    /// Now, and it is the run's last word (`finished`).
    Last,
}

/// Tells a progress callback at most [`Throttle::PER_SECOND`] times a second.
pub(crate) struct Throttle<'a> {
    tell: &'a (dyn Fn(RunProgress) + Send + Sync),
    started: Instant,
    last: Mutex<Option<Instant>>,
}

impl<'a> Throttle<'a> {
    pub const PER_SECOND: u32 = 10;

    pub fn new(tell: &'a (dyn Fn(RunProgress) + Send + Sync)) -> Throttle<'a> {
        Throttle { tell, started: Instant::now(), last: Mutex::new(None) }
    }

    /// Tells where the run stands (see [`Tell`]).
    pub fn tell(&self, counts: &Mutex<Counts>, when: Tell) {
        let last = when == Tell::Last;
        let now = Instant::now();
        {
            let mut at = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let gap = Duration::from_secs(1) / Self::PER_SECOND;
            if when == Tell::IfDue && at.is_some_and(|t| now.duration_since(t) < gap) {
                return;
            }
            *at = Some(now);
        }
        let p = counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .progress(now.duration_since(self.started), last);
        (self.tell)(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_and_eta_come_from_the_items_ended_in_this_run() {
        let c = Counts { total: 10, done: 4, failed: 1, pending: 0, ended_now: 3 };
        let p = c.progress(Duration::from_secs(2), false);
        assert_eq!((p.done, p.failed, p.remaining), (4, 1, 6));
        assert_eq!(p.per_second, "1.5");
        assert_eq!(p.eta_seconds, Some(4));
        let none = Counts { total: 3, ..Counts::default() }.progress(Duration::from_secs(1), false);
        assert_eq!((none.per_second.as_str(), none.eta_seconds), ("0", None));
    }

    #[test]
    fn the_throttle_tells_at_most_ten_times_a_second_and_always_the_last() {
        let told = Mutex::new(Vec::new());
        let tell = |p: RunProgress| told.lock().expect("lock").push(p.finished);
        let t = Throttle::new(&tell);
        let counts = Mutex::new(Counts { total: 1, ..Counts::default() });
        t.tell(&counts, Tell::Now);
        for _ in 0..100 {
            t.tell(&counts, Tell::IfDue);
        }
        t.tell(&counts, Tell::Last);
        let told = told.lock().expect("lock").clone();
        assert_eq!(told, vec![false, true], "the start, nothing of a burst right after it, then the last");
    }
}
