//! An HTTP-level double in front of the sandbox's PayPal: it passes every call through to the
//! real sandbox and, where a test scripts it, changes what the desk sees: a documented answer
//! shape the sandbox does not give, an error after PayPal acted, a connection cut after the
//! state change, or an answer instead of the sandbox's. It records every request it saw (with
//! its `PayPal-Request-Id`).

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// What the double does with a request a rule matches.
pub(crate) enum Act {
    /// Pass it on; rewrite the JSON body of a 2xx answer.
    Rewrite(fn(&mut Value)),
    /// Pass it on (PayPal acts), then answer this instead of PayPal's answer.
    ForwardThenAnswer(u16, Value),
    /// Pass it on (PayPal acts), then cut the connection without an answer.
    ForwardThenDrop,
    /// Pass it on without waiting for PayPal's answer, and cut the connection at once (a caller
    /// whose request timed out while PayPal still works on it).
    ForwardDetachedThenDrop,
    /// Do not pass it on; answer this.
    Answer(u16, Value),
    /// Pass it on with one more header (`PayPal-Mock-Response`, for the sandbox's negative testing).
    WithHeader(&'static str, String),
}

struct Rule {
    target: String,
    times: Option<usize>,
    act: Arc<Act>,
}

/// One request the double saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub target: String,
    pub request_id: Option<String>,
}

#[derive(Default)]
struct Script {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

pub(crate) struct PaypalDouble {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

/// `POST /v2/checkout/orders/{id}/capture` matches `POST /v2/checkout/orders/5O19/capture`.
fn matches(pattern: &str, target: &str) -> bool {
    let (p, t): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), target.split('/').collect());
    p.len() == t.len() && p.iter().zip(&t).all(|(p, t)| p == t || (p.starts_with('{') && p.ends_with('}')))
}

/// PayPal's error body with one issue.
pub(crate) fn paypal_error(name: &str, issue: Option<&str>) -> Value {
    let mut v = json!({ "name": name, "message": "Scripted by the test double.", "debug_id": "d0ub1e" });
    if let Some(issue) = issue {
        v["details"] = json!([{ "issue": issue, "description": "Scripted by the test double." }]);
    }
    v
}

impl PaypalDouble {
    /// A double on 127.0.0.1 (port 0) in front of `upstream`.
    pub(crate) async fn start(upstream: String) -> PaypalDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = Arc::clone(&script);
        let client = reqwest::Client::new();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let (client, upstream, script) = (client.clone(), upstream.clone(), Arc::clone(&shared));
                tokio::spawn(async move { serve(sock, client, upstream, script).await });
            }
        });
        PaypalDouble { url, script }
    }

    /// Scripts the next `times` requests to `target` (`METHOD /path`, `{id}` for any segment);
    /// `None`: every one. Earlier rules win.
    pub(crate) fn on(&self, target: &str, times: Option<usize>, act: Act) {
        self.script.lock().expect("script").rules.push(Rule { target: target.to_owned(), times, act: Arc::new(act) });
    }

    /// Every request seen so far whose target matches `pattern`.
    pub(crate) fn seen(&self, pattern: &str) -> Vec<Seen> {
        self.script.lock().expect("script").seen.iter().filter(|s| matches(pattern, &s.target)).cloned().collect()
    }
}

async fn serve(sock: tokio::net::TcpStream, client: reqwest::Client, upstream: String, script: Arc<Mutex<Script>>) {
    let (read, mut write) = sock.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    if read.read_line(&mut line).await.unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("GET").to_owned(), parts.next().unwrap_or("/").to_owned());
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        read.read_line(&mut h).await.expect("header");
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_owned());
            if k == "content-length" {
                length = v.parse().expect("length");
            } else if !matches!(k.as_str(), "host" | "connection" | "transfer-encoding") {
                headers.push((k, v));
            }
        }
    }
    let mut body = vec![0u8; length];
    read.read_exact(&mut body).await.expect("body");
    let target = format!("{method} {}", path.split('?').next().unwrap_or_default());
    let request_id = headers.iter().find(|(k, _)| k == "paypal-request-id").map(|(_, v)| v.clone());
    let act = {
        let mut s = script.lock().expect("script");
        s.seen.push(Seen { target: target.clone(), request_id });
        let rule = s.rules.iter_mut().find(|r| r.times != Some(0) && matches(&r.target, &target));
        rule.map(|r| {
            if let Some(n) = r.times.as_mut() {
                *n -= 1;
            }
            Arc::clone(&r.act)
        })
    };
    if let Some(Act::Answer(status, v)) = act.as_deref() {
        return respond(&mut write, *status, &serde_json::to_vec(v).expect("json")).await;
    }
    if let Some(Act::WithHeader(k, v)) = act.as_deref() {
        headers.push(((*k).to_owned(), v.clone()));
    }
    let mut req =
        client.request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), format!("{upstream}{path}"));
    for (k, v) in headers {
        req = req.header(k, v);
    }
    if let Some(Act::ForwardDetachedThenDrop) = act.as_deref() {
        tokio::spawn(async move { req.body(body).send().await });
        let _ = write.shutdown().await;
        return;
    }
    let resp = req.body(body).send().await.expect("upstream");
    let status = resp.status().as_u16();
    let mut bytes = resp.bytes().await.expect("upstream body").to_vec();
    match act.as_deref() {
        Some(Act::ForwardThenDrop) => {
            // PayPal acted; the answer never arrives
            let _ = write.shutdown().await;
        }
        Some(Act::ForwardThenAnswer(status, v)) => {
            respond(&mut write, *status, &serde_json::to_vec(v).expect("json")).await;
        }
        Some(Act::Rewrite(rewrite)) if (200..300).contains(&status) => {
            let mut v: Value = serde_json::from_slice(&bytes).expect("json answer");
            rewrite(&mut v);
            bytes = serde_json::to_vec(&v).expect("json");
            respond(&mut write, status, &bytes).await;
        }
        _ => respond(&mut write, status, &bytes).await,
    }
}

async fn respond(write: &mut tokio::net::tcp::OwnedWriteHalf, status: u16, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = write.write_all(head.as_bytes()).await;
    let _ = write.write_all(body).await;
    let _ = write.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// PayPal's documented shapes, applied to the sandbox's answers

/// Every capture and authorization inside an Orders v2 answer: no `supplementary_data` (the
/// way back is the `up` link, which is added where the sandbox left it out).
pub(crate) fn orders_v2_payments(order: &mut Value) {
    let order_id = order["id"].as_str().unwrap_or_default().to_owned();
    let units = order.get_mut("purchase_units").and_then(Value::as_array_mut);
    for unit in units.into_iter().flatten() {
        for kind in ["captures", "authorizations"] {
            let payments = unit.get_mut("payments").and_then(|p| p.get_mut(kind)).and_then(Value::as_array_mut);
            for p in payments.into_iter().flatten() {
                let auth = p["supplementary_data"]["related_ids"]["authorization_id"].as_str().map(str::to_owned);
                if let Some(o) = p.as_object_mut() {
                    o.remove("supplementary_data");
                }
                let up = match (kind, auth) {
                    ("captures", Some(a)) => format!("https://api-m.sandbox.paypal.com/v2/payments/authorizations/{a}"),
                    _ => format!("https://api-m.sandbox.paypal.com/v2/checkout/orders/{order_id}"),
                };
                let links = p["links"].as_array_mut();
                match links {
                    Some(l) if l.iter().any(|l| l["rel"] == "up") => {}
                    Some(l) => l.push(json!({ "href": up, "rel": "up", "method": "GET" })),
                    None => p["links"] = json!([{ "href": up, "rel": "up", "method": "GET" }]),
                }
            }
        }
    }
}

/// The order-capture answer as PayPal's own example has it: purchase units without `amount`
/// (and Orders v2 payments as above).
pub(crate) fn order_capture_answer(order: &mut Value) {
    orders_v2_payments(order);
    for unit in order.get_mut("purchase_units").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(u) = unit.as_object_mut() {
            u.remove("amount");
            u.remove("invoice_id");
            u.remove("payee");
        }
    }
}
