//! Orders of intent CAPTURE in every status the seed has, their captures (in each shape) and
//! the refunds of those captures.

use super::{captures, id, is_paypal_id, up, Traffic, MINIMAL, REPRESENTATION};
use crate::issue;
use crate::paypal::approved;
use std::collections::BTreeMap;

/// What the orders' traffic found, for the later sections.
pub(super) struct Seen {
    /// APPROVED orders of the seed (captured now, but for the last).
    pub(super) approved: Vec<String>,
    /// A capture id per capture status.
    pub(super) outcomes: BTreeMap<String, String>,
}

pub(super) async fn orders(t: &mut Traffic) -> Seen {
    let mut by_status: BTreeMap<String, Vec<String>> = Default::default();
    for inv in approved(&t.h, "CAPTURE").await {
        let order = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
        let (s, o) = t.call("order get", "GET", &format!("/v2/checkout/orders/{order}"), None, &[]).await;
        assert_eq!(s, 200, "{o}");
        by_status.entry(o["status"].as_str().expect("status").to_owned()).or_default().push(order);
    }
    for status in ["APPROVED", "CREATED", "VOIDED"] {
        assert!(by_status.contains_key(status), "the seed has a {status} order: {:?}", by_status.keys());
    }
    let approved_orders = by_status["APPROVED"].clone();
    let mut outcomes: BTreeMap<String, String> = Default::default();
    for (n, order) in approved_orders.iter().enumerate() {
        let path = format!("/v2/checkout/orders/{order}/capture");
        // the desk's way (representation), PayPal's default (no Prefer) and return=minimal
        let prefer: &[(&str, &str)] = match n % 3 {
            0 => &[REPRESENTATION],
            1 => &[],
            _ => &[MINIMAL],
        };
        let key = format!("cap-{order}");
        let headers: Vec<(&str, &str)> = prefer.iter().copied().chain([("PayPal-Request-Id", key.as_str())]).collect();
        let (s, o) = t.call("order capture", "POST", &path, Some("{}"), &headers).await;
        assert_eq!(s, 201, "{o}");
        let unit = &o["purchase_units"][0];
        t.expect(unit.get("amount").is_none(), format!("the order-capture answer has no purchase-unit amount: {o}"));
        let cap = captures(&o).first().cloned().unwrap_or_else(|| panic!("a capture in {o}"));
        t.expect(
            up(&cap).ends_with(&format!("/v2/checkout/orders/{order}")),
            format!("the up link names the order: {cap}"),
        );
        outcomes.entry(cap["status"].as_str().expect("status").to_owned()).or_insert_with(|| id(&cap));
        if n == 0 {
            let (s, again) = t.call("order capture replayed", "POST", &path, Some("{}"), &headers).await;
            assert_eq!((s, captures(&again).first().map(id)), (200, Some(id(&cap))), "{again}");
            let (s, e) =
                t.call("order capture again", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "other")]).await;
            t.expect((s, issue(&e)) == (422, "ORDER_ALREADY_CAPTURED"), format!("{e}"));
            let (s, e) = t.call("order capture, bad body", "POST", &path, Some("{"), &[]).await;
            t.expect((s, issue(&e)) == (400, "MALFORMED_REQUEST_JSON"), format!("{e}"));
        }
        let (s, o) = t.call("order get, captured", "GET", &format!("/v2/checkout/orders/{order}"), None, &[]).await;
        assert_eq!((s, o["status"].as_str()), (200, Some("COMPLETED")), "{o}");
        if outcomes.len() == 3 && n >= 3 {
            break;
        }
    }
    for status in ["COMPLETED", "PENDING", "DECLINED"] {
        let cap = outcomes.get(status).unwrap_or_else(|| panic!("a {status} capture: {outcomes:?}"));
        let (s, c) = t.call("capture get", "GET", &format!("/v2/payments/captures/{cap}"), None, &[]).await;
        assert_eq!(s, 200, "{c}");
        t.expect(
            is_paypal_id(c["supplementary_data"]["related_ids"]["order_id"].as_str().unwrap_or("")),
            format!("{c}"),
        );
    }
    for (status, expected) in [("CREATED", "ORDER_NOT_APPROVED"), ("VOIDED", "ORDER_NOT_APPROVED")] {
        let order = &by_status[status][0];
        let (s, e) = t
            .call("order capture refused", "POST", &format!("/v2/checkout/orders/{order}/capture"), Some("{}"), &[])
            .await;
        t.expect((s, issue(&e)) == (422, expected), format!("{status}: {e}"));
    }

    Seen { approved: approved_orders, outcomes }
}

/// Refunds of the COMPLETED capture; the PENDING and DECLINED ones cannot be refunded.
pub(super) async fn refunds(t: &mut Traffic, seen: &Seen) {
    let outcomes = &seen.outcomes;
    let completed = outcomes["COMPLETED"].clone();
    let refund = format!("/v2/payments/captures/{completed}/refund");
    let (_, c) = t.call("capture get", "GET", &format!("/v2/payments/captures/{completed}"), None, &[]).await;
    let (cur, value) = (
        c["amount"]["currency_code"].as_str().expect("cur").to_owned(),
        c["amount"]["value"].as_str().expect("value").to_owned(),
    );
    let one = if matches!(cur.as_str(), "JPY" | "HUF") { "1" } else { "1.00" };
    let (s, r) = t
        .call(
            "refund",
            "POST",
            &refund,
            Some(&format!(r#"{{"amount":{{"currency_code":"{cur}","value":"{one}"}}}}"#)),
            &[REPRESENTATION, ("PayPal-Request-Id", "r1")],
        )
        .await;
    assert_eq!(s, 201, "{r}");
    t.expect(up(&r).ends_with(&format!("/v2/payments/captures/{completed}")), format!("{r}"));
    let (s, _) = t.call("refund get", "GET", &format!("/v2/payments/refunds/{}", id(&r)), None, &[]).await;
    assert_eq!(s, 200);
    let (s, e) = t
        .call(
            "refund too much",
            "POST",
            &refund,
            Some(&format!(r#"{{"amount":{{"currency_code":"{cur}","value":"{value}"}}}}"#)),
            &[("PayPal-Request-Id", "r2")],
        )
        .await;
    t.expect((s, issue(&e)) == (422, "REFUND_AMOUNT_EXCEEDED"), format!("{e}"));
    let (s, _) = t.call("refund the rest", "POST", &refund, Some("{}"), &[("PayPal-Request-Id", "r3")]).await;
    assert_eq!(s, 201);
    let (s, e) = t.call("refund again", "POST", &refund, Some("{}"), &[("PayPal-Request-Id", "r4")]).await;
    t.expect((s, issue(&e)) == (422, "CAPTURE_FULLY_REFUNDED"), format!("{e}"));
    for (status, expected) in [("PENDING", "PENDING_CAPTURE"), ("DECLINED", "REFUND_NOT_ALLOWED")] {
        let path = format!("/v2/payments/captures/{}/refund", outcomes[status]);
        let (s, e) = t.call("refund refused", "POST", &path, Some("{}"), &[]).await;
        t.expect((s, issue(&e)) == (422, expected), format!("{status}: {e}"));
    }
}
