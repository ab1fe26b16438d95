//! `cargo xtask bench-batch [--items N] [--rate R] [--doc FILE]`: a batch capture review
//! against a local sandbox that refuses more than R requests a second (its token bucket). The
//! sandbox's world is seeded so that at least N approved invoices are ready (default 1,000),
//! the batch is made from the `--paypal` filter, preflighted, approved by a second person and
//! run by the real `desk batch run --rate R` (a child process, as a clerk runs it).
//!
//! The figures, each beside its goal: the preflight's and the run's wall time beside
//! the requests they sent ÷ R (goal ≤ 1.15×), the 429s they met (goal: almost none), and the
//! run's memory (RssAnon: its heap; VmRSS: all of it, the memory-mapped database included) when
//! 100 and when N items were done by the run (goal: within 10 %). Items done are read from the
//! batch's own table (items the run started and brought to an outcome), not from its progress
//! lines (a line every tenth of the batch).
//!
//! `--doc FILE` writes the figures as the "Batch capture" section of FILE (between
//! `<!-- bench-batch:start -->` and `<!-- bench-batch:end -->`, the rest of the file kept) when
//! the run reached N items done. `BENCH_DESK=PATH` runs another `desk` binary (an older build,
//! to compare); `BENCH_DESK_WRAP="valgrind --tool=massif ..."` runs the
//! child under a tool (a heap profile of the run); `BENCH_RSS_TRACE=FILE` writes every sample
//! (items done, RssAnon, VmRSS).

use billing::batch::{Approval, BatchSource};
use billing::desk::BatchPace;
use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, Environment, InvoiceFilter, Settings};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod figures;
use figures::{load, write_section, Figures, Paced};

/// The first sample of the run's memory: after this many items.
const EARLY: u64 = 100;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut items, mut rate, mut doc): (u64, u32, Option<PathBuf>) = (1000, 40, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let n = it.clone().next();
        match (a.as_str(), n) {
            ("--items", Some(n)) if n.parse::<u64>().is_ok_and(|n| n > EARLY) => items = n.parse().unwrap_or(items),
            ("--rate", Some(r)) if r.parse::<u32>().is_ok_and(|r| r > 0) => rate = r.parse().unwrap_or(rate),
            ("--doc", Some(f)) => doc = Some(PathBuf::from(f)),
            _ => {
                eprintln!("usage: bench_batch [--items N (more than {EARLY})] [--rate R] [--doc FILE] (not {a:?})");
                std::process::exit(2);
            }
        }
        it.next();
    }
    match bench(items, rate).await {
        Ok(figures) => {
            let text = figures.text();
            println!("\n{text}");
            if let Some(file) = doc {
                if figures.done < items {
                    eprintln!("{} not written: the run did not reach {items} items done", file.display());
                    std::process::exit(1);
                }
                if let Err(e) = write_section(&file, &figures.section(&text)) {
                    eprintln!("{}: {e}", file.display());
                    std::process::exit(1);
                }
                println!("written to {}", file.display());
            }
        }
        Err(e) => {
            eprintln!("bench-batch {items}: {e}");
            std::process::exit(1);
        }
    }
}

/// (VmRSS, RssAnon) of `pid` in KiB: all resident memory, and the part that is not a file's
/// pages (the database is memory-mapped: its pages count in VmRSS as they are read).
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

/// The sandbox's request counts: (requests, answered 429).
async fn stats(base: &str) -> Result<(u64, u64), String> {
    let v: serde_json::Value = reqwest::get(format!("{base}/__sandbox/stats"))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok((v["requests"].as_u64().unwrap_or(0), v["rate_limited"].as_u64().unwrap_or(0)))
}

/// What the run's items cost in memory: (VmRSS, RssAnon) in KiB when [`EARLY`] and when `items`
/// items were done, the most seen, and the items done at the end.
struct Run {
    exit: Option<i32>,
    early: (u64, u64),
    late: (u64, u64),
    max: (u64, u64),
    done: u64,
    last_line: String,
}

/// Items of batch `id` the run started and brought to an outcome (an end, or pending).
async fn done_by_run(db: &sqlx::SqlitePool, id: i64) -> u64 {
    let row: Result<(i64,), _> = sqlx::query_as(
        "SELECT COUNT(*) FROM batch_items WHERE batch_id = ? AND started_at IS NOT NULL \
         AND outcome NOT IN ('queued', 'running')",
    )
    .bind(id)
    .fetch_one(db)
    .await;
    row.map_or(0, |(n,)| u64::try_from(n).unwrap_or(0))
}

/// `desk batch run ID --rate R` on the bench's data directory; RSS and the items done sampled
/// every 50 ms.
async fn run_desk(base: &str, data: &Path, id: i64, rate: u32, items: u64) -> Result<Run, String> {
    use tokio::io::AsyncBufReadExt;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let beside = exe.parent().and_then(|d| d.parent()).map(|d| d.join("desk")).ok_or("no target dir")?;
    let desk = std::env::var_os("BENCH_DESK").map_or(beside, PathBuf::from);
    if !desk.exists() {
        return Err(format!("{} is not built: cargo build -p cli", desk.display()));
    }
    let wrap: Vec<String> =
        std::env::var("BENCH_DESK_WRAP").unwrap_or_default().split_whitespace().map(str::to_owned).collect();
    let mut command = match wrap.split_first() {
        Some((tool, tool_args)) => {
            let mut c = tokio::process::Command::new(tool);
            c.args(tool_args).arg(&desk);
            c
        }
        None => tokio::process::Command::new(&desk),
    };
    let mut child = command
        .args(["batch", "run", &id.to_string(), "--rate", &rate.to_string()])
        .env("DESK_DATA_DIR", data)
        .env("DESK_ENV", "sandbox")
        .env("DESK_GATEWAY_URL", base)
        .env("DESK_PAYPAL_URL", base)
        .env("DESK_GATEWAY_TOKEN", sandbox::DEMO_STAFF_TOKEN)
        .env("DESK_PAYPAL_CLIENT_ID", sandbox::DEMO_CLIENT_ID)
        .env("DESK_PAYPAL_CLIENT_SECRET", sandbox::DEMO_CLIENT_SECRET)
        .env("DESK_STAFF", "bench approver")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let pid = child.id().ok_or("no pid")?;
    let db = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(billing::environments::database_path(data, Environment::Sandbox))
                .read_only(true),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut lines = tokio::io::BufReader::new(child.stderr.take().ok_or("no stderr")?).lines();
    let mut run = Run { exit: None, early: (0, 0), late: (0, 0), max: (0, 0), done: 0, last_line: String::new() };
    // BENCH_RSS_TRACE=FILE: every sample as "items-done RssAnon VmRSS" (KiB), to see how it grows
    let mut trace = std::env::var_os("BENCH_RSS_TRACE").and_then(|f| std::fs::File::create(f).ok());
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            line = lines.next_line() => match line.map_err(|e| e.to_string())? {
                Some(l) if l.starts_with("batch ") => run.last_line = l,
                Some(_) => {}
                None => break,
            },
            _ = tick.tick() => {
                let rss = rss_kib(pid);
                run.done = done_by_run(&db, id).await;
                if run.early.0 == 0 && run.done >= EARLY {
                    run.early = rss;
                }
                if run.late.0 == 0 && run.done >= items {
                    run.late = rss;
                }
                run.max = (run.max.0.max(rss.0), run.max.1.max(rss.1));
                if let Some(f) = trace.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{} {} {}", run.done, rss.1, rss.0);
                }
            }
        }
    }
    run.exit = child.wait().await.map_err(|e| e.to_string())?.code();
    run.done = done_by_run(&db, id).await;
    Ok(run)
}

async fn bench(items: u64, rate: u32) -> Result<Figures, String> {
    // about a fifth of the seeded world's invoices come out ready for a PayPal capture
    let invoices = items * 100 / 19 + 100;
    let config = sandbox::Config { invoices, seed: 11, rate_limit: rate, ..sandbox::Config::default() };
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| e.to_string())?;
    let base = sb.base_url();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let secrets = Arc::new(MemorySecrets::default());
    for (key, value) in [
        (SecretKey::GatewayToken, sandbox::DEMO_STAFF_TOKEN),
        (SecretKey::PaypalClientSecret, sandbox::DEMO_CLIENT_SECRET),
    ] {
        secrets.set(Environment::Sandbox, key, &Secret::new(value)).map_err(|e| e.message)?;
    }
    let settings = Settings {
        environment: Environment::Sandbox,
        gateway_url: Some(base.clone()),
        paypal_url: Some(base.clone()),
        paypal_client_id: Some(sandbox::DEMO_CLIENT_ID.into()),
        staff_name: "bench clerk".into(),
    };
    let desk = Desk::open(DeskOptions {
        data_dir: Some(dir.path().to_owned()),
        secrets,
        env_overrides: billing::EnvOverrides::off(),
        settings: Some(settings),
    })
    .await
    .map_err(|e| e.message)?;
    desk.sync(true, &|_| {}).await.map_err(|e| e.message)?;
    let filter = InvoiceFilter { has_paypal: Some(true), ..InvoiceFilter::default() };
    let made = desk
        .batch_create("bench clerk", Some("bench"), &BatchSource::Filter { filter })
        .await
        .map_err(|e| e.message)?;
    let id = made.batch.id;
    let pace = BatchPace { rate: BatchPace::rate_of(&rate.to_string()).ok(), concurrency: None };

    // let the sandbox's bucket fill after the sync, then preflight
    tokio::time::sleep(Duration::from_secs(3)).await;
    let load_before = load();
    let before = stats(&base).await?;
    let t = Instant::now();
    let pre = desk.batch_preflight("bench clerk", id, pace, &|_| {}).await.map_err(|e| e.message)?;
    let ms = t.elapsed().as_millis();
    let after = stats(&base).await?;
    let preflight = Paced { requests: after.0 - before.0, limited: after.1 - before.1, ms, rate };
    let ready = pre.batch.ready_count;
    desk.batch_approve(id, &Approval { approver: "bench approver".into(), typed_totals: None })
        .await
        .map_err(|e| e.message)?;
    drop(desk);

    // the run: the real `desk` binary (beside this example), its RSS sampled from /proc
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = stats(&base).await?;
    let t = Instant::now();
    let run = run_desk(&base, dir.path(), id, rate, items).await?;
    let ms = t.elapsed().as_millis();
    let after = stats(&base).await?;
    Ok(Figures {
        items,
        batch_items: made.items.len(),
        ready,
        invoices,
        rate,
        preflight,
        run: Paced { requests: after.0 - before.0, limited: after.1 - before.1, ms, rate },
        run_exit: run.exit,
        early: run.early,
        late: run.late,
        max: run.max,
        done: run.done,
        last_line: run.last_line,
        load: (load_before, load()),
    })
}
