//! PayPal's steps: read the approval, capture (or adopt an existing capture), verify it.
//! Reading what PayPal holds when an answer says too little is in `paypal_holds.rs`.

use super::engine::{money_of, Engine, Flow};
use super::gateway_steps::AtGateway;
use super::in_flight;
use super::journal::{Entry, PaypalCaptureStatus, State};
use super::paypal_holds::{
    authorization_over, capture_in_answer, is_authorize, live, other_invoice, paypal_detail, tie, Tie,
};
use super::result::Step;
use crate::DeskError;
use paypal::{
    refusal_proof, AuthorizationCaptureRequest, AuthorizationStatus, Capture, CaptureCall, CaptureStatus, OrderStatus,
    PaypalError, RefusalProof, RequestId,
};

impl Engine<'_> {
    // ------------------------------------------------------------------------------------------
    // part_processed → paypal_capture_sent (or an adopted capture, or rejected)

    pub(super) async fn check_approval(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let charge_total = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        if charge_total.is_zero() {
            return self.reject(e, "nothing is left to pay through PayPal").await;
        }
        if charge_total.paypal_value().is_err() {
            return self
                .reject(
                    e,
                    format!(
                        "PayPal cannot charge {charge_total}: it takes fewer decimals in {}",
                        charge_total.currency()
                    ),
                )
                .await;
        }
        if e.order_id.is_none() {
            return self.reject(e, "the customer has no approved PayPal payment for this invoice").await;
        }
        self.check_before(Step::ReadApproval, e.id)?;
        if is_authorize(e) {
            let Some(auth_id) = e.authorization_id.clone() else {
                return self.reject(e, "the PayPal authorization id is missing").await;
            };
            let auth = match self.paypal.get_authorization(&auth_id).await {
                Ok(a) => a,
                Err(err) => return self.paypal_read_failed(e, err).await,
            };
            self.check_after(Step::ReadApproval, e.id)?;
            e.approved_amount = auth.amount.map(|a| a.to_paypal_string());
            match auth.status {
                // the only status a capture is sent for: first, whether a reauthorization is in play
                Some(AuthorizationStatus::Created) => {
                    if let Some(flow) = self.reauthorization_guard(e, &auth_id, &auth).await? {
                        return Ok(flow);
                    }
                }
                // never captured on top: the capture that is there is ours (adopted, then
                // verified for our invoice and amount) or it needs a clerk
                Some(AuthorizationStatus::Captured | AuthorizationStatus::PartiallyCaptured) => {
                    return self.adopt(e, None).await
                }
                Some(AuthorizationStatus::Voided) => {
                    return self.reject(e, "the PayPal authorization was voided; the customer must pay again").await
                }
                Some(AuthorizationStatus::Expired) => {
                    return self.reject(e, "the PayPal authorization has expired; the customer must pay again").await
                }
                Some(
                    status
                    @ (AuthorizationStatus::Denied | AuthorizationStatus::Pending | AuthorizationStatus::Unknown),
                ) => {
                    return self
                        .reject(e, format!("the PayPal authorization cannot be captured: it is {}", status.words()))
                        .await
                }
                None => {
                    return self
                        .wait(e, "PayPal's answer for the authorization has no status; it is read again on resume")
                        .await
                }
            }
            let Some(authorized) = auth.amount else {
                return self
                    .wait(e, "PayPal's answer for the authorization has no amount; it is read again on resume")
                    .await;
            };
            if authorized.currency() != charge_total.currency() {
                let why =
                    format!("the customer authorized {authorized} but the invoice is in {}", charge_total.currency());
                return self.reject(e, why).await;
            }
            if authorized.amount() < charge_total.amount() {
                let why = format!("the customer authorized {authorized} but the PayPal part is {charge_total}");
                return self.reject(e, why).await;
            }
        } else {
            let order_id = e.order_id.clone().unwrap_or_default();
            let order = match self.paypal.get_order(&order_id).await {
                Ok(o) => o,
                Err(err) => return self.paypal_read_failed(e, err).await,
            };
            self.check_after(Step::ReadApproval, e.id)?;
            e.approved_amount = order.amount().map(|a| a.to_paypal_string());
            match order.status {
                Some(OrderStatus::Approved) => {}
                Some(OrderStatus::Completed) => return self.adopt(e, Some(order)).await,
                Some(OrderStatus::Created | OrderStatus::Saved | OrderStatus::PayerActionRequired) => {
                    return self.reject(e, "the customer has not approved the PayPal payment yet").await
                }
                Some(OrderStatus::Voided) => {
                    return self.reject(e, "the PayPal order was voided; the customer must pay again").await
                }
                Some(OrderStatus::Unknown) => {
                    return self.reject(e, "the PayPal order is in a state Capture Desk does not know").await
                }
                None => {
                    return self
                        .wait(e, "PayPal's answer for the order has no status; it is read again on resume")
                        .await
                }
            }
            let Some(approved) = order.amount() else {
                return self.wait(e, "PayPal's answer for the order has no amount; it is read again on resume").await;
            };
            if approved != charge_total {
                let why = format!("the customer approved {approved} at PayPal but the PayPal part is {charge_total}");
                return self.reject(e, why).await;
            }
        }
        e.last_error = None;
        self.to(e, State::PaypalCaptureSent).await?;
        Ok(Flow::Continue)
    }

    async fn paypal_read_failed(&self, e: &mut Entry, err: PaypalError) -> Result<Flow, DeskError> {
        match err {
            // nothing was sent yet: an unknown payment cannot be captured
            PaypalError::NotFound(_) => self.reject(e, "PayPal does not know this payment").await,
            PaypalError::AuthFailed { .. } => Err(err.into()),
            other => self.wait(e, &paypal_detail(&other)).await,
        }
    }

    // ------------------------------------------------------------------------------------------
    // paypal_capture_sent → paypal_captured (or adopted, or rejected); an unknown outcome is
    // resolved by what PayPal holds, never read as "nothing moved"

    pub(super) async fn send_capture(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let request_id = RequestId::new(e.request_id.clone()).map_err(|err| DeskError::internal(err.detail()))?;
        let order_id = e.order_id.clone().unwrap_or_default();
        let charge_total = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        self.check_before(Step::Capture, e.id)?;
        let sent_at = self.sending(e).await?;
        // no try leaves that could land after the window other runs judge this send by
        let leave_by = Some(in_flight::paypal_leave_by(sent_at));
        // how many times the request left: more than once, and its answer may be a replay's
        let (call, result, sends, late) = match (is_authorize(e), e.authorization_id.clone()) {
            (true, Some(auth_id)) => {
                let req = AuthorizationCaptureRequest {
                    amount: Some(charge_total),
                    invoice_id: Some(e.invoice_no.to_string()),
                    final_capture: true,
                };
                let sent = self.paypal.capture_authorization_sent(&auth_id, &req, &request_id, leave_by).await;
                let answer = sent.answer.map(|c| Some(c).filter(|c| !matches!(tie(e, c), Tie::Other(_))));
                (CaptureCall::Authorization, answer, sent.sends, sent.late)
            }
            _ => {
                let sent = self.paypal.capture_order_sent(&order_id, &request_id, leave_by).await;
                (CaptureCall::Order, sent.answer.map(|o| capture_in_answer(e, o)), sent.sends, sent.late)
            }
        };
        self.check_after(Step::Capture, e.id)?;
        if sends == 0 {
            // no try of this call can land (none left, or PayPal itself turned each away
            // unprocessed: `Sent::sends`): this send is in flight no more; earlier ones may be
            in_flight::mark_answered(self.pool, e, sent_at).await?;
        }
        if late && sends == 0 {
            // Nothing left before the deadline (the client's `NotSent`, which says nothing of
            // PayPal): PayPal's state decides, as for an unknown outcome (a capturable state
            // waits, and a later run sends again).
            return self
                .settle_from_paypal(e, "the capture could not leave in time; nothing was sent by this run")
                .await;
        }
        match result {
            // A declined (or failed) capture answered may be a replay's answer, or this send's
            // while an earlier one may still capture: while a send may land, it decides nothing.
            Ok(Some(c @ Capture { id: Some(_), .. })) if !live(&c) => {
                if sends <= 1 {
                    in_flight::mark_answered(self.pool, e, sent_at).await?;
                }
                match in_flight::window(self.pool, e).await?.open() {
                    Some(remaining) => {
                        let reason = c.status_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                        let why = format!("PayPal answered the capture as declined{reason}");
                        self.wait(e, &in_flight::waiting_for_capture(&why, remaining)).await
                    }
                    None => self.captured(e, c).await,
                }
            }
            Ok(Some(c @ Capture { id: Some(_), .. })) => self.captured(e, c).await,
            // a documented answer may leave out what we need (the capture, its id): read
            Ok(_) => self.settle_from_paypal(e, "PayPal's answer to the capture did not name our capture").await,
            Err(PaypalError::OrderAlreadyCaptured(_) | PaypalError::AuthorizationAlreadyCaptured(_)) => {
                self.adopt(e, None).await
            }
            // credentials: nothing decided; the attempt stays sent and is resumed once they are fixed
            Err(err @ PaypalError::AuthFailed { .. }) => Err(err.into()),
            Err(err) => match refusal_proof(call, &err) {
                // A decline (or an invalid request) proves nothing by itself when this request id
                // may have been sent before: an earlier send of this attempt (a resume) or the
                // client's own retry after a timeout, a 5xx or a cut connection (`sends` > 1).
                // The first request may have captured, or still be capturing, and PayPal may
                // answer the replay otherwise. So PayPal's state decides, as for the state
                // refusals: a capture of ours listed (or an order COMPLETED, an authorization
                // CAPTURED) is adopted, an answer that cannot tell waits, and a state without a
                // capture of ours rejects, unless it is still capturable while an earlier send
                // may still land (in_flight.rs: the window of this call's earlier tries, and of
                // earlier runs' unanswered sends): then it waits, and a later run sends the same
                // request again (not after a refusal saying the authorization is over for good:
                // `authorization_over`). (A first try's clean decline, nothing sent before, reads the
                // same state and is rejected at once, one read later.)
                RefusalProof::NothingCaptured | RefusalProof::UnlessListed => {
                    if sends <= 1 {
                        // answered on its only try: this send is in flight no more
                        in_flight::mark_answered(self.pool, e, sent_at).await?;
                    }
                    let open = if authorization_over(call, &err) {
                        None
                    } else {
                        in_flight::window(self.pool, e).await?.open()
                    };
                    let reason = format!("PayPal refused the capture: {err}");
                    self.reject_unless_listed(e, &paypal_detail(&err), reason, open).await
                }
                RefusalProof::Nothing => self.settle_from_paypal(e, &paypal_detail(&err)).await,
            },
        }
    }

    /// PayPal answered the capture `c` (which has an id): on to verification.
    async fn captured(&self, e: &mut Entry, c: Capture) -> Result<Flow, DeskError> {
        e.capture_id = c.id;
        e.capture_status = c.status.map(PaypalCaptureStatus::from);
        e.last_error = None;
        self.to(e, State::PaypalCaptured).await?;
        Ok(Flow::Continue)
    }

    // ------------------------------------------------------------------------------------------
    // paypal_captured → verified (or rejected / needs_attention); PENDING waits

    pub(super) async fn verify(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let Some(capture_id) = e.capture_id.clone() else {
            return self.attention(e, "the journal has no capture id").await;
        };
        let expected = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        self.check_before(Step::Verify, e.id)?;
        let capture = match self.paypal.get_capture(&capture_id).await {
            Ok(c) => c,
            // credentials: nothing decided; the attempt stays captured and is resumed once fixed
            Err(err @ PaypalError::AuthFailed { .. }) => return Err(err.into()),
            // PayPal holds this capture (it gave us its id): a read that fails decides nothing
            // about it, so the attempt waits, captured, and is read again on resume
            Err(err) => {
                return self
                    .wait(e, &format!("the PayPal capture {capture_id} cannot be read now: {}", paypal_detail(&err)))
                    .await
            }
        };
        self.check_after(Step::Verify, e.id)?;
        if capture.id.as_deref().is_some_and(|id| id != capture_id) {
            return self.wait(e, &format!("PayPal answered capture {capture_id} with another capture")).await;
        }
        // the capture must be this attempt's: its order or authorization, its invoice
        match tie(e, &capture) {
            Tie::Ours => {}
            Tie::Other(theirs) => {
                return self
                    .attention(e, format!("the PayPal capture {capture_id} belongs to {theirs}, not to this invoice's payment; nothing was finalized"))
                    .await
            }
            Tie::Unknown => match self.listed_in_order(e, &capture_id).await? {
                Ok(true) => {}
                Ok(false) => {
                    return self
                        .attention(e, format!("the PayPal capture {capture_id} cannot be tied to this invoice's payment; nothing was finalized"))
                        .await
                }
                Err(flow) => return Ok(flow),
            },
        }
        if let Some(theirs) = other_invoice(e, &capture) {
            return self
                .attention(
                    e,
                    format!(
                        "the PayPal capture {capture_id} is for invoice {theirs}, not {}; nothing was finalized",
                        e.invoice_no
                    ),
                )
                .await;
        }
        let Some(status) = capture.status else {
            return self
                .wait(e, &format!("PayPal's answer for capture {capture_id} has no status; it is read again on resume"))
                .await;
        };
        e.capture_status = Some(PaypalCaptureStatus::from(status));
        match status {
            CaptureStatus::Completed => {}
            CaptureStatus::Pending => {
                // Kept, re-checked on resume; never finalized before PayPal completes it.
                sqlx::query("UPDATE capture_journal SET capture_status = ? WHERE id = ?")
                    .bind(PaypalCaptureStatus::Pending)
                    .bind(e.id)
                    .execute(self.pool)
                    .await?;
                let reason = capture.status_reason.as_deref().unwrap_or("PENDING");
                return self.wait(e, &format!("capture {capture_id} pending at PayPal ({reason})")).await;
            }
            CaptureStatus::Declined | CaptureStatus::Failed => {
                let reason = capture.status_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                return self.reject(e, format!("PayPal declined the capture{reason}; nothing was finalized")).await;
            }
            CaptureStatus::Refunded | CaptureStatus::PartiallyRefunded | CaptureStatus::Unknown => {
                return self
                    .attention(
                        e,
                        format!("the PayPal capture {capture_id} is {}; check it before finalizing", status.words()),
                    )
                    .await;
            }
        }
        let Some(amount) = capture.amount else {
            return self
                .wait(e, &format!("PayPal's answer for capture {capture_id} has no amount; it is read again on resume"))
                .await;
        };
        if amount != expected {
            return self.captured_another_amount(e, &capture_id, amount, expected).await;
        }
        e.last_error = None;
        self.to(e, State::Verified).await?;
        Ok(Flow::Continue)
    }
}

impl Engine<'_> {
    /// The capture tied to this attempt is for another amount than its PayPal part: another run
    /// (another desk) captured with its own wallet part, and may have finalized it already. The
    /// gateway decides: holding this capture as the invoice's payment, the invoice is paid by it
    /// (this attempt's wallet part was never sent, so none was debited for it) once the invoice
    /// is no longer outstanding; cannot tell: wait; otherwise (a part payment) a clerk must look.
    async fn captured_another_amount(
        &self,
        e: &mut Entry,
        capture_id: &str,
        amount: money::Money,
        expected: money::Money,
    ) -> Result<Flow, DeskError> {
        let differs = format!("PayPal captured {amount} but the PayPal part is {expected}");
        match self.gateway_has_payment(e, capture_id).await? {
            AtGateway::Listed { ours: true, invoice } if invoice.status != gateway::InvoiceStatus::Outstanding => {
                tracing::info!(capture_id, %amount, "the gateway holds the capture as the invoice's payment already");
                e.paypal_amount = Some(amount.to_paypal_string());
                e.wallet_part_json = None;
                e.wallet_currency = None;
                e.wallet_amount = None;
                e.exchange_rate = None;
                e.wallet_in_invoice_currency = None;
                e.reason = Some(format!(
                    "{differs}; the gateway holds it as the invoice's payment (another run finalized it)"
                ));
                e.last_error = None;
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            AtGateway::Unknown(why) => self.wait(e, &format!("{differs}; {why}")).await,
            AtGateway::NoInvoice | AtGateway::Listed { .. } => self.attention(e, differs).await,
        }
    }
}
