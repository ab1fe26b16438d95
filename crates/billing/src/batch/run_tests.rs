use super::*;

fn w(no: i64, verdict: Verdict, customer: &str) -> Work {
    Work {
        invoice_no: no,
        verdict: Some(verdict),
        journal_id: None,
        outcome: Some(ItemOutcome::Queued),
        customer_id: Some(customer.into()),
    }
}

#[test]
fn items_on_one_shared_wallet_run_in_one_chain_in_batch_order() {
    let c = chains(vec![
        w(1, Verdict::WalletShared, "a"),
        w(2, Verdict::Ready, "a"),
        w(3, Verdict::WalletShared, "b"),
        w(4, Verdict::WalletShared, "a"),
        w(5, Verdict::Ready, "b"),
    ]);
    let got: Vec<Vec<i64>> = c.iter().map(|ch| ch.iter().map(|w| w.invoice_no).collect()).collect();
    assert_eq!(got, vec![vec![1, 4], vec![2], vec![3], vec![5]]);
}

#[test]
fn refusals_end_the_item_and_credentials_stop_the_run() {
    let e = |code| DeskError::new(code, "x");
    assert!(matches!(settled_by(&e(ErrorCode::GatewayRejected)), Settled::Item(ItemOutcome::Rejected)));
    assert!(matches!(settled_by(&e(ErrorCode::Offline)), Settled::Item(ItemOutcome::Pending)));
    assert!(matches!(settled_by(&e(ErrorCode::Conflict)), Settled::Item(ItemOutcome::Pending)));
    assert!(matches!(settled_by(&e(ErrorCode::GatewayUnauthorized)), Settled::Run));
    assert!(matches!(settled_by(&e(ErrorCode::Storage)), Settled::Run));
}
