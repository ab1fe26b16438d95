//! The unknown outcomes of `unknown_outcomes.rs` as the sandbox itself produces them (its faults
//! `error_after_commit_*`, `in_progress_ms` and `minimal_answer_rate`), in PayPal's own error
//! and answer shapes.

use crate::capture_paths::{ledger, World};
use crate::paypal_double::Act;
use crate::unknown_outcomes::{assert_captured_and_finalized_once, fixture, plain_order};
use billing::capture::State;
use sandbox::Sandbox;
use serde_json::{json, Value};

const ORDER_CAPTURE: &str = "POST /v2/checkout/orders/{id}/capture";
const AUTH_CAPTURE: &str = "POST /v2/payments/authorizations/{id}/capture";

fn faults(sb: &Sandbox, route: &str, fault: Value) {
    sb.set_faults(serde_json::from_value(json!({ "routes": { route: fault } })).expect("faults"));
}

/// PayPal captured, then answered an error on no documented list (422, and 400): the capture is
/// adopted and finalized. (Before: `rejected` with the money captured.)
#[tokio::test]
async fn the_sandboxs_undocumented_error_after_the_capture_is_adopted() {
    let world = World::seeded(1, 300).await;
    for (no, route, status) in [
        (plain_order(&world), ORDER_CAPTURE, 422),
        (plain_order(&world), ORDER_CAPTURE, 400),
        (world.plain_authorization(), AUTH_CAPTURE, 422),
    ] {
        let f = fixture(&world, no).await;
        faults(&f.sb, route, json!({ "error_after_commit_rate": 1, "error_after_commit_status": status }));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{route} {status}: {r:?}");
        assert!(r.detail.is_none(), "{r:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}

/// PayPal requests the sandbox holds in progress, as `{"keys": [...]}`.
async fn in_progress(sb: &Sandbox) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{}/__sandbox/in-progress", sb.base_url()))
        .await
        .expect("in-progress")
        .json()
        .await
        .expect("json");
    v["keys"].as_array().cloned().unwrap_or_default()
}

/// The first capture request is still in progress at PayPal when the client's retry (same
/// request id) arrives: the sandbox answers 409 `PREVIOUS_REQUEST_IN_PROGRESS`. Nothing is
/// captured yet, so the attempt waits (never `rejected`); once the first request acted, the next
/// run sends the same request id and PayPal answers with that capture: finalized, captured once.
#[tokio::test]
async fn a_409_from_the_sandbox_while_the_first_request_works_waits_and_finalizes_once() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        faults(&f.sb, route, json!({ "in_progress_ms": 600_000 }));
        // the first request times out at the client while PayPal still works on it
        f.pp.on(route, Some(1), Act::ForwardDetachedThenDrop);
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{route}: {r:?}");
        assert!(r.detail.as_deref().is_some_and(|d| d.contains("PREVIOUS_REQUEST_IN_PROGRESS")), "{r:?}");
        assert_eq!(in_progress(&f.sb).await.len(), 1, "the first request is still in progress");
        assert_eq!(ledger(&f.sb).await["paypal_captures"], json!([]));

        let released = reqwest::Client::new()
            .post(format!("{}/__sandbox/in-progress/release", f.sb.base_url()))
            .send()
            .await
            .expect("release");
        assert!(released.status().is_success());
        // bounded: the released request acts at once
        for _ in 0..200 {
            if in_progress(&f.sb).await.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert!(in_progress(&f.sb).await.is_empty());
        f.sb.set_faults(Default::default());
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Finalized, "{route}: {done:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        let keys: Vec<_> = f.pp.seen(route).into_iter().map(|s| s.request_id).collect();
        assert!(keys.len() >= 3 && keys.iter().all(|k| k == &keys[0]), "one request id throughout: {keys:?}");
        f.d.close().await;
    }
}

/// PayPal answers the order capture in its minimal shape (id, status, links: no purchase units,
/// so no capture): the order is read and its capture taken, at once. (Before: the attempt
/// waited, "answered without a capture".)
#[tokio::test]
async fn a_minimal_capture_answer_is_read_at_paypal_and_finalized_at_once() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        faults(&f.sb, route, json!({ "minimal_answer_rate": 1 }));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::Finalized, true), "{route}: {r:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        assert_eq!(f.pp.seen(route).len(), 1, "sent once");
        f.d.close().await;
    }
}
