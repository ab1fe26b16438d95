//! PayPal's reauthorization of an authorization past its 3-day honour period (preflight's
//! `honour_period_passed` verdict offers it): `POST /v2/payments/authorizations/{id}/reauthorize`
//! answers a new authorization, with a new id and a fresh honour period, which is the one the
//! desk then captures.
//!
//! * **Journaled before and after** (`paypal_reauthorization`, migration 0011): the row is
//!   written before the request leaves and completed with PayPal's answer.
//! * **One reauthorization per authorization, whatever is lost.** The `PayPal-Request-Id` is
//!   derived from the original authorization alone ([`request_id`]): a retry after a lost answer,
//!   and another desk asking for the same invoice, are replays that PayPal answers with its one
//!   reauthorization. (PayPal also refuses a second reauthorization of one authorization:
//!   `REAUTHORIZATION_NOT_SUPPORTED`.)
//! * **Which authorization a capture takes** ([`to_capture`]): the reauthorization once PayPal's
//!   answer named it, else the gateway's. A capture planned before the reauthorization keeps the
//!   authorization it planned. PayPal holds the original and its reauthorization as one payment
//!   (what one captures, the other no longer can: `AUTHORIZATION_ALREADY_CAPTURED`, adopted or
//!   put in `needs_attention` by the engine), so a desk that captures the original while another
//!   reauthorized it cannot capture the invoice twice.
//! * Not while an attempt of the invoice is open: that attempt holds the authorization it
//!   planned.

use super::journal;
use super::Engine;
use crate::{audit, invoices, time, DeskError, ErrorCode};
use serde::Serialize;
use sqlx::SqlitePool;
use ts_rs::TS;

/// A reauthorization PayPal made for an invoice's authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Reauthorized {
    #[ts(type = "number")]
    pub invoice_no: i64,
    /// The gateway's authorization (the original).
    pub authorization_id: String,
    /// PayPal's new authorization, the one the desk now captures.
    pub reauthorization_id: String,
    /// Its amount and currency, as PayPal writes them.
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Until when it can be captured (RFC 3339), when PayPal said.
    pub expires_at: Option<String>,
    /// PayPal had made it before (an earlier request of this or another desk): nothing new.
    pub earlier: bool,
}

/// The `PayPal-Request-Id` of the reauthorization of `authorization_id`: the same for every try,
/// every restart and every desk.
pub fn request_id(authorization_id: &str) -> String {
    format!("capture-desk-reauthorize-{authorization_id}")
}

/// The authorization a capture of the gateway's `authorization_id` takes: PayPal's
/// reauthorization of it, if the desk has one, else itself.
pub(crate) async fn to_capture(pool: &SqlitePool, authorization_id: &str) -> Result<String, DeskError> {
    let reauthorized: Option<String> = sqlx::query_scalar(
        "SELECT reauthorization_id FROM paypal_reauthorization \
         WHERE authorization_id = ? AND reauthorization_id IS NOT NULL",
    )
    .bind(authorization_id)
    .fetch_optional(pool)
    .await?;
    Ok(reauthorized.unwrap_or_else(|| authorization_id.to_owned()))
}

/// The gateway's authorization that PayPal reauthorized as `reauthorization_id` for this desk.
pub(crate) async fn original_of(pool: &SqlitePool, reauthorization_id: &str) -> Result<Option<String>, DeskError> {
    Ok(sqlx::query_scalar("SELECT authorization_id FROM paypal_reauthorization WHERE reauthorization_id = ?")
        .bind(reauthorization_id)
        .fetch_optional(pool)
        .await?)
}

/// An authorization can be reauthorized once its honour period has passed (PayPal's rule); one
/// whose age PayPal did not give is taken as such.
const HONOUR: chrono::Duration = chrono::Duration::days(3);
/// How far the desks' and PayPal's clocks may disagree: the guard reads the order from this long
/// before the honour period ends, and the desk asks for a reauthorization only this long after.
const CLOCKS: chrono::Duration = chrono::Duration::hours(1);

impl Engine<'_> {
    /// Before capturing authorization `auth_id` (just read as `auth`) of entry `e`: when a
    /// reauthorization may be in play (ours is one the desk made, or ours is past its honour
    /// period, so this or another desk may have reauthorized it), the order is read, and the
    /// capture does not go ahead when PayPal shows the payment captured through another of the
    /// order's authorizations, or another authorization live beside ours (a reauthorization this
    /// attempt did not plan on, or the original of ours). PayPal does not say whether an
    /// authorization and its reauthorization can each be captured; this way no desk captures
    /// one while the other is captured or newer. `None`: go ahead. Called only for an
    /// authorization that reads CREATED, right before its first send (a re-send after a lost
    /// answer is not guarded: see docs/ARCHITECTURE.md).
    pub(super) async fn reauthorization_guard(
        &self,
        e: &mut journal::Entry,
        auth_id: &str,
        auth: &paypal::Authorization,
    ) -> Result<Option<super::engine::Flow>, DeskError> {
        let original = original_of(self.pool, auth_id).await?;
        // an hour early: another desk's clock, or PayPal's, may be ahead of ours
        let past_honour = auth.create_time.is_none_or(|t| chrono::Utc::now() - t >= HONOUR - CLOCKS);
        if original.is_none() && !past_honour {
            return Ok(None);
        }
        let order_id = e.order_id.clone().unwrap_or_default();
        let order = match self.paypal.get_order(&order_id).await {
            Ok(o) => o,
            Err(err) => {
                let why = format!(
                    "the PayPal order is read before capturing an authorization that may have been reauthorized, and \
                     reading it failed ({}); it is read again on resume",
                    super::paypal_holds::paypal_detail(&err)
                );
                return Ok(Some(self.wait(e, &why).await?));
            }
        };
        // ours reads CREATED (the guard runs only then), so no live capture on the order is
        // ours: one naming another authorization, or naming none (an order's captures need not
        // carry links), means the payment may be captured already. Nothing was sent by this
        // attempt, but money may have moved for the invoice: a clerk looks.
        let captured: Vec<&str> = order
            .captures()
            .filter(|c| super::paypal_holds::live(c))
            .filter(|c| c.authorization_id().is_none_or(|a| a.as_str() != auth_id))
            .map(|c| c.id.as_deref().unwrap_or("(no id)"))
            .collect();
        if !captured.is_empty() {
            let why = format!(
                "PayPal shows this order's payment captured already ({}), not through authorization {auth_id}, \
                 which this attempt was about to capture; it captured nothing. Check the invoice's payments at \
                 the gateway",
                captured.join(", ")
            );
            return Ok(Some(self.attention(e, why).await?));
        }
        let live = |a: &&paypal::Authorization| {
            matches!(
                a.status,
                Some(
                    paypal::AuthorizationStatus::Created
                        | paypal::AuthorizationStatus::PartiallyCaptured
                        | paypal::AuthorizationStatus::Pending
                )
            )
        };
        let beside: Vec<&str> = order
            .authorizations()
            .filter(live)
            .filter_map(|a| a.id.as_deref())
            .filter(|id| *id != auth_id && Some(*id) != original.as_deref())
            .collect();
        if let Some(other) = beside.first() {
            let why = format!(
                "PayPal shows another authorization ({other}) for this payment beside {auth_id}: it was reauthorized, \
                 perhaps by another desk. Reauthorize the invoice from this desk (PayPal answers with the same \
                 reauthorization), then capture again"
            );
            return Ok(Some(self.reject(e, why).await?));
        }
        Ok(None)
    }
}

type Row = (String, Option<String>, Option<String>, Option<String>, Option<String>);

async fn answered(pool: &SqlitePool, authorization_id: &str) -> Result<Option<Row>, DeskError> {
    Ok(sqlx::query_as(
        "SELECT authorization_id, reauthorization_id, amount, currency, expires_at FROM paypal_reauthorization \
         WHERE authorization_id = ? AND reauthorization_id IS NOT NULL",
    )
    .bind(authorization_id)
    .fetch_optional(pool)
    .await?)
}

fn bad(message: String) -> DeskError {
    DeskError::new(ErrorCode::BadInput, message)
}

impl Engine<'_> {
    /// Whether a reauthorization of `authorization_id` was asked for before (its answer lost,
    /// or refused).
    async fn sent_before(&self, authorization_id: &str) -> Result<bool, DeskError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM paypal_reauthorization WHERE authorization_id = ?")
            .bind(authorization_id)
            .fetch_one(self.pool)
            .await?;
        Ok(n > 0)
    }

    /// Refuses, with nothing sent, an authorization PayPal would not reauthorize: not CREATED,
    /// or still within its honour period.
    async fn reauthorizable(&self, invoice_no: i64, authorization_id: &str) -> Result<(), DeskError> {
        let auth = self.paypal.get_authorization(authorization_id).await?;
        match auth.status {
            Some(paypal::AuthorizationStatus::Created) => {}
            Some(status) => {
                return Err(bad(format!(
                "The PayPal authorization of invoice {invoice_no} is {}: it cannot be reauthorized. Nothing was sent.",
                status.words()
            )))
            }
            None => {
                return Err(DeskError::new(
                    ErrorCode::InvalidResponse,
                    "PayPal's answer for the authorization has no status; try again. Nothing was sent.",
                ))
            }
        }
        if let Some(made) = auth.create_time {
            let ends = made + HONOUR + CLOCKS;
            if chrono::Utc::now() < ends {
                return Err(bad(format!(
                    "The PayPal authorization of invoice {invoice_no} is within its 3-day honour period until {}: \
                     PayPal still promises the funds, so there is nothing to reauthorize. Nothing was sent.",
                    ends.format("%Y-%m-%d %H:%M UTC")
                )));
            }
        }
        Ok(())
    }

    /// Reauthorizes the PayPal authorization of cached invoice `invoice_no` (see the module's
    /// doc). Refused, with nothing sent, unless the invoice is outstanding with an AUTHORIZE
    /// approval and no open attempt.
    pub async fn reauthorize(&self, invoice_no: i64) -> Result<Reauthorized, DeskError> {
        let inv = invoices::get(self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })?;
        if inv.status != invoices::InvoiceStatus::Outstanding {
            return Err(bad(format!("Invoice {invoice_no} is not outstanding (it is {}).", inv.status)));
        }
        let Some(authorization_id) =
            inv.paypal.as_ref().filter(|p| p.intent == "AUTHORIZE").and_then(|p| p.authorization_id.clone())
        else {
            return Err(bad(format!(
                "Invoice {invoice_no} has no PayPal authorization to reauthorize (only payments the customer \
                 authorized for a later capture can be reauthorized)."
            )));
        };
        if let Some(row) = answered(self.pool, &authorization_id).await? {
            return Ok(of(invoice_no, row, true));
        }
        if let Some(open) = journal::recent(self.pool, Some(invoice_no), 1).await?.into_iter().next() {
            if !open.state().is_terminal() {
                return Err(DeskError::new(
                    ErrorCode::Conflict,
                    format!(
                        "A capture of invoice {invoice_no} is under way (journal entry {}); it keeps the authorization \
                         it started with. Let it finish first.",
                        open.id
                    ),
                ));
            }
        }
        let request_id = request_id(&authorization_id);
        let key = paypal::RequestId::new(request_id.clone()).map_err(DeskError::from)?;
        // a first request only for an authorization PayPal can reauthorize (a refusal PayPal
        // replayed for this one request id would stand until PayPal forgets the key); an earlier
        // request whose answer was lost is replayed as it is
        if !self.sent_before(&authorization_id).await? {
            self.reauthorizable(invoice_no, &authorization_id).await?;
        }
        // journaled before the request leaves: a row that stays unanswered is a request whose
        // answer was lost; the next try replays it with the same request id
        sqlx::query(
            "INSERT INTO paypal_reauthorization (authorization_id, invoice_no, request_id, staff, environment, sent_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (authorization_id) DO UPDATE SET last_error = NULL",
        )
        .bind(&authorization_id)
        .bind(invoice_no)
        .bind(&request_id)
        .bind(self.staff)
        .bind(self.environment.as_str())
        .bind(time::text(chrono::Utc::now()))
        .execute(self.pool)
        .await?;
        let answer = self.paypal.reauthorize_authorization(&authorization_id, None, &key).await;
        let auth = match answer {
            Ok(auth) => auth,
            Err(err) => {
                let e = DeskError::from(err);
                sqlx::query("UPDATE paypal_reauthorization SET last_error = ? WHERE authorization_id = ?")
                    .bind(e.detail.as_deref().unwrap_or(&e.message))
                    .bind(&authorization_id)
                    .execute(self.pool)
                    .await?;
                tracing::warn!(invoice_no, authorization_id, code = ?e.code, detail = ?e.detail, "reauthorization failed");
                let detail =
                    serde_json::json!({ "authorization": authorization_id, "code": e.code, "detail": e.detail });
                let audited = audit::record(
                    self.pool,
                    self.staff,
                    self.environment,
                    audit::AuditAction::PaypalReauthorizeFailed,
                    Some(invoice_no),
                    detail,
                )
                .await;
                if let Err(a) = audited {
                    tracing::warn!(invoice_no, "the failed reauthorization could not be audited: {}", a.message);
                }
                return Err(e);
            }
        };
        let Some(new_id) = auth.id.clone().filter(|id| !id.is_empty() && *id != authorization_id) else {
            return Err(DeskError::new(
                ErrorCode::InvalidResponse,
                "PayPal's answer to the reauthorization names no new authorization; try again (the same request is \
                 replayed, nothing is authorized twice).",
            ));
        };
        let amount = auth.amount.map(|m| m.to_paypal_string());
        let currency = auth.amount.map(|m| m.currency().code().to_owned());
        let expires = auth.expiration_time.map(time::text);
        sqlx::query(
            "UPDATE paypal_reauthorization SET reauthorization_id = ?, amount = ?, currency = ?, expires_at = ?, \
             answered_at = ?, last_error = NULL WHERE authorization_id = ?",
        )
        .bind(&new_id)
        .bind(&amount)
        .bind(&currency)
        .bind(&expires)
        .bind(time::text(chrono::Utc::now()))
        .bind(&authorization_id)
        .execute(self.pool)
        .await?;
        let detail = serde_json::json!({
            "authorization": authorization_id,
            "reauthorization": new_id,
            "amount": amount,
            "currency": currency,
            "expiresAt": expires,
        });
        audit::record(
            self.pool,
            self.staff,
            self.environment,
            audit::AuditAction::PaypalReauthorized,
            Some(invoice_no),
            detail,
        )
        .await?;
        Ok(of(invoice_no, (authorization_id, Some(new_id), amount, currency, expires), false))
    }
}

fn of(invoice_no: i64, (authorization_id, new_id, amount, currency, expires_at): Row, earlier: bool) -> Reauthorized {
    Reauthorized {
        invoice_no,
        authorization_id,
        reauthorization_id: new_id.unwrap_or_default(),
        amount,
        currency,
        expires_at,
        earlier,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_id_is_the_authorizations_alone_and_fits_paypals_limit() {
        assert_eq!(request_id("0VF52814937998046"), "capture-desk-reauthorize-0VF52814937998046");
        assert!(request_id(&"X".repeat(20)).len() <= super::super::request_id::REQUEST_ID_MAX);
    }
}
