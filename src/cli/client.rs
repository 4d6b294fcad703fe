//! A small blocking client of a running hub's API, for the commands that take `--hub URL`.

use anyhow::{Context as _, bail};
use serde_json::Value;

/// A hub's base URL and the bearer token to call it with.
pub(crate) struct HubClient {
    base: String,
    token: Option<String>,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// An answer the hub gave: status and JSON body.
pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl HubClient {
    pub(crate) fn new(base: &str, token: Option<String>) -> anyhow::Result<HubClient> {
        Ok(HubClient {
            base: base.trim_end_matches('/').to_string(),
            token,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()?,
        })
    }

    /// Sends a request and returns the answer whatever its status; errors only when the hub
    /// could not be reached or answered something that is not JSON.
    pub(crate) fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        self.runtime.block_on(async {
            let resp = req
                .send()
                .await
                .with_context(|| format!("cannot reach the hub at {}", self.base))?;
            let status = resp.status().as_u16();
            let text = resp.text().await.context("reading the hub's answer")?;
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text)
                    .with_context(|| format!("the hub answered {status} with something not JSON"))?
            };
            Ok(Answer { status, body })
        })
    }

    fn expect_ok(&self, a: Answer) -> anyhow::Result<Value> {
        if (200..300).contains(&a.status) {
            Ok(a.body)
        } else {
            bail!(
                "the hub answered {}: {}",
                a.status,
                a.body["detail"].as_str().unwrap_or("(no detail)")
            )
        }
    }

    pub(crate) fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        let a = self.send(reqwest::Method::GET, path, None)?;
        self.expect_ok(a)
    }

    pub(crate) fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let a = self.send(reqwest::Method::POST, path, Some(body))?;
        self.expect_ok(a)
    }

    pub(crate) fn delete(&self, path: &str) -> anyhow::Result<Value> {
        let a = self.send(reqwest::Method::DELETE, path, None)?;
        self.expect_ok(a)
    }
}
