//! The checker on crafted ledgers, wallet histories and journals: each rule fires on the
//! situation it names, and a clean run (including a capture adopted by the other desk) has none.

use super::*;
use crate::chaos::dec::Dec;
use crate::chaos::evidence::{Finalization, Invoice, WalletRecord};

fn d(s: &str) -> Dec {
    Dec::parse(s).expect(s)
}

fn invoice(no: u64, customer: &str, order: Option<&str>, auth: Option<&str>) -> Invoice {
    Invoice {
        no,
        customer_id: customer.into(),
        order_id: order.map(Into::into),
        authorization_id: auth.map(Into::into),
        wallet_balance: None,
    }
}

fn capture(id: &str, order: &str, auth: Option<&str>, status: &str, amount: &str) -> Capture {
    Capture {
        id: id.into(),
        order_id: Some(order.into()),
        authorization_id: auth.map(Into::into),
        status: status.into(),
        amount: d(amount),
        currency: "USD".into(),
    }
}

fn fin(invoice_no: u64, payment_id: &str, amount: &str) -> Finalization {
    Finalization { invoice_no, payment_id: payment_id.into(), amount: d(amount), currency: "USD".into() }
}

fn entry(id: i64, invoice_no: u64, state: &str, capture_id: Option<&str>) -> Entry {
    Entry {
        id,
        invoice_no,
        state: state.into(),
        path: "paypal".into(),
        order_id: None,
        capture_id: capture_id.map(Into::into),
        capture_status: capture_id.map(|_| "COMPLETED".into()),
        adopted: false,
        wallet_amount: None,
        reason: None,
        last_error: None,
    }
}

fn debit(
    id: u64,
    customer: &str,
    invoice_no: u64,
    amount: &str,
    before: &str,
    after: &str,
    kind: &str,
) -> WalletRecord {
    WalletRecord {
        id,
        customer_id: customer.into(),
        kind: "debit".into(),
        amount: d(amount),
        currency: "USD".into(),
        reference: format!("Invoice {invoice_no} {kind}"),
        payment_id: format!("WALLET-{id}"),
        balance_before: d(before),
        balance_after: d(after),
    }
}

/// Invoice 1 (order O1) and 3 (order O3) of customer c1, who has a wallet; invoice 2 (order
/// O2, authorization A2) of c2; invoice 4 of c1 without PayPal. Both desks were asked for all.
/// Desk A captured and finalized 1 (with 40 from c1's wallet) and 2; desk B adopted 1's capture;
/// 3's order was declined; 4 was rejected before anything moved.
fn clean() -> Evidence {
    Evidence {
        invoices: vec![
            invoice(1, "c1", Some("O1"), None),
            invoice(2, "c2", Some("O2"), Some("A2")),
            invoice(3, "c1", Some("O3"), None),
            invoice(4, "c1", None, None),
        ],
        asked: vec![1, 2, 3, 4],
        captures: vec![
            capture("C1", "O1", None, "COMPLETED", "100.10"),
            capture("C2", "O2", Some("A2"), "COMPLETED", "7"),
            capture("C3", "O3", None, "DECLINED", "5"),
        ],
        finalizations: vec![fin(1, "C1", "100.1"), fin(2, "C2", "7.00")],
        wallet: vec![debit(1, "c1", 1, "40", "60", "20", "part payment")],
        journals: vec![
            (
                "A".into(),
                vec![
                    entry(1, 1, "finalized", Some("C1")),
                    entry(2, 2, "finalized", Some("C2")),
                    entry(3, 3, "rejected", None),
                    entry(4, 4, "rejected", None),
                ],
            ),
            (
                "B".into(),
                vec![Entry { adopted: true, ..entry(1, 1, "finalized", Some("C1")) }, entry(2, 3, "rejected", None)],
            ),
        ],
        batches: Vec::new(),
    }
}

fn rules(e: &Evidence) -> Vec<Rule> {
    let mut r: Vec<Rule> = check(e).violations.iter().map(|v| v.rule).collect();
    r.sort();
    r
}

#[test]
fn a_clean_run_has_no_violation() {
    let f = check(&clean());
    assert!(f.violations.is_empty(), "{:#?}", f.violations);
    assert!(f.wallet_conflicts_across_desks.is_empty());
}

#[test]
fn two_captures_of_one_order_are_caught_and_a_declined_one_is_not_money() {
    let mut e = clean();
    e.captures.push(capture("C1b", "O1", None, "COMPLETED", "100.10"));
    // the second one is not finalized either
    assert_eq!(rules(&e), vec![Rule::CapturedTwice, Rule::NotFinalizedOnce]);
    let text = check(&e).violations[0].to_string();
    assert!(text.contains("order O1") && text.contains("C1b") && text.contains("invoice 1"), "{text}");

    let mut e = clean();
    e.captures.push(capture("C3b", "O3", None, "DECLINED", "5"));
    assert!(rules(&e).is_empty(), "two declined captures moved no money");

    let mut e = clean();
    e.captures.push(capture("C2b", "O2", Some("A2"), "PENDING", "7"));
    assert_eq!(rules(&e), vec![Rule::CapturedTwice], "a PENDING capture is money on its way");
}

#[test]
fn a_completed_capture_the_gateway_never_heard_of_is_caught_with_what_the_journals_say() {
    let mut e = clean();
    e.captures.push(capture("C5", "O5", None, "COMPLETED", "9"));
    e.invoices.push(invoice(5, "c3", Some("O5"), None));
    e.asked.push(5);
    e.journals[0].1.push(Entry { reason: Some("declined".into()), ..entry(9, 5, "rejected", None) });
    let f = check(&e);
    assert_eq!(f.violations.len(), 1, "{:#?}", f.violations);
    assert_eq!(f.violations[0].rule, Rule::NotFinalizedOnce);
    let text = f.violations[0].to_string();
    assert!(text.contains("C5") && text.contains("desk A entry 9 rejected") && text.contains("declined"), "{text}");

    // PENDING: not yet money the gateway may hear of; REFUNDED: the money went back
    for status in ["PENDING", "REFUNDED", "DECLINED"] {
        e.captures.last_mut().expect("C5").status = status.into();
        assert!(rules(&e).is_empty(), "{status}");
    }
    e.captures.last_mut().expect("C5").status = "PARTIALLY_REFUNDED".into();
    assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce], "part of the money stayed");
}

#[test]
fn finalizations_without_a_completed_capture_of_that_invoice_and_amount_are_caught() {
    let mut e = clean();
    e.finalizations.push(fin(3, "NOPE", "5"));
    assert_eq!(rules(&e), vec![Rule::FinalizedWithoutCapture]);

    let mut e = clean();
    e.finalizations.push(fin(3, "C3", "5"));
    assert_eq!(rules(&e), vec![Rule::FinalizedWithoutCapture], "C3 was declined");

    let mut e = clean();
    e.captures[1].status = "REFUNDED".into();
    assert_eq!(rules(&e), vec![Rule::FinalizedWithoutCapture], "C2's money went back; invoice 2 is paid");

    let mut e = clean();
    e.finalizations[1] = fin(2, "C2", "7.01");
    assert_eq!(rules(&e), vec![Rule::FinalizedWithoutCapture], "the wrong amount");

    let mut e = clean();
    e.finalizations[1] = fin(3, "C2", "7");
    // invoice 2's capture paid invoice 3, and the journal's finalization of 2 is not at the gateway
    assert_eq!(rules(&e), vec![Rule::FinalizedWithoutCapture, Rule::JournalDisagrees]);

    let mut e = clean();
    e.finalizations.push(fin(1, "C1", "100.10"));
    assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce, Rule::NotFinalizedOnce], "per capture and per invoice");
}

#[test]
fn every_state_short_of_terminal_is_caught_on_either_desk() {
    for state in [
        "planned",
        "part_processed",
        "paypal_capture_sent",
        "paypal_captured",
        "verified",
        "finalize_sent",
        "wallet_pay_sent",
    ] {
        let mut e = clean();
        e.journals[1].1.push(entry(7, 2, state, None));
        let f = check(&e);
        assert_eq!(f.violations.len(), 1, "{state}");
        assert_eq!(f.violations[0].rule, Rule::EntryNotTerminal);
        assert!(f.violations[0].message.contains("desk B: entry 7"), "{}", f.violations[0]);
    }
    let mut e = clean();
    e.journals[0].1.push(entry(8, 2, "needs_attention", None));
    assert!(rules(&e).is_empty(), "needs_attention is terminal");
}

#[test]
fn a_journal_that_says_finalized_where_the_gateway_does_not_is_caught() {
    let mut e = clean();
    e.journals[1].1.push(entry(5, 2, "finalized", Some("OTHER")));
    assert_eq!(rules(&e), vec![Rule::JournalDisagrees]);

    let mut e = clean();
    e.journals[1].1.push(entry(5, 2, "finalized", None));
    assert_eq!(rules(&e), vec![Rule::JournalDisagrees]);

    let mut e = clean();
    e.journals[0].1.push(Entry { path: "wallet".into(), ..entry(5, 4, "finalized", None) });
    assert_eq!(rules(&e), vec![Rule::JournalDisagrees], "no wallet debit for invoice 4");
    e.wallet.push(debit(2, "c1", 4, "20", "20", "0", "wallet payment"));
    assert!(rules(&e).is_empty());
}

#[test]
fn an_attempt_that_says_it_did_not_finish_while_the_gateway_holds_its_payment_is_caught() {
    for state in ["needs_attention", "rejected"] {
        let mut e = clean();
        // desk B adopted C1 and ended short of finalized, though C1 paid invoice 1
        e.journals[1].1[0] = Entry { adopted: true, ..entry(1, 1, state, Some("C1")) };
        let f = check(&e);
        assert_eq!(f.violations.len(), 1, "{state}: {:#?}", f.violations);
        assert_eq!(f.violations[0].rule, Rule::JournalDisagrees);
        assert!(f.violations[0].message.contains("desk B: entry 1 (invoice 1)"), "{}", f.violations[0]);
    }
    // its capture paid another invoice, or none: not this rule's business
    let mut e = clean();
    e.journals[1].1[0] = entry(1, 2, "needs_attention", Some("C1"));
    assert!(rules(&e).is_empty());
    let mut e = clean();
    e.journals[1].1[0] = entry(1, 1, "needs_attention", None);
    assert!(rules(&e).is_empty());
}

#[test]
fn wallet_debits_twice_below_zero_or_out_of_line_are_caught() {
    let mut e = clean();
    e.wallet.push(debit(2, "c1", 1, "20", "20", "0", "part payment"));
    assert_eq!(rules(&e), vec![Rule::WalletDebitedTwice]);

    let mut e = clean();
    e.wallet.push(debit(2, "c1", 4, "30", "20", "-10", "wallet payment"));
    assert_eq!(rules(&e), vec![Rule::WalletDebitedTwice], "below zero");

    let mut e = clean();
    e.wallet.push(debit(2, "c1", 4, "10", "25", "15", "wallet payment"));
    assert_eq!(rules(&e), vec![Rule::WalletDebitedTwice], "20 were left, not 25");

    let mut e = clean();
    e.wallet.push(debit(2, "c1", 4, "10", "20", "9", "wallet payment"));
    assert_eq!(rules(&e), vec![Rule::WalletDebitedTwice], "20 − 10 is not 9");

    let mut e = clean();
    e.wallet.push(debit(2, "c1", 3, "10", "20", "10", "part payment"));
    assert_eq!(rules(&e), vec![Rule::WalletDebitedTwice], "a part payment of an invoice never finalized");

    // a top-up between two debits carries the balance on
    let mut e = clean();
    e.wallet.push(WalletRecord {
        kind: "credit".into(),
        reference: "top-up".into(),
        ..debit(2, "c1", 0, "5", "20", "25", "")
    });
    e.wallet.push(debit(3, "c1", 4, "25", "25", "0", "wallet payment"));
    assert!(rules(&e).is_empty(), "{:#?}", check(&e).violations);
    e.wallet[1].balance_after = d("24");
    assert_eq!(
        rules(&e),
        vec![Rule::WalletDebitedTwice],
        "24 left after the top-up, and 25 when the next debit started"
    );
}

#[test]
fn money_moved_for_an_invoice_nobody_asked_for_is_caught() {
    let mut e = clean();
    e.asked.retain(|no| *no != 2);
    assert_eq!(rules(&e), vec![Rule::NotAsked]);

    let mut e = clean();
    e.captures.push(capture("C9", "O9", None, "COMPLETED", "1"));
    e.finalizations.push(fin(9, "C9", "1"));
    assert_eq!(rules(&e), vec![Rule::NotAsked], "an order no listed invoice holds");
}

/// c1's wallet held 60: desk A counted on 40 of it for invoice 1 and captured at PayPal; desk B
/// meanwhile paid invoice 3 with 60 from the wallet. The gateway refuses A's amounts and A's
/// attempt ends in needs_attention: allowed across desks, counted apart.
fn wallet_spent_by_the_other_desk() -> Evidence {
    let mut e = clean();
    e.captures[2] = capture("C3", "O3", None, "COMPLETED", "5");
    e.finalizations = vec![fin(2, "C2", "7"), fin(3, "C3", "5")];
    e.wallet = vec![debit(1, "c1", 3, "60", "60", "0", "part payment")];
    e.journals[0].1[0] = Entry { wallet_amount: Some(d("40")), ..entry(1, 1, "needs_attention", Some("C1")) };
    e.journals[0].1[2] = entry(3, 3, "rejected", None);
    e.journals[1].1 = vec![entry(1, 3, "finalized", Some("C3"))];
    e
}

#[test]
fn a_wallet_spent_by_the_other_desk_is_allowed_once_it_ends_in_needs_attention() {
    let e = wallet_spent_by_the_other_desk();
    let f = check(&e);
    assert!(f.violations.is_empty(), "{:#?}", f.violations);
    assert_eq!(f.wallet_conflicts_across_desks.len(), 1);
    assert!(f.wallet_conflicts_across_desks[0].contains("C1"));
}

#[test]
fn a_later_attempt_that_adopted_the_capture_does_not_hide_the_broken_promise() {
    // desk A tried invoice 1 again after the refusal: part-process promised what was left (0),
    // and the new attempt adopted C1 and ended needs_attention on the amounts; it comes first
    let mut e = wallet_spent_by_the_other_desk();
    let again = Entry { adopted: true, wallet_amount: Some(d("0")), ..entry(9, 1, "needs_attention", Some("C1")) };
    e.journals[0].1.insert(0, again);
    let f = check(&e);
    assert!(f.violations.is_empty(), "{:#?}", f.violations);
    assert_eq!(f.wallet_conflicts_across_desks.len(), 1);
    // without the first attempt's promise there is nothing the other desk broke
    e.journals[0].1.retain(|j| j.id != 1);
    assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce]);
}

#[test]
fn a_wallet_conflict_is_a_violation_within_one_desk_or_when_the_wallet_still_held_enough() {
    // desk A spent it itself: the wallet lease must have kept its two attempts apart
    let mut e = wallet_spent_by_the_other_desk();
    e.journals[0].1[2] = entry(3, 3, "finalized", Some("C3"));
    assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce]);
    let text = check(&e).violations[0].to_string();
    assert!(text.contains("the wallet of c1 was spent: 60 USD on invoice 3 (finalized on desk A and B)"), "{text}");

    // the wallet still holds what the attempt counted on (more, or exactly as much): the
    // refusal was not the wallet's
    for (took, left) in [("10", "50"), ("20", "40")] {
        let mut e = wallet_spent_by_the_other_desk();
        e.wallet = vec![debit(1, "c1", 3, took, "60", left, "part payment")];
        assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce], "{left} left");
    }
    // one cent short of it: the other desk's spending explains the refusal
    let mut e = wallet_spent_by_the_other_desk();
    e.wallet = vec![debit(1, "c1", 3, "20.01", "60", "39.99", "part payment")];
    assert!(rules(&e).is_empty());

    // the attempt did not end in needs_attention
    let mut e = wallet_spent_by_the_other_desk();
    e.journals[0].1[0].state = "rejected".into();
    assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce]);

    // it counted on nothing from the wallet
    let mut e = wallet_spent_by_the_other_desk();
    e.journals[0].1[0].wallet_amount = Some(d("0.00"));
    assert_eq!(rules(&e), vec![Rule::NotFinalizedOnce]);
}

#[path = "check_batch_tests.rs"]
mod batch;
