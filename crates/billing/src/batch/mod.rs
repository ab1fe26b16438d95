//! Batch capture reviews: a stored batch of invoices (migration 0006) that is made, preflighted,
//! approved (four eyes), run and reported on.
//!
//! ```text
//! draft ─preflight─► preflighted ─approve─► approved ─run─► running ⇄ paused ─► completed
//!   └──────────────── cancel (any state not ended) ──────────────────────────► cancelled
//! ```
//!
//! * [`words`]: the words (state, source, verdict, outcome) as enums;
//! * [`model`]: the batch, its items and totals as the front ends see them;
//! * [`create`]: from invoice numbers, the invoice list's filter, or a file; all or nothing;
//! * [`life`]: exclude/include, approve, cancel; [`four_eyes`] and the approval [`pin`];
//! * [`preflight`]: each item read again (the capture preview's reads) and given a verdict
//!   (`verdicts`: from the preview's findings to a verdict and its reason);
//! * [`run`]: the approved items through the capture workflow, paced, concurrent, resumable
//!   ([`progress`] tells where it stands; `run_store` its SQL); pause and cancel stop new items;
//!   `run_lease`: one runner per batch across processes (migration 0013);
//! * [`report`]: outcomes, captures, fees and net, totals per currency, CSV;
//! * [`store`]: the SQL. An invoice is in at most one open batch: `batch_items.open` with a
//!   partial UNIQUE index, cleared when the item can no longer run.
//!
//! Every step is written to the audit log under the staff name that took it.

pub mod create;
mod error;
pub mod four_eyes;
mod life;
pub mod model;
pub mod pin;
pub mod preflight;
pub mod progress;
pub mod report;
pub mod run;
mod run_lease;
mod run_store;
pub(crate) mod store;
pub mod totals;
mod verdicts;
pub mod words;

pub use error::{running_elsewhere, BatchError, SourceProblem, EXIT_RUNNING_ELSEWHERE};
pub use model::{Approval, BatchItem, BatchSource, BatchSummary, BatchTotal, BatchView};
pub use preflight::PreflightProgress;
pub use progress::RunProgress;
pub use report::{BatchReport, ReportItem, ReportTotal};
pub use run::{RunEnd, DEFAULT_CONCURRENCY};
pub use words::{BatchState, ItemOutcome, SourceKind, Verdict};

pub(crate) use life::{approve, cancel, set_excluded};
pub(crate) use run_lease::wait_for_other_run;
pub(crate) use run_store::{follow_journal, pause as run_pause, running};

use crate::DeskError;
use sqlx::SqlitePool;

/// Batch `id` in full: its items in order and its totals.
pub(crate) async fn view(pool: &SqlitePool, id: i64, four_eyes: bool) -> Result<BatchView, DeskError> {
    let mut conn = pool.acquire().await?;
    let batch = store::summary(&mut conn, id).await?.ok_or(BatchError::NotFound(id))?;
    let items = store::items(&mut conn, id).await?;
    let totals = totals::of(&items)?;
    Ok(BatchView { batch, four_eyes, items, totals })
}

/// Whether batch `id`'s approval still covers what it holds (the run checks this before it starts).
pub async fn approval_holds(pool: &SqlitePool, id: i64) -> Result<bool, DeskError> {
    let mut conn = pool.acquire().await?;
    let batch = store::summary(&mut conn, id).await?.ok_or(BatchError::NotFound(id))?;
    let items = store::items(&mut conn, id).await?;
    let stored = store::approval_pin(&mut conn, id).await?;
    Ok(batch.state == BatchState::Approved && pin::holds(&batch, stored.as_deref(), &items))
}

#[cfg(test)]
pub(crate) mod tests;
