//! Part payment (`part-process`), the PayPal finalization (`paypal/capture`) and the full wallet
//! payment (`pay`): the checks are the gateway's answers; the changes are `World`'s.

use super::invoices::{invoice_json, InvoiceJson};
use super::{bad, caller, error, fields, int_field, json, num_field, obj_field, str_field, Caller, Num, MISSING};
use crate::world::{exchange_rate, Invoice, InvoiceStatus, WalletPart, World};
use crate::{dec, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use rust_decimal::Decimal;
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// Part payment, PayPal capture, full wallet payment

/// Looks up the invoice for a billing call, checking the caller may act on it.
fn billing_invoice<'a>(w: &'a World, who: &Caller, no: u64, mismatch: &str) -> Result<&'a Invoice, Response> {
    let inv = w.invoices.get(&no).ok_or_else(|| error(StatusCode::NOT_FOUND, "Invoice not found"))?;
    if let Caller::Customer(id) = who {
        if &inv.customer_id != id {
            return Err(bad(mismatch));
        }
    }
    Ok(inv)
}

pub(super) async fn part_process(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let who = match caller(&headers, &state.world()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match fields(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (Some(no), Some(currency)) = (int_field(&f, "invoice"), str_field(&f, "currency")) else {
        return bad(MISSING);
    };
    let w = state.world();
    let inv = match billing_invoice(&w, &who, no, "Currency does not match expected credentials") {
        Ok(i) => i,
        Err(r) => return r,
    };
    if dec::digits(&currency).is_none() {
        return error(StatusCode::NOT_FOUND, "Currency not found");
    }
    if currency != inv.currency {
        return bad("Currency does not match expected credentials");
    }
    if inv.status != InvoiceStatus::Outstanding {
        return bad("Invoice already paid");
    }
    if inv.outstanding <= Decimal::ZERO {
        return bad("Wrong Amount");
    }
    let Some(wallet) = w.customers.get(&inv.customer_id).and_then(|c| c.wallet.as_ref()) else {
        return bad("Wallet not found");
    };
    let Some(rate) = exchange_rate(&wallet.currency, &inv.currency) else {
        return bad("Currency does not match expected credentials");
    };
    let wallet_part = dec::round(wallet.balance * rate, &inv.currency);
    if wallet_part >= inv.outstanding {
        return bad("Wallet balance is too high for this endpoint (use full wallet payment)");
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Part<'a> {
        currency: &'a str,
        exchange_rate: Num,
        charge_total_before: Num,
        charge_total_current: Num,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Prepared<'a> {
        invoice_no: u64,
        eligible_for_payment: bool,
        part_payment_from_wallet_balance: Part<'a>,
        currency_paid: &'a str,
        exchange_rate: Num,
        charge_total: Num,
    }
    #[derive(Serialize)]
    struct Resp<'a> {
        message: &'a str,
        invoice: Prepared<'a>,
    }
    json(&Resp {
        message: "Part payment prepared",
        invoice: Prepared {
            invoice_no: inv.no,
            eligible_for_payment: dec::paypal_accepts(&inv.currency),
            part_payment_from_wallet_balance: Part {
                currency: &wallet.currency,
                exchange_rate: Num(rate),
                charge_total_before: Num(inv.outstanding),
                charge_total_current: Num(wallet.balance),
            },
            currency_paid: &inv.currency,
            exchange_rate: Num(rate),
            charge_total: Num(inv.outstanding - wallet_part),
        },
    })
}

pub(super) async fn paypal_capture(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let who = match caller(&headers, &state.world()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match fields(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let part = obj_field(&f, "partPaymentFromWalletBalance");
    let (Some(amount), Some(no), Some(payment_id), Some(code), Some(part)) = (
        num_field(&f, "amount"),
        int_field(&f, "invoiceNo"),
        str_field(&f, "paymentId"),
        str_field(&f, "currencyCode"),
        part,
    ) else {
        return bad(MISSING);
    };
    let (Some(part_currency), Some(rate), Some(before), Some(current)) = (
        str_field(&part, "currency"),
        num_field(&part, "exchangeRate"),
        num_field(&part, "chargeTotalBefore"),
        num_field(&part, "chargeTotalCurrent"),
    ) else {
        return bad(MISSING);
    };
    if payment_id.trim().is_empty() || payment_id.len() > 64 {
        return bad(MISSING);
    }
    let mut w = state.world();
    let inv = match billing_invoice(&w, &who, no, "Bad Invoice") {
        Ok(i) => i.clone(),
        Err(r) => return r,
    };
    if inv.status != InvoiceStatus::Outstanding || w.finalizations.iter().any(|f| f.payment_id == payment_id) {
        return bad("Bad Invoice");
    }
    if dec::digits(&code).is_none() || code != inv.currency {
        return bad("Invalid Currency");
    }
    if !dec::paypal_accepts(&code) {
        return bad("Payment method is disabled");
    }
    let wallet = w.customers.get(&inv.customer_id).and_then(|c| c.wallet.clone());
    let amount_ok = amount > Decimal::ZERO && dec::fits(amount, &code);
    let part_ok = before == inv.outstanding
        && current >= Decimal::ZERO
        && rate > Decimal::ZERO
        && dec::fits(current, &part_currency)
        && (current.is_zero()
            || wallet.as_ref().is_some_and(|wl| {
                wl.currency == part_currency
                    && wl.balance >= current
                    && exchange_rate(&wl.currency, &inv.currency) == Some(rate)
            }));
    let expected = before - dec::round(current * rate, &inv.currency);
    if !amount_ok || !part_ok || amount != expected {
        return bad("Invalid Amount");
    }
    let wallet_part =
        (!current.is_zero()).then(|| WalletPart { currency: part_currency.clone(), amount: current, rate });
    w.settle_by_paypal(no, &payment_id, amount, &code, wallet_part);
    state.mark_dirty();
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Resp<'a> {
        message: &'a str,
        status: &'a str,
        invoice: InvoiceJson<'a>,
        invoice_no: u64,
        amount: Num,
        payment_id: &'a str,
    }
    let Some(paid) = w.invoices.get(&no) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "Unxepected Error: invoice vanished");
    };
    json(&Resp {
        message: "Payment successful",
        status: "success",
        invoice: invoice_json(&w, paid, true),
        invoice_no: no,
        amount: Num(amount),
        payment_id: &payment_id,
    })
}

pub(super) async fn pay(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let who = match caller(&headers, &state.world()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let f = match fields(body).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (Some(no), Some(currency)) = (int_field(&f, "invoice"), str_field(&f, "currency")) else {
        return bad(MISSING);
    };
    let mut w = state.world();
    let inv = match billing_invoice(&w, &who, no, "Customer Invoice does not match expected credentials") {
        Ok(i) => i.clone(),
        Err(r) => return r,
    };
    if dec::digits(&currency).is_none() {
        return error(StatusCode::NOT_FOUND, "Currency not found");
    }
    if currency != inv.currency {
        return bad("Currency does not match expected credentials");
    }
    if inv.status != InvoiceStatus::Outstanding {
        return bad("Invoice already paid");
    }
    let Some(customer) = w.customers.get(&inv.customer_id) else {
        return error(StatusCode::NOT_FOUND, "User not found");
    };
    let Some(wallet) = customer.wallet.clone() else {
        return bad("Wallet not found");
    };
    let Some(rate) = exchange_rate(&wallet.currency, &inv.currency) else {
        return bad("Currency does not match expected credentials");
    };
    // Wallet units needed for the outstanding amount, rounded half-even in the wallet currency.
    let needed = dec::round(inv.outstanding / rate, &wallet.currency);
    if needed > wallet.balance || dec::round(wallet.balance * rate, &inv.currency) < inv.outstanding {
        return bad("Insufficient funds");
    }
    w.settle_from_wallet(no, needed, rate);
    state.mark_dirty();
    let balance =
        w.customers.get(&inv.customer_id).and_then(|c| c.wallet.as_ref()).map_or(Decimal::ZERO, |wl| wl.balance);
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Resp<'a> {
        message: &'a str,
        invoice_no: u64,
        amount: Num,
        wallet_balance: Num,
    }
    json(&Resp {
        message: "Invoice paid from wallet",
        invoice_no: no,
        amount: Num(inv.outstanding),
        wallet_balance: Num(balance),
    })
}
