//! A small blocking client of a running hub's API, for the commands that take `--hub URL`.

use anyhow::{Context as _, bail};
use serde_json::Value;

/// A hub's base URL and the bearer token to call it with.
pub(crate) struct HubClient {
    base: String,
    token: Option<String>,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    http_stream: reqwest::Client,
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
            // Exports of a large log take longer than a minute: only connecting is bounded.
            http_stream: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
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
        self.answer(req)
    }

    /// Sends a request and reads the answer as JSON (empty: null).
    fn answer(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Answer> {
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

    pub(crate) fn put_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let a = self.send(reqwest::Method::PUT, path, Some(body))?;
        self.expect_ok(a)
    }

    /// PUTs a text body (e.g. a TOML policy) and expects a JSON answer.
    pub(crate) fn put_text(&self, path: &str, text: &str) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self
            .http
            .put(&url)
            .header("content-type", "application/toml")
            .body(text.to_string());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let a = self.answer(req)?;
        self.expect_ok(a)
    }

    pub(crate) fn delete(&self, path: &str) -> anyhow::Result<Value> {
        let a = self.send(reqwest::Method::DELETE, path, None)?;
        self.expect_ok(a)
    }

    /// GETs a path and writes the body, as it arrives, to `out`; `progress` gets the bytes
    /// written so far.
    pub(crate) fn get_to(
        &self,
        path: &str,
        out: &mut dyn std::io::Write,
        mut progress: impl FnMut(u64),
    ) -> anyhow::Result<()> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http_stream.get(&url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        self.runtime.block_on(async {
            let mut resp = req
                .send()
                .await
                .with_context(|| format!("cannot reach the hub at {}", self.base))?;
            let status = resp.status().as_u16();
            if !(200..300).contains(&status) {
                let text = resp.text().await.unwrap_or_default();
                let detail = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["detail"].as_str().map(str::to_string))
                    .unwrap_or(text);
                bail!("the hub answered {status}: {detail}");
            }
            let mut written = 0u64;
            while let Some(chunk) = resp.chunk().await.context("reading the hub's answer")? {
                out.write_all(&chunk).context("writing the output")?;
                written += chunk.len() as u64;
                progress(written);
            }
            out.flush().context("writing the output")?;
            Ok(())
        })
    }

    /// GETs a path whose answer is text.
    pub(crate) fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let mut out = Vec::new();
        self.get_to(path, &mut out, |_| {})?;
        String::from_utf8(out).context("the hub's answer is not UTF-8")
    }
}
