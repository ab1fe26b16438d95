//! `desk reauthorize`: asks first unless --yes, reauthorizes once (asked again, it says so and
//! sends nothing new), refuses an authorization PayPal would not reauthorize before sending
//! anything, and moves no money.

use crate::common::{config, Harness};
use sandbox::Config;
use serde_json::Value;

/// The cached AUTHORIZE invoices, the oldest approval first.
async fn authorizations(h: &Harness) -> Vec<(i64, String)> {
    let list = h.json(&["invoices", "list", "--paypal"]).await;
    let mut found: Vec<(i64, String)> = list
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["paypal"]["intent"] == "AUTHORIZE")
        .map(|r| (r["invoiceNo"].as_i64().expect("no"), r["paypal"]["approvedAt"].as_str().expect("at").to_owned()))
        .collect();
    found.sort_by(|a, b| a.1.cmp(&b.1));
    found
}

#[tokio::test]
async fn reauthorize_asks_first_reauthorizes_once_and_refuses_a_fresh_authorization_before_sending() {
    let h = Harness::synced(Config { seed: 21, ..config(1500, 5) }).await;
    let auths = authorizations(&h).await;
    let age = |at: &str| chrono::Utc::now() - at.parse::<chrono::DateTime<chrono::Utc>>().expect("RFC 3339");
    let newest = auths.last().expect("an authorization").0;
    let past: Vec<i64> =
        auths.iter().filter(|(_, at)| age(at) > chrono::Duration::hours(3 * 24 + 12)).map(|(no, _)| *no).collect();
    assert!(!past.is_empty(), "the seed has authorizations approved more than 3.5 days ago: {auths:?}");

    // no --yes and stdin is not a terminal: refused, nothing sent
    let out = h.run(&["reauthorize", &past[0].to_string()]).await.code(2);
    assert!(out.stderr.contains("Confirm the reauthorization interactively, or pass --yes."), "{}", out.stderr);

    // the first of them PayPal reauthorizes (one may have expired or been voided since: PayPal
    // refuses those, exit 6)
    let mut reauthorized = None;
    for no in &past {
        let out = h.run(&["reauthorize", &no.to_string(), "--yes", "--json"]).await;
        match out.status {
            Some(0) => {
                reauthorized = Some((*no, out.json()));
                break;
            }
            // PayPal's authorization is no longer CREATED (read first: exit 2, nothing sent),
            // or PayPal refused (exit 6)
            Some(2 | 6) => assert!(out.stderr.contains("PayPal"), "{}", out.stderr),
            _ => panic!("{out:?}"),
        }
    }
    let (oldest, r): (i64, Value) = reauthorized.expect("one authorization past its honour period is reauthorized");
    let oldest_s = oldest.to_string();
    assert_eq!(r["invoiceNo"], oldest);
    assert_eq!(r["earlier"], false);
    let new_id = r["reauthorizationId"].as_str().expect("new id").to_owned();
    assert!(!new_id.is_empty() && r["authorizationId"] != r["reauthorizationId"], "{r}");
    // asked again: the same reauthorization, said to be an earlier one
    let out = h.run(&["reauthorize", &oldest_s, "--yes"]).await.code(0);
    assert!(out.stdout.contains(&new_id) && out.stdout.contains("(made earlier)"), "{}", out.stdout);

    // approved within the honour period: refused before anything is sent (exit 2), with the reason
    let out = h.run(&["reauthorize", &newest.to_string(), "--yes"]).await.code(2);
    assert!(out.stderr.contains("honour period"), "{}", out.stderr);
    h.ledger().await.assert_nothing_moved();
}
