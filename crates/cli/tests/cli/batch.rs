//! `desk batch create|list|show|exclude|include|approve|cancel` through the real binary: the
//! outputs, `--json` shapes and exit codes; four eyes by `DESK_STAFF` and `DESK_FOUR_EYES`.

use crate::common::{config, s, Harness, STAFF};
use serde_json::Value;
use std::collections::BTreeSet;

fn numbers(items: &Value) -> Vec<u64> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {items}"))
        .iter()
        .map(|i| i["invoiceNo"].as_u64().unwrap_or_else(|| panic!("no invoiceNo in {i}")))
        .collect()
}

fn id_of(v: &Value) -> String {
    v["id"].as_u64().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

/// The invoices `desk invoices list --paypal` shows, by number.
async fn approved(h: &Harness) -> Vec<u64> {
    let mut n = numbers(&h.json(&["invoices", "list", "--all", "--paypal", "--sort", "number"]).await);
    n.sort_unstable();
    n
}

async fn batch_count(h: &Harness) -> usize {
    h.json(&["batch", "list"]).await.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn create_from_a_filter_shows_items_and_totals_and_lists_it() {
    let h = Harness::synced(config(120, 5)).await;
    let want = approved(&h).await;
    assert!(want.len() > 3, "{} approved", want.len());

    let created = h.json(&["batch", "create", "--paypal", "--name", "check run"]).await;
    let id = id_of(&created);
    assert_eq!(numbers(&created["items"]), want);
    assert_eq!(created["state"], "draft");
    assert_eq!(created["sourceKind"], "filter");
    assert_eq!(created["createdBy"], STAFF);
    assert_eq!(created["name"], "check run");

    let shown = h.json(&["batch", "show", &id]).await;
    assert_eq!(shown, created);
    for item in shown["items"].as_array().expect("items") {
        // every item says its verdict and outcome (none yet), capture and amounts
        for key in ["verdict", "outcome", "captureId"] {
            assert_eq!(item[key], Value::Null, "{key} in {item}");
        }
        assert!(item["outstanding"].is_string() && item["currency"].is_string(), "{item}");
    }
    let totals = shown["totals"].as_array().expect("totals");
    assert_eq!(totals.iter().map(|t| t["count"].as_u64().unwrap_or(0)).sum::<u64>(), want.len() as u64);

    let list = h.json(&["batch", "list"]).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["id"], created["id"]);
    assert_eq!(list[0]["itemCount"], want.len());

    // the people's forms
    let out = h.run(&["batch", "show", &id]).await.code(0);
    assert!(out.line(&format!("batch {id}:")).contains("check run (draft)"), "{}", out.stdout);
    assert!(out.stdout.contains(&want[0].to_string()));
    let out = h.run(&["batch", "list"]).await.code(0);
    assert!(out.line(&id).contains("check run"), "{}", out.stdout);
    // an unknown batch: 3
    h.run(&["batch", "show", "999"]).await.code(3);
}

#[tokio::test]
async fn create_from_invoices_or_a_file_and_the_file_report_leaves_nothing_behind() {
    let h = Harness::synced(config(80, 6)).await;
    let a = approved(&h).await;
    let (x, y) = (a[0].to_string(), a[1].to_string());

    let file = h.tmp().join("list.csv");
    std::fs::write(&file, format!("invoiceNo,note\n{x},first\n424242424,unknown\n{y}\n{x},again\n")).expect("file");
    let path = file.display().to_string();
    let out = h.run(&["batch", "create", "--from-file", &path, "--json"]).await.code(2);
    assert_eq!(out.stdout, "");
    for line in [
        "line 3: \"424242424\": no such invoice in the local cache".to_owned(),
        format!("line 5: \"{x}\": duplicate of line 2"),
    ] {
        assert!(out.stderr.contains(&line), "{line:?} in\n{}", out.stderr);
    }
    assert_eq!(batch_count(&h).await, 0, "nothing half-made");

    std::fs::write(&file, format!("invoiceNo,note\n{x},first\n{y}\n")).expect("file");
    let from_file = h.json(&["batch", "create", "--from-file", &path]).await;
    assert_eq!(numbers(&from_file["items"]), [a[0], a[1]]);
    assert_eq!((from_file["sourceKind"].as_str(), from_file["source"].as_str()), (Some("file"), Some("list.csv")));

    // by number: another open batch holds x, so nothing is made (7)
    let z = a[2].to_string();
    let out = h.run(&["batch", "create", "--invoices", &z, &x, "--json"]).await.code(7);
    assert!(out.stderr.contains(&format!("{x} (batch {})", id_of(&from_file))), "{}", out.stderr);
    assert_eq!(batch_count(&h).await, 1);
    let picked = h.json(&["batch", "create", "--invoices", &z, "--name", "by hand"]).await;
    assert_eq!((numbers(&picked["items"]), picked["sourceKind"].as_str()), (vec![a[2]], Some("selection")));

    // bad input: 2, nothing made
    for args in [
        &["batch", "create", "--invoices", "12", "--from-file", &path][..],
        &["batch", "create", "--invoices", &y, "--currency", "EUR"],
        &["batch", "create", "--invoices", "abc"],
        &["batch", "create", "--from-file", "/no/such/file"],
        &["batch", "create", "--invoices", "424242424"],
    ] {
        h.run(args).await.code(2);
    }
    assert_eq!(batch_count(&h).await, 2);
}

#[tokio::test]
async fn four_eyes_exclude_include_and_cancel() {
    let h = Harness::synced(config(80, 7)).await;
    let a = approved(&h).await;
    let (x, y) = (a[0].to_string(), a[1].to_string());
    let alice = |args: &[&str]| h.desk(args).env("DESK_STAFF", "alice").env("DESK_FOUR_EYES", "1");
    let out = alice(&["batch", "create", "--invoices", &x, &y, "--json"]).run().await.code(0);
    let created = out.json();
    let id = id_of(&created);
    assert_eq!((created["createdBy"].as_str(), created["fourEyes"].as_bool()), (Some("alice"), Some(true)));

    // exclude and include: the item's flag and the totals follow
    let ex = h.json(&["batch", "exclude", &id, &x]).await;
    assert_eq!(ex["items"][0]["excluded"], true);
    assert_eq!(
        ex["totals"].as_array().map(|t| t.iter().map(|t| t["count"].as_u64().unwrap_or(0)).sum::<u64>()),
        Some(1)
    );
    let inc = h.json(&["batch", "include", &id, &x]).await;
    assert_eq!(inc["items"][0]["excluded"], false);
    h.run(&["batch", "exclude", &id, "424242424"]).await.code(2);
    h.run(&["batch", "include", &id]).await.code(2);

    // approval before a preflight is refused for anyone, and nothing changes
    for who in ["alice", "bob"] {
        let out =
            h.desk(&["batch", "approve", &id]).env("DESK_STAFF", who).env("DESK_FOUR_EYES", "1").run().await.code(2);
        assert!(out.stderr.contains("run preflight first"), "{}", out.stderr);
    }
    let out =
        h.desk(&["batch", "approve", &id]).env("DESK_STAFF", "ALICE ").env("DESK_FOUR_EYES", "0").run().await.code(2);
    assert!(out.stderr.contains("run preflight first"), "{}", out.stderr);
    h.desk(&["batch", "approve", &id]).env("DESK_FOUR_EYES", "maybe").run().await.code(2);
    assert_eq!(h.json(&["batch", "show", &id]).await["state"], "draft");

    // cancel: items not started are cancelled, the invoices are free again, a second cancel is refused
    let c = h.json(&["batch", "cancel", &id]).await;
    assert_eq!(c["state"], "cancelled");
    let outcomes: BTreeSet<&str> =
        c["items"].as_array().expect("items").iter().filter_map(|i| i["outcome"].as_str()).collect();
    assert_eq!(outcomes, BTreeSet::from(["cancelled"]));
    h.run(&["batch", "cancel", &id]).await.code(2);
    h.run(&["batch", "exclude", &id, &x]).await.code(2);
    let again = h.json(&["batch", "create", "--invoices", &x]).await;
    assert_eq!(numbers(&again["items"]), [a[0]]);
    let out = h.run(&["batch", "cancel", &id_of(&again)]).await.code(0);
    assert!(out.stdout.contains("cancelled"), "{}", out.stdout);
}

#[tokio::test]
async fn preflight_prints_verdicts_and_totals_then_a_second_person_approves() {
    let h = Harness::synced(config(300, 5)).await;
    let alice = |args: &[&str]| h.desk(args).env("DESK_STAFF", "alice").env("DESK_FOUR_EYES", "1");
    let created = alice(&["batch", "create", "--paypal", "--json"]).run().await.code(0).json();
    let id = id_of(&created);

    let out = alice(&["batch", "preflight", &id, "--json"]).run().await.code(0);
    let total = created["items"].as_array().map_or(0, Vec::len);
    assert!(out.stderr.contains(&format!("preflight: {total}/{total} items read")), "{}", out.stderr);
    let pre = out.json();
    assert_eq!(pre["state"], "preflighted");
    let items = pre["items"].as_array().expect("items");
    assert_eq!(numbers(&pre["items"]), numbers(&created["items"]));
    for item in items {
        let verdict = item["verdict"].as_str().unwrap_or_else(|| panic!("no verdict in {item}"));
        assert!(verdict.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{verdict}");
        assert!(
            item["verdictReason"].is_string() && item["outcome"].is_null() && item["captureId"].is_null(),
            "{item}"
        );
        assert!(item["outstanding"].is_string() && item["paypalPart"].is_string(), "{item}");
    }
    let ready = items.iter().filter(|i| i["verdict"] == "ready").count();
    assert!(ready > 0 && ready < items.len(), "some ready, not all: {ready} of {}", items.len());
    let totals = pre["totals"].as_array().expect("totals");
    assert!(!totals.is_empty());
    for t in totals {
        assert_eq!(
            crate::common::dec(s(t, "walletPart")) + crate::common::dec(s(t, "paypalPart")),
            crate::common::dec(s(t, "outstanding")),
            "{t}"
        );
    }

    // the table for people: verdicts with reasons, then the totals
    let text = alice(&["batch", "preflight", &id]).run().await.code(0);
    assert!(
        text.stdout.contains("VERDICT") && text.stdout.contains(" ready ") && text.stdout.contains("PAYPAL PART"),
        "{}",
        text.stdout
    );

    // four eyes: alice created it and may not approve it; bob may
    let refused = alice(&["batch", "approve", &id]).run().await.code(2);
    assert!(refused.stderr.contains("someone else must approve"), "{}", refused.stderr);
    let ok = h
        .desk(&["batch", "approve", &id, "--json"])
        .env("DESK_STAFF", "bob")
        .env("DESK_FOUR_EYES", "1")
        .run()
        .await
        .code(0);
    let approved = ok.json();
    assert_eq!((approved["state"].as_str(), approved["approvedBy"].as_str()), (Some("approved"), Some("bob")));
    // preflight again: the approval is void
    let again = alice(&["batch", "preflight", &id, "--json"]).run().await.code(0).json();
    assert_eq!((again["state"].as_str(), again["approvedBy"].as_str()), (Some("preflighted"), None));
    h.run(&["batch", "preflight", "424242"]).await.code(3);
}
