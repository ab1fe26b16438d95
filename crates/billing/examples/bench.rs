//! `cargo xtask bench [N ...]`: sync N invoices from a local sandbox into a fresh cache, then
//! time the list query on it. Figures are wall-clock on this machine; run it on a quiet one.

use billing::secrets::{MemorySecrets, Secret, SecretKey, Secrets};
use billing::{Desk, DeskOptions, Environment, InvoiceFilter, ListRequest, Settings, SortKey};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let sizes: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10_000, 100_000] } else { sizes };
    println!("build: {}", if cfg!(debug_assertions) { "debug (dependencies optimised)" } else { "release" });
    for n in sizes {
        if let Err(e) = bench(n).await {
            eprintln!("bench {n}: {e}");
            std::process::exit(1);
        }
    }
    println!("peak RSS of this process: {} MiB", peak_rss_mib());
}

async fn bench(n: u64) -> Result<(), String> {
    let config = sandbox::Config { invoices: n, seed: 7, rate_limit: 0, ..sandbox::Config::default() };
    let t = Instant::now();
    let sb = sandbox::Sandbox::start(config, "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?)
        .await
        .map_err(|e| e.to_string())?;
    let seeded = t.elapsed();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
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
    let t = Instant::now();
    let report = desk.sync(true, &|_| {}).await.map_err(|e| format!("{}: {:?}", e.message, e.detail))?;
    let sync = t.elapsed();
    println!("\n== {n} invoices (sandbox seeded in {seeded:.2?})");
    println!(
        "full sync: {} invoices, {} pages in {:.2?} ({} invoices/s)",
        report.invoices,
        report.pages,
        sync,
        u128::from(report.invoices) * 1000 / sync.as_millis().max(1)
    );
    let t = Instant::now();
    let again = desk.sync(false, &|_| {}).await.map_err(|e| e.message)?;
    println!("incremental sync with nothing changed: {} invoices in {:.2?}", again.invoices, t.elapsed());

    let queries: Vec<(&str, ListRequest)> = vec![
        (
            "first page, outstanding by due date, with totals",
            req(
                InvoiceFilter { status: Some("outstanding".into()), ..Default::default() },
                SortKey::DueAt,
                false,
                true,
            ),
        ),
        (
            "currency JPY, with totals",
            req(
                InvoiceFilter {
                    status: Some("outstanding".into()),
                    currency: Some("JPY".into()),
                    ..Default::default()
                },
                SortKey::DueAt,
                false,
                true,
            ),
        ),
        (
            "search \"gmbh\", with totals",
            req(
                InvoiceFilter { status: Some("outstanding".into()), search: Some("gmbh".into()), ..Default::default() },
                SortKey::DueAt,
                false,
                true,
            ),
        ),
        (
            "amount 1000..5000, by amount desc",
            req(
                InvoiceFilter {
                    status: Some("outstanding".into()),
                    min_amount: Some("1000".into()),
                    max_amount: Some("5000".into()),
                    ..Default::default()
                },
                SortKey::Amount,
                true,
                true,
            ),
        ),
        (
            "approved PayPal, by customer",
            req(
                InvoiceFilter { status: Some("outstanding".into()), has_paypal: Some(true), ..Default::default() },
                SortKey::Customer,
                false,
                true,
            ),
        ),
        (
            "overdue, by invoice no., no totals",
            req(
                InvoiceFilter { status: Some("outstanding".into()), overdue: Some(true), ..Default::default() },
                SortKey::InvoiceNo,
                false,
                false,
            ),
        ),
    ];
    println!("{:<52} {:>9} {:>9} {:>9}", "list query (page of 200)", "median", "p95", "max");
    for (name, q) in &queries {
        let mut times = Vec::new();
        for _ in 0..25 {
            let t = Instant::now();
            desk.list(q).await.map_err(|e| e.message)?;
            times.push(t.elapsed());
        }
        print_times(name, &mut times);
    }
    // scrolling: 50 consecutive keyset pages
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
    print_times("next page while scrolling (keyset)", &mut times);
    desk.close().await;
    sb.shutdown().await;
    Ok(())
}

fn req(filter: InvoiceFilter, sort: SortKey, descending: bool, with_totals: bool) -> ListRequest {
    ListRequest { filter, sort, descending, limit: Some(200), after: None, with_totals }
}

fn print_times(name: &str, times: &mut [Duration]) {
    times.sort_unstable();
    let at = |q: usize| times[(times.len() * q / 100).min(times.len() - 1)];
    println!("{:<52} {:>9.2?} {:>9.2?} {:>9.2?}", name, at(50), at(95), times[times.len() - 1]);
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
