//! Recovery: every unfinished attempt of this environment resumed from its journaled state.
//! Attempts already past part-process go first (money may have moved, and their wallet promise
//! defers every `planned` attempt of the same wallet until they finish), then the `planned`
//! ones, each group oldest first. One attempt that cannot be resumed does not stop the others:
//! each is tried and reported.

use super::Desk;
use crate::capture::{self, CaptureResult, Entry, Interrupt, State};
use crate::DeskError;

/// One unfinished attempt, resumed (or why it could not be).
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The attempt as it was read before resuming.
    pub entry: Entry,
    pub outcome: Result<CaptureResult, DeskError>,
}

impl Recovered {
    /// As a result: a failure is the attempt as it was, unfinished, with a message saying why.
    pub fn into_result(self) -> CaptureResult {
        let e = self.entry;
        match self.outcome {
            Ok(r) => r,
            Err(err) => CaptureResult {
                journal_id: e.id,
                invoice_no: e.invoice_no,
                state: e.state(),
                finished: false,
                message: format!("Could not be resumed: {}", err.message),
                capture_id: e.capture_id,
                paypal_amount: e.paypal_amount,
                wallet_amount: e.wallet_amount,
                wallet_currency: e.wallet_currency,
                currency: e.currency,
                adopted: e.adopted,
                detail: err.detail,
            },
        }
    }
}

impl Desk {
    /// How long until no journaled send of an unfinished attempt may still land: the longest
    /// in-flight window still open (a PayPal capture's is longer than a gateway call's), or
    /// `None` when none is. An attempt waiting one out is worth resuming once it has passed.
    pub async fn sends_may_land_for(&self) -> Result<Option<std::time::Duration>, DeskError> {
        let mut longest = None;
        for e in capture::journal::unfinished(&self.pool).await? {
            longest = longest.max(capture::in_flight::window(&self.pool, &e).await?.open());
        }
        Ok(longest)
    }

    /// Resumes every unfinished attempt; one that fails is reported in its place (an unfinished
    /// result whose message says why), and the others still run.
    pub async fn recover(&self) -> Result<Vec<CaptureResult>, DeskError> {
        self.recover_with(None).await
    }

    pub async fn recover_with(&self, interrupt: Option<&dyn Interrupt>) -> Result<Vec<CaptureResult>, DeskError> {
        Ok(self.recover_each(interrupt).await?.into_iter().map(Recovered::into_result).collect())
    }

    /// Resumes every unfinished attempt (past part-process first, then `planned`), each with its
    /// own outcome. `Err` only when none can be tried (the journal cannot be read, or the
    /// services are not configured).
    pub async fn recover_each(&self, interrupt: Option<&dyn Interrupt>) -> Result<Vec<Recovered>, DeskError> {
        let mut unfinished = capture::journal::unfinished(&self.pool).await?;
        // past part-process first (stable: oldest first within each group)
        unfinished.sort_by_key(|e| e.state() == State::Planned);
        if unfinished.is_empty() {
            return Ok(Vec::new());
        }
        let engine = self.engine(interrupt)?;
        let mut done = Vec::with_capacity(unfinished.len());
        for entry in unfinished {
            let outcome = engine.resume(entry.clone()).await;
            if let Err(e) = &outcome {
                tracing::warn!(journal_id = entry.id, invoice_no = entry.invoice_no, code = ?e.code, message = %e.message, detail = ?e.detail, "an unfinished capture could not be resumed");
            }
            done.push(Recovered { entry, outcome });
        }
        // batch items whose attempt this recovery ended follow it (a batch may complete)
        let followed =
            match crate::batch::follow_journal(&self.pool, &self.settings.staff_name, self.environment()).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(code = ?e.code, message = %e.message, "batch items could not follow the journal");
                    0
                }
            };
        if followed > 0 {
            if let Err(e) = crate::batch::run::fill_fees(&engine, None).await {
                tracing::warn!(code = ?e.code, message = %e.message, "the fees of batch items could not be read");
            }
        }
        Ok(done)
    }

    /// The newest journal entries (all, or one invoice's); with `open_only`, only unfinished
    /// attempts, filtered before the limit.
    pub async fn journal_entries(
        &self,
        invoice_no: Option<i64>,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<Entry>, DeskError> {
        if !open_only {
            return capture::journal::recent(&self.pool, invoice_no, limit).await;
        }
        let mut open = capture::journal::unfinished(&self.pool).await?;
        open.retain(|e| invoice_no.is_none_or(|no| e.invoice_no == no));
        // newest first, as the whole journal is listed
        open.sort_by_key(|e| std::cmp::Reverse(e.id));
        open.truncate(usize::try_from(limit.clamp(1, 10_000)).unwrap_or(usize::MAX));
        Ok(open)
    }

    /// The newest journal entries (all, or one invoice's).
    pub async fn journal(&self, invoice_no: Option<i64>, limit: u32) -> Result<Vec<Entry>, DeskError> {
        self.journal_entries(invoice_no, false, limit).await
    }
}
