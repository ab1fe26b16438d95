//! What one money-moving POST came to, and how long after it started it may still land.
//!
//! The client retries a POST (429, 5xx, transport errors) with the same `PayPal-Request-Id`,
//! and a 401 once with a fresh token. An answer to a later try may be a replay's: the earlier
//! try may still be worked on at PayPal (its answer was lost or was a proxy's 5xx). So the
//! client reports how many times the request may have left ([`Sent::sends`]), and
//! [`post_budget`] says how long after the call started its last try may still be travelling.

use crate::client::{amount_json, path_id, ClientOptions, Method, PaypalClient, RequestId};
use crate::types::AuthorizationCaptureRequest;
use crate::wire::{CaptureWire, OrderWire};
use crate::{Capture, Order, PaypalError};
use std::time::{Duration, SystemTime};
use tracing::Instrument;

/// The longest `Retry-After` the client honours before a retry (and holds its pace back for).
pub(crate) const RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// A POST's answer and how many times it may have left.
#[derive(Debug)]
pub struct Sent<T> {
    /// The answer to the last try (or the error that ended the call).
    pub answer: Result<T, PaypalError>,
    /// How many tries may have reached PayPal: every try whose request was handed to the
    /// network, whatever came back (counted before the send, so a try cut off in any way is
    /// counted), but for one PayPal turned away unprocessed (a 429, its rate limit; a 401, the
    /// token refused). `0`: nothing left (refused before sending, the token could not be had).
    pub sends: u32,
    /// The call stopped at its `leave_by`: a try it would have made did not leave, as it could
    /// have ended after that. With `sends == 0` nothing left and the answer is
    /// [`PaypalError::NotSent`]; otherwise the answer is the last try's error.
    pub late: bool,
}

impl<T> Sent<T> {
    /// More than one try left: the answer may be a replay's, while an earlier try of the same
    /// request id may still be worked on.
    pub fn replayed(&self) -> bool {
        self.sends > 1
    }

    /// The same sends, the answer read on by `f`.
    pub(crate) fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, PaypalError>) -> Sent<U> {
        Sent { answer: self.answer.and_then(f), sends: self.sends, late: self.late }
    }
}

/// The client's whole budget for one POST, from the call's start to the end of its last try:
/// every try (the attempts, plus one after a token refresh on a 401) may first wait for a new
/// token and then for its own request (each `connect_timeout + timeout`), and between the
/// attempts the client backs off (at most `backoff_max`, or a `Retry-After` up to
/// [`RETRY_AFTER_CAP`]). A request the client gave up on may still be worked on at PayPal for a
/// while: the caller adds its own margin.
pub fn post_budget(o: &ClientOptions) -> Duration {
    let attempts = o.attempts.max(1);
    let one_request = o.connect_timeout.saturating_add(o.timeout);
    let one_try = one_request.saturating_mul(2);
    let tries = one_try.saturating_mul(attempts.saturating_add(1));
    let backoffs = o.backoff_max.max(RETRY_AFTER_CAP).saturating_mul(attempts - 1);
    tries.saturating_add(backoffs)
}

// The capture calls, which report their sends.
impl PaypalClient {
    /// Captures an approved order (intent CAPTURE).
    pub async fn capture_order(&self, id: &str, request_id: &RequestId) -> Result<Order, PaypalError> {
        self.capture_order_sent(id, request_id, None).await.answer
    }

    /// [`PaypalClient::capture_order`], telling how many times the request may have left
    /// ([`Sent::sends`]: more than one, and the answer may be a replay's). `leave_by` (the wall
    /// clock): no try leaves unless it would end by then (`connect_timeout + timeout` from when
    /// it leaves), checked right before each try leaves; past it the call stops ([`Sent::late`]).
    pub async fn capture_order_sent(
        &self,
        id: &str,
        request_id: &RequestId,
        leave_by: Option<SystemTime>,
    ) -> Sent<Order> {
        let span = tracing::info_span!("paypal.capture_order", order_id = id, request_id = request_id.as_str());
        let path = match path_id(id) {
            Ok(id) => format!("/v2/checkout/orders/{id}/capture"),
            Err(e) => return Sent { answer: Err(e), sends: 0, late: false },
        };
        let sent = self
            .call_counted::<OrderWire>(&path, Method::Post(request_id.clone(), serde_json::json!({})), leave_by)
            .instrument(span)
            .await;
        sent.and_then(OrderWire::typed)
    }

    /// Captures an authorization (all of it, or `amount`), optionally as the final capture.
    pub async fn capture_authorization(
        &self,
        id: &str,
        req: &AuthorizationCaptureRequest,
        request_id: &RequestId,
    ) -> Result<Capture, PaypalError> {
        self.capture_authorization_sent(id, req, request_id, None).await.answer
    }

    /// [`PaypalClient::capture_authorization`], telling how many times the request may have
    /// left ([`Sent::sends`]: more than one, and the answer may be a replay's); `leave_by` as
    /// for [`PaypalClient::capture_order_sent`].
    pub async fn capture_authorization_sent(
        &self,
        id: &str,
        req: &AuthorizationCaptureRequest,
        request_id: &RequestId,
        leave_by: Option<SystemTime>,
    ) -> Sent<Capture> {
        let span = tracing::info_span!(
            "paypal.capture_authorization",
            authorization_id = id,
            request_id = request_id.as_str()
        );
        let prepared = auth_capture_body(req)
            .and_then(|body| Ok((format!("/v2/payments/authorizations/{}/capture", path_id(id)?), body)));
        let (path, body) = match prepared {
            Ok(p) => p,
            Err(e) => return Sent { answer: Err(e), sends: 0, late: false },
        };
        let sent = self
            .call_counted::<CaptureWire>(&path, Method::Post(request_id.clone(), body), leave_by)
            .instrument(span)
            .await;
        sent.and_then(CaptureWire::typed)
    }
}

/// The body of an authorization capture.
fn auth_capture_body(req: &AuthorizationCaptureRequest) -> Result<serde_json::Value, PaypalError> {
    let mut body = serde_json::json!({ "final_capture": req.final_capture });
    if let Some(a) = &req.amount {
        body["amount"] = amount_json(a)?;
    }
    if let Some(i) = &req.invoice_id {
        body["invoice_id"] = serde_json::json!(i);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_covers_every_try_its_token_and_every_back_off() {
        let o = ClientOptions::default();
        // 4 attempts + 1 after a refreshed token, each a token request and the POST of
        // (5 s + 30 s); 3 back-offs of at most the 60 s Retry-After cap
        assert_eq!(post_budget(&o), Duration::from_secs(5 * 2 * 35 + 3 * 60));
        let one = ClientOptions { attempts: 1, ..o.clone() };
        assert_eq!(post_budget(&one), Duration::from_secs(2 * 2 * 35));
        let zero = ClientOptions { attempts: 0, ..o.clone() };
        assert_eq!(post_budget(&zero), post_budget(&one), "at least one attempt is made");
        let long_backoff = ClientOptions { backoff_max: Duration::from_secs(90), ..o.clone() };
        assert_eq!(post_budget(&long_backoff), Duration::from_secs(5 * 2 * 35 + 3 * 90));
        // never less than the attempts' own timeouts
        let fast = ClientOptions {
            timeout: Duration::from_millis(200),
            connect_timeout: Duration::from_millis(100),
            attempts: 3,
            ..o
        };
        assert!(post_budget(&fast) >= Duration::from_millis(3 * 300) + 2 * RETRY_AFTER_CAP);
    }

    /// A PayPal that answers the token, and each capture POST with the next of `answers`.
    async fn paypal(answers: Vec<(u16, serde_json::Value)>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        use axum::http::StatusCode;
        use axum::routing::post;
        use std::sync::{Arc, Mutex};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answers = Arc::new(Mutex::new(answers.into_iter()));
        let (s, a) = (Arc::clone(&seen), answers);
        let capture = move |headers: axum::http::HeaderMap| {
            let (seen, answers) = (Arc::clone(&s), Arc::clone(&a));
            async move {
                let id = headers.get("paypal-request-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                seen.lock().expect("seen").push(id);
                let (status, body) = answers.lock().expect("answers").next().expect("an answer scripted");
                // a 429 says when to come back: at once (no hold-off in the tests)
                let retry_after = if status == 429 { vec![("retry-after", "0")] } else { Vec::new() };
                (
                    StatusCode::from_u16(status).expect("status"),
                    axum::response::AppendHeaders(retry_after),
                    axum::Json(body),
                )
            }
        };
        let token = || async { axum::Json(serde_json::json!({ "access_token": "t", "expires_in": 3600 })) };
        let app = axum::Router::new()
            .route("/v1/oauth2/token", post(token))
            .route("/v2/checkout/orders/{id}/capture", post(capture.clone()))
            .route("/v2/payments/authorizations/{id}/capture", post(capture));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    fn client(url: &str) -> PaypalClient {
        let o = ClientOptions {
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(5),
            ..Default::default()
        };
        PaypalClient::new(url, "id", crate::ClientSecret::new("s"), o).expect("client")
    }

    fn error(name: &str, issue: &str) -> serde_json::Value {
        serde_json::json!({ "name": name, "message": "m", "debug_id": "d", "details": [{ "issue": issue }] })
    }

    fn declined_proof(sent: &Sent<Order>) -> Option<crate::RefusalProof> {
        sent.answer.as_ref().err().map(|e| crate::refusal_proof(crate::CaptureCall::Order, e))
    }

    #[tokio::test]
    async fn a_capture_tells_how_many_times_it_left() {
        let declined = (422, error("UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"));
        let unavailable = (503, error("SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"));
        let rid = RequestId::new("r-1").expect("id");
        // answered on the first try
        let (url, seen) = paypal(vec![declined.clone()]).await;
        let sent = client(&url).capture_order_sent("ORDER1", &rid, None).await;
        assert_eq!(declined_proof(&sent), Some(crate::RefusalProof::NothingCaptured), "{:?}", sent.answer);
        assert_eq!((sent.sends, sent.replayed()), (1, false));
        assert_eq!(seen.lock().expect("seen").len(), 1);
        // a 503, then the retry (same request id) declined: two sends, the answer a replay's
        let (url, seen) = paypal(vec![unavailable.clone(), declined.clone()]).await;
        let sent = client(&url).capture_order_sent("ORDER1", &rid, None).await;
        assert_eq!(declined_proof(&sent), Some(crate::RefusalProof::NothingCaptured), "{:?}", sent.answer);
        assert_eq!((sent.sends, sent.replayed()), (2, true));
        assert_eq!(*seen.lock().expect("seen"), vec!["r-1".to_owned(), "r-1".to_owned()]);
        // the same for an authorization, and the plain call gives the same answer
        let (url, _) = paypal(vec![unavailable.clone(), unavailable, declined]).await;
        let req = AuthorizationCaptureRequest { amount: None, invoice_id: None, final_capture: true };
        let sent = client(&url).capture_authorization_sent("AUTH1", &req, &rid, None).await;
        assert_eq!(sent.sends, 3, "{:?}", sent.answer);
        // refused before sending: nothing left
        let sent = client(&url).capture_order_sent("not/an id", &rid, None).await;
        assert!(matches!(sent.answer, Err(PaypalError::NotSent { .. })), "{:?}", sent.answer);
        assert_eq!(sent.sends, 0);
        // nobody listening: no token, so the capture never left
        let sent = client("http://127.0.0.1:9").capture_order_sent("ORDER1", &rid, None).await;
        assert!(sent.answer.is_err());
        assert_eq!(sent.sends, 0, "the token request failed: no capture left");
    }

    /// A try PayPal turned away unprocessed (429 RATE_LIMIT_REACHED; 401, its token refused and
    /// refreshed) is no send that may still land: a decline after it answers the only send.
    #[tokio::test]
    async fn a_try_turned_away_by_a_429_or_a_401_is_no_send() {
        let declined = (422, error("UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"));
        let limited = (429, error("RATE_LIMIT_REACHED", "RATE_LIMIT_REACHED"));
        // PayPal's REST answer to a token it does not take (`error_401`: name, message, debug_id)
        let unauthorized =
            (401, serde_json::json!({ "name": "AUTHENTICATION_FAILURE", "message": "m", "debug_id": "d" }));
        let unavailable = (503, error("SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"));
        // a 429 or 401 without PayPal's own body (a proxy in front of it, which may have passed an
        // earlier copy of the request on): counted
        let proxy_limited = (429, serde_json::json!({ "error": "too many requests" }));
        let proxy_unauthorized = (401, serde_json::json!({ "error": "invalid_token", "error_description": "expired" }));
        let rid = RequestId::new("r-2").expect("id");
        for (script, sends) in [
            (vec![limited.clone(), declined.clone()], 1),
            (vec![unauthorized.clone(), declined.clone()], 1),
            (vec![limited.clone(), unauthorized, limited.clone(), declined.clone()], 1),
            (vec![unavailable, limited, declined.clone()], 2),
            (vec![proxy_limited, declined.clone()], 2),
            (vec![proxy_unauthorized, declined], 2),
        ] {
            let tries = script.len();
            let (url, seen) = paypal(script).await;
            let sent = client(&url).capture_order_sent("ORDER1", &rid, None).await;
            assert_eq!(declined_proof(&sent), Some(crate::RefusalProof::NothingCaptured), "{:?}", sent.answer);
            assert_eq!(seen.lock().expect("seen").len(), tries, "every try made");
            assert_eq!(sent.sends, sends, "tries: {tries}");
        }
    }

    /// A capture given a deadline (the wall clock) sends no try that could end after it: past it
    /// before anything left, nothing is sent (`NotSent`: nothing captured) and the call says it
    /// stopped; a retry whose pace slot comes too late does not leave, and the call answers the
    /// last try's error. A deadline far enough changes nothing.
    #[tokio::test]
    async fn no_try_leaves_that_could_end_after_the_deadline() {
        use std::time::SystemTime;
        let unavailable = (503, error("SERVICE_UNAVAILABLE", "SERVICE_UNAVAILABLE"));
        let declined = (422, error("UNPROCESSABLE_ENTITY", "INSTRUMENT_DECLINED"));
        let rid = RequestId::new("r-3").expect("id");
        let longest = {
            let o = ClientOptions::default();
            o.connect_timeout + o.timeout
        };
        // the deadline passed already: nothing leaves
        let (url, seen) = paypal(vec![declined.clone()]).await;
        let past = SystemTime::now() - Duration::from_secs(1);
        let sent = client(&url).capture_order_sent("ORDER1", &rid, Some(past)).await;
        assert!(matches!(sent.answer, Err(PaypalError::NotSent { .. })), "{:?}", sent.answer);
        assert_eq!((sent.sends, sent.late), (0, true));
        assert!(seen.lock().expect("seen").is_empty(), "no capture left");
        let req = AuthorizationCaptureRequest { amount: None, invoice_id: None, final_capture: true };
        let sent = client(&url).capture_authorization_sent("AUTH1", &req, &rid, Some(past)).await;
        assert!(matches!(sent.answer, Err(PaypalError::NotSent { .. })), "{:?}", sent.answer);
        assert_eq!((sent.sends, sent.late), (0, true));
        assert!(seen.lock().expect("seen").is_empty(), "no capture left");

        // one request a second: the token at once, the capture a second later, its retry two
        // seconds later; the deadline lets a try leave until a second and a half
        let (url, seen) = paypal(vec![unavailable.clone(), declined.clone()]).await;
        let pace = std::sync::Arc::new(pace::Pace::limited(pace::Rate::whole(std::num::NonZeroU16::MIN)));
        let slow = client(&url).with_pace(pace);
        slow.access_token().await.expect("token");
        let leave_by = SystemTime::now() + longest + Duration::from_millis(1500);
        let sent = slow.capture_order_sent("ORDER1", &rid, Some(leave_by)).await;
        assert!(matches!(sent.answer, Err(PaypalError::Server(_))), "the first try's answer: {:?}", sent.answer);
        assert_eq!((sent.sends, sent.late), (1, true));
        assert_eq!(seen.lock().expect("seen").len(), 1, "the retry did not leave");

        // a deadline far enough: as without one
        let (url, seen) = paypal(vec![unavailable, declined]).await;
        let far = SystemTime::now() + 2 * longest;
        let sent = client(&url).capture_order_sent("ORDER1", &rid, Some(far)).await;
        assert_eq!(declined_proof(&sent), Some(crate::RefusalProof::NothingCaptured), "{:?}", sent.answer);
        assert_eq!((sent.sends, sent.late), (2, false));
        assert_eq!(seen.lock().expect("seen").len(), 2);
    }

    #[test]
    fn more_than_one_send_may_be_a_replay() {
        let s = |sends| Sent::<()> { answer: Ok(()), sends, late: false };
        assert!(!s(0).replayed());
        assert!(!s(1).replayed());
        assert!(s(2).replayed());
    }
}
