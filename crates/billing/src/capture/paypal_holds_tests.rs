use super::*;
use crate::capture::journal::StateText;
use paypal::{Link, RelatedIds};

fn entry(intent: &str) -> Entry {
    Entry {
        id: 1,
        invoice_no: 458732,
        state: StateText(State::PaypalCaptured),
        path: crate::capture::CapturePath::Paypal,
        intent: Some(intent.into()),
        order_id: Some("O1".into()),
        authorization_id: (intent == "AUTHORIZE").then(|| "A1".into()),
        currency: "USD".into(),
        outstanding: "10.00".into(),
        wallet_part_json: None,
        wallet_currency: None,
        wallet_amount: None,
        exchange_rate: None,
        wallet_in_invoice_currency: None,
        paypal_amount: Some("10.00".into()),
        approved_amount: None,
        request_id: "r".into(),
        capture_id: None,
        capture_status: None,
        adopted: false,
        reason: None,
        last_error: None,
        attempts: 0,
        staff: "t".into(),
        environment: "sandbox".into(),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn capture(up: Option<&str>, related: (Option<&str>, Option<&str>), invoice: Option<&str>) -> Capture {
    Capture {
        id: Some("C1".into()),
        status: Some(CaptureStatus::Completed),
        status_reason: None,
        amount: None,
        final_capture: None,
        invoice_id: invoice.map(str::to_owned),
        custom_id: None,
        related: RelatedIds { order_id: related.0.map(str::to_owned), authorization_id: related.1.map(str::to_owned) },
        links: up.map(|h| vec![Link { href: h.into(), rel: "up".into(), method: None }]).unwrap_or_default(),
        paypal_fee: None,
        net_amount: None,
        create_time: None,
        update_time: None,
    }
}

#[test]
fn a_capture_is_ours_only_when_every_relation_names_our_order_or_authorization() {
    let (order, auth) = (entry("CAPTURE"), entry("AUTHORIZE"));
    let o = |id: &str| format!("https://api-m.paypal.com/v2/checkout/orders/{id}");
    let a = |id: &str| format!("/v2/payments/authorizations/{id}");
    assert_eq!(tie(&order, &capture(Some(&o("O1")), (None, None), None)), Tie::Ours);
    assert_eq!(tie(&order, &capture(Some(&o("O2")), (None, None), None)), Tie::Other("order O2".into()));
    assert_eq!(tie(&order, &capture(Some(&a("A1")), (None, None), None)), Tie::Other("authorization A1".into()));
    assert_eq!(tie(&order, &capture(None, (None, None), None)), Tie::Unknown);
    assert_eq!(tie(&auth, &capture(Some(&a("A1")), (None, None), None)), Tie::Ours);
    assert_eq!(tie(&auth, &capture(Some(&a("A9")), (None, None), None)), Tie::Other("authorization A9".into()));
    assert_eq!(tie(&auth, &capture(Some(&a("A1")), (Some("O1"), Some("A1")), None)), Tie::Ours);
    assert_eq!(tie(&auth, &capture(Some(&a("A1")), (Some("O7"), None), None)), Tie::Other("order O7".into()));
    assert_eq!(tie(&auth, &capture(None, (Some("O1"), None), None)), Tie::Ours);
    assert_eq!(tie(&auth, &capture(None, (None, None), None)), Tie::Unknown);
}

/// A live capture before a declined one, whatever PayPal's listing order; the expected
/// amount decides among live ones. (Before: the last exact one, declined or not.)
#[test]
fn a_live_capture_is_picked_before_a_declined_one() {
    let e = entry("CAPTURE");
    let usd = |v: &str| money_of(v, "USD").ok();
    let cap = |id: &str, status: CaptureStatus, amount: &str| Capture {
        id: Some(id.into()),
        status: Some(status),
        amount: usd(amount),
        ..capture(Some("https://api-m.paypal.com/v2/checkout/orders/O1"), (None, None), None)
    };
    let picked = |cs: &[Capture]| pick(&e, cs, usd("10.00")).and_then(|c| c.id.clone());
    let (ok, declined, failed) = (
        cap("OK", CaptureStatus::Completed, "10.00"),
        cap("NO", CaptureStatus::Declined, "10.00"),
        cap("FA", CaptureStatus::Failed, "10.00"),
    );
    assert_eq!(picked(&[ok.clone(), declined.clone()]), Some("OK".into()));
    assert_eq!(picked(&[declined.clone(), ok.clone(), failed.clone()]), Some("OK".into()));
    let pending_other_amount = cap("PE", CaptureStatus::Pending, "9.00");
    assert_eq!(picked(&[pending_other_amount.clone(), declined.clone()]), Some("PE".into()));
    assert_eq!(picked(&[ok, pending_other_amount]), Some("OK".into()));
    let declined_other_amount = cap("N2", CaptureStatus::Declined, "9.00");
    assert_eq!(picked(&[declined.clone(), declined_other_amount.clone()]), Some("NO".into()));
    assert_eq!(picked(&[failed, declined_other_amount.clone()]), Some("FA".into()));
    let declined_third_amount = cap("N3", CaptureStatus::Declined, "8.00");
    assert_eq!(picked(&[declined_other_amount, declined_third_amount]), Some("N3".into()));
}

#[test]
fn an_invoice_id_naming_another_invoice_is_not_ours() {
    let e = entry("CAPTURE");
    assert_eq!(other_invoice(&e, &capture(None, (None, None), Some("458732"))), None);
    assert_eq!(other_invoice(&e, &capture(None, (None, None), None)), None);
    assert_eq!(other_invoice(&e, &capture(None, (None, None), Some("458733"))), Some("458733".into()));
}
