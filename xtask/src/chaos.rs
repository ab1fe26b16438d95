//! `cargo xtask chaos --seeds N [--from S] [--jobs J] [--no-build]`: randomized runs with real
//! kills. Each seed starts a `desk-sandbox` with faults drawn from the seed (latency, 5xx,
//! 429, connections dropped after the state change, PENDING captures), has two desks (two data
//! directories that share nothing) capture overlapping invoices with the `desk` binary while
//! SIGKILLing them at moments drawn from the seed, then clears the faults, recovers both, and
//! checks the sandbox's ledger, the gateway's wallet history and both journals (see
//! [`check`]). On a share of seeds one desk or both capture through a batch (`desk batch`,
//! made and approved with four eyes, run under the faults and killed; see [`batch`]), and its
//! report must agree with the ledger ([`batch_check`]). A failing seed prints the command that replays it and keeps its artefacts
//! (logs, data directories, ledger, journals); a passing seed leaves nothing behind.
//!
//! A seed replays the same world, faults, invoice choices and kill moments; where a kill lands
//! in a run also depends on timing, so a replay retraces a failing seed closely, not exactly.

mod batch;
mod batch_check;
mod check;
mod dec;
mod desk;
mod evidence;
mod http;
mod plan;
mod rng;
mod sandbox;
mod seed;
mod shape;
mod wallets;

use crate::steps::{cmd, root, tempfile_dir, Result};
use seed::{Binaries, Outcome, Stats};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Args {
    seeds: u64,
    from: u64,
    jobs: u64,
    build: bool,
    /// Keep every seed's artefacts, passing or not.
    keep: bool,
}

const USAGE: &str =
    "usage: cargo xtask chaos --seeds N [--from S] [--jobs J] [--no-build] [--keep]  |  cargo xtask chaos --recheck DIR";

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args { seeds: 10, from: 1, jobs: 1, build: true, keep: false };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut number = |name: &str| -> Result<u64> {
            it.next().and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a whole number\n{USAGE}").into())
        };
        match flag.as_str() {
            "--seeds" => a.seeds = number("--seeds")?,
            "--from" => a.from = number("--from")?,
            "--jobs" => a.jobs = number("--jobs")?.max(1),
            "--no-build" => a.build = false,
            "--keep" => a.keep = true,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    Ok(a)
}

/// `cargo xtask chaos ...`.
pub fn run(args: &[String]) -> Result {
    if let [flag, dir] = args {
        if flag == "--recheck" {
            return recheck(Path::new(dir));
        }
    }
    let args = parse(args)?;
    if args.build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        cmd(Command::new(cargo).current_dir(root()).args([
            "build",
            "-p",
            "sandbox",
            "--bin",
            "desk-sandbox",
            "-p",
            "cli",
            "--bin",
            "desk",
        ]))?;
    }
    let run_dir = tempfile_dir("desk-chaos")?;
    let bins = copy_binaries(&run_dir)?;
    let last = args.from.saturating_add(args.seeds.saturating_sub(1));
    eprintln!(
        "xtask chaos: seeds {}..={last}, {} at a time; artefacts of failing seeds go to {}",
        args.from,
        args.jobs,
        run_dir.display()
    );
    let started = Instant::now();
    let next = AtomicU64::new(args.from);
    let (tx, rx) = mpsc::channel::<(u64, Duration, Outcome, PathBuf)>();
    let mut failing = Vec::new();
    let mut total = Stats::default();
    let mut violations = 0usize;
    let mut done = 0u64;
    std::thread::scope(|s| {
        for _ in 0..args.jobs.min(args.seeds.max(1)) {
            let tx = tx.clone();
            let (next, bins, run_dir) = (&next, &bins, &run_dir);
            s.spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::SeqCst);
                if seed > last || args.seeds == 0 {
                    return;
                }
                let dir = run_dir.join(format!("seed-{seed}"));
                let t = Instant::now();
                let outcome = match std::fs::create_dir_all(&dir) {
                    Ok(()) => seed::run(seed, bins, &dir),
                    Err(e) => Outcome {
                        violations: Vec::new(),
                        error: Some(e.to_string()),
                        stats: Stats::default(),
                        notes: Vec::new(),
                    },
                };
                if tx.send((seed, t.elapsed(), outcome, dir)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (seed, took, outcome, dir) in rx {
            done += 1;
            total.add(&outcome.stats);
            report(seed, took, &outcome, &dir);
            if outcome.violations.is_empty() && outcome.error.is_none() {
                if !args.keep {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            } else {
                violations += outcome.violations.len();
                failing.push(seed);
            }
        }
    });
    let _ = std::fs::remove_dir_all(run_dir.join("bin"));
    failing.sort_unstable();
    let elapsed = started.elapsed();
    eprintln!(
        "\nxtask chaos: {done} seeds ({}..={last}) in {}: {violations} violation(s) in {} failing seed(s){}",
        args.from,
        seed::seconds(elapsed),
        failing.len(),
        if failing.is_empty() { String::new() } else { format!(": {failing:?}") }
    );
    eprintln!(
        "  exercised: {} desk runs, {} SIGKILLs; {} invoices asked, {} PayPal captures ({} PENDING when capturing stopped), {} finalizations, {} wallet debits; \
         {} journal entries ({} needs_attention, {} adopted); {} customers with several invoices asked; \
         {} seeds with a wallet shared by several approvals, {} wallet conflicts across desks (allowed)",
        total.runs,
        total.kills,
        total.asked,
        total.captures,
        total.pending,
        total.finalizations,
        total.wallet_debits,
        total.entries,
        total.needs_attention,
        total.adopted,
        total.shared_customers,
        total.shaped_wallets,
        total.wallet_conflicts
    );
    eprintln!(
        "  batches: {} seeds with a batch scenario, {} desks ran a batch of {} items in all; at the end {} finalized, {} pending (PayPal holds the capture)",
        total.batch_seeds, total.batch_desks, total.batch_items, total.batch_finalized, total.batch_pending
    );
    if failing.is_empty() {
        if args.keep {
            eprintln!("  artefacts: {}", run_dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&run_dir);
        }
        Ok(())
    } else {
        eprintln!("  artefacts of the failing seeds: {}", run_dir.display());
        Err(format!("{} of {done} seeds failed", failing.len()).into())
    }
}

/// `--recheck DIR`: the checks again on what failing seeds kept (a run's folder, or one seed's),
/// for a checker that changed since.
fn recheck(dir: &Path) -> Result {
    let mut seeds: Vec<PathBuf> = if dir.join("ledger.json").exists() {
        vec![dir.to_owned()]
    } else {
        std::fs::read_dir(dir)?.flatten().map(|e| e.path()).filter(|p| p.join("ledger.json").exists()).collect()
    };
    seeds.sort();
    let mut failing = 0;
    for seed in &seeds {
        let findings = check::check(&evidence::load(seed)?);
        let name = seed.file_name().map_or_else(|| seed.display().to_string(), |n| n.to_string_lossy().into_owned());
        if findings.violations.is_empty() {
            eprintln!("{name}: ok");
        } else {
            failing += 1;
            eprintln!("{name}: {} violation(s)", findings.violations.len());
            for v in &findings.violations {
                eprintln!("  violation: {v}");
            }
        }
        for n in &findings.wallet_conflicts_across_desks {
            eprintln!("  note: {n}");
        }
    }
    eprintln!("xtask chaos: rechecked {} seed(s): {failing} failing", seeds.len());
    if failing == 0 {
        Ok(())
    } else {
        Err(format!("{failing} of {} seeds failed the checks", seeds.len()).into())
    }
}

fn report(seed: u64, took: Duration, o: &Outcome, dir: &Path) {
    let s = &o.stats;
    let counts = format!(
        "{} runs, {} kills, {} captures, {} finalized, {} needs_attention",
        s.runs, s.kills, s.captures, s.finalizations, s.needs_attention
    );
    if o.violations.is_empty() && o.error.is_none() {
        eprintln!("seed {seed}: ok in {} ({counts})", seed::seconds(took));
        for n in &o.notes {
            eprintln!("  note: {n}");
        }
        return;
    }
    eprintln!("seed {seed}: FAILED in {} ({counts})", seed::seconds(took));
    eprintln!("  replay: cargo xtask chaos --seeds 1 --from {seed}");
    eprintln!("  artefacts: {}", dir.display());
    if let Some(e) = &o.error {
        eprintln!("  error: {e}");
    }
    for n in &o.notes {
        eprintln!("  note: {n}");
    }
    for v in &o.violations {
        eprintln!("  violation: {v}");
    }
}

/// The built binaries, copied for this run: a rebuild in the tree while seeds run (others
/// work in it) must not change the desk under test halfway.
fn copy_binaries(run_dir: &Path) -> Result<Binaries> {
    let bin = run_dir.join("bin");
    std::fs::create_dir_all(&bin)?;
    let copy = |name: &str| -> Result<PathBuf> {
        let from = root().join("target/debug").join(name);
        let to = bin.join(name);
        std::fs::copy(&from, &to).map_err(|e| format!("{}: {e} (build it, or drop --no-build)", from.display()))?;
        Ok(to)
    };
    Ok(Binaries { desk: copy("desk")?, sandbox: copy("desk-sandbox")? })
}
