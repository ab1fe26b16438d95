//! What `desk` prints: tables and lines for people, JSON for scripts.

use billing::capture::{CapturePreview, CaptureResult, Entry};
use billing::sync::{SyncMode, SyncReport};
use billing::{DeskError, DeskStatus, InvoiceRow};
use std::io::Write;

pub fn json<T: serde::Serialize>(value: &T) -> Result<(), DeskError> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(DeskError::internal)?;
    writeln!(out).map_err(DeskError::internal)
}

/// `desk: invoice N: message (detail)` on stderr.
pub fn invoice_error(invoice_no: i64, e: &DeskError) {
    eprintln!(
        "desk: invoice {invoice_no}: {}{}",
        e.message,
        e.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    );
}

pub fn results(results: &[CaptureResult], as_json: bool) -> Result<(), DeskError> {
    if as_json {
        return json(&results);
    }
    for r in results {
        println!("{:>9}  {:<16}  {}", r.invoice_no, r.state.as_str().replace('_', " "), r.message);
        if let Some(d) = &r.detail {
            if !r.finished {
                println!("{:>9}  {:<16}  ({d})", "", "");
            }
        }
    }
    Ok(())
}

pub fn preview(p: &CapturePreview) {
    println!("\ninvoice {} — {} — outstanding {} {}", p.invoice_no, p.customer_name, p.outstanding, p.currency);
    if let Some(w) = &p.wallet {
        println!(
            "  wallet part:  {} {} at {} = {} {}",
            w.amount, w.currency, w.exchange_rate, w.in_invoice_currency, p.currency
        );
    }
    if p.path == billing::capture::CapturePath::Wallet {
        println!("  the wallet pays everything (no PayPal capture)");
    } else {
        println!("  PayPal part:  {} {}", p.paypal_amount, p.currency);
    }
    if let Some(a) = &p.approval {
        println!(
            "  approved:     {} {} ({} order {}, {})",
            a.amount,
            a.currency,
            a.intent.to_lowercase(),
            a.order_id,
            a.status.to_lowercase()
        );
    }
    for problem in &p.problems {
        println!("  PROBLEM:      {problem}");
    }
}

pub fn sync_report(report: &SyncReport) {
    println!(
        "{} sync: {} invoices in {} pages{}",
        if report.mode == SyncMode::Full { "full" } else { "incremental" },
        report.invoices,
        report.pages,
        if report.closed > 0 { format!(", {} no longer outstanding", report.closed) } else { String::new() }
    );
}

pub fn journal(entries: &[Entry]) {
    println!(
        "{:>6}  {:>9}  {:<20} {:>14} {:<3}  {:<20} REASON / LAST ERROR",
        "ENTRY", "INVOICE", "STATE", "PAYPAL PART", "CUR", "CAPTURE"
    );
    for e in entries {
        println!(
            "{:>6}  {:>9}  {:<20} {:>14} {:<3}  {:<20} {}",
            e.id,
            e.invoice_no,
            e.state().as_str(),
            e.paypal_amount.as_deref().unwrap_or("-"),
            e.currency,
            e.capture_id.as_deref().unwrap_or("-"),
            e.reason.as_deref().or(e.last_error.as_deref()).unwrap_or("")
        );
    }
}

pub fn invoice(inv: &InvoiceRow) {
    println!("invoice:      {}", inv.invoice_no);
    println!("customer:     {} ({})", inv.customer_name, inv.customer_id);
    println!("status:       {}{}", inv.status, if inv.overdue { " (overdue)" } else { "" });
    println!("total:        {} {}", inv.total, inv.currency);
    println!("outstanding:  {} {}", inv.outstanding, inv.currency);
    println!("issued:       {}", inv.issued_at);
    println!("due:          {}", inv.due_at.as_deref().unwrap_or("-"));
    match &inv.wallet {
        Some(w) => println!("wallet:       {} {}", w.balance, w.currency),
        None => println!("wallet:       none"),
    }
    match &inv.paypal {
        Some(p) => println!(
            "paypal:       {} order {}{}, approved {}",
            p.intent,
            p.order_id,
            p.authorization_id.as_deref().map(|a| format!(", authorization {a}")).unwrap_or_default(),
            p.approved_at
        ),
        None => println!("paypal:       no approved payment awaiting capture"),
    }
}

pub fn status(s: &DeskStatus) {
    let env = s.environment.as_str();
    println!("environment:     {env}");
    println!("data shown:      {env}'s own ({})", s.database);
    if let Some(w) = &s.demo_world {
        println!("demo world:      {w}");
    }
    println!("gateway:         {}", s.gateway_url.as_deref().unwrap_or("(not configured)"));
    if let Some(p) = &s.gateway_problem {
        println!("problem:         {p}");
    }
    println!("staff:           {}", s.staff_name);
    println!("data directory:  {}", s.data_dir);
    println!("cached invoices: {}", s.cached_invoices);
    println!("last synced at:  {}", s.last_synced_at.as_deref().unwrap_or("never"));
    if let Some(e) = &s.last_sync_error {
        println!("last sync error: {e}");
    }
    if !s.set_aside.is_empty() {
        println!("set aside:       {} invoice(s) the gateway sent that the desk cannot read:", s.set_aside.len());
        for a in &s.set_aside {
            let no =
                a.invoice_no.map_or_else(|| a.invoice_no_text.clone().unwrap_or_else(|| "?".into()), |n| n.to_string());
            println!("  {no}: {}", a.reason);
        }
    }
}

pub fn invoice_table(rows: &[InvoiceRow]) -> Result<(), DeskError> {
    let mut out = std::io::stdout().lock();
    let w = |e: std::io::Error| DeskError::internal(e);
    writeln!(
        out,
        "{:>9}  {:<34} {:>16} {:<3}  {:<10}  {:<11}  PAYPAL",
        "INVOICE", "CUSTOMER", "OUTSTANDING", "CUR", "DUE", "STATUS"
    )
    .map_err(w)?;
    for r in rows {
        let name: String = r.customer_name.chars().take(34).collect();
        let due = r.due_at.as_deref().map(|d| &d[..10.min(d.len())]).unwrap_or("-");
        let paypal = r.paypal.as_ref().map_or(String::new(), |p| format!("{} {}", p.intent.to_lowercase(), p.order_id));
        let status = if r.overdue { "overdue" } else { r.status.as_str() };
        writeln!(
            out,
            "{:>9}  {:<34} {:>16} {:<3}  {:<10}  {:<11}  {}",
            r.invoice_no, name, r.outstanding, r.currency, due, status, paypal
        )
        .map_err(w)?;
    }
    Ok(())
}

/// A reauthorization, for a clerk.
pub fn reauthorized(r: &billing::capture::Reauthorized) {
    let earlier = if r.earlier { " (made earlier)" } else { "" };
    println!(
        "Invoice {}: PayPal authorization {} reauthorized as {}{earlier}.",
        r.invoice_no, r.authorization_id, r.reauthorization_id
    );
    if let (Some(amount), Some(currency)) = (&r.amount, &r.currency) {
        println!("Amount: {amount} {currency}");
    }
    if let Some(at) = &r.expires_at {
        println!("Capture it before: {at}");
    }
    println!("Run preflight again: captures of this invoice now take the reauthorization.");
}
