//! `desk-sandbox`: the gateway + PayPal simulator as a standalone server.

use clap::Parser;
use sandbox::{Config, FaultConfig, Sandbox};
use std::net::SocketAddr;
use std::path::PathBuf;

/// A stateful local simulator of the CargoExtra gateway and PayPal REST v2.
#[derive(Parser, Debug)]
#[command(name = "desk-sandbox", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    addr: SocketAddr,
    /// Seed of the generated world (same seed, same world).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of invoices to generate.
    #[arg(long, default_value_t = 300)]
    invoices: u64,
    /// Requests per second over all API routes before 429s (0 = no limit).
    #[arg(long, default_value_t = sandbox::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Fault configuration file (the JSON of POST /__sandbox/faults).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Keep the world in this file across restarts.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Seconds before a PENDING capture completes by itself (0 = only on request).
    #[arg(long, default_value_t = 5)]
    pending_seconds: i64,
    /// Start the sandbox clock this many days ahead of real time (the world is seeded around
    /// the clock's now). Default: SANDBOX_CLOCK_OFFSET_DAYS, else 0.
    #[arg(long)]
    clock_offset_days: Option<u32>,
    /// How long a PayPal-Request-Id of an Orders v2 call is kept, in seconds (PayPal: 6 hours).
    #[arg(long, default_value_t = 6 * 3600)]
    orders_key_seconds: u32,
    /// How long a PayPal-Request-Id of a Payments v2 call is kept, in seconds (PayPal: 45 days).
    #[arg(long, default_value_t = 45 * 86_400)]
    payments_key_seconds: u32,
    /// The gateway staff token to accept (default: the demo token).
    #[arg(long, env = "SANDBOX_STAFF_TOKEN", hide_env_values = true)]
    staff_token: Option<String>,
    /// The PayPal client id to accept (default: the demo app).
    #[arg(long, env = "SANDBOX_CLIENT_ID")]
    client_id: Option<String>,
    /// The PayPal client secret to accept (default: the demo app).
    #[arg(long, env = "SANDBOX_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.invoices > 2_000_000 {
        eprintln!("desk-sandbox: --invoices is limited to 2,000,000");
        return std::process::ExitCode::from(2);
    }
    let faults = match &args.faults {
        None => FaultConfig::default(),
        Some(path) => match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<FaultConfig>(&b).map_err(|e| e.to_string()))
        {
            Ok(f) => match f.validate() {
                Ok(()) => f,
                Err(e) => {
                    eprintln!("desk-sandbox: {}: {e}", path.display());
                    return std::process::ExitCode::from(2);
                }
            },
            Err(e) => {
                eprintln!("desk-sandbox: cannot read faults from {}: {e}", path.display());
                return std::process::ExitCode::from(2);
            }
        },
    };
    let clock_offset = match args.clock_offset_days {
        Some(days) => chrono::Duration::days(i64::from(days)),
        None => match sandbox::clock_offset_from_env() {
            Ok(d) => d,
            Err(e) => {
                eprintln!("desk-sandbox: {e}");
                return std::process::ExitCode::from(2);
            }
        },
    };
    let config = Config {
        seed: args.seed,
        invoices: args.invoices,
        rate_limit: args.rate_limit,
        faults,
        state_file: args.state,
        pending_seconds: args.pending_seconds,
        clock_offset,
        credentials: {
            let d = sandbox::Credentials::default();
            sandbox::Credentials {
                staff_token: args.staff_token.unwrap_or(d.staff_token),
                client_id: args.client_id.unwrap_or(d.client_id),
                client_secret: args.client_secret.unwrap_or(d.client_secret),
            }
        },
        key_retention: sandbox::KeyRetention {
            orders: chrono::Duration::seconds(i64::from(args.orders_key_seconds)),
            payments: chrono::Duration::seconds(i64::from(args.payments_key_seconds)),
        },
    };
    let sandbox = match Sandbox::start(config, args.addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("desk-sandbox: cannot listen on {}: {e}", args.addr);
            return std::process::ExitCode::from(1);
        }
    };
    eprintln!("desk-sandbox listening on {}", sandbox.base_url());
    let terminate = async {
        #[cfg(unix)]
        {
            if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                s.recv().await;
                return;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    sandbox.shutdown().await;
    std::process::ExitCode::SUCCESS
}
