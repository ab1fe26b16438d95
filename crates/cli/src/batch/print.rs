//! What `desk batch` prints for people (`--json` prints the engine's objects as they are).

use billing::batch::{BatchSummary, BatchView};
use billing::DeskError;
use std::io::Write;

fn w(e: std::io::Error) -> DeskError {
    DeskError::internal(e)
}

pub fn list(batches: &[BatchSummary]) -> Result<(), DeskError> {
    let mut out = std::io::stdout().lock();
    if batches.is_empty() {
        return writeln!(out, "No batches yet.").map_err(w);
    }
    writeln!(
        out,
        "{:>5}  {:<30} {:<16} {:<20} {:<12} {:>6} {:>6} {:>6} {:>6}",
        "BATCH", "NAME", "BY", "CREATED", "STATE", "ITEMS", "EXCL", "READY", "DONE"
    )
    .map_err(w)?;
    for b in batches {
        let name: String = b.name.chars().take(30).collect();
        let by: String = b.created_by.chars().take(16).collect();
        writeln!(
            out,
            "{:>5}  {:<30} {:<16} {:<20} {:<12} {:>6} {:>6} {:>6} {:>6}",
            b.id,
            name,
            by,
            b.created_at,
            b.state.as_str(),
            b.item_count,
            b.excluded_count,
            b.ready_count,
            b.done_count
        )
        .map_err(w)?;
    }
    Ok(())
}

pub fn batch(v: &BatchView, what: &str) -> Result<(), DeskError> {
    let b = &v.batch;
    let mut out = std::io::stdout().lock();
    let what = if what.is_empty() { String::new() } else { format!(" {what}") };
    writeln!(out, "batch {}{what}: {} ({})", b.id, b.name, b.state.as_str()).map_err(w)?;
    writeln!(
        out,
        "created:   {} by {} ({} {})",
        b.created_at,
        b.created_by,
        b.source_kind.as_str(),
        b.source.as_deref().unwrap_or("")
    )
    .map_err(w)?;
    match (&b.approved_by, &b.approved_at) {
        (Some(by), Some(at)) => writeln!(out, "approved:  {at} by {by}").map_err(w)?,
        _ => writeln!(
            out,
            "approved:  not yet{}",
            if v.four_eyes { " (four eyes: by someone other than its creator)" } else { "" }
        )
        .map_err(w)?,
    }
    writeln!(
        out,
        "items:     {} ({} excluded, {} ready, {} done)",
        b.item_count, b.excluded_count, b.ready_count, b.done_count
    )
    .map_err(w)?;
    writeln!(
        out,
        "\n{:>9}  {:>14} {:<3}  {:<8} {:<22} {:<16} REASON",
        "INVOICE", "OUTSTANDING", "CUR", "", "VERDICT", "OUTCOME"
    )
    .map_err(w)?;
    for i in &v.items {
        writeln!(
            out,
            "{:>9}  {:>14} {:<3}  {:<8} {:<22} {:<16} {}",
            i.invoice_no,
            i.outstanding,
            i.currency,
            if i.excluded { "excluded" } else { "" },
            i.verdict.map_or("-", |x| x.as_str()),
            i.outcome.map_or("-", |x| x.as_str()),
            i.outcome_reason.as_deref().or(i.verdict_reason.as_deref()).unwrap_or("")
        )
        .map_err(w)?;
    }
    writeln!(
        out,
        "\n{:<3} {:>6} {:>16} {:>16} {:>16} {:>16}",
        "CUR", "ITEMS", "TOTAL", "OUTSTANDING", "WALLET PART", "PAYPAL PART"
    )
    .map_err(w)?;
    for t in &v.totals {
        writeln!(
            out,
            "{:<3} {:>6} {:>16} {:>16} {:>16} {:>16}",
            t.currency, t.count, t.total, t.outstanding, t.wallet_part, t.paypal_part
        )
        .map_err(w)?;
    }
    Ok(())
}
