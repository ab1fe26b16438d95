//! A batch as the front ends see it: the batch, its items, its totals per currency; and what
//! creating and approving one takes.

use super::words::{BatchState, ItemOutcome, SourceKind, Verdict};
use crate::InvoiceFilter;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a new batch's invoices come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum BatchSource {
    /// Invoice numbers picked by hand (the app's selection, `--invoices`).
    Selection {
        #[ts(type = "number[]")]
        invoices: Vec<i64>,
    },
    /// Every cached invoice the invoice list's filter shows.
    Filter { filter: InvoiceFilter },
    /// A file of invoice numbers: one a line, or the first column of a CSV (a header tolerated).
    File { path: String },
}

impl BatchSource {
    pub fn kind(&self) -> SourceKind {
        match self {
            BatchSource::Selection { .. } => SourceKind::Selection,
            BatchSource::Filter { .. } => SourceKind::Filter,
            BatchSource::File { .. } => SourceKind::File,
        }
    }
}

/// One batch in the list of batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BatchSummary {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    pub environment: String,
    pub source_kind: SourceKind,
    /// The filter as JSON, or the file's name.
    pub source: Option<String>,
    pub state: BatchState,
    /// How many preflights ran (0: none yet).
    #[ts(type = "number")]
    pub preflight_run: i64,
    pub preflighted_at: Option<String>,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub updated_at: String,
    /// How many items it holds.
    #[ts(type = "number")]
    pub item_count: i64,
    /// How many are left out: excluded by the clerk, or at the run's start because their verdict
    /// did not let them run (the report's `excluded` outcome).
    #[ts(type = "number")]
    pub excluded_count: i64,
    /// Included items whose verdict lets them run.
    #[ts(type = "number")]
    pub ready_count: i64,
    /// Items whose outcome is terminal.
    #[ts(type = "number")]
    pub done_count: i64,
}

/// One invoice of a batch. Amounts are exact decimal text in the invoice's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BatchItem {
    #[ts(type = "number")]
    pub invoice_no: i64,
    #[ts(type = "number")]
    pub position: i64,
    pub currency: String,
    /// The invoice's total when the batch was made.
    pub total: String,
    /// Its outstanding amount when the batch was made.
    pub outstanding: String,
    /// The clerk excluded it.
    pub excluded: bool,
    pub verdict: Option<Verdict>,
    pub verdict_reason: Option<String>,
    pub verdict_at: Option<String>,
    pub wallet_part: Option<String>,
    pub paypal_part: Option<String>,
    #[ts(type = "number | null")]
    pub journal_id: Option<i64>,
    /// The PayPal capture of its attempt, once there is one.
    pub capture_id: Option<String>,
    pub outcome: Option<ItemOutcome>,
    pub outcome_reason: Option<String>,
}

impl BatchItem {
    /// Counted in the totals: included, and either not preflighted yet or ready to run.
    pub fn counts(&self) -> bool {
        !self.excluded && self.verdict.is_none_or(Verdict::runs)
    }
}

/// What the batch would capture in one currency: its included items that are ready (before a
/// preflight: all its included items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BatchTotal {
    pub currency: String,
    #[ts(type = "number")]
    pub count: i64,
    /// The invoices' totals.
    pub total: String,
    /// What is outstanding on them.
    pub outstanding: String,
    /// The wallets' part (as preflight found it; 0 before).
    pub wallet_part: String,
    /// PayPal's part (as preflight found it; the outstanding amount before).
    pub paypal_part: String,
}

/// A batch in full: what `desk batch show` prints and the review screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BatchView {
    #[serde(flatten)]
    #[ts(flatten)]
    pub batch: BatchSummary,
    /// Whether approving it needs a second person (see [`super::four_eyes`]).
    pub four_eyes: bool,
    pub items: Vec<BatchItem>,
    pub totals: Vec<BatchTotal>,
}

impl BatchView {
    pub fn id(&self) -> i64 {
        self.batch.id
    }
    pub fn state(&self) -> BatchState {
        self.batch.state
    }
}

/// An approval: who approves, and (in the app) the totals per currency they typed, which must
/// match the batch's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Approval {
    pub approver: String,
    /// Currency code → the total typed (decimal text); `None` from scripts.
    #[ts(optional)]
    pub typed_totals: Option<std::collections::BTreeMap<String, String>>,
}

/// Preflight's finding on one item (what [`super::store::record_preflight`] stores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ItemVerdict {
    pub invoice_no: i64,
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub wallet_part: Option<String>,
    pub paypal_part: Option<String>,
}
