//! `desk capture`, `desk journal`, `desk recover`: money moves once, and the exit code says
//! how each capture ended (0, 6, 7, 8, 9). Every run is checked against the sandbox's ledger.

use crate::common::{config, dec, s, wait_for, Harness, Output, SEED_INVOICE, STAFF};
use rust_decimal::Decimal;
use sandbox::world::CaptureOutcome;
use serde_json::{json, Value};
use std::time::Duration;

fn only(v: &Value) -> &Value {
    let a = v.as_array().unwrap_or_else(|| panic!("not an array: {v}"));
    assert_eq!(a.len(), 1, "one element expected: {v}");
    &a[0]
}

/// Sends a signal to a child this test started (by its pid).
fn signal(child: &tokio::process::Child, sig: &str) {
    let pid = child.id().expect("the child is running").to_string();
    let status = std::process::Command::new("kill").args([sig, &pid]).status().expect("kill runs");
    assert!(status.success(), "kill {sig} {pid}");
}

#[tokio::test]
async fn capture_refuses_without_yes_off_a_terminal_then_pays_the_seed_example_exactly_once() {
    let h = Harness::synced(config(60, 5)).await;
    let no = SEED_INVOICE.to_string();
    // the desk lists it as awaiting capture
    let awaiting = h.json(&["invoices", "list", "--paypal"]).await;
    let row = awaiting.as_array().and_then(|a| a.iter().find(|r| r["invoiceNo"] == SEED_INVOICE)).expect("listed");
    assert_eq!(row["paypal"]["orderId"], "5O190127TN364715T");

    // no --yes and stdin is not a terminal: refused, nothing moved, nothing journaled
    let out = h.run(&["capture", &no]).await.code(2);
    assert!(out.stderr.contains("Confirm captures interactively, or pass --yes."), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    h.ledger().await.assert_nothing_moved();
    assert_eq!(h.json(&["journal"]).await, json!([]));

    // --yes: USD 250.00 less the wallet's EUR 40.50 at 1.0857 (= USD 43.97) leaves USD 206.03 for PayPal
    let out = h.run(&["capture", &no, "--yes", "--json"]).await.code(0);
    let results = out.json();
    let r = only(&results);
    assert_eq!(r["invoiceNo"], SEED_INVOICE);
    assert_eq!(r["state"], "finalized");
    assert_eq!(r["finished"], true);
    assert_eq!(r["paypalAmount"], "206.03");
    assert_eq!(r["walletAmount"], "40.50");
    assert_eq!(r["walletCurrency"], "EUR");
    assert_eq!(r["currency"], "USD");
    assert_eq!(r["adopted"], false);
    assert_eq!(
        r["message"],
        "Paid: 206.03 USD captured at PayPal plus 40.50 EUR from the wallet and the invoice is paid at the gateway."
    );
    let capture_id = h.ledger().await.assert_one(SEED_INVOICE, "5O190127TN364715T", "USD", Decimal::new(20603, 2));
    assert_eq!(r["captureId"], capture_id.as_str());

    // the journal: one finished attempt with the whole breakdown
    let journal = h.json(&["journal"]).await;
    let e = only(&journal);
    assert_eq!(e["invoiceNo"], SEED_INVOICE);
    assert_eq!(e["state"], "finalized");
    assert_eq!(e["path"], "paypal");
    assert_eq!(e["intent"], "CAPTURE");
    assert_eq!(e["orderId"], "5O190127TN364715T");
    assert_eq!(e["currency"], "USD");
    assert_eq!(e["outstanding"], "250.00");
    assert_eq!(e["walletCurrency"], "EUR");
    assert_eq!(e["walletAmount"], "40.50");
    assert_eq!(e["exchangeRate"], "1.0857");
    assert_eq!(e["walletInInvoiceCurrency"], "43.97");
    assert_eq!(e["paypalAmount"], "206.03");
    assert_eq!(e["approvedAmount"], "206.03");
    assert_eq!(e["captureId"], capture_id.as_str());
    assert_eq!(e["captureStatus"], "COMPLETED");
    assert_eq!(e["staff"], STAFF);
    assert_eq!(e["environment"], "sandbox");
    assert_eq!(h.json(&["journal", "--invoice", &no]).await, journal);
    assert_eq!(h.json(&["journal", "--invoice", "458600"]).await, json!([]));
    assert_eq!(h.json(&["journal", "--open"]).await, json!([]));
    assert_eq!(h.json(&["journal", "--limit", "1"]).await, journal);
    let out = h.run(&["journal"]).await.code(0);
    let lines: Vec<Vec<&str>> = out.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0][..7], ["ENTRY", "INVOICE", "STATE", "PAYPAL", "PART", "CUR", "CAPTURE"]);
    let id = e["id"].to_string();
    assert_eq!(lines[1], [id.as_str(), no.as_str(), "finalized", "206.03", "USD", capture_id.as_str()]);

    // the cache says paid at once
    let inv = h.json(&["invoices", "show", &no]).await;
    assert_eq!(inv["status"], "paid");
    assert_eq!(inv["outstanding"], "0.00");
    assert_eq!(inv["paypal"], Value::Null);

    // capturing again answers the finished attempt and moves nothing
    let out = h.run(&["capture", &no, "--yes"]).await.code(0);
    let line = out.line(&no);
    assert!(line.contains(" finalized ") && line.contains("Paid: 206.03 USD captured at PayPal"), "{line}");
    h.ledger().await.assert_one(SEED_INVOICE, "5O190127TN364715T", "USD", Decimal::new(20603, 2));
    assert_eq!(only(&h.json(&["journal"]).await)["id"], e["id"]);

    // nothing left to recover
    let out = h.run(&["recover"]).await.code(0);
    assert_eq!(out.stdout.trim(), "Nothing to recover: every capture is finished.");
    assert_eq!(h.json(&["recover"]).await, json!([]));
}

#[tokio::test]
async fn a_pending_capture_exits_8_and_recover_finalizes_it_once_paypal_completes_it() {
    // PENDING captures complete only when the control API says so
    let h = Harness::synced(config(300, 0)).await;
    let f = h.order_fixture(CaptureOutcome::Pending);
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(8);
    assert!(out.stderr.contains("1 capture(s) are not finished yet; `desk recover` resumes them."), "{}", out.stderr);
    let results = out.json();
    let r = only(&results);
    assert_eq!(r["invoiceNo"], f.invoice_no);
    assert_eq!(r["state"], "paypal_captured");
    assert_eq!(r["finished"], false);
    assert_eq!(dec(s(r, "paypalAmount")), f.paypal_amount);
    assert_eq!(r["currency"], f.currency.as_str());
    assert!(s(r, "message").contains("PayPal is still reviewing the capture (pending)"), "{r}");
    let capture_id = s(r, "captureId").to_owned();
    let ledger = h.ledger().await;
    assert_eq!(ledger.paypal_captures.len(), 1);
    assert_eq!(ledger.paypal_captures[0].id, capture_id);
    assert_eq!(ledger.paypal_captures[0].status, "PENDING");
    assert!(ledger.gateway_finalizations.is_empty(), "nothing finalized while pending");

    let open = h.json(&["journal", "--open"]).await;
    let e = only(&open);
    assert_eq!(e["state"], "paypal_captured");
    assert_eq!(e["captureStatus"], "PENDING");
    assert_eq!(e["captureId"], capture_id.as_str());

    // recover without waiting: still pending, still 8
    let out = h.run(&["recover", "--wait-pending", "0"]).await.code(8);
    let line = out.line(&f.no());
    assert!(line.contains("paypal captured") && line.contains("PayPal is still reviewing"), "{line}");
    assert_eq!(only(&h.json(&["journal", "--open"]).await)["state"], "paypal_captured");
    assert!(h.ledger().await.gateway_finalizations.is_empty());

    // a waiting recover: once it has looked, PayPal completes the capture; it finalizes and exits 0
    let looked = only(&h.json(&["journal", "--open"]).await)["attempts"].as_i64().expect("attempts");
    let waiting = h.desk(&["recover", "--wait-pending", "60", "--json"]).spawn();
    let hr = &h;
    wait_for("the waiting recover to look at the pending capture", Duration::from_secs(30), move || async move {
        let open = hr.json(&["journal", "--open"]).await;
        (only(&open)["attempts"].as_i64().expect("attempts") > looked).then_some(())
    })
    .await;
    assert_eq!(h.post(&format!("/__sandbox/captures/{capture_id}/complete"), &json!({})).await, 200);
    let out = Output::of("recover --wait-pending 60 --json", waiting).await.code(0);
    let results = out.json();
    let r = only(&results);
    assert_eq!(r["state"], "finalized");
    assert_eq!(r["captureId"], capture_id.as_str());
    h.ledger().await.assert_one(f.invoice_no, &f.order_id, &f.currency, f.paypal_amount);
    assert_eq!(h.json(&["journal", "--open"]).await, json!([]));
}

#[tokio::test]
async fn a_declined_capture_exits_9_with_nothing_finalized() {
    let h = Harness::synced(config(300, 5)).await;
    let f = h.order_fixture(CaptureOutcome::Declined);
    let out = h.run(&["capture", &f.no(), "--yes"]).await.code(9);
    assert!(out.stderr.contains("1 capture(s) were rejected or need attention."), "{}", out.stderr);
    let line = out.line(&f.no());
    assert!(
        line.contains(" rejected ")
            && line.contains("Not captured: PayPal declined the capture; nothing was finalized"),
        "{line}"
    );
    let ledger = h.ledger().await;
    assert_eq!(ledger.paypal_captures.len(), 1);
    assert_eq!(ledger.paypal_captures[0].status, "DECLINED");
    assert_eq!(dec(&ledger.paypal_captures[0].amount.value), f.paypal_amount);
    assert!(ledger.gateway_finalizations.is_empty(), "{ledger:?}");
    let e = only(&h.json(&["journal", "--invoice", &f.no()]).await).clone();
    assert_eq!(e["state"], "rejected");
    assert_eq!(e["captureStatus"], "DECLINED");
    assert_eq!(dec(s(&e, "paypalAmount")), f.paypal_amount);
    // a rejected attempt is finished: nothing to recover
    assert_eq!(h.json(&["recover"]).await, json!([]));
}

#[tokio::test]
async fn several_invoices_at_once_each_end_once_and_the_exit_code_reports_the_worst() {
    let h = Harness::synced(config(300, 0)).await;
    let done = h.order_fixture(CaptureOutcome::Completed);
    let pending = h.order_fixture(CaptureOutcome::Pending);
    let declined = h.order_fixture(CaptureOutcome::Declined);
    let out = h.run(&["capture", &done.no(), &pending.no(), &declined.no(), "--yes", "--json"]).await.code(9);
    let results = out.json();
    let by_no = |n: u64| {
        results
            .as_array()
            .and_then(|a| a.iter().find(|r| r["invoiceNo"] == n))
            .unwrap_or_else(|| panic!("no result for {n} in {results}"))
    };
    assert_eq!(results.as_array().map(Vec::len), Some(3));
    assert_eq!(by_no(done.invoice_no)["state"], "finalized");
    assert_eq!(by_no(pending.invoice_no)["state"], "paypal_captured");
    assert_eq!(by_no(declined.invoice_no)["state"], "rejected");
    let ledger = h.ledger().await;
    let status_of = |order: &str| -> Vec<&str> {
        ledger
            .paypal_captures
            .iter()
            .filter(|c| c.order_id.as_deref() == Some(order))
            .map(|c| c.status.as_str())
            .collect()
    };
    assert_eq!(status_of(&done.order_id), ["COMPLETED"]);
    assert_eq!(status_of(&pending.order_id), ["PENDING"]);
    assert_eq!(status_of(&declined.order_id), ["DECLINED"]);
    assert_eq!(ledger.paypal_captures.len(), 3);
    assert_eq!(ledger.gateway_finalizations.len(), 1);
    assert_eq!(ledger.gateway_finalizations[0].invoice_no, done.invoice_no);
    assert_eq!(ledger.gateway_finalizations[0].amount(), done.paypal_amount);

    // only the pending one is left open; recover reports it as unfinished (8)
    let open = h.json(&["journal", "--open"]).await;
    assert_eq!(only(&open)["invoiceNo"], pending.invoice_no);
    h.run(&["recover", "--wait-pending", "0"]).await.code(8);
}

#[tokio::test]
async fn journal_open_lists_every_unfinished_attempt_whatever_finished_after_it() {
    let h = Harness::synced(config(300, 0)).await;
    let pending = h.order_fixture(CaptureOutcome::Pending);
    let done = h.order_fixture(CaptureOutcome::Completed);
    let declined = h.order_fixture(CaptureOutcome::Declined);
    // the unfinished attempt is the oldest; two finished ones come after it
    h.run(&["capture", &pending.no(), "--yes"]).await.code(8);
    h.run(&["capture", &done.no(), "--yes"]).await.code(0);
    h.run(&["capture", &declined.no(), "--yes"]).await.code(9);
    assert_eq!(h.json(&["journal", "--limit", "2"]).await.as_array().map(Vec::len), Some(2));
    for limit in ["1", "2", "50"] {
        let open = h.json(&["journal", "--open", "--limit", limit]).await;
        assert_eq!(only(&open)["invoiceNo"], pending.invoice_no, "--limit {limit}: {open}");
    }
    let out = h.run(&["journal", "--open", "--limit", "1"]).await.code(0);
    assert_eq!(out.stdout.lines().count(), 2, "{}", out.stdout);
    assert!(out.stdout.lines().nth(1).is_some_and(|l| l.contains(&pending.no())), "{}", out.stdout);
    assert_eq!(h.json(&["journal", "--open", "--invoice", &done.no()]).await, json!([]));
}

#[tokio::test]
async fn paypal_failures_leave_the_capture_unfinished_and_recover_completes_it_exactly_once() {
    let h = Harness::synced(config(300, 5)).await;
    let f = h.order_fixture(CaptureOutcome::Completed);
    // PayPal answers 500 to every capture: the outcome is unknown, the attempt waits (8)
    h.set_faults(json!({"routes":{"POST /v2/checkout/orders/{id}/capture":{"error_rate":1,"error_status":500}}})).await;
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(8);
    let r = only(&out.json()).clone();
    assert_eq!(r["state"], "paypal_capture_sent");
    assert_eq!(r["finished"], false);
    h.ledger().await.assert_nothing_moved();

    // PayPal captures but every answer is lost: the replay's answer is lost too, so the desk
    // reads the order, finds the capture its request made, and finalizes it: captured once
    h.set_faults(json!({"routes":{"POST /v2/checkout/orders/{id}/capture":{"drop_after_commit_rate":1}}})).await;
    let out = h.run(&["recover", "--wait-pending", "0", "--json"]).await.code(0);
    let r = only(&out.json()).clone();
    assert_eq!(r["state"], "finalized");
    assert_eq!(r["journalId"], only(&h.json(&["journal"]).await)["id"]);
    let id = h.ledger().await.assert_one(f.invoice_no, &f.order_id, &f.currency, f.paypal_amount);
    assert_eq!(r["captureId"], id.as_str());
}

#[tokio::test]
async fn an_invoice_paid_by_someone_else_after_finalize_was_sent_needs_attention_then_is_refused() {
    let h = Harness::synced(config(300, 5)).await;
    let f = h.order_fixture(CaptureOutcome::Completed);
    // PayPal captures; the gateway fails the finalization with its own 500 (an answer: a proxy's
    // 503 would leave the send in flight, to be waited out before anything is concluded): 8
    h.set_faults(json!({"routes":{"POST /api/v1/billing/invoice/paypal/capture":{"error_rate":1,"error_status":500}}}))
        .await;
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(8);
    assert_eq!(only(&out.json())["state"], "finalize_sent");
    let ledger = h.ledger().await;
    assert_eq!(ledger.paypal_captures.len(), 1);
    assert_eq!(ledger.paypal_captures[0].status, "COMPLETED");
    assert!(ledger.gateway_finalizations.is_empty());
    let ours = ledger.paypal_captures[0].id.clone();
    h.set_faults(json!({})).await;

    // meanwhile someone else pays the invoice at the gateway, with the same breakdown
    let e = only(&h.json(&["journal", "--invoice", &f.no()]).await).clone();
    assert_eq!(e["state"], "finalize_sent");
    let body = format!(
        r#"{{"amount":{},"invoiceNo":{},"paymentId":"OTHER-DESK-PAYMENT","currencyCode":"{}","partPaymentFromWalletBalance":{}}}"#,
        s(&e, "paypalAmount"),
        f.invoice_no,
        f.currency,
        s(&e, "walletPartJson")
    );
    assert_eq!(h.post_raw("/api/v1/billing/invoice/paypal/capture", body).await, 200);

    // recover finds the invoice paid by another payment: needs attention (9), nothing sent again
    let out = h.run(&["recover", "--json"]).await.code(9);
    let r = only(&out.json()).clone();
    assert_eq!(r["state"], "needs_attention");
    assert_eq!(r["finished"], true);
    assert!(s(&r, "message").contains("already paid at the gateway by another payment"), "{r}");
    let ledger = h.ledger().await;
    assert_eq!(ledger.paypal_captures.len(), 1);
    assert_eq!(ledger.gateway_finalizations.len(), 1);
    assert_eq!(ledger.gateway_finalizations[0].payment_id, "OTHER-DESK-PAYMENT");
    assert!(ledger.gateway_finalizations.iter().all(|x| x.payment_id != ours), "our capture was never finalized");
    assert_eq!(h.json(&["journal", "--open"]).await, json!([]));
    let out = h.run(&["journal", "--invoice", &f.no()]).await.code(0);
    assert!(out.line(&e["id"].to_string()).contains("needs_attention"), "{}", out.stdout);

    // capturing it again: the gateway says it is paid, the new attempt is rejected (9)
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(9);
    let r = only(&out.json()).clone();
    assert_eq!(r["state"], "rejected");
    assert_eq!(r["message"], "Not captured: the invoice is already paid at the gateway");
    // and now the cache knows: the gateway refuses it before anything is tried (6)
    let out = h.run(&["capture", &f.no(), "--yes"]).await.code(6);
    assert!(
        out.stderr.contains(&format!("Invoice {} is not outstanding (it is paid).", f.invoice_no)),
        "{}",
        out.stderr
    );
    let ledger = h.ledger().await;
    assert_eq!(ledger.paypal_captures.len(), 1, "{ledger:?}");
    assert_eq!(ledger.gateway_finalizations.len(), 1, "{ledger:?}");
    // the journal, newest first: the rejected retry, then the attempt that needs attention
    let journal = h.json(&["journal", "--invoice", &f.no()]).await;
    let states: Vec<&str> = journal.as_array().expect("entries").iter().map(|e| s(e, "state")).collect();
    assert_eq!(states, ["rejected", "needs_attention"]);
    assert_eq!(journal[1]["id"], e["id"]);
    assert_eq!(h.json(&["journal", "--limit", "1"]).await, json!([journal[0].clone()]));
}

#[tokio::test]
async fn a_capture_another_process_took_over_exits_7_and_money_moves_once() {
    let h = Harness::synced(config(300, 5)).await;
    let f = h.order_fixture(CaptureOutcome::Completed);
    // A reads the order slowly; stop it while its attempt is part_processed
    h.set_faults(json!({"routes":{"GET /v2/checkout/orders/{id}":{"latency_ms":5000}}})).await;
    let a = h.desk(&["capture", &f.no(), "--yes", "--json"]).spawn();
    let (hr, no) = (&h, f.no());
    let no = no.as_str();
    wait_for("A's attempt to reach part_processed", Duration::from_secs(30), move || async move {
        let j = hr.json(&["journal", "--invoice", no]).await;
        (j.as_array().and_then(|a| a.first()).is_some_and(|e| e["state"] == "part_processed")).then_some(())
    })
    .await;
    signal(&a, "-STOP");
    h.set_faults(json!({})).await;

    // B resumes the same attempt and finishes it
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(0);
    assert_eq!(only(&out.json())["state"], "finalized");

    // A wakes up: the attempt moved under it; it stops with 7 and moves nothing
    signal(&a, "-CONT");
    let out = Output::of("capture (A)", a).await.code(7);
    assert!(
        out.stderr.contains(&format!(
            "desk: invoice {}: Another Capture Desk process is working on this invoice right now.",
            f.invoice_no
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.json(), json!([]));
    h.ledger().await.assert_one(f.invoice_no, &f.order_id, &f.currency, f.paypal_amount);
    let e = only(&h.json(&["journal", "--invoice", &f.no()]).await).clone();
    assert_eq!(e["state"], "finalized");
    assert_eq!(e["adopted"], false);
}
