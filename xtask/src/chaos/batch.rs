//! Batch scenarios (issue 10): for a share of seeds, desk A (and on some seeds desk B too, on
//! overlapping invoices) captures through a batch instead of `desk capture`: created by staff
//! `a` from its invoice list or from a filter, preflighted with no faults, approved by staff `b`
//! with four eyes on, then `desk batch run ID --rate R` under the seed's faults, SIGKILLed at
//! drawn moments and run again; once the faults are cleared a `desk recover`, a final
//! `desk batch run`, the usual recovery, and `desk batch report ID --json` for the checker
//! ([`super::batch_check`]).

use super::desk::{describe, Desk, Ended};
use super::plan::Step;
use super::rng::Rng;
use crate::steps::Result;
use std::time::Duration;

/// The creator and the approver (four eyes: two names).
pub(crate) const CREATOR: &str = "a";
pub(crate) const APPROVER: &str = "b";

/// How a seed's batch scenario goes, drawn from the seed alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchPlan {
    /// Which desks run a batch (desk A always; desk B on some seeds).
    pub(crate) desks: [bool; 2],
    /// Per desk: the batch is made from the `--paypal` filter rather than its invoice list.
    pub(crate) from_filter: [bool; 2],
    /// `--rate R` of the runs (requests a second, every request counted).
    pub(crate) rate: u64,
    pub(crate) concurrency: u64,
}

/// The batch scenario of `seed`, if it has one (half the seeds; both desks on one in five).
pub(crate) fn plan(seed: u64) -> Option<BatchPlan> {
    let mut r = Rng::new(seed, 20);
    let both = match r.below(10) {
        0..=4 => return None,
        5..=7 => false,
        _ => true,
    };
    Some(BatchPlan {
        desks: [true, both],
        from_filter: [r.percent(40), r.percent(40)],
        rate: r.pick(&[15, 30, 60, 120]),
        concurrency: r.pick(&[1, 2, 4, 8]),
    })
}

/// Desk `desk`'s runs of batch `id` under the faults: two to four `desk batch run`s, most killed
/// at a moment drawn on a log scale, now and then a `desk recover` between them.
pub(crate) fn steps(seed: u64, desk: u64, id: i64, p: &BatchPlan) -> Vec<Step> {
    let mut r = Rng::new(seed, 30 + desk);
    let rounds = r.between(2, 4);
    let mut steps = Vec::new();
    for round in 0..rounds {
        let args = if round > 0 && r.percent(20) {
            vec!["recover".into(), "--wait-pending".into(), "0".into()]
        } else {
            run_args(id, p)
        };
        let kill_after = r.percent(75).then(|| Duration::from_millis(r.log_millis(30, 4000)));
        steps.push(Step { args, kill_after });
    }
    steps
}

/// `desk batch run ID --rate R --concurrency N`.
pub(crate) fn run_args(id: i64, p: &BatchPlan) -> Vec<String> {
    vec![
        "batch".into(),
        "run".into(),
        id.to_string(),
        "--rate".into(),
        p.rate.to_string(),
        "--concurrency".into(),
        p.concurrency.to_string(),
    ]
}

/// A batch made, preflighted and approved: its id and its invoices.
pub(crate) struct Made {
    /// `None`: preflight found nothing ready, so there is nothing to approve or run (both
    /// approvals were refused as such); the desk captures the invoices one by one instead.
    pub(crate) id: Option<i64>,
    pub(crate) invoices: Vec<u64>,
    /// What the harness saw that is worth a note (verdicts that are not `ready`).
    pub(crate) note: Option<String>,
    /// The creator could approve their own batch with four eyes on.
    pub(crate) four_eyes_broken: Option<String>,
}

/// `desk <args> --json` that must succeed with no faults: its JSON.
fn ok_json(desk: &Desk, args: &[String], env: &[(&str, &str)]) -> Result<serde_json::Value> {
    let run = desk.run_with(args, None, env)?;
    if run.ended != Ended::Exited(0) {
        return Err(format!(
            "desk {}: `desk {}` with no faults: {} (see desk-{}.log)",
            desk.name,
            args.join(" "),
            describe(&run.ended),
            desk.name
        )
        .into());
    }
    serde_json::from_str(&run.stdout)
        .map_err(|e| format!("desk {}: `desk {}`: not JSON: {e}", desk.name, args.join(" ")).into())
}

/// With no faults: `a` creates the batch (from `invoices`, or from the `--paypal` filter),
/// preflights it and tries to approve it themself (four eyes must refuse), and `b` approves it.
pub(crate) fn make(desk: &Desk, seed: u64, from_filter: bool, invoices: &[u64]) -> Result<Made> {
    let as_a = [("DESK_STAFF", CREATOR), ("DESK_FOUR_EYES", "1")];
    let as_b = [("DESK_STAFF", APPROVER), ("DESK_FOUR_EYES", "1")];
    let mut create: Vec<String> = vec!["batch".into(), "create".into()];
    if from_filter {
        create.push("--paypal".into());
    } else {
        create.push("--invoices".into());
        create.extend(invoices.iter().map(u64::to_string));
    }
    create.extend(["--name".into(), format!("chaos seed {seed} desk {}", desk.name), "--json".into()]);
    let made = ok_json(desk, &create, &as_a)?;
    let id = made
        .get("id")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| format!("desk {}: `desk batch create` printed no id", desk.name))?;
    let items: Vec<u64> = made
        .get("items")
        .and_then(serde_json::Value::as_array)
        .map(|items| items.iter().filter_map(|i| i.get("invoiceNo").and_then(serde_json::Value::as_u64)).collect())
        .unwrap_or_default();
    let preflight: Vec<String> =
        vec!["batch".into(), "preflight".into(), id.to_string(), "--rate".into(), "200".into(), "--json".into()];
    let view = ok_json(desk, &preflight, &as_a)?;
    let approve: Vec<String> = vec!["batch".into(), "approve".into(), id.to_string(), "--json".into()];
    if ready(&view) == 0 {
        // nothing to approve: refused as bad input (exit 2), whoever asks
        for env in [&as_a, &as_b] {
            let run = desk.run_with(&approve, None, env)?;
            if run.ended != Ended::Exited(2) {
                return Err(format!(
                    "desk {}: `desk batch approve {id}` of a batch with nothing ready: {}, not refused",
                    desk.name,
                    describe(&run.ended)
                )
                .into());
            }
        }
        return Ok(Made { id: None, invoices: items, note: not_ready(desk, id, &view), four_eyes_broken: None });
    }
    let own = desk.run_with(&approve, None, &as_a)?;
    let four_eyes_broken = (own.ended == Ended::Exited(0)).then(|| {
        format!(
            "desk {}: `DESK_STAFF={CREATOR} DESK_FOUR_EYES=1 desk batch approve {id}` approved the batch {CREATOR} created",
            desk.name
        )
    });
    if four_eyes_broken.is_none() {
        ok_json(desk, &approve, &as_b)?;
    }
    Ok(Made { id: Some(id), invoices: items, note: not_ready(desk, id, &view), four_eyes_broken })
}

/// How many items a preflight's view says are `ready`.
fn ready(view: &serde_json::Value) -> usize {
    let items = view.get("items").and_then(serde_json::Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter(|i| i.get("verdict").and_then(serde_json::Value::as_str) == Some("ready"))
        .count()
}

/// The verdicts of a preflight that are not `ready` (those items end `excluded`).
fn not_ready(desk: &Desk, id: i64, view: &serde_json::Value) -> Option<String> {
    let items = view.get("items")?.as_array()?;
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for i in items {
        let verdict = i.get("verdict").and_then(serde_json::Value::as_str).unwrap_or("none");
        if verdict != "ready" {
            *counts.entry(verdict.to_owned()).or_default() += 1;
        }
    }
    (!counts.is_empty()).then(|| {
        let list: Vec<String> = counts.iter().map(|(v, n)| format!("{n} {v}")).collect();
        format!("desk {} batch {id} of {} items: preflight said {}", desk.name, items.len(), list.join(", "))
    })
}

/// `desk batch report ID --json`: its text and JSON.
pub(crate) fn report(desk: &Desk, id: i64) -> Result<(String, serde_json::Value)> {
    let args: Vec<String> = vec!["batch".into(), "report".into(), id.to_string(), "--json".into()];
    let run = desk.run(&args, None)?;
    if run.ended != Ended::Exited(0) {
        return Err(format!("desk {}: `desk batch report {id} --json`: {}", desk.name, describe(&run.ended)).into());
    }
    let v = serde_json::from_str(&run.stdout).map_err(|e| format!("desk {}: the batch report: {e}", desk.name))?;
    Ok((run.stdout, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_of_seeds_run_batches_and_each_replays() {
        let plans: Vec<Option<BatchPlan>> = (0..100).map(plan).collect();
        let batch = plans.iter().flatten().count();
        let both = plans.iter().flatten().filter(|p| p.desks[1]).count();
        assert!((35..=65).contains(&batch), "{batch} of 100 seeds");
        assert!(both >= 8, "{both} seeds with two desks");
        for seed in 0..20 {
            assert_eq!(plan(seed), plan(seed));
            if let Some(p) = plan(seed) {
                let st = steps(seed, 0, 7, &p);
                assert_eq!(st, steps(seed, 0, 7, &p));
                assert_eq!(st[0].args[..3], ["batch", "run", "7"]);
                assert!((2..=4).contains(&st.len()));
            }
        }
    }
}
