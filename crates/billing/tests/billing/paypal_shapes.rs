//! PayPal's documented shapes through the engine: the order-capture answer without `amount`, an
//! authorization's capture found by its `up` link, answers that leave out what a decision needs
//! (read again, never `rejected` for it), a `PARTIALLY_CAPTURED` authorization (never captured
//! on top), a capture tied to another order or invoice (never finalized), and the request id
//! that names the PayPal resource.
//!
//! The sandbox answers in PayPal's documented shapes; the HTTP-level double changes an answer
//! only where a test needs PayPal to leave something out or name something else.

use crate::capture_paths::{ledger, paypal_get, paypal_post, World};
use crate::paypal_double::{order_capture_answer, orders_v2_payments, Act};
use crate::unknown_outcomes::{assert_captured_and_finalized_once, fixture, plain_order};
use billing::capture::{State, Step};
use serde_json::{json, Value};

const ORDER_CAPTURE: &str = "POST /v2/checkout/orders/{id}/capture";
const AUTH_CAPTURE: &str = "POST /v2/payments/authorizations/{id}/capture";

/// PayPal's order-capture answer has purchase units with `reference_id`, `shipping` and
/// `payments` only. The capture in it is taken at once and finalized: no waiting for the
/// idempotency key to expire. (Before: "invalid" answer; the attempt waited 6 h.)
#[tokio::test]
async fn the_order_capture_answer_without_amount_is_finalized_at_once() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    let f = fixture(&world, no).await;
    // PayPal's shape, whatever the sandbox answers: no amount, no supplementary_data, an up link
    f.pp.on(ORDER_CAPTURE, None, Act::Rewrite(order_capture_answer));
    f.pp.on("GET /v2/checkout/orders/{id}", None, Act::Rewrite(orders_v2_payments));
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished, r.adopted), (State::Finalized, true, false), "{r:?}");
    let id = assert_captured_and_finalized_once(&f.sb, no).await;
    assert_eq!(r.capture_id.as_deref(), Some(id.as_str()));
    assert_eq!(f.pp.seen(ORDER_CAPTURE).len(), 1);
    f.d.close().await;
}

/// Someone captured the authorization already (for our invoice and PayPal part). PayPal's order
/// lists that capture without `supplementary_data`: the `up` link ties it to the authorization,
/// and it is adopted and finalized. (Before: needs_attention, "shows no capture".)
#[tokio::test]
async fn an_authorizations_capture_is_adopted_through_its_up_link() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    let f = fixture(&world, no).await;
    let (auth_id, cur) = (world.authorization_id(no), world.invoice(no)["currency"].as_str().expect("cur").to_owned());
    let outstanding = f.before["outstanding"].to_string();
    let (status, theirs) = paypal_post(
        &f.sb,
        &format!("/v2/payments/authorizations/{auth_id}/capture"),
        json!({ "amount": { "currency_code": cur, "value": money_text(&outstanding, &cur) }, "invoice_id": no.to_string(), "final_capture": true }),
    )
    .await;
    assert_eq!(status, 201, "{theirs}");
    // PayPal's shape, whatever the sandbox answers: the order lists the capture with its up link
    // and no supplementary_data
    f.pp.on("GET /v2/checkout/orders/{id}", None, Act::Rewrite(orders_v2_payments));

    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.adopted, r.capture_id.as_deref()), (State::Finalized, true, theirs["id"].as_str()), "{r:?}");
    assert_captured_and_finalized_once(&f.sb, no).await;
    assert_eq!(f.pp.seen(AUTH_CAPTURE).len(), 0, "never captured again");
    f.d.close().await;
}

/// The gateway's JSON number as PayPal's amount text for `cur` (two digits, none for JPY/HUF).
fn money_text(number: &str, cur: &str) -> String {
    let d: rust_decimal::Decimal = number.parse().expect("a number");
    let digits = if matches!(cur, "JPY" | "HUF" | "TWD") { 0 } else { 2 };
    let mut d = d;
    d.rescale(digits);
    d.to_string()
}

/// A capture answer that names no capture id (the authorization capture answered `{}`) and a
/// capture read without a status: each is read again, decided from what PayPal holds, and never
/// ends `rejected`. (Before: the empty answer was "invalid" and the attempt waited for ever.)
#[tokio::test]
async fn an_answer_without_what_a_decision_needs_is_read_again() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    let f = fixture(&world, no).await;
    f.pp.on(AUTH_CAPTURE, None, Act::Rewrite(|v| *v = json!({})));
    f.pp.on(
        "GET /v2/payments/captures/{id}",
        Some(1),
        Act::Rewrite(|v| {
            if let Some(o) = v.as_object_mut() {
                o.remove("status");
            }
        }),
    );
    let r = f.d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::PaypalCaptured, false), "the status-less read waits: {r:?}");
    assert!(r.detail.as_deref().is_some_and(|d| d.contains("has no status")), "{r:?}");
    let r = f.d.recover().await.expect("recover").remove(0);
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert_captured_and_finalized_once(&f.sb, no).await;
    assert_eq!(f.pp.seen(AUTH_CAPTURE).len(), 1, "sent once");
    f.d.close().await;
}

/// A shaped world: `no`'s customer gets a wallet of 10.00, so the PayPal part is 10.00 less
/// than the authorization (which stays as the seed made it: the whole invoice).
fn with_wallet_part(world: &mut World, no: i64) -> String {
    let cur = world.invoice(no)["currency"].as_str().expect("currency").to_owned();
    let customer = world.invoice(no)["customer_id"].as_str().expect("customer").to_owned();
    world.json["customers"][customer]["wallet"] = json!({ "currency": cur, "balance": "10.00" });
    let outstanding: rust_decimal::Decimal =
        world.invoice(no)["outstanding"].as_str().expect("outstanding").parse().expect("decimal");
    (outstanding - rust_decimal::Decimal::new(1000, 2)).to_string()
}

fn a_cents_authorization(w: &World) -> i64 {
    w.find("a capturable authorization in a currency with cents, without wallet money", |w, no| {
        w.is_authorization(no, "CREATED", "Completed")
            && !matches!(w.invoice(no)["currency"].as_str(), Some("JPY" | "HUF" | "TWD"))
            && w.json["customers"][w.invoice(no)["customer_id"].as_str().unwrap_or_default()]["wallet"].is_null()
    })
}

/// A `PARTIALLY_CAPTURED` authorization is never captured on top (PayPal would allow up to
/// 115 %): a partial capture that is ours (our invoice id, the PayPal part) is adopted and
/// finalized; anyone else's needs a clerk. (Before: captured again for the whole PayPal part.)
#[tokio::test]
async fn a_partially_captured_authorization_is_adopted_if_ours_and_never_captured_on_top() {
    let mut world = World::seeded(1, 300).await;
    let no = a_cents_authorization(&world);
    let paypal_part = with_wallet_part(&mut world, no);
    let cur = world.invoice(no)["currency"].as_str().expect("currency").to_owned();
    let auth_path = format!("/v2/payments/authorizations/{}", world.authorization_id(no));
    let cases = [
        // ours: our invoice, the PayPal part
        (paypal_part.clone(), no.to_string(), None),
        // someone else's, for another invoice
        ("1.00".to_owned(), "458999".to_owned(), Some("is for invoice 458999, not".to_owned())),
        // someone else's, for our invoice but another amount
        (
            "1.00".to_owned(),
            no.to_string(),
            Some(format!("PayPal captured 1.00 {cur} but the PayPal part is {paypal_part} {cur}")),
        ),
    ];
    for (amount, invoice, attention) in cases {
        let f = fixture(&world, no).await;
        let body = json!({ "amount": { "currency_code": cur, "value": amount }, "invoice_id": invoice, "final_capture": false });
        let (status, theirs) = paypal_post(&f.sb, &format!("{auth_path}/capture"), body).await;
        assert_eq!(status, 201, "{theirs}");
        assert_eq!(paypal_get(&f.sb, &auth_path).await["status"], "PARTIALLY_CAPTURED");
        let r = f.d.capture(no).await.expect("a result");
        let l = ledger(&f.sb).await;
        assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(1), "nothing captured on top: {l}");
        assert_eq!(f.pp.seen(AUTH_CAPTURE).len(), 0);
        assert_eq!((r.adopted, r.capture_id.as_deref()), (true, theirs["id"].as_str()), "{r:?}");
        match attention {
            None => {
                assert_eq!(r.state, State::Finalized, "{r:?}");
                assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1));
            }
            Some(why) => {
                assert_eq!(r.state, State::NeedsAttention, "{r:?}");
                assert!(r.message.contains(&why), "{}", r.message);
                assert_eq!(l["gateway_finalizations"], json!([]));
            }
        }
        f.d.close().await;
    }
}

/// Before finalizing, the capture must be this invoice's: PayPal naming another order, another
/// authorization or another invoice for it needs a clerk, and nothing is finalized. A capture
/// PayPal names no relation for is tied by its order's list. (Before: finalized regardless.)
#[tokio::test]
async fn a_capture_of_another_order_or_invoice_is_never_finalized() {
    let world = World::seeded(1, 300).await;
    let no = plain_order(&world);
    type Rewrite = fn(&mut Value);
    let cases: [(Rewrite, Option<&str>); 4] = [
        (
            |v| v["supplementary_data"]["related_ids"]["order_id"] = json!("8AB12345CD678901E"),
            Some("belongs to order 8AB12345CD678901E"),
        ),
        (
            |v| v["supplementary_data"]["related_ids"]["authorization_id"] = json!("0T620041CK889853A"),
            Some("belongs to authorization 0T620041CK889853A"),
        ),
        (|v| v["invoice_id"] = json!("458999"), Some("is for invoice 458999")),
        (
            |v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("supplementary_data");
                    o.remove("links");
                }
            },
            None,
        ),
    ];
    for (rewrite, attention) in cases {
        let f = fixture(&world, no).await;
        f.pp.on("GET /v2/payments/captures/{id}", None, Act::Rewrite(rewrite));
        f.pp.on("GET /v2/checkout/orders/{id}", None, Act::Rewrite(orders_v2_payments));
        let r = f.d.capture(no).await.expect("a result");
        let l = ledger(&f.sb).await;
        match attention {
            Some(why) => {
                assert_eq!(r.state, State::NeedsAttention, "{why}: {r:?}");
                assert!(r.message.contains(why) && r.message.contains("nothing was finalized"), "{}", r.message);
                assert_eq!(l["gateway_finalizations"], json!([]));
            }
            None => {
                assert_eq!(r.state, State::Finalized, "{r:?}");
                assert_captured_and_finalized_once(&f.sb, no).await;
            }
        }
        f.d.close().await;
    }
}

/// The capture's `PayPal-Request-Id` names this desk, this attempt and the PayPal resource
/// (≤ 108 characters): a restored or copied database whose journal ids start over never replays
/// a key against another order. An open attempt keeps the key stored on it.
#[tokio::test]
async fn the_request_id_names_the_order_or_authorization_and_open_attempts_keep_theirs() {
    let world = World::seeded(1, 300).await;
    for (no, route, resource) in [
        (plain_order(&world), ORDER_CAPTURE, world.order_id(plain_order(&world))),
        (world.plain_authorization(), AUTH_CAPTURE, world.authorization_id(world.plain_authorization())),
    ] {
        let f = fixture(&world, no).await;
        let r = f.d.capture(no).await.expect("a result");
        assert_eq!(r.state, State::Finalized, "{r:?}");
        let e = f.d.journal(Some(no), 1).await.expect("journal").remove(0);
        assert!(e.request_id.len() <= 108, "{}", e.request_id);
        assert!(
            e.request_id.starts_with("capture-desk-")
                && e.request_id.ends_with(&format!("-{}-{resource}-capture", e.id)),
            "{}",
            e.request_id
        );
        let sent: Vec<_> = f.pp.seen(route).into_iter().map(|s| s.request_id).collect();
        assert_eq!(sent, vec![Some(e.request_id.clone())]);
        f.d.close().await;
    }
    // an attempt left open with a key of the old form keeps it
    let no = plain_order(&world);
    let f = fixture(&world, no).await;
    f.d.capture_with(no, &crate::capture_paths::StopOnce::new(Step::Capture, false)).await.expect_err("stopped");
    sqlx::query("UPDATE capture_journal SET request_id = 'capture-desk-0123456789abcdef-1-capture'")
        .execute(f.d.pool())
        .await
        .expect("an old key");
    assert_eq!(f.d.recover().await.expect("recover").remove(0).state, State::Finalized);
    let sent: Vec<_> = f.pp.seen(ORDER_CAPTURE).into_iter().map(|s| s.request_id).collect();
    assert_eq!(sent, vec![Some("capture-desk-0123456789abcdef-1-capture".to_owned())]);
    f.d.close().await;
}
