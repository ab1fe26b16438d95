//! HTTP: the OAuth token cache, idempotent POSTs, retries with back-off.

use crate::error::parse_api_error;
use crate::sent::{Sent, RETRY_AFTER_CAP};
use crate::wire::{AuthorizationWire, CaptureWire, OrderWire, RefundWire};
use crate::{Authorization, Capture, Order, PaypalError, Refund};
use chrono::Utc;
use money::Money;
use pace::Pace;
use serde::de::DeserializeOwned;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::Mutex;
use tracing::Instrument;

/// The REST app's secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(s: impl Into<String>) -> Self {
        ClientSecret(s.into())
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// A `PayPal-Request-Id`: chosen by the caller (derived from its journal entry) and reused on
/// every retry of the same operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// 1 to 108 printable ASCII characters, as PayPal allows.
    pub fn new(id: impl Into<String>) -> Result<Self, PaypalError> {
        let id = id.into();
        if id.is_empty() || id.len() > 108 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(PaypalError::NotSent { detail: format!("not a usable PayPal-Request-Id: {id:?}") });
        }
        Ok(RequestId(id))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts for a GET, and for a POST (the same request id each time).
    pub attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_body_bytes: usize,
    /// Refresh the token this long before PayPal says it expires.
    pub token_margin: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            attempts: 4,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(10),
            max_body_bytes: 4 * 1024 * 1024,
            token_margin: Duration::from_secs(300),
        }
    }
}

struct CachedToken {
    token: String,
    refresh_at: Instant,
}

/// The PayPal client. Share it (behind an `Arc`) so the token cache is shared.
pub struct PaypalClient {
    http: reqwest::Client,
    base: String,
    client_id: String,
    secret: ClientSecret,
    options: ClientOptions,
    token: Mutex<Option<CachedToken>>,
    mock_response: Option<String>,
    /// Every request (the OAuth token's too) waits for its slot here (shared with the desk's
    /// other client).
    pace: Arc<Pace>,
}

impl fmt::Debug for PaypalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaypalClient")
            .field("base", &self.base)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

pub(crate) enum Method {
    Get,
    Post(RequestId, serde_json::Value),
}

impl PaypalClient {
    pub fn new(
        base_url: &str,
        client_id: &str,
        secret: ClientSecret,
        options: ClientOptions,
    ) -> Result<Self, PaypalError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PaypalError::Unreachable { detail: format!("not an http(s) URL: {base_url:?}") });
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("capture-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PaypalError::Unreachable { detail: e.to_string() })?;
        Ok(PaypalClient {
            http,
            base,
            client_id: client_id.to_owned(),
            secret,
            options,
            token: Mutex::new(None),
            pace: Arc::new(Pace::unlimited()),
            mock_response: None,
        })
    }

    /// A client whose every API call asks for this negative-testing issue
    /// (`PayPal-Mock-Response: {"mock_application_codes": ISSUE}`); for sandbox tests only.
    /// This client's requests, retries and token requests included, are paced by `pace` (which
    /// a 429 holds back).
    #[must_use]
    pub fn with_pace(mut self, pace: Arc<Pace>) -> Self {
        self.pace = pace;
        self
    }

    pub fn with_mock_response(mut self, issue: &str) -> Self {
        self.mock_response = Some(serde_json::json!({ "mock_application_codes": issue }).to_string());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Gets (or refreshes) an access token; also a cheap "test connection".
    pub async fn access_token(&self) -> Result<String, PaypalError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.token.clone());
        }
        let fresh = self.fetch_token().instrument(tracing::info_span!("paypal.oauth_token")).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn fetch_token(&self) -> Result<CachedToken, PaypalError> {
        #[derive(serde::Deserialize)]
        struct TokenWire {
            access_token: String,
            expires_in: u64,
        }
        self.pace.admit().await;
        let started = Instant::now();
        let response = self
            .http
            .post(format!("{}/v1/oauth2/token", self.base))
            .basic_auth(&self.client_id, Some(&self.secret.0))
            .header("accept", "application/json")
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        if status == 429 {
            self.pace.hold_off(Duration::from_secs(1));
        }
        let body = read_limited(response, self.options.max_body_bytes).await?;
        if status == 401 || status == 400 {
            let api = parse_api_error(status, &body);
            return Err(PaypalError::AuthFailed { error: api.name, description: api.message });
        }
        if !(200..300).contains(&status) {
            return Err(PaypalError::from_api(parse_api_error(status, &body), None));
        }
        let t: TokenWire = serde_json::from_slice(&body)
            .map_err(|e| PaypalError::InvalidResponse { detail: format!("token: {e}") })?;
        if t.access_token.is_empty() {
            return Err(PaypalError::InvalidResponse { detail: "empty access_token".into() });
        }
        let lifetime = Duration::from_secs(t.expires_in).saturating_sub(self.options.token_margin);
        Ok(CachedToken { token: t.access_token, refresh_at: started + lifetime })
    }

    pub async fn get_order(&self, id: &str) -> Result<Order, PaypalError> {
        let span = tracing::info_span!("paypal.get_order", order_id = id);
        self.call::<OrderWire>(&format!("/v2/checkout/orders/{}", path_id(id)?), Method::Get)
            .instrument(span)
            .await?
            .typed()
    }

    /// Turns an approved order (intent AUTHORIZE) into an authorization.
    pub async fn authorize_order(&self, id: &str, request_id: &RequestId) -> Result<Order, PaypalError> {
        let span = tracing::info_span!("paypal.authorize_order", order_id = id, request_id = request_id.as_str());
        let path = format!("/v2/checkout/orders/{}/authorize", path_id(id)?);
        self.call::<OrderWire>(&path, Method::Post(request_id.clone(), serde_json::json!({})))
            .instrument(span)
            .await?
            .typed()
    }

    pub async fn get_authorization(&self, id: &str) -> Result<Authorization, PaypalError> {
        let span = tracing::info_span!("paypal.get_authorization", authorization_id = id);
        self.call::<AuthorizationWire>(&format!("/v2/payments/authorizations/{}", path_id(id)?), Method::Get)
            .instrument(span)
            .await?
            .typed()
    }

    pub async fn void_authorization(&self, id: &str, request_id: &RequestId) -> Result<Authorization, PaypalError> {
        let span =
            tracing::info_span!("paypal.void_authorization", authorization_id = id, request_id = request_id.as_str());
        let path = format!("/v2/payments/authorizations/{}/void", path_id(id)?);
        self.call::<AuthorizationWire>(&path, Method::Post(request_id.clone(), serde_json::json!({})))
            .instrument(span)
            .await?
            .typed()
    }

    /// Reauthorizes an authorization past its 3-day honour period (`amount`: `None` is the
    /// original's): PayPal answers a new authorization, with a new id, which is the one to capture.
    /// Refusals: [`PaypalError::ReauthorizationTooSoon`], [`PaypalError::ReauthorizationNotSupported`]
    /// (already reauthorized, or a reauthorization), `AuthorizationExpired`, `AuthorizationVoided`,
    /// `AuthorizationAlreadyCaptured`, `CurrencyMismatch`; a retry with the same `request_id`
    /// answers the same new authorization.
    pub async fn reauthorize_authorization(
        &self,
        id: &str,
        amount: Option<&Money>,
        request_id: &RequestId,
    ) -> Result<Authorization, PaypalError> {
        let span = tracing::info_span!(
            "paypal.reauthorize_authorization",
            authorization_id = id,
            request_id = request_id.as_str()
        );
        let body = match amount {
            Some(a) => serde_json::json!({ "amount": amount_json(a)? }),
            None => serde_json::json!({}),
        };
        let path = format!("/v2/payments/authorizations/{}/reauthorize", path_id(id)?);
        self.call::<AuthorizationWire>(&path, Method::Post(request_id.clone(), body)).instrument(span).await?.typed()
    }

    pub async fn get_capture(&self, id: &str) -> Result<Capture, PaypalError> {
        let span = tracing::info_span!("paypal.get_capture", capture_id = id);
        self.call::<CaptureWire>(&format!("/v2/payments/captures/{}", path_id(id)?), Method::Get)
            .instrument(span)
            .await?
            .typed()
    }

    /// Refunds a capture (all of it, or `amount`).
    pub async fn refund_capture(
        &self,
        id: &str,
        amount: Option<&Money>,
        request_id: &RequestId,
    ) -> Result<Refund, PaypalError> {
        let span = tracing::info_span!("paypal.refund_capture", capture_id = id, request_id = request_id.as_str());
        let body = match amount {
            Some(a) => serde_json::json!({ "amount": amount_json(a)? }),
            None => serde_json::json!({}),
        };
        let path = format!("/v2/payments/captures/{}/refund", path_id(id)?);
        self.call::<RefundWire>(&path, Method::Post(request_id.clone(), body)).instrument(span).await?.typed()
    }

    /// One API call with retries (same request id) and one token refresh on a 401.
    async fn call<T: DeserializeOwned>(&self, path: &str, method: Method) -> Result<T, PaypalError> {
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
        if status == 429 || status == 401 {
            // PayPal turned the request away unprocessed (its rate limit, or a token it did not
            // take): this try is no send that may still land (`Sent::sends`)
            *sends = sends.saturating_sub(1);
        }
        let body = read_limited(response, self.options.max_body_bytes).await?;
        if !(200..300).contains(&status) {
            let api = parse_api_error(status, &body);
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

/// PayPal's `money`, with PayPal's digits; an amount finer than those is never sent (nor rounded).
pub(crate) fn amount_json(m: &Money) -> Result<serde_json::Value, PaypalError> {
    let value = m.paypal_value().map_err(|e| PaypalError::NotSent { detail: e.to_string() })?;
    Ok(serde_json::json!({ "currency_code": m.currency().code(), "value": value }))
}

/// Ids go into URL paths: only PayPal's id alphabet.
pub(crate) fn path_id(id: &str) -> Result<&str, PaypalError> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(PaypalError::NotSent { detail: format!("{id:?} is not a PayPal id") });
    }
    Ok(id)
}

fn transport(e: reqwest::Error) -> PaypalError {
    if e.is_timeout() {
        PaypalError::Timeout
    } else {
        PaypalError::Unreachable { detail: e.to_string() }
    }
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, PaypalError> {
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
