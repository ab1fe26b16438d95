//! PayPal's representations, each with exactly the properties its schema defines for the
//! endpoint that answers it:
//! * captures and authorizations inside Orders v2 answers (`capture`,
//!   `authorization_with_additional_data`) have no `supplementary_data` and no `payee`: the way
//!   back is their `up` link (a capture's names its order, or its authorization when it captured
//!   one; an authorization's names its order);
//! * `GET /v2/payments/captures/{id}` and `.../authorizations/{id}` (`capture-2`,
//!   `authorization-2`) carry `supplementary_data.related_ids` and the `payee`;
//! * the order-capture answer has no purchase-unit `amount`, as PayPal's reference example
//!   (`specs/paypal/examples/orders-capture-201.json`); `Prefer: return=minimal` (PayPal's
//!   default) gives that example's shape: no `intent`, times, `payee` or `invoice_id`;
//! * an authorization capture answers as PayPal's reference example
//!   (`authorizations-capture-201.json`): no `supplementary_data`; minimal: id, status, links.

use crate::dec;
use crate::world::{Authorization, Capture, Order, Refund, World};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

/// Whether the caller asked for the whole resource (`Prefer: return=representation`) or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Minimal,
    Representation,
}

/// The merchant (payee) of every order: an account id in PayPal's format.
const MERCHANT_ID: &str = "CXTRA7K2N9W4P";
const MERCHANT_EMAIL: &str = "billing@cargoextra.example";

/// The reasons PayPal's schema lists for a capture's status; any other is left out.
const CAPTURE_REASONS: &[&str] = &[
    "BUYER_COMPLAINT",
    "CHARGEBACK",
    "ECHECK",
    "INTERNATIONAL_WITHDRAWAL",
    "OTHER",
    "PENDING_REVIEW",
    "RECEIVING_PREFERENCE_MANDATES_MANUAL_ACTION",
    "REFUNDED",
    "TRANSACTION_APPROVED_AWAITING_FUNDING",
    "UNILATERAL",
    "VERIFICATION_REQUIRED",
];

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn money(currency: &str, value: Decimal) -> Value {
    json!({ "currency_code": currency, "value": dec::paypal_text(value, currency) })
}

fn link(base: &str, path: &str, rel: &str, method: &str) -> Value {
    json!({ "href": format!("{base}{path}"), "rel": rel, "method": method })
}

fn payee() -> Value {
    json!({ "email_address": MERCHANT_EMAIL, "merchant_id": MERCHANT_ID })
}

/// A payer id in PayPal's format (13 of `2-9`, `A-Z` without `I` and `O`), from the order id.
fn payer_id(order_id: &str) -> String {
    order_id
        .chars()
        .map(|c| match c {
            '0' => 'Z',
            '1' => 'Q',
            'I' => 'J',
            'O' => 'P',
            c if c.is_ascii_digit() || c.is_ascii_uppercase() => c,
            _ => 'X',
        })
        .chain(std::iter::repeat('X'))
        .take(13)
        .collect()
}

/// The parts of a capture every representation has.
fn capture_common(base: &str, c: &Capture) -> Value {
    let mut v = json!({
        "id": c.id,
        "status": c.status,
        "amount": money(&c.currency, c.value),
        "final_capture": c.final_capture,
        "seller_protection": { "status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"] },
        "create_time": time(c.create_time),
        "update_time": time(c.update_time),
    });
    if let Some(reason) = c.reason.as_deref().filter(|r| CAPTURE_REASONS.contains(r)) {
        v["status_details"] = json!({ "reason": reason });
    }
    // "not available for transactions that are in pending state"; nothing was received on a decline
    if matches!(c.status.as_str(), "COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED") {
        v["seller_receivable_breakdown"] = json!({
            "gross_amount": money(&c.currency, c.value),
            "paypal_fee": money(&c.currency, c.fee),
            "net_amount": money(&c.currency, c.value - c.fee),
        });
    }
    let up = match (&c.authorization_id, &c.order_id) {
        (Some(a), _) => format!("/v2/payments/authorizations/{a}"),
        (None, Some(o)) => format!("/v2/checkout/orders/{o}"),
        (None, None) => format!("/v2/payments/captures/{}", c.id),
    };
    v["links"] = json!([
        link(base, &format!("/v2/payments/captures/{}", c.id), "self", "GET"),
        link(base, &format!("/v2/payments/captures/{}/refund", c.id), "refund", "POST"),
        link(base, &up, "up", "GET"),
    ]);
    v
}

/// A capture inside an Orders v2 answer (`capture`).
pub(crate) fn capture_in_order(base: &str, c: &Capture, shape: Shape) -> Value {
    let mut v = capture_common(base, c);
    if shape == Shape::Representation {
        v["invoice_id"] = json!(c.invoice_id);
    }
    v
}

/// `GET /v2/payments/captures/{id}` (`capture-2`).
pub(crate) fn capture_resource(base: &str, c: &Capture) -> Value {
    let mut v = capture_common(base, c);
    v["invoice_id"] = json!(c.invoice_id);
    let mut related = Map::new();
    if let Some(o) = &c.order_id {
        related.insert("order_id".into(), json!(o));
    }
    if let Some(a) = &c.authorization_id {
        related.insert("authorization_id".into(), json!(a));
    }
    v["supplementary_data"] = json!({ "related_ids": related });
    v["payee"] = payee();
    v
}

/// The answer to `POST /v2/payments/authorizations/{id}/capture` (`capture-2`).
pub(crate) fn capture_created(base: &str, c: &Capture, shape: Shape) -> Value {
    match shape {
        Shape::Representation => capture_in_order(base, c, Shape::Representation),
        Shape::Minimal => minimal(capture_common(base, c)),
    }
}

/// PayPal's `return=minimal` of a payment: id, status and links.
fn minimal(v: Value) -> Value {
    json!({ "id": v["id"], "status": v["status"], "links": v["links"] })
}

fn authorization_common(base: &str, a: &Authorization) -> Value {
    let id = &a.id;
    json!({
        "id": id,
        "status": World::wire_status(a),
        "amount": money(&a.currency, a.value),
        "invoice_id": a.invoice_id,
        "seller_protection": { "status": "ELIGIBLE", "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"] },
        "expiration_time": time(a.expiration_time),
        "create_time": time(a.create_time),
        "update_time": time(a.update_time),
        "links": [
            link(base, &format!("/v2/payments/authorizations/{id}"), "self", "GET"),
            link(base, &format!("/v2/payments/authorizations/{id}/capture"), "capture", "POST"),
            link(base, &format!("/v2/payments/authorizations/{id}/void"), "void", "POST"),
            link(base, &format!("/v2/checkout/orders/{}", a.order_id), "up", "GET"),
        ],
    })
}

/// An authorization inside an Orders v2 answer (`authorization_with_additional_data`).
pub(crate) fn authorization_in_order(base: &str, a: &Authorization) -> Value {
    authorization_common(base, a)
}

/// `GET /v2/payments/authorizations/{id}` and the void's answer (`authorization-2`).
pub(crate) fn authorization_resource(base: &str, a: &Authorization) -> Value {
    let mut v = authorization_common(base, a);
    v["supplementary_data"] = json!({ "related_ids": { "order_id": a.order_id } });
    v["payee"] = payee();
    v
}

/// The answer to `POST /v2/payments/authorizations/{id}/reauthorize` (`authorization-2`);
/// minimal: id, status, links.
pub(crate) fn authorization_created(base: &str, a: &Authorization, shape: Shape) -> Value {
    match shape {
        Shape::Representation => authorization_resource(base, a),
        Shape::Minimal => minimal(authorization_common(base, a)),
    }
}

/// A refund (`refund`); minimal: id, status, links.
pub(crate) fn refund(base: &str, r: &Refund, shape: Shape) -> Value {
    let v = json!({
        "id": r.id,
        "status": r.status,
        "amount": money(&r.currency, r.value),
        "create_time": time(r.create_time),
        "update_time": time(r.create_time),
        "links": [
            link(base, &format!("/v2/payments/refunds/{}", r.id), "self", "GET"),
            link(base, &format!("/v2/payments/captures/{}", r.capture_id), "up", "GET"),
        ],
    });
    match shape {
        Shape::Representation => v,
        Shape::Minimal => minimal(v),
    }
}

/// Which Orders v2 answer an order goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderAnswer {
    /// `GET /v2/checkout/orders/{id}`, and the authorize answer's representation.
    Whole,
    /// The order-capture answer: no purchase-unit `amount`.
    Captured(Shape),
    /// The authorize answer, `return=minimal`.
    AuthorizedMinimal,
}

pub(crate) fn order(base: &str, w: &World, o: &Order, answer: OrderAnswer) -> Value {
    let minimal = matches!(answer, OrderAnswer::Captured(Shape::Minimal) | OrderAnswer::AuthorizedMinimal);
    let shape = if minimal { Shape::Minimal } else { Shape::Representation };
    let captures: Vec<Value> =
        o.capture_ids.iter().filter_map(|id| w.captures.get(id)).map(|c| capture_in_order(base, c, shape)).collect();
    let authorizations: Vec<Value> = o
        .authorization_ids
        .iter()
        .filter_map(|id| w.authorizations.get(id))
        .map(|a| authorization_in_order(base, a))
        .collect();
    let mut payments = Map::new();
    if !authorizations.is_empty() {
        payments.insert("authorizations".into(), Value::Array(authorizations));
    }
    if !captures.is_empty() {
        payments.insert("captures".into(), Value::Array(captures));
    }
    let mut unit = json!({ "reference_id": o.reference_id });
    if answer == OrderAnswer::Whole {
        unit["amount"] = money(&o.currency, o.value);
    }
    if !minimal {
        unit["payee"] = payee();
        unit["invoice_id"] = json!(o.invoice_id);
    }
    if !payments.is_empty() {
        unit["payments"] = Value::Object(payments);
    }
    let (given, surname) = o.payer_name.split_once(' ').unwrap_or((&o.payer_name, ""));
    let mut v = json!({
        "id": o.id,
        "status": o.status,
        "purchase_units": [unit],
        "payer": {
            "name": { "given_name": given, "surname": surname },
            "email_address": o.payer_email,
            "payer_id": payer_id(&o.id),
        },
        "links": [link(base, &format!("/v2/checkout/orders/{}", o.id), "self", "GET")],
    });
    if !minimal {
        v["intent"] = json!(o.intent);
        v["create_time"] = json!(time(o.create_time));
        v["update_time"] = json!(time(o.update_time));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_ids_are_in_paypal_s_account_format() {
        for id in ["5O190127TN364715T", "0000000000000IIII", "ABC"] {
            let p = payer_id(id);
            assert_eq!(p.len(), 13, "{p}");
            assert!(p.bytes().all(|b| matches!(b, b'2'..=b'9' | b'A'..=b'H' | b'J'..=b'N' | b'P'..=b'Z')), "{p}");
        }
        assert!(MERCHANT_ID.len() == 13 && !MERCHANT_ID.contains(['0', '1', 'I', 'O']));
    }
}
