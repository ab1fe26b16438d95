//! What each command does, over one open desk.

use crate::args::{Command, FilterArgs, InvoicesCommand, ListArgs, Sort};
use crate::print;
use billing::capture::{CaptureResult, State};
use billing::{Desk, DeskError, ErrorCode, InvoiceFilter, ListRequest, SortKey};
use std::io::Write;

/// Exit codes beyond `ErrorCode`'s, for capture outcomes.
pub(crate) const EXIT_UNFINISHED: u8 = 8;
pub(crate) const EXIT_REFUSED: u8 = 9;

pub async fn dispatch(desk: &Desk, command: Command) -> Result<(), DeskError> {
    match command {
        Command::Sync { full, json } => sync(desk, full, json).await,
        Command::Invoices { command: InvoicesCommand::List(args) } => list(desk, args).await,
        Command::Invoices { command: InvoicesCommand::Show { invoice_no, json } } => {
            let inv = desk.invoice(invoice_no).await?;
            if json {
                return print::json(&inv);
            }
            print::invoice(&inv);
            Ok(())
        }
        Command::Capture { invoices, yes, json } => capture(desk, invoices, yes, json).await,
        Command::Reauthorize { invoice, yes, json } => reauthorize(desk, invoice, yes, json).await,
        Command::Recover { wait_pending, json } => recover(desk, wait_pending, json).await,
        Command::Journal { invoice, open, limit, json } => {
            let entries = desk.journal_entries(invoice, open, limit).await?;
            if json {
                return print::json(&entries);
            }
            print::journal(&entries);
            Ok(())
        }
        Command::Batch { command } => crate::batch::dispatch(desk, command).await,
        Command::Status { json } => {
            let s = desk.status().await?;
            if json {
                return print::json(&s);
            }
            print::status(&s);
            Ok(())
        }
    }
}

fn outcome_error(results: &[CaptureResult]) -> Result<(), DeskError> {
    let refused = results.iter().filter(|r| matches!(r.state, State::Rejected | State::NeedsAttention)).count();
    let unfinished = results.iter().filter(|r| !r.finished).count();
    if refused > 0 {
        return Err(DeskError::new(
            ErrorCode::GatewayRejected,
            format!("{refused} capture(s) were rejected or need attention."),
        )
        .with_exit(EXIT_REFUSED));
    }
    if unfinished > 0 {
        return Err(DeskError::new(
            ErrorCode::Offline,
            format!("{unfinished} capture(s) are not finished yet; `desk recover` resumes them."),
        )
        .with_exit(EXIT_UNFINISHED));
    }
    Ok(())
}

async fn sync(desk: &Desk, full: bool, json: bool) -> Result<(), DeskError> {
    // unfinished captures first: they may change what the sync should see
    let _ = desk.recover().await;
    let quiet = json || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let report = desk
        .sync(full, &|p| {
            if !quiet {
                eprint!("\rsyncing: page {}/{} ({} invoices)   ", p.pages_done, p.pages_total.unwrap_or(0), p.invoices);
            }
        })
        .await?;
    if !quiet {
        eprintln!();
    }
    if json {
        return print::json(&report);
    }
    print::sync_report(&report);
    Ok(())
}

async fn reauthorize(desk: &Desk, invoice_no: i64, yes: bool, json: bool) -> Result<(), DeskError> {
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(DeskError::bad_input("Confirm the reauthorization interactively, or pass --yes."));
        }
        let env = desk.environment().as_str().to_uppercase();
        print!("Reauthorize the PayPal payment of invoice {invoice_no} in {env}? Type yes: ");
        std::io::stdout().flush().map_err(DeskError::internal)?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(DeskError::internal)?;
        if answer.trim() != "yes" {
            return Err(DeskError::bad_input("Nothing was reauthorized."));
        }
    }
    let r = desk.reauthorize(invoice_no).await?;
    if json {
        return print::json(&r);
    }
    print::reauthorized(&r);
    Ok(())
}

async fn capture(desk: &Desk, invoices: Vec<i64>, yes: bool, json: bool) -> Result<(), DeskError> {
    // finish what an earlier run left open first
    let _ = desk.recover().await;
    let env = desk.environment().as_str().to_uppercase();
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(DeskError::bad_input("Confirm captures interactively, or pass --yes."));
        }
        println!("Environment: {env}");
        for no in &invoices {
            print::preview(&desk.capture_preview(*no).await?);
        }
        print!("\nCapture {} invoice(s) in {env}? Type yes: ", invoices.len());
        std::io::stdout().flush().map_err(DeskError::internal)?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).map_err(DeskError::internal)?;
        if answer.trim() != "yes" {
            return Err(DeskError::bad_input("Nothing was captured."));
        }
    }
    use futures::StreamExt;
    let results: Vec<Result<CaptureResult, DeskError>> =
        futures::stream::iter(invoices.iter().map(|no| desk.capture(*no))).buffered(4).collect().await;
    let mut done = Vec::new();
    let mut first_error = None;
    for (no, r) in invoices.iter().zip(results) {
        match r {
            Ok(r) => done.push(r),
            Err(e) => {
                print::invoice_error(*no, &e);
                first_error.get_or_insert(e);
            }
        }
    }
    print::results(&done, json)?;
    match first_error {
        Some(e) => Err(e),
        None => outcome_error(&done),
    }
}

/// Resumes every unfinished capture; one that cannot be resumed is reported and the rest still
/// run. The exit code is the first failure's, else the worst outcome's.
async fn recover(desk: &Desk, wait_pending: u64, json: bool) -> Result<(), DeskError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_pending);
    let mut results: Vec<(CaptureResult, Option<DeskError>)> = Vec::new();
    let mut pass = 0;
    loop {
        for r in desk.recover_each(None).await? {
            let failure = r.outcome.as_ref().err().cloned();
            let result = r.into_result();
            // keep the newest word on every attempt
            match results.iter_mut().find(|(x, _)| x.journal_id == result.journal_id) {
                Some(x) => *x = (result, failure),
                None => results.push((result, failure)),
            }
        }
        pass += 1;
        let pending = results.iter().any(|(r, e)| !r.finished && e.is_none());
        if !pending || std::time::Instant::now() >= deadline {
            break;
        }
        tracing::debug!(pass, "waiting for pending captures");
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    if results.is_empty() && !json {
        println!("Nothing to recover: every capture is finished.");
        return Ok(());
    }
    let mut first_error = None;
    for (r, e) in &results {
        if let Some(e) = e {
            print::invoice_error(r.invoice_no, e);
            first_error.get_or_insert_with(|| e.clone());
        }
    }
    let results: Vec<CaptureResult> = results.into_iter().map(|(r, _)| r).collect();
    print::results(&results, json)?;
    match first_error {
        Some(e) => Err(e),
        None => outcome_error(&results),
    }
}

/// The engine's filter for the filter flags.
pub fn invoice_filter(a: FilterArgs) -> InvoiceFilter {
    InvoiceFilter {
        status: Some(a.status),
        currency: a.currency,
        search: a.search,
        due_from: a.due_from,
        due_to: a.due_to,
        overdue: a.overdue.then_some(true),
        min_amount: a.min_amount,
        max_amount: a.max_amount,
        has_paypal: if a.paypal {
            Some(true)
        } else if a.no_paypal {
            Some(false)
        } else {
            None
        },
    }
}

async fn list(desk: &Desk, a: ListArgs) -> Result<(), DeskError> {
    let filter = invoice_filter(a.filter);
    let sort = match a.sort {
        Sort::Due => SortKey::DueAt,
        Sort::Amount => SortKey::Amount,
        Sort::Number => SortKey::InvoiceNo,
        Sort::Customer => SortKey::Customer,
    };
    if a.limit == 0 {
        return Err(DeskError::bad_input("--limit must be at least 1."));
    }
    let mut rows = Vec::new();
    let mut after = None;
    let mut truncated = false;
    loop {
        let shown = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        let want = if a.all {
            billing::invoices::MAX_PAGE
        } else {
            (a.limit.saturating_sub(shown)).min(billing::invoices::MAX_PAGE)
        };
        let page = desk
            .list(&ListRequest {
                filter: filter.clone(),
                sort,
                descending: a.desc,
                limit: Some(want),
                after: after.take(),
                with_totals: false,
            })
            .await?;
        rows.extend(page.rows);
        let shown = u32::try_from(rows.len()).unwrap_or(u32::MAX);
        match page.next {
            Some(n) if a.all || shown < a.limit => after = Some(n),
            Some(_) => {
                truncated = true;
                break;
            }
            None => break,
        }
    }
    if truncated {
        eprintln!("desk: showing the first {} invoices; use --limit N or --all for more", rows.len());
    }
    if a.json {
        return print::json(&rows);
    }
    print::invoice_table(&rows)
}
