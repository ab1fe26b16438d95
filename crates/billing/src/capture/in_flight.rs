//! A money-moving request already sent may still land (the window a resume waits out).
//!
//! The capture (PayPal), the finalization and the full wallet payment (the gateway) are sent
//! from a `*_sent` state that is journaled before the call. When their answer is lost (a
//! timeout, a cut connection, a killed process), the request may still be travelling or being
//! worked on at the other end: a resume that reads the gateway's invoice, does not find the
//! payment, and sends again (or concludes "not ours") can be overtaken by the first request
//! landing afterwards (a double finalization or wallet debit, or refund advice for a payment
//! that is ours). So (migration 0007):
//!
//! * [`mark_sent`]: just before the request leaves, one transaction confirms (renews) this
//!   run's entry lease **and** journals `sent_at` (now) with `sent_answered = 0`. A run that lost
//!   its lease (another run may have taken the attempt over) sends nothing.
//! * [`mark_answered`]: an answer that ends the request (any HTTP answer but a proxy's 502/504:
//!   [`gateway_answered`]) sets `sent_answered = 1`. The next state change clears both.
//! * [`window`]: a send neither answered nor older than the client's whole budget for the
//!   request plus [`MARGIN`] ([`gateway_window`]) is **open**. A resume that finds its payment at
//!   the gateway goes on at once (finalized); one that does not find it waits while the window is
//!   open (the attempt stays `*_sent`, `Flow::Wait`; a later run, `desk recover` or the app's
//!   recovery, finishes it once the window has passed), never sending again nor concluding "not
//!   ours" before.
//!
//! GATEWAY-API.md promises no deduplication of a finalization by `paymentId` (nor of a wallet
//! payment, which carries no id of ours at all): a second finalization is refused as "Bad
//! Invoice" only because the first one has already marked the invoice paid, which says nothing
//! of two sends racing each other, and a second wallet payment may debit the wallet again. The
//! wait is therefore the only protection, and it is kept even where the gateway would refuse.
//!
//! The clock is the wall clock (`sent_at` is read by other processes after a crash, and
//! processes share no monotonic clock). A clock set back makes the window longer (safe); a
//! clock set forward by more than the window would close it early: the margin is generous for
//! that reason, and NTP slews rather than jumps in normal operation.

use super::journal::Entry;
use super::lease::{now_ms, ttl_ms};
use crate::{DeskError, ErrorCode};
use gateway::GatewayError;
use sqlx::SqlitePool;
use std::time::Duration;

/// Beyond the client's own budget: the other end may go on working on a request after the
/// client gave up on it (and the wall clocks of two processes may disagree a little).
pub const MARGIN: Duration = Duration::from_secs(30);

/// How long after it was sent a finalization or wallet payment may still land: both are sent
/// once by the gateway client (`post_once`: one attempt of `timeout` after `connect_timeout`,
/// no retry), plus [`MARGIN`].
pub fn gateway_window(o: &gateway::ClientOptions) -> Duration {
    o.connect_timeout + o.timeout + MARGIN
}

/// The window for the desk's gateway client (`desk/open.rs` builds it with the defaults).
pub fn window_length() -> Duration {
    gateway_window(&gateway::ClientOptions::default())
}

/// Whether a send of this state may still be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// Nothing of this state was sent (a crash before the request left).
    NeverSent,
    /// Sent, and it cannot be in flight any more (answered, or older than the window).
    Closed,
    /// Sent with no answer, this long ago: it may still land for `remaining`.
    Open { remaining: Duration },
}

impl Window {
    /// How long a send may still land (`None`: it cannot, or there was none).
    pub(crate) fn open(self) -> Option<Duration> {
        match self {
            Window::Open { remaining } => Some(remaining),
            Window::NeverSent | Window::Closed => None,
        }
    }
}

/// Where the latest send of `e`'s current state stands.
pub(crate) async fn window(pool: &SqlitePool, e: &Entry) -> Result<Window, DeskError> {
    let row: Option<(Option<i64>, bool)> =
        sqlx::query_as("SELECT sent_at, sent_answered FROM capture_journal WHERE id = ? AND state = ?")
            .bind(e.id)
            .bind(e.state().as_str())
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        None | Some((None, _)) => Window::NeverSent,
        Some((Some(_), true)) => Window::Closed,
        Some((Some(sent_at), false)) => judge(sent_at, now_ms(), window_length()),
    })
}

/// The window of a send at `sent_at` (Unix ms), seen at `now`. A `now` before `sent_at` (the
/// clock was set back) counts from `now`: the whole window is still open.
fn judge(sent_at: i64, now: i64, length: Duration) -> Window {
    let elapsed = Duration::from_millis(u64::try_from(now.saturating_sub(sent_at)).unwrap_or(0));
    match length.checked_sub(elapsed) {
        Some(remaining) if !remaining.is_zero() => Window::Open { remaining },
        _ => Window::Closed,
    }
}

/// The word that starts the journal's reason of a resume waiting out a send.
const WAITING: &str = "request_in_flight";

/// Whether a result waits out a send of its own that may still land (its journaled reason is
/// [`waiting_words`]'): it is worth driving again once the window has passed.
pub fn waits_out_a_send(r: &super::CaptureResult) -> bool {
    !r.finished && r.detail.as_deref().is_some_and(|d| d.starts_with(WAITING))
}

/// For the journal: why a resume waits instead of sending again.
pub(crate) fn waiting_words(what: &str, remaining: Duration) -> String {
    format!(
        "{WAITING}: the {what} sent earlier had no answer and may still land at the gateway; \
         nothing is sent again nor concluded until it cannot ({} s from now): resume then",
        remaining.as_secs().max(1)
    )
}

/// Just before a money-moving request leaves: confirms (renews) the run's entry lease and
/// journals the send, in one transaction. `Err` (Conflict): this run holds the attempt no more,
/// and must not send.
/// The journaled send time (Unix ms) is returned: [`mark_answered`] names it.
pub(crate) async fn mark_sent(pool: &SqlitePool, e: &Entry, holder: Option<&str>) -> Result<i64, DeskError> {
    let Some(holder) = holder else {
        return Err(DeskError::internal(format!("journal {}: a send outside a run holding its entry", e.id)));
    };
    let now = now_ms();
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let renewed = sqlx::query(
        "UPDATE entry_lease SET expires_at = ? WHERE lease_key = ? AND holder = ? AND journal_id = ? AND expires_at > ?",
    )
    .bind(now + ttl_ms())
    .bind(super::inflight::entry_key(e.id))
    .bind(holder)
    .bind(e.id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if renewed.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(super::inflight::lost(e));
    }
    let sent = sqlx::query("UPDATE capture_journal SET sent_at = ?, sent_answered = 0 WHERE id = ? AND state = ?")
        .bind(now)
        .bind(e.id)
        .bind(e.state().as_str())
        .execute(&mut *tx)
        .await?;
    if sent.rows_affected() != 1 {
        tx.rollback().await?;
        return Err(DeskError::new(
            ErrorCode::Conflict,
            "Another Capture Desk process is working on this invoice right now.",
        )
        .with_detail(format!("journal {} was no longer {}", e.id, e.state().as_str())));
    }
    tx.commit().await?;
    Ok(now)
}

/// This run's send of `e`'s state, journaled at `sent_at`, was answered: it is in flight no
/// more. Only that send: a run that lost the attempt meanwhile cannot mark another run's later
/// send answered.
pub(crate) async fn mark_answered(pool: &SqlitePool, e: &Entry, sent_at: i64) -> Result<(), DeskError> {
    sqlx::query("UPDATE capture_journal SET sent_answered = 1 WHERE id = ? AND state = ? AND sent_at = ?")
        .bind(e.id)
        .bind(e.state().as_str())
        .bind(sent_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// The gateway's error is an answer that ends the request: an HTTP answer of the gateway
/// itself. Not: no answer (a timeout, a cut or refused connection, an answer cut short), nor a
/// 5xx other than the gateway's documented 500 (a proxy or CDN in front of it answers 502, 503,
/// 504 or its own codes when it gives up, while the gateway may still be working on the
/// request).
pub(crate) fn gateway_answered(err: &GatewayError) -> bool {
    match err {
        GatewayError::Timeout | GatewayError::Unreachable { .. } => false,
        GatewayError::Server { status, .. } => *status == 500,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_send_is_open_for_the_clients_whole_budget_and_the_margin() {
        let o = gateway::ClientOptions::default();
        let length = gateway_window(&o);
        assert!(length >= o.timeout + o.connect_timeout + Duration::from_secs(30), "{length:?}");
        assert_eq!(judge(1_000, 1_000, length), Window::Open { remaining: length });
        assert_eq!(judge(1_000, 1_500, length), Window::Open { remaining: length - Duration::from_millis(500) });
        let end = 1_000 + i64::try_from(length.as_millis()).expect("ms");
        assert_eq!(judge(1_000, end, length), Window::Closed);
        assert_eq!(judge(1_000, end + 1, length), Window::Closed);
        // a clock set back: still open, the whole window
        assert_eq!(judge(10_000, 1_000, length), Window::Open { remaining: length });
    }

    #[tokio::test]
    async fn an_answer_marks_only_the_send_it_answers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let pool = crate::store::open(dir.path()).await.expect("database");
        let plan = crate::capture::journal::Plan {
            invoice_no: 7,
            intent: Some("CAPTURE"),
            order_id: Some("ORDER1"),
            authorization_id: None,
            currency: "USD",
            outstanding: "10.00",
            staff: "t",
            environment: crate::Environment::Sandbox,
        };
        let e = crate::capture::journal::plan(&pool, "desk", &plan).await.expect("planned");
        // another run's later send is journaled at 2000; this run's answer was for its send at 1000
        sqlx::query("UPDATE capture_journal SET sent_at = 2000, sent_answered = 0 WHERE id = ?")
            .bind(e.id)
            .execute(&pool)
            .await
            .expect("sent");
        let answered = || async {
            sqlx::query_scalar::<_, i64>("SELECT sent_answered FROM capture_journal WHERE id = ?")
                .bind(e.id)
                .fetch_one(&pool)
                .await
                .expect("row")
        };
        mark_answered(&pool, &e, 1000).await.expect("marked");
        assert_eq!(answered().await, 0, "the later send stays in flight");
        mark_answered(&pool, &e, 2000).await.expect("marked");
        assert_eq!(answered().await, 1);
    }

    #[test]
    fn a_result_waiting_out_a_send_is_told_by_its_journaled_reason() {
        let r = |finished: bool, detail: Option<String>| super::super::CaptureResult {
            journal_id: 1,
            invoice_no: 1,
            state: crate::capture::State::FinalizeSent,
            finished,
            message: String::new(),
            capture_id: None,
            paypal_amount: None,
            wallet_amount: None,
            wallet_currency: None,
            currency: "USD".into(),
            adopted: false,
            detail,
        };
        assert!(waits_out_a_send(&r(false, Some(waiting_words("finalization", Duration::from_secs(9))))));
        assert!(!waits_out_a_send(&r(false, Some("gateway unreachable".into()))));
        assert!(!waits_out_a_send(&r(false, None)));
        assert!(!waits_out_a_send(&r(true, Some(waiting_words("finalization", Duration::from_secs(9))))));
    }

    #[test]
    fn only_an_answer_of_the_gateway_itself_ends_a_request() {
        for err in [
            GatewayError::Timeout,
            GatewayError::Unreachable { detail: "x".into() },
            GatewayError::Server { status: 502, message: "x".into() },
            GatewayError::Server { status: 504, message: "x".into() },
            GatewayError::Server { status: 503, message: "x".into() },
            GatewayError::Server { status: 520, message: "x".into() },
        ] {
            assert!(!gateway_answered(&err), "{err:?}");
        }
        for err in [
            GatewayError::Server { status: 500, message: "x".into() },
            GatewayError::BadInvoice,
            GatewayError::InvalidAmount,
            GatewayError::InvalidResponse { detail: "x".into() },
        ] {
            assert!(gateway_answered(&err), "{err:?}");
        }
    }
}
