//! Every PayPal answer the desk's calls can get from the sandbox, success and documented error,
//! validated against PayPal's official OpenAPI files with every schema closed (see `openapi`),
//! plus what a schema cannot say: ids in PayPal's formats, where an `up` link points, and that
//! the order-capture answer has no purchase-unit `amount` (PayPal's reference example).

mod orders;
mod payments;

use crate::openapi::{response_schema, violations};
use crate::{start, Http};
use serde_json::Value;

/// An answer as the client got it.
pub(crate) struct Answer {
    what: String,
    method: String,
    path: String,
    status: u16,
    body: Value,
}

pub(crate) struct Traffic {
    pub(crate) h: Http,
    token: String,
    pub(crate) answers: Vec<Answer>,
    /// What went otherwise than PayPal documents (reported together at the end).
    problems: Vec<String>,
}

pub(crate) const REPRESENTATION: (&str, &str) = ("Prefer", "return=representation");
pub(crate) const MINIMAL: (&str, &str) = ("Prefer", "return=minimal");

impl Traffic {
    /// A PayPal call with the demo app's token, recorded.
    pub(crate) async fn call(
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

    pub(crate) async fn call_as(
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

    pub(crate) async fn control(&mut self, path: &str, body: &str) -> Value {
        let (s, v) = self.h.send("POST", path, None, Some(body), &[]).await;
        self.expect(s == 200 || s == 201, format!("control {path}: {s} {v}"));
        v
    }

    pub(crate) fn expect(&mut self, ok: bool, what: String) {
        if !ok {
            self.problems.push(what);
        }
    }
}

pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("an id in {v}")).to_owned()
}

/// The `up` link of a capture or refund.
pub(crate) fn up(v: &Value) -> String {
    v["links"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["rel"] == "up"))
        .and_then(|l| l["href"].as_str())
        .unwrap_or("(no up link)")
        .to_owned()
}

pub(crate) fn captures(order: &Value) -> Vec<Value> {
    order["purchase_units"][0]["payments"]["captures"].as_array().cloned().unwrap_or_default()
}

pub(crate) fn time(v: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("a time: {v}"))).expect("RFC 3339")
}

pub(crate) fn is_paypal_id(s: &str) -> bool {
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
    let seen = orders::orders(&mut t).await;
    orders::refunds(&mut t, &seen).await;
    payments::authorizations(&mut t).await;
    payments::authorize_order(&mut t, &seen).await;
    payments::errors(&mut t, &seen).await;

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

/// The answers PayPal's OpenAPI files do not describe, held to PAYPAL-API.md's fields, closed:
/// the OAuth token and its errors, and the 429 of the rate limit.
#[tokio::test]
async fn oauth_and_rate_limit_answers_have_the_documented_fields() {
    let closed = |required: &[&str], allowed: &[&str]| {
        let properties: serde_json::Map<String, Value> =
            required.iter().chain(allowed).map(|k| (k.to_string(), serde_json::json!({}))).collect();
        serde_json::json!({ "type": "object", "required": required, "properties": properties, "additionalProperties": false })
    };
    let (_sb, h) = start(sandbox::Config { rate_limit: 0, ..Default::default() }).await;
    let token = |secret: &str, body: &str| {
        h.client
            .post(format!("{}/v1/oauth2/token", h.base))
            .basic_auth("demo-client-id", Some(secret))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
    };
    let granted: Value =
        token("demo-client-secret", "grant_type=client_credentials").await.expect("token").json().await.expect("json");
    let schema = closed(&["access_token", "token_type", "expires_in"], &["scope", "app_id", "nonce"]);
    assert_eq!(violations(&schema, &granted), Vec::<String>::new(), "{granted}");
    assert!(granted["expires_in"].as_i64().is_some_and(|s| (8 * 3600..=10 * 3600).contains(&s)), "about 9 h");
    let oauth_error = closed(&["error", "error_description"], &[]);
    for (secret, body, status) in
        [("wrong", "grant_type=client_credentials", 401), ("demo-client-secret", "grant_type=password", 400)]
    {
        let r = token(secret, body).await.expect("token");
        assert_eq!(r.status().as_u16(), status);
        let v: Value = r.json().await.expect("json");
        assert_eq!(violations(&oauth_error, &v), Vec::<String>::new(), "{v}");
    }
    // the rate limit: PayPal's usual error shape, details may be absent
    let (s, _) = h.send("POST", "/__sandbox/faults", None, Some(r#"{"default":{"rate_limit_rate":1}}"#), &[]).await;
    assert_eq!(s, 200);
    let (s, v) = h.send("GET", "/v2/checkout/orders/5O190127TN364715T", Some("any"), None, &[]).await;
    assert_eq!((s, v["name"].as_str()), (429, Some("RATE_LIMIT_REACHED")), "{v}");
    let schema = closed(&["name", "message", "debug_id"], &["details", "links"]);
    assert_eq!(violations(&schema, &v), Vec::<String>::new(), "{v}");
}
