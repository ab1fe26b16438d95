//! A seed's batch scenario, as the seed runs it: the batches made with no faults, the final
//! runs once the faults are cleared, and the reports the checker reads.

use super::super::batch::{self, BatchPlan};
use super::super::batch_check;
use super::super::check::{Rule, Violation};
use super::super::desk::{Desk, Ended};
use super::super::sandbox::Sandbox;
use super::{desk_failed, Run};
use crate::steps::Result;
use std::collections::BTreeSet;

/// The runs of one desk's lane: each one's arguments and how it ended.
type Ran = Vec<(Vec<String>, Ended)>;

impl Run<'_> {
    /// The batches of the plan's batch desks, made, preflighted and approved with no faults;
    /// each such desk is then asked for its batch's invoices.
    pub(super) fn make_batches(
        &mut self,
        desks: &[Desk; 2],
        plan: Option<&BatchPlan>,
        asked: &mut [Vec<u64>; 2],
    ) -> Result<[Option<i64>; 2]> {
        let mut ids = [None, None];
        let Some(p) = plan else { return Ok(ids) };
        self.stats.batch_seeds = 1;
        for (i, desk) in desks.iter().enumerate().filter(|(i, _)| p.desks[*i]) {
            let made = batch::make(desk, self.seed, p.from_filter[i], &asked[i])?;
            self.notes.extend(made.note);
            if let Some(broken) = made.four_eyes_broken {
                self.violations.push(Violation { rule: Rule::FourEyes, message: broken });
            }
            asked[i] = made.invoices;
            ids[i] = made.id;
            if made.id.is_some() {
                self.stats.batch_desks += 1;
                self.stats.batch_items += asked[i].len() as u64;
            }
        }
        Ok(ids)
    }

    /// Faults off: on each batch desk at once, `desk recover`, then a final `desk batch run`.
    pub(super) fn final_batch_runs(&mut self, desks: &[Desk; 2], batches: &[Option<i64>; 2], p: &BatchPlan) -> Result {
        let lanes: Vec<std::result::Result<Ran, String>> = std::thread::scope(|s| {
            let hs: Vec<_> = desks
                .iter()
                .zip(batches)
                .filter_map(|(d, id)| id.map(|id| (d, id)))
                .map(|(d, id)| {
                    s.spawn(move || {
                        let mut ended = Vec::new();
                        for args in
                            [vec!["recover".into(), "--wait-pending".into(), "0".into()], batch::run_args(id, p)]
                        {
                            let e = d.run(&args, None).map_err(|e| e.to_string())?.ended;
                            ended.push((args, e));
                        }
                        Ok(ended)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a batch lane panicked".to_owned()))).collect()
        });
        let names = desks.iter().zip(batches).filter(|(_, id)| id.is_some()).map(|(d, _)| &d.name);
        for (name, lane) in names.zip(lanes) {
            for (args, ended) in lane? {
                self.stats.runs += 1;
                self.violations.extend(desk_failed(name, &args, &ended));
            }
        }
        Ok(())
    }

    /// Each batch desk's `desk batch report ID --json` (kept as `batch-NAME.json`), with the
    /// captures PayPal holds PENDING as it is read.
    pub(super) fn batch_reports(
        &mut self,
        sandbox: &Sandbox,
        desks: &[Desk; 2],
        batches: &[Option<i64>; 2],
    ) -> Result<Vec<batch_check::BatchReport>> {
        let mut reports = Vec::new();
        for (desk, id) in desks.iter().zip(batches).filter_map(|(d, id)| id.map(|id| (d, id))) {
            let (_, report) = batch::report(desk, id)?;
            let (_, captures, _) = sandbox.ledger()?;
            let pending: BTreeSet<String> =
                captures.into_iter().filter(|c| c.status == "PENDING").map(|c| c.id).collect();
            std::fs::write(
                self.dir.join(format!("batch-{}.json", desk.name)),
                batch_check::kept(&report, &pending).to_string(),
            )?;
            let parsed = batch_check::parse(&desk.name, &report, pending)?;
            let outcome = |o: &str| parsed.items.iter().filter(|i| i.outcome.as_deref() == Some(o)).count() as u64;
            self.stats.batch_finalized += outcome("finalized");
            self.stats.batch_pending += outcome("pending");
            reports.push(parsed);
        }
        Ok(reports)
    }
}
