//! The capture engine's money paths against the sandbox, each checked against the sandbox's
//! ledger, PayPal's and the gateway's own view, and the journal: partial authorization captures,
//! the full wallet payment, a finalization that lost the race, a DECLINED capture, FX wallet
//! parts on a rounding tie and in a zero-digit currency, and every refusal of `engine.rs`.
//!
//! Fixtures come from the seeded world (the same seed gives the same world). Where no seeded
//! invoice has the shape a path needs, the world is shaped through the sandbox's own state file
//! (`Config::state_file`): seeded, saved, one field changed, loaded again. Where only a
//! misbehaving gateway reaches a refusal, a small proxy rewrites one gateway answer.

use crate::common::{desk_at, finalize_at_gateway, no_progress};
use billing::capture::{Entry, Interrupt, State, Step};
use billing::{Desk, ErrorCode};
use rust_decimal::Decimal;
use sandbox::{Config, Sandbox};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// Fixtures

fn config(seed: u64, invoices: u64, state_file: &Path) -> Config {
    Config {
        seed,
        invoices,
        rate_limit: 0,
        pending_seconds: 5,
        state_file: Some(state_file.to_owned()),
        ..Config::default()
    }
}

/// A seeded world as the sandbox saves it, to find a fixture in or to shape one.
pub(crate) struct World {
    _dir: tempfile::TempDir,
    path: PathBuf,
    seed: u64,
    invoices: u64,
    started: AtomicUsize,
    pub json: Value,
}

fn dec(v: &Value) -> Decimal {
    v.as_str().and_then(|s| Decimal::from_str(s).ok()).unwrap_or_else(|| panic!("a decimal: {v}"))
}

impl World {
    /// The world of `seed` with `invoices` invoices, exactly as a sandbox seeds it.
    pub(crate) async fn seeded(seed: u64, invoices: u64) -> World {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("world.json");
        let sb =
            Sandbox::start(config(seed, invoices, &path), "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
        sb.shutdown().await;
        let json = serde_json::from_slice(&std::fs::read(&path).expect("the saved world")).expect("world json");
        World { _dir: dir, path, seed, invoices, started: AtomicUsize::new(0), json }
    }

    /// A sandbox serving this world (as shaped), from a state file of its own.
    pub(crate) async fn start(&self) -> Sandbox {
        let n = self.started.fetch_add(1, Ordering::SeqCst);
        let path = self.path.with_file_name(format!("world-{n}.json"));
        std::fs::write(&path, serde_json::to_vec(&self.json).expect("json")).expect("write the world");
        Sandbox::start(config(self.seed, self.invoices, &path), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("sandbox")
    }

    pub(crate) fn invoice(&self, no: i64) -> &Value {
        &self.json["invoices"][no.to_string()]
    }

    fn customer_id(&self, no: i64) -> String {
        self.invoice(no)["customer_id"].as_str().expect("customer").to_owned()
    }

    fn customer(&self, no: i64) -> &Value {
        &self.json["customers"][self.customer_id(no)]
    }

    /// Replaces the wallet of `no`'s customer.
    pub(crate) fn set_wallet(&mut self, no: i64, currency: &str, balance: &str) {
        let id = self.customer_id(no);
        self.json["customers"][id]["wallet"] = json!({ "currency": currency, "balance": balance });
    }

    fn has_wallet_money(&self, no: i64) -> bool {
        let w = &self.customer(no)["wallet"];
        !w.is_null() && !dec(&w["balance"]).is_zero()
    }

    pub(crate) fn order_id(&self, no: i64) -> String {
        self.invoice(no)["paypal"]["order_id"].as_str().expect("order id").to_owned()
    }

    pub(crate) fn authorization_id(&self, no: i64) -> String {
        self.invoice(no)["paypal"]["authorization_id"].as_str().expect("authorization id").to_owned()
    }

    fn order(&self, no: i64) -> &Value {
        &self.json["orders"][self.order_id(no)]
    }

    fn order_mut(&mut self, no: i64) -> &mut Value {
        let id = self.order_id(no);
        &mut self.json["orders"][id]
    }

    fn authorization(&self, no: i64) -> &Value {
        &self.json["authorizations"][self.authorization_id(no)]
    }

    fn authorization_mut(&mut self, no: i64) -> &mut Value {
        let id = self.authorization_id(no);
        &mut self.json["authorizations"][id]
    }

    /// The first outstanding invoice (in invoice order) with a PayPal approval that `pred` accepts.
    pub(crate) fn find(&self, what: &str, pred: impl Fn(&World, i64) -> bool) -> i64 {
        self.json["invoices"]
            .as_object()
            .expect("invoices")
            .values()
            .filter(|i| i["status"] == "outstanding")
            .filter_map(|i| i["no"].as_i64())
            .find(|no| pred(self, *no))
            .unwrap_or_else(|| panic!("seed {} has {what}", self.seed))
    }

    fn intent(&self, no: i64) -> Option<&str> {
        self.invoice(no)["paypal"]["intent"].as_str()
    }

    /// An order (intent CAPTURE) in `status` whose capture turns out `outcome`.
    pub(crate) fn is_order(&self, no: i64, status: &str, outcome: &str) -> bool {
        self.intent(no) == Some("CAPTURE") && self.order(no)["status"] == status && self.order(no)["outcome"] == outcome
    }

    /// An authorization in `status` whose capture turns out `outcome`.
    pub(crate) fn is_authorization(&self, no: i64, status: &str, outcome: &str) -> bool {
        self.intent(no) == Some("AUTHORIZE")
            && self.authorization(no)["status"] == status
            && self.authorization(no)["outcome"] == outcome
    }

    /// Its authorization is past its 3-day honour period by more than the desk's hour for clocks.
    pub(crate) fn past_honour(&self, no: i64) -> bool {
        let made = self.authorization(no)["create_time"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
        made.is_some_and(|t| chrono::Utc::now() - t > chrono::Duration::hours(3 * 24 + 2))
    }

    /// Its authorization is within its 3-day honour period (by a day's margin): no reauthorization
    /// can be in play, so a capture reads the authorization alone (`capture/reauthorize.rs`).
    pub(crate) fn within_honour(&self, no: i64) -> bool {
        let made = self.authorization(no)["create_time"]
            .as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
        made.is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::days(2))
    }

    pub(crate) fn currency(&self, no: i64) -> &str {
        self.invoice(no)["currency"].as_str().expect("currency")
    }

    pub(crate) fn outstanding(&self, no: i64) -> Decimal {
        dec(&self.invoice(no)["outstanding"])
    }

    /// A capturable authorization for the whole invoice (the customer has no wallet money),
    /// in a currency with cents.
    pub(crate) fn plain_authorization(&self) -> i64 {
        self.find("a capturable authorization of a customer without wallet money", |w, no| {
            w.is_authorization(no, "CREATED", "Completed")
                && w.within_honour(no)
                && !w.has_wallet_money(no)
                && !matches!(w.currency(no), "JPY" | "HUF")
        })
    }

    /// A capturable authorization of the PayPal part of an invoice with a wallet part.
    pub(crate) fn wallet_authorization(&self) -> i64 {
        self.find("a capturable authorization of a customer with wallet money", |w, no| {
            w.is_authorization(no, "CREATED", "Completed") && w.has_wallet_money(no)
        })
    }
}

/// A desk on `sb` with its cache synced.
pub(crate) async fn synced_desk(sb: &Sandbox, dir: &Path) -> Desk {
    let d = desk_at(&sb.base_url(), &sb.base_url(), dir, "demo-client-secret").await;
    d.sync(false, &no_progress()).await.expect("sync");
    d
}

// ---------------------------------------------------------------------------------------------
// What the services hold

pub(crate) async fn ledger(sb: &Sandbox) -> Value {
    reqwest::get(format!("{}/__sandbox/ledger", sb.base_url())).await.expect("ledger").json().await.expect("json")
}

/// A PayPal access token of the demo app.
async fn paypal_token(sb: &Sandbox) -> String {
    let token: Value = reqwest::Client::new()
        .post(format!("{}/v1/oauth2/token", sb.base_url()))
        .basic_auth("demo-client-id", Some("demo-client-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    token["access_token"].as_str().expect("access token").to_owned()
}

pub(crate) async fn paypal_get(sb: &Sandbox, path: &str) -> Value {
    let (client, token) = (reqwest::Client::new(), paypal_token(sb).await);
    let r = client.get(format!("{}{path}", sb.base_url())).bearer_auth(&token).send().await.expect("paypal get");
    assert_eq!(r.status().as_u16(), 200, "GET {path}");
    r.json().await.expect("json")
}

pub(crate) async fn paypal_post(sb: &Sandbox, path: &str, body: Value) -> (u16, Value) {
    let (client, token) = (reqwest::Client::new(), paypal_token(sb).await);
    let r = client
        .post(format!("{}{path}", sb.base_url()))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .expect("paypal post");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// The gateway's own view of an invoice, with its payments and the customer's wallet.
pub(crate) async fn gateway_invoice(sb: &Sandbox, no: i64) -> Value {
    reqwest::Client::new()
        .get(format!("{}/api/v1/billing_admin/invoices/{no}", sb.base_url()))
        .bearer_auth("demo-staff-token")
        .send()
        .await
        .expect("invoice")
        .json()
        .await
        .expect("json")
}

/// Pays `no` at the gateway as another payer would: a PayPal payment of the whole outstanding
/// amount with no wallet part. The HTTP status.
pub(crate) async fn pay_elsewhere(sb: &Sandbox, no: i64, payment_id: &str) -> u16 {
    let inv = gateway_invoice(sb, no).await;
    let body = format!(
        r#"{{"amount":{o},"invoiceNo":{no},"paymentId":"{payment_id}","currencyCode":"{c}","partPaymentFromWalletBalance":{{"currency":"{c}","exchangeRate":1,"chargeTotalBefore":{o},"chargeTotalCurrent":0}}}}"#,
        o = inv["outstanding"],
        c = inv["currency"].as_str().expect("currency"),
    );
    finalize_at_gateway(sb, &body).await
}

/// Billing staff cancel invoice `no` at the gateway (the sandbox's control API); its status.
pub(crate) async fn cancel_at_gateway(sb: &Sandbox, no: i64) -> u16 {
    let url = format!("{}/__sandbox/invoices/{no}/cancel", sb.base_url());
    reqwest::Client::new().post(url).send().await.expect("cancel").status().as_u16()
}

async fn set_faults(sb: &Sandbox, json: &str) {
    sb.set_faults(serde_json::from_str(json).expect("faults"));
}

/// Nothing moved for `no`: no PayPal capture, no finalization, the invoice and the customer's
/// wallet at the gateway exactly as `before`.
pub(crate) async fn assert_nothing_moved(sb: &Sandbox, no: i64, before: &Value) {
    let l = ledger(sb).await;
    assert_eq!(l["paypal_captures"], json!([]), "no PayPal capture");
    assert_eq!(l["gateway_finalizations"], json!([]), "no finalization");
    let now = gateway_invoice(sb, no).await;
    assert_eq!(now["status"], "outstanding");
    assert_eq!(now["payments"], json!([]));
    assert_eq!((&now["outstanding"], &now["wallet"]), (&before["outstanding"], &before["wallet"]));
}

/// The one journal entry of `no`.
async fn only_entry(d: &Desk, no: i64) -> Entry {
    let mut j = d.journal(Some(no), 10).await.expect("journal");
    assert_eq!(j.len(), 1, "one attempt: {j:?}");
    j.remove(0)
}

/// Captures `no` and checks it is refused with `reason`, journaled `rejected` with no capture.
async fn assert_refused(d: &Desk, no: i64, reason: &str) -> Entry {
    let r = d.capture(no).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    assert_eq!(r.message, format!("Not captured: {reason}"));
    let e = only_entry(d, no).await;
    assert_eq!((e.state(), e.reason.as_deref(), e.capture_id.as_deref()), (State::Rejected, Some(reason), None));
    e
}

/// Decimal text as the gateway writes a JSON number (`250`, `40.5`).
fn number(d: Decimal) -> String {
    d.normalize().to_string()
}

// ---------------------------------------------------------------------------------------------
// Interrupt hooks

/// Stops once, at one step boundary.
pub(crate) struct StopOnce {
    step: Step,
    after: bool,
    fired: AtomicBool,
}

impl StopOnce {
    pub(crate) fn new(step: Step, after: bool) -> StopOnce {
        StopOnce { step, after, fired: AtomicBool::new(false) }
    }
}

impl Interrupt for StopOnce {
    fn before(&self, step: Step, _: i64) -> bool {
        !self.after && step == self.step && !self.fired.swap(true, Ordering::SeqCst)
    }
    fn after(&self, step: Step, _: i64) -> bool {
        self.after && step == self.step && !self.fired.swap(true, Ordering::SeqCst)
    }
}

/// Runs `action` once, just before `step`, and lets the engine go on (multi-thread runtime).
pub(crate) struct JustBefore<F: Fn() + Send + Sync> {
    pub(crate) step: Step,
    pub(crate) fired: AtomicBool,
    pub(crate) action: F,
}

impl<F: Fn() + Send + Sync> Interrupt for JustBefore<F> {
    fn before(&self, step: Step, _: i64) -> bool {
        if step == self.step && !self.fired.swap(true, Ordering::SeqCst) {
            (self.action)();
        }
        false
    }
    fn after(&self, _: Step, _: i64) -> bool {
        false
    }
}

pub(crate) fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

// ---------------------------------------------------------------------------------------------
// A gateway that answers part-process its own way

/// A proxy to `upstream` that passes every call through, rewriting part-process answers.
async fn part_process_proxy(upstream: String, rewrite: fn(&mut Value)) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let client = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (client, upstream) = (client.clone(), upstream.clone());
            tokio::spawn(async move {
                let (read, mut write) = sock.into_split();
                let mut read = BufReader::new(read);
                let mut line = String::new();
                read.read_line(&mut line).await.expect("request line");
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
                        }
                        if matches!(k.as_str(), "authorization" | "content-type" | "accept") {
                            headers.push((k, v));
                        }
                    }
                }
                let mut body = vec![0u8; length];
                read.read_exact(&mut body).await.expect("body");
                let mut req = client.request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{upstream}{path}"),
                );
                for (k, v) in headers {
                    req = req.header(k, v);
                }
                let resp = req.body(body).send().await.expect("upstream");
                let status = resp.status().as_u16();
                let mut bytes = resp.bytes().await.expect("upstream body").to_vec();
                if status == 200 && path == "/api/v1/billing/invoice/part-process" {
                    let mut v: Value = serde_json::from_slice(&bytes).expect("part-process json");
                    rewrite(&mut v);
                    bytes = serde_json::to_vec(&v).expect("json");
                }
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    bytes.len()
                );
                write.write_all(head.as_bytes()).await.expect("write");
                write.write_all(&bytes).await.expect("write");
                write.shutdown().await.expect("shutdown");
            });
        }
    });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------------
// Partial authorization capture

/// The engine captures the PayPal part of an authorization with `final_capture: true`: the
/// invoice is paid by this one capture, so PayPal releases the rest of the authorization and no
/// second capture (by this desk or any other) can draw on it. The authorization ends CAPTURED.
#[tokio::test]
async fn an_authorization_larger_than_the_paypal_part_is_captured_for_the_paypal_part_only_and_closed() {
    let mut world = World::seeded(1, 300).await;
    // No seeded authorization is larger than its PayPal part (the seed authorizes exactly the
    // part left after the wallet): the customer's wallet gets 10 units after the approval.
    let no = world.plain_authorization();
    let cur = world.currency(no).to_owned();
    let authorized = dec(&world.authorization(no)["value"]);
    assert_eq!(authorized, world.outstanding(no), "the seed authorized the whole invoice");
    world.set_wallet(no, &cur, "10.00");
    let paypal_part = world.outstanding(no) - Decimal::new(1000, 2);
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let auth_id = world.authorization_id(no);

    let p = d.capture_preview(no).await.expect("preview");
    let w = p.wallet.clone().expect("wallet part");
    assert_eq!(
        (w.amount.as_str(), w.currency.as_str(), w.exchange_rate.as_str(), w.in_invoice_currency.as_str()),
        ("10.00", cur.as_str(), "1", "10.00")
    );
    assert_eq!(p.paypal_amount, paypal_part.to_string());
    let a = p.approval.clone().expect("approval");
    assert_eq!((a.amount.as_str(), a.status.as_str()), (authorized.to_string().as_str(), "CREATED"));
    assert!(p.ready, "an authorization larger than the PayPal part can be captured: {:?}", p.problems);

    let r = d.capture(no).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    let e = only_entry(&d, no).await;
    assert_eq!(
        (e.paypal_amount.as_deref(), e.approved_amount.as_deref(), e.wallet_amount.as_deref()),
        (Some(paypal_part.to_string().as_str()), Some(authorized.to_string().as_str()), Some("10.00"))
    );
    let capture_id = e.capture_id.clone().expect("capture id");

    let l = ledger(&sb).await;
    assert_eq!(
        l["paypal_captures"],
        json!([{ "id": capture_id, "order_id": world.order_id(no), "authorization_id": auth_id,
                 "amount": { "currency_code": cur, "value": paypal_part.to_string() }, "status": "COMPLETED" }])
    );
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1));
    let fin = &l["gateway_finalizations"][0];
    assert_eq!((&fin["paymentId"], fin["amount"].to_string()), (&json!(capture_id), number(paypal_part)));

    // what PayPal received: the PayPal part, final; the authorization is closed
    let cap = paypal_get(&sb, &format!("/v2/payments/captures/{capture_id}")).await;
    assert_eq!((&cap["final_capture"], &cap["amount"]["value"]), (&json!(true), &json!(paypal_part.to_string())));
    let auth = paypal_get(&sb, &format!("/v2/payments/authorizations/{auth_id}")).await;
    assert_eq!((&auth["status"], &auth["amount"]["value"]), (&json!("CAPTURED"), &json!(authorized.to_string())));
    // the gateway: the wallet part and the PayPal part
    let inv = gateway_invoice(&sb, no).await;
    assert_eq!(inv["status"], "paid");
    let paid: Vec<(String, String)> = inv["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| (p["method"].as_str().unwrap_or("").to_owned(), p["amount"].to_string()))
        .collect();
    assert_eq!(paid, vec![("wallet".to_owned(), "10".to_owned()), ("paypal".to_owned(), number(paypal_part))]);
    d.close().await;
}

#[tokio::test]
async fn an_authorization_smaller_than_the_paypal_part_is_refused_before_anything_moves() {
    let mut world = World::seeded(1, 300).await;
    // The seed authorized the part left after the wallet; the wallet was spent meanwhile, so the
    // PayPal part is now the whole invoice.
    let no = world.wallet_authorization();
    let cur = world.currency(no).to_owned();
    let authorized = dec(&world.authorization(no)["value"]);
    let outstanding = world.outstanding(no);
    assert!(authorized < outstanding);
    let wallet_currency = world.customer(no)["wallet"]["currency"].as_str().expect("wallet").to_owned();
    world.set_wallet(no, &wallet_currency, "0");
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let before = gateway_invoice(&sb, no).await;

    let p = d.capture_preview(no).await.expect("preview");
    assert_eq!(p.paypal_amount, outstanding.to_string());
    assert!(!p.ready);
    assert_eq!(
        p.problems,
        vec![format!("The customer authorized {authorized} {cur} but the PayPal part is {outstanding} {cur}.")]
    );

    let e = assert_refused(
        &d,
        no,
        &format!("the customer authorized {authorized} {cur} but the PayPal part is {outstanding} {cur}"),
    )
    .await;
    assert_eq!(
        (e.approved_amount.as_deref(), e.paypal_amount.as_deref()),
        (Some(authorized.to_string().as_str()), Some(outstanding.to_string().as_str()))
    );
    assert_nothing_moved(&sb, no, &before).await;
    let auth = paypal_get(&sb, &format!("/v2/payments/authorizations/{}", world.authorization_id(no))).await;
    assert_eq!(auth["status"], "CREATED", "the authorization is untouched");
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// Full wallet payment

/// The first cached invoice the customer's wallet covers entirely (the preview says `wallet`).
pub(crate) async fn full_wallet_invoice(d: &Desk) -> i64 {
    let rows = d
        .list(&billing::ListRequest {
            filter: billing::InvoiceFilter { has_paypal: Some(false), ..Default::default() },
            limit: Some(5000),
            ..Default::default()
        })
        .await
        .expect("list")
        .rows;
    for r in rows.iter().filter(|r| r.wallet.as_ref().is_some_and(|w| !is_zero(&w.balance))) {
        if d.capture_preview(r.invoice_no).await.expect("preview").path == billing::capture::CapturePath::Wallet {
            return r.invoice_no;
        }
    }
    panic!("the seed has an invoice the wallet covers");
}

fn is_zero(s: &str) -> bool {
    Decimal::from_str(s).is_ok_and(|d| d.is_zero())
}

/// The gateway's wallet payments of `no` and the wallet's balance.
pub(crate) async fn wallet_payments(sb: &Sandbox, no: i64) -> (Vec<Value>, Value) {
    let inv = gateway_invoice(sb, no).await;
    let pays = inv["payments"].as_array().expect("payments").iter().filter(|p| p["method"] == "wallet").cloned();
    (pays.collect(), inv["wallet"]["balance"].clone())
}

#[tokio::test]
async fn a_wallet_that_covers_the_invoice_pays_it_in_full_once() {
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let no = full_wallet_invoice(&d).await;
    let before = gateway_invoice(&sb, no).await;
    let cur = before["currency"].as_str().expect("currency").to_owned();
    let outstanding = d.invoice(no).await.expect("cached").outstanding;

    let p = d.capture_preview(no).await.expect("preview");
    assert_eq!((p.path.as_str(), p.paypal_amount.as_str(), p.ready), ("wallet", "0.00", true), "{p:?}");
    assert!(p.approval.is_none() && p.problems.is_empty());

    let r = d.capture(no).await.expect("capture");
    assert_eq!((r.state, r.finished), (State::Finalized, true), "{r:?}");
    assert_eq!(r.message, format!("Paid in full from the customer's wallet ({outstanding} {cur})."));
    let e = only_entry(&d, no).await;
    assert_eq!((e.path.as_str(), e.capture_id.as_deref(), e.paypal_amount.as_deref()), ("wallet", None, Some("0.00")));
    let actions: Vec<String> =
        billing::audit::query(d.pool(), &billing::audit::AuditFilter { limit: Some(50), ..Default::default() })
            .await
            .expect("audit")
            .into_iter()
            .filter(|a| a.action.starts_with("capture."))
            .map(|a| a.action)
            .rev()
            .collect();
    assert_eq!(actions, ["capture.planned", "capture.wallet_pay_sent", "capture.finalized"]);

    // nothing at PayPal, one wallet payment of the whole invoice at the gateway
    let l = ledger(&sb).await;
    assert_eq!((&l["paypal_captures"], &l["gateway_finalizations"]), (&json!([]), &json!([])));
    let inv = gateway_invoice(&sb, no).await;
    assert_eq!(inv["status"], "paid");
    let pays = inv["payments"].as_array().expect("payments");
    assert_eq!(pays.len(), 1, "{pays:?}");
    assert_eq!(
        (&pays[0]["method"], pays[0]["amount"].to_string()),
        (&json!("wallet"), number(Decimal::from_str(&outstanding).expect("dec")))
    );
    assert!(dec(&json!(inv["wallet"]["balance"].to_string())) < dec(&json!(before["wallet"]["balance"].to_string())));
    assert_eq!(d.invoice(no).await.expect("cached").status, billing::invoices::InvoiceStatus::Paid);

    // again: the finished attempt, nothing new
    let again = d.capture(no).await.expect("again");
    assert_eq!((again.journal_id, again.state), (r.journal_id, State::Finalized));
    assert_eq!(gateway_invoice(&sb, no).await["payments"].as_array().map(Vec::len), Some(1));
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// Finalization after someone else paid

#[tokio::test]
async fn finalize_sent_then_paid_by_someone_else_needs_attention_and_is_not_finalized_again() {
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let no = 458_732;
    {
        let d = synced_desk(&sb, dir.path()).await;
        let e = d.capture_with(no, &StopOnce::new(Step::Finalize, false)).await.expect_err("crash");
        assert_eq!(e.code, ErrorCode::Internal);
        assert_eq!(only_entry(&d, no).await.state(), State::FinalizeSent);
        d.close().await;
    }
    // meanwhile another payer pays the invoice
    assert_eq!(crate::common::pay_seed_example(&sb).await, 200);
    let d = desk_at(&sb.base_url(), &sb.base_url(), dir.path(), "demo-client-secret").await;
    let results = d.recover().await.expect("recover");
    assert_eq!(results.len(), 1);
    let r = &results[0];
    let capture_id = r.capture_id.clone().expect("our capture");
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    let reason = format!(
        "PayPal captured {capture_id} but the invoice is already paid at the gateway by another payment; refund or reconcile"
    );
    assert_eq!(r.message, format!("Needs attention: {reason}"));
    assert_eq!(only_entry(&d, no).await.reason.as_deref(), Some(reason.as_str()));
    // resuming again does nothing: the attempt is finished
    assert!(d.recover().await.expect("recover").is_empty());
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["paypal_captures"][0]["id"], capture_id.as_str());
    assert_eq!(
        l["gateway_finalizations"],
        json!([{ "invoiceNo": no, "paymentId": "PAYPAL-9X8Y7Z6W5V4U3T2S1R0", "amount": 250, "currencyCode": "USD" }]),
        "only the other payer's finalization; ours never"
    );
    d.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_by_someone_else_just_before_our_finalization_needs_attention() {
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let no = 458_732;
    let hook = JustBefore {
        step: Step::Finalize,
        fired: AtomicBool::new(false),
        action: || assert_eq!(block_on(crate::common::pay_seed_example(&sb)), 200),
    };
    let r = d.capture_with(no, &hook).await.expect("result");
    assert!(hook.fired.load(Ordering::SeqCst));
    let capture_id = r.capture_id.clone().expect("our capture");
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    assert_eq!(
        r.message,
        format!(
            "Needs attention: PayPal captured 206.03 USD ({capture_id}) but the gateway refuses the invoice (it is paid, paid by PAYPAL-9X8Y7Z6W5V4U3T2S1R0); refund or reconcile"
        )
    );
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["gateway_finalizations"][0]["paymentId"], "PAYPAL-9X8Y7Z6W5V4U3T2S1R0");
    assert!(d.recover().await.expect("recover").is_empty());
    assert_eq!(ledger(&sb).await["gateway_finalizations"].as_array().map(Vec::len), Some(1));
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// DECLINED

#[tokio::test]
async fn a_declined_capture_ends_rejected_with_nothing_finalized_and_is_never_captured_again() {
    let world = World::seeded(1, 300).await;
    // the seed decides at approval that this order's capture is declined (risk filters)
    let no = world.find("an approved order whose capture is declined", |w, no| w.is_order(no, "APPROVED", "Declined"));
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let before = gateway_invoice(&sb, no).await;

    // PayPal's schema gives a declined capture no reason from its enum: the sandbox sends none
    let reason = "PayPal declined the capture; nothing was finalized";
    let r = d.capture(no).await.expect("result");
    assert_eq!((r.state, r.finished), (State::Rejected, true), "{r:?}");
    assert_eq!(r.message, format!("Not captured: {reason}"));
    let e = only_entry(&d, no).await;
    assert_eq!((e.reason.as_deref(), e.capture_status.map(|s| s.as_str())), (Some(reason), Some("DECLINED")));
    let capture_id = e.capture_id.clone().expect("the declined capture is journaled");
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&l["paypal_captures"][0]["id"], &l["paypal_captures"][0]["status"]),
        (&json!(capture_id), &json!("DECLINED"))
    );
    assert_eq!(l["gateway_finalizations"], json!([]));
    let inv = gateway_invoice(&sb, no).await;
    assert_eq!(
        (&inv["status"], &inv["payments"], &inv["wallet"]),
        (&json!("outstanding"), &json!([]), &before["wallet"])
    );
    assert_eq!(d.invoice(no).await.expect("cached").status, billing::invoices::InvoiceStatus::Outstanding);

    // a second try finds the declined capture and captures nothing new
    let again = d.capture(no).await.expect("again");
    assert_eq!(again.state, State::Rejected, "{again:?}");
    assert_ne!(again.journal_id, r.journal_id);
    let l = ledger(&sb).await;
    assert_eq!((l["paypal_captures"].as_array().map(Vec::len), &l["gateway_finalizations"]), (Some(1), &json!([])));
    d.close().await;
}

// ---------------------------------------------------------------------------------------------
// FX wallet parts

/// Shapes `no`'s customer wallet and the order so the PayPal part is `outstanding - part`.
fn shape_fx(world: &mut World, no: i64, wallet_currency: &str, balance: &str, part: Decimal) -> Decimal {
    world.set_wallet(no, wallet_currency, balance);
    let paypal_part = world.outstanding(no) - part;
    world.order_mut(no)["value"] = json!(paypal_part.to_string());
    paypal_part
}

async fn assert_fx_paid(world: &World, no: i64, wallet: (&str, &str, &str), in_invoice: &str, paypal_part: Decimal) {
    let cur = world.currency(no).to_owned();
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let p = d.capture_preview(no).await.expect("preview");
    let w = p.wallet.clone().expect("wallet part");
    assert_eq!(
        (w.amount.as_str(), w.currency.as_str(), w.exchange_rate.as_str(), w.in_invoice_currency.as_str()),
        (wallet.0, wallet.1, wallet.2, in_invoice)
    );
    assert_eq!(p.paypal_amount, paypal_part.to_string());
    assert!(p.ready, "{:?}", p.problems);

    let r = d.capture(no).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    let e = only_entry(&d, no).await;
    assert_eq!(
        (e.wallet_amount.as_deref(), e.wallet_currency.as_deref(), e.exchange_rate.as_deref()),
        (Some(wallet.0), Some(wallet.1), Some(wallet.2))
    );
    assert_eq!(
        (e.wallet_in_invoice_currency.as_deref(), e.paypal_amount.as_deref()),
        (Some(in_invoice), Some(paypal_part.to_string().as_str()))
    );
    assert_eq!(
        e.wallet_part_json.as_deref(),
        Some(
            format!(
                r#"{{"currency":"{}","exchangeRate":{},"chargeTotalBefore":{},"chargeTotalCurrent":{}}}"#,
                wallet.1,
                wallet.2,
                number(world.outstanding(no)),
                number(Decimal::from_str(wallet.0).expect("dec"))
            )
            .as_str()
        ),
        "the gateway's wallet part, kept as sent"
    );
    let l = ledger(&sb).await;
    assert_eq!(l["paypal_captures"][0]["amount"], json!({ "currency_code": cur, "value": paypal_part.to_string() }));
    assert_eq!(
        l["gateway_finalizations"],
        json!([{ "invoiceNo": no, "paymentId": e.capture_id, "amount": serde_json::from_str::<Value>(&number(paypal_part)).expect("n"), "currencyCode": cur }])
    );
    let inv = gateway_invoice(&sb, no).await;
    assert_eq!(inv["status"], "paid");
    let paid: Vec<(String, String, String)> = inv["payments"]
        .as_array()
        .expect("payments")
        .iter()
        .map(|p| {
            (
                p["method"].as_str().unwrap_or("").to_owned(),
                p["amount"].to_string(),
                p["currency"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        paid,
        vec![
            ("wallet".to_owned(), number(Decimal::from_str(wallet.0).expect("dec")), wallet.1.to_owned()),
            ("paypal".to_owned(), number(paypal_part), cur.clone())
        ]
    );
    assert_eq!(inv["wallet"]["balance"].to_string(), "0", "the whole wallet went into the part payment");
    d.close().await;
}

/// 50.00 EUR × 1.0857 = 54.285 USD: a tie, rounded half-even to 54.28 (half-up would say 54.29,
/// and the gateway would refuse the finalization's amount).
#[tokio::test]
async fn an_fx_wallet_part_on_a_rounding_tie_is_rounded_half_even() {
    let mut world = World::seeded(1, 300).await;
    let no = world.find("an approved USD order over 100 USD", |w, no| {
        w.is_order(no, "APPROVED", "Completed") && w.currency(no) == "USD" && w.outstanding(no) > Decimal::from(100)
    });
    let paypal_part = shape_fx(&mut world, no, "EUR", "50.00", Decimal::new(5428, 2));
    assert_fx_paid(&world, no, ("50.00", "EUR", "1.0857"), "54.28", paypal_part).await;
}

/// A zero-digit invoice currency on a tie: 500000 HUF × 0.408373 = 204186.5 JPY → 204186.
#[tokio::test]
async fn an_fx_wallet_part_in_a_zero_digit_currency_is_whole_units_rounded_half_even() {
    let mut world = World::seeded(1, 300).await;
    let no = world.find("an approved JPY order over 205000 JPY", |w, no| {
        w.is_order(no, "APPROVED", "Completed") && w.currency(no) == "JPY" && w.outstanding(no) > Decimal::from(205_000)
    });
    let paypal_part = shape_fx(&mut world, no, "HUF", "500000", Decimal::from(204_186));
    assert_eq!(paypal_part.scale(), 0);
    assert_fx_paid(&world, no, ("500000", "HUF", "0.408373"), "204186", paypal_part).await;
}

// ---------------------------------------------------------------------------------------------
// Every refusal of engine.rs, top to bottom

/// A sandbox serving `world`, a desk synced against it, and the gateway's view of `no` before.
struct Case {
    sb: Sandbox,
    d: Desk,
    _dir: tempfile::TempDir,
    before: Value,
}

async fn case(world: &World, no: i64) -> Case {
    let sb = world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let before = gateway_invoice(&sb, no).await;
    Case { sb, d, _dir: dir, before }
}

impl World {
    /// An approved order (capturable, completes) of a customer with a wallet (so part-process
    /// answers with a wallet part), in a currency with cents.
    fn order_with_wallet(&self) -> i64 {
        self.find("an approved order of a customer with a wallet", |w, no| {
            w.is_order(no, "APPROVED", "Completed")
                && !w.customer(no)["wallet"].is_null()
                && !matches!(w.currency(no), "JPY" | "HUF")
        })
    }

    /// An approved order (capturable, completes) of a customer without a wallet.
    fn order_without_wallet(&self) -> i64 {
        self.find("an approved order of a customer without a wallet", |w, no| {
            w.is_order(no, "APPROVED", "Completed") && w.customer(no)["wallet"].is_null()
        })
    }

    /// An outstanding invoice with no PayPal approval, the customer without a wallet.
    fn unapproved(&self) -> i64 {
        self.json["invoices"]
            .as_object()
            .expect("invoices")
            .values()
            .filter(|i| i["status"] == "outstanding" && i["paypal"].is_null())
            .filter_map(|i| i["no"].as_i64())
            .find(|no| self.customer(*no)["wallet"].is_null())
            .expect("an invoice without approval or wallet")
    }
}

fn other_currency(cur: &str) -> &'static str {
    if cur == "EUR" {
        "USD"
    } else {
        "EUR"
    }
}

/// `capture()` itself: an invoice the cache does not hold, and one the cache says is no longer
/// outstanding, are errors before any attempt is journaled.
#[tokio::test]
async fn an_invoice_not_cached_or_not_outstanding_is_an_error_and_journals_nothing() {
    let world = World::seeded(1, 300).await;
    let no = world.order_without_wallet();
    let c = case(&world, no).await;
    let e = c.d.capture(1).await.expect_err("not cached");
    assert_eq!(
        (e.code, e.message.as_str()),
        (ErrorCode::NotFound, "Invoice 1 is not in the local cache. Sync, then try again.")
    );
    assert!(c.d.journal(None, 10).await.expect("journal").is_empty());

    // paid elsewhere: the attempt learns it at part-process (rejected, the cache marked paid) …
    assert_eq!(pay_elsewhere(&c.sb, no, "BANK-TRANSFER-1").await, 200);
    assert_refused(&c.d, no, "the invoice is already paid at the gateway").await;
    assert_eq!(c.d.invoice(no).await.expect("cached").status, billing::invoices::InvoiceStatus::Paid);
    // … and a second capture is refused before planning
    let e = c.d.capture(no).await.expect_err("not outstanding");
    assert_eq!(
        (e.code, e.message),
        (ErrorCode::GatewayRejected, format!("Invoice {no} is not outstanding (it is paid)."))
    );
    assert_eq!(c.d.journal(Some(no), 10).await.expect("journal").len(), 1, "no new attempt");
    let l = ledger(&c.sb).await;
    assert_eq!(l["paypal_captures"], json!([]));
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1), "only the other payment");
    c.d.close().await;
}

/// Billing staff cancelled the invoice at the gateway since the last sync: part-process refuses
/// it ("Invoice already paid", as the gateway answers for any invoice that takes no payment),
/// the invoice says cancelled, and so do the attempt and the cache: nothing moved. (Before: the
/// attempt said "already paid" and the cache showed the invoice paid.)
#[tokio::test]
async fn an_invoice_cancelled_at_the_gateway_is_refused_and_cached_cancelled() {
    let world = World::seeded(1, 300).await;
    let no = world.order_without_wallet();
    let c = case(&world, no).await;
    assert_eq!(cancel_at_gateway(&c.sb, no).await, 200);
    assert_eq!(cancel_at_gateway(&c.sb, no).await, 409, "only an outstanding invoice is cancelled");
    assert_eq!(cancel_at_gateway(&c.sb, 1).await, 404, "no such invoice");
    assert_refused(&c.d, no, "the invoice is already cancelled at the gateway").await;
    let cached = c.d.invoice(no).await.expect("cached");
    assert_eq!(cached.status, billing::invoices::InvoiceStatus::Cancelled, "{cached:?}");
    assert!(cached.paypal.is_none(), "no PayPal payment left to capture: {cached:?}");
    let e = c.d.capture(no).await.expect_err("not outstanding");
    assert_eq!(
        (e.code, e.message),
        (ErrorCode::GatewayRejected, format!("Invoice {no} is not outstanding (it is cancelled)."))
    );
    let l = ledger(&c.sb).await;
    assert_eq!((l["paypal_captures"].clone(), l["gateway_finalizations"].clone()), (json!([]), json!([])));
    c.d.close().await;
}

#[tokio::test]
async fn part_process_refusals_reject_with_nothing_moved() {
    let world = World::seeded(1, 300).await;
    let no = world.order_with_wallet();
    let cur = world.currency(no).to_owned();
    let outstanding = world.outstanding(no);

    // the cache is stale: its outstanding differs from the gateway's
    let c = case(&world, no).await;
    let ours = outstanding + Decimal::ONE;
    sqlx::query("UPDATE invoices SET outstanding = ? WHERE invoice_no = ?")
        .bind(ours.to_string())
        .bind(no)
        .execute(c.d.pool())
        .await
        .expect("stale cache");
    assert_refused(
        &c.d,
        no,
        &format!(
            "the gateway's outstanding total ({}) differs from ours ({ours} {cur}); sync and try again",
            number(outstanding)
        ),
    )
    .await;
    assert_nothing_moved(&c.sb, no, &c.before).await;
    c.d.close().await;

    // the gateway refuses to prepare the payment
    let c = case(&world, no).await;
    set_faults(
        &c.sb,
        r#"{"routes":{"POST /api/v1/billing/invoice/part-process":{"error_rate":1,"error_status":403}}}"#,
    )
    .await;
    let refused = gateway::GatewayError::Forbidden { message: "Request blocked by traffic guard".into() };
    let e = assert_refused(&c.d, no, &format!("the gateway refused to prepare the payment: {refused}")).await;
    assert_eq!(e.paypal_amount, None);
    set_faults(&c.sb, "{}").await;
    assert_nothing_moved(&c.sb, no, &c.before).await;
    c.d.close().await;

    // the gateway is down: not a refusal, the attempt waits in `planned` and resumes later
    let c = case(&world, no).await;
    set_faults(
        &c.sb,
        r#"{"routes":{"POST /api/v1/billing/invoice/part-process":{"error_rate":1,"error_status":503}}}"#,
    )
    .await;
    let r = c.d.capture(no).await.expect("result");
    assert_eq!((r.state, r.finished), (State::Planned, false), "{r:?}");
    assert_eq!(r.message, "Not finished yet (planned); it resumes automatically.");
    let e = only_entry(&c.d, no).await;
    assert_eq!(e.attempts, 1);
    assert!(e.last_error.as_deref().is_some_and(|x| x.starts_with("gateway_server_error: ")), "{e:?}");
    set_faults(&c.sb, "{}").await;
    assert_nothing_moved(&c.sb, no, &c.before).await;
    let done = c.d.recover().await.expect("recover");
    assert_eq!(done.iter().map(|r| r.state).collect::<Vec<_>>(), vec![State::Finalized]);
    c.d.close().await;
}

/// Refusals only a gateway that breaks its own rules reaches: a proxy rewrites part-process.
#[tokio::test]
async fn a_part_payment_that_does_not_add_up_is_rejected_with_nothing_moved() {
    let world = World::seeded(1, 300).await;
    let no = world.order_with_wallet();
    let cur = world.currency(no).to_owned();
    let outstanding = world.outstanding(no);
    let other = other_currency(&cur);
    type Rewrite = fn(&mut Value);
    let cases: [(Rewrite, String); 3] = [
        (
            |v| {
                let cur = v["invoice"]["currencyPaid"].as_str().expect("currency").to_owned();
                v["invoice"]["currencyPaid"] = json!(other_currency(&cur));
            },
            format!("the gateway prepared the payment in {other}, the invoice is in {cur}"),
        ),
        (
            |v| {
                let before = v["invoice"]["partPaymentFromWalletBalance"]["chargeTotalBefore"].to_string();
                let more = Decimal::from_str(&before).expect("before") + Decimal::ONE;
                v["invoice"]["chargeTotal"] =
                    Value::Number(serde_json::Number::from_str(&number(more)).expect("number"));
            },
            format!(
                "the PayPal part {} {cur} is more than the outstanding {outstanding} {cur}",
                outstanding + Decimal::ONE
            ),
        ),
        (|v| v["invoice"]["chargeTotal"] = json!(0), "nothing is left to pay through PayPal".to_owned()),
    ];
    for (rewrite, reason) in cases {
        let sb = world.start().await;
        let before = gateway_invoice(&sb, no).await;
        let gateway = part_process_proxy(sb.base_url(), rewrite).await;
        let dir = tempfile::tempdir().expect("dir");
        let d = desk_at(&gateway, &sb.base_url(), dir.path(), "demo-client-secret").await;
        d.sync(false, &no_progress()).await.expect("sync through the proxy");
        assert_refused(&d, no, &reason).await;
        assert_nothing_moved(&sb, no, &before).await;
        let order = paypal_get(&sb, &format!("/v2/checkout/orders/{}", world.order_id(no))).await;
        assert_eq!(order["status"], "APPROVED", "{reason}");
        d.close().await;
    }
}

/// check_approval: every way the customer's approval does not fit ends `rejected` before any
/// money moves; PayPal's order or authorization is left as it was.
#[tokio::test]
async fn approval_refusals_reject_with_nothing_moved() {
    let seeded = World::seeded(1, 300).await;
    type Shape = Box<dyn Fn(&mut World, i64)>;
    let keep: fn() -> Shape = || Box::new(|_, _| {});
    let auth = seeded.plain_authorization();
    let order = seeded.order_without_wallet();
    let mut cases: Vec<(i64, Shape, String)> = Vec::new();
    // no approval at all
    let plain = seeded.unapproved();
    cases.push((plain, keep(), "the customer has no approved PayPal payment for this invoice".into()));
    // PayPal does not know the authorization / the order
    cases.push((
        auth,
        Box::new(|w, no| {
            let id = w.authorization_id(no);
            w.json["authorizations"].as_object_mut().expect("authorizations").remove(&id);
        }),
        "PayPal does not know this payment".into(),
    ));
    cases.push((
        order,
        Box::new(|w, no| {
            let id = w.order_id(no);
            w.json["orders"].as_object_mut().expect("orders").remove(&id);
        }),
        "PayPal does not know this payment".into(),
    ));
    // the authorization voided (seeded), expired (its expiry passed), denied, pending
    let voided = seeded.find("a voided authorization", |w, no| w.is_authorization(no, "VOIDED", "Completed"));
    cases.push((voided, keep(), "the PayPal authorization was voided; the customer must pay again".into()));
    cases.push((
        auth,
        Box::new(|w, no| {
            let created = w.authorization(no)["create_time"].clone();
            w.authorization_mut(no)["expiration_time"] = created;
        }),
        // PayPal's schema has no EXPIRED status: the authorization still reads CREATED, and the
        // capture is refused with AUTHORIZATION_EXPIRED, a documented refusal (nothing moved)
        "PayPal refused the capture: This PayPal authorization has expired; the customer must pay again.".into(),
    ));
    cases.push((
        auth,
        Box::new(|w, no| w.authorization_mut(no)["status"] = json!("DENIED")),
        "the PayPal authorization cannot be captured: it is denied".into(),
    ));
    cases.push((
        auth,
        Box::new(|w, no| w.authorization_mut(no)["status"] = json!("PENDING")),
        "the PayPal authorization cannot be captured: it is pending review at PayPal".into(),
    ));
    // authorized in another currency
    let (auth_cur, auth_value) = (seeded.currency(auth).to_owned(), dec(&seeded.authorization(auth)["value"]));
    cases.push((
        auth,
        Box::new(|w, no| {
            let other = other_currency(w.currency(no));
            w.authorization_mut(no)["currency"] = json!(other);
        }),
        format!("the customer authorized {auth_value} {} but the invoice is in {auth_cur}", other_currency(&auth_cur)),
    ));
    // the order not approved yet (seeded), voided (seeded), completed without a capture
    let created = seeded.find("an order not approved yet", |w, no| w.is_order(no, "CREATED", "Completed"));
    cases.push((created, keep(), "the customer has not approved the PayPal payment yet".into()));
    let voided_order = seeded.find("a voided order", |w, no| w.is_order(no, "VOIDED", "Completed"));
    cases.push((voided_order, keep(), "the PayPal order was voided; the customer must pay again".into()));
    // (a COMPLETED order without a capture is not a refusal: see the test after this one)
    // the customer approved another amount than the PayPal part
    let (cur, o) = (seeded.currency(order).to_owned(), seeded.outstanding(order));
    cases.push((
        order,
        Box::new(|w, no| {
            let more = w.outstanding(no) + Decimal::ONE;
            w.order_mut(no)["value"] = json!(more.to_string());
        }),
        format!("the customer approved {} {cur} at PayPal but the PayPal part is {o} {cur}", o + Decimal::ONE),
    ));

    for (no, shape, reason) in cases {
        let mut world = World::seeded(1, 300).await;
        shape(&mut world, no);
        let c = case(&world, no).await;
        let paypal_before = match world.invoice(no)["paypal"]["intent"].as_str() {
            Some("AUTHORIZE") if !world.authorization(no).is_null() => {
                Some(format!("/v2/payments/authorizations/{}", world.authorization_id(no)))
            }
            Some(_) if !world.order(no).is_null() => Some(format!("/v2/checkout/orders/{}", world.order_id(no))),
            _ => None,
        };
        let status_before = match &paypal_before {
            Some(path) => paypal_get(&c.sb, path).await["status"].clone(),
            None => Value::Null,
        };
        let p = c.d.capture_preview(no).await.expect("preview");
        assert!(!p.ready, "{reason}: the preview shows it: {p:?}");
        let e = assert_refused(&c.d, no, &reason).await;
        assert_nothing_moved(&c.sb, no, &c.before).await;
        if let Some(path) = &paypal_before {
            assert_eq!(paypal_get(&c.sb, path).await["status"], status_before, "{reason}: PayPal untouched");
        }
        assert_eq!(e.paypal_amount.as_deref().map(|_| ()), Some(()), "{reason}: the PayPal part was known");
        c.d.close().await;
    }
}

/// A journal row that names no authorization for an AUTHORIZE invoice (the gateway's listing
/// always names one; only a damaged cache lacks it).
#[tokio::test]
async fn an_authorization_without_its_id_is_rejected_with_nothing_moved() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    let c = case(&world, no).await;
    sqlx::query("UPDATE invoices SET paypal_auth_id = NULL WHERE invoice_no = ?")
        .bind(no)
        .execute(c.d.pool())
        .await
        .expect("damage the cache");
    assert_refused(&c.d, no, "the PayPal authorization id is missing").await;
    assert_nothing_moved(&c.sb, no, &c.before).await;
    c.d.close().await;
}

/// PayPal refusing our credentials, or not answering, while reading the approval: an error or
/// a wait, the attempt kept open in `part_processed`, nothing moved; it finishes once PayPal
/// answers.
#[tokio::test]
async fn paypal_unreadable_at_the_approval_keeps_the_attempt_open_with_nothing_moved() {
    let world = World::seeded(1, 300).await;
    let no = world.plain_authorization();
    let c = case(&world, no).await;
    let dir = tempfile::tempdir().expect("dir");
    let wrong = desk_at(&c.sb.base_url(), &c.sb.base_url(), dir.path(), "not-the-secret").await;
    wrong.sync(false, &no_progress()).await.expect("sync");
    let e = wrong.capture(no).await.expect_err("credentials refused");
    assert_eq!(
        (e.code, e.message.as_str()),
        (
            ErrorCode::MissingCredentials,
            "PayPal refused our API credentials. Check the PayPal client id and secret in Settings."
        )
    );
    let entry = only_entry(&wrong, no).await;
    assert_eq!(entry.state(), State::PartProcessed);
    wrong.close().await;
    assert_nothing_moved(&c.sb, no, &c.before).await;

    set_faults(&c.sb, r#"{"routes":{"GET /v2/payments/authorizations/{id}":{"error_rate":1,"error_status":503}}}"#)
        .await;
    let r = c.d.capture(no).await.expect("result");
    assert_eq!((r.state, r.finished), (State::PartProcessed, false), "{r:?}");
    let entry = only_entry(&c.d, no).await;
    assert!(entry.last_error.as_deref().is_some_and(|x| x.starts_with("paypal_")), "{entry:?}");
    assert_nothing_moved(&c.sb, no, &c.before).await;
    set_faults(&c.sb, "{}").await;
    let done = c.d.recover().await.expect("recover");
    assert_eq!(done.iter().map(|r| r.state).collect::<Vec<_>>(), vec![State::Finalized]);
    c.d.close().await;
}

/// send_capture: PayPal answers the capture itself `403 PERMISSION_DENIED` (an order and an
/// authorization). That says who asks, not what was captured: PayPal is read, still holds the
/// order approved or the authorization open, so the attempt waits with nothing moved; the same
/// request captures once the refusal is gone.
#[tokio::test]
async fn a_capture_paypal_refuses_with_403_waits_with_nothing_moved() {
    let world = World::seeded(1, 300).await;
    for (no, route) in [
        (world.order_without_wallet(), "POST /v2/checkout/orders/{id}/capture"),
        (world.plain_authorization(), "POST /v2/payments/authorizations/{id}/capture"),
    ] {
        let c = case(&world, no).await;
        set_faults(&c.sb, &format!(r#"{{"routes":{{"{route}":{{"error_rate":1,"error_status":403}}}}}}"#)).await;
        let r = c.d.capture(no).await.expect("a result");
        assert_eq!((r.state, r.finished), (State::PaypalCaptureSent, false), "{r:?}");
        let e = only_entry(&c.d, no).await;
        assert!(e.last_error.as_deref().is_some_and(|x| x.contains("PERMISSION_DENIED")), "{e:?}");
        set_faults(&c.sb, "{}").await;
        assert_nothing_moved(&c.sb, no, &c.before).await;
        let done = c.d.recover().await.expect("recover");
        assert_eq!(done.iter().map(|r| r.state).collect::<Vec<_>>(), vec![State::Finalized]);
        c.d.close().await;
    }
}

/// After PayPal captured, a disagreement needs a clerk (`needs_attention`) and nothing is
/// finalized: refunded before verification, captured by someone else for another amount, or
/// the journal lost the capture id. A capture that cannot be read back (PayPal gave us its id;
/// a 404 right after may be PayPal's own delay) decides nothing: it waits, then finalizes.
#[tokio::test]
async fn disagreements_after_the_capture_need_attention_and_finalize_nothing() {
    let world = World::seeded(1, 300).await;
    let order = world.order_without_wallet();
    let auth = world.plain_authorization();

    // the capture cannot be read back: nothing decided, nothing finalized yet
    let c = case(&world, order).await;
    set_faults(&c.sb, r#"{"routes":{"GET /v2/payments/captures/{id}":{"error_rate":1,"error_status":404}}}"#).await;
    let r = c.d.capture(order).await.expect("result");
    let id = r.capture_id.clone().expect("captured");
    assert_eq!((r.state, r.finished), (State::PaypalCaptured, false), "{r:?}");
    assert!(r.detail.as_deref().is_some_and(|d| d.contains("cannot be read now") && d.contains("404")), "{r:?}");
    set_faults(&c.sb, "{}").await;
    assert_captured_not_finalized(&c.sb, &id).await;
    let done = c.d.recover().await.expect("recover").remove(0);
    assert_eq!((done.state, done.capture_id.as_deref()), (State::Finalized, Some(id.as_str())), "{done:?}");
    c.d.close().await;

    // refunded between the capture and its verification
    let c = case(&world, order).await;
    let e = c.d.capture_with(order, &StopOnce::new(Step::Capture, true)).await.expect_err("crash");
    assert_eq!(e.code, ErrorCode::Internal);
    let id = ledger(&c.sb).await["paypal_captures"][0]["id"].as_str().expect("captured").to_owned();
    let (status, _) = paypal_post(&c.sb, &format!("/v2/payments/captures/{id}/refund"), json!({})).await;
    assert_eq!(status, 201);
    let r = c.d.recover().await.expect("recover").remove(0);
    assert_eq!((r.state, r.capture_id.as_deref()), (State::NeedsAttention, Some(id.as_str())), "{r:?}");
    assert_eq!(r.message, format!("Needs attention: the PayPal capture {id} is refunded; check it before finalizing"));
    assert_captured_not_finalized(&c.sb, &id).await;
    c.d.close().await;

    // someone else captured the authorization, for another amount: adopted, then refused
    let c = case(&world, auth).await;
    let cur = world.currency(auth).to_owned();
    let (status, theirs) = paypal_post(
        &c.sb,
        &format!("/v2/payments/authorizations/{}/capture", world.authorization_id(auth)),
        json!({ "amount": { "currency_code": cur, "value": "1.00" }, "final_capture": true }),
    )
    .await;
    assert_eq!(status, 201);
    let id = theirs["id"].as_str().expect("their capture").to_owned();
    let r = c.d.capture(auth).await.expect("result");
    assert_eq!(
        (r.state, r.adopted, r.capture_id.as_deref()),
        (State::NeedsAttention, true, Some(id.as_str())),
        "{r:?}"
    );
    assert_eq!(
        r.message,
        format!("Needs attention: PayPal captured 1.00 {cur} but the PayPal part is {} {cur}", world.outstanding(auth))
    );
    assert_captured_not_finalized(&c.sb, &id).await;
    c.d.close().await;

    // the journal lost the capture id (a damaged database): before verifying, before finalizing
    for (step, reason) in
        [(Step::Verify, "the journal has no capture id"), (Step::Finalize, "the journal has no capture id to finalize")]
    {
        let c = case(&world, order).await;
        c.d.capture_with(order, &StopOnce::new(step, false)).await.expect_err("crash");
        sqlx::query("UPDATE capture_journal SET capture_id = NULL").execute(c.d.pool()).await.expect("damage");
        let r = c.d.recover().await.expect("recover").remove(0);
        assert_eq!((r.state, r.message.clone()), (State::NeedsAttention, format!("Needs attention: {reason}")));
        let id = ledger(&c.sb).await["paypal_captures"][0]["id"].as_str().expect("captured").to_owned();
        assert_captured_not_finalized(&c.sb, &id).await;
        c.d.close().await;
    }
}

/// One PayPal capture (`id`), no finalization, the invoice still outstanding at the gateway.
async fn assert_captured_not_finalized(sb: &Sandbox, id: &str) {
    let l = ledger(sb).await;
    let ids: Vec<&str> =
        l["paypal_captures"].as_array().expect("captures").iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, vec![id]);
    assert_eq!(l["gateway_finalizations"], json!([]));
}

/// finalize: the gateway does not answer → the attempt waits in `finalize_sent`; the next
/// resume reads the invoice first and finalizes once.
#[tokio::test]
async fn a_finalization_without_an_answer_waits_and_is_sent_once_on_resume() {
    let world = World::seeded(1, 300).await;
    let no = world.order_with_wallet();
    let c = case(&world, no).await;
    set_faults(
        &c.sb,
        // the gateway's own (documented) 500: an answer, so the resume need not wait out the
        // window of a send that may still land (a proxy's 503 would be waited out)
        r#"{"routes":{"POST /api/v1/billing/invoice/paypal/capture":{"error_rate":1,"error_status":500}}}"#,
    )
    .await;
    let r = c.d.capture(no).await.expect("result");
    assert_eq!((r.state, r.finished), (State::FinalizeSent, false), "{r:?}");
    assert_captured_not_finalized(&c.sb, r.capture_id.as_deref().expect("captured")).await;
    set_faults(&c.sb, "{}").await;
    let done = c.d.recover().await.expect("recover").remove(0);
    assert_eq!(done.state, State::Finalized, "{done:?}");
    let l = ledger(&c.sb).await;
    assert_eq!(l["gateway_finalizations"].as_array().map(Vec::len), Some(1));
    assert_eq!(l["gateway_finalizations"][0]["paymentId"], json!(r.capture_id));
    c.d.close().await;
}

/// wallet_pay: paid by someone else meanwhile → rejected (the wallet untouched); the gateway
/// refuses the payment → rejected; the gateway does not answer → waits, pays once on resume.
#[tokio::test]
async fn full_wallet_payment_refusals() {
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let no = {
        let d = synced_desk(&sb, dir.path()).await;
        let no = full_wallet_invoice(&d).await;
        d.close().await;
        no
    };
    drop(sb);

    // paid elsewhere between the decision and the payment
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let before = gateway_invoice(&sb, no).await;
    d.capture_with(no, &StopOnce::new(Step::WalletPay, false)).await.expect_err("crash");
    assert_eq!(pay_elsewhere(&sb, no, "BANK-TRANSFER-2").await, 200);
    let r = d.recover().await.expect("recover").remove(0);
    assert_eq!(
        (r.state, r.message.as_str()),
        (State::Rejected, "Not captured: the invoice is already paid at the gateway")
    );
    let (wallet, _) = wallet_payments(&sb, no).await;
    assert!(wallet.is_empty(), "no wallet payment: {wallet:?}");
    assert_eq!(gateway_invoice(&sb, no).await["wallet"], before["wallet"], "the wallet is untouched");
    assert_eq!(d.invoice(no).await.expect("cached").status, billing::invoices::InvoiceStatus::Paid);
    d.close().await;

    // the gateway refuses the wallet payment
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let before = gateway_invoice(&sb, no).await;
    set_faults(&sb, r#"{"routes":{"POST /api/v1/billing/invoice/pay":{"error_rate":1,"error_status":403}}}"#).await;
    let refused = gateway::GatewayError::Forbidden { message: "Request blocked by traffic guard".into() };
    assert_refused(&d, no, &format!("the wallet payment was refused: {refused}")).await;
    set_faults(&sb, "{}").await;
    assert_nothing_moved(&sb, no, &before).await;
    d.close().await;

    // the gateway does not answer: waits in wallet_pay_sent, then pays once
    let sb = crate::common::sandbox(300, 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let before = gateway_invoice(&sb, no).await;
    // the gateway's own 500: an answer (see above)
    set_faults(&sb, r#"{"routes":{"POST /api/v1/billing/invoice/pay":{"error_rate":1,"error_status":500}}}"#).await;
    let r = d.capture(no).await.expect("result");
    assert_eq!((r.state, r.finished), (State::WalletPaySent, false), "{r:?}");
    set_faults(&sb, "{}").await;
    assert_nothing_moved(&sb, no, &before).await;
    assert_eq!(d.recover().await.expect("recover").remove(0).state, State::Finalized);
    let (wallet, _) = wallet_payments(&sb, no).await;
    assert_eq!(wallet.len(), 1, "{wallet:?}");
    d.close().await;
}

/// PayPal calls the order COMPLETED yet shows no capture of it: money may have moved, so the
/// attempt is never read as "nothing moved": it needs attention, and nothing is sent.
#[tokio::test]
async fn a_completed_order_without_a_capture_needs_attention_and_nothing_is_sent() {
    let seeded = World::seeded(1, 300).await;
    let order = seeded.find("an approved order", |w, no| w.is_order(no, "APPROVED", "Completed"));
    let mut world = World::seeded(1, 300).await;
    world.order_mut(order)["status"] = json!("COMPLETED");
    let c = case(&world, order).await;
    let p = c.d.capture_preview(order).await.expect("preview");
    assert!(!p.ready, "the preview shows it: {p:?}");
    let r = c.d.capture(order).await.expect("a result");
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    assert!(r.message.contains("shows no capture"), "{r:?}");
    assert_eq!(r.capture_id, None);
    assert_nothing_moved(&c.sb, order, &c.before).await;
}
