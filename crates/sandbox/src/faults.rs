//! Fault injection and the request-rate limit, applied to every API route.
//!
//! `{"default": F, "routes": {"POST /v2/checkout/orders/{id}/capture": F}}` where F is
//! `{"latency_ms", "error_rate", "error_status", "rate_limit_rate", "drop_after_commit_rate"}`.

use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

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

/// A token bucket over all API requests.
pub struct Bucket {
    per_second: u32,
    /// Millitokens, so the bucket needs no floating point.
    millitokens: u64,
    last: Instant,
}

impl Bucket {
    pub fn new(per_second: u32) -> Self {
        Bucket { per_second, millitokens: u64::from(per_second) * 2000, last: Instant::now() }
    }

    /// Takes one token; `Err(seconds to wait)` when empty.
    fn take(&mut self) -> Result<(), u64> {
        if self.per_second == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let elapsed_ms = u64::try_from(now.duration_since(self.last).as_millis()).unwrap_or(u64::MAX);
        self.last = now;
        let cap = u64::from(self.per_second) * 2000; // burst: two seconds' worth
        self.millitokens =
            (self.millitokens.saturating_add(elapsed_ms.saturating_mul(u64::from(self.per_second)))).min(cap);
        if self.millitokens >= 1000 {
            self.millitokens -= 1000;
            Ok(())
        } else {
            Err(1)
        }
    }
}

/// Which API a path belongs to, for the error body's shape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
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
        Side::Paypal => {
            let (name, issue, message) = match status.as_u16() {
                429 => ("RATE_LIMIT_REACHED", None, "Too many requests. Blocked due to rate limiting."),
                500 => ("INTERNAL_SERVER_ERROR", Some("INTERNAL_SERVER_ERROR"), "An internal server error has occurred."),
                503 => ("SERVICE_UNAVAILABLE", Some("SERVICE_UNAVAILABLE"), "Service Unavailable."),
                401 => ("AUTHENTICATION_FAILURE", None, "Authentication failed due to invalid authentication credentials or a missing Authorization header."),
                403 => ("NOT_AUTHORIZED", Some("PERMISSION_DENIED"), "Authorization failed due to insufficient permissions."),
                404 => ("RESOURCE_NOT_FOUND", Some("INVALID_RESOURCE_ID"), "The specified resource does not exist."),
                _ => ("INTERNAL_SERVER_ERROR", None, "Injected error."),
            };
            crate::paypal::error(status, name, message, issue.map(|i| (i, message)))
        }
    }
}

fn too_many(path: &str) -> Response {
    let mut r = injected_error(path, StatusCode::TOO_MANY_REQUESTS);
    r.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    r
}

/// The middleware: rate limit, then the route's faults around the real handler.
pub(crate) async fn apply(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    if state.limiter.lock().unwrap_or_else(|p| p.into_inner()).take().is_err() {
        return too_many(&path);
    }
    let fault = state.faults.lock().unwrap_or_else(|p| p.into_inner()).for_request(&method, &path).cloned();
    let Some(fault) = fault else {
        return next.run(req).await;
    };
    if let Some(ms) = fault.latency_ms.filter(|ms| *ms > 0) {
        tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    }
    let (limited, failed, dropped) = {
        let mut rng = state.chaos.lock().unwrap_or_else(|p| p.into_inner());
        let mut roll = |p: Option<Rate>| p.is_some_and(|p| rng.chance_dec(p.0));
        (roll(fault.rate_limit_rate), roll(fault.error_rate), roll(fault.drop_after_commit_rate))
    };
    if limited {
        return too_many(&path);
    }
    if failed {
        let status =
            StatusCode::from_u16(fault.error_status.unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return injected_error(&path, status);
    }
    let response = next.run(req).await;
    if dropped && method != "GET" {
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
    fn bucket_limits_and_refills() {
        let mut b = Bucket::new(2);
        let granted = (0..10).filter(|_| b.take().is_ok()).count();
        assert_eq!(granted, 4, "burst of two seconds' worth");
        assert!(Bucket::new(0).take().is_ok());
    }
}
