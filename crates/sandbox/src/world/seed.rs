//! A deterministic world from a seed: customers, wallets, invoices, and the PayPal approvals of
//! some of them (orders, authorizations), dated around a base time.

use super::{
    Authorization, CaptureOutcome, Customer, Invoice, InvoicePayment, InvoiceStatus, Order, PaypalRef, Rng, Wallet,
    World, FIRST_INVOICE, SEED_INVOICE,
};
use crate::clock::Clock;
use crate::dec;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

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
            idempotency_at: HashMap::new(),
            finalizations: Vec::new(),
            tokens: HashMap::new(),
            counter: 0,
            generation: 0,
            pending_seconds: 20,
            credentials: crate::Credentials::default(),
            key_retention: crate::KeyRetention::default(),
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
        let mut approved_at = at;
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
            // an expired authorization was made 29 days before it expired (a day ago), so its
            // order and the customer's approval are that old too
            let (status, created) = match state_roll {
                0..=3 => ("VOIDED", at),
                4..=7 => ("EXPIRED", at - Duration::days(30)),
                _ => ("CREATED", at),
            };
            let expiration = created + Duration::days(29);
            let updated = if status == "EXPIRED" { expiration } else { created };
            order.create_time = created - Duration::minutes(5);
            order.update_time = created;
            approved_at = created;
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
                    create_time: created,
                    update_time: updated,
                    expiration_time: expiration,
                    capture_ids: vec![],
                    outcome,
                    reauthorization_of: None,
                    reauthorized_by: None,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_authorizations_expire_after_they_were_made() {
        let base = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).single().expect("base");
        let w = World::seeded(1, 1200, base, Clock::default());
        let expired: Vec<_> = w.authorizations.values().filter(|a| a.status == "EXPIRED").collect();
        assert!(!expired.is_empty(), "the seed has expired authorizations");
        for a in w.authorizations.values() {
            assert_eq!(a.expiration_time - a.create_time, Duration::days(29), "{a:?}");
            assert!(a.update_time >= a.create_time, "{a:?}");
            let order = &w.orders[&a.order_id];
            assert!(order.create_time < a.create_time && order.update_time <= a.create_time, "{order:?} {a:?}");
        }
        for a in expired {
            assert!(a.expiration_time <= base, "expired by the seed's base: {a:?}");
        }
    }
}
