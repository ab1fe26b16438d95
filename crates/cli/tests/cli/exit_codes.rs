//! The README's exit codes that are not about how a capture ended: 1 internal/storage, 2 bad
//! input, 3 not found, 4 gateway unreachable, 5 credentials missing or refused, 6 the gateway
//! refused or failed. (0 and 6–9 for captures: `capture.rs`.)

use crate::common::{config, Harness, SEED_INVOICE};
use sandbox::world::CaptureOutcome;
use serde_json::{json, Value};

/// `desk: MESSAGE` on stderr (after any log lines).
#[track_caller]
fn assert_error(stderr: &str, message: &str) {
    assert!(
        stderr.lines().any(|l| l.starts_with("desk: ") && l.contains(message)),
        "{message:?} expected in\n{stderr}"
    );
}

#[tokio::test]
async fn storage_that_cannot_be_used_exits_1() {
    let h = Harness::start(config(60, 5)).await;
    // the data directory is a file
    let file = h.tmp().join("not-a-directory");
    std::fs::write(&file, "x").expect("write");
    let out = h.desk(&["status"]).env("DESK_DATA_DIR", file.display().to_string()).run().await.code(1);
    assert_error(&out.stderr, "The local database could not be read or written.");
    // the database is not a database
    let dir = h.tmp().join("garbage");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("desk.sqlite3"), vec![0x5a_u8; 8192]).expect("write");
    for args in [&["status"][..], &["invoices", "list"], &["sync"]] {
        let out = h.desk(args).env("DESK_DATA_DIR", dir.display().to_string()).run().await.code(1);
        assert_error(&out.stderr, "The local database could not be read or written.");
    }
    // the real data directory was never created
    assert!(!h.data_dir().exists());
}

#[tokio::test]
async fn bad_input_exits_2() {
    let h = Harness::synced(config(60, 5)).await;
    for (args, message) in [
        (&["invoices", "list", "--limit", "0"][..], "--limit must be at least 1."),
        (&["invoices", "list", "--min-amount", "12,50"], "The minimum amount \"12,50\" is not a number like 1250.00."),
        (&["invoices", "list", "--min-amount", "10", "--max-amount", "5"], "The minimum amount is above the maximum."),
        (&["invoices", "list", "--due-from", "31.12.2026"], "must look like 2026-12-31"),
        (&["invoices", "list", "--status", "lost"], "Unknown status \"lost\""),
        (&["invoices", "list", "--currency", "EURO"], "Unknown currency \"EURO\""),
        (&["invoices", "list", "--paypal", "--no-paypal"], "cannot be used with"),
        (&["invoices", "list", "--sort", "colour"], "invalid value 'colour'"),
        (&["invoices", "show", "abc"], "invalid value 'abc'"),
        (&["capture", "--yes"], "required"),
        (&["sync", "--fast"], "unexpected argument '--fast'"),
    ] {
        let out = h.run(args).await.code(2);
        assert!(out.stderr.contains(message), "desk {args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "desk {args:?}");
    }
    // settings from the environment are checked too
    let out = h.desk(&["status"]).env("DESK_ENV", "staging").run().await.code(2);
    assert_error(&out.stderr, "Unknown environment \"staging\"");
    let out = h.desk(&["status"]).env("DESK_GATEWAY_URL", "ftp://gateway.example").run().await.code(2);
    assert_error(&out.stderr, "The gateway URL must start with http:// or https://.");
    h.ledger().await.assert_nothing_moved();
}

#[tokio::test]
async fn what_is_not_there_exits_3() {
    let h = Harness::synced(config(60, 5)).await;
    let out = h.run(&["invoices", "show", "1"]).await.code(3);
    assert_error(&out.stderr, "Invoice 1 is not in the local cache. Sync, then try again.");
    let out = h.run(&["invoices", "show", "1", "--json"]).await.code(3);
    assert_eq!(out.stdout, "");
    let out = h.run(&["capture", "1", "--yes"]).await.code(3);
    assert_error(&out.stderr, "invoice 1: Invoice 1 is not in the local cache.");
    h.ledger().await.assert_nothing_moved();
    assert_eq!(h.json(&["journal"]).await, json!([]));
}

#[tokio::test]
async fn an_unreachable_gateway_exits_4_and_the_cache_still_answers() {
    // a port nothing listens on: bound, then released
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let mut h = Harness::start(config(60, 5)).await;
    let out = h.desk(&["sync"]).env("DESK_GATEWAY_URL", closed.as_str()).run().await.code(4);
    assert_error(&out.stderr, "The gateway cannot be reached (offline?).");

    // synced, then the sandbox goes away
    h.run(&["sync"]).await.code(0);
    let cached = h.json(&["status"]).await["cachedInvoices"].clone();
    h.stop_sandbox().await;
    let out = h.run(&["sync"]).await.code(4);
    assert_error(&out.stderr, "The gateway cannot be reached (offline?).");
    let st = h.json(&["status"]).await;
    assert_eq!(st["cachedInvoices"], cached);
    assert_ne!(st["lastSyncError"], Value::Null, "{st}");
    let out = h.run(&["status"]).await.code(0);
    assert!(out.line("last sync error:").len() > "last sync error: ".len());
    // the cache is browsable offline
    assert_eq!(h.json(&["invoices", "show", &SEED_INVOICE.to_string()]).await["total"], "250.00");
    assert!(!h.json(&["invoices", "list", "--all"]).await.as_array().expect("rows").is_empty());
    // a capture cannot even start: it waits (8), journaled, nothing sent
    let out = h.run(&["capture", &SEED_INVOICE.to_string(), "--yes", "--json"]).await.code(8);
    assert_eq!(out.json()[0]["state"], "planned");
    assert_eq!(h.json(&["journal", "--open"]).await[0]["state"], "planned");
}

#[tokio::test]
async fn missing_or_refused_credentials_exit_5() {
    let h = Harness::start(config(60, 5)).await;
    // no gateway token in the environment, and no keyring to ask (no session bus): missing
    let out = h.desk(&["sync"]).env_remove("DESK_GATEWAY_TOKEN").run().await.code(5);
    assert_error(&out.stderr, "No keyring is available");
    let st = h.desk(&["status", "--json"]).env_remove("DESK_GATEWAY_TOKEN").run().await.code(0).json();
    assert!(st["gatewayProblem"].as_str().is_some_and(|p| !p.is_empty()), "{st}");
    assert_eq!(st["gatewayUrl"], Value::Null);
    // a token the gateway refuses
    let out = h.desk(&["sync"]).env("DESK_GATEWAY_TOKEN", "wrong-token").run().await.code(5);
    assert_error(&out.stderr, "The gateway refused our staff token");

    h.run(&["sync"]).await.code(0);
    let f = h.order_fixture(CaptureOutcome::Completed);
    // no PayPal secret: the capture cannot start
    let out = h.desk(&["capture", &f.no(), "--yes"]).env_remove("DESK_PAYPAL_CLIENT_SECRET").run().await.code(5);
    assert_error(&out.stderr, "No keyring is available");
    // a secret PayPal refuses: the wallet part is prepared, then PayPal says no
    let out =
        h.desk(&["capture", &f.no(), "--yes"]).env("DESK_PAYPAL_CLIENT_SECRET", "wrong-secret").run().await.code(5);
    assert_error(
        &out.stderr,
        &format!(
            "invoice {}: PayPal refused our API credentials. Check the PayPal client id and secret in Settings.",
            f.invoice_no
        ),
    );
    h.ledger().await.assert_nothing_moved();
    // with the right secret the same attempt goes through, once
    let out = h.run(&["capture", &f.no(), "--yes", "--json"]).await.code(0);
    assert_eq!(out.json()[0]["state"], "finalized");
    h.ledger().await.assert_one(f.invoice_no, &f.order_id, &f.currency, f.paypal_amount);
    assert_eq!(h.json(&["journal"]).await.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_gateway_that_fails_or_refuses_exits_6() {
    let h = Harness::start(config(60, 5)).await;
    // every list request fails with 500 (after the client's retries)
    h.set_faults(json!({"routes":{"GET /api/v1/billing_admin/invoices":{"error_rate":1,"error_status":500}}})).await;
    let out = h.run(&["sync"]).await.code(6);
    assert_error(&out.stderr, "The gateway had an internal error. Please try again later.");
    // the traffic guard blocks it
    h.set_faults(json!({"routes":{"GET /api/v1/billing_admin/invoices":{"error_rate":1,"error_status":403}}})).await;
    let out = h.run(&["sync", "--json"]).await.code(6);
    assert_error(&out.stderr, "The gateway's traffic guard blocked the request.");
    assert_eq!(out.stdout, "");
    let st = h.json(&["status"]).await;
    assert_eq!(st["cachedInvoices"], 0);
    assert_ne!(st["lastSyncError"], Value::Null);
    h.set_faults(json!({})).await;
    h.run(&["sync"]).await.code(0);
}
