//! `desk batch ...`: batch capture reviews over the desk's batch calls. The staff name is
//! `DESK_STAFF`, else the settings' staff name.

mod print;

use crate::args::BatchCommand;
use crate::commands::invoice_filter;
mod run;

use billing::batch::{Approval, BatchSource, BatchView, PreflightProgress};
use billing::desk::BatchPace;
use billing::{Desk, DeskError};

pub async fn dispatch(desk: &Desk, command: BatchCommand) -> Result<(), DeskError> {
    let staff = desk.settings().staff_name.clone();
    match command {
        BatchCommand::Create { invoices, from_file, filter, name, json } => {
            let source = match (invoices.is_empty(), from_file) {
                (false, _) | (true, Some(_)) if filter.is_set() => {
                    return Err(DeskError::bad_input(
                        "Give either --invoices, --from-file or filter flags, not a mix of them.",
                    ));
                }
                (false, _) => BatchSource::Selection { invoices },
                (true, Some(path)) => BatchSource::File { path },
                (true, None) => BatchSource::Filter { filter: invoice_filter(*filter) },
            };
            let view = desk.batch_create(&staff, name.as_deref(), &source).await?;
            shown(&view, json, "created")
        }
        BatchCommand::List { json } => {
            let batches = desk.batches().await?;
            if json {
                return crate::print::json(&batches);
            }
            print::list(&batches)
        }
        BatchCommand::Show { id, json } => shown(&desk.batch(id).await?, json, ""),
        BatchCommand::Exclude { id, invoices, json } => {
            shown(&desk.batch_exclude(&staff, id, &invoices).await?, json, "changed")
        }
        BatchCommand::Include { id, invoices, json } => {
            shown(&desk.batch_include(&staff, id, &invoices).await?, json, "changed")
        }
        BatchCommand::Preflight { id, concurrency, rate, json } => {
            let pace = BatchPace { rate: rate.as_deref().map(BatchPace::rate_of).transpose()?, concurrency };
            let progress = |p: PreflightProgress| {
                if p.total > 0 && (p.done == p.total || p.done.is_multiple_of(10)) {
                    eprintln!("preflight: {}/{} items read", p.done, p.total);
                }
            };
            shown(&desk.batch_preflight(&staff, id, pace, &progress).await?, json, "preflighted")
        }
        BatchCommand::Run { id, rate, concurrency, json } => {
            let pace = BatchPace { rate: rate.as_deref().map(BatchPace::rate_of).transpose()?, concurrency };
            run::run(desk, &staff, id, pace, json).await
        }
        BatchCommand::Pause { id, json } => shown(&desk.batch_pause(&staff, id).await?, json, "paused"),
        BatchCommand::Report { id, csv, json } => run::report(desk, id, csv.as_deref(), json).await,
        BatchCommand::Approve { id, json } => {
            let approval = Approval { approver: staff, typed_totals: None };
            shown(&desk.batch_approve(id, &approval).await?, json, "approved")
        }
        BatchCommand::Cancel { id, json } => shown(&desk.batch_cancel(&staff, id).await?, json, "cancelled"),
    }
}

/// The batch as JSON, or as a header, its items and totals (after `what` happened to it).
fn shown(view: &BatchView, json: bool, what: &str) -> Result<(), DeskError> {
    if json {
        return crate::print::json(view);
    }
    print::batch(view, what)
}
