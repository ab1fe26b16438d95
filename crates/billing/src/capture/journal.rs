//! The capture journal in SQLite: one row per attempt, each state change one transaction that
//! also appends to the audit log.

pub use super::request_id::{capture_request_id, REQUEST_ID_MAX};
pub use super::words::{CapturePath, PaypalCaptureStatus};
use crate::invoices::InvoiceStatus;
use crate::{audit, time, DeskError, Environment, ErrorCode};
use chrono::Utc;
use serde::Serialize;
use sqlx::SqlitePool;
use ts_rs::TS;

/// Where an attempt stands. `PaypalCaptureSent`, `FinalizeSent` and `WalletPaySent` are the
/// "outcome unknown" states recovery resolves; the last three are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum State {
    Planned,
    PartProcessed,
    PaypalCaptureSent,
    PaypalCaptured,
    Verified,
    FinalizeSent,
    WalletPaySent,
    Finalized,
    Rejected,
    NeedsAttention,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Planned => "planned",
            State::PartProcessed => "part_processed",
            State::PaypalCaptureSent => "paypal_capture_sent",
            State::PaypalCaptured => "paypal_captured",
            State::Verified => "verified",
            State::FinalizeSent => "finalize_sent",
            State::WalletPaySent => "wallet_pay_sent",
            State::Finalized => "finalized",
            State::Rejected => "rejected",
            State::NeedsAttention => "needs_attention",
        }
    }

    pub fn parse(s: &str) -> Result<State, DeskError> {
        Ok(match s {
            "planned" => State::Planned,
            "part_processed" => State::PartProcessed,
            "paypal_capture_sent" => State::PaypalCaptureSent,
            "paypal_captured" => State::PaypalCaptured,
            "verified" => State::Verified,
            "finalize_sent" => State::FinalizeSent,
            "wallet_pay_sent" => State::WalletPaySent,
            "finalized" => State::Finalized,
            "rejected" => State::Rejected,
            "needs_attention" => State::NeedsAttention,
            other => return Err(DeskError::storage(format!("unknown journal state {other:?}"))),
        })
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, State::Finalized | State::Rejected | State::NeedsAttention)
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Entry {
    #[ts(type = "number")]
    pub id: i64,
    #[ts(type = "number")]
    pub invoice_no: i64,
    #[sqlx(try_from = "String")]
    #[ts(as = "State")]
    pub state: StateText,
    pub path: CapturePath,
    pub intent: Option<String>,
    pub order_id: Option<String>,
    pub authorization_id: Option<String>,
    pub currency: String,
    pub outstanding: String,
    /// `partPaymentFromWalletBalance` exactly as the gateway sent it.
    pub wallet_part_json: Option<String>,
    pub wallet_currency: Option<String>,
    pub wallet_amount: Option<String>,
    pub exchange_rate: Option<String>,
    pub wallet_in_invoice_currency: Option<String>,
    pub paypal_amount: Option<String>,
    pub approved_amount: Option<String>,
    pub request_id: String,
    pub capture_id: Option<String>,
    pub capture_status: Option<PaypalCaptureStatus>,
    pub adopted: bool,
    pub reason: Option<String>,
    pub last_error: Option<String>,
    #[ts(type = "number")]
    pub attempts: i64,
    pub staff: String,
    pub environment: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A [`State`] read from its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StateText(pub State);

impl TryFrom<String> for StateText {
    type Error = DeskError;
    fn try_from(s: String) -> Result<Self, DeskError> {
        State::parse(&s).map(StateText)
    }
}

impl Entry {
    pub fn state(&self) -> State {
        self.state.0
    }
}

const COLUMNS: &str = "id, invoice_no, state, path, intent, order_id, authorization_id, currency, outstanding, wallet_part_json, \
     wallet_currency, wallet_amount, exchange_rate, wallet_in_invoice_currency, paypal_amount, approved_amount, request_id, \
     capture_id, capture_status, adopted, reason, last_error, attempts, staff, environment, created_at, updated_at";

/// This desk's identity (part of every idempotency key).
pub async fn desk_id(pool: &SqlitePool) -> Result<String, DeskError> {
    Ok(sqlx::query_scalar("SELECT value FROM desk_meta WHERE key = 'desk_id'").fetch_one(pool).await?)
}

/// What a new attempt starts from.
pub struct Plan<'a> {
    pub invoice_no: i64,
    pub intent: Option<&'a str>,
    pub order_id: Option<&'a str>,
    pub authorization_id: Option<&'a str>,
    pub currency: &'a str,
    pub outstanding: &'a str,
    pub staff: &'a str,
    pub environment: Environment,
}

/// Creates the attempt (state `planned`) and its audit entry in one transaction. If the
/// invoice already has an unfinished attempt, that one is returned instead.
pub async fn plan(pool: &SqlitePool, desk_id: &str, p: &Plan<'_>) -> Result<Entry, DeskError> {
    let now = time::text(Utc::now());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    if let Some(open) = sqlx::query_as::<_, Entry>(&format!(
        "SELECT {COLUMNS} FROM capture_journal WHERE invoice_no = ? AND state NOT IN ('finalized','rejected','needs_attention')"
    ))
    .bind(p.invoice_no)
    .fetch_optional(&mut *tx)
    .await?
    {
        return Ok(open);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO capture_journal (invoice_no, state, path, intent, order_id, authorization_id, currency, outstanding, request_id, \
         staff, environment, created_at, updated_at) VALUES (?, 'planned', 'paypal', ?, ?, ?, ?, ?, '', ?, ?, ?, ?) RETURNING id",
    )
    .bind(p.invoice_no)
    .bind(p.intent)
    .bind(p.order_id)
    .bind(p.authorization_id)
    .bind(p.currency)
    .bind(p.outstanding)
    .bind(p.staff)
    .bind(p.environment.as_str())
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
    // The idempotency key: this desk, this attempt, the PayPal resource it captures, this
    // operation. Reused on every retry; an open entry keeps the key stored on it.
    let request_id = capture_request_id(desk_id, id, p.authorization_id.or(p.order_id));
    sqlx::query("UPDATE capture_journal SET request_id = ? WHERE id = ?")
        .bind(&request_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record_in(
        &mut tx,
        p.staff,
        p.environment,
        audit::AuditAction::Capture(State::Planned),
        Some(p.invoice_no),
        serde_json::json!({
            "journalId": id, "orderId": p.order_id, "authorizationId": p.authorization_id,
            "outstanding": p.outstanding, "currency": p.currency, "requestId": request_id,
        }),
    )
    .await?;
    let entry = sqlx::query_as::<_, Entry>(&format!("SELECT {COLUMNS} FROM capture_journal WHERE id = ?"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(entry)
}

/// Moves `entry` to `to`, writing every field of `entry` (as changed by the caller), in one
/// transaction with its audit entry. Fails if the row is no longer in the state the caller read
/// (another process moved it): nothing is written then. The engine's runs use
/// [`transition_as`], which also checks their entry lease.
pub async fn transition(
    pool: &SqlitePool,
    entry: &mut Entry,
    to: State,
    staff: &str,
    env: Environment,
) -> Result<(), DeskError> {
    transition_as(pool, entry, to, staff, env, None).await
}

/// [`transition`] by a run that holds the entry lease as `holder`: in the same transaction, the
/// row must still be in the state the run read **and** the run must still hold the attempt's
/// unexpired entry lease (a run whose lease expired, perhaps taken over by another run, writes
/// nothing: `Conflict`). A new state clears the journaled send (`sent_at`, `sent_answered`,
/// `sent_open_until`).
pub(crate) async fn transition_as(
    pool: &SqlitePool,
    entry: &mut Entry,
    to: State,
    staff: &str,
    env: Environment,
    holder: Option<&str>,
) -> Result<(), DeskError> {
    let from = entry.state();
    let now = time::text(Utc::now());
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    // the row must be as the run read it (else another process moved it), and then the run
    // must still hold its entry lease
    let current: Option<String> = sqlx::query_scalar("SELECT state FROM capture_journal WHERE id = ?")
        .bind(entry.id)
        .fetch_optional(&mut *tx)
        .await?;
    if let (Some(holder), Some(from_now)) = (holder, current.as_deref()) {
        let held: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM entry_lease WHERE lease_key = ? AND holder = ? AND journal_id = ? AND expires_at > ?",
        )
        .bind(super::inflight::entry_key(entry.id))
        .bind(holder)
        .bind(entry.id)
        .bind(super::lease::now_ms())
        .fetch_optional(&mut *tx)
        .await?;
        if held.is_none() && from_now == from.as_str() {
            tx.rollback().await?;
            return Err(super::inflight::lost(entry));
        }
        if held.is_none() {
            tx.rollback().await?;
            return Err(moved(entry, from));
        }
    }
    let r = sqlx::query(
        "UPDATE capture_journal SET state = ?, path = ?, wallet_part_json = ?, wallet_currency = ?, wallet_amount = ?, exchange_rate = ?, \
         wallet_in_invoice_currency = ?, paypal_amount = ?, approved_amount = ?, capture_id = ?, capture_status = ?, adopted = ?, \
         reason = ?, last_error = ?, attempts = ?, updated_at = ?, sent_at = NULL, sent_answered = 0, sent_open_until = NULL WHERE id = ? AND state = ?",
    )
    .bind(to.as_str())
    .bind(entry.path)
    .bind(&entry.wallet_part_json)
    .bind(&entry.wallet_currency)
    .bind(&entry.wallet_amount)
    .bind(&entry.exchange_rate)
    .bind(&entry.wallet_in_invoice_currency)
    .bind(&entry.paypal_amount)
    .bind(&entry.approved_amount)
    .bind(&entry.capture_id)
    .bind(entry.capture_status)
    .bind(entry.adopted)
    .bind(&entry.reason)
    .bind(&entry.last_error)
    .bind(entry.attempts)
    .bind(&now)
    .bind(entry.id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(moved(entry, from));
    }
    if to == State::Finalized {
        mark_paid(&mut tx, entry.invoice_no, &entry.currency).await?;
    }
    let detail = serde_json::json!({
        "journalId": entry.id, "from": from.as_str(), "to": to.as_str(), "path": entry.path,
        "currency": entry.currency, "outstanding": entry.outstanding, "paypalAmount": entry.paypal_amount,
        "walletAmount": entry.wallet_amount, "walletCurrency": entry.wallet_currency, "exchangeRate": entry.exchange_rate,
        "approvedAmount": entry.approved_amount, "orderId": entry.order_id, "authorizationId": entry.authorization_id,
        "captureId": entry.capture_id, "captureStatus": entry.capture_status, "adopted": entry.adopted,
        "requestId": entry.request_id, "reason": entry.reason,
    });
    audit::record_in(&mut tx, staff, env, audit::AuditAction::Capture(to), Some(entry.invoice_no), detail).await?;
    tx.commit().await?;
    entry.state = StateText(to);
    entry.updated_at = now;
    Ok(())
}

/// For a clerk: the row is no longer in the state the run read (another process moved it).
fn moved(entry: &Entry, from: State) -> DeskError {
    DeskError::new(ErrorCode::Conflict, "Another Capture Desk process is working on this invoice right now.")
        .with_detail(format!("journal {} was no longer {}", entry.id, from.as_str()))
}

/// The invoice is paid: the cache says so at once (the next sync confirms it). The mark's instant
/// (`paid_marked_at`) keeps a sync page or detail read asked for before it from showing the
/// invoice outstanding again (`invoices::write`'s module doc).
async fn mark_paid(tx: &mut sqlx::SqliteConnection, invoice_no: i64, currency: &str) -> Result<(), DeskError> {
    mark_settled(tx, invoice_no, currency, InvoiceStatus::Paid).await
}

/// The invoice owes nothing any more (`status`: paid, or cancelled): the cache says so at once,
/// outstanding zero and no PayPal payment to capture, stamped as [`mark_paid`] says (the stamp
/// keeps any settled invoice from being shown outstanding by an older view).
async fn mark_settled(
    tx: &mut sqlx::SqliteConnection,
    invoice_no: i64,
    currency: &str,
    status: InvoiceStatus,
) -> Result<(), DeskError> {
    let zero = money::Currency::from_code(currency)
        .map(money::Money::zero)
        .map_or_else(|_| "0".to_owned(), |m| m.to_paypal_string());
    sqlx::query(
        "UPDATE invoices SET status = ?, outstanding = ?, outstanding_e4 = 0, has_paypal = 0, paypal_intent = NULL, \
         paypal_order_id = NULL, paypal_auth_id = NULL, paypal_approved_at = NULL, paid_marked_at = ? WHERE invoice_no = ?",
    )
    .bind(status.as_str())
    .bind(zero)
    .bind(crate::sync::instant_text(Utc::now()))
    .bind(invoice_no)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Marks the cached invoice as the gateway says it was settled outside our payment (paid or
/// cancelled); an `outstanding` word marks nothing.
pub async fn mark_invoice_settled(
    pool: &SqlitePool,
    invoice_no: i64,
    currency: &str,
    status: gateway::InvoiceStatus,
) -> Result<(), DeskError> {
    if status == gateway::InvoiceStatus::Outstanding {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    mark_settled(&mut conn, invoice_no, currency, status.into()).await
}

/// Records a failed remote call without changing state (attempts + 1, last error).
pub async fn note_failure(pool: &SqlitePool, entry: &mut Entry, error: &str) -> Result<(), DeskError> {
    entry.attempts += 1;
    entry.last_error = Some(error.chars().take(500).collect());
    sqlx::query("UPDATE capture_journal SET attempts = ?, last_error = ?, updated_at = ? WHERE id = ?")
        .bind(entry.attempts)
        .bind(&entry.last_error)
        .bind(time::text(Utc::now()))
        .bind(entry.id)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn get(pool: &SqlitePool, id: i64) -> Result<Option<Entry>, DeskError> {
    Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM capture_journal WHERE id = ?"))
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// Every unfinished attempt, oldest first.
pub async fn unfinished(pool: &SqlitePool) -> Result<Vec<Entry>, DeskError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM capture_journal WHERE state NOT IN ('finalized','rejected','needs_attention') ORDER BY id"
    ))
    .fetch_all(pool)
    .await?)
}

/// The newest attempts (all, or one invoice's), newest first.
pub async fn recent(pool: &SqlitePool, invoice_no: Option<i64>, limit: u32) -> Result<Vec<Entry>, DeskError> {
    let limit = i64::from(limit.clamp(1, 10_000));
    Ok(match invoice_no {
        Some(no) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM capture_journal WHERE invoice_no = ? ORDER BY id DESC LIMIT ?"
            ))
            .bind(no)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM capture_journal ORDER BY id DESC LIMIT ?"))
                .bind(limit)
                .fetch_all(pool)
                .await?
        }
    })
}
