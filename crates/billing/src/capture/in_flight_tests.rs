//! `in_flight.rs`'s tests: the window, the set-back clock, the fold of an earlier send.

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
    // a clock set back (by less than SET_BACK; window() journals a larger one as now): still
    // open, the whole window
    assert_eq!(judge(10_000, 1_000, length), Window::Open { remaining: length });
}

#[tokio::test]
async fn an_answer_marks_only_the_send_it_answers() {
    let (_dir, pool, e) = planned().await;
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
fn only_an_answer_of_the_gateway_itself_or_a_503_ends_a_request() {
    for err in [
        GatewayError::Timeout,
        GatewayError::Unreachable { detail: "x".into() },
        GatewayError::Server { status: 502, message: "x".into() },
        GatewayError::Server { status: 504, message: "x".into() },
        GatewayError::Server { status: 520, message: "x".into() },
    ] {
        assert!(!gateway_answered(&err), "{err:?}");
    }
    for err in [
        GatewayError::Server { status: 500, message: "x".into() },
        GatewayError::Server { status: 503, message: "x".into() },
        GatewayError::BadInvoice,
        GatewayError::InvalidAmount,
        GatewayError::InvalidResponse { detail: "x".into() },
    ] {
        assert!(gateway_answered(&err), "{err:?}");
    }
}

/// A planned attempt in a fresh database (the directory must outlive the pool).
async fn planned() -> (tempfile::TempDir, SqlitePool, Entry) {
    let (dir, pool) = crate::capture::lease::tests::database().await;
    let e = crate::capture::lease::tests::entry(&pool, 7).await;
    (dir, pool, e)
}

/// Journals `e`'s send at `at`, unanswered, with `open_until`.
async fn journal_send(pool: &SqlitePool, e: &Entry, at: i64, open_until: Option<i64>) {
    sqlx::query("UPDATE capture_journal SET sent_at = ?, sent_answered = 0, sent_open_until = ? WHERE id = ?")
        .bind(at)
        .bind(open_until)
        .bind(e.id)
        .execute(pool)
        .await
        .expect("sent");
}

async fn sent_row(pool: &SqlitePool, e: &Entry) -> (Option<i64>, bool, Option<i64>) {
    sqlx::query_as("SELECT sent_at, sent_answered, sent_open_until FROM capture_journal WHERE id = ?")
        .bind(e.id)
        .fetch_one(pool)
        .await
        .expect("row")
}

/// The clock was set back by two hours after a send was journaled: the window is open for its
/// whole length from now, once, and then closes. (Before: counted from each `now` again, it
/// stayed open the whole two hours, however often it was looked at.)
#[tokio::test]
async fn a_clock_set_back_opens_the_window_once_not_for_as_long_as_it_went_back() {
    let (_dir, pool, e) = planned().await;
    let length = window_of(e.state());
    let now: i64 = 1_700_000_000_000;
    let two_hours = 2 * 3600 * 1000;
    journal_send(&pool, &e, now + two_hours, None).await;
    assert_eq!(window_at(&pool, &e, now).await.expect("window"), Window::Open { remaining: length });
    assert_eq!(
        window_at(&pool, &e, now + ms(length) / 2).await.expect("window"),
        Window::Open { remaining: length - Duration::from_millis(u64::try_from(ms(length) / 2).expect("ms")) }
    );
    assert_eq!(window_at(&pool, &e, now + ms(length)).await.expect("window"), Window::Closed);
    assert_eq!(window_at(&pool, &e, now + ms(length) + 1).await.expect("window"), Window::Closed);
    assert_eq!(sent_row(&pool, &e).await.0, Some(now), "journaled as sent now");
    // an earlier send folded in before the clock went back: the same
    journal_send(&pool, &e, now, Some(now + two_hours)).await;
    assert_eq!(window_at(&pool, &e, now).await.expect("window"), Window::Open { remaining: length });
    assert_eq!(sent_row(&pool, &e).await.2, Some(now + ms(length)));
    assert_eq!(window_at(&pool, &e, now + ms(length)).await.expect("window"), Window::Closed);
    // less than a second back (two processes' clocks): nothing journaled, the whole window open
    journal_send(&pool, &e, now + 500, None).await;
    assert_eq!(window_at(&pool, &e, now).await.expect("window"), Window::Open { remaining: length });
    assert_eq!(sent_row(&pool, &e).await.0, Some(now + 500));
}

/// A send again of a state whose earlier send had no answer keeps that one in the journal: the
/// window stays open until it cannot land, even once the later send was answered. An answered
/// earlier send is not kept. A PayPal capture's window is the PayPal client's budget.
#[tokio::test]
async fn a_send_again_keeps_an_earlier_send_without_an_answer_open() {
    let (_dir, pool, e) = planned().await;
    sqlx::query("UPDATE capture_journal SET state = 'paypal_capture_sent' WHERE id = ?")
        .bind(e.id)
        .execute(&pool)
        .await
        .expect("state");
    let e = crate::capture::journal::get(&pool, e.id).await.expect("read").expect("entry");
    let length = window_of(e.state());
    assert_eq!(length, paypal::post_budget(&paypal::ClientOptions::default()) + MARGIN);
    assert!(length > window_length(), "the PayPal client retries its POST; the gateway's does not");
    sqlx::query(
        "INSERT INTO entry_lease (lease_key, holder, journal_id, invoice_no, acquired_at, expires_at) VALUES (?, 'h', ?, 7, 'now', ?)",
    )
    .bind(super::super::inflight::entry_key(e.id))
    .bind(e.id)
    .bind(now_ms() + 60_000)
    .execute(&pool)
    .await
    .expect("lease");
    // a first send: nothing earlier to keep
    let first = mark_sent(&pool, &e, Some("h")).await.expect("sent");
    assert_eq!(sent_row(&pool, &e).await, (Some(first), false, None));
    // it had no answer (journaled 10 s ago); the same state is sent again and answered
    let earlier = now_ms() - 10_000;
    journal_send(&pool, &e, earlier, None).await;
    let again = mark_sent(&pool, &e, Some("h")).await.expect("sent");
    assert_eq!(sent_row(&pool, &e).await, (Some(again), false, Some(earlier + ms(length))));
    mark_answered(&pool, &e, again).await.expect("answered");
    let Window::Open { remaining } = window(&pool, &e).await.expect("window") else {
        panic!("the earlier send may still land")
    };
    assert!(
        remaining <= length - Duration::from_secs(10) && remaining > length - Duration::from_secs(20),
        "{remaining:?}"
    );
    // an answered send is not kept: the next send keeps only what was kept before
    let third = mark_sent(&pool, &e, Some("h")).await.expect("sent");
    assert_eq!(sent_row(&pool, &e).await, (Some(third), false, Some(earlier + ms(length))));
    // once it cannot land any more, only the latest send counts
    journal_send(&pool, &e, third, Some(now_ms() - 1)).await;
    mark_answered(&pool, &e, third).await.expect("answered");
    assert_eq!(window(&pool, &e).await.expect("window"), Window::Closed);
}
