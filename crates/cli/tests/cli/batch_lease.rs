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

/// Before: the second run ran beside the first, each at the whole rate.
#[tokio::test]
async fn a_second_batch_run_while_one_runs_exits_10_and_starts_nothing() {
    let h = Harness::synced(config(150, 1)).await;
    let id = h.json(&["batch", "create", "--paypal"]).await["id"].to_string();
    h.run(&["batch", "preflight", &id]).await.code(0);
    h.desk(&["batch", "approve", &id]).env("DESK_FOUR_EYES", "0").run().await.code(0);

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
