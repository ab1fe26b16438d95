//! The sandbox over HTTP, as a client of the published APIs would see it.

mod clock;
mod control;
mod gateway;
mod openapi;
mod paypal;
mod realism;
mod reauthorize;
mod shapes;
mod stats;

use sandbox::{Config, Sandbox};
use serde_json::Value;

pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

pub async fn start(config: Config) -> (Sandbox, Http) {
    let sb = Sandbox::start(config, "127.0.0.1:0".parse().expect("addr")).await.expect("sandbox");
    let http = Http { base: sb.base_url(), client: reqwest::Client::new() };
    (sb, http)
}

pub async fn quiet() -> (Sandbox, Http) {
    start(Config { rate_limit: 0, ..Config::default() }).await
}

impl Http {
    /// (status, JSON body or Null)
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut r = self.client.request(method.parse().expect("method"), format!("{}{}", self.base, path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b.to_owned());
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn gw(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        self.send(method, path, Some("demo-staff-token"), body, &[]).await
    }

    pub async fn paypal_token(&self) -> String {
        let r = self
            .client
            .post(format!("{}/v1/oauth2/token", self.base))
            .basic_auth("demo-client-id", Some("demo-client-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .expect("token");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("json");
        v["access_token"].as_str().expect("access_token").to_owned()
    }
}

pub fn message(v: &Value) -> &str {
    v["message"].as_str().unwrap_or("")
}

pub fn issue(v: &Value) -> &str {
    v["details"][0]["issue"].as_str().unwrap_or("")
}
