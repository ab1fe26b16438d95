//! One seed: a sandbox with faults, two desks capturing overlapping invoices while being
//! killed, then recovery with the faults off, then the checks.

use super::check::{self, Rule, Violation};
use super::desk::{describe, Desk, Ended};
use super::evidence::{self, Evidence};
use super::plan::{self, Step};
use super::rng::Rng;
use super::sandbox::{Sandbox, World};
use super::shape;
use crate::steps::Result;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Recovery passes after the faults are cleared, before an open entry counts as a violation
/// (an attempt deferred behind another on the same wallet goes on in the pass after it).
const RECOVERY_PASSES: usize = 6;
/// Passes before which the sandbox clock moves on (so PENDING captures complete): few enough
/// that PayPal's request ids (kept 6 hours) never expire during recovery.
const CLOCK_MOVES: usize = 4;

/// The two binaries a seed runs.
pub(crate) struct Binaries {
    pub(crate) desk: PathBuf,
    pub(crate) sandbox: PathBuf,
}

/// Counts that show what a seed exercised.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub(crate) runs: u64,
    pub(crate) kills: u64,
    pub(crate) asked: u64,
    pub(crate) captures: u64,
    pub(crate) finalizations: u64,
    pub(crate) wallet_debits: u64,
    pub(crate) entries: u64,
    pub(crate) needs_attention: u64,
    pub(crate) adopted: u64,
    pub(crate) shared_customers: u64,
    pub(crate) wallet_conflicts: u64,
    /// Seeds whose world was shaped so that one wallet is drawn on by several approvals.
    pub(crate) shaped_wallets: u64,
    /// Captures PayPal held as PENDING when the desks stopped capturing.
    pub(crate) pending: u64,
}

impl Stats {
    pub(crate) fn add(&mut self, o: &Stats) {
        self.runs += o.runs;
        self.kills += o.kills;
        self.asked += o.asked;
        self.captures += o.captures;
        self.finalizations += o.finalizations;
        self.wallet_debits += o.wallet_debits;
        self.entries += o.entries;
        self.needs_attention += o.needs_attention;
        self.adopted += o.adopted;
        self.shared_customers += o.shared_customers;
        self.wallet_conflicts += o.wallet_conflicts;
        self.shaped_wallets += o.shaped_wallets;
        self.pending += o.pending;
    }
}

pub(crate) struct Outcome {
    pub(crate) violations: Vec<Violation>,
    /// The seed could not be run to its checks (the harness, or a desk that could not sync
    /// with no faults at all).
    pub(crate) error: Option<String>,
    pub(crate) stats: Stats,
    pub(crate) notes: Vec<String>,
}

/// Runs `seed` in `dir` (which the caller keeps or removes).
pub(crate) fn run(seed: u64, bins: &Binaries, dir: &Path) -> Outcome {
    let mut stats = Stats::default();
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    let error = run_in(seed, bins, dir, &mut stats, &mut violations, &mut notes).err().map(|e| e.to_string());
    let _ = std::fs::write(
        dir.join("violations.txt"),
        violations
            .iter()
            .map(|v| format!("{v}\n"))
            .chain(error.iter().map(|e| format!("error: {e}\n")))
            .collect::<String>(),
    );
    Outcome { violations, error, stats, notes }
}

fn run_in(
    seed: u64,
    bins: &Binaries,
    dir: &Path,
    stats: &mut Stats,
    violations: &mut Vec<Violation>,
    notes: &mut Vec<String>,
) -> Result {
    let setup = plan::setup(seed);
    let world = World { seed, invoices: setup.invoices, pending_seconds: setup.pending_seconds };
    let mut shaped = None;
    let sandbox = if setup.shared_wallet {
        Sandbox::start_shaped(&bins.sandbox, &world, dir, |json| {
            let mut r = Rng::new(seed, 3);
            shaped = shape::shared_wallet(json, &mut r)?;
            Ok(())
        })?
    } else {
        Sandbox::start(&bins.sandbox, &world, &dir.join("sandbox.log"), None)?
    };
    let desks = [Desk::new("A", &bins.desk, dir, &sandbox.url)?, Desk::new("B", &bins.desk, dir, &sandbox.url)?];

    // both desks see the world before any fault
    for d in &desks {
        let run = d.run(&["sync".into()], None)?;
        if run.ended != Ended::Exited(0) {
            return Err(format!("desk {}: `desk sync` with no faults: {}", d.name, describe(&run.ended)).into());
        }
    }
    let list = desks[0].run(&["invoices".into(), "list".into(), "--all".into(), "--json".into()], None)?;
    if list.ended != Ended::Exited(0) {
        return Err(format!("desk A: `desk invoices list`: {}", describe(&list.ended)).into());
    }
    std::fs::write(dir.join("invoices.json"), &list.stdout)?;
    let invoices = evidence::invoices(&serde_json::from_str(&list.stdout).map_err(|e| format!("invoice list: {e}"))?)?;
    let asked = plan::choose(seed, &invoices);
    let steps = [plan::steps(seed, 0, &asked[0]), plan::steps(seed, 1, &asked[1])];
    let mut described = plan::describe(&setup, &asked, &steps);
    match &shaped {
        Some(said) => {
            stats.shaped_wallets = 1;
            described.push_str(&format!("shaped: {said}\n"));
        }
        None if setup.shared_wallet => described.push_str(
            "shaped: no customer has two outstanding invoices in one currency with cents; the world is as seeded\n",
        ),
        None => {}
    }
    std::fs::write(dir.join("plan.txt"), described)?;
    stats.shared_customers = plan::shared_customers(&invoices, &asked) as u64;

    // capture with faults, killing the desks at their planned moments
    sandbox.set_faults(&setup.faults)?;
    let stagger = setup.stagger;
    // errors cross the threads as text (the boxed error is not Send)
    let lanes: Vec<std::result::Result<Vec<(Step, Ended)>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = desks
            .iter()
            .zip(&steps)
            .enumerate()
            .map(|(i, (desk, steps))| {
                s.spawn(move || -> std::result::Result<Vec<(Step, Ended)>, String> {
                    if i == 1 {
                        std::thread::sleep(stagger);
                    }
                    let mut ran = Vec::new();
                    for step in steps {
                        let run = desk.run(&step.args, step.kill_after).map_err(|e| e.to_string())?;
                        ran.push((step.clone(), run.ended));
                    }
                    Ok(ran)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a desk lane panicked".to_owned()))).collect()
    });
    for (desk, lane) in desks.iter().zip(lanes) {
        for (step, ended) in lane? {
            stats.runs += 1;
            if ended == Ended::Killed {
                stats.kills += 1;
            }
            if let Some(v) = desk_failed(&desk.name, &step.args, &ended) {
                violations.push(v);
            }
        }
    }

    let (_, during, _) = sandbox.ledger()?;
    stats.pending = during.iter().filter(|c| c.status == "PENDING").count() as u64;

    // faults off: recover both until every entry is terminal (PENDING captures complete as
    // the sandbox clock moves on), within a bound
    sandbox.clear_faults()?;
    let mut journals = Vec::new();
    for pass in 0..RECOVERY_PASSES {
        if (1..=CLOCK_MOVES).contains(&pass) {
            sandbox.advance_clock(setup.pending_seconds + 60)?;
        }
        let args: Vec<String> = vec!["recover".into(), "--wait-pending".into(), "0".into()];
        let ended: Vec<std::result::Result<Ended, String>> = std::thread::scope(|s| {
            let args = &args;
            let hs: Vec<_> = desks
                .iter()
                .map(|d| s.spawn(move || d.run(args, None).map(|r| r.ended).map_err(|e| e.to_string())))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a recovery thread panicked".to_owned()))).collect()
        });
        for (desk, e) in desks.iter().zip(ended) {
            if let Some(v) = desk_failed(&desk.name, &args, &e?) {
                violations.push(v);
            }
        }
        journals = desks.iter().map(|d| d.journal().map(|(raw, j)| (d.name.clone(), raw, j))).collect::<Result<_>>()?;
        if journals
            .iter()
            .all(|(_, _, j)| j.iter().all(|e| matches!(e.state.as_str(), "finalized" | "rejected" | "needs_attention")))
        {
            break;
        }
    }
    // a capture no journal follows (PENDING at PayPal) completes before the ledger is read
    sandbox.advance_clock(setup.pending_seconds + 60)?;
    let (raw_ledger, captures, finalizations) = sandbox.ledger()?;
    std::fs::write(dir.join("ledger.json"), raw_ledger)?;
    let wallet = sandbox.wallet_history()?;
    let mut evidence = Evidence {
        invoices,
        asked: asked.iter().flatten().copied().collect(),
        captures,
        finalizations,
        wallet,
        journals: Vec::new(),
    };
    for (name, raw, entries) in journals {
        std::fs::write(dir.join(format!("journal-{name}.json")), raw)?;
        evidence.journals.push((name, entries));
    }
    let findings = check::check(&evidence);
    violations.extend(findings.violations);
    stats.wallet_conflicts = findings.wallet_conflicts_across_desks.len() as u64;
    notes.extend(findings.wallet_conflicts_across_desks);
    stats.asked = evidence.asked.iter().collect::<std::collections::BTreeSet<_>>().len() as u64;
    stats.captures = evidence.captures.len() as u64;
    stats.finalizations = evidence.finalizations.len() as u64;
    stats.wallet_debits = evidence.wallet.len() as u64;
    for (_, entries) in &evidence.journals {
        stats.entries += entries.len() as u64;
        stats.needs_attention += entries.iter().filter(|e| e.state == "needs_attention").count() as u64;
        stats.adopted += entries.iter().filter(|e| e.adopted).count() as u64;
    }
    Ok(())
}

/// A desk run that crashed, hung, or failed inside (exit 1, or a panic's 101).
fn desk_failed(desk: &str, args: &[String], ended: &Ended) -> Option<Violation> {
    let bad = match ended {
        Ended::Exited(0 | 2..=9) | Ended::Killed => return None,
        Ended::Exited(101) => "panicked (exit 101)".to_owned(),
        Ended::Exited(1) => "failed inside (exit 1: internal or storage error)".to_owned(),
        other => describe(other),
    };
    Some(Violation { rule: Rule::DeskFailed, message: format!("desk {desk}: `desk {}` {bad}", args.join(" ")) })
}

/// A duration in seconds with one decimal (integer arithmetic: the workspace denies floats).
pub(crate) fn seconds(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    format!("{}.{} s", tenths / 10, tenths % 10)
}
