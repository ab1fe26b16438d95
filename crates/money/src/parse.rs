//! Strict decimal text parsing, shared by PayPal's strings and the gateway's JSON numbers.

use rust_decimal::Decimal;
use std::str::FromStr;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("{0:?} is not a decimal amount")]
    NotADecimal(String),
    #[error("{value} has more decimals than {currency} allows ({digits})")]
    TooPrecise { value: String, currency: String, digits: u32 },
    #[error("{0} is negative")]
    Negative(String),
    #[error("{0} is out of range")]
    OutOfRange(String),
}

/// Longest amount text we accept (PayPal's own limit for `value`).
const MAX_LEN: usize = 32;

/// Parses plain decimal text: an optional `-`, digits, and an optional `.` with digits.
/// No `+`, exponent, spaces, grouping, leading point or trailing point.
/// This is what JSON numbers without exponent and PayPal `value` strings look like.
pub fn parse_decimal_text(text: &str) -> Result<Decimal, AmountError> {
    let bad = || AmountError::NotADecimal(text.chars().take(40).collect());
    if text.is_empty() || text.len() > MAX_LEN {
        return Err(bad());
    }
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(bad());
    }
    Decimal::from_str(text).map_err(|_| AmountError::OutOfRange(text.to_owned()))
}
