//! One seed: a sandbox with faults, two desks capturing overlapping invoices while being
//! killed, then recovery with the faults off, then the checks.

use super::batch;
use super::check::{self, Rule, Violation};
use super::desk::{describe, Desk, Ended};
use super::evidence::{self, Evidence};
use super::plan::{self, Step};
use super::rng::Rng;
use super::sandbox::{Sandbox, World};
use super::shape;
use crate::steps::Result;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "seed_batch.rs"]
mod seed_batch;

/// Recovery passes after the faults are cleared, before an open entry counts as a violation
/// (an attempt deferred behind another on the same wallet goes on in the pass after it).
const RECOVERY_PASSES: usize = 6;
/// More passes, each after a desk waited out a send that may still land (`request_in_flight`).
const IN_FLIGHT_PASSES: usize = 2;
/// The longest such wait (the desk's window is the gateway client's budget plus a margin).
const IN_FLIGHT_MAX: Duration = Duration::from_secs(120);
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
    /// Seeds with a batch scenario, desks that ran a batch, their items, and what the reports
    /// said at the end: finalized, and `pending` (PayPal still holding the capture).
    pub(crate) batch_seeds: u64,
    pub(crate) batch_desks: u64,
    pub(crate) batch_items: u64,
    pub(crate) batch_finalized: u64,
    pub(crate) batch_pending: u64,
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
        self.batch_seeds += o.batch_seeds;
        self.batch_desks += o.batch_desks;
        self.batch_items += o.batch_items;
        self.batch_finalized += o.batch_finalized;
        self.batch_pending += o.batch_pending;
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

/// What a seed accumulates as it goes.
struct Run<'a> {
    seed: u64,
    dir: &'a Path,
    stats: &'a mut Stats,
    violations: &'a mut Vec<Violation>,
    notes: &'a mut Vec<String>,
}

fn run_in(
    seed: u64,
    bins: &Binaries,
    dir: &Path,
    stats: &mut Stats,
    violations: &mut Vec<Violation>,
    notes: &mut Vec<String>,
) -> Result {
    let mut run = Run { seed, dir, stats, violations, notes };
    let setup = plan::setup(seed);
    let (sandbox, shaped) = run.start_sandbox(bins, &setup)?;
    let desks = [Desk::new("A", &bins.desk, dir, &sandbox.url)?, Desk::new("B", &bins.desk, dir, &sandbox.url)?];
    let (invoices, mut asked) = run.plan_desks(&desks)?;
    // a batch scenario: the batch desks capture through their batch (made with no faults)
    let batch_plan = batch::plan(seed);
    let batches = run.make_batches(&desks, batch_plan.as_ref(), &mut asked)?;
    let steps = [0, 1].map(|i| match (&batch_plan, batches[i]) {
        (Some(p), Some(id)) => batch::steps(seed, i as u64, id, p),
        _ => plan::steps(seed, i as u64, &asked[i]),
    });
    let mut described = plan::describe(&setup, &asked, &steps);
    if let Some(p) = &batch_plan {
        described.push_str(&format!(
            "batches: {:?} (made from the --paypal filter: {:?}), run at --rate {} --concurrency {}\n",
            batches, p.from_filter, p.rate, p.concurrency
        ));
    }
    match &shaped {
        Some(said) => described.push_str(&format!("shaped: {said}\n")),
        None if setup.shared_wallet => described.push_str(
            "shaped: no customer has two outstanding invoices in one currency with cents; the world is as seeded\n",
        ),
        None => {}
    }
    std::fs::write(dir.join("plan.txt"), described)?;

    // capture with faults, killing the desks at their planned moments
    sandbox.set_faults(&setup.faults)?;
    run.capture(&desks, &steps, setup.stagger)?;
    let (_, during, _) = sandbox.ledger()?;
    run.stats.pending = during.iter().filter(|c| c.status == "PENDING").count() as u64;

    // faults off: recover both until every entry is terminal, within a bound
    sandbox.clear_faults()?;
    if let Some(p) = &batch_plan {
        run.final_batch_runs(&desks, &batches, p)?;
    }
    let journals = run.recover(&sandbox, &desks, setup.pending_seconds)?;
    let reports = run.batch_reports(&sandbox, &desks, &batches)?;
    // a capture no journal follows (PENDING at PayPal) completes before the ledger is read
    sandbox.advance_clock(setup.pending_seconds + 60)?;
    let (raw_ledger, captures, finalizations) = sandbox.ledger()?;
    std::fs::write(dir.join("ledger.json"), raw_ledger)?;
    let wallet = sandbox.wallet_history()?;
    std::fs::write(dir.join("wallet.json"), wallet.to_string())?;
    let asked: Vec<u64> = asked.iter().flatten().copied().collect::<BTreeSet<u64>>().into_iter().collect();
    std::fs::write(dir.join("asked.json"), serde_json::to_string(&asked)?)?;
    let mut evidence = Evidence {
        invoices,
        asked,
        captures,
        finalizations,
        wallet: evidence::wallet_page(&wallet)?,
        journals: Vec::new(),
        batches: reports,
    };
    for (name, raw, entries) in journals {
        std::fs::write(dir.join(format!("journal-{name}.json")), raw)?;
        evidence.journals.push((name, entries));
    }
    run.check(&evidence);
    Ok(())
}

impl Run<'_> {
    /// The sandbox of this seed's world, shaped for a shared wallet when the plan says so.
    fn start_sandbox(&mut self, bins: &Binaries, setup: &plan::Setup) -> Result<(Sandbox, Option<String>)> {
        let world = World { seed: self.seed, invoices: setup.invoices, pending_seconds: setup.pending_seconds };
        if !setup.shared_wallet {
            return Ok((Sandbox::start(&bins.sandbox, &world, &self.dir.join("sandbox.log"), None)?, None));
        }
        let mut shaped = None;
        let seed = self.seed;
        let sandbox = Sandbox::start_shaped(&bins.sandbox, &world, self.dir, |json| {
            shaped = shape::shared_wallet(json, &mut Rng::new(seed, 3))?;
            Ok(())
        })?;
        self.stats.shaped_wallets = u64::from(shaped.is_some());
        Ok((sandbox, shaped))
    }

    /// Both desks sync with no faults; then which invoices each is asked for.
    fn plan_desks(&mut self, desks: &[Desk; 2]) -> Result<(Vec<evidence::Invoice>, [Vec<u64>; 2])> {
        for d in desks {
            let run = d.run(&["sync".into()], None)?;
            if run.ended != Ended::Exited(0) {
                return Err(format!("desk {}: `desk sync` with no faults: {}", d.name, describe(&run.ended)).into());
            }
        }
        let list = desks[0].run(&["invoices".into(), "list".into(), "--all".into(), "--json".into()], None)?;
        if list.ended != Ended::Exited(0) {
            return Err(format!("desk A: `desk invoices list`: {}", describe(&list.ended)).into());
        }
        std::fs::write(self.dir.join("invoices.json"), &list.stdout)?;
        let invoices =
            evidence::invoices(&serde_json::from_str(&list.stdout).map_err(|e| format!("invoice list: {e}"))?)?;
        let asked = plan::choose(self.seed, &invoices);
        self.stats.shared_customers = plan::shared_customers(&invoices, &asked) as u64;
        Ok((invoices, asked))
    }

    /// Both desks run their steps side by side (desk B `stagger` later), killed as planned.
    fn capture(&mut self, desks: &[Desk; 2], steps: &[Vec<Step>; 2], stagger: Duration) -> Result {
        // errors cross the threads as text (the boxed error is not Send)
        let lanes: Vec<std::result::Result<Vec<(Step, Ended)>, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = desks
                .iter()
                .zip(steps)
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
                self.stats.runs += 1;
                self.stats.kills += u64::from(ended == Ended::Killed);
                self.violations.extend(desk_failed(&desk.name, &step.args, &ended));
            }
        }
        Ok(())
    }

    /// `desk recover` on both desks at once, pass after pass, until every journal entry is
    /// terminal or the passes run out (the sandbox clock moves on between the first ones, so
    /// PENDING captures complete); both journals as they are then.
    fn recover(
        &mut self,
        sandbox: &Sandbox,
        desks: &[Desk; 2],
        pending_seconds: u64,
    ) -> Result<Vec<(String, String, Vec<evidence::Entry>)>> {
        let args: Vec<String> = vec!["recover".into(), "--wait-pending".into(), "0".into()];
        let mut journals = Vec::new();
        let (mut passes, mut pass) = (RECOVERY_PASSES, 0);
        while pass < passes {
            if (1..=CLOCK_MOVES).contains(&pass) {
                sandbox.advance_clock(pending_seconds + 60)?;
            }
            let ended: Vec<std::result::Result<Ended, String>> = std::thread::scope(|s| {
                let args = &args;
                let hs: Vec<_> = desks
                    .iter()
                    .map(|d| s.spawn(move || d.run(args, None).map(|r| r.ended).map_err(|e| e.to_string())))
                    .collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("a recovery thread panicked".to_owned())))
                    .collect()
            });
            for (desk, e) in desks.iter().zip(ended) {
                self.violations.extend(desk_failed(&desk.name, &args, &e?));
            }
            journals =
                desks.iter().map(|d| d.journal().map(|(raw, j)| (d.name.clone(), raw, j))).collect::<Result<_>>()?;
            if journals.iter().all(|(_, _, j)| j.iter().all(|e| check::terminal(&e.state))) {
                break;
            }
            // a finalization or wallet payment sent by a killed run may still land: the desk
            // waits it out rather than sending again; the next pass comes once it cannot land
            let entries = journals.iter().flat_map(|(_, _, j)| j.iter());
            if let Some(wait) = entries.filter_map(in_flight_wait).max() {
                std::thread::sleep(wait.min(IN_FLIGHT_MAX));
                if pass + 1 == passes && passes < RECOVERY_PASSES + IN_FLIGHT_PASSES {
                    passes += 1;
                }
            }
            pass += 1;
        }
        Ok(journals)
    }

    /// The checks, and the counts of what the seed exercised.
    fn check(&mut self, evidence: &Evidence) {
        let findings = check::check(evidence);
        self.violations.extend(findings.violations);
        self.stats.wallet_conflicts = findings.wallet_conflicts_across_desks.len() as u64;
        self.notes.extend(findings.wallet_conflicts_across_desks);
        self.stats.asked = evidence.asked.len() as u64;
        self.stats.captures = evidence.captures.len() as u64;
        self.stats.finalizations = evidence.finalizations.len() as u64;
        self.stats.wallet_debits = evidence.wallet.len() as u64;
        for (_, entries) in &evidence.journals {
            self.stats.entries += entries.len() as u64;
            self.stats.needs_attention += entries.iter().filter(|e| e.state == "needs_attention").count() as u64;
            self.stats.adopted += entries.iter().filter(|e| e.adopted).count() as u64;
        }
    }
}

/// How long an open entry waits for a send that may still land: its `last_error` reads
/// `request_in_flight: … (N s from now): resume then`.
fn in_flight_wait(e: &evidence::Entry) -> Option<Duration> {
    if check::terminal(&e.state) {
        return None;
    }
    let why = e.last_error.as_deref()?.strip_prefix("request_in_flight: ")?;
    let secs = why.rsplit_once(" s from now")?.0.rsplit_once('(')?.1.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(secs + 1))
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
