//! The simulated world: the gateway's customers, wallets and invoices, and PayPal's orders,
//! authorizations, captures and refunds. Pure state and rules; HTTP lives in `gateway` and
//! `paypal`. Everything here is serialisable so `--state FILE` can keep it across restarts.

use crate::clock::Clock;
use crate::dec;
use chrono::{DateTime, Duration, TimeZone, Utc};
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
    fn id(&mut self, len: usize) -> String {
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

const COMPANY_HEADS: &[&str] = &[
    "Nordlicht",
    "Baltic",
    "Hanse",
    "Rhein",
    "Alpen",
    "Kestrel",
    "Harbour",
    "Meridian",
    "Atlas",
    "Sahara",
    "Lagos",
    "Kansai",
    "Danube",
    "Fjord",
    "Pacific",
    "Sierra",
    "Delta",
    "Orion",
    "Cobalt",
    "Granite",
    "Lotus",
    "Aurora",
    "Coral",
    "Summit",
];
const COMPANY_TAILS: &[&str] =
    &["Freight", "Logistics", "Shipping", "Cargo", "Forwarding", "Trading", "Transport", "Lines"];
const COMPANY_FORMS: &[&str] = &["GmbH", "Ltd", "Inc.", "S.A.", "B.V.", "K.K.", "AB", "Kft.", "LLC"];
/// Invoice currencies; six or more, JPY among them.
const INVOICE_CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "SEK", "HUF"];
/// Wallet currencies; some outside PayPal's list.
const WALLET_CURRENCIES: &[&str] = &["USD", "EUR", "GBP", "USD", "EUR", "NGN", "JPY", "KWD", "ZAR", "GBP"];

/// The base time of GATEWAY-API.md's seed example: a world seeded at this time holds the
/// example's invoice with the example's own dates. Other bases shift it by whole days.
fn seed_example_base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().unwrap_or_default()
}

impl World {
    /// A deterministic world of `invoice_count` invoices from `seed`, dated around `base`
    /// ("this morning"; see [`crate::clock::seed_base`]): the same seed and base give the same
    /// world, and another base gives the same world shifted in time. Its clock is `clock`.
    pub fn seeded(seed: u64, invoice_count: u64, base: DateTime<Utc>, clock: Clock) -> World {
        let mut rng = Rng::new(seed);
        let mut w = World {
            seed,
            invoice_count,
            customers: BTreeMap::new(),
            invoices: BTreeMap::new(),
            wallet_history: Vec::new(),
            orders: HashMap::new(),
            authorizations: HashMap::new(),
            captures: HashMap::new(),
            capture_log: Vec::new(),
            refunds: HashMap::new(),
            idempotency: HashMap::new(),
            finalizations: Vec::new(),
            tokens: HashMap::new(),
            counter: 0,
            generation: 0,
            pending_seconds: 20,
            credentials: crate::Credentials::default(),
            clock,
        };
        let customer_count = (invoice_count / 4).clamp(12, 25_000);
        for i in 0..customer_count {
            let id = format!("c_{}", 100 + i);
            let name = format!("{} {} {}", rng.pick(COMPANY_HEADS), rng.pick(COMPANY_TAILS), rng.pick(COMPANY_FORMS));
            // 55 % hold a wallet with money, 25 % an empty wallet, 20 % none.
            let roll = rng.below(100);
            let wallet = if roll < 80 {
                let currency = rng.pick(WALLET_CURRENCIES).to_string();
                let balance = if roll < 55 { Self::random_wallet_balance(&mut rng, &currency) } else { Decimal::ZERO };
                Some(Wallet { currency, balance })
            } else {
                None
            };
            w.customers.insert(id.clone(), Customer { id, name, wallet });
        }
        // The seed example's customer.
        w.customers.insert(
            "c_102".into(),
            Customer {
                id: "c_102".into(),
                name: "Nordlicht Freight GmbH".into(),
                wallet: Some(Wallet { currency: "EUR".into(), balance: Decimal::new(405, 1) }),
            },
        );
        let customer_ids: Vec<String> = w.customers.keys().cloned().collect();
        // A customer with wallet money gets at most one approved PayPal payment, so the
        // PayPal part each customer approved stays the one part-process computes.
        let mut approved_with_wallet: std::collections::HashSet<String> = Default::default();
        approved_with_wallet.insert("c_102".into());
        for i in 0..invoice_count {
            let no = FIRST_INVOICE + i;
            if no == SEED_INVOICE {
                w.add_seed_invoice(base);
                continue;
            }
            let customer_id = rng.pick(&customer_ids).clone();
            let currency = rng.pick(INVOICE_CURRENCIES).to_string();
            let total = Self::random_amount(&mut rng, &currency);
            let issued_at = base
                - Duration::days(i64::try_from(rng.below(75)).unwrap_or(0))
                - Duration::minutes(i64::try_from(rng.below(1440)).unwrap_or(0));
            let due_at = issued_at
                + Duration::days(match rng.below(3) {
                    0 => 14,
                    1 => 30,
                    _ => 60,
                });
            let roll = rng.below(100);
            let status = if roll < 8 {
                InvoiceStatus::Paid
            } else if roll < 10 {
                InvoiceStatus::Cancelled
            } else {
                InvoiceStatus::Outstanding
            };
            let updated_at = (issued_at + Duration::hours(i64::try_from(rng.below(72)).unwrap_or(0))).min(base);
            let mut invoice = Invoice {
                no,
                customer_id: customer_id.clone(),
                currency: currency.clone(),
                total,
                outstanding: if status == InvoiceStatus::Outstanding { total } else { Decimal::ZERO },
                status,
                issued_at,
                due_at,
                updated_at,
                paypal: None,
                payments: Vec::new(),
            };
            if status == InvoiceStatus::Paid {
                invoice.payments.push(InvoicePayment {
                    payment_id: format!("HIST-{no}"),
                    amount: total,
                    currency: currency.clone(),
                    method: "bank_transfer".into(),
                    at: updated_at,
                });
            }
            let has_wallet_money =
                w.customers.get(&customer_id).and_then(|c| c.wallet.as_ref()).is_some_and(|wl| !wl.balance.is_zero());
            let may_approve = status == InvoiceStatus::Outstanding
                && dec::paypal_accepts(&currency)
                && (!has_wallet_money || !approved_with_wallet.contains(&customer_id));
            if may_approve && rng.chance(450) {
                if has_wallet_money {
                    approved_with_wallet.insert(customer_id.clone());
                }
                w.invoices.insert(no, invoice);
                // customers approve shortly before staff capture: within the last week
                let approved_at =
                    (base - Duration::hours(i64::try_from(rng.below(24 * 7)).unwrap_or(0))).max(issued_at);
                w.attach_paypal(&mut rng, no, approved_at);
                continue;
            }
            w.invoices.insert(no, invoice);
        }
        if !w.invoices.contains_key(&SEED_INVOICE) {
            w.add_seed_invoice(base);
        }
        w.counter = 1000;
        w
    }

    fn random_wallet_balance(rng: &mut Rng, currency: &str) -> Decimal {
        let digits = dec::digits(currency).unwrap_or(2);
        let major = match currency {
            "JPY" => 1_000 + rng.below(40_000),
            "NGN" => 10_000 + rng.below(90_000),
            "KWD" => 5 + rng.below(60),
            _ => 5 + rng.below(200),
        };
        let minor = if digits == 0 { 0 } else { rng.below(10u64.pow(digits)) };
        Decimal::new(i64::try_from(major * 10u64.pow(digits) + minor).unwrap_or(0), digits)
    }

    fn random_amount(rng: &mut Rng, currency: &str) -> Decimal {
        let digits = dec::digits(currency).unwrap_or(2);
        let major = match currency {
            "JPY" => 5_000 + rng.below(900_000),
            "HUF" => 20_000 + rng.below(2_000_000),
            "SEK" => 500 + rng.below(60_000),
            _ => 50 + rng.below(12_000),
        };
        let minor = if digits == 0 { 0 } else { rng.below(10u64.pow(digits)) };
        Decimal::new(i64::try_from(major * 10u64.pow(digits) + minor).unwrap_or(0), digits)
    }

    fn add_seed_invoice(&mut self, base: DateTime<Utc>) {
        // GATEWAY-API.md's dates, moved with the world.
        let shift = base - seed_example_base();
        let at = |m, d, h, min| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).single().map_or(base, |t| t + shift);
        let issued = at(11, 2, 9, 15);
        let due = at(12, 2, 0, 0);
        let approved = at(11, 20, 9, 58);
        let invoice = Invoice {
            no: SEED_INVOICE,
            customer_id: "c_102".into(),
            currency: "USD".into(),
            total: Decimal::new(25000, 2),
            outstanding: Decimal::new(25000, 2),
            status: InvoiceStatus::Outstanding,
            issued_at: issued,
            due_at: due,
            updated_at: base,
            paypal: None,
            payments: Vec::new(),
        };
        self.invoices.insert(SEED_INVOICE, invoice);
        let amount = self.online_part(SEED_INVOICE).unwrap_or(Decimal::new(25000, 2));
        self.orders.insert(
            "5O190127TN364715T".into(),
            Order {
                id: "5O190127TN364715T".into(),
                intent: "CAPTURE".into(),
                status: "APPROVED".into(),
                currency: "USD".into(),
                value: amount,
                invoice_id: SEED_INVOICE.to_string(),
                reference_id: "default".into(),
                payer_email: "payments@nordlicht-freight.example".into(),
                payer_name: "Nordlicht Freight".into(),
                create_time: approved - Duration::minutes(3),
                update_time: approved,
                capture_ids: vec![],
                authorization_ids: vec![],
                outcome: CaptureOutcome::Completed,
            },
        );
        if let Some(inv) = self.invoices.get_mut(&SEED_INVOICE) {
            inv.paypal = Some(PaypalRef {
                intent: "CAPTURE".into(),
                order_id: "5O190127TN364715T".into(),
                authorization_id: None,
                approved_at: approved,
            });
        }
    }

    /// The part of an outstanding invoice left for PayPal after the customer's wallet.
    pub fn online_part(&self, no: u64) -> Option<Decimal> {
        let inv = self.invoices.get(&no)?;
        let wallet_part = self
            .customers
            .get(&inv.customer_id)
            .and_then(|c| c.wallet.as_ref())
            .and_then(|w| Some(dec::round(w.balance * exchange_rate(&w.currency, &inv.currency)?, &inv.currency)))
            .unwrap_or(Decimal::ZERO);
        Some(if wallet_part >= inv.outstanding { Decimal::ZERO } else { inv.outstanding - wallet_part })
    }

    /// Gives an outstanding invoice an approved PayPal order (and maybe an authorization).
    fn attach_paypal(&mut self, rng: &mut Rng, no: u64, at: DateTime<Utc>) {
        let Some(amount) = self.online_part(no) else {
            return;
        };
        if amount.is_zero() {
            return;
        }
        let Some(inv) = self.invoices.get(&no) else {
            return;
        };
        let currency = inv.currency.clone();
        let order_id = rng.id(17);
        let authorize = rng.chance(300);
        // Most captures complete; a few stay pending for review or are declined.
        let outcome = match rng.below(100) {
            0..=5 => CaptureOutcome::Pending,
            6..=8 => CaptureOutcome::Declined,
            _ => CaptureOutcome::Completed,
        };
        // Some approvals went stale or never happened: voided/expired authorizations,
        // orders still waiting for the payer.
        let state_roll = rng.below(100);
        let approved_at = at;
        let mut order = Order {
            id: order_id.clone(),
            intent: if authorize { "AUTHORIZE" } else { "CAPTURE" }.into(),
            status: "APPROVED".into(),
            currency: currency.clone(),
            value: amount,
            invoice_id: no.to_string(),
            reference_id: "default".into(),
            payer_email: format!("ap-{}@payer.example", no),
            payer_name: "Accounts Payable".into(),
            create_time: at - Duration::minutes(5),
            update_time: at,
            capture_ids: vec![],
            authorization_ids: vec![],
            outcome,
        };
        let mut authorization_id = None;
        if authorize {
            let auth_id = rng.id(17);
            let (status, expiration) = match state_roll {
                0..=3 => ("VOIDED", at + Duration::days(29)),
                4..=7 => ("EXPIRED", at - Duration::days(1)),
                _ => ("CREATED", at + Duration::days(29)),
            };
            order.status = "COMPLETED".into();
            order.authorization_ids.push(auth_id.clone());
            self.authorizations.insert(
                auth_id.clone(),
                Authorization {
                    id: auth_id.clone(),
                    order_id: order_id.clone(),
                    status: status.into(),
                    currency: currency.clone(),
                    value: amount,
                    invoice_id: no.to_string(),
                    create_time: at,
                    update_time: at,
                    expiration_time: expiration,
                    capture_ids: vec![],
                    outcome,
                },
            );
            authorization_id = Some(auth_id);
        } else if state_roll < 4 {
            // Not approved after all: the gateway still lists it, PayPal refuses the capture.
            order.status = "CREATED".into();
        } else if state_roll < 6 {
            order.status = "VOIDED".into();
        }
        self.orders.insert(order_id.clone(), order);
        if let Some(inv) = self.invoices.get_mut(&no) {
            inv.paypal = Some(PaypalRef {
                intent: if authorize { "AUTHORIZE" } else { "CAPTURE" }.into(),
                order_id,
                authorization_id,
                approved_at,
            });
        }
    }

    /// A fresh id with a prefix-free body of `len` characters, unique in this world.
    pub fn new_id(&mut self, len: usize) -> String {
        self.counter += 1;
        let mut rng = Rng::new(self.seed.wrapping_mul(31).wrapping_add(self.counter));
        rng.id(len)
    }

    /// Now, by this world's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn touch(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Time passes: the clock moves forward by `by` and the world catches up with it.
    pub fn advance_clock(&mut self, by: Duration) -> Result<(), String> {
        self.clock.advance(by)?;
        self.catch_up();
        Ok(())
    }

    /// Brings the world up to its clock's now: PENDING captures whose time has come complete,
    /// authorizations past their expiration time expire. Every handler calls it before it reads
    /// or changes PayPal's state, so what it answers is true at the moment it answers.
    pub fn catch_up(&mut self) {
        let now = self.now();
        self.settle_pending(now);
        for a in self.authorizations.values_mut() {
            if matches!(a.status.as_str(), "CREATED" | "PARTIALLY_CAPTURED" | "PENDING") && a.expiration_time <= now {
                a.status = "EXPIRED".into();
                a.update_time = a.expiration_time;
            }
        }
    }

    /// Completes PENDING captures whose time has come.
    fn settle_pending(&mut self, now: DateTime<Utc>) {
        for cap in self.captures.values_mut() {
            if cap.status == "PENDING" && cap.completes_at.is_some_and(|t| t <= now) {
                cap.status = "COMPLETED".into();
                cap.reason = None;
                cap.update_time = now;
                cap.completes_at = None;
            }
        }
    }

    /// Records a PayPal capture and returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn record_capture(
        &mut self,
        order_id: Option<String>,
        authorization_id: Option<String>,
        currency: &str,
        value: Decimal,
        final_capture: bool,
        invoice_id: &str,
        outcome: CaptureOutcome,
        now: DateTime<Utc>,
    ) -> String {
        let id = self.new_id(17);
        let (status, reason, completes_at) = match outcome {
            CaptureOutcome::Completed => ("COMPLETED", None, None),
            CaptureOutcome::Pending => (
                "PENDING",
                Some("PENDING_REVIEW".to_owned()),
                (self.pending_seconds > 0).then(|| now + Duration::seconds(self.pending_seconds)),
            ),
            CaptureOutcome::Declined => ("DECLINED", Some("DECLINED_BY_RISK_FRAUD_FILTERS".to_owned()), None),
        };
        // PayPal's fee: 3.49 % + a fixed part, rounded to the currency.
        let fixed = if dec::digits(currency) == Some(0) { Decimal::from(49) } else { Decimal::new(49, 2) };
        let fee = dec::round(value * Decimal::new(349, 4) + fixed, currency).min(value);
        self.captures.insert(
            id.clone(),
            Capture {
                id: id.clone(),
                order_id,
                authorization_id,
                status: status.into(),
                reason,
                currency: currency.into(),
                value,
                fee,
                final_capture,
                invoice_id: invoice_id.into(),
                create_time: now,
                update_time: now,
                completes_at,
                refunded: Decimal::ZERO,
                refund_ids: vec![],
            },
        );
        self.capture_log.push(id.clone());
        id
    }
}
