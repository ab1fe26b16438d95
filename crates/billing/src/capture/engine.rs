//! The state machine. Every remote call is preceded and followed by a journal write; a crash
//! anywhere leaves a state from which [`Engine::resume`] continues without moving money twice.

use super::journal::{self, Entry, Plan, State};
use super::preview::{ApprovalView, CapturePreview, WalletPartView};
use crate::{invoices, DeskError, Environment, ErrorCode};
use gateway::{GatewayClient, GatewayError, WalletPart};
use money::{Currency, Money};
use paypal::{
    AuthorizationCaptureRequest, AuthorizationStatus, CaptureStatus, OrderStatus, PaypalClient, PaypalError, RequestId,
};
use serde::Serialize;
use serde_json::value::RawValue;
use sqlx::SqlitePool;
use ts_rs::TS;

/// The remote steps, for [`Interrupt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    PartProcess,
    ReadApproval,
    Capture,
    Verify,
    Finalize,
    WalletPay,
}

/// Test hook: stop the engine (as a crash would) just before or just after a remote call,
/// before its outcome is journaled.
pub trait Interrupt: Send + Sync {
    fn before(&self, step: Step, journal_id: i64) -> bool;
    fn after(&self, step: Step, journal_id: i64) -> bool;
}

/// Where one invoice's capture ended up (for now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CaptureResult {
    #[ts(type = "number")]
    pub journal_id: i64,
    #[ts(type = "number")]
    pub invoice_no: i64,
    pub state: State,
    /// Terminal: nothing more will happen to this attempt.
    pub finished: bool,
    /// For a clerk.
    pub message: String,
    pub capture_id: Option<String>,
    pub paypal_amount: Option<String>,
    pub wallet_amount: Option<String>,
    pub wallet_currency: Option<String>,
    pub currency: String,
    pub adopted: bool,
    /// Technical detail of the latest failure, if any.
    pub detail: Option<String>,
}

impl CaptureResult {
    fn of(e: &Entry) -> CaptureResult {
        let money = |a: &Option<String>, c: &str| a.as_deref().map(|a| format!("{a} {c}")).unwrap_or_default();
        let message = match e.state() {
            State::Finalized if e.path == "wallet" => format!("Paid in full from the customer's wallet ({}).", money(&Some(e.outstanding.clone()), &e.currency)),
            State::Finalized => format!(
                "Paid: {} captured at PayPal{}{} and the invoice is paid at the gateway.",
                money(&e.paypal_amount, &e.currency),
                e.wallet_amount.as_deref().filter(|w| !is_zero(w)).map(|w| format!(" plus {w} {} from the wallet", e.wallet_currency.as_deref().unwrap_or(""))).unwrap_or_default(),
                if e.adopted { " (an existing capture was used)" } else { "" }
            ),
            State::Rejected => format!("Not captured: {}", e.reason.as_deref().unwrap_or("refused")),
            State::NeedsAttention => format!("Needs attention: {}", e.reason.as_deref().unwrap_or("the services disagree")),
            State::PaypalCaptured if e.capture_status.as_deref() == Some("PENDING") => {
                "PayPal is still reviewing the capture (pending). It is re-checked automatically; nothing is finalized until PayPal completes it.".to_owned()
            }
            State::Planned | State::PartProcessed | State::PaypalCaptureSent | State::PaypalCaptured | State::Verified | State::FinalizeSent | State::WalletPaySent => {
                format!("Not finished yet ({}); it resumes automatically.", e.state().as_str().replace('_', " "))
            }
        };
        CaptureResult {
            journal_id: e.id,
            invoice_no: e.invoice_no,
            state: e.state(),
            finished: e.state().is_terminal(),
            message,
            capture_id: e.capture_id.clone(),
            paypal_amount: e.paypal_amount.clone(),
            wallet_amount: e.wallet_amount.clone(),
            wallet_currency: e.wallet_currency.clone(),
            currency: e.currency.clone(),
            adopted: e.adopted,
            detail: e.last_error.clone(),
        }
    }
}

fn is_zero(s: &str) -> bool {
    money::parse_decimal_text(s).is_ok_and(|d| d.is_zero())
}

/// What the next loop turn does.
enum Flow {
    Continue,
    /// Stop for now (waiting for PayPal, a service unreachable): resumable.
    Wait,
}

/// The engine, borrowed from a `Desk` for one run.
pub struct Engine<'a> {
    pub pool: &'a SqlitePool,
    pub gateway: &'a GatewayClient,
    pub paypal: &'a PaypalClient,
    pub staff: &'a str,
    pub environment: Environment,
    pub desk_id: &'a str,
    pub interrupt: Option<&'a dyn Interrupt>,
    /// Told every new state (for progress in the UI).
    pub observer: Option<&'a (dyn Fn(&CaptureResult) + Send + Sync)>,
}

fn interrupted(step: Step, when: &str) -> DeskError {
    DeskError::new(ErrorCode::Internal, "The capture was interrupted.")
        .with_detail(format!("interrupted {when} {step:?}"))
}

fn cur(code: &str) -> Result<Currency, DeskError> {
    Currency::from_code(code).map_err(|e| DeskError::storage(e.to_string()))
}

fn money_of(amount: &str, currency: &str) -> Result<Money, DeskError> {
    let c = cur(currency)?;
    Money::parse_gateway(amount, c).map_err(|e| DeskError::storage(format!("{amount} {currency}: {e}")))
}

impl Engine<'_> {
    fn check_before(&self, step: Step, id: i64) -> Result<(), DeskError> {
        match self.interrupt {
            Some(i) if i.before(step, id) => Err(interrupted(step, "before")),
            _ => Ok(()),
        }
    }

    fn check_after(&self, step: Step, id: i64) -> Result<(), DeskError> {
        match self.interrupt {
            Some(i) if i.after(step, id) => Err(interrupted(step, "after")),
            _ => Ok(()),
        }
    }

    async fn to(&self, e: &mut Entry, state: State) -> Result<(), DeskError> {
        journal::transition(self.pool, e, state, self.staff, self.environment).await?;
        if let Some(observe) = self.observer {
            observe(&CaptureResult::of(e));
        }
        Ok(())
    }

    async fn reject(&self, e: &mut Entry, reason: impl Into<String>) -> Result<Flow, DeskError> {
        e.reason = Some(reason.into());
        self.to(e, State::Rejected).await?;
        Ok(Flow::Continue)
    }

    async fn attention(&self, e: &mut Entry, reason: impl Into<String>) -> Result<Flow, DeskError> {
        e.reason = Some(reason.into());
        self.to(e, State::NeedsAttention).await?;
        Ok(Flow::Continue)
    }

    async fn wait(&self, e: &mut Entry, why: &str) -> Result<Flow, DeskError> {
        journal::note_failure(self.pool, e, why).await?;
        Ok(Flow::Wait)
    }

    /// Checks the cached invoice and plans (or finds) its attempt, then runs it.
    pub async fn capture(&self, invoice_no: i64) -> Result<CaptureResult, DeskError> {
        let inv = invoices::get(self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })?;
        if let Some(open) = journal::recent(self.pool, Some(invoice_no), 1).await?.into_iter().next() {
            if !open.state().is_terminal() {
                return self.resume(open).await;
            }
            if open.state() == State::Finalized {
                return Ok(CaptureResult::of(&open));
            }
        }
        if inv.status != "outstanding" {
            return Err(DeskError::new(
                ErrorCode::GatewayRejected,
                format!("Invoice {invoice_no} is not outstanding (it is {}).", inv.status),
            ));
        }
        let approval = inv.paypal.as_ref();
        let entry = journal::plan(
            self.pool,
            self.desk_id,
            &Plan {
                invoice_no,
                intent: approval.map(|p| p.intent.as_str()),
                order_id: approval.map(|p| p.order_id.as_str()),
                authorization_id: approval.and_then(|p| p.authorization_id.as_deref()),
                currency: &inv.currency,
                outstanding: &inv.outstanding,
                staff: self.staff,
                environment: self.environment,
            },
        )
        .await?;
        self.resume(entry).await
    }

    /// Continues an attempt from its journaled state until it finishes or must wait.
    pub async fn resume(&self, mut e: Entry) -> Result<CaptureResult, DeskError> {
        let span = tracing::info_span!("capture", journal_id = e.id, invoice_no = e.invoice_no);
        let _guard = span.enter();
        // The first visit of an unknown-outcome state in this run is a resume: read before acting.
        let mut resumed = true;
        for _ in 0..20 {
            let before = e.state();
            let flow = match before {
                State::Planned => self.part_process(&mut e).await?,
                State::PartProcessed => self.check_approval(&mut e).await?,
                State::PaypalCaptureSent => self.send_capture(&mut e).await?,
                State::PaypalCaptured => self.verify(&mut e).await?,
                State::Verified => {
                    self.to(&mut e, State::FinalizeSent).await?;
                    resumed = false;
                    Flow::Continue
                }
                State::FinalizeSent => self.finalize(&mut e, resumed).await?,
                State::WalletPaySent => self.wallet_pay(&mut e, resumed).await?,
                State::Finalized | State::Rejected | State::NeedsAttention => return Ok(CaptureResult::of(&e)),
            };
            if matches!(flow, Flow::Wait) {
                return Ok(CaptureResult::of(&e));
            }
            if e.state() != before
                && matches!(e.state(), State::FinalizeSent | State::WalletPaySent | State::PaypalCaptureSent)
            {
                resumed = false;
            }
        }
        Ok(CaptureResult::of(&e))
    }

    // ------------------------------------------------------------------------------------------
    // planned → part_processed (or wallet_pay_sent, or rejected)

    async fn part_process(&self, e: &mut Entry) -> Result<Flow, DeskError> {
        let currency = cur(&e.currency)?;
        let outstanding = money_of(&e.outstanding, &e.currency)?;
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::PartProcess, e.id)?;
        let answer = self.gateway.part_process(no, currency).await;
        self.check_after(Step::PartProcess, e.id)?;
        let part = match answer {
            Ok(p) => {
                if p.currency_paid != currency || p.charge_total.currency() != currency {
                    return self
                        .reject(
                            e,
                            format!(
                                "the gateway prepared the payment in {}, the invoice is in {}",
                                p.currency_paid, currency
                            ),
                        )
                        .await;
                }
                if p.wallet_part.charge_total_before != outstanding.amount() {
                    return self
                        .reject(
                            e,
                            format!(
                                "the gateway's outstanding total ({}) differs from ours ({}); sync and try again",
                                p.wallet_part.charge_total_before, outstanding
                            ),
                        )
                        .await;
                }
                (p.wallet_part, p.charge_total)
            }
            Err(GatewayError::WalletNotFound) => (WalletPart::none(outstanding), outstanding),
            Err(GatewayError::WalletBalanceTooHigh) => {
                e.path = "wallet".into();
                e.paypal_amount = Some(Money::zero(currency).to_paypal_string());
                self.to(e, State::WalletPaySent).await?;
                return Ok(Flow::Continue);
            }
            Err(GatewayError::InvoiceAlreadyPaid) => {
                journal::mark_invoice_paid(self.pool, e.invoice_no, &e.currency).await?;
                return self.reject(e, "the invoice is already paid at the gateway").await;
            }
            Err(err) if err.is_transient() || err.is_offline() => {
                return self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err) => return self.reject(e, format!("the gateway refused to prepare the payment: {err}")).await,
        };
        let (wallet, charge_total) = part;
        let in_invoice =
            outstanding.checked_sub(charge_total).ok_or_else(|| DeskError::internal("currency mismatch"))?;
        if in_invoice.is_negative() {
            return self
                .reject(e, format!("the PayPal part {charge_total} is more than the outstanding {outstanding}"))
                .await;
        }
        e.wallet_part_json = Some(wallet.raw.get().to_owned());
        e.wallet_currency = Some(wallet.currency.code().to_owned());
        e.wallet_amount = Some(wallet.charge_total_current.to_paypal_string());
        e.exchange_rate = Some(wallet.exchange_rate.normalize().to_string());
        e.wallet_in_invoice_currency = Some(in_invoice.to_paypal_string());
        e.paypal_amount = Some(charge_total.to_paypal_string());
        e.last_error = None;
        self.to(e, State::PartProcessed).await?;
        Ok(Flow::Continue)
    }

    // ------------------------------------------------------------------------------------------
    // part_processed → paypal_capture_sent (or an adopted capture, or rejected)

    async fn check_approval(&self, e: &mut Entry) -> Result<Flow, DeskError> {
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

    async fn send_capture(&self, e: &mut Entry) -> Result<Flow, DeskError> {
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

    async fn verify(&self, e: &mut Entry) -> Result<Flow, DeskError> {
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

    // ------------------------------------------------------------------------------------------
    // finalize_sent → finalized (or needs_attention); unknown outcome waits

    /// Is `payment_id` among the invoice's payments at the gateway? `None`: cannot tell now.
    async fn gateway_has_payment(
        &self,
        e: &mut Entry,
        payment_id: Option<&str>,
    ) -> Result<Option<(bool, gateway::Invoice)>, DeskError> {
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        match self.gateway.invoice(no).await {
            Ok(inv) => {
                let ours = payment_id.is_some_and(|p| inv.payments.iter().any(|x| x.payment_id == p));
                Ok(Some((ours, inv)))
            }
            Err(err) => {
                journal::note_failure(self.pool, e, &format!("{}: {}", err.code(), err.detail())).await?;
                Ok(None)
            }
        }
    }

    async fn finalize(&self, e: &mut Entry, resumed: bool) -> Result<Flow, DeskError> {
        let Some(capture_id) = e.capture_id.clone() else {
            return self.attention(e, "the journal has no capture id to finalize").await;
        };
        if resumed {
            // The last send may have reached the gateway: look before sending again.
            match self.gateway_has_payment(e, Some(&capture_id)).await? {
                None => return Ok(Flow::Wait),
                Some((true, _)) => {
                    self.to(e, State::Finalized).await?;
                    return Ok(Flow::Continue);
                }
                Some((false, inv)) if inv.status != gateway::InvoiceStatus::Outstanding => {
                    return self
                        .attention(e, format!("PayPal captured {capture_id} but the invoice is already {} at the gateway by another payment; refund or reconcile", inv.status.as_str()))
                        .await
                }
                Some((false, _)) => {}
            }
        }
        let amount = money_of(e.paypal_amount.as_deref().unwrap_or("0"), &e.currency)?;
        let part_json = e.wallet_part_json.clone().unwrap_or_default();
        let raw = RawValue::from_string(part_json)
            .map_err(|err| DeskError::storage(format!("journal {}: wallet part: {err}", e.id)))?;
        let wallet = WalletPart {
            raw,
            currency: cur(e.wallet_currency.as_deref().unwrap_or(&e.currency))?,
            exchange_rate: money::parse_decimal_text(e.exchange_rate.as_deref().unwrap_or("1"))
                .unwrap_or(rust_decimal::Decimal::ONE),
            charge_total_before: money_of(&e.outstanding, &e.currency)?.amount(),
            charge_total_current: money_of(
                e.wallet_amount.as_deref().unwrap_or("0"),
                e.wallet_currency.as_deref().unwrap_or(&e.currency),
            )?,
        };
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::Finalize, e.id)?;
        let result = self.gateway.finalize_paypal_capture(no, amount, &capture_id, &wallet).await;
        self.check_after(Step::Finalize, e.id)?;
        match result {
            Ok(_) => {
                e.last_error = None;
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            Err(GatewayError::BadInvoice) | Err(GatewayError::InvoiceAlreadyPaid) => match self.gateway_has_payment(e, Some(&capture_id)).await? {
                None => Ok(Flow::Wait),
                Some((true, _)) => {
                    self.to(e, State::Finalized).await?;
                    Ok(Flow::Continue)
                }
                Some((false, inv)) => {
                    self.attention(
                        e,
                        format!(
                            "PayPal captured {amount} ({capture_id}) but the gateway refuses the invoice (it is {}, paid by {}); refund or reconcile",
                            inv.status.as_str(),
                            inv.payments.iter().map(|p| p.payment_id.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                    .await
                }
            },
            Err(err) if err.is_transient() || err.is_offline() || matches!(err, GatewayError::InvalidResponse { .. }) => {
                // Unknown: the next resume reads the invoice before sending again.
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err) => {
                e.last_error = Some(format!("{}: {}", err.code(), err.detail()));
                self.attention(e, format!("PayPal captured {amount} ({capture_id}) but the gateway refused to finalize: {err}")).await
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // wallet_pay_sent → finalized (or rejected); unknown outcome waits

    async fn wallet_pay(&self, e: &mut Entry, resumed: bool) -> Result<Flow, DeskError> {
        if resumed {
            match self.gateway_has_payment(e, None).await? {
                None => return Ok(Flow::Wait),
                Some((_, inv))
                    if inv.status == gateway::InvoiceStatus::Paid
                        && inv.payments.iter().any(|p| p.method == "wallet") =>
                {
                    self.to(e, State::Finalized).await?;
                    return Ok(Flow::Continue);
                }
                Some((_, inv)) if inv.status != gateway::InvoiceStatus::Outstanding => {
                    journal::mark_invoice_paid(self.pool, e.invoice_no, &e.currency).await?;
                    return self
                        .reject(e, format!("the invoice is already {} at the gateway", inv.status.as_str()))
                        .await;
                }
                Some(_) => {}
            }
        }
        let currency = cur(&e.currency)?;
        let no = u64::try_from(e.invoice_no).map_err(DeskError::internal)?;
        self.check_before(Step::WalletPay, e.id)?;
        let result = self.gateway.pay_from_wallet(no, currency).await;
        self.check_after(Step::WalletPay, e.id)?;
        match result {
            Ok(paid) => {
                e.wallet_amount = Some(paid.amount.to_string());
                self.to(e, State::Finalized).await?;
                Ok(Flow::Continue)
            }
            Err(GatewayError::InvoiceAlreadyPaid) => {
                journal::mark_invoice_paid(self.pool, e.invoice_no, &e.currency).await?;
                self.reject(e, "the invoice is already paid at the gateway").await
            }
            Err(err)
                if err.is_transient() || err.is_offline() || matches!(err, GatewayError::InvalidResponse { .. }) =>
            {
                self.wait(e, &format!("{}: {}", err.code(), err.detail())).await
            }
            Err(err) => self.reject(e, format!("the wallet payment was refused: {err}")).await,
        }
    }

    // ------------------------------------------------------------------------------------------
    // preview

    /// The breakdown for one invoice, read from the gateway and PayPal; moves nothing.
    pub async fn preview(&self, invoice_no: i64) -> Result<CapturePreview, DeskError> {
        let inv = invoices::get(self.pool, invoice_no).await?.ok_or_else(|| {
            DeskError::new(
                ErrorCode::NotFound,
                format!("Invoice {invoice_no} is not in the local cache. Sync, then try again."),
            )
        })?;
        let currency = cur(&inv.currency)?;
        let outstanding = money_of(&inv.outstanding, &inv.currency)?;
        let mut problems = Vec::new();
        let mut p = CapturePreview {
            invoice_no,
            customer_name: inv.customer_name.clone(),
            environment: self.environment.as_str().to_owned(),
            currency: inv.currency.clone(),
            outstanding: inv.outstanding.clone(),
            path: "paypal".into(),
            wallet: None,
            paypal_amount: inv.outstanding.clone(),
            approval: None,
            ready: false,
            problems: Vec::new(),
        };
        if inv.status != "outstanding" {
            problems.push(format!("The invoice is {}, not outstanding.", inv.status));
            p.problems = problems;
            return Ok(p);
        }
        let no = u64::try_from(invoice_no).map_err(DeskError::internal)?;
        let charge_total = match self.gateway.part_process(no, currency).await {
            Ok(pp) => {
                let in_invoice = outstanding.checked_sub(pp.charge_total).unwrap_or(outstanding);
                p.wallet = Some(WalletPartView {
                    amount: pp.wallet_part.charge_total_current.to_paypal_string(),
                    currency: pp.wallet_part.currency.code().to_owned(),
                    exchange_rate: pp.wallet_part.exchange_rate.normalize().to_string(),
                    in_invoice_currency: in_invoice.to_paypal_string(),
                });
                if pp.wallet_part.charge_total_before != outstanding.amount() {
                    problems.push(format!(
                        "The gateway's outstanding total ({}) differs from the cached one ({outstanding}); sync first.",
                        pp.wallet_part.charge_total_before
                    ));
                }
                Some(pp.charge_total)
            }
            Err(GatewayError::WalletNotFound) => Some(outstanding),
            Err(GatewayError::WalletBalanceTooHigh) => {
                p.path = "wallet".into();
                p.paypal_amount = Money::zero(currency).to_paypal_string();
                None
            }
            Err(err) => {
                problems.push(DeskError::from(err).message);
                None
            }
        };
        if let Some(ct) = charge_total {
            p.paypal_amount = ct.to_paypal_string();
            match inv.paypal.as_ref() {
                None => problems.push("The customer has no approved PayPal payment for this invoice.".into()),
                Some(a) if a.intent == "AUTHORIZE" => {
                    match self.paypal.get_authorization(a.authorization_id.as_deref().unwrap_or_default()).await {
                        Ok(auth) => {
                            p.approval = Some(ApprovalView {
                                intent: a.intent.clone(),
                                order_id: a.order_id.clone(),
                                authorization_id: a.authorization_id.clone(),
                                status: auth.status.as_str().to_owned(),
                                amount: auth.amount.to_paypal_string(),
                                currency: auth.amount.currency().code().to_owned(),
                            });
                            if !matches!(
                                auth.status,
                                AuthorizationStatus::Created
                                    | AuthorizationStatus::PartiallyCaptured
                                    | AuthorizationStatus::Captured
                            ) {
                                problems.push(format!(
                                    "The PayPal authorization is {:?}; the customer must pay again.",
                                    auth.status
                                ));
                            } else if auth.amount.currency() != ct.currency() || auth.amount.amount() < ct.amount() {
                                problems.push(format!(
                                    "The customer authorized {} but the PayPal part is {ct}.",
                                    auth.amount
                                ));
                            }
                        }
                        Err(err) => problems.push(DeskError::from(err).message),
                    }
                }
                Some(a) => match self.paypal.get_order(&a.order_id).await {
                    Ok(order) => {
                        let amount = order.purchase_units.first().map(|u| u.amount);
                        p.approval = Some(ApprovalView {
                            intent: a.intent.clone(),
                            order_id: a.order_id.clone(),
                            authorization_id: None,
                            status: order.status.as_str().to_owned(),
                            amount: amount.map(|m| m.to_paypal_string()).unwrap_or_default(),
                            currency: amount.map(|m| m.currency().code().to_owned()).unwrap_or_default(),
                        });
                        match order.status {
                            OrderStatus::Approved => {}
                            // captured already: the capture adopts it
                            OrderStatus::Completed if order.captures().next().is_some() => {}
                            OrderStatus::Completed => problems.push(
                                "The PayPal order is completed but holds no capture; it cannot be captured.".into(),
                            ),
                            OrderStatus::Voided => {
                                problems.push("The PayPal order was voided; the customer must pay again.".into())
                            }
                            _ => problems.push("The customer has not approved the PayPal payment yet.".into()),
                        }
                        if amount != Some(ct) && order.status == OrderStatus::Approved {
                            problems.push(format!(
                                "The customer approved {} at PayPal but the PayPal part is {ct}.",
                                amount.map_or_else(|| "nothing".to_owned(), |m| m.to_string())
                            ));
                        }
                    }
                    Err(err) => problems.push(DeskError::from(err).message),
                },
            }
        }
        p.ready = problems.is_empty();
        p.problems = problems;
        Ok(p)
    }
}
