use super::*;
use proptest::prelude::*;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("test decimal")
}
fn c(code: &str) -> Currency {
    Currency::from_code(code).expect("test currency")
}

#[test]
fn paypal_currencies_are_all_known_with_iso_and_paypal_digits() {
    let paypal = [
        "AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN", "TWD", "NZD", "NOK",
        "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD",
    ];
    for code in paypal {
        let cur = c(code);
        assert!(cur.paypal_supported(), "{code}");
        let paypal_digits = if matches!(code, "JPY" | "HUF" | "TWD") { 0 } else { 2 };
        assert_eq!(cur.paypal_minor_units(), paypal_digits, "{code}");
        let iso_digits = if code == "JPY" { 0 } else { 2 };
        assert_eq!(cur.minor_units(), iso_digits, "{code}: ISO 4217");
    }
    assert!(!c("NGN").paypal_supported());
    assert_eq!(c("KWD").minor_units(), 3);
    assert_eq!(c("KWD").paypal_minor_units(), 3, "not a PayPal currency: ISO's digits");
}

/// The gateway's amounts use ISO 4217's digits (HUF and TWD have 2); PayPal's digits (none for
/// HUF and TWD) apply to PayPal amounts only.
#[test]
fn huf_and_twd_have_iso_digits_at_the_gateway_and_paypal_digits_at_paypal() {
    for code in ["HUF", "TWD"] {
        let cur = c(code);
        let gw = Money::parse_gateway("1234.50", cur).expect("an ISO amount from the gateway");
        assert_eq!((gw.amount(), gw.to_decimal_string()), (d("1234.50"), "1234.50".to_owned()), "{code}: exact");
        assert_eq!(gw.minor_units(), 123_450);
        assert!(
            matches!(gw.paypal_value(), Err(AmountError::TooPrecise { digits: 0, .. })),
            "{code}: PayPal cannot take a fraction, and it is never rounded away"
        );
        assert_eq!(gw.to_paypal_string(), "1234.50", "{code}: never rounded");
        assert!(Money::parse_gateway("1234.505", cur).is_err(), "{code}: beyond ISO's digits");

        let whole = Money::parse_gateway("1234", cur).expect("whole");
        assert_eq!(whole.to_decimal_string(), "1234.00");
        assert_eq!(whole.paypal_value().as_deref(), Ok("1234"), "{code}: PayPal's digits");
        assert_eq!(whole.to_paypal_string(), "1234");

        let from_paypal = Money::parse_paypal("1500", cur).expect("PayPal's value");
        assert_eq!(from_paypal, Money::parse_gateway("1500.00", cur).expect("same"), "{code}");
        assert!(
            matches!(Money::parse_paypal("1500.5", cur), Err(AmountError::TooPrecise { digits: 0, .. })),
            "{code}: PayPal never sends a fraction"
        );
        assert_eq!(Money::parse_paypal("1500.00", cur).map(|m| m.to_paypal_string()), Ok("1500".into()));
    }
    let usd = Money::parse_gateway("10.5", c("USD")).expect("usd");
    assert_eq!((usd.to_decimal_string(), usd.paypal_value()), ("10.50".to_owned(), Ok("10.50".to_owned())));
    assert_eq!(round_to_minor(d("0.125"), c("HUF")), d("0.12"));
}

#[test]
fn table_is_sorted_for_binary_search() {
    let codes: Vec<_> = Currency::all().map(|c| c.code()).collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    assert_eq!(codes, sorted);
}

#[test]
fn unknown_and_lowercase_codes_are_refused_on_the_wire() {
    assert!(Currency::from_code("XYZ").is_err());
    assert!(Currency::from_code("usd").is_err());
    assert!(Currency::from_code("").is_err());
    assert_eq!(Currency::parse_user(" usd ").map(|c| c.code()), Ok("USD"));
}

#[test]
fn rounding_is_half_even_to_the_minor_unit() {
    let usd = c("USD");
    assert_eq!(round_to_minor(d("2.345"), usd), d("2.34"));
    assert_eq!(round_to_minor(d("2.355"), usd), d("2.36"));
    assert_eq!(round_to_minor(d("2.3450001"), usd), d("2.35"));
    assert_eq!(round_to_minor(d("-2.345"), usd), d("-2.34"));
    let jpy = c("JPY");
    assert_eq!(round_to_minor(d("0.5"), jpy), d("0"));
    assert_eq!(round_to_minor(d("1.5"), jpy), d("2"));
    assert_eq!(round_to_minor(d("2.5"), jpy), d("2"));
    let kwd = c("KWD");
    assert_eq!(round_to_minor(d("1.0005"), kwd).to_string(), "1.000");
    assert_eq!(round_to_minor(d("7"), usd).to_string(), "7.00");
}

#[test]
fn paypal_strings_parse_strictly() {
    let usd = c("USD");
    assert_eq!(Money::parse_paypal("10.99", usd).map(|m| m.to_paypal_string()), Ok("10.99".into()));
    assert_eq!(Money::parse_paypal("10.9", usd).map(|m| m.to_paypal_string()), Ok("10.90".into()));
    assert_eq!(Money::parse_paypal("10", usd).map(|m| m.to_paypal_string()), Ok("10.00".into()));
    assert!(matches!(Money::parse_paypal("10.999", usd), Err(AmountError::TooPrecise { .. })));
    // trailing zeros beyond the minor unit say nothing new and are accepted
    assert_eq!(Money::parse_paypal("10.990", usd).map(|m| m.to_paypal_string()), Ok("10.99".into()));
    for bad in ["", " 1", "1 ", "+1", "1e2", "1,000.00", ".5", "5.", "--1", "0x10", "NaN", "1.2.3"] {
        assert!(matches!(Money::parse_paypal(bad, usd), Err(AmountError::NotADecimal(_))), "{bad:?}");
    }
    assert!(matches!(Money::parse_paypal("-1.00", usd), Err(AmountError::Negative(_))));
    let jpy = c("JPY");
    assert_eq!(Money::parse_paypal("1500", jpy).map(|m| m.to_paypal_string()), Ok("1500".into()));
    assert!(Money::parse_paypal("1500.5", jpy).is_err());
    assert!(Money::parse_paypal(&"9".repeat(40), usd).is_err());
}

#[test]
fn gateway_numbers_parse_exactly() {
    let usd = c("USD");
    assert_eq!(Money::parse_gateway("250", usd).map(|m| m.minor_units()), Ok(25000));
    assert_eq!(Money::parse_gateway("40.5", usd).map(|m| m.minor_units()), Ok(4050));
    // a float round trip would turn 0.1 + 0.2 into 0.30000000000000004; we never see one
    assert_eq!(Money::parse_gateway("0.3", usd).map(|m| m.to_paypal_string()), Ok("0.30".into()));
    assert!(Money::parse_gateway("1e2", usd).is_err());
    assert!(Money::parse_gateway("0.001", usd).is_err());
}

#[test]
fn arithmetic_refuses_mixed_currencies() {
    let a = Money::from_minor(1000, c("USD"));
    let b = Money::from_minor(1000, c("EUR"));
    assert!(a.checked_add(b).is_none());
    assert_eq!(a.checked_sub(a).map(|m| m.is_zero()), Some(true));
    let eur_to_usd = a.convert(d("1.0857"), c("EUR")).expect("converts");
    assert_eq!(eur_to_usd.to_paypal_string(), "10.86");
}

#[test]
fn serde_checks_digits() {
    let ok: Money = serde_json::from_str(r#"{"amount":"1.50","currency":"USD"}"#).expect("valid");
    assert_eq!(ok.minor_units(), 150);
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1.505","currency":"USD"}"#).is_err());
    assert!(serde_json::from_str::<Money>(r#"{"amount":"1","currency":"XXX"}"#).is_err());
}

fn currency() -> impl Strategy<Value = Currency> {
    let all: Vec<Currency> = Currency::all().collect();
    proptest::sample::select(all)
}

proptest! {
    #[test]
    fn minor_units_round_trip_through_decimal_text(minor in 0i64..10_000_000_000_000, cur in currency()) {
        let m = Money::from_minor(minor, cur);
        let text = m.to_decimal_string();
        let back = Money::parse_gateway(&text, cur).expect("own output parses");
        prop_assert_eq!(back, m);
        prop_assert_eq!(back.minor_units(), i128::from(minor));
        let digits_after_point = text.split_once('.').map_or(0, |(_, f)| f.len());
        prop_assert_eq!(digits_after_point as u32, cur.minor_units());
    }

    #[test]
    fn paypal_units_round_trip_through_paypal_text(units in 0i64..10_000_000_000_000, cur in currency()) {
        let m = Money::new(Decimal::new(units, cur.paypal_minor_units()), cur).expect("fits ISO's digits");
        let text = m.paypal_value().expect("fits PayPal's digits");
        prop_assert_eq!(&m.to_paypal_string(), &text);
        let back = Money::parse_paypal(&text, cur).expect("own output parses");
        prop_assert_eq!(back, m);
        let digits_after_point = text.split_once('.').map_or(0, |(_, f)| f.len());
        prop_assert_eq!(digits_after_point as u32, cur.paypal_minor_units());
    }

    #[test]
    fn gateway_text_round_trips(int in 0u64..1_000_000_000, frac in 0u32..1000, cur in currency()) {
        let digits = cur.minor_units();
        let frac = if digits == 0 { 0 } else { frac % 10u32.pow(digits) };
        let text = if digits == 0 { int.to_string() } else { format!("{int}.{frac:0width$}", width = digits as usize) };
        let m = Money::parse_gateway(&text, cur).expect("well-formed");
        prop_assert_eq!(m.to_decimal_string(), text);
    }

    #[test]
    fn rounding_is_idempotent_and_close(mantissa in -1_000_000_000_000i64..1_000_000_000_000, scale in 0u32..8, cur in currency()) {
        let x = Decimal::new(mantissa, scale);
        let r = round_to_minor(x, cur);
        prop_assert_eq!(round_to_minor(r, cur), r);
        prop_assert_eq!(r.scale(), cur.minor_units());
        let half_unit = Decimal::new(5, cur.minor_units() + 1);
        prop_assert!((r - x).abs() <= half_unit);
    }

    #[test]
    fn exact_halves_go_to_even(units in -1_000_000i64..1_000_000, cur in currency()) {
        // units + 0.5 minor units
        let x = Decimal::new(units * 10 + 5, cur.minor_units() + 1);
        let r = round_to_minor(x, cur);
        let r_minor = r.mantissa();
        prop_assert_eq!(r_minor % 2, 0);
    }
}
