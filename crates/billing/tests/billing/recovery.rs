//! Recovery goes on past an attempt it cannot resume, and reports each one.

use crate::common::{approved_rows, desk, money_moved, no_progress, sandbox};
use billing::capture::{Interrupt, State, Step};
use billing::ErrorCode;
use std::sync::atomic::{AtomicBool, Ordering};

const SEED_INVOICE: i64 = 458_732;

/// Stops before the gateway's part-processing: the attempt stays `planned`.
struct BeforePartProcess(AtomicBool);

impl Interrupt for BeforePartProcess {
    fn before(&self, step: Step, _: i64) -> bool {
        step == Step::PartProcess && !self.0.swap(true, Ordering::SeqCst)
    }
    fn after(&self, _: Step, _: i64) -> bool {
        false
    }
}

#[tokio::test]
async fn recover_goes_on_past_an_attempt_that_fails_and_reports_each() {
    let sb = sandbox(120, 3).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk(&sb.base_url(), dir.path()).await;
    d.sync(true, &no_progress()).await.expect("sync");
    let other = approved_rows(&d).await.into_iter().find(|r| r.invoice_no != SEED_INVOICE).expect("an approval");
    // two planned attempts; the older one's row cannot be used (a currency the desk has no table for)
    for no in [other.invoice_no, SEED_INVOICE] {
        d.capture_with(no, &BeforePartProcess(AtomicBool::new(false))).await.expect_err("interrupted");
    }
    let open = d.journal_entries(None, true, 10).await.expect("open");
    let (broken, good) = (open[1].id, open[0].id);
    assert_eq!((open[1].invoice_no, open[0].invoice_no), (other.invoice_no, SEED_INVOICE));
    sqlx::query("UPDATE capture_journal SET currency = 'XXX' WHERE id = ?")
        .bind(broken)
        .execute(d.pool())
        .await
        .expect("damage");

    // `recover` tries every attempt and reports each: the one it could not resume in its
    // place, unfinished, saying why
    let results = d.recover().await.expect("recover reports each");
    assert_eq!(results.iter().map(|r| r.journal_id).collect::<Vec<_>>(), vec![broken, good], "every attempt tried");
    assert_eq!((results[0].state, results[0].finished), (State::Planned, false));
    assert!(results[0].message.starts_with("Could not be resumed: "), "{}", results[0].message);
    assert_eq!(results[1].state, State::Finalized, "the next one still ran: {:?}", results[1]);
    assert_eq!(money_moved(&sb).await, (1, 1));

    // with its error, for the command line's exit code
    let each = d.recover_each(None).await.expect("recovery runs");
    assert_eq!(each.len(), 1);
    assert_eq!(each[0].entry.id, broken);
    assert_eq!(each[0].outcome.as_ref().map_err(|e| e.code).err(), Some(ErrorCode::Storage));
    d.close().await;
}
