//! `desk`: the same engine and settings as the app, from a terminal or a script.
//!
//! Exit codes: 0 done; 1 internal or storage error; 2 bad input; 3 not found; 4 gateway
//! unreachable (offline); 5 credentials missing or refused; 6 the gateway refused or failed.

use billing::{Desk, DeskError, DeskOptions, InvoiceFilter, ListRequest, SortKey};
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
Exit codes: 0 ok, 1 internal, 2 bad input, 3 not found, 4 offline, 5 credentials, 6 gateway refused or failed.")]
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
            ExitCode::from(e.code.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<(), DeskError> {
    let desk = Desk::open(DeskOptions::default()).await?;
    let result = dispatch(&desk, cli.command).await;
    desk.close().await;
    result
}

async fn dispatch(desk: &Desk, command: Command) -> Result<(), DeskError> {
    match command {
        Command::Sync { full, json } => {
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
