//! The currency table: ISO 4217 codes, their ISO 4217 minor-unit digits, and PayPal's digits
//! for the currencies PayPal accepts.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One row of the table.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Info {
    code: &'static str,
    /// ISO 4217's digits: what the gateway's amounts (and the desk's books) use.
    minor_units: u32,
    name: &'static str,
    /// PayPal's digits when PayPal accepts the currency.
    paypal: Option<u32>,
}

/// A currency PayPal does not accept.
const fn row(code: &'static str, minor_units: u32, name: &'static str) -> Info {
    Info { code, minor_units, name, paypal: None }
}

/// A currency PayPal accepts, with PayPal's digits.
const fn pp(code: &'static str, minor_units: u32, name: &'static str, paypal_digits: u32) -> Info {
    Info { code, minor_units, name, paypal: Some(paypal_digits) }
}

/// Every currency PayPal accepts and the currencies a shipping customer's wallet may hold, sorted
/// by code. The second column is ISO 4217's digits; PayPal's own digits differ for HUF and TWD
/// (ISO 4217: 2, PayPal: 0) and agree elsewhere (JPY: 0 in both).
static TABLE: &[Info] = &[
    row("AED", 2, "UAE Dirham"),
    pp("AUD", 2, "Australian Dollar", 2),
    row("BHD", 3, "Bahraini Dinar"),
    pp("BRL", 2, "Brazilian Real", 2),
    pp("CAD", 2, "Canadian Dollar", 2),
    pp("CHF", 2, "Swiss Franc", 2),
    pp("CNY", 2, "Chinese Renminbi", 2),
    pp("CZK", 2, "Czech Koruna", 2),
    pp("DKK", 2, "Danish Krone", 2),
    row("EGP", 2, "Egyptian Pound"),
    pp("EUR", 2, "Euro", 2),
    pp("GBP", 2, "Pound Sterling", 2),
    row("GHS", 2, "Ghana Cedi"),
    pp("HKD", 2, "Hong Kong Dollar", 2),
    pp("HUF", 2, "Hungarian Forint", 0),
    pp("ILS", 2, "Israeli New Shekel", 2),
    row("INR", 2, "Indian Rupee"),
    row("JOD", 3, "Jordanian Dinar"),
    pp("JPY", 0, "Japanese Yen", 0),
    row("KES", 2, "Kenyan Shilling"),
    row("KRW", 0, "South Korean Won"),
    row("KWD", 3, "Kuwaiti Dinar"),
    pp("MXN", 2, "Mexican Peso", 2),
    pp("MYR", 2, "Malaysian Ringgit", 2),
    row("NGN", 2, "Nigerian Naira"),
    pp("NOK", 2, "Norwegian Krone", 2),
    pp("NZD", 2, "New Zealand Dollar", 2),
    row("OMR", 3, "Omani Rial"),
    pp("PHP", 2, "Philippine Peso", 2),
    pp("PLN", 2, "Polish Zloty", 2),
    row("SAR", 2, "Saudi Riyal"),
    pp("SEK", 2, "Swedish Krona", 2),
    pp("SGD", 2, "Singapore Dollar", 2),
    pp("THB", 2, "Thai Baht", 2),
    row("TRY", 2, "Turkish Lira"),
    pp("TWD", 2, "New Taiwan Dollar", 0),
    pp("USD", 2, "US Dollar", 2),
    row("ZAR", 2, "South African Rand"),
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

    /// ISO 4217's digits after the decimal point (2 for USD and HUF, 0 for JPY, 3 for KWD): the
    /// digits of every [`Money`](crate::Money), and of the gateway's amounts.
    pub fn minor_units(&self) -> u32 {
        self.0.minor_units
    }

    /// PayPal's digits for this currency (0 for HUF, TWD and JPY), which apply to the `value` of
    /// PayPal amounts only. For a currency PayPal does not accept: ISO 4217's.
    pub fn paypal_minor_units(&self) -> u32 {
        self.0.paypal.unwrap_or(self.0.minor_units)
    }

    /// Whether PayPal accepts payments in this currency.
    pub fn paypal_supported(&self) -> bool {
        self.0.paypal.is_some()
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
