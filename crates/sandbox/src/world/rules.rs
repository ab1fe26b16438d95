//! What time does to the world: ids, the clock, PENDING captures completing, authorizations
//! expiring; and recording a capture.

use super::{exchange_rate, Capture, CaptureOutcome, Rng, World};
use crate::dec;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

impl World {
    /// The part of an outstanding invoice left for PayPal after the customer's wallet.
    pub fn online_part(&self, no: u64) -> Option<Decimal> {
        let inv = self.invoices.get(&no)?;
        let wallet_part = self
            .customers
            .get(&inv.customer_id)
            .and_then(|c| c.wallet.as_ref())
            .and_then(|w| Some(dec::round(w.balance * exchange_rate(&w.currency, &inv.currency)?, &inv.currency)))
            .unwrap_or(Decimal::ZERO);
        Some(if wallet_part >= inv.outstanding { Decimal::ZERO } else { inv.outstanding - wallet_part })
    }

    /// A fresh id with a prefix-free body of `len` characters, unique in this world.
    pub fn new_id(&mut self, len: usize) -> String {
        self.counter += 1;
        let mut rng = Rng::new(self.seed.wrapping_mul(31).wrapping_add(self.counter));
        rng.id(len)
    }

    /// Now, by this world's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Time passes: the clock moves forward by `by` and the world catches up with it.
    pub fn advance_clock(&mut self, by: Duration) -> Result<(), String> {
        self.clock.advance(by)?;
        self.catch_up();
        Ok(())
    }

    /// Brings the world up to its clock's now: PENDING captures whose time has come complete,
    /// authorizations past their expiration time expire. Every handler calls it before it reads
    /// or changes PayPal's state, so what it answers is true at the moment it answers.
    pub fn catch_up(&mut self) {
        let now = self.now();
        self.settle_pending(now);
        for a in self.authorizations.values_mut() {
            if matches!(a.status.as_str(), "CREATED" | "PARTIALLY_CAPTURED" | "PENDING") && a.expiration_time <= now {
                a.status = "EXPIRED".into();
                a.update_time = a.expiration_time;
            }
        }
    }

    /// Completes PENDING captures whose time has come.
    fn settle_pending(&mut self, now: DateTime<Utc>) {
        for cap in self.captures.values_mut() {
            if cap.status == "PENDING" && cap.completes_at.is_some_and(|t| t <= now) {
                cap.status = "COMPLETED".into();
                cap.reason = None;
                cap.update_time = now;
                cap.completes_at = None;
            }
        }
    }

    /// Records a PayPal capture and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn record_capture(
        &mut self,
        order_id: Option<String>,
        authorization_id: Option<String>,
        currency: &str,
        value: Decimal,
        final_capture: bool,
        invoice_id: &str,
        outcome: CaptureOutcome,
        now: DateTime<Utc>,
    ) -> String {
        let id = self.new_id(17);
        let (status, reason, completes_at) = match outcome {
            CaptureOutcome::Completed => ("COMPLETED", None, None),
            CaptureOutcome::Pending => (
                "PENDING",
                Some("PENDING_REVIEW".to_owned()),
                (self.pending_seconds > 0).then(|| now + Duration::seconds(self.pending_seconds)),
            ),
            // PayPal's list of capture reasons has none for a decline: a declined capture has none
            CaptureOutcome::Declined => ("DECLINED", None, None),
        };
        // PayPal's fee: 3.49 % + a fixed part, rounded to the currency.
        let fixed = if dec::digits(currency) == Some(0) { Decimal::from(49) } else { Decimal::new(49, 2) };
        let fee = dec::round(value * Decimal::new(349, 4) + fixed, currency).min(value);
        self.captures.insert(
            id.clone(),
            Capture {
                id: id.clone(),
                order_id,
                authorization_id,
                status: status.into(),
                reason,
                currency: currency.into(),
                value,
                fee,
                final_capture,
                invoice_id: invoice_id.into(),
                create_time: now,
                update_time: now,
                completes_at,
                refunded: Decimal::ZERO,
                refund_ids: vec![],
            },
        );
        self.capture_log.push(id.clone());
        id
    }
}
