//! HTTP: timeouts, bounded bodies, retries with back-off for reads.

use crate::wire::{parse_page, read_invoice, refused};
use crate::{GatewayError, Invoice, InvoicePage, UnreadableInvoice};
use chrono::{DateTime, SecondsFormat, Utc};
use pace::Pace;
use reqwest::StatusCode;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// A slot of the pace, taken for one money-moving POST (see [`GatewayClient::slot`]).
#[derive(Debug)]
#[must_use]
pub struct Slot(());

/// The staff bearer token. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into())
    }
    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Timeouts, retry policy and the largest body we read.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts for a read (1 = no retry).
    pub read_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_body_bytes: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            read_attempts: 5,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(10),
            max_body_bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatusFilter {
    Outstanding,
    Paid,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// `GET /api/v1/billing_admin/invoices` parameters.
#[derive(Debug, Clone)]
pub struct InvoiceListQuery {
    pub page: u64,
    pub limit: u64,
    pub status: InvoiceStatusFilter,
    pub updated_since: Option<DateTime<Utc>>,
    /// `invoiceNo`, `dueAt`, `updatedAt`, ...
    pub sort_by: &'static str,
    pub sort_order: SortOrder,
}

impl Default for InvoiceListQuery {
    fn default() -> Self {
        InvoiceListQuery {
            page: 1,
            limit: 100,
            status: InvoiceStatusFilter::Outstanding,
            updated_since: None,
            sort_by: "invoiceNo",
            sort_order: SortOrder::Asc,
        }
    }
}

/// The gateway client. Cheap to clone.
#[derive(Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base: String,
    token: Token,
    options: ClientOptions,
    /// Every request waits for its slot here (shared with the desk's other client).
    pace: Arc<Pace>,
}

impl fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatewayClient").field("base", &self.base).finish_non_exhaustive()
    }
}

impl GatewayClient {
    /// A client for the gateway at `base_url` (e.g. `http://localhost:9000`).
    pub fn new(base_url: &str, token: Token, options: ClientOptions) -> Result<Self, GatewayError> {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(GatewayError::Unreachable { detail: format!("not an http(s) URL: {base_url:?}") });
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("capture-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GatewayError::Unreachable { detail: e.to_string() })?;
        Ok(GatewayClient { http, base, token, options, pace: Arc::new(Pace::unlimited()) })
    }

    /// This client's requests, retries included, are paced by `pace` (which a 429 holds back).
    #[must_use]
    pub fn with_pace(mut self, pace: Arc<Pace>) -> Self {
        self.pace = pace;
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// One page of the staff invoice list.
    pub async fn list_invoices(&self, q: &InvoiceListQuery) -> Result<InvoicePage, GatewayError> {
        let mut params: Vec<(&str, String)> = vec![
            ("page", q.page.to_string()),
            ("limit", q.limit.min(100).to_string()),
            (
                "status",
                match q.status {
                    InvoiceStatusFilter::Outstanding => "outstanding",
                    InvoiceStatusFilter::Paid => "paid",
                    InvoiceStatusFilter::All => "all",
                }
                .to_owned(),
            ),
            ("sortBy", q.sort_by.to_owned()),
            (
                "sortOrder",
                match q.sort_order {
                    SortOrder::Asc => "asc",
                    SortOrder::Desc => "desc",
                }
                .to_owned(),
            ),
        ];
        if let Some(since) = q.updated_since {
            params.push(("updatedSince", since.to_rfc3339_opts(SecondsFormat::Secs, true)));
        }
        let span = tracing::info_span!("gateway.list_invoices", page = q.page, status = ?q.status);
        async {
            let body = self.get("/api/v1/billing_admin/invoices", &params).await?;
            parse_page(&body, q.page)
        }
        .instrument(span)
        .await
    }

    /// One invoice with its payments; one that does not validate is an `InvalidResponse`.
    pub async fn invoice(&self, invoice_no: u64) -> Result<Invoice, GatewayError> {
        self.invoice_or_unreadable(invoice_no).await?.map_err(|u| refused(&u))
    }

    /// One invoice with its payments. The outer error is the gateway's (or an answer that is not
    /// JSON, or is another invoice's); the inner one an answer for this invoice that does not
    /// validate, with why (its `invoice_no` is the one asked for).
    pub async fn invoice_or_unreadable(
        &self,
        invoice_no: u64,
    ) -> Result<Result<Invoice, UnreadableInvoice>, GatewayError> {
        let span = tracing::info_span!("gateway.invoice", invoice_no);
        async {
            let body = self.get(&format!("/api/v1/billing_admin/invoices/{invoice_no}"), &[]).await?;
            let raw: Box<serde_json::value::RawValue> = serde_json::from_slice(&body)
                .map_err(|e| GatewayError::InvalidResponse { detail: format!("invoice {invoice_no}: {e}") })?;
            let read = read_invoice(&raw);
            let answered = match &read {
                Ok(inv) => Some(inv.invoice_no),
                Err(u) => u.invoice_no,
            };
            if let Some(other) = answered.filter(|n| *n != invoice_no) {
                return Err(GatewayError::InvalidResponse {
                    detail: format!("asked for invoice {invoice_no}, got {other}"),
                });
            }
            Ok(read.map_err(|u| UnreadableInvoice { invoice_no: Some(invoice_no), ..u }))
        }
        .instrument(span)
        .await
    }

    /// A GET with retries for transient failures, honouring `Retry-After`.
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>, GatewayError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self.get_once(path, query).await;
            match result {
                Err(e) if e.is_transient() && attempt < self.options.read_attempts.max(1) => {
                    let wait = self.backoff(attempt, &e);
                    tracing::warn!(attempt, ?wait, code = e.code(), detail = %e.detail(), path, "gateway read failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    fn backoff(&self, attempt: u32, e: &GatewayError) -> Duration {
        if let GatewayError::RateLimited { retry_after: Some(d) } = e {
            return (*d).min(Duration::from_secs(60));
        }
        let exp = self.options.backoff_base.saturating_mul(1u32 << (attempt - 1).min(10));
        // jitter: up to a quarter more, from the clock (no randomness dependency needed)
        let jitter_ms = u64::from(Utc::now().timestamp_subsec_millis()) % (exp.as_millis() as u64 / 4 + 1);
        (exp + Duration::from_millis(jitter_ms)).min(self.options.backoff_max)
    }

    async fn get_once(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<u8>, GatewayError> {
        let request = self.http.get(format!("{}{}", self.base, path)).query(query);
        self.send_once(request).await
    }

    /// A POST without side effects (part-process), retried like a read.
    pub(crate) async fn post_with_retries(&self, path: &str, body: String) -> Result<Vec<u8>, GatewayError> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let request = self
                .http
                .post(format!("{}{}", self.base, path))
                .header("content-type", "application/json")
                .body(body.clone());
            match self.send_once(request).await {
                Err(e) if e.is_transient() && attempt < self.options.read_attempts.max(1) => {
                    let wait = self.backoff(attempt, &e);
                    tracing::warn!(attempt, ?wait, code = e.code(), detail = %e.detail(), path, "gateway call failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// The pace's slot for one money-moving POST ([`GatewayClient::finalize_paypal_capture`],
    /// [`GatewayClient::pay_from_wallet`]). Take it **before** journaling the send: the request
    /// then leaves right after the journal says it did, however long the pace held it back
    /// (a resume measures how long a send may still land from that journal time).
    pub async fn slot(&self) -> Slot {
        self.pace.admit().await;
        Slot(())
    }

    /// A POST sent exactly once, in the slot the caller took.
    pub(crate) async fn post_once(&self, _slot: Slot, path: &str, body: String) -> Result<Vec<u8>, GatewayError> {
        let request =
            self.http.post(format!("{}{}", self.base, path)).header("content-type", "application/json").body(body);
        self.send_admitted(request).await
    }

    async fn send_once(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, GatewayError> {
        self.pace.admit().await;
        self.send_admitted(request).await
    }

    async fn send_admitted(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, GatewayError> {
        let response = request
            .bearer_auth(self.token.expose())
            .header("accept", "application/json")
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status == StatusCode::TOO_MANY_REQUESTS {
            // the service's limit is everyone's: hold every request back, not only this one's retry
            self.pace.hold_off(retry_after.unwrap_or(Duration::from_secs(1)).min(Duration::from_secs(60)));
        }
        let body = read_limited(response, self.options.max_body_bytes).await?;
        if status.is_success() {
            return Ok(body);
        }
        Err(error_from(status, &body, retry_after))
    }
}

fn transport(e: reqwest::Error) -> GatewayError {
    if e.is_timeout() {
        GatewayError::Timeout
    } else {
        GatewayError::Unreachable { detail: e.to_string() }
    }
}

/// Reads a body up to `limit` bytes; a body cut short is a transport failure.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, GatewayError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(GatewayError::InvalidResponse { detail: format!("response larger than {limit} bytes") });
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(GatewayError::InvalidResponse {
                        detail: format!("response larger than {limit} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => return Err(GatewayError::Timeout),
            Err(e) => return Err(GatewayError::Unreachable { detail: format!("response cut short: {e}") }),
        }
    }
}

/// The typed error for an error status and its `{message}` body.
fn error_from(status: StatusCode, body: &[u8], retry_after: Option<Duration>) -> GatewayError {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: Option<String>,
    }
    let message = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|b| b.message)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    GatewayError::from_status(status.as_u16(), &message, retry_after)
}
