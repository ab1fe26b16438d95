//! The request-rate limit over all API routes.

use std::time::Instant;

/// A token bucket over all API requests: `per_second` tokens a second, bursts up to two
/// seconds' worth. Kept in nanotokens (a token is 10⁹) and refilled from exact elapsed
/// nanoseconds, so no remainder is ever dropped and the rate is exactly the nominal one.
pub struct Bucket {
    per_second: u32,
    nanotokens: u128,
    last: Instant,
}

const NANOS_PER_TOKEN: u128 = 1_000_000_000;

impl Bucket {
    pub fn new(per_second: u32) -> Self {
        Self::starting_at(per_second, Instant::now())
    }

    fn starting_at(per_second: u32, now: Instant) -> Self {
        Bucket { per_second, nanotokens: Self::cap(per_second), last: now }
    }

    fn cap(per_second: u32) -> u128 {
        u128::from(per_second) * 2 * NANOS_PER_TOKEN
    }

    /// Takes one token; `Err(())` when empty.
    pub(crate) fn take(&mut self) -> Result<(), ()> {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> Result<(), ()> {
        if self.per_second == 0 {
            return Ok(());
        }
        // a second's worth of nanoseconds at `per_second` tokens a second is exactly that many tokens
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        self.last = self.last.max(now);
        self.nanotokens = self
            .nanotokens
            .saturating_add(elapsed.saturating_mul(u128::from(self.per_second)))
            .min(Self::cap(self.per_second));
        if self.nanotokens >= NANOS_PER_TOKEN {
            self.nanotokens -= NANOS_PER_TOKEN;
            Ok(())
        } else {
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_limits_and_refills() {
        let t0 = Instant::now();
        let mut b = Bucket::starting_at(2, t0);
        let granted = (0..10).filter(|_| b.take_at(t0).is_ok()).count();
        assert_eq!(granted, 4, "burst of two seconds' worth");
        assert!(b.take_at(t0 + Duration::from_millis(499)).is_err(), "half a token is not a token");
        assert!(b.take_at(t0 + Duration::from_millis(500)).is_ok(), "one token after half a second");
        assert!(Bucket::new(0).take().is_ok());
    }

    #[test]
    fn bucket_keeps_sub_millisecond_remainders() {
        // 50/s asked every 0.3 ms over 10 s: exactly 500 refilled tokens plus the burst of 100,
        // where dropping the remainder of each millisecond would lose a share of them.
        let t0 = Instant::now();
        let mut b = Bucket::starting_at(50, t0);
        let granted = (0..=33_333u64).filter(|i| b.take_at(t0 + Duration::from_micros(i * 300)).is_ok()).count();
        assert_eq!(granted, 100 + 499, "burst + 9.9999 s at 50/s");
    }
}
