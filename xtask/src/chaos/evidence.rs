//! What a seed leaves behind, read from JSON: the sandbox's ledger (`GET /__sandbox/ledger`),
//! the gateway's wallet history, both desks' journals (`desk journal --json`), the batch reports (`desk batch report ID --json`) and the invoices
//! the desks listed before capturing (`desk invoices list --json`).

use super::dec::Dec;
use serde_json::Value;

/// A PayPal capture from the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Capture {
    pub(crate) id: String,
    pub(crate) order_id: Option<String>,
    pub(crate) authorization_id: Option<String>,
    pub(crate) status: String,
    pub(crate) amount: Dec,
    pub(crate) currency: String,
}

/// A finalization the gateway recorded (`POST /api/v1/billing/invoice/paypal/capture` accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finalization {
    pub(crate) invoice_no: u64,
    pub(crate) payment_id: String,
    pub(crate) amount: Dec,
    pub(crate) currency: String,
}

/// A row of the gateway's wallet history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WalletRecord {
    pub(crate) id: u64,
    pub(crate) customer_id: String,
    pub(crate) kind: String,
    pub(crate) amount: Dec,
    pub(crate) currency: String,
    pub(crate) reference: String,
    pub(crate) payment_id: String,
    pub(crate) balance_before: Dec,
    pub(crate) balance_after: Dec,
}

impl WalletRecord {
    /// The invoice a debit paid: its reference reads `Invoice 458614 part payment` (or
    /// `... wallet payment`).
    pub(crate) fn invoice(&self) -> Option<u64> {
        let mut words = self.reference.split_whitespace();
        while let Some(w) = words.next() {
            if w.eq_ignore_ascii_case("invoice") {
                return words.next().and_then(|n| n.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok());
            }
        }
        None
    }
}

/// A journal entry of one desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) id: i64,
    pub(crate) invoice_no: u64,
    pub(crate) state: String,
    pub(crate) path: String,
    pub(crate) order_id: Option<String>,
    pub(crate) capture_id: Option<String>,
    pub(crate) capture_status: Option<String>,
    pub(crate) adopted: bool,
    pub(crate) wallet_amount: Option<Dec>,
    pub(crate) reason: Option<String>,
    pub(crate) last_error: Option<String>,
}

/// An invoice as the desks listed it before capturing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invoice {
    pub(crate) no: u64,
    pub(crate) customer_id: String,
    pub(crate) order_id: Option<String>,
    pub(crate) authorization_id: Option<String>,
    pub(crate) wallet_balance: Option<Dec>,
}

/// Everything the checker reads.
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    pub(crate) invoices: Vec<Invoice>,
    /// The invoices at least one desk was asked to capture.
    pub(crate) asked: Vec<u64>,
    pub(crate) captures: Vec<Capture>,
    pub(crate) finalizations: Vec<Finalization>,
    pub(crate) wallet: Vec<WalletRecord>,
    /// Each desk's name and journal.
    pub(crate) journals: Vec<(String, Vec<Entry>)>,
    /// The batch reports of the desks that ran a batch, as they stood at the end.
    pub(crate) batches: Vec<super::batch_check::BatchReport>,
}

type Parsed<T> = Result<T, String>;

fn text(v: &Value, key: &str) -> Parsed<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("no text {key:?} in {v}"))
}

fn opt_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn amount(v: &Value, key: &str) -> Parsed<Dec> {
    v.get(key).and_then(Dec::from_json).ok_or_else(|| format!("no amount {key:?} in {v}"))
}

fn whole(v: &Value, key: &str) -> Parsed<u64> {
    v.get(key)
        .and_then(|n| n.as_u64().or_else(|| n.as_str().and_then(|s| s.parse().ok())))
        .ok_or_else(|| format!("no whole number {key:?} in {v}"))
}

fn array<'a>(v: &'a Value, what: &str) -> Parsed<&'a Vec<Value>> {
    v.as_array().ok_or_else(|| format!("{what} is not a JSON array"))
}

/// `GET /__sandbox/ledger`.
pub(crate) fn ledger(v: &Value) -> Parsed<(Vec<Capture>, Vec<Finalization>)> {
    let captures = array(v.get("paypal_captures").unwrap_or(&Value::Null), "paypal_captures")?
        .iter()
        .map(|c| {
            let amount_of = c.get("amount").ok_or_else(|| format!("no amount in {c}"))?;
            Ok(Capture {
                id: text(c, "id")?,
                order_id: opt_text(c, "order_id"),
                authorization_id: opt_text(c, "authorization_id"),
                status: text(c, "status")?,
                amount: amount(amount_of, "value")?,
                currency: text(amount_of, "currency_code")?,
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    let finalizations = array(v.get("gateway_finalizations").unwrap_or(&Value::Null), "gateway_finalizations")?
        .iter()
        .map(|f| {
            Ok(Finalization {
                invoice_no: whole(f, "invoiceNo")?,
                payment_id: text(f, "paymentId")?,
                amount: amount(f, "amount")?,
                currency: text(f, "currencyCode")?,
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    Ok((captures, finalizations))
}

/// One page's `data` of `GET /api/v1/billing_admin/wallet-history`.
pub(crate) fn wallet_page(v: &Value) -> Parsed<Vec<WalletRecord>> {
    array(v.get("data").unwrap_or(&Value::Null), "wallet history data")?
        .iter()
        .map(|r| {
            Ok(WalletRecord {
                id: whole(r, "id")?,
                customer_id: text(r, "customerId")?,
                kind: text(r, "type")?,
                amount: amount(r, "amount")?,
                currency: text(r, "currency")?,
                reference: text(r, "reference")?,
                payment_id: text(r, "paymentId")?,
                balance_before: amount(r, "balanceBefore")?,
                balance_after: amount(r, "balanceAfter")?,
            })
        })
        .collect()
}

/// `desk journal --json`.
pub(crate) fn journal(v: &Value) -> Parsed<Vec<Entry>> {
    array(v, "the journal")?
        .iter()
        .map(|j| {
            Ok(Entry {
                id: j.get("id").and_then(Value::as_i64).ok_or_else(|| format!("no id in {j}"))?,
                invoice_no: whole(j, "invoiceNo")?,
                state: text(j, "state")?,
                path: text(j, "path")?,
                order_id: opt_text(j, "orderId"),
                capture_id: opt_text(j, "captureId"),
                capture_status: opt_text(j, "captureStatus"),
                adopted: j.get("adopted").and_then(Value::as_bool).unwrap_or(false),
                wallet_amount: j.get("walletAmount").and_then(Dec::from_json),
                reason: opt_text(j, "reason"),
                last_error: opt_text(j, "lastError"),
            })
        })
        .collect()
}

/// `desk invoices list --json`.
pub(crate) fn invoices(v: &Value) -> Parsed<Vec<Invoice>> {
    array(v, "the invoice list")?
        .iter()
        .map(|i| {
            let paypal = i.get("paypal").filter(|p| !p.is_null());
            Ok(Invoice {
                no: whole(i, "invoiceNo")?,
                customer_id: text(i, "customerId")?,
                order_id: paypal.and_then(|p| opt_text(p, "orderId")),
                authorization_id: paypal.and_then(|p| opt_text(p, "authorizationId")),
                wallet_balance: i.get("wallet").and_then(|w| w.get("balance")).and_then(Dec::from_json),
            })
        })
        .collect()
}

/// The evidence a seed kept in `dir` (its `invoices.json`, `asked.json`, `ledger.json`,
/// `wallet.json` and `journal-*.json`), to check it again.
pub(crate) fn load(dir: &std::path::Path) -> Result<Evidence, String> {
    let read = |name: &str| -> Result<Value, String> {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (captures, finalizations) = ledger(&read("ledger.json")?)?;
    let asked = array(&read("asked.json")?, "asked.json")?.iter().filter_map(Value::as_u64).collect();
    let mut journals = Vec::new();
    let mut batches = Vec::new();
    for desk in ["A", "B"] {
        journals.push((desk.to_owned(), journal(&read(&format!("journal-{desk}.json"))?)?));
        if dir.join(format!("batch-{desk}.json")).exists() {
            batches.push(super::batch_check::load_kept(desk, &read(&format!("batch-{desk}.json"))?)?);
        }
    }
    Ok(Evidence {
        invoices: invoices(&read("invoices.json")?)?,
        asked,
        captures,
        finalizations,
        wallet: wallet_page(&read("wallet.json")?)?,
        journals,
        batches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_sandbox_ledger_is_read() {
        let v = json!({
            "gateway_finalizations": [{"amount": 6400.46, "currencyCode": "CAD", "invoiceNo": 458614, "paymentId": "9H8T"}],
            "paypal_captures": [
                {"amount": {"currency_code": "CAD", "value": "6400.46"}, "authorization_id": null, "id": "9H8T", "order_id": "KN78", "status": "COMPLETED"},
                {"amount": {"currency_code": "HUF", "value": "79657"}, "authorization_id": "Y47R", "id": "L3M2", "order_id": "KM51", "status": "PENDING"}
            ]
        });
        let (caps, fins) = ledger(&v).expect("ledger");
        assert_eq!(caps.len(), 2);
        assert_eq!(caps[1].authorization_id.as_deref(), Some("Y47R"));
        assert_eq!(caps[0].authorization_id, None);
        assert_eq!(fins[0].amount, caps[0].amount);
        assert_eq!(fins[0].invoice_no, 458614);
        assert!(ledger(&json!({"paypal_captures": [{"id": "X"}], "gateway_finalizations": []})).is_err());
    }

    #[test]
    fn wallet_history_and_its_invoice_are_read() {
        let v = json!({"data": [{"id": 1, "type": "debit", "amount": 96.54, "exchangeRate": 1.366494, "status": 1,
            "reference": "Invoice 458614 part payment", "transactionId": "TX-00000001", "paymentGateway": "wallet",
            "paymentId": "WALLET-7N", "balanceBefore": 96.54, "balanceAfter": 0, "currency": "USD", "customerId": "c_108",
            "createdAt": "2026-11-26T17:00:09Z"}], "pagination": {"page": 1, "limit": 100, "total": 1, "totalPages": 1}});
        let rows = wallet_page(&v).expect("page");
        assert_eq!(rows[0].invoice(), Some(458614));
        assert!(rows[0].balance_after.is_zero());
        let mut r = rows[0].clone();
        r.reference = "Invoice 458700 wallet payment".into();
        assert_eq!(r.invoice(), Some(458700));
        r.reference = "top-up".into();
        assert_eq!(r.invoice(), None);
    }

    #[test]
    fn what_a_seed_kept_is_loaded_again() {
        let scratch = crate::steps::Scratch::new("xtask-chaos-evidence").expect("scratch");
        let dir = &scratch.path;
        let write = |name: &str, v: Value| std::fs::write(dir.join(name), v.to_string()).expect(name);
        write("invoices.json", json!([{"invoiceNo": 1, "customerId": "c1", "paypal": {"orderId": "O1"}}]));
        write("asked.json", json!([1]));
        write(
            "ledger.json",
            json!({"paypal_captures": [{"id": "C1", "order_id": "O1", "authorization_id": null, "status": "COMPLETED",
                "amount": {"currency_code": "USD", "value": "5.00"}}],
                "gateway_finalizations": [{"invoiceNo": 1, "paymentId": "C1", "amount": 5, "currencyCode": "USD"}]}),
        );
        write("wallet.json", json!({"data": []}));
        write(
            "journal-A.json",
            json!([{"id": 1, "invoiceNo": 1, "state": "finalized", "path": "paypal", "captureId": "C1"}]),
        );
        assert!(load(dir).expect_err("no journal of desk B").contains("journal-B.json"));
        write("journal-B.json", json!([]));
        let e = load(dir).expect("loaded");
        assert_eq!((e.invoices.len(), e.asked.clone(), e.captures.len(), e.finalizations.len()), (1, vec![1], 1, 1));
        assert_eq!(e.journals.iter().map(|(d, j)| (d.as_str(), j.len())).collect::<Vec<_>>(), vec![("A", 1), ("B", 0)]);
        assert!(crate::chaos::check::check(&e).violations.is_empty());
    }

    #[test]
    fn journals_and_invoices_are_read() {
        let j = json!([{"id": 5, "invoiceNo": 458732, "state": "finalized", "path": "paypal", "orderId": "5O19",
            "authorizationId": null, "walletAmount": "40.50", "captureId": "Y52A", "captureStatus": "COMPLETED",
            "adopted": false, "reason": null, "lastError": null}]);
        let e = journal(&j).expect("journal");
        assert_eq!(e[0].wallet_amount, Dec::parse("40.5"));
        assert_eq!(e[0].capture_id.as_deref(), Some("Y52A"));
        let i = json!([{"invoiceNo": 458631, "customerId": "c_109", "wallet": null,
            "paypal": {"intent": "AUTHORIZE", "orderId": "KM51", "authorizationId": "Y47R", "approvedAt": "x"}},
            {"invoiceNo": 458606, "customerId": "c_102", "wallet": {"currency": "EUR", "balance": "40.50"}, "paypal": null}]);
        let inv = invoices(&i).expect("invoices");
        assert_eq!(inv[0].authorization_id.as_deref(), Some("Y47R"));
        assert_eq!(inv[1].order_id, None);
        assert_eq!(inv[1].wallet_balance, Dec::parse("40.50"));
    }
}
