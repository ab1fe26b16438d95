//! What a seed does, drawn from the seed alone: the world's size, the faults, which invoices
//! each desk is asked for, and each desk's runs with the moments they are killed.

use super::evidence::Invoice;
use super::rng::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::time::Duration;

/// One desk run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) args: Vec<String>,
    /// SIGKILL this long after the start, if it is still running.
    pub(crate) kill_after: Option<Duration>,
}

/// The world and the faults (known before the sandbox starts).
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) invoices: u64,
    pub(crate) pending_seconds: u64,
    pub(crate) faults: String,
    /// How long desk B waits before its first run (the desks start close together).
    pub(crate) stagger: Duration,
    /// Shape the world so that one customer's wallet is drawn on by several approvals.
    pub(crate) shared_wallet: bool,
}

/// PayPal and gateway routes the capture path calls (`METHOD /path` as the sandbox matches them).
const ROUTES: &[&str] = &[
    "POST /v2/checkout/orders/{id}/capture",
    "POST /v2/payments/authorizations/{id}/capture",
    "GET /v2/checkout/orders/{id}",
    "GET /v2/payments/authorizations/{id}",
    "GET /v2/payments/captures/{id}",
    "POST /v1/oauth2/token",
    "POST /api/v1/billing/invoice/part-process",
    "POST /api/v1/billing/invoice/paypal/capture",
    "POST /api/v1/billing/invoice/pay",
    "GET /api/v1/billing_admin/invoices/{no}",
];

pub(crate) fn setup(seed: u64) -> Setup {
    let mut r = Rng::new(seed, 1);
    let invoices = r.between(24, 48);
    // PENDING captures either complete on their own during the run, or wait for the clock
    let pending_seconds = if r.percent(50) { r.between(1, 4) } else { 3600 };
    let mut faults = String::from("{\"default\":");
    faults.push_str(&fault(&mut r, false));
    let overrides = r.below(3);
    let mut routes = BTreeSet::new();
    for _ in 0..overrides {
        routes.insert(r.pick(ROUTES));
    }
    if !routes.is_empty() {
        faults.push_str(",\"routes\":{");
        let parts: Vec<String> = routes.iter().map(|route| format!("\"{route}\":{}", fault(&mut r, true))).collect();
        faults.push_str(&parts.join(","));
        faults.push('}');
    }
    faults.push('}');
    let stagger = Duration::from_millis(r.below(300));
    Setup { invoices, pending_seconds, faults, stagger, shared_wallet: r.percent(60) }
}

/// One fault (`harsh` for a route singled out): latency, 5xx, 429, drops after commit; and for
/// PayPal's POSTs an undocumented 422/400 after the capture happened, a request held in
/// progress (a retry with its PayPal-Request-Id meanwhile gets 409 PREVIOUS_REQUEST_IN_PROGRESS,
/// and it acts even when its caller was killed), and answers in PayPal's minimal shape.
fn fault(r: &mut Rng, harsh: bool) -> String {
    let latency = if harsh { r.pick(&[0, 5, 20, 80, 200]) } else { r.pick(&[0, 0, 2, 5, 10, 25]) };
    let error = if harsh { r.pick(&["0", "0.1", "0.3", "0.5"]) } else { r.pick(&["0", "0", "0.02", "0.05", "0.1"]) };
    let status = r.pick(&[500, 502, 503, 503, 504]);
    let limited = if harsh { r.pick(&["0", "0.1", "0.3"]) } else { r.pick(&["0", "0", "0.02", "0.05"]) };
    let dropped = if harsh { r.pick(&["0", "0.3", "0.6", "1"]) } else { r.pick(&["0", "0.05", "0.1", "0.25", "0.4"]) };
    let error_after = if harsh { r.pick(&["0", "0.2", "0.5"]) } else { r.pick(&["0", "0", "0.02", "0.05"]) };
    let error_after_status = r.pick(&[422, 422, 400]);
    let in_progress = if harsh { r.pick(&[0, 0, 300, 1500]) } else { r.pick(&[0, 0, 0, 200, 800]) };
    let minimal = if harsh { r.pick(&["0", "0.5", "1"]) } else { r.pick(&["0", "0", "0.2", "0.5"]) };
    format!(
        "{{\"latency_ms\":{latency},\"error_rate\":{error},\"error_status\":{status},\"rate_limit_rate\":{limited},\
         \"drop_after_commit_rate\":{dropped},\"error_after_commit_rate\":{error_after},\
         \"error_after_commit_status\":{error_after_status},\"in_progress_ms\":{in_progress},\"minimal_answer_rate\":{minimal}}}"
    )
}

/// Which invoices each desk is asked for: every one with an approved PayPal payment (most to
/// both desks, some to one), plus the other invoices of their customers (one customer's
/// invoices draw on one wallet), each desk in its own order.
pub(crate) fn choose(seed: u64, listed: &[Invoice]) -> [Vec<u64>; 2] {
    let mut r = Rng::new(seed, 2);
    let approved: Vec<&Invoice> = listed.iter().filter(|i| i.order_id.is_some()).collect();
    let customers: BTreeSet<&str> = approved.iter().map(|i| i.customer_id.as_str()).collect();
    let mut chosen: Vec<u64> = approved.iter().map(|i| i.no).collect();
    let mut siblings: Vec<u64> = listed
        .iter()
        .filter(|i| i.order_id.is_none() && customers.contains(i.customer_id.as_str()))
        .map(|i| i.no)
        .collect();
    r.shuffle(&mut siblings);
    chosen.extend(siblings.into_iter().take(4));
    chosen.sort_unstable();
    let mut desks = [Vec::new(), Vec::new()];
    for no in chosen {
        match r.below(10) {
            0..=5 => {
                desks[0].push(no);
                desks[1].push(no);
            }
            6 | 7 => desks[0].push(no),
            _ => desks[1].push(no),
        }
    }
    for d in &mut desks {
        r.shuffle(d);
    }
    desks
}

/// Desk `desk`'s runs (0 or 1) on its invoices: captures, recoveries and a sync, most of them
/// killed at a moment drawn on a log scale (as often early as late in a run).
pub(crate) fn steps(seed: u64, desk: u64, invoices: &[u64]) -> Vec<Step> {
    let mut r = Rng::new(seed, 10 + desk);
    let rounds = r.between(2, 4);
    let mut steps = Vec::new();
    for round in 0..rounds {
        let args = match (round, r.below(10)) {
            (0, _) | (_, 0..=5) => {
                let mut list = invoices.to_vec();
                r.shuffle(&mut list);
                if round > 0 && list.len() > 2 && r.percent(40) {
                    list.truncate(usize::try_from(r.between(1, list.len() as u64)).unwrap_or(1));
                }
                let mut args = vec!["capture".to_owned()];
                args.extend(list.iter().map(u64::to_string));
                args.push("--yes".into());
                args
            }
            (_, 6..=8) => vec!["recover".into(), "--wait-pending".into(), "0".into()],
            _ => vec!["sync".into()],
        };
        let kill_after = r.percent(70).then(|| Duration::from_millis(r.log_millis(15, 2500)));
        if args.len() > 2 || args[0] != "capture" {
            steps.push(Step { args, kill_after });
        }
    }
    steps
}

/// The plan in words, for a failing seed's artefacts.
pub(crate) fn describe(setup: &Setup, asked: &[Vec<u64>; 2], steps: &[Vec<Step>; 2]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "world: {} invoices{}; PENDING captures complete after {} s",
        setup.invoices,
        if setup.shared_wallet { ", one wallet shared by several approvals (see notes)" } else { "" },
        setup.pending_seconds
    );
    let _ = writeln!(s, "faults: {}", setup.faults);
    for (i, name) in ["A", "B"].iter().enumerate() {
        let _ = writeln!(s, "desk {name} asked for: {:?}", asked[i]);
        for st in &steps[i] {
            let kill =
                st.kill_after.map_or("runs to its end".into(), |k| format!("SIGKILL after {} ms", k.as_millis()));
            let _ = writeln!(s, "  desk {}: {kill}", st.args.join(" "));
        }
    }
    s
}

/// Customers with more than one chosen invoice (their wallet is shared by those attempts).
pub(crate) fn shared_customers(listed: &[Invoice], asked: &[Vec<u64>; 2]) -> usize {
    let all: BTreeSet<u64> = asked.iter().flatten().copied().collect();
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    for i in listed.iter().filter(|i| all.contains(&i.no)) {
        *per.entry(&i.customer_id).or_default() += 1;
    }
    per.values().filter(|n| **n > 1).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(no: u64, customer: &str, approved: bool) -> Invoice {
        Invoice {
            no,
            customer_id: customer.into(),
            order_id: approved.then(|| format!("O{no}")),
            authorization_id: None,
            wallet_balance: None,
        }
    }

    #[test]
    fn a_seed_replays_its_plan() {
        let listed: Vec<Invoice> = (0..30).map(|i| inv(100 + i, &format!("c{}", i % 7), i % 3 == 0)).collect();
        for seed in [1, 2, 99] {
            assert_eq!(setup(seed).faults, setup(seed).faults);
            assert_eq!(choose(seed, &listed), choose(seed, &listed));
            let asked = choose(seed, &listed);
            assert_eq!(steps(seed, 0, &asked[0]), steps(seed, 0, &asked[0]));
        }
        assert_ne!(setup(1).faults, setup(2).faults);
    }

    #[test]
    fn every_approved_invoice_is_asked_of_a_desk_and_most_of_both() {
        let listed: Vec<Invoice> = (0..40).map(|i| inv(100 + i, &format!("c{}", i % 9), i % 2 == 0)).collect();
        let asked = choose(5, &listed);
        let all: BTreeSet<u64> = asked.iter().flatten().copied().collect();
        for i in listed.iter().filter(|i| i.order_id.is_some()) {
            assert!(all.contains(&i.no), "{} not asked", i.no);
        }
        let both = asked[0].iter().filter(|n| asked[1].contains(n)).count();
        assert!(both >= 5, "overlap {both}");
        assert!(all.iter().filter(|n| listed.iter().any(|i| i.no == **n && i.order_id.is_none())).count() <= 4);
        assert!(shared_customers(&listed, &asked) > 0);
    }

    #[test]
    fn faults_are_valid_json_with_rates_in_range() {
        for seed in 0..200 {
            let s = setup(seed);
            let v: serde_json::Value = serde_json::from_str(&s.faults).expect("JSON");
            let mut faults = vec![v.get("default").expect("default").clone()];
            faults.extend(v.get("routes").and_then(|r| r.as_object()).into_iter().flat_map(|m| m.values().cloned()));
            for f in faults {
                for key in [
                    "error_rate",
                    "rate_limit_rate",
                    "drop_after_commit_rate",
                    "error_after_commit_rate",
                    "minimal_answer_rate",
                ] {
                    let rate = crate::chaos::dec::Dec::from_json(f.get(key).expect(key)).expect("number");
                    assert!(rate >= crate::chaos::dec::Dec::zero(), "{key}");
                    assert!(rate <= crate::chaos::dec::Dec::parse("1").expect("1"), "{key}");
                }
            }
        }
    }

    #[test]
    fn every_desk_captures_first_and_is_killed_in_some_runs() {
        let kills: usize = (0..50)
            .map(|seed| {
                let st = steps(seed, 0, &[1, 2, 3]);
                assert_eq!(st[0].args[0], "capture");
                assert!(st[0].args.ends_with(&["--yes".to_owned()]));
                st.iter().filter(|s| s.kill_after.is_some()).count()
            })
            .sum();
        assert!(kills > 50, "{kills} kills in 50 seeds");
    }
}
