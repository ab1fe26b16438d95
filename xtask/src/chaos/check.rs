//! What must hold after a seed, read from the sandbox's ledger and wallet history and from both
//! desks' journals. Pure: the evidence in, the violations out.

use super::evidence::{Capture, Entry, Evidence};
use super::wallets;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The rule a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rule {
    /// More than one capture that moved money for one order, authorization or invoice.
    CapturedTwice,
    /// A completed capture not finalized at the gateway, or finalized more than once.
    NotFinalizedOnce,
    /// A finalization PayPal holds no completed capture for (or for another invoice or amount).
    FinalizedWithoutCapture,
    /// A journal entry left in a state that is not terminal.
    EntryNotTerminal,
    /// A journal that says finalized where the gateway disagrees.
    JournalDisagrees,
    /// A wallet debited twice for one invoice, or below zero, or a debit without its payment.
    WalletDebitedTwice,
    /// Money moved for an invoice neither desk was asked to capture.
    NotAsked,
    /// A desk run that crashed, hung, or failed inside (not one we killed).
    DeskFailed,
    /// A batch report that disagrees with the ledger or the journal, or an item left short of
    /// an end (see [`super::batch_check`]).
    ReportDisagrees,
    /// With four eyes on, the staff who created a batch could approve it.
    FourEyes,
}

impl Rule {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Rule::CapturedTwice => "captured twice",
            Rule::NotFinalizedOnce => "not finalized exactly once",
            Rule::FinalizedWithoutCapture => "finalized without a capture",
            Rule::EntryNotTerminal => "journal entry not terminal",
            Rule::JournalDisagrees => "journal disagrees with the gateway",
            Rule::WalletDebitedTwice => "wallet debited twice",
            Rule::NotAsked => "money moved for an invoice not asked for",
            Rule::DeskFailed => "desk crashed, hung or failed inside",
            Rule::ReportDisagrees => "batch report disagrees with the ledger",
            Rule::FourEyes => "four eyes let a batch's creator approve it",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) rule: Rule,
    pub(crate) message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule.as_str(), self.message)
    }
}

/// What the checker found: violations, and outcomes that are allowed but worth counting.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) violations: Vec<Violation>,
    /// Captures left unfinalized because the other desk spent the wallet the attempt counted
    /// on, each ending in `needs_attention`: the outcome the rules accept across desks.
    pub(crate) wallet_conflicts_across_desks: Vec<String>,
}

/// The journal states an attempt ends in.
pub(crate) fn terminal(state: &str) -> bool {
    matches!(state, "finalized" | "rejected" | "needs_attention")
}

/// Captures PayPal holds as money moved (or moving: PENDING); declined and failed ones did not.
fn moved_money(c: &Capture) -> bool {
    !matches!(c.status.as_str(), "DECLINED" | "FAILED" | "VOIDED")
}

/// Captures whose money has arrived and stayed: the ones the gateway must hear of. A capture
/// refunded in full gave the money back (the gateway must not hear of it as a payment), yet it
/// still counts as a capture for "captured twice".
fn completed(c: &Capture) -> bool {
    matches!(c.status.as_str(), "COMPLETED" | "PARTIALLY_REFUNDED")
}

pub(crate) fn check(e: &Evidence) -> Findings {
    let mut violations = Vec::new();
    let mut conflicts = Vec::new();
    let mut v = |rule, message: String| violations.push(Violation { rule, message });
    let invoice_of_order: BTreeMap<&str, u64> =
        e.invoices.iter().filter_map(|i| i.order_id.as_deref().map(|o| (o, i.no))).collect();
    let invoice_of_capture = |c: &Capture| c.order_id.as_deref().and_then(|o| invoice_of_order.get(o).copied());
    let what_journals_say = |invoice: u64| journals_on(e, invoice);

    // nothing captured twice: per authorization (or order, for an order's own capture), per invoice
    let mut by_source: BTreeMap<&str, Vec<&Capture>> = BTreeMap::new();
    let mut by_invoice: BTreeMap<u64, Vec<&Capture>> = BTreeMap::new();
    for c in e.captures.iter().filter(|c| moved_money(c)) {
        if let Some(source) = c.authorization_id.as_deref().or(c.order_id.as_deref()) {
            by_source.entry(source).or_default().push(c);
        }
        match invoice_of_capture(c) {
            Some(no) => by_invoice.entry(no).or_default().push(c),
            None => v(
                Rule::NotAsked,
                format!("capture {} ({}) of order {:?}, which no listed invoice holds", c.id, c.status, c.order_id),
            ),
        }
    }
    let mut twice = BTreeSet::new();
    for (source, caps) in by_source.iter().filter(|(_, caps)| caps.len() > 1) {
        let invoice = caps.first().and_then(|c| invoice_of_capture(c));
        twice.extend(invoice);
        let kind = if caps.iter().any(|c| c.authorization_id.is_some()) { "authorization" } else { "order" };
        v(
            Rule::CapturedTwice,
            format!(
                "{kind} {source} (invoice {}) captured {} times: {}; {}",
                invoice.map_or("?".into(), |n| n.to_string()),
                caps.len(),
                list_captures(caps),
                invoice.map_or(String::new(), &what_journals_say)
            ),
        );
    }
    for (no, caps) in by_invoice.iter().filter(|(no, caps)| caps.len() > 1 && !twice.contains(*no)) {
        v(
            Rule::CapturedTwice,
            format!("invoice {no} captured {} times: {}; {}", caps.len(), list_captures(caps), what_journals_say(*no)),
        );
    }
    let asked: BTreeSet<u64> = e.asked.iter().copied().collect();
    for no in by_invoice.keys().filter(|no| !asked.contains(no)) {
        v(Rule::NotAsked, format!("invoice {no} was captured at PayPal, and neither desk was asked to capture it"));
    }

    // every completed capture finalized exactly once, for its invoice and amount
    for c in e.captures.iter().filter(|c| completed(c)) {
        let fins: Vec<_> = e.finalizations.iter().filter(|x| x.payment_id == c.id).collect();
        let invoice = invoice_of_capture(c);
        match fins.len() {
            1 => {}
            0 => {
                if let Some(note) = wallets::conflict_across_desks(e, c, invoice) {
                    conflicts.push(note);
                    continue;
                }
                v(
                    Rule::NotFinalizedOnce,
                    format!(
                        "capture {} ({} {} {}) of invoice {} is not finalized at the gateway; {}{}",
                        c.id,
                        c.status,
                        c.amount,
                        c.currency,
                        invoice.map_or("?".into(), |n| n.to_string()),
                        invoice.map_or(String::new(), &what_journals_say),
                        invoice.map_or(String::new(), |no| wallets::spent_elsewhere(e, no))
                    ),
                );
            }
            n => v(
                Rule::NotFinalizedOnce,
                format!(
                    "capture {} is finalized {n} times (invoices {})",
                    c.id,
                    fins.iter().map(|x| x.invoice_no.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    }

    // nothing finalized that PayPal did not capture (for that invoice, for that amount)
    let mut fins_per_invoice: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for x in &e.finalizations {
        fins_per_invoice.entry(x.invoice_no).or_default().push(&x.payment_id);
        let Some(c) = e.captures.iter().find(|c| c.id == x.payment_id) else {
            v(
                Rule::FinalizedWithoutCapture,
                format!(
                    "invoice {} finalized with payment {} ({} {}), which is no PayPal capture; {}",
                    x.invoice_no,
                    x.payment_id,
                    x.amount,
                    x.currency,
                    what_journals_say(x.invoice_no)
                ),
            );
            continue;
        };
        if !completed(c) {
            v(
                Rule::FinalizedWithoutCapture,
                format!("invoice {} finalized with capture {}, which PayPal holds as {}", x.invoice_no, c.id, c.status),
            );
        }
        if invoice_of_capture(c).is_some_and(|no| no != x.invoice_no) {
            v(
                Rule::FinalizedWithoutCapture,
                format!(
                    "invoice {} finalized with capture {}, which belongs to invoice {}",
                    x.invoice_no,
                    c.id,
                    invoice_of_capture(c).map_or("?".into(), |n| n.to_string())
                ),
            );
        }
        if x.amount != c.amount || x.currency != c.currency {
            v(
                Rule::FinalizedWithoutCapture,
                format!(
                    "invoice {} finalized for {} {}, and its capture {} is {} {}",
                    x.invoice_no, x.amount, x.currency, c.id, c.amount, c.currency
                ),
            );
        }
    }
    for (no, ids) in fins_per_invoice.iter().filter(|(_, ids)| ids.len() > 1) {
        v(Rule::NotFinalizedOnce, format!("invoice {no} finalized {} times: {}", ids.len(), ids.join(", ")));
    }

    // every journal entry terminal, and what a journal calls finalized is so at the gateway
    for (desk, entries) in &e.journals {
        for j in entries {
            if !terminal(&j.state) {
                v(
                    Rule::EntryNotTerminal,
                    format!(
                        "desk {desk}: entry {} (invoice {}) is {}; {}",
                        j.id,
                        j.invoice_no,
                        j.state,
                        entry_detail(j)
                    ),
                );
            }
            if j.state != "finalized" {
                // an attempt that says it did not finish while the gateway holds its capture as
                // the invoice's payment: the clerk is sent to fix (or refund) a paid invoice
                let finalized = j
                    .capture_id
                    .as_deref()
                    .filter(|id| e.finalizations.iter().any(|x| x.payment_id == *id && x.invoice_no == j.invoice_no));
                if let (true, Some(id)) = (matches!(j.state.as_str(), "rejected" | "needs_attention"), finalized) {
                    v(
                        Rule::JournalDisagrees,
                        format!(
                            "desk {desk}: entry {} (invoice {}) is {}, and the gateway holds its capture {id} as the invoice's payment; {}",
                            j.id,
                            j.invoice_no,
                            j.state,
                            entry_detail(j)
                        ),
                    );
                }
                continue;
            }
            if j.path == "wallet" {
                if !e.wallet.iter().any(|r| r.invoice() == Some(j.invoice_no)) {
                    v(
                        Rule::JournalDisagrees,
                        format!("desk {desk}: entry {} says invoice {} was paid from the wallet; the wallet history has no debit for it", j.id, j.invoice_no),
                    );
                }
                continue;
            }
            match j.capture_id.as_deref() {
                None => v(
                    Rule::JournalDisagrees,
                    format!("desk {desk}: entry {} (invoice {}) is finalized without a capture id", j.id, j.invoice_no),
                ),
                Some(id) if !e.finalizations.iter().any(|x| x.payment_id == id && x.invoice_no == j.invoice_no) => v(
                    Rule::JournalDisagrees,
                    format!(
                        "desk {desk}: entry {} says invoice {} is finalized with capture {id}; the gateway has no such finalization",
                        j.id, j.invoice_no
                    ),
                ),
                Some(_) => {}
            }
        }
    }

    // no wallet debited twice; every debit paid its invoice, and no balance went below zero
    wallets::check_wallets(e, &mut v);
    // every batch report agrees with the ledger and the journal, and left nothing short of an end
    super::batch_check::check_batches(e, &mut v);
    Findings { violations, wallet_conflicts_across_desks: conflicts }
}

fn list_captures(caps: &[&Capture]) -> String {
    caps.iter().map(|c| format!("{} {} {} {}", c.id, c.status, c.amount, c.currency)).collect::<Vec<_>>().join(", ")
}

fn entry_detail(j: &Entry) -> String {
    let mut s = format!("capture {}", j.capture_id.as_deref().unwrap_or("none"));
    if let Some(st) = &j.capture_status {
        s.push_str(&format!(" ({st})"));
    }
    if let Some(r) = &j.reason {
        s.push_str(&format!(", reason: {r}"));
    }
    if let Some(err) = &j.last_error {
        s.push_str(&format!(", last error: {err}"));
    }
    s
}

/// What both journals hold on an invoice, for a violation's diagnosis.
pub(super) fn journals_on(e: &Evidence, invoice: u64) -> String {
    let mut parts = Vec::new();
    for (desk, entries) in &e.journals {
        for j in entries.iter().filter(|j| j.invoice_no == invoice) {
            parts.push(format!(
                "desk {desk} entry {} {}{}: {}",
                j.id,
                j.state,
                if j.adopted { " (adopted)" } else { "" },
                entry_detail(j)
            ));
        }
    }
    if parts.is_empty() {
        "no journal entry on it".into()
    } else {
        format!("journals: [{}]", parts.join("; "))
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
