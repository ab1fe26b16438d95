//! PayPal's steps: read the approval, capture (or adopt an existing capture), verify it.

use super::engine::{money_of, Engine, Flow};
use super::journal::{Entry, State};
use super::result::Step;
use crate::DeskError;
use paypal::{AuthorizationCaptureRequest, AuthorizationStatus, CaptureStatus, OrderStatus, PaypalError, RequestId};

impl Engine<'_> {
    // ------------------------------------------------------------------------------------------
    // part_processed → paypal_capture_sent (or an adopted capture, or rejected)

    pub(super) async fn check_approval(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let charge_total = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        if charge_total.is_zero() {
            return self.reject(e, "nothing is left to pay through PayPal").await;
        }
        let Some(order_id) = e.order_id.clone() else {
            return self.reject(e, "the customer has no approved PayPal payment for this invoice").await;
        };
        self.check_before(Step::ReadApproval, e.id)?;
        match e.intent.as_deref() {
            Some("AUTHORIZE") => {
                let Some(auth_id) = e.authorization_id.clone() else {
                    return self.reject(e, "the PayPal authorization id is missing").await;
                };
                let auth = match self.paypal.get_authorization(&auth_id).await {
                    Ok(a) => a,
                    Err(err) => return self.paypal_read_failed(e, err).await,
                };
                self.check_after(Step::ReadApproval, e.id)?;
                e.approved_amount = Some(auth.amount.to_paypal_string());
                match auth.status {
                    AuthorizationStatus::Created | AuthorizationStatus::PartiallyCaptured => {}
                    AuthorizationStatus::Captured => return self.adopt(e, &order_id, Some(&auth_id)).await,
                    AuthorizationStatus::Voided => {
                        return self.reject(e, "the PayPal authorization was voided; the customer must pay again").await
                    }
                    AuthorizationStatus::Expired => {
                        return self
                            .reject(e, "the PayPal authorization has expired; the customer must pay again")
                            .await
                    }
                    other => {
                        return self.reject(e, format!("the PayPal authorization cannot be captured ({other:?})")).await
                    }
                }
                if auth.amount.currency() != charge_total.currency() {
                    return self
                        .reject(
                            e,
                            format!(
                                "the customer authorized {} but the invoice is in {}",
                                auth.amount,
                                charge_total.currency()
                            ),
                        )
                        .await;
                }
                if auth.amount.amount() < charge_total.amount() {
                    return self
                        .reject(
                            e,
                            format!("the customer authorized {} but the PayPal part is {}", auth.amount, charge_total),
                        )
                        .await;
                }
            }
            _ => {
                let order = match self.paypal.get_order(&order_id).await {
                    Ok(o) => o,
                    Err(err) => return self.paypal_read_failed(e, err).await,
                };
                self.check_after(Step::ReadApproval, e.id)?;
                let approved = order.purchase_units.first().map(|u| u.amount);
                e.approved_amount = approved.map(|a| a.to_paypal_string());
                match order.status {
                    OrderStatus::Approved => {}
                    OrderStatus::Completed if order.captures().next().is_some() => {
                        return self.adopt(e, &order_id, None).await
                    }
                    OrderStatus::Created | OrderStatus::Saved | OrderStatus::PayerActionRequired => {
                        return self.reject(e, "the customer has not approved the PayPal payment yet").await
                    }
                    OrderStatus::Voided => {
                        return self.reject(e, "the PayPal order was voided; the customer must pay again").await
                    }
                    other => return self.reject(e, format!("the PayPal order cannot be captured ({other:?})")).await,
                }
                if approved != Some(charge_total) {
                    let shown = approved.map_or_else(|| "nothing".to_owned(), |a| a.to_string());
                    return self
                        .reject(
                            e,
                            format!("the customer approved {shown} at PayPal but the PayPal part is {charge_total}"),
                        )
                        .await;
                }
            }
        }
        e.last_error = None;
        self.to(e, State::PaypalCaptureSent).await?;
        Ok(Flow::Continue)
    }

    async fn paypal_read_failed(&self, e: &mut Entry, err: PaypalError) -> Result<Flow, DeskError> {
        if err.is_transient() {
            return self.wait(e, &format!("{}: {}", err.code(), err.detail())).await;
        }
        match err {
            PaypalError::NotFound(_) => self.reject(e, "PayPal does not know this payment").await,
            PaypalError::AuthFailed { .. } => Err(err.into()),
            other => self.wait(e, &format!("{}: {}", other.code(), other.detail())).await,
        }
    }

    /// Someone (this desk earlier, or another desk) captured already: find that capture and
    /// carry on with it. Never capture again.
    async fn adopt(&self, e: &mut Entry, order_id: &str, authorization_id: Option<&str>) -> Result<Flow, DeskError> {
        let order = match self.paypal.get_order(order_id).await {
            Ok(o) => o,
            Err(err) if err.is_transient() => return self.wait(e, &format!("{}: {}", err.code(), err.detail())).await,
            Err(err) => {
                return self
                    .attention(e, format!("PayPal says it was captured already, but the capture cannot be read: {err}"))
                    .await
            }
        };
        let capture = order
            .captures()
            .filter(|c| authorization_id.is_none_or(|a| c.authorization_id.as_deref() == Some(a)))
            .filter(|c| !matches!(c.status, CaptureStatus::Declined | CaptureStatus::Failed))
            .last()
            .or_else(|| {
                order
                    .captures()
                    .filter(|c| authorization_id.is_none_or(|a| c.authorization_id.as_deref() == Some(a)))
                    .last()
            });
        let Some(capture) = capture else {
            return self.attention(e, "PayPal says it was captured already, but shows no capture").await;
        };
        tracing::info!(capture_id = %capture.id, "adopting the existing capture");
        e.capture_id = Some(capture.id.clone());
        e.capture_status = Some(capture.status.as_str().to_owned());
        e.adopted = true;
        e.last_error = None;
        self.to(e, State::PaypalCaptured).await?;
        Ok(Flow::Continue)
    }

    // ------------------------------------------------------------------------------------------
    // paypal_capture_sent → paypal_captured (or adopted, or rejected); unknown outcome waits

    pub(super) async fn send_capture(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let request_id = RequestId::new(e.request_id.clone()).map_err(|err| DeskError::internal(err.detail()))?;
        let order_id = e.order_id.clone().unwrap_or_default();
        let charge_total = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        self.check_before(Step::Capture, e.id)?;
        let result = match (e.intent.as_deref(), e.authorization_id.clone()) {
            (Some("AUTHORIZE"), Some(auth_id)) => {
                let req = AuthorizationCaptureRequest {
                    amount: Some(charge_total),
                    invoice_id: Some(e.invoice_no.to_string()),
                    final_capture: true,
                };
                self.paypal.capture_authorization(&auth_id, &req, &request_id).await.map(Some)
            }
            _ => self.paypal.capture_order(&order_id, &request_id).await.map(|o| o.captures().last().cloned()),
        };
        self.check_after(Step::Capture, e.id)?;
        match result {
            Ok(Some(capture)) => {
                e.capture_id = Some(capture.id.clone());
                e.capture_status = Some(capture.status.as_str().to_owned());
                e.last_error = None;
                self.to(e, State::PaypalCaptured).await?;
                Ok(Flow::Continue)
            }
            Ok(None) => self.wait(e, "PayPal answered the capture without a capture; will read the order").await,
            Err(PaypalError::OrderAlreadyCaptured(_)) => self.adopt(e, &order_id, None).await,
            Err(PaypalError::AuthorizationAlreadyCaptured(_)) => {
                let auth = e.authorization_id.clone();
                self.adopt(e, &order_id, auth.as_deref()).await
            }
            Err(err) if err.outcome_unknown() || err.is_transient() => {
                // The capture may have happened: resume replays the same request id.
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err @ PaypalError::AuthFailed { .. }) => Err(err.into()),
            Err(err) => {
                let clerk = err.to_string();
                e.last_error = Some(format!("{}: {}", err.code(), err.detail()));
                self.reject(e, format!("PayPal refused the capture: {clerk}")).await
            }
        }
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
            Err(err) if err.is_transient() || err.outcome_unknown() => {
                return self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err) => {
                return self.attention(e, format!("the PayPal capture {capture_id} cannot be read: {err}")).await
            }
        };
        self.check_after(Step::Verify, e.id)?;
        let status = capture.status.as_str().to_owned();
        match capture.status {
            CaptureStatus::Completed => {}
            CaptureStatus::Pending => {
                // Kept, re-checked on resume; never finalized before PayPal completes it.
                e.capture_status = Some(status);
                sqlx::query("UPDATE capture_journal SET capture_status = 'PENDING' WHERE id = ?")
                    .bind(e.id)
                    .execute(self.pool)
                    .await?;
                let reason = capture.status_reason.as_deref().unwrap_or("PENDING");
                return self.wait(e, &format!("capture {capture_id} pending at PayPal ({reason})")).await;
            }
            CaptureStatus::Declined | CaptureStatus::Failed => {
                e.capture_status = Some(status);
                return self
                    .reject(
                        e,
                        format!(
                            "PayPal declined the capture ({}); nothing was finalized",
                            capture.status_reason.as_deref().unwrap_or("declined")
                        ),
                    )
                    .await;
            }
            CaptureStatus::Refunded | CaptureStatus::PartiallyRefunded | CaptureStatus::Unknown => {
                e.capture_status = Some(status);
                return self
                    .attention(
                        e,
                        format!("the PayPal capture {capture_id} is {:?}; check it before finalizing", capture.status),
                    )
                    .await;
            }
        }
        e.capture_status = Some(status);
        if capture.amount != expected {
            return self
                .attention(e, format!("PayPal captured {} but the PayPal part is {expected}", capture.amount))
                .await;
        }
        e.last_error = None;
        self.to(e, State::Verified).await?;
        Ok(Flow::Continue)
    }
}
