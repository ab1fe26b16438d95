//! A PayPal decline that may answer a replay: the same `PayPal-Request-Id` was sent before (the
//! client's own retry within one call, or an earlier run's send that was never answered), and
//! that earlier request may still be capturing at PayPal. A decline of a capturable order or
//! authorization that lists no capture of ours then waits (the attempt stays
//! `paypal_capture_sent`, its reason `request_in_flight`) until no earlier send can land; only
//! then is it `rejected` (or captured, when a later send captures). A clean decline of a request
//! sent once, with nothing sent before, is rejected at once.
//!
//! The desk talks to the real sandbox through the HTTP-level double (`paypal_double.rs`), which
//! answers what the sandbox cannot: a 503 that PayPal never acted on, a decline.

use crate::capture_paths::{assert_nothing_moved, World};
use crate::paypal_double::{paypal_error, Act};
use crate::unknown_outcomes::{assert_captured_and_finalized_once, fixture, plain_order, Fixture};
use billing::capture::{waits_out_a_send, CaptureResult, State};

const ORDER_CAPTURE: &str = "POST /v2/checkout/orders/{id}/capture";
const AUTH_CAPTURE: &str = "POST /v2/payments/authorizations/{id}/capture";

/// The decline PayPal documents for `route` that proves nothing was captured by the try it
/// answers (`paypal::refusal_proof`: `NothingCaptured`).
fn decline(route: &str) -> Act {
    let issue = if route == ORDER_CAPTURE { "INSTRUMENT_DECLINED" } else { "TRANSACTION_REFUSED" };
    Act::Answer(422, paypal_error("UNPROCESSABLE_ENTITY", Some(issue)))
}

/// A 503 of something in front of PayPal: PayPal never saw the request.
fn unavailable() -> Act {
    Act::Answer(503, paypal_error("SERVICE_UNAVAILABLE", None))
}

/// The request ids of every capture POST the double saw.
fn posts(f: &Fixture, route: &str) -> Vec<Option<String>> {
    f.pp.seen(route).into_iter().map(|s| s.request_id).collect()
}

/// The attempt waits out an earlier send: not finished, still `paypal_capture_sent`, its reason
/// the in-flight one (which the app and batch runs drive again once the window has passed),
/// nothing concluded.
fn assert_waits_for_an_earlier_send(r: &CaptureResult, what: &str) {
    assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{what}: {r:?}");
    assert!(waits_out_a_send(r), "{what}: waits out a send: {r:?}");
    assert!(r.detail.as_deref().is_some_and(|d| d.contains("may still be captured at PayPal")), "{what}: {r:?}");
    assert_eq!(r.capture_id, None, "{what}");
}

/// Every journaled send of `no`'s attempt (the latest and any earlier one kept) is moved back by
/// a day, as if that much time had gone by: none of them can land any more.
async fn a_day_passes(f: &Fixture, no: i64) {
    let day = 24 * 3600 * 1000;
    let moved = sqlx::query(
        "UPDATE capture_journal SET sent_at = sent_at - ?, sent_open_until = sent_open_until - ? \
         WHERE invoice_no = ? AND sent_at IS NOT NULL",
    )
    .bind(day)
    .bind(day)
    .bind(no)
    .execute(f.d.pool())
    .await
    .expect("sent_at")
    .rows_affected();
    assert_eq!(moved, 1, "a journaled send");
}

/// (i) The client's own retry: the first capture POST is answered 503 by something in front of
/// PayPal (PayPal never acted; but the desk cannot know that), the retry with the same request
/// id is declined. The order (approved) or authorization (created) lists no capture: the first
/// request may still be capturing, so the attempt waits, nothing captured. Once no send can
/// land any more (the journaled sends moved back a day), the next run sends the same request
/// again: declined again on its only try, it ends `rejected`, nothing moved. (Before: the
/// decline of the retry was read at PayPal, which listed nothing yet, and the attempt ended
/// `rejected` at once while the first request could still capture.)
#[tokio::test]
async fn a_decline_of_the_clients_retry_waits_while_the_first_try_may_land_then_rejects() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), unavailable());
        f.pp.on(route, Some(1), decline(route));
        let r = f.d.capture(no).await.expect("a result");
        assert_waits_for_an_earlier_send(&r, route);
        assert_nothing_moved(&f.sb, no, &f.before).await;
        let sent = posts(&f, route);
        assert!(sent.len() == 2 && sent[0] == sent[1] && sent[0].is_some(), "retried with one request id: {sent:?}");
        // a run within the window sends the same request again: declined, it waits again
        f.pp.on(route, Some(1), decline(route));
        let again = f.d.recover().await.expect("recover").remove(0);
        assert_waits_for_an_earlier_send(&again, route);
        assert_nothing_moved(&f.sb, no, &f.before).await;

        a_day_passes(&f, no).await;
        f.pp.on(route, Some(1), decline(route));
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!((done.state, done.capture_id.as_deref()), (State::Rejected, None), "{route}: {done:?}");
        assert!(done.message.starts_with("Not captured: PayPal refused the capture: "), "{}", done.message);
        assert_nothing_moved(&f.sb, no, &f.before).await;
        let sent = posts(&f, route);
        assert!(sent.len() == 4 && sent.iter().all(|p| p == &sent[0]), "one request id throughout: {sent:?}");
        f.d.close().await;
    }
}

/// (ii) A resume: an earlier run journaled the capture as sent 5 s ago and never had its answer
/// (killed, timed out). This run sends the same request id and is declined on its only try;
/// PayPal lists no capture of the order or authorization, which is still capturable. The
/// earlier request may still capture: the attempt waits, nothing captured. Once it cannot land
/// any more, the next run sends the same request again, which PayPal captures (once), and the
/// invoice is finalized. (Before: `rejected` at once, "nothing moved", while the first request
/// could still capture.)
#[tokio::test]
async fn a_decline_after_an_unanswered_send_of_an_earlier_run_waits_then_the_same_request_captures() {
    use crate::capture_paths::StopOnce;
    use billing::capture::Step;
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.d.capture_with(no, &StopOnce::new(Step::Capture, false)).await.expect_err("stopped before the capture");
        // the earlier run's send, 5 s ago, never answered
        let five_s_ago = chrono::Utc::now().timestamp_millis() - 5_000;
        let journaled = sqlx::query(
            "UPDATE capture_journal SET sent_at = ?, sent_answered = 0 WHERE invoice_no = ? AND state = 'paypal_capture_sent'",
        )
        .bind(five_s_ago)
        .bind(no)
        .execute(f.d.pool())
        .await
        .expect("sent_at")
        .rows_affected();
        assert_eq!(journaled, 1, "an attempt left paypal_capture_sent");
        f.pp.on(route, Some(1), decline(route));
        let r = f.d.recover().await.expect("recover").remove(0);
        assert_waits_for_an_earlier_send(&r, route);
        assert_nothing_moved(&f.sb, no, &f.before).await;
        assert_eq!(posts(&f, route).len(), 1, "sent once by this run");

        a_day_passes(&f, no).await;
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Finalized, "{route}: {done:?}");
        let id = assert_captured_and_finalized_once(&f.sb, no).await;
        assert_eq!(done.capture_id.as_deref(), Some(id.as_str()));
        let sent = posts(&f, route);
        assert!(sent.len() == 2 && sent[0] == sent[1], "the same request id both times: {sent:?}");
        f.d.close().await;
    }
}

/// The client's retry is refused because the authorization expired (PayPal's schema has no
/// EXPIRED status: the authorization still reads CREATED) or was voided or denied: it is over
/// for good, no request can capture it any more, an earlier send included, so with no capture
/// of ours listed the attempt is `rejected` at once, nothing moved; not left waiting for a send
/// that can no longer land. (A decline, by contrast, waits: above.)
#[tokio::test]
async fn an_authorization_over_for_good_is_rejected_after_a_retry_without_waiting() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    for issue in ["AUTHORIZATION_EXPIRED", "AUTHORIZATION_VOIDED", "AUTHORIZATION_DENIED"] {
        let f = fixture(&world, no).await;
        f.pp.on(AUTH_CAPTURE, Some(1), unavailable());
        f.pp.on(AUTH_CAPTURE, Some(1), Act::Answer(422, paypal_error("UNPROCESSABLE_ENTITY", Some(issue))));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.capture_id.as_deref()), (State::Rejected, None), "{issue}: {r:?}");
        assert!(r.detail.as_deref().is_some_and(|d| d.contains(issue)), "{issue}: {r:?}");
        assert_eq!(f.pp.seen("GET /v2/checkout/orders/{id}").len(), 1, "{issue}: the order read for our capture");
        assert_nothing_moved(&f.sb, no, &f.before).await;
        assert_eq!(posts(&f, AUTH_CAPTURE).len(), 2, "{issue}: retried once");
        f.d.close().await;
    }
}

/// (iii) Nothing sent before: a decline answered on the request's only try proves nothing was
/// captured and the attempt is `rejected` at once, nothing moved, sent once. (Also
/// `unknown_outcomes::documented_refusals_reject_with_nothing_moved_and_only_those`, with the
/// sandbox's negative-testing answers.)
#[tokio::test]
async fn a_clean_decline_with_nothing_sent_before_is_rejected_at_once() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), decline(route));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished, r.capture_id.as_deref()), (State::Rejected, true, None), "{route}: {r:?}");
        assert!(!waits_out_a_send(&r));
        assert_nothing_moved(&f.sb, no, &f.before).await;
        assert_eq!(posts(&f, route).len(), 1, "sent once");
        f.d.close().await;
    }
}

/// A call whose every try PayPal itself turned away unprocessed (its `RATE_LIMIT_REACHED`,
/// with its `debug_id`) sent nothing that can land: its send is answered. The attempt waits (the
/// order or authorization is still capturable), and the next run's clean decline, answered on
/// its only try, is `rejected` at once. (Before: the turned-away call's send stayed open and was
/// kept as an earlier send that may still land, and the decline waited out ~9 minutes.)
#[tokio::test]
async fn a_call_turned_away_by_paypals_rate_limit_leaves_no_send_open_and_a_decline_then_rejects() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        let limited = paypal_error("RATE_LIMIT_REACHED", Some("RATE_LIMIT_REACHED"));
        f.pp.on(route, Some(paypal::ClientOptions::default().attempts as usize), Act::Answer(429, limited));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{route}: {r:?}");
        f.pp.on(route, Some(1), decline(route));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished, r.capture_id.as_deref()), (State::Rejected, true, None), "{route}: {r:?}");
        assert_nothing_moved(&f.sb, no, &f.before).await;
        f.d.close().await;
    }
}

/// The id of the declined capture the double lists and answers (PayPal never made it).
const DECLINED_ID: &str = "9DECLINED0000001";

/// A declined capture as PayPal reads it (`GET /v2/payments/captures/{id}`), naming no relation:
/// it is ours because the order lists it ([`lists_a_declined_capture`]).
fn declined_capture() -> serde_json::Value {
    serde_json::json!({ "id": DECLINED_ID, "status": "DECLINED", "status_details": { "reason": "DECLINED_BY_RISK_FRAUD_FILTERS" } })
}

/// The order lists a declined capture of ours (its `up` link names the order's authorization,
/// or the order), as after a capture PayPal declined.
fn lists_a_declined_capture(order: &mut serde_json::Value) {
    let order_id = order["id"].as_str().unwrap_or_default().to_owned();
    let unit = &mut order["purchase_units"][0];
    let up = match unit["payments"]["authorizations"][0]["id"].as_str() {
        Some(a) => format!("https://api-m.sandbox.paypal.com/v2/payments/authorizations/{a}"),
        None => format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{order_id}"),
    };
    let mut capture = declined_capture();
    capture["links"] = serde_json::json!([{ "href": up, "rel": "up", "method": "GET" }]);
    match unit["payments"]["captures"].as_array_mut() {
        Some(captures) => captures.push(capture),
        None => unit["payments"]["captures"] = serde_json::json!([capture]),
    }
}

/// Issue 9, finding 1: the client's retry is declined and the order lists a DECLINED capture of
/// ours (the order still approved, the authorization still created). That capture may be the
/// answer to either try while the other may still capture: the attempt waits, nothing concluded.
/// Once no send can land, the same request declined again ends `rejected` (the declined capture
/// adopted and verified as declined), nothing moved. (Before: the declined capture was adopted at
/// once and the attempt `rejected` while the first try could still capture.)
#[tokio::test]
async fn a_declined_capture_listed_while_an_earlier_try_may_land_waits_then_rejects() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.pp.on("GET /v2/checkout/orders/{id}", None, Act::Rewrite(lists_a_declined_capture));
        f.pp.on("GET /v2/payments/captures/{id}", None, Act::Answer(200, declined_capture()));
        f.pp.on(route, Some(1), unavailable());
        f.pp.on(route, Some(1), decline(route));
        let r = f.d.capture(no).await.expect("a result");
        assert_waits_for_an_earlier_send(&r, route);
        assert_nothing_moved(&f.sb, no, &f.before).await;

        a_day_passes(&f, no).await;
        f.pp.on(route, Some(1), decline(route));
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Rejected, "{route}: {done:?}");
        assert!(done.message.contains("declined"), "{route}: {}", done.message);
        assert_nothing_moved(&f.sb, no, &f.before).await;
        assert_eq!(posts(&f, route).len(), 3, "{route}: one request id, sent three times");
        f.d.close().await;
    }
}

/// Issue 9, finding 1 (the 201): the client's retry is answered with a DECLINED capture (an
/// order-capture answer listing it, or the authorization capture itself). It may answer a replay
/// while the first try may still capture: the attempt waits, not moved on to verification (which
/// would reject it). Once no send can land, the same request answered declined again on its only
/// try ends `rejected` as before, nothing moved. (Before: `rejected` at once.)
#[tokio::test]
async fn a_capture_answered_declined_after_a_retry_waits_then_rejects() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        let answer = if route == ORDER_CAPTURE {
            serde_json::json!({ "status": "APPROVED", "purchase_units": [{ "payments": { "captures": [declined_capture()] } }] })
        } else {
            declined_capture()
        };
        f.pp.on("GET /v2/checkout/orders/{id}", None, Act::Rewrite(lists_a_declined_capture));
        f.pp.on("GET /v2/payments/captures/{id}", None, Act::Answer(200, declined_capture()));
        f.pp.on(route, Some(1), unavailable());
        f.pp.on(route, Some(1), Act::Answer(201, answer.clone()));
        let r = f.d.capture(no).await.expect("a result");
        assert_waits_for_an_earlier_send(&r, route);
        assert_nothing_moved(&f.sb, no, &f.before).await;

        a_day_passes(&f, no).await;
        f.pp.on(route, Some(1), Act::Answer(201, answer));
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Rejected, "{route}: {done:?}");
        assert!(done.message.contains("declined"), "{route}: {}", done.message);
        assert_nothing_moved(&f.sb, no, &f.before).await;
        assert_eq!(posts(&f, route).len(), 3, "{route}: one request id, sent three times");
        f.d.close().await;
    }
}
