//! The currency table: ISO 4217 codes and the minor-unit digits we use.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One row of the table.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Info {
    code: &'static str,
    minor_units: u32,
    name: &'static str,
    paypal: bool,
}

const fn row(code: &'static str, minor_units: u32, name: &'static str, paypal: bool) -> Info {
    Info { code, minor_units, name, paypal }
}

/// Every currency PayPal accepts (with PayPal's digits: HUF, JPY and TWD have none even though
/// ISO 4217 gives HUF and TWD two), then currencies a shipping customer's wallet may hold
/// (ISO 4217 digits). Sorted by code.
static TABLE: &[Info] = &[
    row("AED", 2, "UAE Dirham", false),
    row("AUD", 2, "Australian Dollar", true),
    row("BHD", 3, "Bahraini Dinar", false),
    row("BRL", 2, "Brazilian Real", true),
    row("CAD", 2, "Canadian Dollar", true),
    row("CHF", 2, "Swiss Franc", true),
    row("CNY", 2, "Chinese Renminbi", true),
    row("CZK", 2, "Czech Koruna", true),
    row("DKK", 2, "Danish Krone", true),
    row("EGP", 2, "Egyptian Pound", false),
    row("EUR", 2, "Euro", true),
    row("GBP", 2, "Pound Sterling", true),
    row("GHS", 2, "Ghana Cedi", false),
    row("HKD", 2, "Hong Kong Dollar", true),
    row("HUF", 0, "Hungarian Forint", true),
    row("ILS", 2, "Israeli New Shekel", true),
    row("INR", 2, "Indian Rupee", false),
    row("JOD", 3, "Jordanian Dinar", false),
    row("JPY", 0, "Japanese Yen", true),
    row("KES", 2, "Kenyan Shilling", false),
    row("KRW", 0, "South Korean Won", false),
    row("KWD", 3, "Kuwaiti Dinar", false),
    row("MXN", 2, "Mexican Peso", true),
    row("MYR", 2, "Malaysian Ringgit", true),
    row("NGN", 2, "Nigerian Naira", false),
    row("NOK", 2, "Norwegian Krone", true),
    row("NZD", 2, "New Zealand Dollar", true),
    row("OMR", 3, "Omani Rial", false),
    row("PHP", 2, "Philippine Peso", true),
    row("PLN", 2, "Polish Zloty", true),
    row("SAR", 2, "Saudi Riyal", false),
    row("SEK", 2, "Swedish Krona", true),
    row("SGD", 2, "Singapore Dollar", true),
    row("THB", 2, "Thai Baht", true),
    row("TRY", 2, "Turkish Lira", false),
    row("TWD", 0, "New Taiwan Dollar", true),
    row("USD", 2, "US Dollar", true),
    row("ZAR", 2, "South African Rand", false),
];

/// An ISO 4217 currency known to Capture Desk. Cheap to copy; serialises as its code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(&'static Info);

/// A currency code that is not in the table (or not a code at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown currency {0:?}")]
pub struct UnknownCurrency(pub String);

impl Currency {
    /// The currency with exactly this upper-case ISO code.
    pub fn from_code(code: &str) -> Result<Self, UnknownCurrency> {
        TABLE
            .binary_search_by(|i| i.code.cmp(code))
            .map(|at| Currency(&TABLE[at]))
            .map_err(|_| UnknownCurrency(code.to_owned()))
    }

    /// A code typed by a person: surrounding spaces and case are forgiven.
    pub fn parse_user(text: &str) -> Result<Self, UnknownCurrency> {
        Self::from_code(&text.trim().to_ascii_uppercase()).map_err(|_| UnknownCurrency(text.to_owned()))
    }

    pub fn code(&self) -> &'static str {
        self.0.code
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Digits after the decimal point (2 for USD, 0 for JPY, 3 for KWD).
    pub fn minor_units(&self) -> u32 {
        self.0.minor_units
    }

    /// Whether PayPal accepts payments in this currency.
    pub fn paypal_supported(&self) -> bool {
        self.0.paypal
    }

    /// Every known currency, sorted by code.
    pub fn all() -> impl Iterator<Item = Currency> {
        TABLE.iter().map(Currency)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl std::str::FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}
