//! The simulated world: the gateway's customers, wallets and invoices, and PayPal's orders,
//! authorizations, captures and refunds. Pure state and rules; HTTP lives in `gateway` and
//! `paypal`. Everything here is serialisable so `--state FILE` can keep it across restarts.
//!
//! The state is here; `seed` makes a world from a seed, `rules` holds what time does to it,
//! `paypal` PayPal's state changes (`reauthorize`: PayPal's reauthorization) and `billing` the gateway's (wallet debits, settling an
//! invoice).

mod billing;
mod paypal;
mod reauthorize;
mod rules;
mod seed;

pub use billing::WalletPart;
pub use paypal::Refusal;

use crate::clock::Clock;
use crate::dec;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvoiceStatus {
    Outstanding,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outstanding => "outstanding",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Wallet {
    pub currency: String,
    pub balance: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub name: String,
    pub wallet: Option<Wallet>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PaypalRef {
    pub intent: String,
    pub order_id: String,
    pub authorization_id: Option<String>,
    pub approved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InvoicePayment {
    pub payment_id: String,
    pub amount: Decimal,
    pub currency: String,
    pub method: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invoice {
    pub no: u64,
    pub customer_id: String,
    pub currency: String,
    pub total: Decimal,
    pub outstanding: Decimal,
    pub status: InvoiceStatus,
    pub issued_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub paypal: Option<PaypalRef>,
    pub payments: Vec<InvoicePayment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalletRecord {
    pub id: u64,
    pub customer_id: String,
    pub kind: String,
    pub amount: Decimal,
    pub exchange_rate: Decimal,
    pub status: i8,
    pub reference: String,
    pub transaction_id: String,
    pub payment_gateway: String,
    pub payment_id: String,
    pub balance_before: Decimal,
    pub balance_after: Decimal,
    pub currency: String,
    pub at: DateTime<Utc>,
}

/// How a capture of this order or authorization will turn out, decided when it is seeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CaptureOutcome {
    Completed,
    /// PENDING (`PENDING_REVIEW`) until completed by the control API or after the delay.
    Pending,
    Declined,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub intent: String,
    pub status: String,
    pub currency: String,
    pub value: Decimal,
    pub invoice_id: String,
    pub reference_id: String,
    pub payer_email: String,
    pub payer_name: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub capture_ids: Vec<String>,
    pub authorization_ids: Vec<String>,
    pub outcome: CaptureOutcome,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authorization {
    pub id: String,
    pub order_id: String,
    pub status: String,
    pub currency: String,
    pub value: Decimal,
    pub invoice_id: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub expiration_time: DateTime<Utc>,
    pub capture_ids: Vec<String>,
    pub outcome: CaptureOutcome,
    /// The authorization this one reauthorized: it holds the same payment (see `reauthorize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthorization_of: Option<String>,
    /// Its reauthorization, once made (PayPal reauthorizes an authorization once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauthorized_by: Option<String>,
}

impl Authorization {
    /// The other authorization of the same payment: its reauthorization, or the one it
    /// reauthorized.
    pub fn partner(&self) -> Option<&str> {
        self.reauthorized_by.as_deref().or(self.reauthorization_of.as_deref())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Capture {
    pub id: String,
    pub order_id: Option<String>,
    pub authorization_id: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub currency: String,
    pub value: Decimal,
    pub fee: Decimal,
    pub final_capture: bool,
    pub invoice_id: String,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    /// A PENDING capture completes by itself at this time.
    pub completes_at: Option<DateTime<Utc>>,
    pub refunded: Decimal,
    pub refund_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refund {
    pub id: String,
    pub capture_id: String,
    pub status: String,
    pub currency: String,
    pub value: Decimal,
    pub create_time: DateTime<Utc>,
}

/// What an idempotency key points at: replaying it answers the resource's current state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Replay {
    Order(String),
    Authorization(String),
    Capture(String),
    Refund(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finalization {
    pub invoice_no: u64,
    pub payment_id: String,
    pub amount: Decimal,
    pub currency_code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub expires_at: DateTime<Utc>,
}

/// The whole simulated world.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub seed: u64,
    pub invoice_count: u64,
    pub customers: BTreeMap<String, Customer>,
    pub invoices: BTreeMap<u64, Invoice>,
    pub wallet_history: Vec<WalletRecord>,
    pub orders: HashMap<String, Order>,
    pub authorizations: HashMap<String, Authorization>,
    pub captures: HashMap<String, Capture>,
    /// Capture ids in the order they were made (for the ledger).
    pub capture_log: Vec<String>,
    pub refunds: HashMap<String, Refund>,
    pub idempotency: HashMap<String, Replay>,
    /// When each idempotency key was first used (keys expire; see [`crate::KeyRetention`]).
    #[serde(default)]
    pub idempotency_at: HashMap<String, DateTime<Utc>>,
    pub finalizations: Vec<Finalization>,
    pub tokens: HashMap<String, Token>,
    pub counter: u64,
    /// Bumped on every change of an invoice; list views are cached per generation.
    #[serde(skip)]
    pub generation: u64,
    /// Seconds a PENDING capture waits before completing by itself (0 = only on request).
    pub pending_seconds: i64,
    /// The credentials this sandbox accepts (set from [`crate::Config`] at start, never saved).
    #[serde(skip)]
    pub credentials: crate::Credentials,
    /// How long idempotency keys are kept (set from [`crate::Config`] at start, never saved).
    #[serde(skip)]
    pub key_retention: crate::KeyRetention,
    /// The one clock every rule of this world reads.
    #[serde(default)]
    pub clock: Clock,
}

/// The seed example of GATEWAY-API.md.
pub const SEED_INVOICE: u64 = 458_732;
pub const FIRST_INVOICE: u64 = 458_600;

/// A small deterministic generator (SplitMix64): the same seed gives the same world.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    /// True with probability `p` given as a decimal in 0..=1.
    pub fn chance_dec(&mut self, p: Decimal) -> bool {
        let scaled = (p * Decimal::from(1_000_000)).trunc();
        let threshold = u64::try_from(scaled.mantissa().max(0)).unwrap_or(0);
        self.below(1_000_000) < threshold
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let at = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
        &items[at]
    }
    pub(crate) fn id(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXY";
        (0..len).map(|_| ALPHABET[usize::try_from(self.below(32)).unwrap_or(0)] as char).collect()
    }
}

/// US dollars per one unit of each currency the sandbox trades in (fixed, so rates are stable).
const USD_PER_UNIT: &[(&str, &str)] = &[
    ("USD", "1"),
    ("EUR", "1.0857"),
    ("GBP", "1.2713"),
    ("JPY", "0.006712"),
    ("CAD", "0.7318"),
    ("AUD", "0.6534"),
    ("CHF", "1.1296"),
    ("SEK", "0.0947"),
    ("HUF", "0.002741"),
    ("NGN", "0.000647"),
    ("KWD", "3.2541"),
    ("ZAR", "0.0553"),
];

fn usd_per_unit(code: &str) -> Option<Decimal> {
    USD_PER_UNIT.iter().find(|(c, _)| *c == code).and_then(|(_, v)| dec::parse_plain(v))
}

/// Invoice-currency units per one wallet unit, to six decimals.
pub fn exchange_rate(wallet: &str, invoice: &str) -> Option<Decimal> {
    if wallet == invoice {
        return Some(Decimal::ONE);
    }
    let r = usd_per_unit(wallet)? / usd_per_unit(invoice)?;
    Some(r.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointNearestEven).normalize())
}
