//! After a capture was sent, an unknown outcome is never read as "nothing moved": only a
//! documented refusal that proves nothing was captured ends the attempt `rejected`; anything
//! else reads the order or authorization and decides from what PayPal holds. And one invoice is
//! sent once, however many runs of it one process starts.
//!
//! The desk talks to the real sandbox; where the sandbox alone cannot produce an answer (an
//! error after PayPal acted), the HTTP-level double in `paypal_double.rs` stands between them.

use crate::capture_paths::{gateway_invoice, ledger, StopOnce, World};
use crate::common::{desk_at, no_progress};
use crate::paypal_double::{paypal_error, Act, PaypalDouble};
use billing::capture::{State, Step};
use billing::{Desk, ErrorCode};
use sandbox::Sandbox;
use serde_json::{json, Value};

const ORDER_CAPTURE: &str = "POST /v2/checkout/orders/{id}/capture";
const AUTH_CAPTURE: &str = "POST /v2/payments/authorizations/{id}/capture";

/// A sandbox on the seeded world, the PayPal double in front of it, a synced desk on both.
pub(crate) struct Fixture {
    pub sb: Sandbox,
    pub pp: PaypalDouble,
    pub d: Desk,
    pub dir: tempfile::TempDir,
    pub before: Value,
}

pub(crate) async fn fixture(world: &World, no: i64) -> Fixture {
    let sb = world.start().await;
    let pp = PaypalDouble::start(sb.base_url()).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = desk_at(&sb.base_url(), &pp.url, dir.path(), "demo-client-secret").await;
    d.sync(false, &no_progress()).await.expect("sync");
    let before = gateway_invoice(&sb, no).await;
    Fixture { sb, pp, d, dir, before }
}

fn has_wallet(w: &World, no: i64) -> bool {
    let customer = w.invoice(no)["customer_id"].as_str().unwrap_or_default().to_owned();
    !w.json["customers"][customer]["wallet"].is_null()
}

/// An approved order (capturable, completes) of a customer without a wallet.
pub(crate) fn plain_order(w: &World) -> i64 {
    w.find("an approved order of a customer without a wallet", |w, no| {
        w.is_order(no, "APPROVED", "Completed") && !has_wallet(w, no)
    })
}

/// One PayPal capture of `no`'s PayPal part, finalized once at the gateway with that capture.
pub(crate) async fn assert_captured_and_finalized_once(sb: &Sandbox, no: i64) -> String {
    let l = ledger(sb).await;
    let captures = l["paypal_captures"].as_array().expect("captures");
    assert_eq!(captures.len(), 1, "one capture: {l}");
    let id = captures[0]["id"].as_str().expect("capture id").to_owned();
    let fin = l["gateway_finalizations"].as_array().expect("finalizations");
    assert_eq!(fin.len(), 1, "one finalization: {l}");
    assert_eq!((fin[0]["invoiceNo"].as_i64(), fin[0]["paymentId"].as_str()), (Some(no), Some(id.as_str())));
    id
}

/// The capture was sent once more than `n` times? Counted by the double, per request id.
fn capture_posts(pp: &PaypalDouble, route: &str) -> Vec<Option<String>> {
    pp.seen(route).into_iter().map(|s| s.request_id).collect()
}

/// The first answer is lost after PayPal captured; the client's retry (same request id) meets
/// `409 PREVIOUS_REQUEST_IN_PROGRESS`. The capture happened: it is adopted and finalized, never
/// `rejected`. (Before: the 409 was "a refusal", the attempt ended rejected with money captured.)
#[tokio::test]
async fn a_409_on_the_retry_is_read_at_paypal_and_adopted() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), Act::ForwardThenDrop);
        f.pp.on(route, None, Act::Answer(409, paypal_error("RESOURCE_CONFLICT", Some("PREVIOUS_REQUEST_IN_PROGRESS"))));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{route}: {r:?}");
        let id = assert_captured_and_finalized_once(&f.sb, no).await;
        assert_eq!(r.capture_id.as_deref(), Some(id.as_str()));
        let posts = capture_posts(&f.pp, route);
        assert!(posts.len() >= 2 && posts.iter().all(|p| p == &posts[0]), "retried with one request id: {posts:?}");
        f.d.close().await;
    }
}

/// PayPal captured, then answered an error it does not document for the call (or one that does
/// not prove anything): the order or authorization is read, the capture adopted and finalized.
#[tokio::test]
async fn an_unlisted_error_after_the_capture_happened_is_adopted() {
    let world = World::seeded(1, 300).await;
    let cases = [
        (plain_order(&world), ORDER_CAPTURE, 422, paypal_error("UNPROCESSABLE_ENTITY", Some("CAPTURE_IN_FLIGHT"))),
        (plain_order(&world), ORDER_CAPTURE, 400, paypal_error("INVALID_REQUEST", None)),
        (plain_order(&world), ORDER_CAPTURE, 422, paypal_error("UNPROCESSABLE_ENTITY", Some("DUPLICATE_INVOICE_ID"))),
        (world.plain_authorization(), AUTH_CAPTURE, 422, paypal_error("UNPROCESSABLE_ENTITY", None)),
        (
            world.plain_authorization(),
            AUTH_CAPTURE,
            422,
            paypal_error("UNPROCESSABLE_ENTITY", Some("MAX_CAPTURE_COUNT_EXCEEDED")),
        ),
    ];
    for (no, route, status, body) in cases {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), Act::ForwardThenAnswer(status, body.clone()));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{route} {status} {body}: {r:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        assert_eq!(capture_posts(&f.pp, route).len(), 1, "sent once");
        f.d.close().await;
    }
}

/// The same errors when nothing was captured: PayPal still holds an approved order or an open
/// authorization, so the attempt waits (it is not `rejected`); its next run sends the same
/// request id again and captures once.
#[tokio::test]
async fn an_unlisted_error_with_nothing_captured_waits_and_the_same_request_captures_later() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.pp.on(
            route,
            Some(1),
            Act::Answer(409, paypal_error("RESOURCE_CONFLICT", Some("PREVIOUS_REQUEST_IN_PROGRESS"))),
        );
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{route}: {r:?}");
        assert!(r.detail.as_deref().is_some_and(|d| d.contains("PREVIOUS_REQUEST_IN_PROGRESS")), "{r:?}");
        assert_eq!(ledger(&f.sb).await["paypal_captures"], json!([]));
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Finalized, "{done:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        let posts = capture_posts(&f.pp, route);
        assert!(posts.len() == 2 && posts[0] == posts[1], "the same request id both times: {posts:?}");
        f.d.close().await;
    }
}

/// Each documented refusal that proves nothing was captured (the sandbox answers it, asked by
/// PayPal's negative-testing header) ends the attempt `rejected`, nothing moved. A documented
/// refusal that proves nothing (`MAX_CAPTURE_COUNT_EXCEEDED`: an earlier capture may have used
/// the authorization up) is read at PayPal first, and with nothing captured the attempt waits.
/// (`403` and `404` prove nothing either: `paypal_outcomes.rs`.)
#[tokio::test]
async fn documented_refusals_reject_with_nothing_moved_and_only_those() {
    let world = World::seeded(1, 300).await;
    let refusals = [
        (plain_order(&world), ORDER_CAPTURE, "ORDER_NOT_APPROVED"),
        (plain_order(&world), ORDER_CAPTURE, "INSTRUMENT_DECLINED"),
        (plain_order(&world), ORDER_CAPTURE, "MALFORMED_REQUEST_JSON"),
        (world.plain_authorization(), AUTH_CAPTURE, "AUTHORIZATION_VOIDED"),
        (world.plain_authorization(), AUTH_CAPTURE, "AUTHORIZATION_EXPIRED"),
        (world.plain_authorization(), AUTH_CAPTURE, "AUTHORIZATION_DENIED"),
        (world.plain_authorization(), AUTH_CAPTURE, "AUTH_CAPTURE_CURRENCY_MISMATCH"),
    ];
    for (no, route, issue) in refusals {
        let f = fixture(&world, no).await;
        f.pp.on(
            route,
            None,
            Act::WithHeader("paypal-mock-response", json!({ "mock_application_codes": issue }).to_string()),
        );
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.capture_id.as_deref()), (State::Rejected, None), "{issue}: {r:?}");
        assert!(r.message.starts_with("Not captured: PayPal refused the capture: "), "{issue}: {}", r.message);
        assert!(r.detail.as_deref().is_some_and(|d| d.contains(issue)), "{issue}: {r:?}");
        crate::capture_paths::assert_nothing_moved(&f.sb, no, &f.before).await;
        f.d.close().await;
    }
    let no = world.plain_authorization();
    let f = fixture(&world, no).await;
    let mock = json!({ "mock_application_codes": "MAX_CAPTURE_COUNT_EXCEEDED" }).to_string();
    f.pp.on(AUTH_CAPTURE, Some(1), Act::WithHeader("paypal-mock-response", mock));
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{r:?}");
    assert_eq!(f.pp.seen("GET /v2/payments/authorizations/{id}").len(), 2, "read at approval and after the refusal");
    assert_eq!(f.d.recover().await.expect("recover").remove(0).state, State::Finalized);
    assert_captured_and_finalized_once(&f.sb, no).await;
    f.d.close().await;
}

/// Requests the sandbox received for `target` (exact `METHOD /path`).
async fn sandbox_count(sb: &Sandbox, target: &str) -> u64 {
    let v: Value =
        reqwest::get(format!("{}/__sandbox/stats", sb.base_url())).await.expect("stats").json().await.expect("json");
    v["by_route"][target].as_u64().unwrap_or(0)
}

fn slow_captures(sb: &Sandbox) {
    let faults = json!({ "routes": {
        ORDER_CAPTURE: { "latency_ms": 300 },
        AUTH_CAPTURE: { "latency_ms": 300 },
    }});
    sb.set_faults(serde_json::from_value(faults).expect("faults"));
}

/// The app's recovery at start and a click on the same invoice, at once, in one process: the
/// capture is sent once (counted at the sandbox), and both are told the one outcome. (Before:
/// both sent it, and one of them failed on the journal's stale-row refusal.)
#[tokio::test]
async fn two_runs_of_one_attempt_in_one_process_send_once() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let f = fixture(&world, no).await;
    let e = f.d.capture_with(no, &StopOnce::new(Step::Capture, false)).await.expect_err("stopped before the capture");
    assert_eq!(e.code, ErrorCode::Internal);
    assert_eq!(f.d.journal(Some(no), 1).await.expect("journal")[0].state(), State::PaypalCaptureSent);
    let target = format!("POST /v2/checkout/orders/{}/capture", world.order_id(no));
    slow_captures(&f.sb);
    let (recovered, clicked) = tokio::join!(f.d.recover(), f.d.capture(no));
    let recovered = recovered.expect("recovery").remove(0);
    let clicked = clicked.expect("the click");
    assert_eq!((recovered.state, clicked.state), (State::Finalized, State::Finalized), "{recovered:?} {clicked:?}");
    assert_eq!(recovered.capture_id, clicked.capture_id);
    assert_eq!(sandbox_count(&f.sb, &target).await, 1, "one capture request");
    assert_captured_and_finalized_once(&f.sb, no).await;
    f.d.close().await;
}

/// The app and `desk` side by side: two desks on one data directory capture the same invoice at
/// once. One attempt is journaled, the capture is sent once, the invoice finalized once.
#[tokio::test]
async fn two_desks_on_one_data_directory_send_once() {
    let world = World::seeded(1, 300).await;
    for no in [plain_order(&world), world.plain_authorization()] {
        let f = fixture(&world, no).await;
        let other = desk_at(&f.sb.base_url(), &f.pp.url, f.dir.path(), "demo-client-secret").await;
        slow_captures(&f.sb);
        let (a, b) = tokio::join!(f.d.capture(no), other.capture(no));
        let outcomes: Vec<_> = [a, b].into_iter().map(|r| r.map(|r| r.state).map_err(|e| e.code)).collect();
        assert!(outcomes.contains(&Ok(State::Finalized)), "{outcomes:?}");
        assert!(outcomes.iter().all(|o| matches!(o, Ok(State::Finalized) | Err(ErrorCode::Conflict))), "{outcomes:?}");
        assert_eq!(f.d.journal(Some(no), 10).await.expect("journal").len(), 1, "one attempt");
        let route = if world.is_authorization(no, "CREATED", "Completed") { AUTH_CAPTURE } else { ORDER_CAPTURE };
        assert_eq!(capture_posts(&f.pp, route).len(), 1, "one capture request");
        assert_captured_and_finalized_once(&f.sb, no).await;
        other.close().await;
        f.d.close().await;
    }
}

/// A decline answered to a request that may have been sent before proves nothing by itself:
/// PayPal captured the first try, its answer was lost, and the retry with the same request id
/// (the client's own, within one send; or a resume of the `paypal_capture_sent` entry) is
/// answered with a documented decline. The order or authorization is read, the capture adopted
/// and finalized once. (Before: the decline was "nothing captured", the attempt ended `rejected`
/// with the money at PayPal and the gateway never told.)
#[tokio::test]
async fn a_decline_answered_to_a_retry_is_read_at_paypal_and_the_capture_adopted() {
    let world = World::seeded(1, 300).await;
    let declines = [
        (plain_order(&world), ORDER_CAPTURE, "TRANSACTION_REFUSED"),
        (plain_order(&world), ORDER_CAPTURE, "DECLINED_DUE_TO_RELATED_TXN"),
        (world.plain_authorization(), AUTH_CAPTURE, "TRANSACTION_REFUSED"),
    ];
    for (no, route, issue) in declines {
        let decline = paypal_error("UNPROCESSABLE_ENTITY", Some(issue));
        // within one send: the first try captured and its answer was cut; the client's retry
        // (same request id) is declined
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), Act::ForwardThenDrop);
        f.pp.on(route, Some(1), Act::Answer(422, decline.clone()));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{route} {issue} (retry): {r:?}");
        let id = assert_captured_and_finalized_once(&f.sb, no).await;
        assert_eq!(r.capture_id.as_deref(), Some(id.as_str()));
        let posts = capture_posts(&f.pp, route);
        assert!(posts.len() == 2 && posts[0] == posts[1], "retried once with one request id: {posts:?}");
        f.d.close().await;

        // a resume: the process stopped after PayPal captured (the answer never read); the
        // replay of the same request id is declined
        let f = fixture(&world, no).await;
        f.d.capture_with(no, &StopOnce::new(Step::Capture, true)).await.expect_err("stopped after the capture");
        assert_eq!(f.d.journal(Some(no), 1).await.expect("journal")[0].state(), State::PaypalCaptureSent);
        f.pp.on(route, Some(1), Act::Answer(422, decline));
        let r = f.d.recover().await.expect("recover").remove(0);
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{route} {issue} (resume): {r:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}
