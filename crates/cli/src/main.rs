//! `desk`: the same engine and settings as the app, from a terminal or a script.
//!
//! Exit codes: 0 done; 1 internal or storage error; 2 bad input; 3 not found; 4 gateway
//! unreachable (offline); 5 credentials missing or refused; 6 the gateway or PayPal refused or
//! failed; 7 another process holds the invoice; 8 some captures not finished yet (`desk batch run`:
//! items not reached, also when the run lost its hold on the batch and no other run holds it now,
//! `billing::batch::run_lease`); 9 some captures rejected or needing attention; 10 (`desk batch
//! run`) another window or command is running the batch (`billing::batch::EXIT_RUNNING_ELSEWHERE`),
//! nothing started.
//!
//! `args` is the command line, `commands` what each command does, `print` what it prints. The
//! environment in effect (saved, or `DESK_ENV`) decides whose data every command reads and
//! writes: each environment has its own database. In `demo`, `desk` joins the demo world the
//! app hosts for the same data directory, or hosts it while it runs (the `demo` crate).

mod args;
mod batch;
mod commands;
mod print;

use billing::{DeskError, DeskFactory, DeskOptions};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = args::Cli::parse();
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

async fn run(cli: args::Cli) -> Result<(), DeskError> {
    // the command line is where the environment variables override settings and the keyring
    let factory = DeskFactory::with_demo(demo::host());
    let desk =
        factory.open(DeskOptions { env_overrides: billing::EnvOverrides::process(), ..DeskOptions::default() }).await?;
    let result = commands::dispatch(&desk, cli.command).await;
    desk.close().await;
    result
}
