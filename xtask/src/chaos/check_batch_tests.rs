//! The batch report against the ledger ([`crate::chaos::batch_check`]) on hand-made evidence:
//! the clean run's desk A ran invoices 1 to 4 as a batch.

use super::*;
use crate::chaos::batch_check::{BatchReport, ReportItem};

fn item(invoice_no: u64, outcome: Option<&str>, capture_id: Option<&str>, journal_id: Option<i64>) -> ReportItem {
    ReportItem {
        invoice_no,
        outcome: outcome.map(Into::into),
        capture_id: capture_id.map(Into::into),
        journal_id,
        reason: None,
    }
}

/// Desk A's batch 7, completed: 1 and 2 finalized with the captures the gateway holds, 3
/// rejected (its order was declined), 4 excluded at preflight.
fn with_batch() -> Evidence {
    let mut e = clean();
    e.batches.push(BatchReport {
        desk: "A".into(),
        id: 7,
        state: "completed".into(),
        items: vec![
            item(1, Some("finalized"), Some("C1"), Some(1)),
            item(2, Some("finalized"), Some("C2"), Some(2)),
            item(3, Some("rejected"), None, Some(3)),
            item(4, Some("excluded"), None, None),
        ],
        pending_at_paypal: BTreeSet::new(),
    });
    e
}

#[test]
fn a_report_that_agrees_with_the_ledger_passes() {
    let f = check(&with_batch());
    assert!(f.violations.is_empty(), "{:#?}", f.violations);

    // a run not yet over: an item pending on a capture PayPal still holds PENDING is allowed
    let mut e = with_batch();
    e.captures.push(capture("C5", "O5", None, "PENDING", "9"));
    e.invoices.push(invoice(5, "c3", Some("O5"), None));
    e.asked.push(5);
    e.journals[0]
        .1
        .push(Entry { capture_status: Some("PENDING".into()), ..entry(5, 5, "paypal_capture_pending", Some("C5")) });
    let b = &mut e.batches[0];
    b.state = "running".into();
    b.items.push(item(5, Some("pending"), Some("C5"), Some(5)));
    b.pending_at_paypal.insert("C5".into());
    let rules: Vec<Rule> = rules(&e).into_iter().filter(|r| *r == Rule::ReportDisagrees).collect();
    assert!(rules.is_empty(), "{:#?}", check(&e).violations);
}

#[test]
fn a_report_that_disagrees_with_the_ledger_is_caught() {
    // the gateway finalized invoice 2 through entry 2; the completed batch says it needs attention
    let mut e = with_batch();
    e.batches[0].items[1] = item(2, Some("needs_attention"), Some("C2"), Some(2));
    assert_eq!(rules(&e), vec![Rule::ReportDisagrees]);
    let text = check(&e).violations[0].to_string();
    assert!(text.contains("invoice 2") && text.contains("entry 2") && text.contains("C2"), "{text}");

    // reported finalized with a capture the gateway did not finalize for that invoice
    let mut e = with_batch();
    e.batches[0].items[0] = item(1, Some("finalized"), Some("C9"), Some(1));
    assert_eq!(rules(&e), vec![Rule::ReportDisagrees, Rule::ReportDisagrees], "no such payment, and not C1");

    // reported finalized, and nothing paid invoice 3 at the gateway
    let mut e = with_batch();
    e.batches[0].items[2] = item(3, Some("finalized"), None, Some(3));
    assert_eq!(rules(&e), vec![Rule::ReportDisagrees]);

    // left pending, and PayPal holds no capture of it PENDING
    let mut e = with_batch();
    e.batches[0].state = "running".into();
    e.batches[0].items[2] = item(3, Some("pending"), None, Some(3));
    assert_eq!(rules(&e), vec![Rule::ReportDisagrees]);

    // never reached after the final run
    let mut e = with_batch();
    e.batches[0].state = "running".into();
    e.batches[0].items[2] = item(3, None, None, None);
    assert_eq!(rules(&e), vec![Rule::ReportDisagrees]);

    // every item at an end, and the batch not completed
    let mut e = with_batch();
    e.batches[0].state = "running".into();
    assert_eq!(rules(&e), vec![Rule::ReportDisagrees]);
}
