//! The command line: every command and option `desk` takes.

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "desk",
    version,
    about = "Capture Desk: outstanding invoices and PayPal captures for CargoExtra billing."
)]
#[command(after_help = "Environment: DESK_ENV (demo|sandbox|live), DESK_DATA_DIR, DESK_GATEWAY_URL, DESK_PAYPAL_URL, \
DESK_GATEWAY_TOKEN, DESK_PAYPAL_CLIENT_ID, DESK_PAYPAL_CLIENT_SECRET, DESK_STAFF, DESK_FOUR_EYES (1|0; live: always 1).\n\
Each environment has its own invoices, captures and activity: DESK_ENV chooses whose are used and shown.\n\
Exit codes: 0 ok, 1 internal, 2 bad input, 3 not found, 4 offline, 5 credentials, 6 gateway or PayPal refused or failed,\n\
7 another process (or an open batch) holds the invoice, 8 some captures not finished yet (run `desk recover`), 9 some captures rejected or needing attention.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
    /// Reauthorize the PayPal authorization of an invoice past its 3-day honour period (preflight's
    /// `honour_period_passed`): PayPal makes a new authorization, which the desk then captures.
    /// Asks first, unless --yes.
    Reauthorize {
        /// Invoice number.
        invoice: i64,
        /// Do not ask (for scripts).
        #[arg(long)]
        yes: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The capture journal: every attempt and where it stands.
    Journal {
        /// Only this invoice.
        #[arg(long)]
        invoice: Option<i64>,
        /// Only unfinished attempts (all of them, up to --limit).
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
    /// Batch capture reviews: create a batch, review it, approve it (four eyes), cancel it.
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
    /// Environment, connection and cache state.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum InvoicesCommand {
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
pub enum Sort {
    Due,
    Amount,
    Number,
    Customer,
}

/// Which invoices: the filter of `desk invoices list` (and of `desk batch create`).
#[derive(clap::Args, Debug, Clone)]
pub struct FilterArgs {
    /// outstanding, paid, cancelled, closed or all.
    #[arg(long, default_value = "outstanding")]
    pub status: String,
    /// ISO currency code, e.g. EUR.
    #[arg(long)]
    pub currency: Option<String>,
    /// Customer name or id, or invoice number (substring, any case).
    #[arg(long)]
    pub search: Option<String>,
    /// Due on or after (YYYY-MM-DD).
    #[arg(long)]
    pub due_from: Option<String>,
    /// Due on or before (YYYY-MM-DD).
    #[arg(long)]
    pub due_to: Option<String>,
    /// Only invoices past their due date.
    #[arg(long)]
    pub overdue: bool,
    /// Outstanding at least this much.
    #[arg(long)]
    pub min_amount: Option<String>,
    /// Outstanding at most this much.
    #[arg(long)]
    pub max_amount: Option<String>,
    /// Only invoices with an approved PayPal payment awaiting capture.
    #[arg(long, conflicts_with = "no_paypal")]
    pub paypal: bool,
    /// Only invoices without one.
    #[arg(long)]
    pub no_paypal: bool,
}

impl FilterArgs {
    /// Whether any flag differs from its default (`--status outstanding` and nothing else).
    pub fn is_set(&self) -> bool {
        self.status != "outstanding"
            || self.currency.is_some()
            || self.search.is_some()
            || self.due_from.is_some()
            || self.due_to.is_some()
            || self.overdue
            || self.min_amount.is_some()
            || self.max_amount.is_some()
            || self.paypal
            || self.no_paypal
    }
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long, value_enum, default_value = "due")]
    pub sort: Sort,
    /// Largest first / latest first.
    #[arg(long)]
    pub desc: bool,
    /// At most this many rows.
    #[arg(long, default_value_t = 1000)]
    pub limit: u32,
    /// Every matching row, however many.
    #[arg(long)]
    pub all: bool,
    /// Print a JSON array of invoice objects.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum BatchCommand {
    /// Create a draft batch: from invoice numbers, a file of numbers (one a line, or the first
    /// CSV column), or the filter flags of `desk invoices list` (the default: every outstanding invoice).
    Create {
        /// Invoice numbers.
        #[arg(long, num_args = 1.., conflicts_with = "from_file")]
        invoices: Vec<i64>,
        /// A file of invoice numbers.
        #[arg(long, value_name = "FILE")]
        from_file: Option<String>,
        #[command(flatten)]
        filter: Box<FilterArgs>,
        /// The batch's name (default: its source and the time).
        #[arg(long)]
        name: Option<String>,
        /// Print the batch as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every batch, newest first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One batch: its items, verdicts and outcomes, and its totals per currency.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Exclude invoices from a batch (before it runs; voids an approval).
    Exclude {
        id: i64,
        #[arg(required = true)]
        invoices: Vec<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Include excluded invoices again (before it runs; voids an approval).
    Include {
        id: i64,
        #[arg(required = true)]
        invoices: Vec<i64>,
        #[arg(long)]
        json: bool,
    },
    /// Preflight a batch: read each included item again at the gateway and PayPal and give it a
    /// verdict (moves nothing; voids an approval). Progress goes to stderr.
    Preflight {
        id: i64,
        /// How many items are read at once (default: the batch settings, 4 unless changed).
        #[arg(long)]
        concurrency: Option<usize>,
        /// Requests a second to the gateway and PayPal together (default: the batch settings, 20
        /// unless changed).
        #[arg(long, value_name = "R")]
        rate: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run (or resume) an approved batch: its ready items are captured through the journal,
    /// exactly once, paced at --rate. Progress goes to stderr (a bar on a terminal). Exit 8 while
    /// items are pending or unfinished, 9 when some were rejected or need attention, 10 when
    /// another window or command is running the batch (nothing started here).
    Run {
        id: i64,
        /// Requests a second to the gateway and PayPal together, retries and token requests
        /// included (default: the batch settings, 20 unless changed).
        #[arg(long, value_name = "R")]
        rate: Option<String>,
        /// How many items run at once (default: the batch settings, 4 unless changed).
        #[arg(long)]
        concurrency: Option<usize>,
        #[arg(long)]
        json: bool,
    },
    /// Pause a running batch: items in flight finish, no new ones start (`desk batch run` resumes).
    Pause {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// The batch's report: each item's outcome, capture, amounts, PayPal fee and net, and totals
    /// per currency.
    Report {
        id: i64,
        /// Also write the report as CSV to FILE.
        #[arg(long, value_name = "FILE")]
        csv: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Approve a preflighted batch as DESK_STAFF (with four eyes: not its creator).
    Approve {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a batch: its items not started become cancelled.
    Cancel {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}
