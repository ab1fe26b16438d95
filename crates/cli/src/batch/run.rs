//! `desk batch run` (progress on stderr: a bar on a terminal, plain lines otherwise; the exit
//! code says whether items are unfinished or failed) and `desk batch report`. A batch another
//! window or command is running is refused by the engine with its own exit code, 10
//! ([`billing::batch::EXIT_RUNNING_ELSEWHERE`], set on the error), before anything starts. A run
//! that lost its hold on the batch mid-way (its process stopped past the lease's TTL, another
//! run took over) exits 10 while that run holds it, else 8 like items left unfinished: run it
//! again (set on the error by the engine's run lease).

use crate::commands::{EXIT_REFUSED, EXIT_UNFINISHED};
use billing::batch::report::to_csv;
use billing::batch::{BatchReport, RunEnd, RunProgress};
use billing::desk::BatchPace;
use billing::{Desk, DeskError, ErrorCode};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

pub async fn run(desk: &Desk, staff: &str, id: i64, pace: BatchPace, json: bool) -> Result<(), DeskError> {
    let bar = std::io::stderr().is_terminal();
    let last_line = Mutex::new(0usize);
    let progress = |p: RunProgress| {
        let eta = p.eta_seconds.map(|s| format!(", about {}", duration(s))).unwrap_or_default();
        let counts = format!(
            "{}/{} done ({} failed, {} pending), {} items/s{eta}",
            p.done, p.total, p.failed, p.pending, p.per_second
        );
        if bar {
            let width = 30usize;
            let filled = (p.done * width).checked_div(p.total).unwrap_or(width);
            let line = format!("[{}{}] {counts}", "#".repeat(filled), "-".repeat(width - filled));
            eprint!("\r\x1b[2K{line}");
            if p.finished {
                eprintln!();
            }
        } else {
            // a plain line for every tenth of the batch, and the last
            let step = (p.total / 10).max(1);
            let mut last = last_line.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if p.finished || p.done >= *last + step || (p.done == 0 && *last == 0) {
                *last = p.done;
                eprintln!("batch {id}: {counts}");
            }
        }
    };
    let end = desk.batch_run(staff, id, pace, &progress).await?;
    let view = desk.batch(id).await?;
    if json {
        crate::print::json(&view)?;
    } else {
        super::print::batch(&view, "run")?;
    }
    exit_of(id, &end)
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s < 90 => format!("{s} s left"),
        s => format!("{} min left", s.div_ceil(60)),
    }
}

/// 8 while items are not at an end (the batch is not done: run it again, or `desk recover`);
/// then 9 when items were rejected or need attention.
fn exit_of(id: i64, end: &RunEnd) -> Result<(), DeskError> {
    let unfinished = end.unfinished();
    if unfinished > 0 {
        return Err(DeskError::new(
            ErrorCode::Offline,
            format!(
                "Batch {id}: {unfinished} item(s) are not finished yet; `desk batch run {id}` or `desk recover` \
                 finishes them."
            ),
        )
        .with_exit(EXIT_UNFINISHED));
    }
    let failed = end.failed();
    if failed > 0 {
        return Err(DeskError::new(
            ErrorCode::GatewayRejected,
            format!("Batch {id}: {failed} item(s) were rejected or need attention (see `desk batch report {id}`)."),
        )
        .with_exit(EXIT_REFUSED));
    }
    Ok(())
}

pub async fn report(desk: &Desk, id: i64, csv: Option<&str>, json: bool) -> Result<(), DeskError> {
    let report = desk.batch_report(id).await?;
    if let Some(path) = csv {
        std::fs::write(path, to_csv(&report)).map_err(|e| {
            DeskError::new(ErrorCode::BadInput, format!("The report could not be written to {path}: {e}"))
        })?;
    }
    if json {
        return crate::print::json(&report);
    }
    print(&report, csv)
}

fn print(r: &BatchReport, csv: Option<&str>) -> Result<(), DeskError> {
    let w = DeskError::internal;
    let mut out = std::io::stdout().lock();
    let b = &r.batch;
    writeln!(out, "batch {}: {} ({})", b.id, b.name, b.state.as_str()).map_err(w)?;
    writeln!(
        out,
        "created by {} · approved by {} · {} items",
        b.created_by,
        b.approved_by.as_deref().unwrap_or("nobody"),
        b.item_count
    )
    .map_err(w)?;
    let outcomes: Vec<String> = r.outcomes.iter().map(|(o, n)| format!("{o} {n}")).collect();
    writeln!(out, "outcomes: {}", outcomes.join(", ")).map_err(w)?;
    writeln!(
        out,
        "{:>10}  {:<16} {:<22} {:>14} {:>12} {:>12}",
        "INVOICE", "OUTCOME", "CAPTURE", "PAYPAL", "FEE", "NET"
    )
    .map_err(w)?;
    for i in &r.items {
        writeln!(
            out,
            "{:>10}  {:<16} {:<22} {:>14} {:>12} {:>12}",
            i.invoice_no,
            i.outcome.map_or("-", |o| o.as_str()),
            i.capture_id.as_deref().unwrap_or("-"),
            i.paypal_amount.as_deref().map_or("-".to_owned(), |a| format!("{a} {}", i.currency)),
            i.paypal_fee.as_deref().unwrap_or("-"),
            i.net_amount.as_deref().unwrap_or("-"),
        )
        .map_err(w)?;
        if let Some(action) = &i.action {
            writeln!(
                out,
                "{:>10}  ↳ {}",
                "",
                i.outcome_reason.as_deref().map_or(action.clone(), |r| format!("{r} {action}"))
            )
            .map_err(w)?;
        }
    }
    writeln!(out, "finalized, per currency:").map_err(w)?;
    for t in &r.totals {
        let unknown =
            if t.fee_unknown > 0 { format!(" ({} fee(s) not read yet)", t.fee_unknown) } else { String::new() };
        writeln!(
            out,
            "  {} {:>5} invoices: paid {} = PayPal {} + wallet {}; PayPal fee {}, net {}{unknown}",
            t.currency, t.finalized, t.paid, t.paypal_captured, t.wallet_paid, t.paypal_fee, t.net
        )
        .map_err(w)?;
    }
    if let Some(path) = csv {
        writeln!(out, "CSV written to {path}").map_err(w)?;
    }
    Ok(())
}
