//! The words of a batch, as enums (generated to TypeScript, stored as the same lower-case words):
//! where a batch stands, where it came from, each item's preflight verdict and its outcome.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a batch stands: `draft → preflighted → approved → running ⇄ paused → completed`, or
/// `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
#[ts(export)]
pub enum BatchState {
    Draft,
    Preflighted,
    Approved,
    Running,
    Paused,
    Completed,
    Cancelled,
}

impl BatchState {
    pub const ALL: [BatchState; 7] = [
        BatchState::Draft,
        BatchState::Preflighted,
        BatchState::Approved,
        BatchState::Running,
        BatchState::Paused,
        BatchState::Completed,
        BatchState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Draft => "draft",
            BatchState::Preflighted => "preflighted",
            BatchState::Approved => "approved",
            BatchState::Running => "running",
            BatchState::Paused => "paused",
            BatchState::Completed => "completed",
            BatchState::Cancelled => "cancelled",
        }
    }

    /// `completed` and `cancelled`: nothing changes any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, BatchState::Completed | BatchState::Cancelled)
    }

    /// Before the run: items may still be excluded and included.
    pub fn is_before_run(self) -> bool {
        matches!(self, BatchState::Draft | BatchState::Preflighted | BatchState::Approved)
    }
}

/// Where a batch's invoices came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
#[ts(export)]
pub enum SourceKind {
    /// Invoice numbers picked by hand (the app's selection, `--invoices`).
    Selection,
    /// The invoice list's filter (kept as JSON).
    Filter,
    /// A file of invoice numbers (its name kept).
    File,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Selection => "selection",
            SourceKind::Filter => "filter",
            SourceKind::File => "file",
        }
    }
}

/// Preflight's word on one item: `ready`, or why it cannot run as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
#[ts(export)]
pub enum Verdict {
    Ready,
    /// The gateway says the invoice is paid.
    AlreadyPaid,
    /// No longer outstanding (cancelled, closed, or nothing left to pay).
    NotOutstanding,
    /// No PayPal approval, or the customer has not approved it.
    NotApproved,
    /// The authorization expired: the customer must pay again.
    AuthorizationExpired,
    /// The authorization was voided: the customer must pay again.
    AuthorizationVoided,
    /// The authorization expires within 24 hours.
    ExpiringSoon,
    /// Past the authorization's honour period: PayPal's reauthorize is offered.
    HonourPeriodPassed,
    /// The amount or currency differs from what the customer approved.
    AmountDiffers,
    /// PayPal is not eligible for this invoice.
    NotEligible,
    /// The customer's wallet changed since the cache.
    WalletChanged,
    /// The wallet is shared with another item: those items run one after another.
    WalletShared,
    /// The gateway or PayPal did not answer: run preflight again.
    Unreachable,
}

impl Verdict {
    pub const ALL: [Verdict; 13] = [
        Verdict::Ready,
        Verdict::AlreadyPaid,
        Verdict::NotOutstanding,
        Verdict::NotApproved,
        Verdict::AuthorizationExpired,
        Verdict::AuthorizationVoided,
        Verdict::ExpiringSoon,
        Verdict::HonourPeriodPassed,
        Verdict::AmountDiffers,
        Verdict::NotEligible,
        Verdict::WalletChanged,
        Verdict::WalletShared,
        Verdict::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::AlreadyPaid => "already_paid",
            Verdict::NotOutstanding => "not_outstanding",
            Verdict::NotApproved => "not_approved",
            Verdict::AuthorizationExpired => "authorization_expired",
            Verdict::AuthorizationVoided => "authorization_voided",
            Verdict::ExpiringSoon => "expiring_soon",
            Verdict::HonourPeriodPassed => "honour_period_passed",
            Verdict::AmountDiffers => "amount_differs",
            Verdict::NotEligible => "not_eligible",
            Verdict::WalletChanged => "wallet_changed",
            Verdict::WalletShared => "wallet_shared",
            Verdict::Unreachable => "unreachable",
        }
    }

    /// Whether the run would capture the item: `ready`, and `wallet_shared` (which runs too,
    /// one after another with the items sharing its wallet).
    pub fn runs(self) -> bool {
        matches!(self, Verdict::Ready | Verdict::WalletShared)
    }
}

/// What became of an item in the run. `finalized`, `rejected`, `needs_attention`, `excluded`
/// and `cancelled` are terminal; `pending` (PayPal holds the capture PENDING) is finished by a
/// later run or `desk recover`; `queued` and `running` are the run's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
#[ts(export)]
pub enum ItemOutcome {
    /// Waiting for its turn in the run.
    Queued,
    /// Its capture is under way.
    Running,
    /// PayPal holds the capture PENDING.
    Pending,
    Finalized,
    Rejected,
    NeedsAttention,
    /// Not run: the clerk excluded it, or it was not ready when the run started.
    Excluded,
    /// Not run: the batch was cancelled before its turn.
    Cancelled,
}

impl ItemOutcome {
    pub const ALL: [ItemOutcome; 8] = [
        ItemOutcome::Queued,
        ItemOutcome::Running,
        ItemOutcome::Pending,
        ItemOutcome::Finalized,
        ItemOutcome::Rejected,
        ItemOutcome::NeedsAttention,
        ItemOutcome::Excluded,
        ItemOutcome::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ItemOutcome::Queued => "queued",
            ItemOutcome::Running => "running",
            ItemOutcome::Pending => "pending",
            ItemOutcome::Finalized => "finalized",
            ItemOutcome::Rejected => "rejected",
            ItemOutcome::NeedsAttention => "needs_attention",
            ItemOutcome::Excluded => "excluded",
            ItemOutcome::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            ItemOutcome::Finalized
                | ItemOutcome::Rejected
                | ItemOutcome::NeedsAttention
                | ItemOutcome::Excluded
                | ItemOutcome::Cancelled
        )
    }

    /// Whether the item's capture may have been sent (so a cancel must leave it to the run).
    pub fn has_started(self) -> bool {
        matches!(self, ItemOutcome::Running | ItemOutcome::Pending) || self.is_terminal()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_is_one_word_in_json_and_in_as_str() {
        for s in BatchState::ALL {
            assert_eq!(serde_json::to_value(s).expect("json"), serde_json::json!(s.as_str()));
        }
        for v in Verdict::ALL {
            assert_eq!(serde_json::to_value(v).expect("json"), serde_json::json!(v.as_str()));
            assert!(v.as_str().chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{v:?}");
        }
        for o in ItemOutcome::ALL {
            assert_eq!(serde_json::to_value(o).expect("json"), serde_json::json!(o.as_str()));
        }
        for k in [SourceKind::Selection, SourceKind::Filter, SourceKind::File] {
            assert_eq!(serde_json::to_value(k).expect("json"), serde_json::json!(k.as_str()));
        }
        let terminal: Vec<&str> = ItemOutcome::ALL.iter().filter(|o| o.is_terminal()).map(|o| o.as_str()).collect();
        assert_eq!(terminal, ["finalized", "rejected", "needs_attention", "excluded", "cancelled"]);
    }
}
