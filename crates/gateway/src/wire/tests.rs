use super::*;

const SEED: &str = r#"{ "invoiceNo": 458732, "customer": { "id": "c_102", "name": "Nordlicht Freight GmbH" },
  "currency": "USD", "total": 250, "outstanding": 250, "status": "outstanding",
  "issuedAt": "2026-11-02T09:15:00Z", "dueAt": "2026-12-02T00:00:00Z",
  "updatedAt": "2026-11-20T10:00:00Z",
  "wallet": { "currency": "EUR", "balance": 40.5 },
  "paypal": { "intent": "CAPTURE", "orderId": "5O190127TN364715T",
              "authorizationId": null, "approvedAt": "2026-11-20T09:58:00Z" } }"#;

fn raw(s: &str) -> Box<RawValue> {
    RawValue::from_string(s.to_owned()).expect("json")
}

fn parse_invoice(raw: &RawValue) -> Result<Invoice, GatewayError> {
    read_invoice(raw).map_err(|u| refused(&u))
}

fn page_of(invoices: &[&str]) -> String {
    format!(
        r#"{{"data":[{}],"pagination":{{"page":1,"limit":100,"total":{n},"totalPages":1}}}}"#,
        invoices.join(","),
        n = invoices.len()
    )
}

#[test]
fn the_documented_example_parses_exactly() {
    let inv = parse_invoice(&raw(SEED)).expect("valid");
    assert_eq!(inv.invoice_no, 458732);
    assert_eq!(inv.outstanding.to_decimal_string(), "250.00");
    assert_eq!(inv.wallet.as_ref().map(Wallet::balance_text), Some("40.50".into()));
    assert_eq!(inv.wallet.as_ref().map(Wallet::currency_code), Some("EUR"));
    assert_eq!(inv.wallet.as_ref().and_then(Wallet::money).map(|m| m.currency().code()), Some("EUR"));
    assert_eq!(inv.paypal.as_ref().map(|p| p.intent), Some(PaypalIntent::Capture));
    assert_eq!(inv.raw, SEED);
}

#[test]
fn bad_invoices_are_refused() {
    let cases = [
        SEED.replace("\"USD\"", "\"XXX\""),
        SEED.replace("\"total\": 250", "\"total\": \"250\""),
        SEED.replace("\"outstanding\": 250", "\"outstanding\": 250.001"),
        SEED.replace("\"outstanding\": 250", "\"outstanding\": -1"),
        SEED.replace("\"outstanding\": 250", "\"outstanding\": 300"),
        SEED.replace("\"outstanding\": 250", "\"outstanding\": 2.5e2"),
        SEED.replace("\"balance\": 40.5", "\"balance\": 40.555"),
        SEED.replace("\"balance\": 40.5", "\"balance\": -1"),
        SEED.replace("\"currency\": \"EUR\"", "\"currency\": \"\""),
        SEED.replace("\"outstanding\"", "\"outstandin\""),
        SEED.replace("\"CAPTURE\"", "\"AUTHORIZE\""),
        SEED.replace("\"status\": \"outstanding\"", "\"status\": 3"),
        SEED.replace("2026-12-02T00:00:00Z", "tomorrow"),
    ];
    for bad in cases {
        assert!(matches!(parse_invoice(&raw(&bad)), Err(GatewayError::InvalidResponse { .. })), "{bad}");
    }
}

/// The gateway's amounts have ISO 4217's digits: HUF and TWD have two (PayPal's none apply to
/// PayPal amounts only).
#[test]
fn huf_and_twd_amounts_have_iso_digits_and_stay_exact() {
    for code in ["HUF", "TWD"] {
        let inv = SEED
            .replace("\"USD\"", &format!("\"{code}\""))
            .replace("\"total\": 250", "\"total\": 1234.50")
            .replace("\"outstanding\": 250", "\"outstanding\": 1234.5")
            .replace(
                "\"currency\": \"EUR\", \"balance\": 40.5",
                &format!("\"currency\": \"{code}\", \"balance\": 0.75"),
            );
        let inv = parse_invoice(&raw(&inv)).expect(code);
        assert_eq!(inv.total.to_decimal_string(), "1234.50", "{code}");
        assert_eq!(inv.outstanding.amount(), rust_decimal::Decimal::new(123_450, 2), "{code}");
        assert_eq!(inv.wallet.as_ref().map(Wallet::balance_text), Some("0.75".into()), "{code}");
        let finer = SEED.replace("\"USD\"", &format!("\"{code}\"")).replace("\"total\": 250", "\"total\": 250.001");
        assert!(parse_invoice(&raw(&finer)).is_err(), "{code}: beyond ISO's two digits");
    }
}

/// A wallet in a currency outside our table does not block the invoice: it is kept as sent and
/// marked unusable.
#[test]
fn a_wallet_in_an_unknown_currency_keeps_the_invoice() {
    let inv = SEED.replace("\"currency\": \"EUR\", \"balance\": 40.5", "\"currency\": \"XAU\", \"balance\": 12.3456");
    let inv = parse_invoice(&raw(&inv)).expect("the invoice is still read");
    assert_eq!((inv.invoice_no, inv.outstanding.to_decimal_string()), (458_732, "250.00".to_owned()));
    let w = inv.wallet.expect("the wallet is kept");
    assert_eq!(w, Wallet::UnknownCurrency { code: "XAU".into(), balance: rust_decimal::Decimal::new(123_456, 4) });
    assert_eq!((w.money(), w.currency_code(), w.balance_text()), (None, "XAU", "12.3456".to_owned()));
}

#[test]
fn one_bad_invoice_is_set_apart_and_the_rest_of_its_page_is_read() {
    let bad = SEED.replace("458732", "458733").replace("\"total\": 250", "\"total\": 250.001");
    let third = SEED.replace("458732", "458734");
    let body = page_of(&[SEED, &bad, &third]);
    let page = parse_page(body.as_bytes(), 1).expect("the page is read");
    assert_eq!(page.invoices.iter().map(|i| i.invoice_no).collect::<Vec<_>>(), vec![458_732, 458_734]);
    assert_eq!(page.len(), 3, "the unreadable one still counts for paging");
    let [u] = page.unreadable.as_slice() else { panic!("one unreadable: {:?}", page.unreadable) };
    assert_eq!((u.invoice_no, u.invoice_no_text.as_deref()), (Some(458_733), Some("458733")));
    assert!(u.reason.starts_with("total: ") && u.reason.contains("more decimals than USD allows"), "{}", u.reason);
    assert_eq!(u.raw, bad);
    assert_eq!((page.total_pages, page.limit), (Some(1), Some(100)));
}

#[test]
fn an_unreadable_invoice_keeps_as_much_of_its_number_as_reads() {
    let cases: [(&str, Option<u64>, Option<&str>); 6] = [
        (r#"{"invoiceNo":"17","currency":"USD"}"#, Some(17), Some("\"17\"")),
        (r#"{"invoiceNo":17}"#, Some(17), Some("17")),
        (r#"{"invoiceNo":-17}"#, None, Some("-17")),
        (r#"{"invoiceNo":0}"#, None, Some("0")),
        (r#"{"customer":{}}"#, None, None),
        (r#"[1,2]"#, None, None),
    ];
    for (json, no, text) in cases {
        let body = page_of(&[json]);
        let page = parse_page(body.as_bytes(), 1).expect("a page");
        assert!(page.invoices.is_empty(), "{json}");
        let [u] = page.unreadable.as_slice() else { panic!("{json}") };
        assert_eq!((u.invoice_no, u.invoice_no_text.as_deref()), (no, text), "{json}");
        assert!(!u.reason.is_empty());
    }
}

#[test]
fn a_page_that_is_not_a_page_is_refused_whole() {
    let good = page_of(&[SEED]);
    let page = parse_page(good.as_bytes(), 1).expect("valid");
    assert_eq!((page.invoices.len(), page.total_pages), (1, Some(1)));
    assert!(parse_page(&good.as_bytes()[..good.len() / 2], 1).is_err(), "truncated");
    for bad in [r#"{"data":"nope"}"#, r#"<html>502</html>"#, r#"{"pagination":{}}"#] {
        assert!(matches!(parse_page(bad.as_bytes(), 1), Err(GatewayError::InvalidResponse { .. })), "{bad}");
    }
    let bare = parse_page(br#"{"data":[]}"#, 3).expect("no pagination object");
    assert_eq!((bare.page, bare.limit, bare.total, bare.total_pages, bare.is_empty()), (3, None, None, None, true));
}

/// An answer without its payments list (absent or null) says nothing about the invoice's
/// payments: `None`, never an empty list. A listed payment is read as sent; one that does not
/// validate refuses the invoice.
#[test]
fn payments_absent_or_null_are_not_an_empty_list() {
    let with = |payments: &str| SEED.replacen('{', &format!("{{ \"payments\": {payments},"), 1);
    assert_eq!(parse_invoice(&raw(SEED)).expect("absent").payments, None);
    assert_eq!(parse_invoice(&raw(&with("null"))).expect("null").payments, None);
    assert_eq!(parse_invoice(&raw(&with("[]"))).expect("empty").payments, Some(vec![]));
    let one = with(r#"[{"paymentId":"3C679366HH908993F","amount":250,"currency":"USD","method":"paypal"}]"#);
    let listed = parse_invoice(&raw(&one)).expect("one payment").payments.expect("listed");
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.payment_id.as_str(), p.amount.to_decimal_string(), p.method.as_str()))
            .collect::<Vec<_>>(),
        vec![("3C679366HH908993F", "250.00".to_owned(), "paypal")]
    );
    let bad = with(r#"[{"paymentId":"3C679366HH908993F","amount":250.001,"currency":"USD"}]"#);
    assert!(matches!(parse_invoice(&raw(&bad)), Err(GatewayError::InvalidResponse { .. })));
}

/// A listed payment's `at` is read when it is a time; absent, `null` or not a time that reads,
/// the payment is kept without one (never the whole invoice refused for it).
#[test]
fn a_payments_time_is_read_when_it_reads_and_none_otherwise() {
    let with = |at: &str| {
        let payment = format!(r#"{{"paymentId":"W1","amount":250,"currency":"USD","method":"wallet"{at}}}"#);
        SEED.replacen('{', &format!("{{ \"payments\": [{payment}],"), 1)
    };
    let at_of = |json: String| parse_invoice(&raw(&json)).expect("readable").payments.expect("listed")[0].at;
    let when = DateTime::parse_from_rfc3339("2026-11-20T10:00:07Z").expect("time").with_timezone(&Utc);
    assert_eq!(at_of(with(r#","at":"2026-11-20T10:00:07Z""#)), Some(when));
    assert_eq!(at_of(with(r#","at":"2026-11-20T11:00:07+01:00""#)), Some(when));
    for unknown in ["", r#","at":null"#, r#","at":"yesterday""#, r#","at":1763632807"#, r#","at":"""#] {
        assert_eq!(at_of(with(unknown)), None, "{unknown}");
    }
}
