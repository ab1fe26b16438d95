//! Every PayPal answer the desk's calls can get from the sandbox, success and documented error,
//! validated against PayPal's official OpenAPI files with every schema closed (see `openapi`),
//! plus what a schema cannot say: ids in PayPal's formats, where an `up` link points, and that
//! the order-capture answer has no purchase-unit `amount` (PayPal's reference example).

use crate::openapi::{response_schema, violations};
use crate::paypal::approved;
use crate::{issue, start, Http};
use serde_json::{json, Value};

/// An answer as the client got it.
struct Answer {
    what: String,
    method: String,
    path: String,
    status: u16,
    body: Value,
}

struct Traffic {
    h: Http,
    token: String,
    answers: Vec<Answer>,
    /// What went otherwise than PayPal documents (reported together at the end).
    problems: Vec<String>,
}

const REPRESENTATION: (&str, &str) = ("Prefer", "return=representation");
const MINIMAL: (&str, &str) = ("Prefer", "return=minimal");

impl Traffic {
    /// A PayPal call with the demo app's token, recorded.
    async fn call(
        &mut self,
        what: &str,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let token = self.token.clone();
        self.call_as(what, Some(&token), method, path, body, headers).await
    }

    async fn call_as(
        &mut self,
        what: &str,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let (status, v) = self.h.send(method, path, token, body, headers).await;
        self.answers.push(Answer {
            what: what.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            status,
            body: v.clone(),
        });
        (status, v)
    }

    async fn control(&mut self, path: &str, body: &str) -> Value {
        let (s, v) = self.h.send("POST", path, None, Some(body), &[]).await;
        self.expect(s == 200 || s == 201, format!("control {path}: {s} {v}"));
        v
    }

    fn expect(&mut self, ok: bool, what: String) {
        if !ok {
            self.problems.push(what);
        }
    }
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("an id in {v}")).to_owned()
}

/// The `up` link of a capture or refund.
fn up(v: &Value) -> String {
    v["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "up"))
        .and_then(|l| l["href"].as_str())
        .unwrap_or("(no up link)")
        .to_owned()
}

fn captures(order: &Value) -> Vec<Value> {
    order["purchase_units"][0]["payments"]["captures"].as_array().cloned().unwrap_or_default()
}

fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}"))).expect("RFC 3339")
}

fn is_paypal_id(s: &str) -> bool {
    s.len() == 17 && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// What the schemas cannot say: resource ids are 17 upper-case letters and digits, debug ids 13
/// hex digits, and links are complete URLs.
fn format_problems(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let here = format!("{at}/{k}");
                match (k.as_str(), x) {
                    ("id", Value::String(s)) if !is_paypal_id(s) => {
                        out.push(format!("{here}: {s:?} is not a PayPal id"))
                    }
                    ("debug_id", Value::String(s))
                        if !(s.len() == 13 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())) =>
                    {
                        out.push(format!("{here}: {s:?} is not a PayPal debug id"))
                    }
                    ("href", Value::String(s)) if !s.starts_with("http") => {
                        out.push(format!("{here}: {s:?} is not a complete URL"))
                    }
                    _ => format_problems(x, &here, out),
                }
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| format_problems(x, &format!("{at}/{i}"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_paypal_answer_has_the_documented_shape() {
    // 1,200 invoices: the seed holds CREATED and VOIDED orders and CREATED, VOIDED and expired
    // authorizations; PENDING captures stay PENDING
    let (_sb, h) =
        start(sandbox::Config { rate_limit: 0, invoices: 1200, pending_seconds: 0, ..Default::default() }).await;
    let token = h.paypal_token().await;
    let mut t = Traffic { h, token, answers: Vec::new(), problems: Vec::new() };

    // ---- orders of intent CAPTURE, in every status the seed has
    let mut by_status: std::collections::BTreeMap<String, Vec<String>> = Default::default();
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
    let mut outcomes: std::collections::BTreeMap<String, String> = Default::default();
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

    // ---- refunds of the COMPLETED capture; the PENDING and DECLINED ones cannot be refunded
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

    // ---- authorizations
    let (_, clock) = t.h.send("GET", "/__sandbox/clock", None, None, &[]).await;
    let now = time(&clock["now"]);
    let mut auths: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for inv in approved(&t.h, "AUTHORIZE").await {
        let auth = inv["paypal"]["authorizationId"].as_str().expect("authorization id").to_owned();
        let order = inv["paypal"]["orderId"].as_str().expect("order id").to_owned();
        let (s, a) =
            t.call("authorization get", "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[]).await;
        assert_eq!(s, 200, "{a}");
        let (s, o) = t.call("order get, authorized", "GET", &format!("/v2/checkout/orders/{order}"), None, &[]).await;
        assert_eq!(s, 200, "{o}");
        // PayPal's schema has no EXPIRED status: an authorization past its expiration_time is expired
        let expired = time(&a["expiration_time"]) <= now;
        t.expect(time(&a["expiration_time"]) > time(&a["create_time"]), format!("expires after it was made: {a}"));
        let kind = if expired { "EXPIRED".to_owned() } else { a["status"].as_str().expect("status").to_owned() };
        auths.entry(kind).or_default().push((auth, order));
    }
    for (kind, n) in [("CREATED", 3), ("VOIDED", 1), ("EXPIRED", 1)] {
        assert!(
            auths.get(kind).is_some_and(|v| v.len() >= n),
            "the seed has {n} {kind} authorizations: {:?}",
            auths.keys()
        );
    }
    let (auth, order) = auths["CREATED"][0].clone();
    let path = format!("/v2/payments/authorizations/{auth}/capture");
    let (_, a) = t.call("authorization get", "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[]).await;
    let cur = a["amount"]["currency_code"].as_str().expect("currency").to_owned();
    let other = if cur == "EUR" { "USD" } else { "EUR" };
    for (what, body, status, expected) in [
        (
            "currency mismatch",
            format!(r#"{{"amount":{{"currency_code":"{other}","value":"1.00"}}}}"#),
            422,
            "AUTH_CAPTURE_CURRENCY_MISMATCH",
        ),
        (
            "too much",
            format!(r#"{{"amount":{{"currency_code":"{cur}","value":"99999999"}}}}"#),
            422,
            "MAX_CAPTURE_AMOUNT_EXCEEDED",
        ),
        ("zero", format!(r#"{{"amount":{{"currency_code":"{cur}","value":"0"}}}}"#), 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        (
            "decimals",
            format!(r#"{{"amount":{{"currency_code":"{cur}","value":"1.001"}}}}"#),
            422,
            if matches!(cur.as_str(), "JPY" | "HUF") { "DECIMALS_NOT_SUPPORTED" } else { "DECIMAL_PRECISION" },
        ),
        (
            "unknown currency",
            r#"{"amount":{"currency_code":"XQX","value":"1.00"}}"#.to_owned(),
            422,
            "INVALID_CURRENCY_CODE",
        ),
        ("final_capture not a boolean", r#"{"final_capture":"yes"}"#.to_owned(), 400, "INVALID_PARAMETER_SYNTAX"),
    ] {
        let (s, e) = t
            .call(&format!("authorization capture, {what}"), "POST", &path, Some(&body), &[("PayPal-Request-Id", what)])
            .await;
        t.expect((s, issue(&e)) == (status, expected), format!("{what}: {e}"));
    }
    // a part, then the rest
    let part = if matches!(cur.as_str(), "JPY" | "HUF") { "1" } else { "1.00" };
    let (s, c) = t
        .call(
            "authorization capture",
            "POST",
            &path,
            Some(&format!(r#"{{"amount":{{"currency_code":"{cur}","value":"{part}"}}}}"#)),
            &[REPRESENTATION, ("PayPal-Request-Id", "part")],
        )
        .await;
    assert_eq!(s, 201, "{c}");
    t.expect(
        up(&c).ends_with(&format!("/v2/payments/authorizations/{auth}")),
        format!("the up link names the authorization: {c}"),
    );
    let (s, a) = t
        .call("authorization get, partly captured", "GET", &format!("/v2/payments/authorizations/{auth}"), None, &[])
        .await;
    assert_eq!((s, a["status"].as_str()), (200, Some("PARTIALLY_CAPTURED")), "{a}");
    let (s, rest) = t
        .call(
            "authorization capture, the rest",
            "POST",
            &path,
            Some(r#"{"final_capture":true}"#),
            &[MINIMAL, ("PayPal-Request-Id", "rest")],
        )
        .await;
    assert_eq!(s, 201, "{rest}");
    let (s, e) =
        t.call("authorization capture again", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "again")]).await;
    t.expect((s, issue(&e)) == (422, "AUTHORIZATION_ALREADY_CAPTURED"), format!("{e}"));
    let (s, c) = t
        .call("capture get, of an authorization", "GET", &format!("/v2/payments/captures/{}", id(&rest)), None, &[])
        .await;
    assert_eq!(s, 200);
    t.expect(c["supplementary_data"]["related_ids"]["authorization_id"] == auth.as_str(), format!("{c}"));
    t.expect(c["supplementary_data"]["related_ids"]["order_id"] == order.as_str(), format!("{c}"));
    let (s, o) = t
        .call("order get, with authorization captures", "GET", &format!("/v2/checkout/orders/{order}"), None, &[])
        .await;
    assert_eq!(s, 200);
    for cap in captures(&o) {
        t.expect(up(&cap).ends_with(&format!("/v2/payments/authorizations/{auth}")), format!("{cap}"));
    }
    let (s, e) = t.call("void, captured", "POST", &format!("/v2/payments/authorizations/{auth}/void"), None, &[]).await;
    t.expect((s, issue(&e)) == (422, "PREVIOUSLY_CAPTURED"), format!("{e}"));
    for (kind, expected) in [("VOIDED", "AUTHORIZATION_VOIDED"), ("EXPIRED", "AUTHORIZATION_EXPIRED")] {
        let (auth, _) = &auths[kind][0];
        let path = format!("/v2/payments/authorizations/{auth}/capture");
        let (s, e) =
            t.call("authorization capture refused", "POST", &path, Some("{}"), &[("PayPal-Request-Id", kind)]).await;
        t.expect((s, issue(&e)) == (422, expected), format!("{kind}: {e}"));
    }
    let (voided, _) = &auths["VOIDED"][0];
    let (s, e) = t.call("void, voided", "POST", &format!("/v2/payments/authorizations/{voided}/void"), None, &[]).await;
    t.expect((s, issue(&e)) == (422, "PREVIOUSLY_VOIDED"), format!("{e}"));
    let (to_void, _) = &auths["CREATED"][1];
    let (s, v) =
        t.call("void", "POST", &format!("/v2/payments/authorizations/{to_void}/void"), None, &[REPRESENTATION]).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("VOIDED")), "{v}");
    let (to_void, _) = &auths["CREATED"][2];
    let (s, v) =
        t.call("void, minimal", "POST", &format!("/v2/payments/authorizations/{to_void}/void"), None, &[MINIMAL]).await;
    t.expect((s, v) == (204, Value::Null), "a 204 has no content".to_owned());
    t.answers.pop(); // a 204 has no body to validate

    // ---- authorizing an order (an approved order of intent AUTHORIZE, made for the test)
    let made = t
        .control(
            "/__sandbox/orders",
            r#"{"intent":"AUTHORIZE","currency_code":"EUR","value":"120.50","invoice_id":"T-1"}"#,
        )
        .await;
    if let Some(made) = made["id"].as_str().map(str::to_owned) {
        let path = format!("/v2/checkout/orders/{made}/authorize");
        let (s, o) =
            t.call("order authorize", "POST", &path, Some("{}"), &[REPRESENTATION, ("PayPal-Request-Id", "az")]).await;
        assert_eq!(s, 201, "{o}");
        let a = &o["purchase_units"][0]["payments"]["authorizations"][0];
        t.expect(up(a).ends_with(&format!("/v2/checkout/orders/{made}")), format!("{a}"));
        let (s, _) =
            t.call("order authorize replayed", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "az")]).await;
        assert_eq!(s, 200);
        let (s, e) = t.call("order authorize again", "POST", &path, Some("{}"), &[("PayPal-Request-Id", "az2")]).await;
        t.expect((s, issue(&e)) == (422, "ORDER_ALREADY_AUTHORIZED"), format!("{e}"));
    }
    let capture_order = &approved_orders[approved_orders.len() - 1];
    let (s, e) = t
        .call(
            "order authorize, intent CAPTURE",
            "POST",
            &format!("/v2/checkout/orders/{capture_order}/authorize"),
            Some("{}"),
            &[],
        )
        .await;
    t.expect((s, issue(&e)) == (422, "ACTION_DOES_NOT_MATCH_INTENT"), format!("{e}"));

    // ---- unknown ids, a bad token, negative testing and injected faults
    for path in [
        "/v2/checkout/orders/NOPE",
        "/v2/payments/authorizations/NOPE",
        "/v2/payments/captures/NOPE",
        "/v2/payments/refunds/NOPE",
    ] {
        let (s, e) = t.call("unknown id", "GET", path, None, &[]).await;
        t.expect((s, issue(&e)) == (404, "INVALID_RESOURCE_ID"), format!("{path}: {e}"));
    }
    let (s, e) = t.call("unknown order capture", "POST", "/v2/checkout/orders/NOPE/capture", Some("{}"), &[]).await;
    t.expect((s, issue(&e)) == (404, "INVALID_RESOURCE_ID"), format!("{e}"));
    let seed_order = format!("/v2/checkout/orders/{}", approved_orders[0]);
    for (path, method) in [
        (seed_order.clone(), "GET"),
        (format!("/v2/payments/captures/{completed}"), "GET"),
        (format!("{seed_order}/capture"), "POST"),
    ] {
        let (s, e) = t.call_as("a refused token", Some("not-a-token"), method, &path, Some("{}"), &[]).await;
        t.expect((s, e["name"].as_str()) == (401, Some("AUTHENTICATION_FAILURE")), format!("{e}"));
    }
    let fresh = approved_orders.last().expect("an order");
    let capture = format!("/v2/checkout/orders/{fresh}/capture");
    // negative testing, with issues of this call's lists (a mocked 500 or 503 carries its issue in
    // details[], which error_500 does not define: PayPal's mocks are outside its files)
    for (mock, status) in [("INSTRUMENT_DECLINED", 422), ("PERMISSION_DENIED", 403), ("INVALID_RESOURCE_ID", 404)] {
        let header = format!(r#"{{"mock_application_codes":"{mock}"}}"#);
        let (s, _) = t.call("mocked", "POST", &capture, Some("{}"), &[("PayPal-Mock-Response", &header)]).await;
        assert_eq!(s, status, "{mock}");
    }
    for status in [500, 503, 401, 403, 404] {
        t.control("/__sandbox/faults", &json!({ "default": { "error_rate": 1, "error_status": status } }).to_string())
            .await;
        let (s, _) = t.call("injected", "GET", &seed_order, None, &[]).await;
        let (s2, _) = t.call("injected", "POST", &capture, Some("{}"), &[]).await;
        assert_eq!((s, s2), (status, status));
    }
    t.control("/__sandbox/faults", "{}").await;

    // ---- every answer, against the spec
    let mut problems = Vec::new();
    for a in &t.answers {
        let mut here = Vec::new();
        match response_schema(&a.method, &a.path, a.status) {
            Some(schema) => here.extend(violations(&schema, &a.body)),
            None => here.push("the spec gives this status no body".into()),
        }
        format_problems(&a.body, "", &mut here);
        problems.extend(here.into_iter().map(|p| format!("{} ({} {} → {}): {p}", a.what, a.method, a.path, a.status)));
    }
    problems.dedup();
    problems.extend(t.problems);
    assert!(
        problems.is_empty(),
        "{} answers checked; not as PayPal documents them:\n{}",
        t.answers.len(),
        problems.iter().map(|p| p.chars().take(400).collect::<String>()).collect::<Vec<_>>().join("\n")
    );
    assert!(t.answers.len() > 60, "the traffic covered {} answers", t.answers.len());
}
