//! What a batch refuses, as typed errors; each becomes a [`DeskError`] with its code (the CLI's
//! exit code) at the boundary.

use super::words::BatchState;
use crate::{DeskError, ErrorCode};
use chrono::{DateTime, Utc};
use std::fmt;

/// `desk batch run`'s exit code when another window or command is running the batch (its
/// run lease is live): nothing was started here.
pub const EXIT_RUNNING_ELSEWHERE: u8 = 10;

/// Whether `e` is [`BatchError::RunningElsewhere`]'s: another process runs the batch.
pub fn running_elsewhere(e: &DeskError) -> bool {
    e.code == ErrorCode::Conflict && e.exit == Some(EXIT_RUNNING_ELSEWHERE)
}

/// One line of a source the batch could not take (a file's line, or a number given twice).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SourceProblem {
    /// 1-based line of the file, or place in the list given.
    #[ts(type = "number")]
    pub line: u64,
    /// The text of that line (or the number) as given.
    pub text: String,
    pub problem: String,
}

impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {:?}: {}", self.line, self.text, self.problem)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("Name the staff member (set DESK_STAFF or the staff name in Settings): every batch step is audited under a name.")]
    NoStaff,
    #[error("The batch name is too long (at most {max} characters).")]
    NameTooLong { max: usize },
    #[error("There is no batch {0}.")]
    NotFound(i64),
    #[error("Nothing was created; the invoice list has {} problem(s):\n{}", .0.len(), lines(.0))]
    Problems(Vec<SourceProblem>),
    #[error("No invoice matches: a batch needs at least one.")]
    Empty,
    #[error("A batch holds at most {max} invoices; this one would hold {count}.")]
    TooMany { count: usize, max: usize },
    #[error("The file {path} cannot be read: {reason}")]
    File { path: String, reason: String },
    #[error("Nothing was created: {} invoice(s) are already in an open batch: {}", .0.len(), held(.0))]
    InOpenBatch(Vec<(i64, i64)>),
    #[error("Batch {id} is {}: it cannot be {action} now.", state.as_str())]
    WrongState { id: i64, state: BatchState, action: &'static str },
    #[error("Batch {0} has not been preflighted: run preflight first.")]
    PreflightFirst(i64),
    #[error("Four eyes: batch {id} was created by {creator}, so someone else must approve it.")]
    SamePerson { id: i64, creator: String },
    #[error("Batch {id} has nothing ready to approve.")]
    NothingReady { id: i64 },
    #[error("The totals typed do not match batch {id}'s: {difference}")]
    TotalsDiffer { id: i64, difference: String },
    #[error("Not in batch {id}: {}", numbers(.invoices))]
    NotInBatch { id: i64, invoices: Vec<i64> },
    #[error("Batch {0} is already running here; its progress shows where it stands.")]
    AlreadyRunning(i64),
    #[error(
        "Batch {id} is running in another window or command (since {}); wait for it or stop it there. \
         If that window or command was closed or killed, the batch can run again from {}.",
        local(since, "%H:%M"),
        local(free_from, "%H:%M:%S")
    )]
    RunningElsewhere { id: i64, since: DateTime<Utc>, free_from: DateTime<Utc> },
    #[error("Batch {0} is not approved: preflight it and have it approved before it runs.")]
    NotApproved(i64),
    #[error("Batch {0}'s approval no longer covers it (preflight ran again or items changed): approve it again.")]
    ApprovalVoid(i64),
    #[error("The rate must be a number of requests a second above 0 (at most 100000), not {0:?}.")]
    BadRate(String),
    #[error("DESK_FOUR_EYES must be 1 or 0, not {0:?}.")]
    FourEyesSetting(String),
}

/// A time as the clerk's clock shows it.
fn local(t: &DateTime<Utc>, format: &str) -> String {
    t.with_timezone(&chrono::Local).format(format).to_string()
}

fn lines(problems: &[SourceProblem]) -> String {
    problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}

fn held(pairs: &[(i64, i64)]) -> String {
    pairs.iter().map(|(no, batch)| format!("{no} (batch {batch})")).collect::<Vec<_>>().join(", ")
}

fn numbers(invoices: &[i64]) -> String {
    invoices.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
}

impl BatchError {
    pub fn code(&self) -> ErrorCode {
        match self {
            BatchError::NotFound(_) => ErrorCode::NotFound,
            BatchError::InOpenBatch(_) | BatchError::AlreadyRunning(_) | BatchError::RunningElsewhere { .. } => {
                ErrorCode::Conflict
            }
            BatchError::File { .. } => ErrorCode::BadInput,
            BatchError::NoStaff
            | BatchError::NameTooLong { .. }
            | BatchError::Problems(_)
            | BatchError::Empty
            | BatchError::TooMany { .. }
            | BatchError::WrongState { .. }
            | BatchError::PreflightFirst(_)
            | BatchError::SamePerson { .. }
            | BatchError::NothingReady { .. }
            | BatchError::TotalsDiffer { .. }
            | BatchError::NotInBatch { .. }
            | BatchError::NotApproved(_)
            | BatchError::ApprovalVoid(_)
            | BatchError::BadRate(_)
            | BatchError::FourEyesSetting(_) => ErrorCode::BadInput,
        }
    }
}

impl From<BatchError> for DeskError {
    fn from(e: BatchError) -> Self {
        let error = DeskError::new(e.code(), e.to_string());
        match e {
            BatchError::RunningElsewhere { .. } => error.with_exit(EXIT_RUNNING_ELSEWHERE),
            _ => error,
        }
    }
}
