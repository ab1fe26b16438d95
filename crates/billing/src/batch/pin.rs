//! The approval pin: what an approval covers, as one short text. It names the preflight run and
//! digests the item set in order with each item's exclusion and verdict, so a preflight run
//! again or an item excluded or included gives another pin and the approval no longer holds.
//!
//! The digest (FNV-1a, 64 bits) guards against accidents, not against someone editing the
//! database: a desk has no user accounts, and the audit log is the control.

use super::model::{BatchItem, BatchSummary};

fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

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
    format!("p{}-{:016x}", batch.preflight_run, fnv1a64(text.as_bytes()))
}

/// Whether the batch's approval still covers what it holds (false when it has none).
pub fn holds(batch: &BatchSummary, approval_pin: Option<&str>, items: &[BatchItem]) -> bool {
    approval_pin.is_some_and(|p| p == of(batch, items))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_digest_is_fnv1a() {
        // the published FNV-1a 64 test vectors
        assert_eq!(super::fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
