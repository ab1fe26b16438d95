//! `cargo xtask bench [--invoices N] [--runs R] [--no-batch] [--doc FILE]`: the release build's
//! figures, each beside its baseline measured in the same run, written to docs/BENCHMARKS.md
//! between `<!-- bench:start -->` and `<!-- bench:end -->` (the rest of the file kept):
//!
//! * sync of N invoices (default 100,000) and every list query on them (engine beside the
//!   `sqlite3` shell): `crates/billing/examples/bench.rs`;
//! * a batch of 1,000 beside the rate-limit floor: `bench_batch` with the release `desk`, which
//!   writes its own section of the same file (`--no-batch`: its last figures there are quoted);
//! * start to a painted list with N cached, beside a trivial Tauri window (memory as PSS):
//!   [`crate::bench_app`].
//!
//! The release binaries come from exactly `cargo build --release --workspace --exclude desk-e2e
//! --bins` (the packaging's command, so the two share one build); the examples from a second
//! command with `--examples` instead of `--bins`, so the binaries stay those of the first.

use crate::setup::{self, Purpose};
use crate::steps::{build_ui, cmd, describe, root, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const START: &str = "<!-- bench:start -->";
const END: &str = "<!-- bench:end -->";

/// The packaging's release build of every binary, then the examples beside it.
pub(crate) const RELEASE_BINS: [&str; 6] = ["build", "--release", "--workspace", "--exclude", "desk-e2e", "--bins"];
const RELEASE_EXAMPLES: [&str; 6] = ["build", "--release", "--workspace", "--exclude", "desk-e2e", "--examples"];

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Sets up, builds the UI and the release binaries and examples; gives `target/release`.
pub(crate) fn build_release() -> Result<PathBuf> {
    setup::all(Purpose::Run)?;
    build_ui()?;
    cmd(cargo().args(RELEASE_BINS))?;
    cmd(cargo().args(RELEASE_EXAMPLES))?;
    Ok(root().join("target/release"))
}

/// Runs `c`, its output shown as it comes and kept.
fn capture(c: &mut Command) -> Result<String> {
    eprintln!("$ {}", describe(c));
    let out = c.stdout(Stdio::piped()).stderr(Stdio::inherit()).output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{text}");
    if !out.status.success() {
        return Err(format!("`{}` failed ({})", describe(c), out.status).into());
    }
    Ok(text)
}

pub fn run(args: &[String]) -> Result {
    let (mut n, mut runs, mut batch, mut doc) = (100_000u64, 51u32, true, root().join("docs/BENCHMARKS.md"));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--invoices" => n = it.next().and_then(|v| v.parse().ok()).ok_or("--invoices needs a number")?,
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).ok_or("--runs needs a number")?,
            "--no-batch" => batch = false,
            "--doc" => doc = it.next().map(PathBuf::from).ok_or("--doc needs a file")?,
            _ => {
                return Err(format!(
                    "usage: cargo xtask bench [--invoices N] [--runs R] [--no-batch] [--doc FILE] (not {a:?})"
                )
                .into())
            }
        }
    }
    if !setup::which("sqlite3") {
        return Err("the sqlite3 shell is missing (Debian package sqlite3)".into());
    }
    let release = build_release()?;
    let engine = capture(Command::new(release.join("examples/bench")).args([
        "--invoices",
        &n.to_string(),
        "--runs",
        &runs.to_string(),
    ]))?;
    let measure_batch = batch;
    let batch = if batch {
        let text = capture(
            Command::new(release.join("examples/bench_batch"))
                .args(["--items", "1000", "--rate", "40", "--doc"])
                .arg(&doc)
                .env("BENCH_DESK", release.join("desk")),
        )?;
        Some(text)
    } else {
        // the batch figures bench_batch wrote last time
        std::fs::read_to_string(&doc).ok().and_then(|d| {
            let from = d.find("<!-- bench-batch:start -->")?;
            let to = d.find("<!-- bench-batch:end -->")?;
            d.get(from..to).map(str::to_owned)
        })
    };
    let startup = crate::bench_app::measure(&release, n)?;
    println!("{startup}");
    let command =
        format!("cargo xtask bench --invoices {n} --runs {runs}{}", if measure_batch { "" } else { " --no-batch" });
    let section = section(&command, &[&engine, &startup], batch.as_deref());
    write_section(&doc, &section)?;
    println!("xtask bench: written to {}", doc.display());
    Ok(())
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let load =
        std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| s.split_whitespace().next().map(str::to_owned));
    format!("{cores} cores, {cpu}; 1-minute load average at the end {}", load.unwrap_or_else(|| "?".into()))
}

fn section(command: &str, parts: &[&str], batch: Option<&str>) -> String {
    let (bins, examples, machine) =
        (format!("cargo {}", RELEASE_BINS.join(" ")), format!("cargo {}", RELEASE_EXAMPLES.join(" ")), machine());
    let mut s = format!(
        "{START}\n## Release build: sync, list queries, batch, start-up\n\n\
         `{command}` (release build: `{bins}`, then `{examples}` for the bench, \
         `bench_batch` and the trivial window; {machine}; written by the bench). Every figure stands beside its baseline, \
         measured in the same run.\n\n",
    );
    s.push_str(
        "Goals (issue 11): quick search (the list query with its totals, a term of 3+ characters) at most 10 ms on 100,000 \
         invoices; start to a painted list at most 400 ms; memory (PSS of the app and its WebKit processes) at most 1.3× the \
         trivial window's.\n\n```text\n",
    );
    for p in parts {
        s.push_str(p.trim_end());
        s.push('\n');
    }
    s.push_str("```\n");
    if let Some(b) = batch {
        let lines: Vec<&str> = b.lines().filter(|l| l.starts_with("preflight:") || l.starts_with("run (")).collect();
        s.push_str(&format!(
            "\nBatch of 1,000 at 40 requests/s with the release `desk` (from the section \"Batch capture\" below, which has all its figures and says when it was measured):\n\n```text\n{}\n```\n",
            lines.join("\n")
        ));
    }
    s.push_str(END);
    s
}

/// Replaces (or appends) this bench's section of `file`, keeping the rest.
fn write_section(file: &Path, section: &str) -> Result {
    let old = std::fs::read_to_string(file).unwrap_or_else(|_| {
        "# Benchmarks\n\nFigures measured by `cargo xtask bench-*` on the machine and build each section names; rerun a section's command to refresh it.\n".into()
    });
    let new = match (old.find(START), old.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{section}{}", &old[..a], &old[b + END.len()..]),
        _ => {
            // before bench-batch's section, if there is one
            match old.find("<!-- bench-batch:start -->") {
                Some(at) => format!("{}{section}\n\n{}", &old[..at], &old[at..]),
                None => format!("{}\n{section}\n", old.trim_end()),
            }
        }
    };
    std::fs::write(file, new)?;
    Ok(())
}
