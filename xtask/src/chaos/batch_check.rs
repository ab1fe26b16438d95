//! The batch report against the ledger (issue 10): what `desk batch report ID --json` says at
//! the end must agree with the sandbox's ledger, its wallet history and the desk's journal.
//!
//! * An item reported `finalized` is finalized at the gateway, for its invoice, with the
//!   report's capture (or paid from the wallet when there is no PayPal capture).
//! * Once the batch is `completed`, no item whose attempt (this desk's journal entry on the
//!   invoice) the gateway finalized is reported otherwise.
//! * After the final run and recovery no item is short of an end; `pending` only where PayPal
//!   still holds its capture PENDING. A batch whose items are all at an end is `completed`.

use super::check::{journals_on, Rule};
use super::evidence::{Entry, Evidence};
use serde_json::Value;
use std::collections::BTreeSet;

/// One item of a batch report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReportItem {
    pub(crate) invoice_no: u64,
    /// `None`: the run never reached it.
    pub(crate) outcome: Option<String>,
    pub(crate) capture_id: Option<String>,
    pub(crate) journal_id: Option<i64>,
    pub(crate) reason: Option<String>,
}

/// A desk's batch as its report gave it at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchReport {
    pub(crate) desk: String,
    pub(crate) id: i64,
    pub(crate) state: String,
    pub(crate) items: Vec<ReportItem>,
    /// Captures PayPal held PENDING when the report was read.
    pub(crate) pending_at_paypal: BTreeSet<String>,
}

const TERMINAL: [&str; 5] = ["finalized", "rejected", "needs_attention", "excluded", "cancelled"];

/// `desk batch report ID --json` of desk `desk`, with the captures PayPal held PENDING then.
pub(crate) fn parse(desk: &str, v: &Value, pending_at_paypal: BTreeSet<String>) -> Result<BatchReport, String> {
    let batch = v.get("batch").ok_or("the batch report has no \"batch\"")?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let items = v
        .get("items")
        .and_then(Value::as_array)
        .ok_or("the batch report has no \"items\"")?
        .iter()
        .map(|i| {
            Ok(ReportItem {
                invoice_no: i.get("invoiceNo").and_then(Value::as_u64).ok_or_else(|| format!("no invoiceNo in {i}"))?,
                outcome: text(i, "outcome"),
                capture_id: text(i, "captureId"),
                journal_id: i.get("journalId").and_then(Value::as_i64),
                reason: text(i, "outcomeReason"),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(BatchReport {
        desk: desk.to_owned(),
        id: batch.get("id").and_then(Value::as_i64).ok_or("the batch report's batch has no id")?,
        state: text(batch, "state").ok_or("the batch report's batch has no state")?,
        items,
        pending_at_paypal,
    })
}

/// What a seed keeps of a batch (`batch-A.json`): the report and the PENDING captures.
pub(crate) fn kept(report: &Value, pending_at_paypal: &BTreeSet<String>) -> Value {
    serde_json::json!({ "report": report, "pendingAtPaypal": pending_at_paypal })
}

/// [`kept`] read back.
pub(crate) fn load_kept(desk: &str, v: &Value) -> Result<BatchReport, String> {
    let pending = v
        .get("pendingAtPaypal")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    parse(desk, v.get("report").ok_or("no report kept")?, pending)
}

/// The batch rules over every batch report of the evidence.
pub(crate) fn check_batches(e: &Evidence, v: &mut impl FnMut(Rule, String)) {
    for b in &e.batches {
        let journal: &[Entry] =
            e.journals.iter().find(|(d, _)| *d == b.desk).map_or(&[], |(_, entries)| entries.as_slice());
        let name = format!("desk {} batch {} ({})", b.desk, b.id, b.state);
        let said = |item: &ReportItem| {
            format!(
                "the report says {} with capture {}{}; {}",
                item.outcome.as_deref().unwrap_or("nothing (never reached)"),
                item.capture_id.as_deref().unwrap_or("none"),
                item.reason.as_deref().map_or(String::new(), |r| format!(" ({r})")),
                journals_on(e, item.invoice_no)
            )
        };
        let finalized_at_gateway =
            |no: u64, id: &str| e.finalizations.iter().any(|x| x.invoice_no == no && x.payment_id == id);
        for item in &b.items {
            let no = item.invoice_no;
            // what the report calls finalized is so in the ledger, with the report's capture
            if item.outcome.as_deref() == Some("finalized") {
                let agrees = match item.capture_id.as_deref() {
                    Some(id) => {
                        finalized_at_gateway(no, id)
                            || e.wallet.iter().any(|w| w.payment_id == id && w.invoice() == Some(no))
                    }
                    None => e.wallet.iter().any(|w| w.invoice() == Some(no)),
                };
                if !agrees {
                    v(
                        Rule::ReportDisagrees,
                        format!(
                            "{name}: invoice {no} is reported finalized, and the gateway has no such payment; {}",
                            said(item)
                        ),
                    );
                }
            }
            // an attempt of this desk the gateway finalized is reported finalized, once completed
            let entries = journal.iter().filter(|j| j.invoice_no == no && item.journal_id.is_none_or(|id| id == j.id));
            let done = entries
                .filter(|j| j.state == "finalized")
                .find_map(|j| j.capture_id.as_deref().filter(|id| finalized_at_gateway(no, id)).map(|id| (j.id, id)));
            if let (true, Some((entry, id))) = (b.state == "completed", done) {
                if item.outcome.as_deref() != Some("finalized") || item.capture_id.as_deref().is_some_and(|c| c != id) {
                    v(
                        Rule::ReportDisagrees,
                        format!(
                            "{name}: invoice {no}'s attempt (entry {entry}) is finalized at the gateway with capture {id}; {}",
                            said(item)
                        ),
                    );
                }
            }
            // nothing short of an end; pending only on a capture PayPal still holds PENDING
            let outcome = item.outcome.as_deref().unwrap_or("");
            if TERMINAL.contains(&outcome) {
                continue;
            }
            let held_pending = item
                .capture_id
                .iter()
                .chain(journal.iter().filter(|j| j.invoice_no == no).filter_map(|j| j.capture_id.as_ref()))
                .any(|id| b.pending_at_paypal.contains(id));
            if !(outcome == "pending" && held_pending) {
                v(
                    Rule::ReportDisagrees,
                    format!("{name}: invoice {no} is not at an end after the final run and recovery; {}", said(item)),
                );
            }
        }
        let all_ended = b.items.iter().all(|i| i.outcome.as_deref().is_some_and(|o| TERMINAL.contains(&o)));
        if all_ended && b.state != "completed" && b.state != "cancelled" {
            v(Rule::ReportDisagrees, format!("{name}: every item is at an end, and the batch is not completed"));
        }
    }
}
