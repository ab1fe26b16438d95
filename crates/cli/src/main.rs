//! `desk`: the same engine and settings as the app, from a terminal or a script.
//!
//! Exit codes: 0 done; 1 internal or storage error; 2 bad input; 3 not found; 4 gateway
//! unreachable (offline); 5 credentials missing or refused; 6 the gateway or PayPal refused or
//! failed; 7 another process holds the invoice; 8 some captures not finished yet; 9 some captures
//! rejected or needing attention.

use billing::capture::{CaptureResult, State};
use billing::{Desk, DeskError, DeskOptions, ErrorCode, InvoiceFilter, ListRequest, SortKey};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "desk",
    version,
    about = "Capture Desk: outstanding invoices and PayPal captures for CargoExtra billing."
)]
#[command(after_help = "Environment: DESK_ENV (demo|sandbox|live), DESK_DATA_DIR, DESK_GATEWAY_URL, DESK_PAYPAL_URL, \
DESK_GATEWAY_TOKEN, DESK_PAYPAL_CLIENT_ID, DESK_PAYPAL_CLIENT_SECRET, DESK_STAFF.\n\
Exit codes: 0 ok, 1 internal, 2 bad input, 3 not found, 4 offline, 5 credentials, 6 gateway or PayPal refused or failed,\n\
7 another process holds the invoice, 8 some captures not finished yet (run `desk recover`), 9 some captures rejected or needing attention.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pull outstanding invoices from the gateway into the local cache.
    Sync {
        /// Re-read every outstanding invoice instead of only what changed.
        #[arg(long)]
        full: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Browse the cached invoices.
    Invoices {
        #[command(subcommand)]
        command: InvoicesCommand,
    },
    /// Capture the approved PayPal payments of invoices and finalize them at the gateway.
    /// Shows each breakdown and asks first, unless --yes.
    Capture {
        /// Invoice numbers.
        #[arg(required = true)]
        invoices: Vec<i64>,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
        /// Print the results as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The capture journal: every attempt and where it stands.
    Journal {
        /// Only this invoice.
        #[arg(long)]
        invoice: Option<i64>,
        /// Only unfinished attempts.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Resume every unfinished capture from where it stopped.
    Recover {
        /// Keep re-checking captures PayPal holds as pending for up to this many seconds.
        #[arg(long, default_value_t = 15)]
        wait_pending: u64,
        #[arg(long)]
        json: bool,
    },
    /// Environment, connection and cache state.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum InvoicesCommand {
    /// List cached invoices (outstanding ones unless --status says otherwise).
    List(ListArgs),
    /// One cached invoice.
    Show {
        invoice_no: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Sort {
    Due,
    Amount,
    Number,
    Customer,
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// outstanding, paid, cancelled, closed or all.
    #[arg(long, default_value = "outstanding")]
    status: String,
    /// ISO currency code, e.g. EUR.
    #[arg(long)]
    currency: Option<String>,
    /// Customer name or id, or invoice number (substring, any case).
    #[arg(long)]
    search: Option<String>,
    /// Due on or after (YYYY-MM-DD).
    #[arg(long)]
    due_from: Option<String>,
    /// Due on or before (YYYY-MM-DD).
    #[arg(long)]
    due_to: Option<String>,
    /// Only invoices past their due date.
    #[arg(long)]
    overdue: bool,
    /// Outstanding at least this much.
    #[arg(long)]
    min_amount: Option<String>,
    /// Outstanding at most this much.
    #[arg(long)]
    max_amount: Option<String>,
    /// Only invoices with an approved PayPal payment awaiting capture.
    #[arg(long, conflicts_with = "no_paypal")]
    paypal: bool,
    /// Only invoices without one.
    #[arg(long)]
    no_paypal: bool,
    #[arg(long, value_enum, default_value = "due")]
    sort: Sort,
    /// Largest first / latest first.
    #[arg(long)]
    desc: bool,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    limit: u32,
    /// Every matching row, however many.
    #[arg(long)]
    all: bool,
    /// Print a JSON array of invoice objects.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("desk: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("desk: {}", e.message);
            if let Some(d) = &e.detail {
                tracing::debug!(detail = %d, "error detail");
                eprintln!("      ({d})");
            }
            ExitCode::from(e.exit.unwrap_or_else(|| e.code.exit_code()))
        }
    }
}

async fn run(cli: Cli) -> Result<(), DeskError> {
    // the command line is where the environment variables override settings and the keyring
    let desk =
        Desk::open(DeskOptions { env_overrides: billing::EnvOverrides::process(), ..DeskOptions::default() }).await?;
    let result = dispatch(&desk, cli.command).await;
    desk.close().await;
    result
}

/// Exit codes beyond `ErrorCode`'s, for capture outcomes.
const EXIT_UNFINISHED: u8 = 8;
const EXIT_REFUSED: u8 = 9;

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

fn print_results(results: &[CaptureResult], json: bool) -> Result<(), DeskError> {
    if json {
        return print_json(&results);
    }
    for r in results {
        println!("{:>9}  {:<16}  {}", r.invoice_no, r.state_text(), r.message);
        if let Some(d) = &r.detail {
            if !r.finished {
                println!("{:>9}  {:<16}  ({d})", "", "");
            }
        }
    }
    Ok(())
}

trait StateText {
    fn state_text(&self) -> String;
}

impl StateText for CaptureResult {
    fn state_text(&self) -> String {
        self.state.as_str().replace('_', " ")
    }
}

async fn capture(desk: &Desk, invoices: Vec<i64>, yes: bool, json: bool) -> Result<(), DeskError> {
    // finish what an earlier run left open first
    let _ = desk.recover().await;
    let env = desk.environment().as_str();
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return Err(DeskError::bad_input("Confirm captures interactively, or pass --yes."));
        }
        println!("Environment: {}", env.to_uppercase());
        for no in &invoices {
            let p = desk.capture_preview(*no).await?;
            println!("\ninvoice {} — {} — outstanding {} {}", p.invoice_no, p.customer_name, p.outstanding, p.currency);
            if let Some(w) = &p.wallet {
                println!(
                    "  wallet part:  {} {} at {} = {} {}",
                    w.amount, w.currency, w.exchange_rate, w.in_invoice_currency, p.currency
                );
            }
            if p.path == "wallet" {
                println!("  the wallet pays everything (no PayPal capture)");
            } else {
                println!("  PayPal part:  {} {}", p.paypal_amount, p.currency);
            }
            if let Some(a) = &p.approval {
                println!(
                    "  approved:     {} {} ({} order {}, {})",
                    a.amount,
                    a.currency,
                    a.intent.to_lowercase(),
                    a.order_id,
                    a.status.to_lowercase()
                );
            }
            for problem in &p.problems {
                println!("  PROBLEM:      {problem}");
            }
        }
        print!("\nCapture {} invoice(s) in {}? Type yes: ", invoices.len(), env.to_uppercase());
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
                eprintln!(
                    "desk: invoice {no}: {}{}",
                    e.message,
                    e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
                );
                first_error.get_or_insert(e);
            }
        }
    }
    print_results(&done, json)?;
    match first_error {
        Some(e) => Err(e),
        None => outcome_error(&done),
    }
}

async fn recover(desk: &Desk, wait_pending: u64, json: bool) -> Result<(), DeskError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_pending);
    let mut results = desk.recover().await?;
    while results.iter().any(|r| !r.finished) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let again = desk.recover().await?;
        // keep the newest word on every attempt
        for r in again {
            match results.iter_mut().find(|x| x.journal_id == r.journal_id) {
                Some(x) => *x = r,
                None => results.push(r),
            }
        }
    }
    if results.is_empty() && !json {
        println!("Nothing to recover: every capture is finished.");
        return Ok(());
    }
    print_results(&results, json)?;
    outcome_error(&results)
}

async fn dispatch(desk: &Desk, command: Command) -> Result<(), DeskError> {
    match command {
        Command::Sync { full, json } => {
            // unfinished captures first: they may change what the sync should see
            let _ = desk.recover().await;
            let quiet = json || !std::io::IsTerminal::is_terminal(&std::io::stderr());
            let report = desk
                .sync(full, &|p| {
                    if !quiet {
                        eprint!(
                            "\rsyncing: page {}/{} ({} invoices)   ",
                            p.pages_done,
                            p.pages_total.unwrap_or(0),
                            p.invoices
                        );
                    }
                })
                .await?;
            if !quiet {
                eprintln!();
            }
            if json {
                print_json(&report)?;
            } else {
                println!(
                    "{} sync: {} invoices in {} pages{}",
                    if report.mode == billing::sync::SyncMode::Full { "full" } else { "incremental" },
                    report.invoices,
                    report.pages,
                    if report.closed > 0 {
                        format!(", {} no longer outstanding", report.closed)
                    } else {
                        String::new()
                    }
                );
            }
            Ok(())
        }
        Command::Invoices { command: InvoicesCommand::List(args) } => list(desk, args).await,
        Command::Capture { invoices, yes, json } => capture(desk, invoices, yes, json).await,
        Command::Recover { wait_pending, json } => recover(desk, wait_pending, json).await,
        Command::Journal { invoice, open, limit, json } => {
            let mut entries = desk.journal(invoice, limit).await?;
            if open {
                entries.retain(|e| !e.state().is_terminal());
            }
            if json {
                return print_json(&entries);
            }
            println!(
                "{:>6}  {:>9}  {:<20} {:>14} {:<3}  {:<20} REASON / LAST ERROR",
                "ENTRY", "INVOICE", "STATE", "PAYPAL PART", "CUR", "CAPTURE"
            );
            for e in &entries {
                println!(
                    "{:>6}  {:>9}  {:<20} {:>14} {:<3}  {:<20} {}",
                    e.id,
                    e.invoice_no,
                    e.state().as_str(),
                    e.paypal_amount.as_deref().unwrap_or("-"),
                    e.currency,
                    e.capture_id.as_deref().unwrap_or("-"),
                    e.reason.as_deref().or(e.last_error.as_deref()).unwrap_or("")
                );
            }
            Ok(())
        }
        Command::Invoices { command: InvoicesCommand::Show { invoice_no, json } } => {
            let inv = desk.invoice(invoice_no).await?;
            if json {
                return print_json(&inv);
            }
            println!("invoice:      {}", inv.invoice_no);
            println!("customer:     {} ({})", inv.customer_name, inv.customer_id);
            println!("status:       {}{}", inv.status, if inv.overdue { " (overdue)" } else { "" });
            println!("total:        {} {}", inv.total, inv.currency);
            println!("outstanding:  {} {}", inv.outstanding, inv.currency);
            println!("issued:       {}", inv.issued_at);
            println!("due:          {}", inv.due_at.as_deref().unwrap_or("-"));
            match &inv.wallet {
                Some(w) => println!("wallet:       {} {}", w.balance, w.currency),
                None => println!("wallet:       none"),
            }
            match &inv.paypal {
                Some(p) => println!(
                    "paypal:       {} order {}{}, approved {}",
                    p.intent,
                    p.order_id,
                    p.authorization_id.as_deref().map(|a| format!(", authorization {a}")).unwrap_or_default(),
                    p.approved_at
                ),
                None => println!("paypal:       no approved payment awaiting capture"),
            }
            Ok(())
        }
        Command::Status { json } => {
            let s = desk.status().await?;
            if json {
                return print_json(&s);
            }
            println!("environment:     {}", s.environment.as_str());
            println!("gateway:         {}", s.gateway_url.as_deref().unwrap_or("(not configured)"));
            if let Some(p) = &s.gateway_problem {
                println!("problem:         {p}");
            }
            println!("staff:           {}", s.staff_name);
            println!("data directory:  {}", s.data_dir);
            println!("cached invoices: {}", s.cached_invoices);
            println!("last synced at:  {}", s.last_synced_at.as_deref().unwrap_or("never"));
            if let Some(e) = &s.last_sync_error {
                println!("last sync error: {e}");
            }
            Ok(())
        }
    }
}

async fn list(desk: &Desk, a: ListArgs) -> Result<(), DeskError> {
    let filter = InvoiceFilter {
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
    };
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
        let want = if a.all {
            billing::invoices::MAX_PAGE
        } else {
            (a.limit - rows.len() as u32).min(billing::invoices::MAX_PAGE)
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
        match page.next {
            Some(n) if a.all || (rows.len() as u32) < a.limit => after = Some(n),
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
        return print_json(&rows);
    }
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| DeskError::internal(e);
    writeln!(
        out,
        "{:>9}  {:<34} {:>16} {:<3}  {:<10}  {:<11}  PAYPAL",
        "INVOICE", "CUSTOMER", "OUTSTANDING", "CUR", "DUE", "STATUS"
    )
    .map_err(w)?;
    for r in &rows {
        let name: String = r.customer_name.chars().take(34).collect();
        let due = r.due_at.as_deref().map(|d| &d[..10.min(d.len())]).unwrap_or("-");
        let paypal = r.paypal.as_ref().map_or(String::new(), |p| format!("{} {}", p.intent.to_lowercase(), p.order_id));
        let status = if r.overdue { "overdue" } else { r.status.as_str() };
        writeln!(
            out,
            "{:>9}  {:<34} {:>16} {:<3}  {:<10}  {:<11}  {}",
            r.invoice_no, name, r.outstanding, r.currency, due, status, paypal
        )
        .map_err(w)?;
    }
    Ok(())
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), DeskError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(DeskError::internal)?;
    writeln!(out).map_err(DeskError::internal)
}
