//! `cargo xtask bench` (release build): sync N invoices (default 100,000) from a local sandbox
//! into a fresh cache, beside the floor (the same pages fetched raw: plain GETs, bodies
//! discarded, nothing parsed, as many at once as the sync asks); then every list query on that
//! cache in the engine (`Desk::list`, the page and its totals), beside the same SQL
//! (`billing::invoices::statements`, values written in) run in the `sqlite3` shell on the same
//! file with the engine's connection settings. Figures are wall-clock on this machine; each is a
//! median of `--runs` (default 51).
//!
//! `bench [--invoices N] [--runs R] [--sqlite3 PATH] [--keep DIR]`; prints the figures as text.
//! `--keep DIR` leaves the synced cache in DIR (for EXPLAIN QUERY PLAN and the shell's timer).

use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, Environment, InvoiceFilter, ListRequest, Settings, SortKey};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing_subscriber::layer::SubscriberExt;

/// The sync's pages in flight at once (`billing::sync`'s CONCURRENT_PAGES).
const CONCURRENT_PAGES: usize = 4;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut n, mut runs, mut shell) = (100_000u64, 51usize, String::from("sqlite3"));
    let mut keep: Option<std::path::PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--invoices", Some(v)) if v.parse::<u64>().is_ok() => n = v.parse().unwrap_or(n),
            ("--runs", Some(v)) if v.parse::<usize>().is_ok_and(|r| r > 0) => runs = v.parse().unwrap_or(runs),
            ("--sqlite3", Some(v)) => shell = v.clone(),
            ("--keep", Some(v)) => keep = Some(v.into()),
            _ => {
                eprintln!("usage: bench [--invoices N] [--runs R] [--sqlite3 PATH] [--keep DIR] (not {a:?})");
                std::process::exit(2);
            }
        }
    }
    let fetches = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::registry().with(Recorder(fetches.clone()));
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("bench: no tracing subscriber");
    }
    println!("build: {}", if cfg!(debug_assertions) { "debug (dependencies optimised)" } else { "release" });
    if let Err(e) = bench(n, runs, &shell, keep.as_deref(), &fetches).await {
        eprintln!("bench {n}: {e}");
        std::process::exit(1);
    }
    println!("peak RSS of this process (sandbox included): {} MiB", peak_rss_mib());
}

/// A gateway request the sync made (from its tracing spans).
#[derive(Debug, Clone)]
enum Fetch {
    Page { page: u64, all: bool },
    Invoice(u64),
}

/// Records the sync's gateway requests: `gateway.list_invoices` (page, status) and
/// `gateway.invoice` (number) spans.
struct Recorder(Arc<Mutex<Vec<Fetch>>>);

#[derive(Default)]
struct Fields {
    page: Option<u64>,
    invoice_no: Option<u64>,
    status: String,
}

impl tracing::field::Visit for Fields {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        match field.name() {
            "page" => self.page = Some(value),
            "invoice_no" => self.invoice_no = Some(value),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "status" {
            self.status = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let name = attrs.metadata().name();
        if name != "gateway.list_invoices" && name != "gateway.invoice" {
            return;
        }
        let mut f = Fields::default();
        attrs.record(&mut f);
        let fetch = match (f.page, f.invoice_no) {
            (Some(page), _) => Fetch::Page { page, all: f.status == "All" },
            (None, Some(no)) => Fetch::Invoice(no),
            _ => return,
        };
        if let Ok(mut v) = self.0.lock() {
            v.push(fetch);
        }
    }
}

async fn bench(
    n: u64,
    runs: usize,
    shell: &str,
    keep: Option<&std::path::Path>,
    fetches: &Mutex<Vec<Fetch>>,
) -> Result<(), String> {
    let config = sandbox::Config { invoices: n, seed: 7, rate_limit: 0, ..sandbox::Config::default() };
    let t = Instant::now();
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| e.to_string())?;
    let seeded = t.elapsed();
    let dir = match keep {
        Some(k) => {
            std::fs::create_dir_all(k).map_err(|e| format!("{}: {e}", k.display()))?;
            tempfile::Builder::new().prefix("bench-").tempdir_in(k).map_err(|e| e.to_string())?
        }
        None => tempfile::tempdir().map_err(|e| e.to_string())?,
    };
    let secrets = Arc::new(MemorySecrets::default());
    secrets
        .set(Environment::Sandbox, SecretKey::GatewayToken, &Secret::new("demo-staff-token"))
        .map_err(|e| e.message)?;
    let settings = Settings {
        environment: Environment::Sandbox,
        gateway_url: Some(sb.base_url()),
        paypal_url: None,
        paypal_client_id: None,
        staff_name: "bench".into(),
    };
    let desk = Desk::open(DeskOptions {
        data_dir: Some(dir.path().to_owned()),
        secrets,
        env_overrides: billing::EnvOverrides::off(),
        settings: Some(settings),
    })
    .await
    .map_err(|e| e.message)?;
    let since = chrono::Utc::now() - chrono::Duration::seconds(60);
    let t = Instant::now();
    let report = desk.sync(true, &|_| {}).await.map_err(|e| format!("{}: {:?}", e.message, e.detail))?;
    let sync = t.elapsed();
    let fetched: Vec<Fetch> = fetches.lock().map(|v| v.clone()).unwrap_or_default();
    let floor = fetch_raw(&sb.base_url(), &fetched, since).await?;
    println!("\n== {n} invoices (sandbox seeded in {seeded:.2?}, in this process)");
    println!(
        "full sync: {} invoices, {} pages, {} gateway requests in {:.2?} ({} invoices/s); floor (the same {} requests raw, {} at once, bodies discarded): {:.2?}; ratio {}",
        report.invoices,
        report.pages,
        fetched.len(),
        sync,
        u128::from(report.invoices) * 1000 / sync.as_millis().max(1),
        fetched.len(),
        CONCURRENT_PAGES,
        floor,
        ratio(sync, floor),
    );
    let t = Instant::now();
    let again = desk.sync(false, &|_| {}).await.map_err(|e| e.message)?;
    println!("incremental sync with nothing changed: {} invoices in {:.2?}", again.invoices, t.elapsed());

    let queries = queries();
    let mut engine = Vec::new();
    let mut matches = Vec::new();
    for (_, q) in &queries {
        matches.push(desk.list(q).await.map_err(|e| e.message)?.total_count); // warm
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            desk.list(q).await.map_err(|e| e.message)?;
            times.push(t.elapsed());
        }
        engine.push(times);
    }
    let scroll = scrolling(&desk).await?;
    // the SQL the engine ran (its plan may depend on the data: the totals' count)
    let mut statements = Vec::new();
    for (_, q) in &queries {
        statements.push(billing::invoices::statements(desk.pool(), q).await.map_err(|e| e.message)?);
    }
    let db = desk.pool().connect_options().get_filename().to_owned();
    desk.close().await;
    sb.shutdown().await;

    let (version, shell_times) = in_shell(shell, &db, &statements, runs)?;
    println!(
        "\nlist queries on {n} cached invoices, page of 200, median of {runs} (p95, max); engine: Desk::list (page and totals read side by side, rows decoded); shell: the same SQL in `sqlite3` {version} on the same file, same pragmas, CPU time (user + sys) of its statements, one after another"
    );
    println!(
        "{:<50} {:>7} {:>9} {:>9} {:>9} {:>10} {:>6}",
        "query (totals: with totals)", "matches", "engine", "p95", "max", "sqlite3", "ratio"
    );
    for ((((name, _), mut times), shell), found) in queries.iter().zip(engine).zip(shell_times).zip(matches) {
        times.sort_unstable();
        let (median, p95, max) = (at(&times, 50), at(&times, 95), times[times.len() - 1]);
        println!(
            "{:<50} {:>7} {:>9} {:>9} {:>9} {:>10} {:>6}",
            name,
            found.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            ms(median),
            ms(p95),
            ms(max),
            ms(shell),
            ratio(median, shell)
        );
    }
    let mut scroll = scroll;
    scroll.sort_unstable();
    println!(
        "{:<50} {:>9} {:>9} {:>9}",
        "next page while scrolling (keyset, 50 pages)",
        ms(at(&scroll, 50)),
        ms(at(&scroll, 95)),
        ms(scroll[scroll.len() - 1])
    );
    if keep.is_some() {
        let kept = dir.keep();
        println!("cache kept in {}", kept.display());
    }
    Ok(())
}

fn queries() -> Vec<(&'static str, ListRequest)> {
    let out = |filter: InvoiceFilter| InvoiceFilter { status: Some("outstanding".into()), ..filter };
    let search = |s: &str| out(InvoiceFilter { search: Some(s.into()), ..Default::default() });
    vec![
        (
            "first page, outstanding by due date, totals",
            req(out(InvoiceFilter::default()), SortKey::DueAt, false, true),
        ),
        (
            "currency JPY, totals",
            req(out(InvoiceFilter { currency: Some("JPY".into()), ..Default::default() }), SortKey::DueAt, false, true),
        ),
        (
            "search \"nordlicht cargo b.v.\" (a customer's name)",
            req(search("nordlicht cargo b.v."), SortKey::DueAt, false, true),
        ),
        ("search \"c_5637\" (a customer id)", req(search("c_5637"), SortKey::DueAt, false, true)),
        ("search \"458732\" (an invoice number)", req(search("458732"), SortKey::DueAt, false, true)),
        ("search \"4587\" (part of invoice numbers)", req(search("4587"), SortKey::DueAt, false, true)),
        ("search \"nordlicht\" (a name many share)", req(search("nordlicht"), SortKey::DueAt, false, true)),
        ("search \"gmbh\" (a company form)", req(search("gmbh"), SortKey::DueAt, false, true)),
        ("search \"ab\" (2 characters: a scan)", req(search("ab"), SortKey::DueAt, false, true)),
        (
            "amount 1000..5000, by amount desc, totals",
            req(
                out(InvoiceFilter {
                    min_amount: Some("1000".into()),
                    max_amount: Some("5000".into()),
                    ..Default::default()
                }),
                SortKey::Amount,
                true,
                true,
            ),
        ),
        (
            "approved PayPal, by customer, totals",
            req(out(InvoiceFilter { has_paypal: Some(true), ..Default::default() }), SortKey::Customer, false, true),
        ),
        (
            "overdue, by invoice no., no totals",
            req(out(InvoiceFilter { overdue: Some(true), ..Default::default() }), SortKey::InvoiceNo, false, false),
        ),
    ]
}

/// 50 consecutive keyset pages.
async fn scrolling(desk: &Desk) -> Result<Vec<Duration>, String> {
    let mut times = Vec::new();
    let mut q =
        req(InvoiceFilter { status: Some("outstanding".into()), ..Default::default() }, SortKey::DueAt, false, false);
    for _ in 0..50 {
        let t = Instant::now();
        let page = desk.list(&q).await.map_err(|e| e.message)?;
        times.push(t.elapsed());
        match page.next {
            Some(n) => q.after = Some(n),
            None => break,
        }
    }
    if times.is_empty() {
        return Err("no page".into());
    }
    Ok(times)
}

/// The requests the sync made, again: plain GETs with the same token, `CONCURRENT_PAGES` at a
/// time, each body read and dropped.
async fn fetch_raw(base: &str, fetched: &[Fetch], since: chrono::DateTime<chrono::Utc>) -> Result<Duration, String> {
    let http = reqwest::Client::new();
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let urls: Vec<String> = fetched
        .iter()
        .map(|f| match f {
            Fetch::Page { page, all: false } => format!(
                "{base}/api/v1/billing_admin/invoices?page={page}&limit=100&status=outstanding&sortBy=invoiceNo&sortOrder=asc"
            ),
            Fetch::Page { page, all: true } => format!(
                "{base}/api/v1/billing_admin/invoices?page={page}&limit=100&status=all&sortBy=invoiceNo&sortOrder=asc&updatedSince={since}"
            ),
            Fetch::Invoice(no) => format!("{base}/api/v1/billing_admin/invoices/{no}"),
        })
        .collect();
    let t = Instant::now();
    let results: Vec<Result<(), String>> = futures::stream::iter(urls)
        .map(|url| {
            let http = http.clone();
            async move {
                let r = http.get(&url).bearer_auth("demo-staff-token").send().await.map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("{url}: {}", r.status()));
                }
                r.bytes().await.map(drop).map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(CONCURRENT_PAGES)
        .collect()
        .await;
    let took = t.elapsed();
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    Ok(took)
}

/// Each query's statements (`billing::invoices::statements`), `runs` times, in one `sqlite3` process on `db`: the median of each
/// run's summed `.timer` CPU times (user + system).
fn in_shell(
    shell: &str,
    db: &std::path::Path,
    queries: &[Vec<String>],
    runs: usize,
) -> Result<(String, Vec<Duration>), String> {
    let version = std::process::Command::new(shell).arg("--version").output().map_err(|e| format!("{shell}: {e}"))?;
    let version = String::from_utf8_lossy(&version.stdout).split_whitespace().next().unwrap_or("?").to_owned();
    // the engine's connection settings (`billing::store`), given to the shell too
    let pragmas: String =
        billing::store::QUERY_PRAGMAS.iter().map(|(name, value)| format!("PRAGMA {name}={value};\n")).collect();
    let mut script = format!("{pragmas}.output /dev/null\n");
    let mut per_run = Vec::new();
    for statements in queries {
        script.push_str(".timer off\n");
        for s in statements {
            script.push_str(&format!("{s};\n")); // warm
        }
        script.push_str(".timer on\n");
        for _ in 0..runs {
            for s in statements {
                script.push_str(&format!("{s};\n"));
            }
        }
        per_run.push(statements.len());
    }
    let path = db.with_extension("bench.sql");
    std::fs::write(&path, script).map_err(|e| e.to_string())?;
    let out = std::process::Command::new(shell)
        .arg("-batch")
        .arg(db)
        .stdin(std::fs::File::open(&path).map_err(|e| e.to_string())?)
        .output()
        .map_err(|e| format!("{shell}: {e}"))?;
    if !out.status.success() || !out.stderr.is_empty() {
        return Err(format!("{shell}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let times: Vec<Duration> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // "Run Time: real 0.003 user 0.002104 sys 0.000000": real is to the millisecond only,
            // the CPU times to the microsecond (the shell runs the query on one thread)
            let w: Vec<&str> = l.strip_prefix("Run Time: ")?.split_whitespace().collect();
            Some(seconds(w.get(3)?)? + seconds(w.get(5)?)?)
        })
        .collect();
    let mut at_ = 0;
    let mut medians = Vec::new();
    for statements in per_run {
        let mut runs_ms: Vec<Duration> = (0..runs)
            .map(|r| {
                let start = at_ + r * statements;
                times.get(start..start + statements).map_or(Duration::ZERO, |s| s.iter().sum())
            })
            .collect();
        at_ += runs * statements;
        runs_ms.sort_unstable();
        medians.push(at(&runs_ms, 50));
    }
    if times.len() != at_ {
        return Err(format!("{shell}: {} timings for {at_} statements", times.len()));
    }
    Ok((version, medians))
}

fn req(filter: InvoiceFilter, sort: SortKey, descending: bool, with_totals: bool) -> ListRequest {
    ListRequest { filter, sort, descending, limit: Some(200), after: None, with_totals }
}

fn at(times: &[Duration], q: usize) -> Duration {
    times[(times.len() * q / 100).min(times.len() - 1)]
}

/// "0.003" (seconds, as the shell prints them) as a duration.
fn seconds(text: &str) -> Option<Duration> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<9}");
    Some(Duration::new(whole.parse().ok()?, frac.get(..9)?.parse().ok()?))
}

fn ms(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:02} ms", us / 1000, us % 1000 / 10)
}

/// a ÷ b with two decimals.
fn ratio(a: Duration, b: Duration) -> String {
    let r = a.as_micros() * 100 / b.as_micros().max(1);
    format!("{}.{:02}", r / 100, r % 100)
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
