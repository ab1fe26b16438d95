//! The batch pace settings: the rate a batch's preflight and run send at (requests a second,
//! the gateway and PayPal together) and how many items go at once. They belong to the machine
//! (`batch.rate`, `batch.concurrency` in its settings, the same in every environment): how
//! hard this desk may drive the services is a matter of the machine and its network, not of
//! the environment. The CLI's `--rate` and `--concurrency` override them for one command.

use crate::batch::BatchError;
use crate::desk::DEFAULT_BATCH_RATE;
use crate::{audit, Desk, DeskError};
use pace::Rate;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use ts_rs::TS;

/// The most items a batch runs at once by the setting.
pub const MAX_BATCH_CONCURRENCY: u16 = 16;

const RATE_KEY: &str = "batch.rate";
const CONCURRENCY_KEY: &str = "batch.concurrency";

/// The batch pace settings as the Settings screen shows and saves them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BatchSettings {
    /// Requests a second to the gateway and PayPal together, retries and token requests
    /// included, as decimal text (`"20"`, `"2.5"`): what the CLI's `--rate` takes.
    pub rate: String,
    /// How many items a preflight reads or a run captures at once: 1 to 16.
    pub concurrency: u16,
}

impl Default for BatchSettings {
    fn default() -> Self {
        BatchSettings {
            rate: Rate::whole(DEFAULT_BATCH_RATE).to_string(),
            concurrency: crate::batch::DEFAULT_CONCURRENCY as u16,
        }
    }
}

/// The batch pace settings, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchPaceSetting {
    pub rate: Rate,
    pub concurrency: usize,
}

impl BatchSettings {
    /// Checks both values: the rate as `--rate` takes it, the concurrency within 1 to
    /// [`MAX_BATCH_CONCURRENCY`].
    pub fn check(&self) -> Result<BatchPaceSetting, DeskError> {
        let rate = Rate::parse(&self.rate).ok_or_else(|| BatchError::BadRate(self.rate.clone()))?;
        if !(1..=MAX_BATCH_CONCURRENCY).contains(&self.concurrency) {
            return Err(DeskError::bad_input(format!(
                "The batch concurrency must be a whole number from 1 to {MAX_BATCH_CONCURRENCY}, not {}.",
                self.concurrency
            )));
        }
        Ok(BatchPaceSetting { rate, concurrency: usize::from(self.concurrency) })
    }

    /// The saved values as they are (defaults for what was never saved), unchecked: the
    /// Settings screen shows even a value it would refuse, so the clerk can correct it.
    pub async fn load(machine: &SqlitePool) -> Result<BatchSettings, DeskError> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings WHERE key IN (?, ?)")
            .bind(RATE_KEY)
            .bind(CONCURRENCY_KEY)
            .fetch_all(machine)
            .await?;
        let mut s = BatchSettings::default();
        for (k, v) in rows {
            match k.as_str() {
                RATE_KEY => s.rate = v,
                // a stored value that is not a number reads as 0, which the check refuses
                CONCURRENCY_KEY => s.concurrency = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
        Ok(s)
    }

    /// The saved values, checked; a stored value that does not check (edited by hand) is
    /// refused naming the setting, never replaced by a default in silence.
    pub async fn in_force(machine: &SqlitePool) -> Result<BatchPaceSetting, DeskError> {
        BatchSettings::load(machine).await?.check().map_err(|e| {
            DeskError::bad_input(format!(
                "The saved batch settings cannot be used: {} Correct them in Settings.",
                e.message
            ))
        })
    }

    /// Checks and saves both values in one transaction (nothing is written when either is
    /// refused); the rate is stored as `--rate` would print it (`"20.0"` → `"20"`). Answers the
    /// values saved.
    pub async fn save(&self, machine: &SqlitePool) -> Result<BatchSettings, DeskError> {
        let checked = self.check()?;
        let saved = BatchSettings { rate: checked.rate.to_string(), concurrency: self.concurrency };
        let mut tx = machine.begin_with("BEGIN IMMEDIATE").await?;
        for (k, v) in [(RATE_KEY, saved.rate.clone()), (CONCURRENCY_KEY, saved.concurrency.to_string())] {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )
            .bind(k)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(saved)
    }

    /// Saves the values for `desk`'s machine and audits the change (before and after) in the
    /// log of `desk`'s environment under its staff name. They apply to the next preflight or
    /// run; one already going keeps its pace.
    pub async fn save_for(&self, desk: &Desk) -> Result<BatchSettings, DeskError> {
        let before = BatchSettings::load(desk.machine_pool()).await?;
        let saved = self.save(desk.machine_pool()).await?;
        let detail = serde_json::json!({ "before": before, "after": saved });
        let staff = &desk.settings().staff_name;
        audit::record(desk.pool(), staff, desk.environment(), audit::AuditAction::BatchSettingsSaved, None, detail)
            .await?;
        Ok(saved)
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
