//! One runner per batch across processes, through the real binary: a second `desk batch run` of
//! a batch another one is running exits 10 with the clerk's message and starts nothing; pause
//! from a third command still stops the first. (A run killed with SIGKILL does not block the
//! next one: its OS lock went with it; `batch_run.rs`.)

use crate::common::{config, Harness};
use serde_json::Value;
use std::time::Duration;

/// `desk batch run`'s exit code while another window or command runs the batch (README).
const EXIT_RUNNING_ELSEWHERE: i32 = 10;

/// The clerk's message of that refusal (on stderr).
#[track_caller]
fn assert_running_elsewhere(stderr: &str, id: &str) {
    let said = format!("desk: Batch {id} is running in another window or command (since ");
    assert!(
        stderr.lines().any(|l| l.starts_with(&said) && l.contains("wait for it or stop it there")),
        "{said:?} expected in\n{stderr}"
    );
}

fn outcomes(v: &Value, outcome: &str) -> usize {
    v["items"].as_array().map_or(0, |items| items.iter().filter(|i| i["outcome"] == outcome).count())
}

/// A batch of the PayPal invoices, preflighted and approved: its id.
async fn approved_batch(h: &Harness) -> String {
    let id = h.json(&["batch", "create", "--paypal"]).await["id"].to_string();
    h.run(&["batch", "preflight", &id]).await.code(0);
    h.desk(&["batch", "approve", &id]).env("DESK_FOUR_EYES", "0").run().await.code(0);
    id
}

/// Before: the second run ran beside the first, each at the whole rate.
#[tokio::test]
async fn a_second_batch_run_while_one_runs_exits_10_and_starts_nothing() {
    let h = Harness::synced(config(150, 1)).await;
    let id = approved_batch(&h).await;

    // slow: a few requests a second, so it runs for a while
    let first = h.desk(&["batch", "run", &id, "--rate", "4"]).spawn();
    let mut running = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if h.json(&["batch", "show", &id]).await["state"] == "running" {
            running = true;
            break;
        }
    }
    assert!(running, "the first run started");
    let before = h.json(&["batch", "show", &id]).await;
    let out = h.run(&["batch", "run", &id, "--rate", "200", "--json"]).await.code(EXIT_RUNNING_ELSEWHERE);
    assert_running_elsewhere(&out.stderr, &id);
    assert_eq!(out.stdout, "", "nothing printed as if it ran");
    // pause from a third command needs no lease: the first run stops starting items
    assert_eq!(h.json(&["batch", "pause", &id]).await["state"], "paused");
    let out = crate::common::Output::of("the first batch run (paused)", first).await;
    assert!(matches!(out.status, Some(8 | 9)), "paused with items left: {out:?}");
    let after = h.json(&["batch", "show", &id]).await;
    assert!(outcomes(&after, "queued") > 0, "paused before the end: {after}");
    assert!(outcomes(&before, "queued") >= outcomes(&after, "queued"));
    // the first run gave the batch back: the next run takes it
    let out = h.run(&["batch", "run", &id, "--rate", "200", "--json"]).await;
    assert!(matches!(out.status, Some(0 | 8 | 9)), "{out:?}");
    assert_eq!(outcomes(&h.json(&["batch", "show", &id]).await, "queued"), 0);
}

/// `desk batch run`'s exit code while items are not finished (README): also a run that lost its
/// hold on the batch with no other run holding it now.
const EXIT_UNFINISHED: i32 = 8;

/// Removes batch `id`'s run lease row, as another run does that took the batch over and ended
/// since (its release). Through the `sqlite3` shell (`cargo xtask setup` installs it). Whether a
/// row was there.
fn lease_row_removed(database: &std::path::Path, id: &str) -> bool {
    let out = std::process::Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(database)
        .arg(format!("DELETE FROM batch_run_lease WHERE batch_id = {id}; SELECT changes();"))
        .output()
        .expect("the sqlite3 shell runs");
    assert!(out.status.success(), "sqlite3: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

/// Before: exit 7 ("another process holds the invoice"), which the README does not list for
/// `batch run`. A run that lost its hold on the batch while no other run holds it left items not
/// reached: 8, run it again (and it runs again).
#[tokio::test]
async fn a_run_that_lost_its_hold_on_the_batch_with_no_other_run_now_exits_8() {
    let h = Harness::synced(config(150, 1)).await;
    let id = approved_batch(&h).await;

    // slow: a few requests a second, one item at a time, so it runs for a while
    let first = h.desk(&["batch", "run", &id, "--rate", "4", "--concurrency", "1"]).spawn();
    let database = h.data_dir().join("sandbox").join("desk.sqlite3");
    let mut removed = false;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if lease_row_removed(&database, &id) {
            removed = true;
            break;
        }
    }
    assert!(removed, "the first run took the batch's run lease");
    let out = crate::common::Output::within("the run that lost its hold", first, Duration::from_secs(120)).await;
    let out = out.code(EXIT_UNFINISHED);
    assert!(
        out.stderr.contains(&format!("Batch {id}'s run stopped: it lost its hold on the batch. Run it again.")),
        "{}",
        out.stderr
    );
    assert!(outcomes(&h.json(&["batch", "show", &id]).await, "queued") > 0, "stopped before the end");
    let out = h.run(&["batch", "run", &id, "--rate", "200", "--json"]).await;
    assert!(matches!(out.status, Some(0 | 8 | 9)), "{out:?}");
    assert_eq!(outcomes(&h.json(&["batch", "show", &id]).await, "queued"), 0);
}
