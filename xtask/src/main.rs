//! `cargo xtask <command>`: everything a fresh Debian machine needs, from the two commands in
//! the README. Only std (and serde_json, for the chaos run), so it builds in seconds before
//! anything else.
//!
//! * `run`   — set up (Debian packages, npm packages), build the UI and the app, start it in
//!   the `demo` environment (embedded sandbox with demo data).
//! * `test`  — set up, then every check: fmt, clippy, svelte-check, Rust tests (unit and
//!   integration against the sandbox), generated-bindings drift, UI tests in Chromium, a few
//!   chaos seeds, and the end-to-end test of the real app under Xvfb.
//! * `e2e`   — only the end-to-end test (after setup and builds).
//! * `bench` — sync and list-query figures against the sandbox.
//! * `bench-batch` — a batch capture review at a sandbox's rate limit: wall time beside the
//!   floor, 429s, memory.
//! * `screenshots` — the end-to-end run, saving its screenshots to docs/screenshots.
//! * `chaos` — randomized seeds: two desks capture through faults and real SIGKILLs, then the
//!   sandbox's ledger and both journals are checked (`cargo xtask chaos --seeds N [--from S]`).
//! * `setup` — only the setup.

mod bench_app;
mod bench_release;
mod bundle;
mod chaos;
mod group;
mod rust_tests;
mod setup;
mod steps;
mod xvfb;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args[args.len().min(1)..];
    let result = match command {
        "setup" => setup::all(setup::Purpose::Test),
        "run" => steps::run(rest),
        "test" => steps::test(),
        "e2e" => steps::e2e_only(),
        "bench" => steps::bench(rest),
        "bench-batch" => steps::bench_batch(rest),
        "screenshots" => steps::screenshots(),
        "bench-app" => bench_app::run(rest),
        "bundle" => bundle::run(rest),
        "chaos" => chaos::run(rest),
        _ => {
            eprintln!("usage: cargo xtask <run|test|e2e|bench|bench-batch|bench-app|bundle|chaos|screenshots|setup>");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {command}: {e}");
            ExitCode::FAILURE
        }
    }
}
