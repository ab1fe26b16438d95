//! Test doubles at the HTTP level, for what the sandbox cannot produce.
//!
//! * [`Proxy`]: an HTTP/1.1 proxy in front of the sandbox. The sandbox's faults match a route,
//!   not a page, and the sandbox cannot make an invoice's last change older than the catch-up
//!   window, nor send an invoice the desk cannot read, an amount with ISO digits the sandbox's
//!   own table lacks, a capped `limit` or a page without `totalPages`; the proxy can do each.
//! * [`scripted`]: a server answering each request from a function of its target, for pages
//!   no gateway in front of the sandbox would send (a page far beyond `limit`).

use futures::future::BoxFuture;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIST: &str = "/api/v1/billing_admin/invoices";

/// One invoice-list request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCall {
    /// The `status` query value (`outstanding` when absent).
    pub status: String,
    /// It carried `updatedSince` (the catch-up pass, or an incremental sync).
    pub since: bool,
    pub page: u64,
}

impl ListCall {
    /// A page of a full sync's first pass (every outstanding invoice).
    pub fn outstanding_page(&self) -> Option<u64> {
        (self.status == "outstanding" && !self.since).then_some(self.page)
    }
}

/// Runs before a list request is forwarded; `Some(status)` answers it with that error instead.
pub type Hook = Arc<dyn Fn(ListCall) -> BoxFuture<'static, Option<u16>> + Send + Sync>;

/// Rewrites one invoice's JSON text (in list answers and in its detail answer).
pub type Rewrite = Arc<dyn Fn(&str) -> String + Send + Sync>;

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shaping {
    hidden: HashSet<u64>,
    gone: HashSet<u64>,
    rewrites: HashMap<u64, Rewrite>,
    /// The most rows a list page holds, whatever `limit` asked.
    cap_limit: Option<u64>,
    /// `pagination` fields left out of list answers.
    drop_pagination: Vec<String>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    shaping: Mutex<Shaping>,
    details: Mutex<Vec<u64>>,
    hook: Mutex<Option<Hook>>,
    answered: Mutex<Vec<ListCall>>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            client: reqwest::Client::new(),
            shaping: Mutex::default(),
            details: Mutex::default(),
            hook: Mutex::default(),
            answered: Mutex::default(),
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(&s, stream).await {
                        eprintln!("test proxy: {e}");
                    }
                });
            }
        });
        Proxy { url, shared }
    }

    fn shaping(&self) -> std::sync::MutexGuard<'_, Shaping> {
        self.shared.shaping.lock().expect("lock")
    }

    /// From now on list answers leave `invoice_no` out.
    pub fn hide(&self, invoice_no: u64) {
        self.shaping().hidden.insert(invoice_no);
    }

    /// From now on the gateway no longer knows `invoice_no`: lists leave it out and its
    /// detail answers 404 Invoice not found.
    pub fn gone(&self, invoice_no: u64) {
        let mut s = self.shaping();
        s.hidden.insert(invoice_no);
        s.gone.insert(invoice_no);
    }

    /// From now on `invoice_no` is sent as `rewrite` makes it (`None`: as the sandbox sends it).
    pub fn rewrite(&self, invoice_no: u64, rewrite: Option<Rewrite>) {
        let mut s = self.shaping();
        match rewrite {
            Some(r) => s.rewrites.insert(invoice_no, r),
            None => s.rewrites.remove(&invoice_no),
        };
    }

    /// From now on list pages hold at most `cap` rows, whatever `limit` asked (as a gateway that
    /// caps `limit` would; `pagination` then says the capped limit, unless left out).
    pub fn cap_limit(&self, cap: Option<u64>) {
        self.shaping().cap_limit = cap;
    }

    /// From now on list answers leave these `pagination` fields out.
    pub fn drop_pagination(&self, fields: &[&str]) {
        self.shaping().drop_pagination = fields.iter().map(|f| (*f).to_owned()).collect();
    }

    /// The invoices asked for one by one (`GET .../invoices/{no}`), in order.
    pub fn details(&self) -> Vec<u64> {
        self.shared.details.lock().expect("lock").clone()
    }

    /// Sets (or clears) the hook and forgets the requests answered so far.
    pub fn set_hook(&self, hook: Option<Hook>) {
        *self.shared.hook.lock().expect("lock") = hook;
        self.shared.answered.lock().expect("lock").clear();
    }

    /// Every list request answered from the sandbox since the hook was set, in order.
    pub fn answered(&self) -> Vec<ListCall> {
        self.shared.answered.lock().expect("lock").clone()
    }

    /// Waits (at most 20 s) until `call` was answered from the sandbox.
    pub async fn wait_answered(&self, call: &ListCall) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.answered().contains(call) {
            assert!(tokio::time::Instant::now() < deadline, "{call:?} was never answered");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

/// `invoice` (an invoice's JSON text) with the given top-level fields set to the given JSON
/// texts; every other byte as it was.
pub fn with_fields(invoice: &str, fields: &[(&str, &str)]) -> String {
    let mut top: BTreeMap<String, Box<RawValue>> = serde_json::from_str(invoice).expect("an invoice object");
    for (k, v) in fields {
        top.insert((*k).to_owned(), RawValue::from_string((*v).to_owned()).expect("JSON text"));
    }
    serde_json::to_string(&top).expect("json")
}

/// The invoice number of an invoice's JSON text, if it has one.
pub fn number_of(invoice: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(invoice).ok()?;
    v["invoiceNo"].as_u64()
}

fn list_call(target: &str) -> Option<ListCall> {
    let url = reqwest::Url::parse(&format!("http://proxy{target}")).ok()?;
    if url.path() != LIST {
        return None;
    }
    let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    Some(ListCall {
        status: q.get("status").cloned().unwrap_or_else(|| "outstanding".into()),
        since: q.contains_key("updatedSince"),
        page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
    })
}

/// `GET /api/v1/billing_admin/invoices/{no}`: the invoice number.
fn detail_call(target: &str) -> Option<u64> {
    target.strip_prefix(LIST)?.strip_prefix('/')?.split('?').next()?.parse().ok()
}

/// A list request's target with `limit` at most `cap`.
fn capped(target: &str, cap: u64) -> String {
    let mut url = reqwest::Url::parse(&format!("http://proxy{target}")).expect("target");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .map(|(k, v)| {
            if k == "limit" {
                let asked: u64 = v.parse().unwrap_or(100);
                (k, asked.min(cap).to_string())
            } else {
                (k, v)
            }
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}

/// The list answer shaped: hidden invoices left out, rewritten ones rewritten, pagination
/// fields dropped; every other byte as the sandbox sent it.
fn shape_list(body: &[u8], s: &Shaping) -> Vec<u8> {
    let mut top: BTreeMap<String, Box<RawValue>> = serde_json::from_slice(body).expect("a list answer");
    let data: Vec<Box<RawValue>> = serde_json::from_str(top["data"].get()).expect("data");
    let kept: Vec<Box<RawValue>> = data
        .into_iter()
        .filter(|i| !number_of(i.get()).is_some_and(|n| s.hidden.contains(&n)))
        .map(|i| match number_of(i.get()).and_then(|n| s.rewrites.get(&n)) {
            Some(r) => RawValue::from_string(r(i.get())).expect("rewritten JSON"),
            None => i,
        })
        .collect();
    top.insert("data".into(), serde_json::value::to_raw_value(&kept).expect("raw"));
    if let Some(p) = top.get("pagination") {
        let mut p: serde_json::Map<String, serde_json::Value> = serde_json::from_str(p.get()).expect("pagination");
        for f in &s.drop_pagination {
            p.remove(f);
        }
        top.insert("pagination".into(), serde_json::value::to_raw_value(&p).expect("raw"));
    }
    serde_json::to_vec(&top).expect("json")
}

async fn respond(s: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    s.shutdown().await
}

/// One request: (method, target, headers, body).
async fn read_request(
    s: &mut TcpStream,
) -> std::io::Result<Option<(String, String, reqwest::header::HeaderMap, Vec<u8>)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    let mut length = 0usize;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else { continue };
        let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
        if k == "content-length" {
            length = v.parse().unwrap_or(0);
        } else if !["host", "connection"].contains(&k.as_str()) {
            if let (Ok(k), Ok(v)) =
                (reqwest::header::HeaderName::from_bytes(k.as_bytes()), reqwest::header::HeaderValue::from_str(v))
            {
                headers.append(k, v);
            }
        }
    }
    while buf.len() < head_end + length {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..(head_end + length).min(buf.len())].to_vec();
    Ok(Some((method, target, headers, body)))
}

async fn serve(shared: &Shared, mut s: TcpStream) -> std::io::Result<()> {
    let Some((method, target, headers, body)) = read_request(&mut s).await? else { return Ok(()) };
    let call = if method == "GET" { list_call(&target) } else { None };
    let detail = if method == "GET" { detail_call(&target) } else { None };
    if let Some(no) = detail {
        shared.details.lock().expect("lock").push(no);
    }
    let hook = shared.hook.lock().expect("lock").clone();
    let injected = match (&call, hook) {
        (Some(c), Some(h)) => h(c.clone()).await,
        _ => None,
    };
    if detail.is_some_and(|no| shared.shaping.lock().expect("lock").gone.contains(&no)) {
        return respond(&mut s, 404, "application/json", br#"{"message":"Invoice not found"}"#).await;
    }
    if let Some(status) = injected {
        let body = br#"{"message":"Unxepected Error: injected by the test proxy"}"#;
        return respond(&mut s, status, "application/json", body).await;
    }
    let cap = shared.shaping.lock().expect("lock").cap_limit;
    let upstream_target = match (&call, cap) {
        (Some(_), Some(cap)) => capped(&target, cap),
        _ => target.clone(),
    };
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let answer = shared
        .client
        .request(method, format!("{}{upstream_target}", shared.upstream))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let (status, content_type, bytes) = match answer {
        Ok(r) => {
            let status = r.status().as_u16();
            let content_type =
                r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("application/json").to_owned();
            let mut bytes = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            if status == 200 {
                let shaping = shared.shaping.lock().expect("lock");
                if call.is_some() {
                    bytes = shape_list(&bytes, &shaping);
                } else if let Some(r) = detail.and_then(|no| shaping.rewrites.get(&no)) {
                    bytes = r(&String::from_utf8_lossy(&bytes)).into_bytes();
                }
            }
            if let Some(c) = &call {
                shared.answered.lock().expect("lock").push(c.clone());
            }
            (status, content_type, bytes)
        }
        Err(e) => (502, "text/plain".to_owned(), e.to_string().into_bytes()),
    };
    respond(&mut s, status, &content_type, &bytes).await
}

/// A server answering every request with `answer(target)`: (status, JSON body).
pub async fn scripted(answer: impl Fn(&str) -> (u16, String) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                if let Ok(Some((_, target, _, _))) = read_request(&mut stream).await {
                    let (status, body) = answer(&target);
                    let _ = respond(&mut stream, status, "application/json", body.as_bytes()).await;
                }
            });
        }
    });
    url
}
