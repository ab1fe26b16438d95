//! The approval pin: what an approval covers, as one short text. It names the preflight run and
//! digests the item set in order with each item's exclusion and verdict, so a preflight run
//! again or an item excluded or included gives another pin and the approval no longer holds.
//!
//! The digest (FNV-1a, 64 bits) guards against accidents, not against someone editing the
//! database: a desk has no user accounts, and the audit log is the control.

use super::model::{BatchItem, BatchSummary};

/// The pin of `batch` with `items` (in their batch order) as they stand.
pub fn of(batch: &BatchSummary, items: &[BatchItem]) -> String {
    let mut text = format!("batch {} preflight {}\n", batch.id, batch.preflight_run);
    for i in items {
        text.push_str(&format!(
            "{} {} {} {}\n",
            i.position,
            i.invoice_no,
            u8::from(i.excluded),
            i.verdict.map_or("-", |v| v.as_str())
        ));
    }
    format!("p{}-{:016x}", batch.preflight_run, crate::fnv::fnv1a(text.as_bytes()))
}

/// Whether the batch's approval still covers what it holds (false when it has none).
pub fn holds(batch: &BatchSummary, approval_pin: Option<&str>, items: &[BatchItem]) -> bool {
    approval_pin.is_some_and(|p| p == of(batch, items))
}
