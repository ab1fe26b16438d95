//! Exact money for Capture Desk.
//!
//! * [`Currency`]: an ISO 4217 code with its ISO 4217 minor-unit digits, and PayPal's digits for
//!   the currencies PayPal accepts (HUF and TWD have 2 in ISO 4217 and none at PayPal; JPY has
//!   none in both).
//! * [`Money`]: a `Decimal` amount in a currency, always with exactly ISO 4217's digits — the
//!   gateway's amounts, and the desk's. PayPal's digits apply only where an amount meets PayPal:
//!   [`Money::parse_paypal`] reads PayPal's `value` by them, [`Money::paypal_value`] writes one.
//! * [`round_to_minor`]: the one rounding rule — half-even (banker's rounding) to the
//!   currency's minor unit. Every rounding in the code base goes through it.
//!
//! Amounts never pass through `f64`: they are parsed from and formatted to decimal text.

mod currency;
mod parse;

pub use currency::{Currency, UnknownCurrency};
pub use parse::{parse_decimal_text, AmountError};

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Rounds `amount` to `currency`'s minor unit, half to even.
///
/// `2.345 USD → 2.34`, `2.355 USD → 2.36`, `0.5 JPY → 0`, `1.5 JPY → 2`, `0.125 HUF → 0.12`.
pub fn round_to_minor(amount: Decimal, currency: Currency) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(currency.minor_units(), RoundingStrategy::MidpointNearestEven);
    rounded.rescale(currency.minor_units());
    rounded
}

/// An exact amount of money in one currency, with exactly the currency's minor-unit digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "MoneyRepr")]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Money from an amount that must already fit the currency's minor units
    /// (`10.5 USD` is fine and becomes `10.50`; `10.505 USD` is an error).
    pub fn new(amount: Decimal, currency: Currency) -> Result<Self, AmountError> {
        let normalized = amount.normalize();
        if normalized.scale() > currency.minor_units() {
            return Err(AmountError::TooPrecise {
                value: amount.to_string(),
                currency: currency.code().to_owned(),
                digits: currency.minor_units(),
            });
        }
        let mut amount = normalized;
        amount.rescale(currency.minor_units());
        Ok(Self { amount, currency })
    }

    /// Money from any amount, rounded half-even to the minor unit.
    pub fn rounded(amount: Decimal, currency: Currency) -> Self {
        Self { amount: round_to_minor(amount, currency), currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::rounded(Decimal::ZERO, currency)
    }

    /// Parses PayPal's amount text (`"10.99"`, `"1500"` for JPY and HUF): digits, an optional
    /// point and at most PayPal's digits for the currency; no sign, exponent, spaces or grouping.
    pub fn parse_paypal(value: &str, currency: Currency) -> Result<Self, AmountError> {
        let amount = parse_decimal_text(value)?;
        if amount.is_sign_negative() {
            return Err(AmountError::Negative(value.to_owned()));
        }
        if amount.normalize().scale() > currency.paypal_minor_units() {
            return Err(AmountError::TooPrecise {
                value: value.to_owned(),
                currency: currency.code().to_owned(),
                digits: currency.paypal_minor_units(),
            });
        }
        Self::new(amount, currency)
    }

    /// Parses a JSON number's text as the gateway sends it, within ISO 4217's digits (`250`,
    /// `40.5`, `1234.50` HUF; `1e2` is refused).
    pub fn parse_gateway(number_text: &str, currency: Currency) -> Result<Self, AmountError> {
        Self::new(parse_decimal_text(number_text)?, currency)
    }

    /// The exact amount with ISO 4217's digits (`"1234.50"` HUF, `"250.00"` USD): the gateway's
    /// and the desk's form.
    pub fn to_decimal_string(&self) -> String {
        self.amount.to_string()
    }

    /// PayPal's `value` for this amount, with PayPal's digits (`"1234"` for 1234.00 HUF), or
    /// `TooPrecise` when the amount has a finer part than PayPal takes (1234.50 HUF): PayPal
    /// cannot charge it, and rounding it would charge another amount than the gateway expects.
    pub fn paypal_value(&self) -> Result<String, AmountError> {
        let digits = self.currency.paypal_minor_units();
        if self.amount.normalize().scale() > digits {
            return Err(AmountError::TooPrecise {
                value: self.amount.to_string(),
                currency: self.currency.code().to_owned(),
                digits,
            });
        }
        let mut value = self.amount;
        value.rescale(digits);
        Ok(value.to_string())
    }

    /// PayPal's digits when the amount fits them (`"1234"` for 1234.00 HUF, `"10.50"` USD);
    /// otherwise the exact amount ([`Money::to_decimal_string`]), which PayPal refuses. Never
    /// rounded. Where the refusal must come before a call, use [`Money::paypal_value`].
    pub fn to_paypal_string(&self) -> String {
        self.paypal_value().unwrap_or_else(|_| self.to_decimal_string())
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in ISO 4217 minor units (cents, yen, fillér, ...). Every constructor keeps the
    /// scale equal to the currency's minor units, so this is the decimal's mantissa.
    pub fn minor_units(&self) -> i128 {
        self.amount.mantissa()
    }

    /// Money from a minor-unit count.
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { amount: Decimal::new(minor, currency.minor_units()), currency }
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// `self + other`, or `None` for different currencies or overflow.
    pub fn checked_add(&self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_add(other.amount))
            .flatten()
            .map(|amount| Money { amount, currency: self.currency })
    }

    /// `self - other`, or `None` for different currencies or overflow.
    pub fn checked_sub(&self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| self.amount.checked_sub(other.amount))
            .flatten()
            .map(|amount| Money { amount, currency: self.currency })
    }

    /// Converts at `rate` (target units per one unit of `self`), rounding half-even.
    pub fn convert(&self, rate: Decimal, target: Currency) -> Option<Money> {
        self.amount.checked_mul(rate).map(|a| Money::rounded(a, target))
    }
}

/// What a serialized `Money` looks like before it is checked against its currency.
#[derive(Deserialize)]
struct MoneyRepr {
    amount: Decimal,
    currency: Currency,
}

impl TryFrom<MoneyRepr> for Money {
    type Error = AmountError;
    fn try_from(r: MoneyRepr) -> Result<Self, AmountError> {
        Money::new(r.amount, r.currency)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency.code())
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} {})", self.amount, self.currency.code())
    }
}

#[cfg(test)]
mod tests;
