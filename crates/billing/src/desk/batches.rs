//! The batch capture review on the [`Desk`]: thin calls into [`crate::batch`] with this desk's
//! database, environment and four-eyes setting, so the CLI and the app stay thin.

use super::Desk;
use crate::batch::preflight::{self, PreflightOptions, Unpaced};
use crate::batch::{self, four_eyes, Approval, BatchSource, BatchSummary, BatchView, PreflightProgress};
use crate::DeskError;

impl Desk {
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
    /// gateway and PayPal and given a verdict, `concurrency` at a time (default
    /// [`batch::DEFAULT_CONCURRENCY`]), telling `progress` each item done. Moves nothing; voids
    /// an approval.
    pub async fn batch_preflight(
        &self,
        staff: &str,
        id: i64,
        concurrency: Option<usize>,
        progress: &(dyn Fn(PreflightProgress) + Send + Sync),
    ) -> Result<BatchView, DeskError> {
        let engine = self.engine(None)?;
        let options = PreflightOptions {
            concurrency: concurrency.unwrap_or(batch::DEFAULT_CONCURRENCY),
            pace: &Unpaced,
            progress,
        };
        preflight::preflight(&engine, id, staff, &options).await?;
        self.batch(id).await
    }
}
