//! The PayPal side of the capture engine after a capture was sent: it never concludes "nothing
//! moved" from an answer that does not prove it, and never picks the wrong capture.
//!
//! * Among a live and a declined capture of our order, the live one is adopted, in whatever
//!   order PayPal lists them (a declined one adopted was verified as declined and the attempt
//!   rejected while PayPal held our money).
//! * `403` and `404` to the capture say who asks, not what was captured: read at PayPal.
//! * A refusal of the state now (order not approved, authorization voided, expired, denied)
//!   ends the attempt `rejected` only once the order lists no capture of ours.
//! * An authorization that reads voided or denied after an unknown outcome: our capture is
//!   looked for on the order before anything is rejected.
//! * An approved order listing only a declined capture: our request may still be capturing,
//!   so the attempt waits.
//!
//! The desk talks to the real sandbox through the HTTP-level double (`paypal_double.rs`),
//! which only changes what the sandbox cannot say: an error after PayPal acted, the order the
//! captures are listed in, an authorization's status.

use crate::capture_paths::{assert_nothing_moved, ledger, World};
use crate::paypal_double::{paypal_error, Act};
use crate::unknown_outcomes::{assert_captured_and_finalized_once, fixture, plain_order, Fixture};
use billing::capture::State;
use serde_json::{json, Value};

const ORDER_CAPTURE: &str = "POST /v2/checkout/orders/{id}/capture";
const AUTH_CAPTURE: &str = "POST /v2/payments/authorizations/{id}/capture";
const GET_ORDER: &str = "GET /v2/checkout/orders/{id}";
const GET_AUTH: &str = "GET /v2/payments/authorizations/{id}";

/// The id of the declined capture [`with_declined_capture`] puts on an order.
const DECLINED: &str = "DECLINED0CAPTURE1";

/// Gives `no`'s order (intent CAPTURE, still approved) a DECLINED capture of its whole amount,
/// for its invoice: an earlier capture PayPal declined. The order stays capturable.
fn with_declined_capture(world: &mut World, no: i64) {
    let order_id = world.order_id(no);
    let order = world.json["orders"][&order_id].clone();
    world.json["captures"][DECLINED] = json!({
        "id": DECLINED,
        "order_id": order_id,
        "authorization_id": null,
        "status": "DECLINED",
        "reason": null,
        "currency": order["currency"],
        "value": order["value"],
        "fee": "0",
        "final_capture": true,
        "invoice_id": order["invoice_id"],
        "create_time": order["update_time"],
        "update_time": order["update_time"],
        "completes_at": null,
        "refunded": "0",
        "refund_ids": [],
    });
    world.json["orders"][&order_id]["capture_ids"] = json!([DECLINED]);
}

/// The order's captures listed newest first (PayPal documents no order for the list).
fn captures_reversed(order: &mut Value) {
    for unit in order["purchase_units"].as_array_mut().into_iter().flatten() {
        if let Some(captures) = unit["payments"]["captures"].as_array_mut() {
            captures.reverse();
        }
    }
}

fn unchanged(_: &mut Value) {}

fn voided(auth: &mut Value) {
    auth["status"] = json!("VOIDED");
}

fn denied(auth: &mut Value) {
    auth["status"] = json!("DENIED");
}

fn request_ids(f: &Fixture, route: &str) -> Vec<Option<String>> {
    f.pp.seen(route).into_iter().map(|s| s.request_id).collect()
}

/// PayPal captured (its answer lost to an error that proves nothing); the order lists our
/// COMPLETED capture and an earlier DECLINED one for the same amount and invoice, the declined
/// one last. Ours is adopted and finalized. (Before: the last exact one was adopted, whatever
/// its status: verified as declined, the attempt ended `rejected` with our money at PayPal.)
#[tokio::test]
async fn a_live_capture_is_adopted_before_a_declined_one_listed_after_it() {
    let mut world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    with_declined_capture(&mut world, no);
    let f = fixture(&world, no).await;
    f.pp.on(GET_ORDER, None, Act::Rewrite(captures_reversed));
    f.pp.on(
        ORDER_CAPTURE,
        Some(1),
        Act::ForwardThenAnswer(422, paypal_error("UNPROCESSABLE_ENTITY", Some("CAPTURE_IN_FLIGHT"))),
    );
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.adopted), (State::Finalized, true), "{r:?}");
    let id = assert_captured_and_finalized_once(&f.sb, no).await;
    assert_eq!(r.capture_id.as_deref(), Some(id.as_str()));
    assert_ne!(id, DECLINED);
    assert_eq!(request_ids(&f, ORDER_CAPTURE).len(), 1, "sent once");
    f.d.close().await;
}

/// An approved order that lists only a declined capture, and an answer that proves nothing:
/// our request may still be capturing, so the attempt waits (it is not `rejected` on the
/// declined capture), and its next run sends the same request id and captures once. (Before:
/// the declined capture was adopted and the attempt rejected while its request's outcome was
/// unknown.)
#[tokio::test]
async fn an_approved_order_listing_only_a_declined_capture_waits() {
    let mut world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    with_declined_capture(&mut world, no);
    let f = fixture(&world, no).await;
    f.pp.on(ORDER_CAPTURE, Some(1), Act::Answer(422, paypal_error("UNPROCESSABLE_ENTITY", None)));
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{r:?}");
    assert_eq!(ledger(&f.sb).await["paypal_captures"], json!([]));
    let done = f.d.recover().await.expect("recover").remove(0);
    assert_eq!(done.state, State::Finalized, "{done:?}");
    let id = assert_captured_and_finalized_once(&f.sb, no).await;
    assert_eq!(done.capture_id.as_deref(), Some(id.as_str()));
    let posts = request_ids(&f, ORDER_CAPTURE);
    assert!(posts.len() == 2 && posts[0] == posts[1], "the same request id both times: {posts:?}");
    f.d.close().await;
}

/// PayPal captured, then answered `403` or `404` (as when the retry goes out under other
/// credentials): who asks, not what was captured. The order or authorization is read, the
/// capture adopted and finalized. (Before: `rejected`, "nothing moved", with the money at PayPal.)
#[tokio::test]
async fn a_403_or_404_after_the_capture_happened_is_read_at_paypal_and_adopted() {
    let world = World::seeded(1, 300).await;
    let answers = [
        (403, paypal_error("PERMISSION_DENIED", Some("PERMISSION_DENIED"))),
        (404, paypal_error("RESOURCE_NOT_FOUND", Some("INVALID_RESOURCE_ID"))),
    ];
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        for (status, body) in &answers {
            let f = fixture(&world, no).await;
            f.pp.on(route, Some(1), Act::ForwardThenAnswer(*status, body.clone()));
            let r = f.d.capture(no).await.expect("a result");
            assert_eq!((r.state, r.adopted), (State::Finalized, true), "{route} {status}: {r:?}");
            assert_captured_and_finalized_once(&f.sb, no).await;
            assert_eq!(request_ids(&f, route).len(), 1, "sent once");
            f.d.close().await;
        }
    }
}

/// A `403` with nothing captured: PayPal still holds an approved order or an open
/// authorization, so the attempt waits; its next run sends the same request id and captures
/// once. (Before: `rejected` at once.)
#[tokio::test]
async fn a_403_with_nothing_captured_waits_and_the_same_request_captures_later() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [(plain_order(&world), ORDER_CAPTURE), (world.plain_authorization(), AUTH_CAPTURE)] {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), Act::Answer(403, paypal_error("PERMISSION_DENIED", Some("PERMISSION_DENIED"))));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{route}: {r:?}");
        assert!(r.detail.as_deref().is_some_and(|d| d.contains("PERMISSION_DENIED")), "{r:?}");
        assert_nothing_moved(&f.sb, no, &f.before).await;
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Finalized, "{route}: {done:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        let posts = request_ids(&f, route);
        assert!(posts.len() == 2 && posts[0] == posts[1], "the same request id both times: {posts:?}");
        f.d.close().await;
    }
}

/// PayPal captured, then a refusal of the state now came back (an authorization voided,
/// expired or denied since; an order "not approved"): the order lists our capture, which is
/// adopted and finalized. (Before: `rejected` at once, with the money at PayPal.)
#[tokio::test]
async fn a_refusal_of_the_state_now_after_the_capture_happened_is_adopted() {
    let world = World::seeded(1, 300).await;
    let cases = [
        (world.plain_authorization(), AUTH_CAPTURE, "AUTHORIZATION_VOIDED"),
        (world.plain_authorization(), AUTH_CAPTURE, "AUTHORIZATION_EXPIRED"),
        (world.plain_authorization(), AUTH_CAPTURE, "AUTHORIZATION_DENIED"),
        (plain_order(&world), ORDER_CAPTURE, "ORDER_NOT_APPROVED"),
    ];
    for (no, route, issue) in cases {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), Act::ForwardThenAnswer(422, paypal_error("UNPROCESSABLE_ENTITY", Some(issue))));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{issue}: {r:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        assert_eq!(request_ids(&f, route).len(), 1, "sent once");
        f.d.close().await;
    }
}

/// The outcome unknown, and the authorization then reads VOIDED or DENIED (captured, and its
/// rest voided): the order lists our capture, which is adopted and finalized. (Before:
/// `rejected`, "nothing was captured", without looking.)
#[tokio::test]
async fn a_voided_or_denied_authorization_holding_our_capture_is_adopted() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    for (status, rewrite) in [("VOIDED", voided as fn(&mut Value)), ("DENIED", denied)] {
        let f = fixture(&world, no).await;
        f.pp.on(GET_AUTH, Some(1), Act::Rewrite(unchanged)); // the approval, as PayPal has it
        f.pp.on(GET_AUTH, None, Act::Rewrite(rewrite));
        f.pp.on(AUTH_CAPTURE, Some(1), Act::ForwardThenAnswer(422, paypal_error("UNPROCESSABLE_ENTITY", None)));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{status}: {r:?}");
        assert_eq!(f.pp.seen(GET_AUTH).len(), 2, "read at approval and after the unknown outcome");
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}

/// The same with nothing captured: the order lists no capture of ours, so the authorization's
/// status decides: `rejected`, nothing moved.
#[tokio::test]
async fn a_voided_authorization_without_our_capture_is_rejected() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    let f = fixture(&world, no).await;
    f.pp.on(GET_AUTH, Some(1), Act::Rewrite(unchanged));
    f.pp.on(GET_AUTH, None, Act::Rewrite(voided));
    f.pp.on(AUTH_CAPTURE, Some(1), Act::Answer(422, paypal_error("UNPROCESSABLE_ENTITY", None)));
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.capture_id.as_deref()), (State::Rejected, None), "{r:?}");
    assert!(r.message.contains("the PayPal authorization is voided; nothing was captured"), "{}", r.message);
    assert_eq!(f.pp.seen(GET_ORDER).len(), 1, "the order read for our capture");
    assert_nothing_moved(&f.sb, no, &f.before).await;
    f.d.close().await;
}

/// Reading our own capture fails (a 403, or PayPal refusing our credentials): PayPal holds the
/// capture, so nothing is decided. The attempt stays captured (a credentials failure is told to
/// the caller as an error) and the next run finalizes it. (Before: `needs_attention`, "cannot be
/// read", and the gateway never heard of the capture.)
#[tokio::test]
async fn a_capture_that_cannot_be_read_stays_captured_and_is_finalized_later() {
    const GET_CAPTURE: &str = "GET /v2/payments/captures/{id}";
    let world = World::seeded(1, 300).await;
    // a 401 is answered to the read and to its one retry with a fresh token
    for (status, times, body) in [
        (403, 1, paypal_error("NOT_AUTHORIZED", Some("PERMISSION_DENIED"))),
        (401, 2, json!({ "error": "invalid_token", "error_description": "Token signature verification failed" })),
    ] {
        let no = plain_order(&world);
        let f = fixture(&world, no).await;
        f.pp.on(GET_CAPTURE, Some(times), Act::Answer(status, body.clone()));
        let state = match f.d.capture(no).await {
            Ok(r) => {
                assert!(!r.finished, "{status}: {r:?}");
                r.state
            }
            Err(e) => {
                assert_eq!(status, 401, "only a credentials failure is an error: {e:?}");
                f.d.journal(Some(no), 10).await.expect("journal")[0].state()
            }
        };
        assert_eq!(state, State::PaypalCaptured, "{status}");
        let l = ledger(&f.sb).await;
        assert_eq!(
            (l["paypal_captures"].as_array().map(Vec::len), l["gateway_finalizations"].as_array().map(Vec::len)),
            (Some(1), Some(0)),
            "{l}"
        );
        let done = f.d.recover().await.expect("recover").remove(0);
        assert_eq!(done.state, State::Finalized, "{status}: {done:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}

/// Another desk captured the authorization for the whole invoice (its wallet part was spent
/// meanwhile) and finalized it, while this desk's attempt counted on a wallet part and stopped
/// before capturing. On resume, the capture tied to the attempt is for another amount than its
/// PayPal part; the gateway holds it as the invoice's payment, so the invoice is paid by it and
/// the attempt ends finalized with that capture (its own wallet part was never sent). (Before:
/// `needs_attention` for an invoice that is paid.)
#[tokio::test]
async fn a_capture_of_another_amount_the_gateway_holds_as_the_payment_ends_finalized() {
    use crate::capture_paths::{paypal_post, StopOnce};
    use crate::common::finalize_at_gateway;
    use billing::capture::Step;
    let mut world = World::seeded(1, 300).await;
    // an authorization of the whole invoice; the customer's wallet holds a little
    let no = world.plain_authorization();
    let cur = world.currency(no).to_owned();
    world.set_wallet(no, &cur, "1.00");
    let f = fixture(&world, no).await;
    f.d.capture_with(no, &StopOnce::new(Step::Capture, false)).await.expect_err("stopped before capturing");
    let entry = f.d.journal(Some(no), 10).await.expect("journal").remove(0);
    assert_eq!(entry.state(), State::PaypalCaptureSent, "journaled, never sent");
    assert_eq!(ledger(&f.sb).await["paypal_captures"], json!([]));
    let wallet = entry.wallet_amount.clone().expect("a wallet part");
    assert_ne!(wallet.parse::<rust_decimal::Decimal>().expect("amount"), rust_decimal::Decimal::ZERO);
    // the other desk: the whole invoice at PayPal, finalized with no wallet part
    let outstanding = world.outstanding(no).to_string();
    let (status, theirs) = paypal_post(
        &f.sb,
        &format!("/v2/payments/authorizations/{}/capture", world.authorization_id(no)),
        json!({ "amount": { "currency_code": cur, "value": outstanding }, "invoice_id": no.to_string(), "final_capture": true }),
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    let id = theirs["id"].as_str().expect("their capture").to_owned();
    let body = format!(
        r#"{{"amount":{outstanding},"invoiceNo":{no},"paymentId":"{id}","currencyCode":"{cur}","partPaymentFromWalletBalance":{{"currency":"{cur}","exchangeRate":1,"chargeTotalBefore":{outstanding},"chargeTotalCurrent":0}}}}"#
    );
    assert_eq!(finalize_at_gateway(&f.sb, &body).await, 200);

    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.adopted, r.capture_id.as_deref()), (State::Finalized, true, Some(id.as_str())), "{r:?}");
    let paid = r.paypal_amount.as_deref().map(|a| a.parse::<rust_decimal::Decimal>().expect("amount"));
    assert_eq!((paid, r.wallet_amount.as_deref()), (Some(world.outstanding(no)), None), "{r:?}");
    let l = ledger(&f.sb).await;
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1), "not finalized again: {l}");
    f.d.close().await;
}

/// Takes the payments out of every purchase unit: no schema requires them.
fn without_payments(order: &mut Value) {
    if let Some(units) = order["purchase_units"].as_array_mut() {
        for u in units {
            if let Some(u) = u.as_object_mut() {
                u.remove("payments");
            }
        }
    }
}

/// A refusal of the state now after PayPal captured, and the order then read without its
/// payments (as the schema allows): a capture not listed is not "no capture". The order
/// (COMPLETED) or the authorization (CAPTURED) says it holds one, so nothing is rejected: the
/// order is read again, the capture adopted and finalized, captured once. (Before: `rejected`
/// with the money at PayPal, and the gateway never told.)
#[tokio::test]
async fn a_refusal_then_an_order_without_its_payments_is_never_read_as_nothing_captured() {
    let world = World::seeded(1, 300).await;
    for (no, route, issue) in [
        (plain_order(&world), ORDER_CAPTURE, "ORDER_NOT_APPROVED"),
        (world.plain_authorization(), AUTH_CAPTURE, "PAYEE_ACCOUNT_RESTRICTED"),
    ] {
        let f = fixture(&world, no).await;
        f.pp.on(route, Some(1), Act::ForwardThenAnswer(422, paypal_error("UNPROCESSABLE_ENTITY", Some(issue))));
        if route == ORDER_CAPTURE {
            f.pp.on(GET_ORDER, Some(1), Act::Rewrite(unchanged)); // the approval, read before capturing
        }
        f.pp.on(GET_ORDER, Some(1), Act::Rewrite(without_payments));
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.adopted), (State::Finalized, true), "{issue}: {r:?}");
        assert_captured_and_finalized_once(&f.sb, no).await;
        f.d.close().await;
    }
}
