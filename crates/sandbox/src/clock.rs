//! The sandbox's one clock. Every time the simulated services read — expiry of tokens and
//! authorizations, PENDING completion, `updatedSince`, the times they stamp — is real time plus
//! an offset. The offset starts at [`crate::Config::clock_offset`] and moves only forward, on
//! purpose, through `POST /__sandbox/clock` (an authorization expiring, a PENDING capture
//! completing, a month passing), so tests never depend on the day they run.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// Real time shifted by `offset_ms`. Kept in the world, so a state file keeps it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    offset_ms: i64,
}

impl Clock {
    pub fn with_offset(offset: Duration) -> Clock {
        Clock { offset_ms: offset.num_milliseconds() }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }

    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_ms)
    }

    /// Moves the clock forward by `by` (never back: what happened stays in the past).
    pub fn advance(&mut self, by: Duration) -> Result<(), String> {
        if by < Duration::zero() {
            return Err("the sandbox clock only moves forward".into());
        }
        self.offset_ms = self
            .offset_ms
            .checked_add(by.num_milliseconds())
            .filter(|ms| *ms < Duration::days(365 * 100).num_milliseconds())
            .ok_or("the sandbox clock cannot move that far")?;
        Ok(())
    }
}

/// The hour of the day a seeded world is generated at ("this morning's" world).
const SEED_HOUR: u32 = 10;

/// The base time of a world seeded at `now`: the latest 10:00 UTC not after `now`. Worlds of
/// the same seed differ only by whole days, so the seed example keeps its times of day.
pub fn seed_base(now: DateTime<Utc>) -> DateTime<Utc> {
    let ten = NaiveTime::from_hms_opt(SEED_HOUR, 0, 0).unwrap_or_default();
    let today = now.date_naive().and_time(ten).and_utc();
    if today <= now {
        today
    } else {
        today - Duration::days(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_base_is_the_latest_ten_o_clock() {
        let at = |d, h, m| Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).single().expect("time");
        assert_eq!(seed_base(at(5, 10, 0)), at(5, 10, 0));
        assert_eq!(seed_base(at(5, 23, 59)), at(5, 10, 0));
        assert_eq!(seed_base(at(5, 9, 59)), at(4, 10, 0));
        assert_eq!(seed_base(at(1, 0, 0)), Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).single().expect("time"));
    }

    #[test]
    fn the_clock_moves_only_forward() {
        let mut c = Clock::default();
        let before = c.now();
        c.advance(Duration::days(40)).expect("forward");
        assert!(c.now() - before >= Duration::days(40));
        assert_eq!(c.offset(), Duration::days(40));
        assert!(c.advance(Duration::seconds(-1)).is_err());
        assert_eq!(c.offset(), Duration::days(40), "a refused move changes nothing");
        assert!(c.advance(Duration::days(365 * 200)).is_err());
    }
}
