//! `POST /v1/oauth2/token`: client credentials for an access token. Its errors have OAuth's own
//! shape (`{error, error_description}`), not PayPal's usual one.

use super::{json::time, ok};
use crate::world::Token;
use crate::{read_body, AppState, BODY_LIMIT};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use chrono::Duration;
use serde_json::json;

/// Token lifetime, as PayPal's (about nine hours).
const TOKEN_SECONDS: i64 = 32_400;

pub(super) async fn token(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let auth_error = |status: StatusCode, error: &str, description: &str| {
        ok(status, json!({ "error": error, "error_description": description }))
    };
    let credentials = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = credentials.as_deref().and_then(|c| c.split_once(':')) else {
        return auth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client Authentication failed");
    };
    let expected = state.world().credentials.clone();
    if id != expected.client_id || secret != expected.client_secret {
        return auth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client Authentication failed");
    }
    let Ok(bytes) = read_body(body, BODY_LIMIT).await else {
        return auth_error(StatusCode::BAD_REQUEST, "invalid_request", "Request body unreadable");
    };
    let form = String::from_utf8_lossy(&bytes);
    let grant = form.split('&').filter_map(|kv| kv.split_once('=')).find(|(k, _)| *k == "grant_type").map(|(_, v)| v);
    match grant {
        Some("client_credentials") => {}
        None => return auth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Grant Type is NULL"),
        Some(_) => return auth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "unsupported grant_type"),
    }
    let mut w = state.world();
    let now = w.now();
    w.tokens.retain(|_, t| t.expires_at > now);
    let access_token = format!("A21AA{}", w.new_id(40));
    w.tokens.insert(access_token.clone(), Token { expires_at: now + Duration::seconds(TOKEN_SECONDS) });
    state.mark_dirty();
    ok(
        StatusCode::OK,
        json!({
            "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
            "access_token": access_token,
            "token_type": "Bearer",
            "app_id": "APP-80W284485P519543T",
            "expires_in": TOKEN_SECONDS,
            "nonce": format!("{}{}", time(now), w.new_id(16)),
        }),
    )
}
