//! `cargo xtask bench-batch [--items N ...] [--rate R]`: a batch capture review against a
//! local sandbox that refuses more than R requests a second (its token bucket). For each size:
//! the sandbox's world is seeded so that about N approved invoices are ready, the batch is made
//! from the `--paypal` filter, preflighted, approved by a second person and run at `--rate R`.
//!
//! Figures, each beside its floor: the run's wall time beside the requests it sent ÷ R (goal
//! ≤ 1.15×), the 429s it met (goal: almost none), and the process's RSS when a tenth of the
//! items and when all of them were done (goal: within 10 %). Preflight is paced the same way
//! and reported the same way.

use billing::batch::{Approval, BatchSource, RunProgress};
use billing::desk::BatchPace;
use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, Environment, InvoiceFilter, Settings};
use std::sync::{Arc, Mutex};
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

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
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

    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let (sent, held) = (desk.pace().sent(), desk.pace().held());
    let tenth = u64::try_from(ready).unwrap_or(0) / 10;
    let rss_at_tenth = Mutex::new(None);
    let progress = |p: RunProgress| {
        if p.done as u64 >= tenth {
            let mut at = rss_at_tenth.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            at.get_or_insert_with(rss_kib);
        }
    };
    let t = Instant::now();
    let end = desk.batch_run("bench approver", id, pace, &progress).await.map_err(|e| e.message)?;
    let run_ms = t.elapsed().as_millis();
    let rss_end = rss_kib();
    let (run_sent, limited) = (desk.pace().sent() - sent, desk.pace().held() - held);
    let floor = |requests: u64| u128::from(requests) * 1000 / u128::from(rate.max(1));
    let at_tenth = rss_at_tenth.lock().unwrap_or_else(std::sync::PoisonError::into_inner).unwrap_or(0);

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
        "run:       {run_sent} requests in {}; floor {}; ratio {} (goal <= 1.15); 429s met: {limited}",
        secs(run_ms),
        secs(floor(run_sent)),
        ratio(run_ms, floor(run_sent))
    );
    println!(
        "RSS: {} MiB at a tenth of the items, {} MiB at the end ({}% more; goal <= 10%)",
        at_tenth / 1024,
        rss_end / 1024,
        (rss_end.saturating_sub(at_tenth)) * 100 / at_tenth.max(1)
    );
    println!("outcomes: {:?}", end.counts);
    Ok(())
}
