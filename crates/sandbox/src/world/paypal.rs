//! PayPal's state changes: capturing and authorizing orders, capturing and voiding
//! authorizations, refunding captures, and what an idempotency key remembers. Each refuses with
//! a [`Refusal`], which the HTTP face turns into the endpoint's documented error.

use super::{Authorization, CaptureOutcome, Order, Refund, Replay, World};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

/// Why PayPal refuses a request; each is an issue of the endpoint's documented list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    OrderAlreadyCaptured,
    OrderNotApproved,
    ActionDoesNotMatchIntent,
    OrderAlreadyAuthorized,
    OrderCompletedOrVoided,
    AuthorizationVoided,
    AuthorizationExpired,
    AuthorizationAlreadyCaptured,
    AuthorizationDenied,
    /// A PENDING authorization: PayPal is still deciding (409).
    PreviousRequestInProgress,
    AuthCaptureCurrencyMismatch,
    MaxCaptureAmountExceeded,
    MaxCaptureCountExceeded,
    PreviouslyCaptured,
    PreviouslyVoided,
    CannotBeVoided,
    CaptureFullyRefunded,
    PendingCapture,
    RefundNotAllowed,
    RefundAmountExceeded,
    RefundCaptureCurrencyMismatch,
    /// Reauthorize within the authorization's 3-day honour period (PayPal's live answer; its
    /// OpenAPI list for reauthorize does not name it).
    ReauthorizationTooSoon,
    /// Reauthorize a reauthorization, or an authorization already reauthorized.
    ReauthorizationNotSupported,
    AuthCurrencyMismatch,
    /// PayPal's controls refuse it (a reauthorization over 115 % or $75 more than the original).
    TransactionRefused,
}

impl Refusal {
    /// PayPal's issue code.
    pub fn issue(self) -> &'static str {
        match self {
            Refusal::NotFound => "INVALID_RESOURCE_ID",
            Refusal::OrderAlreadyCaptured => "ORDER_ALREADY_CAPTURED",
            Refusal::OrderNotApproved => "ORDER_NOT_APPROVED",
            Refusal::ActionDoesNotMatchIntent => "ACTION_DOES_NOT_MATCH_INTENT",
            Refusal::OrderAlreadyAuthorized => "ORDER_ALREADY_AUTHORIZED",
            Refusal::OrderCompletedOrVoided => "ORDER_COMPLETED_OR_VOIDED",
            Refusal::AuthorizationVoided => "AUTHORIZATION_VOIDED",
            Refusal::AuthorizationExpired => "AUTHORIZATION_EXPIRED",
            Refusal::AuthorizationAlreadyCaptured => "AUTHORIZATION_ALREADY_CAPTURED",
            Refusal::AuthorizationDenied => "AUTHORIZATION_DENIED",
            Refusal::PreviousRequestInProgress => "PREVIOUS_REQUEST_IN_PROGRESS",
            Refusal::AuthCaptureCurrencyMismatch => "AUTH_CAPTURE_CURRENCY_MISMATCH",
            Refusal::MaxCaptureAmountExceeded => "MAX_CAPTURE_AMOUNT_EXCEEDED",
            Refusal::MaxCaptureCountExceeded => "MAX_CAPTURE_COUNT_EXCEEDED",
            Refusal::PreviouslyCaptured => "PREVIOUSLY_CAPTURED",
            Refusal::PreviouslyVoided => "PREVIOUSLY_VOIDED",
            Refusal::CannotBeVoided => "CANNOT_BE_VOIDED",
            Refusal::CaptureFullyRefunded => "CAPTURE_FULLY_REFUNDED",
            Refusal::PendingCapture => "PENDING_CAPTURE",
            Refusal::RefundNotAllowed => "REFUND_NOT_ALLOWED",
            Refusal::RefundAmountExceeded => "REFUND_AMOUNT_EXCEEDED",
            Refusal::RefundCaptureCurrencyMismatch => "REFUND_CAPTURE_CURRENCY_MISMATCH",
            Refusal::ReauthorizationTooSoon => "REAUTHORIZATION_TOO_SOON",
            Refusal::ReauthorizationNotSupported => "REAUTHORIZATION_NOT_SUPPORTED",
            Refusal::AuthCurrencyMismatch => "AUTH_CURRENCY_MISMATCH",
            Refusal::TransactionRefused => "TRANSACTION_REFUSED",
        }
    }
}

/// At most this many captures of one authorization.
const MAX_CAPTURES: usize = 10;

/// An authorization stays valid this long.
pub(super) const AUTHORIZATION_DAYS: i64 = 29;

impl World {
    /// Captures approved order `id` (intent CAPTURE); the new capture's id.
    pub fn capture_order(&mut self, id: &str) -> Result<String, Refusal> {
        let order = self.orders.get(id).cloned().ok_or(Refusal::NotFound)?;
        if order.intent != "CAPTURE" {
            return Err(Refusal::ActionDoesNotMatchIntent);
        }
        match order.status.as_str() {
            "APPROVED" => {}
            "COMPLETED" => return Err(Refusal::OrderAlreadyCaptured),
            // PayPal's list for this call has nothing closer for a voided order
            _ => return Err(Refusal::OrderNotApproved),
        }
        let now = self.now();
        let capture_id = self.record_capture(
            Some(id.to_owned()),
            None,
            &order.currency,
            order.value,
            true,
            &order.invoice_id,
            order.outcome,
            now,
        );
        if let Some(o) = self.orders.get_mut(id) {
            o.status = "COMPLETED".into();
            o.update_time = now;
            o.capture_ids.push(capture_id.clone());
        }
        Ok(capture_id)
    }

    /// Authorizes approved order `id` (intent AUTHORIZE); the new authorization's id.
    pub fn authorize_order(&mut self, id: &str) -> Result<String, Refusal> {
        let order = self.orders.get(id).cloned().ok_or(Refusal::NotFound)?;
        if order.intent != "AUTHORIZE" {
            return Err(Refusal::ActionDoesNotMatchIntent);
        }
        match order.status.as_str() {
            "APPROVED" => {}
            "COMPLETED" => return Err(Refusal::OrderAlreadyAuthorized),
            "VOIDED" => return Err(Refusal::OrderCompletedOrVoided),
            _ => return Err(Refusal::OrderNotApproved),
        }
        let now = self.now();
        let auth_id = self.new_id(17);
        self.authorizations.insert(
            auth_id.clone(),
            Authorization {
                id: auth_id.clone(),
                order_id: id.to_owned(),
                status: "CREATED".into(),
                currency: order.currency.clone(),
                value: order.value,
                invoice_id: order.invoice_id.clone(),
                create_time: now,
                update_time: now,
                expiration_time: now + Duration::days(AUTHORIZATION_DAYS),
                capture_ids: vec![],
                outcome: order.outcome,
                reauthorization_of: None,
                reauthorized_by: None,
            },
        );
        if let Some(o) = self.orders.get_mut(id) {
            o.status = "COMPLETED".into();
            o.update_time = now;
            o.authorization_ids.push(auth_id.clone());
        }
        Ok(auth_id)
    }

    /// Captures `amount` (`None`: all that is left) of authorization `id`, in `currency` when
    /// given; the new capture's id.
    pub fn capture_authorization(
        &mut self,
        id: &str,
        amount: Option<(&str, Decimal)>,
        final_capture: bool,
        invoice_id: Option<String>,
    ) -> Result<String, Refusal> {
        let auth = self.authorizations.get(id).cloned().ok_or(Refusal::NotFound)?;
        match auth.status.as_str() {
            "CREATED" | "PARTIALLY_CAPTURED" => {}
            "VOIDED" => return Err(Refusal::AuthorizationVoided),
            "EXPIRED" => return Err(Refusal::AuthorizationExpired),
            "CAPTURED" => return Err(Refusal::AuthorizationAlreadyCaptured),
            "DENIED" => return Err(Refusal::AuthorizationDenied),
            _ => return Err(Refusal::PreviousRequestInProgress),
        }
        if amount.is_some_and(|(currency, _)| currency != auth.currency) {
            return Err(Refusal::AuthCaptureCurrencyMismatch);
        }
        // an authorization and its reauthorization hold one payment: what either captured is gone
        let remaining = auth.value - self.captured_of(&auth);
        let amount = amount.map_or(remaining, |(_, v)| v);
        if auth.capture_ids.len() >= MAX_CAPTURES {
            return Err(Refusal::MaxCaptureCountExceeded);
        }
        if amount > remaining || amount <= Decimal::ZERO {
            return Err(Refusal::MaxCaptureAmountExceeded);
        }
        let now = self.now();
        let invoice_id = invoice_id.unwrap_or_else(|| auth.invoice_id.clone());
        let capture_id = self.record_capture(
            Some(auth.order_id.clone()),
            Some(id.to_owned()),
            &auth.currency,
            amount,
            final_capture,
            &invoice_id,
            auth.outcome,
            now,
        );
        let fully = final_capture || amount == remaining;
        let status = if fully { "CAPTURED" } else { "PARTIALLY_CAPTURED" };
        if let Some(a) = self.authorizations.get_mut(id) {
            a.capture_ids.push(capture_id.clone());
            a.status = status.into();
            a.update_time = now;
        }
        if let Some(p) = auth.partner().and_then(|p| self.authorizations.get_mut(p)) {
            if matches!(p.status.as_str(), "CREATED" | "PARTIALLY_CAPTURED") {
                p.status = status.into();
                p.update_time = now;
            }
        }
        // PayPal lists an authorization's captures under the order's payments too.
        if let Some(o) = self.orders.get_mut(&auth.order_id) {
            o.capture_ids.push(capture_id.clone());
        }
        Ok(capture_id)
    }

    /// What the captures of `auth` and of its reauthorization (or the one it reauthorized) took
    /// so far (declined and failed ones took nothing).
    fn captured_of(&self, auth: &Authorization) -> Decimal {
        let partner = auth.partner().and_then(|p| self.authorizations.get(p));
        auth.capture_ids
            .iter()
            .chain(partner.into_iter().flat_map(|p| p.capture_ids.iter()))
            .filter_map(|c| self.captures.get(c))
            .filter(|c| c.status != "DECLINED" && c.status != "FAILED")
            .map(|c| c.value)
            .sum()
    }

    /// Voids authorization `id`, and its reauthorization with it (a reauthorization itself
    /// cannot be voided: PayPal's `CANNOT_BE_VOIDED`).
    pub fn void_authorization(&mut self, id: &str) -> Result<(), Refusal> {
        let auth = self.authorizations.get(id).ok_or(Refusal::NotFound)?;
        if auth.reauthorization_of.is_some() {
            return Err(Refusal::CannotBeVoided);
        }
        let reauthorization = auth.reauthorized_by.clone();
        match auth.status.as_str() {
            "CREATED" | "PARTIALLY_CAPTURED" | "PENDING" => {}
            "VOIDED" => return Err(Refusal::PreviouslyVoided),
            "CAPTURED" => return Err(Refusal::PreviouslyCaptured),
            // an expired authorization cannot be voided; PayPal's list for void has no closer issue
            _ => return Err(Refusal::CannotBeVoided),
        }
        let now = self.now();
        if let Some(a) = self.authorizations.get_mut(id) {
            a.status = "VOIDED".into();
            a.update_time = now;
        }
        if let Some(r) = reauthorization.and_then(|r| self.authorizations.get_mut(&r)) {
            if matches!(r.status.as_str(), "CREATED" | "PARTIALLY_CAPTURED" | "PENDING") {
                r.status = "VOIDED".into();
                r.update_time = now;
            }
        }
        Ok(())
    }

    /// Refunds `amount` (`None`: all that is left) of capture `id`; the refund's id.
    pub fn refund_capture(&mut self, id: &str, amount: Option<(&str, Decimal)>) -> Result<String, Refusal> {
        let cap = self.captures.get(id).cloned().ok_or(Refusal::NotFound)?;
        match cap.status.as_str() {
            "COMPLETED" | "PARTIALLY_REFUNDED" => {}
            "REFUNDED" => return Err(Refusal::CaptureFullyRefunded),
            "PENDING" => return Err(Refusal::PendingCapture),
            _ => return Err(Refusal::RefundNotAllowed),
        }
        if amount.is_some_and(|(currency, _)| currency != cap.currency) {
            return Err(Refusal::RefundCaptureCurrencyMismatch);
        }
        let remaining = cap.value - cap.refunded;
        let amount = amount.map_or(remaining, |(_, v)| v);
        if amount > remaining {
            return Err(Refusal::RefundAmountExceeded);
        }
        let now = self.now();
        let refund_id = self.new_id(17);
        self.refunds.insert(
            refund_id.clone(),
            Refund {
                id: refund_id.clone(),
                capture_id: id.to_owned(),
                status: "COMPLETED".into(),
                currency: cap.currency.clone(),
                value: amount,
                create_time: now,
            },
        );
        if let Some(c) = self.captures.get_mut(id) {
            c.refunded += amount;
            c.refund_ids.push(refund_id.clone());
            c.status = if c.refunded >= c.value { "REFUNDED" } else { "PARTIALLY_REFUNDED" }.into();
            c.update_time = now;
        }
        Ok(refund_id)
    }

    /// An approved order made through the control API (not tied to an invoice).
    pub fn add_order(
        &mut self,
        intent: &str,
        currency: &str,
        value: Decimal,
        invoice_id: &str,
        outcome: CaptureOutcome,
    ) -> String {
        let now = self.now();
        let id = self.new_id(17);
        self.orders.insert(
            id.clone(),
            Order {
                id: id.clone(),
                intent: intent.to_owned(),
                status: "APPROVED".into(),
                currency: currency.to_owned(),
                value,
                invoice_id: invoice_id.to_owned(),
                reference_id: "default".into(),
                payer_email: "payer@payer.example".into(),
                payer_name: "Test Payer".into(),
                create_time: now,
                update_time: now,
                capture_ids: vec![],
                authorization_ids: vec![],
                outcome,
            },
        );
        id
    }

    /// An authorization's status as PayPal's schema has it: there is no EXPIRED there, so one
    /// past its `expiration_time` keeps the status it had (its capture is refused as expired).
    pub fn wire_status(a: &Authorization) -> &str {
        match a.status.as_str() {
            "EXPIRED" if a.capture_ids.is_empty() => "CREATED",
            "EXPIRED" => "PARTIALLY_CAPTURED",
            other => other,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Idempotency keys

    /// What `key` remembers, unless it is older than `keep` (then it is forgotten: a replay is a
    /// new request).
    pub fn replay_of(&mut self, key: &str, keep: Duration) -> Option<Replay> {
        let now = self.now();
        let at = *self.idempotency_at.entry(key.to_owned()).or_insert(now);
        if now - at >= keep {
            self.idempotency.remove(key);
            self.idempotency_at.remove(key);
            return None;
        }
        let found = self.idempotency.get(key).cloned();
        if found.is_none() {
            self.idempotency_at.remove(key);
        }
        found
    }

    /// Remembers that `key` made `replay`, now.
    pub fn remember(&mut self, key: String, replay: Replay) {
        let now: DateTime<Utc> = self.now();
        self.idempotency_at.insert(key.clone(), now);
        self.idempotency.insert(key, replay);
    }
}
