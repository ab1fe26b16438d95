//! PayPal's reauthorization (`POST /v2/payments/authorizations/{id}/reauthorize`), as
//! `payments_payment_v2.json` describes it:
//! * allowed once the authorization's 3-day honour period has passed and while it is valid (29
//!   days), once per authorization ("You can reauthorize an authorized payment once"), never on a
//!   reauthorization (`REAUTHORIZATION_NOT_SUPPORTED`);
//! * the answer is a new authorization (a new id), CREATED, for `amount` or else the original's,
//!   with a fresh honour period and validity counted from now by the sandbox clock;
//! * the amount may be up to 115 % of the original, and no more than the equivalent of $75 over it;
//! * the order lists the new authorization after the original, and its `up` link names the order.
//!
//! The original and its reauthorization hold one payment: what one captures, the other no longer
//! can, and voiding the original voids the reauthorization (which cannot be voided itself).
//!
//! Refusals where the spec's list for reauthorize names nothing closer: within the honour
//! period `REAUTHORIZATION_TOO_SOON` (what PayPal's live service answers), past the validity
//! `AUTHORIZATION_EXPIRED` (as for a capture), a PENDING authorization 409
//! `PREVIOUS_REQUEST_IN_PROGRESS` (as for a capture), a denied one `TRANSACTION_REFUSED`.

use super::paypal::AUTHORIZATION_DAYS;
use super::{exchange_rate, Authorization, Refusal, World};
use crate::dec;
use chrono::Duration;
use rust_decimal::Decimal;

/// PayPal promises an authorization's funds this long after it was made.
pub const HONOUR_DAYS: i64 = 3;

impl World {
    /// Reauthorizes authorization `id` for `amount` (`None`: the original's); the new
    /// authorization's id.
    pub fn reauthorize(&mut self, id: &str, amount: Option<(&str, Decimal)>) -> Result<String, Refusal> {
        let auth = self.authorizations.get(id).cloned().ok_or(Refusal::NotFound)?;
        match auth.status.as_str() {
            "CREATED" => {}
            "VOIDED" => return Err(Refusal::AuthorizationVoided),
            "EXPIRED" => return Err(Refusal::AuthorizationExpired),
            "CAPTURED" | "PARTIALLY_CAPTURED" => return Err(Refusal::AuthorizationAlreadyCaptured),
            "PENDING" => return Err(Refusal::PreviousRequestInProgress),
            _ => return Err(Refusal::TransactionRefused),
        }
        if auth.reauthorization_of.is_some() || auth.reauthorized_by.is_some() {
            return Err(Refusal::ReauthorizationNotSupported);
        }
        let now = self.now();
        if now < auth.create_time + Duration::days(HONOUR_DAYS) {
            return Err(Refusal::ReauthorizationTooSoon);
        }
        if amount.is_some_and(|(currency, _)| currency != auth.currency) {
            return Err(Refusal::AuthCurrencyMismatch);
        }
        let value = amount.map_or(auth.value, |(_, v)| v);
        if !within_limits(&auth, value) {
            return Err(Refusal::TransactionRefused);
        }
        let new_id = self.new_id(17);
        self.authorizations.insert(
            new_id.clone(),
            Authorization {
                id: new_id.clone(),
                order_id: auth.order_id.clone(),
                status: "CREATED".into(),
                currency: auth.currency.clone(),
                value,
                invoice_id: auth.invoice_id.clone(),
                create_time: now,
                update_time: now,
                expiration_time: now + Duration::days(AUTHORIZATION_DAYS),
                capture_ids: vec![],
                outcome: auth.outcome,
                reauthorization_of: Some(id.to_owned()),
                reauthorized_by: None,
            },
        );
        if let Some(a) = self.authorizations.get_mut(id) {
            a.reauthorized_by = Some(new_id.clone());
            a.update_time = now;
        }
        if let Some(o) = self.orders.get_mut(&auth.order_id) {
            o.authorization_ids.push(new_id.clone());
            o.update_time = now;
        }
        Ok(new_id)
    }
}

/// Up to 115 % of the original amount and no more than the equivalent of $75 over it (a currency
/// without a rate here is held to the 115 % only).
fn within_limits(auth: &Authorization, value: Decimal) -> bool {
    let most = auth.value * Decimal::new(115, 2);
    let increase_usd = exchange_rate(&auth.currency, "USD").map(|r| (value - auth.value) * r);
    value <= most && increase_usd.is_none_or(|usd| usd <= Decimal::from(75)) && dec::fits(value, &auth.currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::CaptureOutcome;
    use chrono::Utc;

    fn auth(currency: &str, value: i64) -> Authorization {
        let now = Utc::now();
        Authorization {
            id: "A".into(),
            order_id: "O".into(),
            status: "CREATED".into(),
            currency: currency.into(),
            value: Decimal::from(value),
            invoice_id: "1".into(),
            create_time: now,
            update_time: now,
            expiration_time: now,
            capture_ids: vec![],
            outcome: CaptureOutcome::Completed,
            reauthorization_of: None,
            reauthorized_by: None,
        }
    }

    #[test]
    fn a_reauthorization_may_add_115_percent_and_75_dollars_at_most() {
        assert!(within_limits(&auth("USD", 100), Decimal::from(115)));
        assert!(!within_limits(&auth("USD", 100), Decimal::new(11501, 2)));
        assert!(within_limits(&auth("USD", 1000), Decimal::from(1075)));
        assert!(!within_limits(&auth("USD", 1000), Decimal::new(107501, 2)));
        assert!(within_limits(&auth("USD", 100), Decimal::from(40)), "less is fine");
    }
}
