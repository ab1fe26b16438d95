//! The batch capture review on the [`Desk`]: thin calls into [`crate::batch`] with this desk's
//! database, environment and four-eyes setting, so the CLI and the app stay thin.

use super::Desk;
use crate::batch::preflight::{self, PreflightOptions};
use crate::batch::{
    self, four_eyes, Approval, BatchError, BatchReport, BatchSource, BatchSummary, BatchView, PreflightProgress,
    RunEnd, RunProgress,
};
use crate::settings::{BatchPaceSetting, BatchSettings};
use crate::DeskError;
use pace::Rate;
use std::num::NonZeroU16;

/// The rate a batch's requests (gateway and PayPal together) are paced at unless told: 20 a second.
pub const DEFAULT_BATCH_RATE: NonZeroU16 = match NonZeroU16::new(20) {
    Some(n) => n,
    None => NonZeroU16::MIN,
};

/// How a batch's reads or run go, as a command asks (the CLI's `--rate` and `--concurrency`):
/// its rate (requests a second over both services) and how many items at once. What is not
/// given comes from the machine's batch settings ([`BatchSettings`]; by default
/// [`DEFAULT_BATCH_RATE`] and [`batch::DEFAULT_CONCURRENCY`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchPace {
    pub rate: Option<Rate>,
    pub concurrency: Option<usize>,
}

impl BatchPace {
    /// `--rate` as typed.
    pub fn rate_of(text: &str) -> Result<Rate, DeskError> {
        Ok(Rate::parse(text).ok_or_else(|| BatchError::BadRate(text.to_owned()))?)
    }
}

/// The batches this process is running (by database and id): one run of a batch at a time here
/// (the app's start continuing a batch and a click on Run, for one). Across processes the
/// batch's run lease (`batch::run_lease`) refuses a second runner, the journal's locks keep each
/// item to one attempt, and an item's ended outcome is never overwritten.
static RUNNING: std::sync::Mutex<std::collections::BTreeSet<(std::path::PathBuf, i64)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

struct OneRun((std::path::PathBuf, i64));

impl OneRun {
    fn take(database: std::path::PathBuf, id: i64) -> Result<OneRun, DeskError> {
        let key = (database, id);
        let mut running = RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !running.insert(key.clone()) {
            return Err(BatchError::AlreadyRunning(id).into());
        }
        Ok(OneRun(key))
    }
}

impl Drop for OneRun {
    fn drop(&mut self) {
        RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&self.0);
    }
}

impl Desk {
    /// The pace a batch's preflight or run goes at: what `pace` gives, the rest from the
    /// machine's batch settings (read only when needed, so flags for both work whatever is saved).
    pub async fn batch_pace(&self, pace: BatchPace) -> Result<BatchPaceSetting, DeskError> {
        if let BatchPace { rate: Some(rate), concurrency: Some(concurrency) } = pace {
            return Ok(BatchPaceSetting { rate, concurrency });
        }
        let saved = BatchSettings::in_force(self.machine_pool()).await?;
        Ok(BatchPaceSetting {
            rate: pace.rate.unwrap_or(saved.rate),
            concurrency: pace.concurrency.unwrap_or(saved.concurrency),
        })
    }

    /// Whether approving a batch needs a second person here: always in `live`; elsewhere unless
    /// `DESK_FOUR_EYES=0`.
    pub fn four_eyes(&self) -> Result<bool, DeskError> {
        Ok(four_eyes::required(self.environment(), &self.overrides)?)
    }

    /// Creates a draft batch from `source` under `staff`'s name.
    pub async fn batch_create(
        &self,
        staff: &str,
        name: Option<&str>,
        source: &BatchSource,
    ) -> Result<BatchView, DeskError> {
        let id = batch::create::create(&self.pool, staff, self.environment(), name, source).await?;
        self.batch(id).await
    }

    /// Every batch of this environment, newest first.
    pub async fn batches(&self) -> Result<Vec<BatchSummary>, DeskError> {
        batch::store::list(&self.pool).await
    }

    /// One batch with its items and totals.
    pub async fn batch(&self, id: i64) -> Result<BatchView, DeskError> {
        batch::view(&self.pool, id, self.four_eyes()?).await
    }

    /// Excludes `invoices` from batch `id` (before it runs; voids an approval).
    pub async fn batch_exclude(&self, staff: &str, id: i64, invoices: &[i64]) -> Result<BatchView, DeskError> {
        batch::set_excluded(&self.pool, id, staff, self.environment(), invoices, true).await?;
        self.batch(id).await
    }

    /// Includes `invoices` of batch `id` again (before it runs; voids an approval).
    pub async fn batch_include(&self, staff: &str, id: i64, invoices: &[i64]) -> Result<BatchView, DeskError> {
        batch::set_excluded(&self.pool, id, staff, self.environment(), invoices, false).await?;
        self.batch(id).await
    }

    /// Approves batch `id` as `approval.approver` (four eyes when on; a refusal is audited too).
    pub async fn batch_approve(&self, id: i64, approval: &Approval) -> Result<BatchView, DeskError> {
        batch::approve(&self.pool, id, self.environment(), self.four_eyes()?, approval).await?;
        self.batch(id).await
    }

    /// Cancels batch `id` (any state not ended): its items not started become `cancelled`.
    pub async fn batch_cancel(&self, staff: &str, id: i64) -> Result<BatchView, DeskError> {
        batch::cancel(&self.pool, id, staff, self.environment()).await?;
        self.batch(id).await
    }

    /// Preflights batch `id` under `staff`'s name: every included item read again at the
    /// gateway and PayPal and given a verdict, `concurrency` at a time (see [`Desk::batch_pace`]),
    /// telling `progress` each item done. Moves nothing; voids
    /// an approval.
    pub async fn batch_preflight(
        &self,
        staff: &str,
        id: i64,
        pace: BatchPace,
        progress: &(dyn Fn(PreflightProgress) + Send + Sync),
    ) -> Result<BatchView, DeskError> {
        let pace = self.batch_pace(pace).await?;
        let engine = self.engine(None)?;
        let options = PreflightOptions { concurrency: pace.concurrency, progress };
        let _paced = self.pace().limit(pace.rate);
        preflight::preflight(&engine, id, staff, &options).await?;
        self.batch(id).await
    }

    /// Runs (or resumes) approved batch `id` under `staff`'s name: its items through the
    /// journaled capture, `pace.concurrency` at a time, every request of both services paced at
    /// `pace.rate`, telling `progress` (at most ten times a second). Items already sent are
    /// resumed from their journal, never sent again. Stops starting items once the batch is
    /// paused or cancelled.
    pub async fn batch_run(
        &self,
        staff: &str,
        id: i64,
        pace: BatchPace,
        progress: &(dyn Fn(RunProgress) + Send + Sync),
    ) -> Result<RunEnd, DeskError> {
        let _one = OneRun::take(self.database_path(), id)?;
        let pace = self.batch_pace(pace).await?;
        let mut engine = self.engine(None)?;
        engine.staff = staff;
        let _paced = self.pace().limit(pace.rate);
        // the end of a run waits for items left waiting out a send still in flight
        let settle_for = crate::capture::in_flight_window() + std::time::Duration::from_secs(5);
        batch::run::run(&engine, id, &pace.rate.to_string(), pace.concurrency, settle_for, progress).await
    }

    /// Continues every batch a run was working on when the desk stopped (a crash, a kill, the
    /// app closed mid-run), each under the name that ran it, at the machine's batch settings; what each
    /// run came to, by batch. Paused batches stay paused. A batch another process is running (`desk
    /// batch run`, or one killed less than the run lease's TTL ago) is waited for, then continued if
    /// that run left it `running`; else its refusal is what it came to. Those waits come after
    /// every other batch is continued: another process's run (hours long, or hung) never holds
    /// back a batch nobody else runs.
    pub async fn resume_batches(
        &self,
        progress: &(dyn Fn(i64, RunProgress) + Send + Sync),
    ) -> Result<Vec<(i64, Result<RunEnd, DeskError>)>, DeskError> {
        let mut ended = Vec::new();
        let mut elsewhere = Vec::new();
        for (id, run_by) in batch::running(&self.pool).await? {
            let staff = run_by.unwrap_or_else(|| self.settings.staff_name.clone());
            let tell = |p: RunProgress| progress(id, p);
            match self.batch_run(&staff, id, BatchPace::default(), &tell).await {
                // `desk batch run` (or a killed run's lease): waited for once the others ran
                Err(e) if batch::running_elsewhere(&e) => {
                    tracing::info!(batch = id, "{} Continued here once that run ends.", e.message);
                    elsewhere.push((id, staff, e));
                }
                end => ended.push((id, end)),
            }
        }
        for (id, staff, mut refusal) in elsewhere {
            let tell = |p: RunProgress| progress(id, p);
            // continue what that run left running, and nothing it paused, cancelled or completed
            let end = loop {
                if !batch::wait_for_other_run(&self.pool, id).await? {
                    break Err(refusal);
                }
                match self.batch_run(&staff, id, BatchPace::default(), &tell).await {
                    Err(e) if batch::running_elsewhere(&e) => refusal = e,
                    end => break end,
                }
            };
            ended.push((id, end));
        }
        ended.sort_by_key(|(id, _)| *id);
        for (id, end) in &ended {
            if let Err(e) = end {
                tracing::warn!(batch = id, code = ?e.code, message = %e.message, "a batch could not be continued");
            }
        }
        Ok(ended)
    }

    /// Pauses running batch `id`: items in flight finish, no new ones start; `batch_run` resumes.
    pub async fn batch_pause(&self, staff: &str, id: i64) -> Result<BatchView, DeskError> {
        if staff.trim().is_empty() {
            return Err(BatchError::NoStaff.into());
        }
        batch::run_pause(&self.pool, id, staff, self.environment()).await?;
        self.batch(id).await
    }

    /// The report on batch `id` (outcomes, captures, fees and net, totals per currency).
    pub async fn batch_report(&self, id: i64) -> Result<BatchReport, DeskError> {
        batch::report::report(&self.pool, id).await
    }
}
