//! Fault injection and the request-rate limit, applied to every API route.
//!
//! `{"default": F, "routes": {"POST /v2/checkout/orders/{id}/capture": F}}` where F is any of
//! * `latency_ms`: every request waits this long;
//! * `error_rate` (0..=1) and `error_status` (default 500): an error in the API's own shape,
//!   before anything happens;
//! * `rate_limit_rate`: a 429 with `Retry-After`, before anything happens;
//! * `drop_after_commit_rate`: the request acts, then its connection drops (POSTs);
//! * `error_after_commit_rate`, `error_after_commit_status` (400 or 422, default 422) and
//!   `error_after_commit_issue` (default `UNPROCESSABLE_ENTITY` / `INVALID_REQUEST`): a POST
//!   acts (a capture happens), then answers an error whose issue is on no documented list
//!   (never the OAuth token request, whose 400 means the request itself was refused);
//! * `in_progress_ms`: a PayPal POST with a `PayPal-Request-Id` stays in progress this long
//!   before it acts; another request with the same key meanwhile gets PayPal's 409
//!   `PREVIOUS_REQUEST_IN_PROGRESS`; the first then acts and answers, even when its caller has
//!   gone (`POST /__sandbox/in-progress/release` ends every wait at once,
//!   `GET /__sandbox/in-progress` lists the keys held);
//! * `minimal_answer_rate`: a PayPal POST answers as if it had sent `Prefer: return=minimal`
//!   (the order capture in the reference example's shape, whatever the caller preferred);
//! * `outage_after_commit_ms`: once a POST acted, its API (the gateway or PayPal) is down for
//!   this long: every request to it answers 503, until the time is up or faults are set again
//!   (the answer of a capture is lost, and so is every way to read what happened, for a while).
//!
//! Rolls are drawn per request target from a generator seeded by the sandbox's seed.

mod bucket;
mod stats;

use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
pub use bucket::Bucket;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
pub(crate) use stats::Stats;
use std::collections::BTreeMap;
use std::time::Duration;

/// Faults for one route (or the default for all).
/// A probability in 0..=1, read exactly from a JSON number (`0.1`, `1`, `2.5e-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate(pub Decimal);

impl Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = serde_json::value::RawValue::from_string(self.0.normalize().to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        let parsed =
            if text.contains(['e', 'E']) { Decimal::from_scientific(text).ok() } else { text.parse::<Decimal>().ok() };
        parsed
            .filter(|_| !text.starts_with('"'))
            .map(Rate)
            .ok_or_else(|| serde::de::Error::custom(format!("{text} is not a number")))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_after_commit_rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_after_commit_rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_after_commit_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_after_commit_issue: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_progress_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimal_answer_rate: Option<Rate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_after_commit_ms: Option<u64>,
}

/// The whole fault configuration; `{}` means no faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Fault>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub routes: BTreeMap<String, Fault>,
}

impl FaultConfig {
    /// Checks rates are within 0..=1 and route keys read `METHOD /path`.
    pub fn validate(&self) -> Result<(), String> {
        let check = |f: &Fault, at: &str| -> Result<(), String> {
            for (name, rate) in [
                ("error_rate", f.error_rate),
                ("rate_limit_rate", f.rate_limit_rate),
                ("drop_after_commit_rate", f.drop_after_commit_rate),
                ("error_after_commit_rate", f.error_after_commit_rate),
                ("minimal_answer_rate", f.minimal_answer_rate),
            ] {
                if let Some(Rate(r)) = rate {
                    if r < Decimal::ZERO || r > Decimal::ONE {
                        return Err(format!("{at}: {name} must be between 0 and 1"));
                    }
                }
            }
            if let Some(s) = f.error_status {
                if !(400..=599).contains(&s) {
                    return Err(format!("{at}: error_status must be 400..=599"));
                }
            }
            if let Some(s) = f.error_after_commit_status {
                if s != 400 && s != 422 {
                    return Err(format!("{at}: error_after_commit_status must be 400 or 422"));
                }
            }
            if f.in_progress_ms.is_some_and(|ms| ms > 600_000) {
                return Err(format!("{at}: in_progress_ms is at most 600000"));
            }
            if f.outage_after_commit_ms.is_some_and(|ms| ms > 600_000) {
                return Err(format!("{at}: outage_after_commit_ms is at most 600000"));
            }
            Ok(())
        };
        if let Some(d) = &self.default {
            check(d, "default")?;
        }
        for (k, f) in &self.routes {
            let Some((method, path)) = k.split_once(' ') else {
                return Err(format!("route {k:?} must read \"METHOD /path\""));
            };
            if method.is_empty() || !path.starts_with('/') {
                return Err(format!("route {k:?} must read \"METHOD /path\""));
            }
            check(f, k)?;
        }
        Ok(())
    }

    /// The fault for a request: the first matching route, else the default.
    fn for_request(&self, method: &str, path: &str) -> Option<&Fault> {
        self.routes
            .iter()
            .find(|(k, _)| {
                k.split_once(' ').is_some_and(|(m, p)| m.eq_ignore_ascii_case(method) && path_matches(p, path))
            })
            .map(|(_, f)| f)
            .or(self.default.as_ref())
    }
}

/// `/v2/checkout/orders/{id}/capture` matches `/v2/checkout/orders/5O19/capture`.
fn path_matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let a: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    p.len() == a.len()
        && p.iter().zip(&a).all(|(p, a)| (p.starts_with('{') && p.ends_with('}') && !a.is_empty()) || p == a)
}

/// The fault generator of one request target (`METHOD /path`): FNV-1a of the target, mixed
/// with the seed.
fn chaos_generator(seed: u64, target: &str) -> crate::world::Rng {
    let hash = target.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3));
    crate::world::Rng::new(seed.wrapping_add(0xC4A05) ^ hash)
}

/// Which API a path belongs to, for the error body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Gateway,
    Paypal,
}

fn side(path: &str) -> Side {
    if path.starts_with("/api/") {
        Side::Gateway
    } else {
        Side::Paypal
    }
}

/// An error in the API's own shape, for a fault or the rate limit.
pub(crate) fn injected_error(path: &str, status: StatusCode) -> Response {
    match side(path) {
        Side::Gateway => crate::gateway::error(
            status,
            match status.as_u16() {
                429 => "Too Many Requests",
                500 => "Unxepected Error: injected by the sandbox",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                504 => "Gateway Timeout",
                401 => "Unauthorized",
                403 => "Request blocked by traffic guard",
                404 => "Not Found",
                _ => "Injected error",
            },
        ),
        Side::Paypal => crate::paypal::errors::injected(status),
    }
}

fn too_many(path: &str) -> Response {
    let mut r = injected_error(path, StatusCode::TOO_MANY_REQUESTS);
    r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    r
}

/// The middleware: counts the request, then the rate limit and the route's faults around the
/// real handler; an answer 429 (the bucket, a fault, a mocked `RATE_LIMIT_REACHED`) is counted
/// as rate-limited.
pub(crate) async fn apply(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let target = format!("{} {}", req.method().as_str(), req.uri().path());
    state.stats.lock().unwrap_or_else(|p| p.into_inner()).received(target);
    let response = limit_and_fault(&state, req, next).await;
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        state.stats.lock().unwrap_or_else(|p| p.into_inner()).rate_limited();
    }
    response
}

async fn limit_and_fault(state: &AppState, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let target = format!("{method} {path}");
    if state.limiter.lock().unwrap_or_else(|p| p.into_inner()).take().is_err() {
        return too_many(&path);
    }
    let down = {
        let mut outage = state.outage.lock().unwrap_or_else(|p| p.into_inner());
        match *outage {
            Some((s, until)) if s == side(&path) && tokio::time::Instant::now() < until => true,
            Some((_, until)) if tokio::time::Instant::now() >= until => {
                *outage = None;
                false
            }
            _ => false,
        }
    };
    if down {
        return injected_error(&path, StatusCode::SERVICE_UNAVAILABLE);
    }
    // PayPal's idempotency: a key whose first request is still in progress gets a 409
    let held = (method == "POST" && side(&path) == Side::Paypal)
        .then(|| req.headers().get("paypal-request-id").and_then(|v| v.to_str().ok()).map(|k| format!("{path}|{k}")))
        .flatten();
    if held.as_ref().is_some_and(|k| state.in_progress.lock().unwrap_or_else(|p| p.into_inner()).contains_key(k)) {
        return crate::paypal::errors::in_progress(crate::paypal::errors::Endpoint::OrderCapture);
    }
    let fault = state.faults.lock().unwrap_or_else(|p| p.into_inner()).for_request(&method, &path).cloned();
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    if let Some(ms) = fault.latency_ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    let rolls = {
        // each target has its own generator keyed on the seed: what one request rolls does not
        // depend on what concurrent requests to other targets rolled, so a seed replays exactly
        let mut generators = state.chaos.lock().unwrap_or_else(|p| p.into_inner());
        let rng = generators.entry(target).or_insert_with_key(|t| chaos_generator(state.config.seed, t));
        let mut roll = |p: Option<Rate>| p.is_some_and(|p| rng.chance_dec(p.0));
        Rolls {
            limited: roll(fault.rate_limit_rate),
            failed: roll(fault.error_rate),
            dropped: roll(fault.drop_after_commit_rate),
            error_after: roll(fault.error_after_commit_rate),
            minimal: roll(fault.minimal_answer_rate),
        }
    };
    if rolls.limited {
        return too_many(&path);
    }
    if rolls.failed {
        let status =
            StatusCode::from_u16(fault.error_status.unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return injected_error(&path, status);
    }
    let paypal_post = method == "POST" && side(&path) == Side::Paypal;
    if rolls.minimal && paypal_post {
        req.headers_mut().insert("prefer", HeaderValue::from_static("return=minimal"));
    }
    let response = match (held, fault.in_progress_ms.filter(|_| paypal_post)) {
        (Some(key), Some(ms)) => hold(state, key, ms, req, next).await,
        _ => next.run(req).await,
    };
    if let Some(ms) = fault.outage_after_commit_ms.filter(|_| method != "GET" && response.status().is_success()) {
        tracing::debug!(%method, %path, ms, "the API goes down after the state change");
        *state.outage.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((side(&path), tokio::time::Instant::now() + Duration::from_millis(ms)));
    }
    // issuing an OAuth token changes nothing a caller could lose: it never answers an error after
    if rolls.error_after && method != "GET" && path != OAUTH_TOKEN && response.status().is_success() {
        tracing::debug!(%method, %path, "answering an undocumented error after the state change");
        return error_after_commit(&path, &fault);
    }
    if rolls.dropped && method != "GET" {
        tracing::debug!(%method, %path, "dropping the connection after the state change");
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        let body = Body::from_stream(futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "dropped by the sandbox",
            ))
        }));
        return Response::from_parts(parts, body).into_response();
    }
    response
}

/// PayPal's OAuth token endpoint.
const OAUTH_TOKEN: &str = "/v1/oauth2/token";

struct Rolls {
    limited: bool,
    failed: bool,
    dropped: bool,
    error_after: bool,
    minimal: bool,
}

/// Keeps a request in progress under `key` for `ms` (or until released), then lets it act. It
/// acts in a task of its own: a caller that gave up does not stop it.
async fn hold(state: &AppState, key: String, ms: u64, req: Request, next: Next) -> Response {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    {
        let mut held = state.in_progress.lock().unwrap_or_else(|p| p.into_inner());
        // a request with the same key came in since the first look
        if held.contains_key(&key) {
            return crate::paypal::errors::in_progress(crate::paypal::errors::Endpoint::OrderCapture);
        }
        held.insert(key.clone(), Some(release));
    }
    let (done, answer) = tokio::sync::oneshot::channel::<Response>();
    let shared = state.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
            _ = released => {}
        }
        let response = next.run(req).await;
        shared.in_progress.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        let _ = done.send(response);
    });
    answer.await.unwrap_or_else(|_| injected_error("/v2/", StatusCode::INTERNAL_SERVER_ERROR))
}

/// An error on no documented list, in the API's own shape, for a request that did act.
fn error_after_commit(path: &str, fault: &Fault) -> Response {
    let status = StatusCode::from_u16(fault.error_after_commit_status.unwrap_or(422))
        .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    match side(path) {
        Side::Gateway => crate::gateway::error(status, "Unxepected Error: injected after the change by the sandbox"),
        Side::Paypal => {
            let issue = fault.error_after_commit_issue.clone().unwrap_or_else(|| {
                if status == StatusCode::BAD_REQUEST { "INVALID_REQUEST" } else { "UNPROCESSABLE_ENTITY" }.to_owned()
            });
            crate::paypal::errors::undocumented(status, &issue)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_match_ids() {
        assert!(path_matches("/v2/checkout/orders/{id}/capture", "/v2/checkout/orders/ABC/capture"));
        assert!(!path_matches("/v2/checkout/orders/{id}/capture", "/v2/checkout/orders/ABC"));
        assert!(path_matches("/api/v1/billing/invoice/paypal/capture", "/api/v1/billing/invoice/paypal/capture"));
    }

    #[test]
    fn config_parses_and_validates() {
        let c: FaultConfig = serde_json::from_str(
            r#"{"default":{"latency_ms":20,"error_rate":0.1,"error_status":503},"routes":{"POST /v2/checkout/orders/{id}/capture":{"drop_after_commit_rate":1}}}"#,
        )
        .expect("parses");
        assert!(c.validate().is_ok());
        assert_eq!(
            c.for_request("POST", "/v2/checkout/orders/X/capture").and_then(|f| f.drop_after_commit_rate),
            Some(Rate(Decimal::ONE))
        );
        assert_eq!(c.for_request("GET", "/v2/checkout/orders/X").and_then(|f| f.latency_ms), Some(20));
        let bad: FaultConfig = serde_json::from_str(r#"{"default":{"error_rate":2}}"#).expect("parses");
        assert!(bad.validate().is_err());
        assert!(serde_json::from_str::<FaultConfig>(r#"{"default":{"typo":1}}"#).is_err());
        assert_eq!(serde_json::from_str::<FaultConfig>("{}").expect("empty"), FaultConfig::default());
    }

    #[test]
    fn each_target_replays_its_own_faults() {
        let rolls = |seed, target: &str| {
            let mut r = chaos_generator(seed, target);
            (0..64).map(|_| r.chance(500)).collect::<Vec<_>>()
        };
        assert_eq!(rolls(7, "POST /v2/checkout/orders/A/capture"), rolls(7, "POST /v2/checkout/orders/A/capture"));
        assert_ne!(rolls(7, "POST /v2/checkout/orders/A/capture"), rolls(7, "POST /v2/checkout/orders/B/capture"));
        assert_ne!(rolls(7, "POST /v2/checkout/orders/A/capture"), rolls(8, "POST /v2/checkout/orders/A/capture"));
    }
}
