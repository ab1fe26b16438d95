//! What the front ends are told about an attempt, and the test hook that interrupts it.

use super::journal::{CapturePath, Entry, PaypalCaptureStatus, State};
use serde::Serialize;
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
    pub(super) fn of(e: &Entry) -> CaptureResult {
        let money = |a: &Option<String>, c: &str| a.as_deref().map(|a| format!("{a} {c}")).unwrap_or_default();
        let message = match e.state() {
            State::Finalized if e.path == CapturePath::Wallet => format!("Paid in full from the customer's wallet ({}).", money(&Some(e.outstanding.clone()), &e.currency)),
            State::Finalized => format!(
                "Paid: {} captured at PayPal{}{} and the invoice is paid at the gateway.",
                money(&e.paypal_amount, &e.currency),
                e.wallet_amount.as_deref().filter(|w| !is_zero(w)).map(|w| format!(" plus {w} {} from the wallet", e.wallet_currency.as_deref().unwrap_or(""))).unwrap_or_default(),
                if e.adopted { " (an existing capture was used)" } else { "" }
            ),
            State::Rejected => format!("Not captured: {}", e.reason.as_deref().unwrap_or("refused")),
            State::NeedsAttention => format!("Needs attention: {}", e.reason.as_deref().unwrap_or("the services disagree")),
            State::PaypalCaptured if e.capture_status == Some(PaypalCaptureStatus::Pending) => {
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
