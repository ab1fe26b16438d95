//! From what the capture preview's reads found ([`Finding`]) to one item's preflight verdict and
//! its reason, in a finance clerk's words. The preview and preflight share the reads; only the
//! words differ.

use super::words::Verdict;
use crate::capture::preview::Finding;
use crate::invoices::InvoiceStatus;
use crate::ErrorCode;
use paypal::AuthorizationStatus;

/// Which verdict wins when an item has several: what can never run first, then what a new
/// read may change, then the warnings, then what runs.
const PRIORITY: [Verdict; 13] = [
    Verdict::AlreadyPaid,
    Verdict::NotOutstanding,
    Verdict::Unreachable,
    Verdict::NotEligible,
    Verdict::NotApproved,
    Verdict::AuthorizationVoided,
    Verdict::AuthorizationExpired,
    Verdict::WalletChanged,
    Verdict::AmountDiffers,
    Verdict::ExpiringSoon,
    Verdict::HonourPeriodPassed,
    Verdict::WalletShared,
    Verdict::Ready,
];

fn rank(v: Verdict) -> usize {
    PRIORITY.iter().position(|p| *p == v).unwrap_or(PRIORITY.len())
}

/// A verdict with its reason.
pub(crate) type Judged = (Verdict, String);

/// Whether a failed read may answer otherwise when tried again.
pub(crate) fn transient(code: ErrorCode) -> bool {
    !matches!(code, ErrorCode::NotFound | ErrorCode::GatewayRejected | ErrorCode::PaypalRejected | ErrorCode::BadInput)
}

/// The verdict one finding gives, with its reason.
pub(crate) fn of_finding(f: &Finding) -> Judged {
    use Finding as F;
    let reason = f.problem().unwrap_or_default();
    let verdict = match f {
        F::NotOutstanding(InvoiceStatus::Paid) => Verdict::AlreadyPaid,
        F::NotOutstanding(_) => Verdict::NotOutstanding,
        // another open capture on the wallet: this one waits for it, then runs
        F::WalletInUse(_) => Verdict::WalletShared,
        F::OutstandingDiffers { .. }
        | F::AuthorizationAmountUnknown(_)
        | F::AuthorizationAmountDiffers { .. }
        | F::OrderAmountDiffers { .. } => Verdict::AmountDiffers,
        F::NotEligible(_) => Verdict::NotEligible,
        F::GatewayFailed { paid: true, .. } => Verdict::AlreadyPaid,
        F::GatewayFailed { error, .. } if transient(error.code) => Verdict::Unreachable,
        F::GatewayFailed { error, .. } if error.code == ErrorCode::NotFound => Verdict::NotOutstanding,
        F::GatewayFailed { .. } => Verdict::NotEligible,
        F::PaypalFailed(error) if transient(error.code) => Verdict::Unreachable,
        F::PaypalFailed(_)
        | F::NoApproval
        | F::AuthorizationStatusUnknown
        | F::OrderStatusUnknown
        | F::OrderNotApproved
        | F::OrderCompletedWithoutCapture
        | F::OrderCaptureDeclined => Verdict::NotApproved,
        F::AuthorizationNotCapturable(AuthorizationStatus::Voided | AuthorizationStatus::Denied) | F::OrderVoided => {
            Verdict::AuthorizationVoided
        }
        F::AuthorizationNotCapturable(AuthorizationStatus::Expired) | F::AuthorizationExpired => {
            Verdict::AuthorizationExpired
        }
        F::AuthorizationNotCapturable(_) => Verdict::NotApproved,
        F::AuthorizationExpiringSoon { .. } => Verdict::ExpiringSoon,
        F::HonourPeriodPassed { .. } => Verdict::HonourPeriodPassed,
    };
    let reason = match f {
        F::AuthorizationExpiringSoon { expires } => format!(
            "The PayPal authorization expires within 24 hours ({}); capture it now or the customer must pay again.",
            expires.format("%Y-%m-%d %H:%M UTC")
        ),
        F::HonourPeriodPassed { ended } => format!(
            "The PayPal authorization is past its 3-day honour period (since {}): PayPal no longer promises the \
             funds; reauthorize it before capturing.",
            ended.format("%Y-%m-%d %H:%M UTC")
        ),
        F::GatewayFailed { .. } | F::PaypalFailed(_) if verdict == Verdict::Unreachable => {
            format!("{reason} Run preflight again.")
        }
        _ => reason,
    };
    (verdict, reason)
}

/// The verdict of all `candidates` (the first of the highest priority); `ready` when none.
pub(crate) fn pick(candidates: impl IntoIterator<Item = Judged>) -> Judged {
    candidates
        .into_iter()
        .enumerate()
        .min_by_key(|(i, (v, _))| (rank(*v), *i))
        .map(|(_, j)| j)
        .unwrap_or((Verdict::Ready, "Ready to capture.".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_priority_holds_every_verdict_once() {
        for v in Verdict::ALL {
            assert_eq!(PRIORITY.iter().filter(|p| **p == v).count(), 1, "{v:?}");
        }
    }

    #[test]
    fn a_verdict_that_cannot_run_wins_over_one_that_runs() {
        let (v, _) = pick([
            of_finding(&Finding::WalletInUse("Invoice 1 holds the wallet.".into())),
            of_finding(&Finding::OrderNotApproved),
        ]);
        assert_eq!(v, Verdict::NotApproved);
        assert_eq!(pick([]).0, Verdict::Ready);
    }
}
