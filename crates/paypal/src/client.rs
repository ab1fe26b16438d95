//! HTTP: the OAuth token cache, the endpoints, idempotent POSTs; one call with its tries and
//! retries with back-off is in `client/calls.rs`.

use crate::error::parse_api_error;
use crate::wire::{AuthorizationWire, CaptureWire, OrderWire, RefundWire};
use crate::{Authorization, Capture, Order, PaypalError, Refund};
use calls::{read_limited, transport};
use money::Money;
use pace::Pace;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tracing::Instrument;

mod calls;

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
