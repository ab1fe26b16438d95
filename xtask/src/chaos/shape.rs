//! A shared wallet, shaped into the seeded world through the sandbox's own state file (as the
//! billing tests' wallet-lease fixture does): the seeded world gives no customer with wallet
//! money two approvals, so two captures never draw on one wallet unless the world is shaped.
//!
//! One customer gets a wallet in the currency of two or three of their outstanding invoices,
//! and each of those invoices a fresh approval: either an order for what is left after the
//! wallet (part-process promises each of them the whole wallet, so once one is paid the other's
//! approval no longer covers it), or an authorization of the whole invoice (which still covers
//! it once the wallet is spent).

use super::dec::Dec;
use super::rng::Rng;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The seed example's order: always in the world, a template for new orders.
const SEED_ORDER: &str = "5O190127TN364715T";
const SEED_INVOICE: &str = "458732";

/// Shapes `world` (the sandbox's saved JSON); says what it did, or `None` when no customer has
/// two outstanding invoices in one currency with cents.
pub(crate) fn shared_wallet(world: &mut Value, r: &mut Rng) -> Result<Option<String>, String> {
    let invoices = world.get("invoices").and_then(Value::as_object).ok_or("the saved world has no invoices")?;
    let mut groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (no, inv) in invoices {
        let currency = field(inv, "currency")?;
        // cents, so the wallet's 10.00 splits off exactly; not the seed example (other tests' fixture)
        if field(inv, "status")? != "outstanding" || matches!(currency.as_str(), "JPY" | "HUF") || no == SEED_INVOICE {
            continue;
        }
        groups.entry((field(inv, "customer_id")?, currency)).or_default().push(no.clone());
    }
    let candidates: Vec<(&(String, String), &Vec<String>)> = groups.iter().filter(|(_, nos)| nos.len() > 1).collect();
    if candidates.is_empty() {
        return Ok(None);
    }
    let ((customer, currency), nos) = candidates[usize::try_from(r.below(candidates.len() as u64)).unwrap_or(0)];
    let nos: Vec<String> = nos.iter().take(3).cloned().collect();
    let balance = Dec::parse(r.pick(&["10.00", "25.00", "40.00"])).ok_or("wallet balance")?;
    let template_auth = world
        .get("authorizations")
        .and_then(Value::as_object)
        .and_then(|m| m.values().find(|a| a.get("status").and_then(Value::as_str) == Some("CREATED")))
        .cloned();
    let authorize = template_auth.is_some() && r.percent(50);
    let template_order = world.pointer(&format!("/orders/{SEED_ORDER}")).cloned().ok_or("no seed order to copy")?;
    let approved_at = world
        .pointer(&format!("/invoices/{SEED_INVOICE}/paypal/approved_at"))
        .cloned()
        .ok_or("no approval time on the seed invoice")?;
    for no in &nos {
        let outstanding_text =
            world.pointer(&format!("/invoices/{no}/outstanding")).map(Value::to_string).unwrap_or_default();
        let outstanding = world
            .pointer(&format!("/invoices/{no}/outstanding"))
            .and_then(Dec::from_json)
            .ok_or_else(|| format!("invoice {no} has no outstanding amount: {outstanding_text}"))?;
        let paypal_part = outstanding.checked_sub(balance).filter(|p| !p.is_negative() && !p.is_zero());
        let Some(paypal_part) = paypal_part else {
            return Err(format!("invoice {no}: {outstanding} outstanding is less than the wallet's {balance}"));
        };
        let approved = if authorize { outstanding } else { paypal_part };
        let value = approved.fixed(2).ok_or_else(|| format!("invoice {no}: {approved} has more than two decimals"))?;
        let order_id = paypal_id(r);
        let mut order = template_order.clone();
        set(&mut order, "id", json!(order_id))?;
        set(&mut order, "intent", json!(if authorize { "AUTHORIZE" } else { "CAPTURE" }))?;
        set(&mut order, "status", json!(if authorize { "COMPLETED" } else { "APPROVED" }))?;
        set(&mut order, "currency", json!(currency))?;
        set(&mut order, "value", json!(value))?;
        set(&mut order, "invoice_id", json!(no))?;
        set(&mut order, "capture_ids", json!([]))?;
        set(&mut order, "outcome", json!("Completed"))?;
        let mut authorization_id = Value::Null;
        if let (true, Some(template)) = (authorize, &template_auth) {
            let auth_id = paypal_id(r);
            let mut auth = template.clone();
            set(&mut auth, "id", json!(auth_id))?;
            set(&mut auth, "order_id", json!(order_id))?;
            set(&mut auth, "currency", json!(currency))?;
            set(&mut auth, "value", json!(value))?;
            set(&mut auth, "invoice_id", json!(no))?;
            set(&mut auth, "capture_ids", json!([]))?;
            set(&mut auth, "outcome", json!("Completed"))?;
            set(&mut order, "authorization_ids", json!([auth_id]))?;
            object(world, "authorizations")?.insert(auth_id.clone(), auth);
            authorization_id = json!(auth_id);
        } else {
            set(&mut order, "authorization_ids", json!([]))?;
        }
        object(world, "orders")?.insert(order_id.clone(), order);
        let invoice = object(world, "invoices")?.get_mut(no).ok_or_else(|| format!("invoice {no} vanished"))?;
        set(
            invoice,
            "paypal",
            json!({
                "intent": if authorize { "AUTHORIZE" } else { "CAPTURE" },
                "order_id": order_id,
                "authorization_id": authorization_id,
                "approved_at": approved_at,
            }),
        )?;
    }
    let wallet_balance = balance.fixed(2).ok_or("wallet balance")?;
    let customer_json =
        object(world, "customers")?.get_mut(customer).ok_or_else(|| format!("no customer {customer}"))?;
    set(customer_json, "wallet", json!({ "currency": currency, "balance": wallet_balance }))?;
    Ok(Some(format!(
        "customer {customer}: invoices {} share a wallet of {wallet_balance} {currency}, each with {}",
        nos.join(", "),
        if authorize { "an authorization of the whole invoice" } else { "an order for what the wallet leaves" }
    )))
}

/// A PayPal-style id: 17 characters of PayPal's alphabet.
fn paypal_id(r: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXY";
    (0..17).map(|_| char::from(ALPHABET[usize::try_from(r.below(ALPHABET.len() as u64)).unwrap_or(0)])).collect()
}

fn field(v: &Value, key: &str) -> Result<String, String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("no {key:?} in the saved world's {v}"))
}

/// Replaces a field the sandbox's saved world already has (a missing one means its format
/// changed: better to stop than to shape a world the sandbox reads differently).
fn set(v: &mut Value, key: &str, value: Value) -> Result<(), String> {
    let slot =
        v.get_mut(key).ok_or_else(|| format!("the saved world has no {key:?} where the chaos run expects it"))?;
    *slot = value;
    Ok(())
}

fn object<'a>(world: &'a mut Value, key: &str) -> Result<&'a mut Map<String, Value>, String> {
    world.get_mut(key).and_then(Value::as_object_mut).ok_or_else(|| format!("the saved world has no {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> Value {
        let inv = |customer: &str, currency: &str, outstanding: &str, status: &str| json!({"customer_id": customer, "currency": currency, "outstanding": outstanding, "status": status, "paypal": null});
        let order = json!({"id": SEED_ORDER, "intent": "CAPTURE", "status": "APPROVED", "currency": "USD", "value": "206.03",
            "invoice_id": SEED_INVOICE, "reference_id": "default", "capture_ids": [], "authorization_ids": [], "outcome": "Completed"});
        let auth = json!({"id": "AUTH1", "order_id": "O1", "status": "CREATED", "currency": "EUR", "value": "5.00",
            "invoice_id": "1", "capture_ids": [], "outcome": "Pending", "expiration_time": "2030-01-01T00:00:00Z"});
        json!({
            "customers": {"c1": {"id": "c1", "wallet": null}, "c2": {"id": "c2", "wallet": {"currency": "EUR", "balance": "0"}}},
            "invoices": {
                "1": inv("c1", "EUR", "100.50", "outstanding"),
                "2": inv("c1", "EUR", "60.00", "outstanding"),
                "3": inv("c1", "USD", "70.00", "outstanding"),
                "4": inv("c2", "JPY", "5000", "outstanding"),
                "5": inv("c2", "JPY", "7000", "outstanding"),
                "6": inv("c1", "EUR", "80.00", "paid"),
                SEED_INVOICE: {"customer_id": "c1", "currency": "EUR", "outstanding": "250.00", "status": "outstanding",
                    "paypal": {"approved_at": "2026-11-20T09:58:00Z"}},
            },
            "orders": {SEED_ORDER: order},
            "authorizations": {"AUTH1": auth},
        })
    }

    #[test]
    fn two_outstanding_invoices_of_one_customer_share_a_wallet_each_with_its_approval() {
        for seed in 0..40 {
            let mut w = world();
            let said = shared_wallet(&mut w, &mut Rng::new(seed, 3)).expect("shaped").expect("a pair");
            assert!(said.contains("invoices 1, 2"), "{said}");
            let wallet = &w["customers"]["c1"]["wallet"];
            assert_eq!(wallet["currency"], "EUR");
            let balance = Dec::from_json(&wallet["balance"]).expect("balance");
            for (no, outstanding) in [("1", "100.50"), ("2", "60.00")] {
                let p = &w["invoices"][no]["paypal"];
                let order = &w["orders"][p["order_id"].as_str().expect("order id")];
                assert_eq!(order["invoice_id"], no);
                assert_eq!(order["currency"], "EUR");
                assert_eq!(p["approved_at"], "2026-11-20T09:58:00Z");
                let outstanding = Dec::parse(outstanding).expect("dec");
                let approved = if p["intent"] == "AUTHORIZE" {
                    let auth = &w["authorizations"][p["authorization_id"].as_str().expect("auth id")];
                    assert_eq!(auth["status"], "CREATED");
                    assert_eq!(auth["order_id"], order["id"]);
                    assert_eq!(order["status"], "COMPLETED");
                    Dec::from_json(&auth["value"]).expect("value")
                } else {
                    assert_eq!(order["status"], "APPROVED");
                    assert!(p["authorization_id"].is_null());
                    outstanding.checked_sub(balance).expect("sub")
                };
                assert_eq!(Dec::from_json(&order["value"]), Some(approved));
                assert!(approved == outstanding || Some(approved) == outstanding.checked_sub(balance));
                assert_eq!(order["id"].as_str().map(str::len), Some(17));
            }
            for untouched in ["3", "4", "5", "6"] {
                assert!(w["invoices"][untouched]["paypal"].is_null(), "{untouched}");
            }
        }
    }

    #[test]
    fn no_pair_no_shaping_and_a_changed_format_is_refused() {
        let mut w = world();
        w["invoices"]["2"]["currency"] = json!("USD");
        w["invoices"]["3"]["currency"] = json!("GBP");
        assert_eq!(shared_wallet(&mut w, &mut Rng::new(1, 3)), Ok(None));

        let mut w = world();
        if let Some(o) = w["orders"][SEED_ORDER].as_object_mut() {
            o.remove("outcome");
        }
        let e = shared_wallet(&mut w, &mut Rng::new(1, 3)).expect_err("format changed");
        assert!(e.contains("outcome"), "{e}");
    }
}
