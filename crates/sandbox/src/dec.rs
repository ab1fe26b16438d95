//! The sandbox's own reading of amounts: a currency's digits and exact decimal text.
//! Written independently of the `money` crate on purpose, so the two can disagree in a test.

use rust_decimal::{Decimal, RoundingStrategy};
use std::str::FromStr;

/// Digits after the point, for the codes the sandbox knows; `None` for an unknown code.
pub fn digits(code: &str) -> Option<u32> {
    Some(match code {
        "JPY" | "HUF" | "TWD" | "KRW" => 0,
        "KWD" | "BHD" | "OMR" | "JOD" => 3,
        "AUD" | "BRL" | "CAD" | "CHF" | "CNY" | "CZK" | "DKK" | "EUR" | "GBP" | "HKD" | "ILS" | "MXN" | "MYR"
        | "NOK" | "NZD" | "PHP" | "PLN" | "SEK" | "SGD" | "THB" | "USD" | "NGN" | "GHS" | "KES" | "ZAR" | "AED"
        | "SAR" | "INR" | "EGP" | "TRY" => 2,
        _ => return None,
    })
}

/// Currencies PayPal takes; the gateway disables the PayPal method for the others.
pub fn paypal_accepts(code: &str) -> bool {
    matches!(
        code,
        "AUD"
            | "BRL"
            | "CAD"
            | "CNY"
            | "CZK"
            | "DKK"
            | "EUR"
            | "HKD"
            | "HUF"
            | "ILS"
            | "JPY"
            | "MYR"
            | "MXN"
            | "TWD"
            | "NZD"
            | "NOK"
            | "PHP"
            | "PLN"
            | "GBP"
            | "SGD"
            | "SEK"
            | "CHF"
            | "THB"
            | "USD"
    )
}

/// Exact decimal from plain text (`12`, `-3.50`); no exponent, sign `+`, or spaces.
pub fn parse_plain(text: &str) -> Option<Decimal> {
    let body = text.strip_prefix('-').unwrap_or(text);
    let mut parts = body.splitn(2, '.');
    let int = parts.next()?;
    let ok = |s: &str| !s.is_empty() && s.len() <= 30 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(int) || parts.next().is_some_and(|f| !ok(f)) {
        return None;
    }
    Decimal::from_str(text).ok()
}

/// Whether `v` has no more decimals than `code` allows.
pub fn fits(v: Decimal, code: &str) -> bool {
    digits(code).is_some_and(|d| v.normalize().scale() <= d)
}

/// Half-even rounding to the currency's digits (2 when unknown).
pub fn round(v: Decimal, code: &str) -> Decimal {
    let d = digits(code).unwrap_or(2);
    let mut r = v.round_dp_with_strategy(d, RoundingStrategy::MidpointNearestEven);
    r.rescale(d);
    r
}

/// PayPal's text for an amount: exactly the currency's digits.
pub fn paypal_text(v: Decimal, code: &str) -> String {
    round(v, code).to_string()
}

/// The gateway's JSON number text: shortest exact form (`250`, `40.5`).
pub fn gateway_number(v: Decimal) -> String {
    let n = v.normalize();
    if n.is_zero() {
        "0".to_owned()
    } else {
        n.to_string()
    }
}
