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
//!   request plus [`MARGIN`] ([`gateway_window`], [`paypal_window`]) is **open**. A resume that
//!   finds its payment at the gateway goes on at once (finalized); one that does not find it
//!   waits while the window is open (the attempt stays `*_sent`, `Flow::Wait`; a later run,
//!   `desk recover` or the app's recovery, finishes it once the window has passed), never
//!   sending again nor concluding "not ours" before.
//! * A state sent again (the PayPal capture is resent on resume with the same
//!   `PayPal-Request-Id`) keeps its earlier send in the journal (migration 0009): [`mark_sent`]
//!   folds an earlier send that had no answer into `sent_open_until` (its `sent_at` + the
//!   window), and [`window`] stays open until then too. An answer to the later send may be a
//!   replay's, which says nothing of the earlier request still being worked on: a PayPal
//!   decline of a capturable order or authorization that lists no capture of ours ends the
//!   attempt `rejected` only once no earlier send can land (`paypal_steps.rs`); until then it
//!   waits like a resume here. The PayPal client's own retries within one call count as such
//!   an earlier send ([`paypal::Sent::sends`]).
//! * The window is judged from the journaled `sent_at`, so no try may leave that could land
//!   after it: the capture is sent with a wall-clock deadline ([`paypal_leave_by`]), checked by
//!   the client right before each try leaves (after its pace slot and token), which a try held
//!   back, a machine suspended and woken or a run that lost its entry cannot pass.
//!
//! GATEWAY-API.md promises no deduplication of a finalization by `paymentId` (nor of a wallet
//! payment, which carries no id of ours at all): a second finalization is refused as "Bad
//! Invoice" only because the first one has already marked the invoice paid, which says nothing
//! of two sends racing each other, and a second wallet payment may debit the wallet again. The
//! wait is therefore the only protection, and it is kept even where the gateway would refuse.
//!
//! The clock is the wall clock (`sent_at` is read by other processes after a crash, and
//! processes share no monotonic clock). A clock set back is noticed by [`window`] (a `sent_at`
//! after now) and journaled once: the send is taken as sent now, so the window runs its whole
//! length once from then and closes (never open as long as the clock went back); a clock set
//! forward by more than the window would close it early: the margin is generous for that
//! reason, and NTP slews rather than jumps in normal operation.

use super::journal::{Entry, State};
use super::lease::{now_ms, ttl_ms};
use crate::{DeskError, ErrorCode};
use gateway::GatewayError;
use sqlx::SqlitePool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

/// How long after it was sent a PayPal capture may still land: the PayPal client retries it
/// (same request id) within its whole budget for one POST ([`paypal::post_budget`]), plus
/// [`MARGIN`].
pub fn paypal_window(o: &paypal::ClientOptions) -> Duration {
    paypal::post_budget(o) + MARGIN
}

/// The wall-clock time a try of the PayPal capture journaled as sent at `sent_at` (Unix ms) must
/// be able to end by to leave at all (`paypal::PaypalClient::capture_order_sent`'s `leave_by`):
/// the client's whole budget from the journaled send ([`paypal::post_budget`]). A try that
/// would leave later (a pace slot or a token that came late, a machine suspended and woken, a
/// run that lost its entry to another) does not leave, so no send of it can land after the
/// window ([`paypal_window`]: the same budget plus [`MARGIN`]) that another run judges it by.
pub(crate) fn paypal_leave_by(sent_at: i64) -> SystemTime {
    let at = UNIX_EPOCH + Duration::from_millis(u64::try_from(sent_at).unwrap_or(0));
    at + paypal::post_budget(&paypal::ClientOptions::default())
}

/// The window of a send from `state`, for the desk's clients (`desk/open.rs` builds both with
/// the defaults).
pub(crate) fn window_of(state: State) -> Duration {
    match state {
        State::PaypalCaptureSent => paypal_window(&paypal::ClientOptions::default()),
        _ => window_length(),
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A `sent_at` this far after now is a clock set back, not two processes' clocks disagreeing.
const SET_BACK: Duration = Duration::from_secs(1);

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

/// Where the sends of `e`'s current state stand: the latest one (unless answered) and any
/// earlier one folded into `sent_open_until` ([`mark_sent`]); open while either may land.
pub(crate) async fn window(pool: &SqlitePool, e: &Entry) -> Result<Window, DeskError> {
    window_at(pool, e, now_ms()).await
}

/// [`window`], seen at `now` (Unix ms). A clock set back (`sent_at` after `now`) is journaled
/// once: the send is taken as sent at `now` (and no earlier send as landing later than a whole
/// window from `now`), in a conditional update of the row as read, so the window runs its
/// whole length from `now` once and then closes.
async fn window_at(pool: &SqlitePool, e: &Entry, now: i64) -> Result<Window, DeskError> {
    let row: Option<(Option<i64>, bool, Option<i64>)> = sqlx::query_as(
        "SELECT sent_at, sent_answered, sent_open_until FROM capture_journal WHERE id = ? AND state = ?",
    )
    .bind(e.id)
    .bind(e.state().as_str())
    .fetch_optional(pool)
    .await?;
    let Some((Some(mut sent_at), answered, mut open_until)) = row else {
        return Ok(Window::NeverSent);
    };
    let length = window_of(e.state());
    let latest = now.saturating_add(ms(length));
    if sent_at > now.saturating_add(ms(SET_BACK)) || open_until.is_some_and(|u| u > latest.saturating_add(ms(SET_BACK)))
    {
        tracing::warn!(journal_id = e.id, sent_at, now, "the clock was set back: the send is taken as sent now");
        sqlx::query(
            "UPDATE capture_journal SET sent_at = MIN(sent_at, ?), sent_open_until = MIN(sent_open_until, ?)              WHERE id = ? AND state = ? AND sent_at = ? AND sent_open_until IS ?",
        )
        .bind(now)
        .bind(latest)
        .bind(e.id)
        .bind(e.state().as_str())
        .bind(sent_at)
        .bind(open_until)
        .execute(pool)
        .await?;
        sent_at = sent_at.min(now);
        open_until = open_until.map(|u| u.min(latest));
    }
    let latest_send = if answered { Window::Closed } else { judge(sent_at, now, length) };
    let earlier = match open_until {
        Some(until) if until > now => {
            Window::Open { remaining: Duration::from_millis(u64::try_from(until - now).unwrap_or(0)) }
        }
        _ => Window::Closed,
    };
    Ok(match (latest_send.open(), earlier.open()) {
        (Some(a), Some(b)) => Window::Open { remaining: a.max(b) },
        (Some(_), None) => latest_send,
        (None, _) => earlier,
    })
}

/// The window of a send at `sent_at` (Unix ms), seen at `now`. A `now` before `sent_at` (the
/// clock was set back by less than [`SET_BACK`], or by another process's clock) counts from
/// `now`: the whole window is still open. ([`window`] journals a larger set-back as a send now.)
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

/// For the journal: why a PayPal decline of a capture that may have been sent before does not
/// end the attempt yet.
pub(crate) fn waiting_for_capture(decline: &str, remaining: Duration) -> String {
    format!(
        "{WAITING}: the capture was sent before with the same request id and had no answer; it may \
         still be captured at PayPal, so PayPal's refusal of this send ({decline}) is not taken as \
         \"nothing captured\" until it cannot ({} s from now): resume then (the same request is sent \
         again)",
        remaining.as_secs().max(1)
    )
}

/// Just before a money-moving request leaves: confirms (renews) the run's entry lease and
/// journals the send, in one transaction. `Err` (Conflict): this run holds the attempt no more,
/// and must not send.
/// The journaled send time (Unix ms) is returned: [`mark_answered`] names it. An earlier send
/// of the same state that had no answer is folded into `sent_open_until` (its `sent_at` + the
/// state's window) in the same update (which reads the row as it was).
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
    let sent = sqlx::query(
        "UPDATE capture_journal SET sent_open_until = CASE WHEN sent_at IS NOT NULL AND sent_answered = 0 \
         THEN MAX(COALESCE(sent_open_until, 0), sent_at + ?) ELSE sent_open_until END, \
         sent_at = ?, sent_answered = 0 WHERE id = ? AND state = ?",
    )
    .bind(ms(window_of(e.state())))
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
/// itself, or a 503. Not: no answer (a timeout, a cut or refused connection, an answer cut
/// short), nor another 5xx than the gateway's documented 500 (a proxy or CDN in front of it
/// answers 502 or 504 when what it passed the request on to failed or did not answer in time,
/// and its own codes, while the gateway may still be working on the request).
///
/// A 503 ("Service Unavailable", RFC 9110 §15.6.4) says the server that gives it is unable to
/// handle the request: a gateway under maintenance or overload, or a proxy with no healthy
/// gateway behind it, answers it instead of passing the request on. It ends the request like a
/// 429. (A proxy that gives 503 for a gateway that reset the connection after taking the request
/// would break this; the gateway's contract names no proxy, and a resume reads the invoice before
/// it sends again, which finds a finalization that landed.)
pub(crate) fn gateway_answered(err: &GatewayError) -> bool {
    match err {
        GatewayError::Timeout | GatewayError::Unreachable { .. } => false,
        GatewayError::Server { status, .. } => matches!(*status, 500 | 503),
        _ => true,
    }
}

#[cfg(test)]
#[path = "in_flight_tests.rs"]
mod tests;
