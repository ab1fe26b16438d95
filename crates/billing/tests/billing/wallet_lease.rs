//! One customer's wallet, one capture at a time (capture/wallet_lease.rs): two invoices of the
//! same customer, each with a PayPal authorization for the whole invoice, and 10.00 in the
//! customer's wallet. Part-process promises each the whole wallet; only one may have it.
//!
//! The seeded world gives no customer with wallet money two approvals (so that the seed's
//! approvals stay capturable); the fixture shapes one through the sandbox's state file.

use crate::capture_paths::{gateway_invoice, ledger, synced_desk, StopOnce, World};
use crate::common::desk_at;
use billing::capture::{State, Step};
use billing::Desk;
use rust_decimal::Decimal;
use sandbox::Sandbox;
use serde_json::{json, Value};
use std::str::FromStr;

/// Two outstanding invoices of one customer in one currency with cents, each with a fresh
/// authorization of its whole outstanding amount; the customer's wallet holds 10.00 of it.
pub(crate) struct SharedWallet {
    pub world: World,
    pub a: i64,
    pub b: i64,
    pub customer: String,
    pub currency: String,
}

impl SharedWallet {
    pub(crate) async fn new() -> SharedWallet {
        let mut world = World::seeded(1, 300).await;
        let template_no =
            world.find("a capturable authorization", |w, no| w.is_authorization(no, "CREATED", "Completed"));
        let template_order = world.json["orders"][world.order_id(template_no)].clone();
        let template_auth = world.json["authorizations"][world.authorization_id(template_no)].clone();
        let approved_at = world.invoice(template_no)["paypal"]["approved_at"].clone();
        // one customer, two outstanding invoices in the same currency with cents
        let invoices = world.json["invoices"].as_object().expect("invoices").clone();
        let outstanding: Vec<&Value> = invoices
            .values()
            .filter(|i| i["status"] == "outstanding" && !matches!(i["currency"].as_str(), Some("JPY" | "HUF")))
            .collect();
        let (a, b) = outstanding
            .iter()
            .flat_map(|x| outstanding.iter().map(move |y| (*x, *y)))
            .find(|(x, y)| x["no"] != y["no"] && x["customer_id"] == y["customer_id"] && x["currency"] == y["currency"])
            .map(|(x, y)| (x["no"].as_i64().expect("no"), y["no"].as_i64().expect("no")))
            .expect("seed 1 has a customer with two outstanding invoices in one currency");
        let customer = world.invoice(a)["customer_id"].as_str().expect("customer").to_owned();
        let currency = world.invoice(a)["currency"].as_str().expect("currency").to_owned();
        world.json["customers"][&customer]["wallet"] = json!({ "currency": currency, "balance": "10.00" });
        for (n, no) in [a, b].into_iter().enumerate() {
            let value = world.invoice(no)["outstanding"].clone();
            let (order_id, auth_id) = (format!("SHAREDWALLETORD{n}"), format!("SHAREDWALLETAUT{n}"));
            let mut order = template_order.clone();
            order["id"] = json!(order_id);
            order["intent"] = json!("AUTHORIZE");
            order["status"] = json!("COMPLETED");
            order["currency"] = json!(currency);
            order["value"] = value.clone();
            order["invoice_id"] = json!(no.to_string());
            order["capture_ids"] = json!([]);
            order["authorization_ids"] = json!([auth_id]);
            order["outcome"] = json!("Completed");
            let mut auth = template_auth.clone();
            auth["id"] = json!(auth_id);
            auth["order_id"] = json!(order_id);
            auth["status"] = json!("CREATED");
            auth["currency"] = json!(currency);
            auth["value"] = value;
            auth["invoice_id"] = json!(no.to_string());
            auth["capture_ids"] = json!([]);
            auth["outcome"] = json!("Completed");
            world.json["orders"][&order_id] = order;
            world.json["authorizations"][&auth_id] = auth;
            world.json["invoices"][no.to_string()]["paypal"] = json!({
                "intent": "AUTHORIZE", "order_id": order_id, "authorization_id": auth_id, "approved_at": approved_at,
            });
        }
        SharedWallet { world, a, b, customer, currency }
    }

    fn outstanding(&self, no: i64) -> Decimal {
        Decimal::from_str(self.world.invoice(no)["outstanding"].as_str().expect("outstanding")).expect("decimal")
    }

    /// What the sandbox holds once both are paid, each exactly once, the wallet's 10.00 once:
    /// one PayPal capture per invoice, one finalization per capture, the wallet empty, and the
    /// PayPal parts adding up to both invoices less the 10.00.
    pub(crate) async fn assert_both_paid_once(&self, sb: &Sandbox) {
        let l = ledger(sb).await;
        let caps = l["paypal_captures"].as_array().expect("captures");
        let fins = l["gateway_finalizations"].as_array().expect("finalizations");
        assert_eq!((caps.len(), fins.len()), (2, 2), "{l}");
        let captured: Decimal =
            caps.iter().map(|c| Decimal::from_str(c["amount"]["value"].as_str().expect("value")).expect("dec")).sum();
        let total = self.outstanding(self.a) + self.outstanding(self.b);
        assert_eq!(captured, total - Decimal::new(1000, 2), "the wallet paid 10.00 exactly once");
        for no in [self.a, self.b] {
            let inv = gateway_invoice(sb, no).await;
            assert_eq!(inv["status"], "paid", "{inv}");
        }
        let wallet = &gateway_invoice(sb, self.a).await["wallet"];
        assert_eq!(Decimal::from_str(&wallet["balance"].to_string()).expect("balance"), Decimal::ZERO, "{wallet}");
        let mut wallet_payments = Vec::new();
        for no in [self.a, self.b] {
            let inv = gateway_invoice(sb, no).await;
            let pays = inv["payments"].as_array().cloned().unwrap_or_default();
            wallet_payments.extend(pays.into_iter().filter(|p| p["method"] == "wallet"));
        }
        assert_eq!(wallet_payments.len(), 1, "one wallet payment: {wallet_payments:?}");
    }
}

async fn leases(d: &Desk) -> Vec<(String, i64)> {
    sqlx::query_as("SELECT wallet_key, journal_id FROM wallet_lease").fetch_all(d.pool()).await.expect("leases")
}

async fn journal_states(d: &Desk) -> Vec<(i64, State)> {
    let mut j: Vec<(i64, State)> =
        d.journal(None, 100).await.expect("journal").iter().map(|e| (e.invoice_no, e.state())).collect();
    j.sort_by_key(|(no, _)| *no);
    j
}

/// Each PayPal capture takes 400 ms: whichever capture goes first is still capturing when the
/// other one could part-process (without the lease, both are promised the wallet every time).
fn slow_paypal_captures(sb: &Sandbox) {
    let faults = json!({ "routes": { "POST /v2/payments/authorizations/{id}/capture": { "latency_ms": 400 } } });
    sb.set_faults(serde_json::from_value(faults).expect("faults"));
}

/// `desk capture A B` (four at a time) in one process, as `futures::join!` of two captures.
#[tokio::test]
async fn two_captures_of_one_customer_through_one_desk_take_the_wallet_one_after_the_other() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    slow_paypal_captures(&sb);

    let (ra, rb) = futures::join!(d.capture(f.a), d.capture(f.b));
    let (ra, rb) = (ra.expect("capture a"), rb.expect("capture b"));
    assert_eq!((ra.state, rb.state), (State::Finalized, State::Finalized), "{ra:?}\n{rb:?}");
    f.assert_both_paid_once(&sb).await;
    // exactly one of them had the wallet part
    let wallet_parts: Vec<String> = [&ra, &rb].iter().filter_map(|r| r.wallet_amount.clone()).collect();
    assert!(wallet_parts.contains(&"10.00".to_owned()), "{wallet_parts:?}");
    assert_eq!(leases(&d).await, vec![], "every lease given back");
    d.close().await;
}

/// The app and `desk` side by side: two desks on one data directory.
#[tokio::test]
async fn two_desks_on_one_data_directory_take_the_wallet_one_after_the_other() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d1 = synced_desk(&sb, dir.path()).await;
    let d2 = desk_at(&sb.base_url(), &sb.base_url(), dir.path(), "demo-client-secret").await;
    slow_paypal_captures(&sb);

    let (ra, rb) = futures::join!(d1.capture(f.a), d2.capture(f.b));
    let (ra, rb) = (ra.expect("capture a"), rb.expect("capture b"));
    assert_eq!((ra.state, rb.state), (State::Finalized, State::Finalized), "{ra:?}\n{rb:?}");
    f.assert_both_paid_once(&sb).await;
    assert_eq!(journal_states(&d1).await, vec![(f.a.min(f.b), State::Finalized), (f.a.max(f.b), State::Finalized)]);
    d1.close().await;
    d2.close().await;
}

/// An attempt that part-processed and stopped (a crash, PayPal pending) still carries the
/// wallet's promise: the other invoice is not part-processed, let alone captured, until it is
/// finished; the preview says so.
#[tokio::test]
async fn an_open_attempt_past_part_process_defers_the_other_invoice_of_its_wallet() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;

    // A part-processes (promised the 10.00) and stops before PayPal
    let stop = StopOnce::new(Step::ReadApproval, false);
    d.capture_with(f.a, &stop).await.expect_err("stopped");
    assert_eq!(journal_states(&d).await, vec![(f.a, State::PartProcessed)]);

    let p = d.capture_preview(f.b).await.expect("preview");
    assert!(!p.ready, "{p:?}");
    let words = format!(
        "Invoice {} of the same customer has an unfinished capture (part processed) that has already drawn on the \
         customer's wallet: finish it first (recovery resumes it)",
        f.a
    );
    assert!(p.problems.iter().any(|x| x.starts_with(&words)), "{:?}", p.problems);

    let part_process = || async { stat(&sb, "POST /api/v1/billing/invoice/part-process").await };
    let before = part_process().await;
    let r = d.capture(f.b).await.expect("deferred, not an error");
    assert_eq!((r.state, r.finished), (State::Planned, false), "{r:?}");
    assert!(r.message.starts_with(&format!("Not started: {}", words.replacen('I', "i", 1))), "{}", r.message);
    assert_eq!(part_process().await, before, "B was not part-processed");
    assert_eq!(ledger(&sb).await["paypal_captures"], json!([]), "nothing captured");

    // recovery finishes A first (the older attempt), then B takes what is left of the wallet
    let results = d.recover().await.expect("recover");
    assert!(results.iter().all(|r| r.state == State::Finalized), "{results:?}");
    assert_eq!(journal_states(&d).await, vec![(f.a.min(f.b), State::Finalized), (f.a.max(f.b), State::Finalized)]);
    f.assert_both_paid_once(&sb).await;
    d.close().await;
}

async fn stat(sb: &Sandbox, target: &str) -> u64 {
    let s: Value =
        reqwest::get(format!("{}/__sandbox/stats", sb.base_url())).await.expect("stats").json().await.expect("json");
    s["by_route"][target].as_u64().unwrap_or(0)
}

/// Writes the lease a killed process left: its holder never renews or gives it back.
async fn dead_holders_lease(d: &Desk, customer: &str, invoice_no: i64, expires_at_ms: i64) {
    sqlx::query(
        "INSERT INTO wallet_lease (wallet_key, holder, journal_id, invoice_no, acquired_at, expires_at) \
         VALUES (?, '999999-deadbeef/1/j999', 999, ?, '2026-01-01T00:00:00Z', ?)",
    )
    .bind(format!("customer:{customer}"))
    .bind(invoice_no)
    .bind(expires_at_ms)
    .execute(d.pool())
    .await
    .expect("a dead holder's lease");
}

#[tokio::test]
async fn an_expired_lease_of_a_killed_holder_is_taken_over() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    dead_holders_lease(&d, &f.customer, f.a, chrono::Utc::now().timestamp_millis() - 1_000).await;

    let r = d.capture(f.b).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert_eq!(leases(&d).await, vec![], "taken over, then given back");
    d.close().await;
}

#[tokio::test]
async fn a_live_lease_is_waited_for_until_it_expires_and_then_taken_over() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let dir = tempfile::tempdir().expect("dir");
    let d = synced_desk(&sb, dir.path()).await;
    let expires = chrono::Utc::now().timestamp_millis() + 1_500;
    dead_holders_lease(&d, &f.customer, f.a, expires).await;

    let r = d.capture(f.b).await.expect("capture");
    assert_eq!(r.state, State::Finalized, "{r:?}");
    assert!(chrono::Utc::now().timestamp_millis() >= expires, "the capture waited for the lease");
    assert_eq!(leases(&d).await, vec![]);
    d.close().await;
}

/// Across desks nothing is shared: desk 2 captured B at PayPal with the wallet promised, then
/// desk 1 paid A with the same wallet. B's finalization is refused; it ends `needs_attention`
/// saying what happened and how to resolve it.
#[tokio::test]
async fn a_finalization_refused_for_a_wallet_another_desk_spent_needs_attention_with_its_resolution() {
    let f = SharedWallet::new().await;
    let sb = f.world.start().await;
    let (dir1, dir2) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
    let d1 = synced_desk(&sb, dir1.path()).await;
    let d2 = synced_desk(&sb, dir2.path()).await;

    let stop = StopOnce::new(Step::Finalize, false);
    d2.capture_with(f.b, &stop).await.expect_err("stopped before finalizing");
    let a = d1.capture(f.a).await.expect("capture a");
    assert_eq!(a.state, State::Finalized, "{a:?}");

    let r = d2.recover().await.expect("recover").pop().expect("b's result");
    assert_eq!((r.state, r.finished), (State::NeedsAttention, true), "{r:?}");
    let capture_id = r.capture_id.clone().expect("captured");
    let paypal_part = f.outstanding(f.b) - Decimal::new(1000, 2);
    let cur = &f.currency;
    assert_eq!(
        r.message,
        format!(
            "Needs attention: PayPal captured {paypal_part} {cur} ({capture_id}) but the gateway refused to finalize the invoice \
             (Invalid Amount): the customer's wallet no longer holds the 10.00 {cur} that part-process set aside for this invoice \
             (it holds 0.00 {cur} now): another payment drew on the same wallet meanwhile, probably from another Capture Desk. \
             To resolve it, refund the PayPal capture {capture_id} and capture the invoice again, or record the payment at the \
             gateway by hand and reconcile the customer's wallet"
        )
    );
    assert_eq!(gateway_invoice(&sb, f.b).await["status"], "outstanding");
    d1.close().await;
    d2.close().await;
}
