//! The state machine. Every remote call is preceded and followed by a journal write; a crash
//! anywhere leaves a state from which [`Engine::resume`] continues without moving money twice.
//!
//! The steps live beside it: `gateway_steps.rs` (part-process, finalize, the wallet payment),
//! `paypal_steps.rs` (approval, capture, adoption, verification); the preview in `preview.rs`.

use super::in_flight;
use super::inflight;
use super::journal::{self, Entry, Plan, State};
use super::lease::{Lease, WAIT};
use super::result::{CaptureResult, Interrupt, Step};
use super::wallet_lease::{self, Entered};
use crate::{invoices, DeskError, Environment, ErrorCode};
use gateway::GatewayClient;
use money::{Currency, Money};
use paypal::PaypalClient;
use sqlx::SqlitePool;
use tracing::Instrument;

/// What the next loop turn does.
pub(super) enum Flow {
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

pub(super) fn interrupted(step: Step, when: &str) -> DeskError {
    DeskError::new(ErrorCode::Internal, "The capture was interrupted.")
        .with_detail(format!("interrupted {when} {step:?}"))
}

pub(super) fn cur(code: &str) -> Result<Currency, DeskError> {
    Currency::from_code(code).map_err(|e| DeskError::storage(e.to_string()))
}

pub(super) fn money_of(amount: &str, currency: &str) -> Result<Money, DeskError> {
    let c = cur(currency)?;
    Money::parse_gateway(amount, c).map_err(|e| DeskError::storage(format!("{amount} {currency}: {e}")))
}

impl Engine<'_> {
    pub(super) fn check_before(&self, step: Step, id: i64) -> Result<(), DeskError> {
        match self.interrupt {
            Some(i) if i.before(step, id) => Err(interrupted(step, "before")),
            _ => Ok(()),
        }
    }

    pub(super) fn check_after(&self, step: Step, id: i64) -> Result<(), DeskError> {
        match self.interrupt {
            Some(i) if i.after(step, id) => Err(interrupted(step, "after")),
            _ => Ok(()),
        }
    }

    /// Journals `state` for `e`, as the run holding its entry lease (refused when the run holds
    /// it no more: `journal::transition_as`).
    pub(super) async fn to(&self, e: &mut Entry, state: State) -> Result<(), DeskError> {
        let holder = inflight::run_holder(e.id)
            .ok_or_else(|| DeskError::internal(format!("journal {}: a transition outside a run holding it", e.id)))?;
        journal::transition_as(self.pool, e, state, self.staff, self.environment, Some(&holder)).await?;
        if let Some(observe) = self.observer {
            observe(&CaptureResult::of(e));
        }
        Ok(())
    }

    pub(super) async fn reject(&self, e: &mut Entry, reason: impl Into<String>) -> Result<Flow, DeskError> {
        e.reason = Some(reason.into());
        self.to(e, State::Rejected).await?;
        Ok(Flow::Continue)
    }

    pub(super) async fn attention(&self, e: &mut Entry, reason: impl Into<String>) -> Result<Flow, DeskError> {
        e.reason = Some(reason.into());
        self.to(e, State::NeedsAttention).await?;
        Ok(Flow::Continue)
    }

    pub(super) async fn wait(&self, e: &mut Entry, why: &str) -> Result<Flow, DeskError> {
        journal::note_failure(self.pool, e, why).await?;
        Ok(Flow::Wait)
    }

    /// Right before a money-moving request (the PayPal capture, the finalization, the wallet
    /// payment) leaves: confirms this run's entry lease and journals the send in one
    /// transaction (`in_flight.rs`). `Err`: the run holds the attempt no more; nothing is sent.
    pub(super) async fn sending(&self, e: &Entry) -> Result<i64, DeskError> {
        in_flight::mark_sent(self.pool, e, inflight::run_holder(e.id).as_deref()).await
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
        if inv.status != invoices::InvoiceStatus::Outstanding {
            return Err(DeskError::new(
                ErrorCode::GatewayRejected,
                format!("Invoice {invoice_no} is not outstanding (it is {}).", inv.status),
            ));
        }
        let approval = inv.paypal.as_ref();
        // an authorization PayPal reauthorized for the desk is captured as its reauthorization
        let authorization = match approval.and_then(|p| p.authorization_id.as_deref()) {
            Some(a) => Some(super::reauthorize::to_capture(self.pool, a).await?),
            None => None,
        };
        let entry = journal::plan(
            self.pool,
            self.desk_id,
            &Plan {
                invoice_no,
                intent: approval.map(|p| p.intent.as_str()),
                order_id: approval.map(|p| p.order_id.as_str()),
                authorization_id: authorization.as_deref(),
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
    pub async fn resume(&self, e: Entry) -> Result<CaptureResult, DeskError> {
        // ---- one driver per entry (inflight.rs): in this process the invoice hold, in this data
        // directory the entry lease; a second caller waits (bounded), then goes on from the
        // journal as the first (or anyone since `e` was read) left it, or gives up untouched
        let Some(_hold) = inflight::hold(self.desk_id, e.invoice_no, WAIT).await else {
            return Err(inflight::busy(&e, None));
        };
        let e = journal::get(self.pool, e.id).await?.unwrap_or(e);
        if e.state().is_terminal() {
            return Ok(CaptureResult::of(&e));
        }
        let entry_lease = match inflight::take_entry(self.pool, &e, WAIT).await? {
            Ok(lease) => lease,
            Err(held) => return Err(inflight::busy(&e, Some(&held))),
        };
        let id = e.id;
        let result = inflight::within(&entry_lease, id, self.resume_held(e, &entry_lease)).await;
        entry_lease.release().await;
        result
        // ---- end one driver per entry
    }

    /// [`Engine::resume`] with the entry lease held.
    async fn resume_held(&self, e: Entry, entry_lease: &Lease) -> Result<CaptureResult, DeskError> {
        // another process may have moved the entry until this run held its lease: go on from
        // the journal as it is now (a finished attempt is not sent again)
        let mut e = journal::get(self.pool, e.id).await?.unwrap_or(e);
        // ---- wallet lease (wallet_lease.rs): one run per customer's wallet in this data directory
        let (lease, key) = match self.enter_wallet(&mut e).await? {
            Entered::Run(Some((lease, key))) => (Some(lease), key),
            Entered::Run(None) => (None, String::new()),
            Entered::Done(result) => return Ok(result),
        };
        let result = wallet_lease::within(lease.as_ref(), &key, self.run(e, entry_lease)).await;
        if let Some(lease) = lease {
            lease.release().await;
        }
        result
        // ---- end wallet lease
    }

    async fn run(&self, e: Entry, entry_lease: &Lease) -> Result<CaptureResult, DeskError> {
        let span = tracing::info_span!("capture", journal_id = e.id, invoice_no = e.invoice_no);
        self.run_steps(e, entry_lease).instrument(span).await
    }

    async fn run_steps(&self, e: Entry, entry_lease: &Lease) -> Result<CaptureResult, DeskError> {
        // the wallet lease may have been waited for: read the entry again
        let mut e = journal::get(self.pool, e.id).await?.unwrap_or(e);
        // The first visit of an unknown-outcome state in this run is a resume: read before acting.
        let mut resumed = true;
        for _ in 0..20 {
            let before = e.state();
            // a run whose entry lease was lost (this process paused past its TTL, and another
            // may have taken the attempt over) must not take another step
            if !before.is_terminal() && !entry_lease.confirm().await? {
                return Err(inflight::lost(&e));
            }
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
}
