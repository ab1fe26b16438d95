//! One API call: its tries (a token, a pace slot, the request), the retries with the same
//! request id and back-off, one token refresh on a 401, and a capture's wall-clock deadline.

use super::{Method, PaypalClient};
use crate::error::parse_api_error;
use crate::sent::{Sent, RETRY_AFTER_CAP};
use crate::PaypalError;
use chrono::Utc;
use serde::de::DeserializeOwned;
use std::time::{Duration, SystemTime};

impl PaypalClient {
    /// One API call with retries (same request id) and one token refresh on a 401.
    pub(super) async fn call<T: DeserializeOwned>(&self, path: &str, method: Method) -> Result<T, PaypalError> {
        self.call_counted(path, method, None).await.answer
    }

    /// [`PaypalClient::call`], and how many tries may have left (see [`Sent::sends`]; the
    /// client's whole budget for them is [`crate::post_budget`]). `leave_by`: no try leaves
    /// unless it would end (`connect_timeout + timeout`) by then, by the wall clock, checked
    /// right before it leaves ([`Sent::late`]).
    pub(crate) async fn call_counted<T: DeserializeOwned>(
        &self,
        path: &str,
        method: Method,
        leave_by: Option<SystemTime>,
    ) -> Sent<T> {
        let mut attempt = 0u32;
        let mut sends = 0u32;
        let mut refreshed = false;
        let mut last: Option<PaypalError> = None;
        loop {
            attempt += 1;
            let err = match self.call_once::<T>(path, &method, &mut sends, leave_by).await {
                Ok(answer) => return Sent { answer: Ok(answer), sends, late: false },
                Err(Try::Late) => {
                    // the last error stands for the tries that left; none left: nothing was sent
                    let answer = match last.filter(|_| sends > 0) {
                        Some(e) => e,
                        None => PaypalError::NotSent {
                            detail: format!("{path}: its deadline passed before the request could leave"),
                        },
                    };
                    tracing::warn!(path, sends, "PayPal call stopped: no try may leave after its deadline");
                    return Sent { answer: Err(answer), sends, late: true };
                }
                Err(Try::Failed(e)) => e,
            };
            match err {
                PaypalError::Unauthorized(api) if !refreshed => {
                    tracing::info!(debug_id = ?api.debug_id, "PayPal refused the token; refreshing it once");
                    refreshed = true;
                    self.forget_token().await;
                    last = Some(PaypalError::Unauthorized(api));
                }
                e if e.is_transient() && attempt < self.options.attempts.max(1) => {
                    let wait = self.backoff(attempt, &e);
                    tracing::warn!(attempt, ?wait, code = e.code(), detail = %e.detail(), path, "PayPal call failed; retrying with the same request id");
                    tokio::time::sleep(wait).await;
                    last = Some(e);
                }
                e => {
                    tracing::warn!(code = e.code(), detail = %e.detail(), path, sends, "PayPal call failed");
                    return Sent { answer: Err(e), sends, late: false };
                }
            }
        }
    }

    fn backoff(&self, attempt: u32, e: &PaypalError) -> Duration {
        if let PaypalError::RateLimited { retry_after: Some(d), .. } = e {
            return (*d).min(RETRY_AFTER_CAP);
        }
        let exp = self.options.backoff_base.saturating_mul(1u32 << (attempt - 1).min(10));
        let jitter_ms = u64::from(Utc::now().timestamp_subsec_millis()) % (exp.as_millis() as u64 / 4 + 1);
        (exp + Duration::from_millis(jitter_ms)).min(self.options.backoff_max)
    }

    /// One try; `sends` counts it once its request is handed to the network. `Try::Late`: it
    /// did not leave, as it could not end by `leave_by`.
    async fn call_once<T: DeserializeOwned>(
        &self,
        path: &str,
        method: &Method,
        sends: &mut u32,
        leave_by: Option<SystemTime>,
    ) -> Result<T, Try> {
        let token = self.access_token().await?;
        let url = format!("{}{}", self.base, path);
        let mut request = match method {
            Method::Get => self.http.get(&url),
            Method::Post(request_id, body) => self
                .http
                .post(&url)
                .header("PayPal-Request-Id", request_id.as_str())
                .header("Prefer", "return=representation")
                .json(body),
        };
        request = request.bearer_auth(token).header("accept", "application/json");
        if let Some(mock) = &self.mock_response {
            request = request.header("PayPal-Mock-Response", mock);
        }
        self.pace.admit().await;
        // the wall clock, read last thing before the request leaves: the waits for the token and
        // the pace (unbounded under a 429's hold-off), and a suspended machine (whose monotonic
        // clock stops), all count
        let longest = self.options.connect_timeout.saturating_add(self.options.timeout);
        if leave_by.is_some_and(|by| SystemTime::now().checked_add(longest).is_none_or(|end| end > by)) {
            return Err(Try::Late);
        }
        *sends += 1;
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status == 429 {
            // the service's limit is everyone's: hold every request back, not only this one's retry
            self.pace.hold_off(retry_after.unwrap_or(Duration::from_secs(1)).min(RETRY_AFTER_CAP));
        }
        let body = read_limited(response, self.options.max_body_bytes).await?;
        if !(200..300).contains(&status) {
            let api = parse_api_error(status, &body);
            if matches!(status, 429 | 401) && api.debug_id.is_some() {
                // PayPal itself (its error answer carries a `debug_id`) turned the request away
                // unprocessed: its rate limit, or a token it did not take. This try is no send
                // that may still land (`Sent::sends`). A 429 or 401 without PayPal's own body
                // (a proxy in front of it, which may have passed an earlier copy on) still counts.
                *sends = sends.saturating_sub(1);
            }
            return Err(Try::Failed(PaypalError::from_api(api, retry_after)));
        }
        serde_json::from_slice(&body)
            .map_err(|e| Try::Failed(PaypalError::InvalidResponse { detail: format!("{path}: {e}") }))
    }
}

/// How one try ended, when it brought no answer to use.
enum Try {
    Failed(PaypalError),
    /// It did not leave: it could not have ended by the call's `leave_by`.
    Late,
}

impl From<PaypalError> for Try {
    fn from(e: PaypalError) -> Self {
        Try::Failed(e)
    }
}

pub(super) fn transport(e: reqwest::Error) -> PaypalError {
    if e.is_timeout() {
        PaypalError::Timeout
    } else {
        PaypalError::Unreachable { detail: e.to_string() }
    }
}

pub(super) async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, PaypalError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(PaypalError::InvalidResponse { detail: format!("response larger than {limit} bytes") });
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(PaypalError::InvalidResponse { detail: format!("response larger than {limit} bytes") });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(PaypalError::Timeout),
            Err(e) => return Err(PaypalError::Unreachable { detail: format!("response cut short: {e}") }),
        }
    }
}
