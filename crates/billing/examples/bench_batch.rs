//! `cargo xtask bench-batch [--items N ...] [--rate R]`: a batch capture review against a
//! local sandbox that refuses more than R requests a second (its token bucket). For each size:
//! the sandbox's world is seeded so that about N approved invoices are ready, the batch is made
//! from the `--paypal` filter, preflighted, approved by a second person and run at `--rate R`.
//!
//! Figures, each beside its floor: the run's wall time beside the requests it sent ÷ R (goal
//! ≤ 1.15×), the 429s it met (goal: almost none), and the process's RSS when a tenth of the
//! items and when all of them were done (goal: within 10 %). Preflight is paced the same way
//! and reported the same way.

use billing::batch::{Approval, BatchSource};
use billing::desk::BatchPace;
use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, Environment, InvoiceFilter, Settings};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes = Vec::new();
    let mut rate: u32 = 50;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--items" => sizes.extend(it.next().and_then(|n| n.parse::<u64>().ok())),
            "--rate" => rate = it.next().and_then(|r| r.parse().ok()).unwrap_or(rate),
            other => {
                eprintln!("usage: bench_batch [--items N ...] [--rate R] (not {other:?})");
                std::process::exit(2);
            }
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 1000];
    }
    println!("build: {}", if cfg!(debug_assertions) { "debug (dependencies optimised)" } else { "release" });
    for n in sizes {
        if let Err(e) = bench(n, rate).await {
            eprintln!("bench-batch {n}: {e}");
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

struct Run {
    exit: Option<i32>,
    rss_at_tenth: (u64, u64),
    rss_max: (u64, u64),
    last_line: String,
}

/// `desk batch run ID --rate R` on the bench's data directory; RSS sampled every 50 ms.
async fn run_desk(base: &str, data: &std::path::Path, id: i64, rate: u32, tenth: u64) -> Result<Run, String> {
    use tokio::io::AsyncBufReadExt;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let desk = exe.parent().and_then(|d| d.parent()).map(|d| d.join("desk")).ok_or("no target dir")?;
    if !desk.exists() {
        return Err(format!("{} is not built: cargo build -p cli", desk.display()));
    }
    let mut child = tokio::process::Command::new(&desk)
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
    let mut lines = tokio::io::BufReader::new(child.stderr.take().ok_or("no stderr")?).lines();
    let mut run = Run { exit: None, rss_at_tenth: (0, 0), rss_max: (0, 0), last_line: String::new() };
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        tokio::select! {
            line = lines.next_line() => match line.map_err(|e| e.to_string())? {
                Some(l) => {
                    // "batch 1: 120/1300 done (...)"
                    let done = l.split(": ").nth(1).and_then(|r| r.split('/').next()).and_then(|d| d.parse::<u64>().ok());
                    if run.rss_at_tenth.0 == 0 && done.is_some_and(|d| d >= tenth.max(1)) {
                        run.rss_at_tenth = rss_kib(pid);
                    }
                    if l.starts_with("batch ") {
                        run.last_line = l;
                    }
                }
                None => break,
            },
            _ = tick.tick() => {
                let (all, anon) = rss_kib(pid);
                run.rss_max = (run.rss_max.0.max(all), run.rss_max.1.max(anon));
            }
        }
    }
    run.exit = child.wait().await.map_err(|e| e.to_string())?.code();
    Ok(run)
}

fn secs(ms: u128) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

fn ratio(wall_ms: u128, floor_ms: u128) -> String {
    let hundredths = wall_ms * 100 / floor_ms.max(1);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

async fn bench(items: u64, rate: u32) -> Result<(), String> {
    // about 22 % of the seeded world's invoices come out ready for a PayPal capture
    let invoices = items * 100 / 22 + 50;
    let config = sandbox::Config { invoices, seed: 11, rate_limit: rate, ..sandbox::Config::default() };
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| e.to_string())?;
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
        gateway_url: Some(sb.base_url()),
        paypal_url: Some(sb.base_url()),
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
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let sent = desk.pace().sent();
    let t = Instant::now();
    let pre = desk.batch_preflight("bench clerk", id, pace, &|_| {}).await.map_err(|e| e.message)?;
    let (pre_ms, pre_sent) = (t.elapsed().as_millis(), desk.pace().sent() - sent);
    let ready = pre.batch.ready_count;
    desk.batch_approve(id, &Approval { approver: "bench approver".into(), typed_totals: None })
        .await
        .map_err(|e| e.message)?;

    let ready_items = u64::try_from(ready).unwrap_or(0);
    drop(desk);

    // the run: the real `desk` binary (beside this example), its RSS sampled from /proc
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let before = stats(&sb.base_url()).await?;
    let t = Instant::now();
    let not_run = (made.items.len() as u64).saturating_sub(ready_items);
    let run = run_desk(&sb.base_url(), dir.path(), id, rate, not_run + ready_items / 10).await?;
    let run_ms = t.elapsed().as_millis();
    let after = stats(&sb.base_url()).await?;
    let (run_sent, limited) = (after.0 - before.0, after.1 - before.1);
    let floor = |requests: u64| u128::from(requests) * 1000 / u128::from(rate.max(1));
    let (at_tenth, rss_end) = (run.rss_at_tenth, run.rss_max);

    println!(
        "\n== batch of {} items ({ready} ready; {invoices} invoices seeded), limit {rate} requests/s",
        made.items.len()
    );
    println!(
        "preflight: {pre_sent} requests in {}; floor {}; ratio {}",
        secs(pre_ms),
        secs(floor(pre_sent)),
        ratio(pre_ms, floor(pre_sent))
    );
    println!(
        "run (`desk batch run`): {run_sent} requests ({limited} answered 429) in {}; floor {}; ratio {} (goal <= 1.15); exit {:?}",
        secs(run_ms),
        secs(floor(run_sent - limited)),
        ratio(run_ms, floor(run_sent - limited)),
        run.exit
    );
    let grew = |from: u64, to: u64| to.saturating_sub(from) * 100 / from.max(1);
    println!(
        "desk memory once a tenth of the ready items were done → at most: RssAnon (heap) {} → {} KiB ({}% more; goal <= 10%), VmRSS {} → {} KiB ({}% more; includes the memory-mapped database)",
        at_tenth.1,
        rss_end.1,
        grew(at_tenth.1, rss_end.1),
        at_tenth.0,
        rss_end.0,
        grew(at_tenth.0, rss_end.0)
    );
    println!("last progress: {}", run.last_line);
    Ok(())
}
