//! The national portal's receiving end, simulated: takes `DongBoHoSoMC` bodies, answers
//! `{"error_code": "0"}`, applies each `Idempotency-Key` once, checks that the status events of
//! each dossier arrive in order, and can be told to go down (503) and come back
//! (`POST /dvcqg/_down`, `/dvcqg/_up`), or to fail a share of requests (500). `GET
//! /dvcqg/_report` says what it has seen.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the portal has seen.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Report {
    /// Deliveries received (each attempt that reached it while up).
    pub received: usize,
    /// Distinct idempotency keys applied.
    pub applied: usize,
    /// Deliveries of a key already applied (ignored, as the key asks).
    pub repeats: usize,
    /// Requests refused while down.
    pub refused_while_down: usize,
    /// Requests answered 500 on purpose (`error_rate`).
    pub failed_on_purpose: usize,
    /// Status events that arrived before an earlier event of the same dossier.
    pub out_of_order: usize,
}

/// Keys and dossiers are kept in shards, each behind its own lock, so that a load run's
/// millions of keys never stall every request at once while a table grows.
const SHARDS: usize = 64;

#[derive(Default)]
struct Shard {
    /// Applied idempotency keys.
    keys: HashSet<String>,
    /// Per dossier, the number of the last event applied.
    last_event: HashMap<String, u64>,
}

struct Inner {
    shards: Vec<Mutex<Shard>>,
    received: AtomicU64,
    applied: AtomicU64,
    repeats: AtomicU64,
    refused_while_down: AtomicU64,
    failed_on_purpose: AtomicU64,
    out_of_order: AtomicU64,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            received: AtomicU64::new(0),
            applied: AtomicU64::new(0),
            repeats: AtomicU64::new(0),
            refused_while_down: AtomicU64::new(0),
            failed_on_purpose: AtomicU64::new(0),
            out_of_order: AtomicU64::new(0),
        }
    }
}

impl Inner {
    fn shard(&self, key: &str) -> Option<std::sync::MutexGuard<'_, Shard>> {
        // FNV-1a: cheap, and the same shard for the same key in every run.
        let mut x: u64 = 0xcbf2_9ce4_8422_2325;
        for b in key.bytes() {
            x = (x ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.shards[(x % SHARDS as u64) as usize].lock().ok()
    }
}

/// A running portal simulator.
#[derive(Clone, Default)]
pub struct Portal {
    down: Arc<AtomicBool>,
    inner: Arc<Inner>,
    /// Share of requests answered 500 (as f64 bits), and a counter that picks them.
    error_rate: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    latency_ms: Arc<AtomicU64>,
}

/// Whether call `n` is one of a share `rate` of calls (deterministic, evenly spread).
pub(crate) fn picked(n: u64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let mut state = n;
    let z = super::splitmix(&mut state);
    ((z >> 11) as f64 / (1u64 << 53) as f64) < rate
}

impl Portal {
    /// Serves on `listener` until the task is dropped; returns the handle to steer it.
    pub fn serve(listener: tokio::net::TcpListener) -> Portal {
        let portal = Portal::default();
        let app = portal.router();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        portal
    }

    /// The router: `POST /dvcqg`, `GET /dvcqg/_report`, `POST /dvcqg/_down`, `/dvcqg/_up`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/dvcqg", post(receive))
            .route("/dvcqg/_report", get(report))
            .route("/dvcqg/_down", post(go_down))
            .route("/dvcqg/_up", post(come_back))
            .with_state(self.clone())
    }

    /// Goes down (every request answered 503) or comes back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Answers a share `rate` (0 to 1) of the requests it takes with a 500, before applying
    /// them.
    pub fn set_error_rate(&self, rate: f64) {
        self.error_rate.store(rate.to_bits(), Ordering::SeqCst);
    }

    /// Milliseconds to wait before answering each delivery.
    pub fn set_latency_ms(&self, ms: u64) {
        self.latency_ms.store(ms, Ordering::SeqCst);
    }

    /// What it has seen so far.
    pub fn report(&self) -> Report {
        let n = |c: &AtomicU64| c.load(Ordering::SeqCst) as usize;
        let i = &self.inner;
        Report {
            received: n(&i.received),
            applied: n(&i.applied),
            repeats: n(&i.repeats),
            refused_while_down: n(&i.refused_while_down),
            failed_on_purpose: n(&i.failed_on_purpose),
            out_of_order: n(&i.out_of_order),
        }
    }
}

/// The event number at the end of an event id such as `000.00.10.H42-251201-0001#3`.
fn event_number(event_id: &str) -> Option<u64> {
    event_id.rsplit_once('#').and_then(|(_, n)| n.parse().ok())
}

async fn receive(State(p): State<Portal>, headers: HeaderMap, body: Bytes) -> Response {
    let ms = p.latency_ms.load(Ordering::Relaxed);
    if ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    let inner = &p.inner;
    if p.down.load(Ordering::SeqCst) {
        inner.refused_while_down.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::SERVICE_UNAVAILABLE, "bảo trì hệ thống").into_response();
    }
    inner.received.fetch_add(1, Ordering::SeqCst);
    let rate = f64::from_bits(p.error_rate.load(Ordering::Relaxed));
    if picked(p.calls.fetch_add(1, Ordering::Relaxed), rate) {
        inner.failed_on_purpose.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::INTERNAL_SERVER_ERROR, "lỗi hệ thống").into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let rec = &v["data"][0];
    let Some(dossier) = rec["MaHoSo"].as_str() else {
        return (
            StatusCode::OK,
            r#"{"error_code":"01","message":"thiếu MaHoSo"}"#,
        )
            .into_response();
    };
    let fresh = match inner.shard(&key) {
        Some(mut shard) => shard.keys.insert(key),
        None => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if !fresh {
        inner.repeats.fetch_add(1, Ordering::SeqCst);
        return (StatusCode::OK, r#"{"error_code":"0"}"#).into_response();
    }
    if let Some(n) = rec["MaSuKien"].as_str().and_then(event_number)
        && let Some(mut shard) = inner.shard(dossier)
    {
        let last = shard.last_event.get(dossier).copied();
        if last.is_some_and(|l| n < l) {
            inner.out_of_order.fetch_add(1, Ordering::SeqCst);
        }
        shard
            .last_event
            .insert(dossier.to_string(), n.max(last.unwrap_or(0)));
    }
    inner.applied.fetch_add(1, Ordering::SeqCst);
    (StatusCode::OK, r#"{"error_code":"0"}"#).into_response()
}

/// `GET /dvcqg/_report`: what the portal has seen, as JSON.
async fn report(State(p): State<Portal>) -> Response {
    axum::Json(p.report()).into_response()
}

/// `POST /dvcqg/_down`: every request is answered 503 until `POST /dvcqg/_up`.
async fn go_down(State(p): State<Portal>) -> StatusCode {
    p.set_down(true);
    StatusCode::NO_CONTENT
}

async fn come_back(State(p): State<Portal>) -> StatusCode {
    p.set_down(false);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(c: &reqwest::Client, url: &str, key: &str, event: &str) -> u16 {
        let body = serde_json::json!({"data": [{"MaHoSo": "D1", "MaSuKien": event}]});
        c.post(url)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    #[tokio::test]
    async fn it_counts_order_repeats_downtime_and_injected_failures() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/dvcqg", listener.local_addr().unwrap());
        let p = Portal::serve(listener);
        let c = reqwest::Client::new();
        assert_eq!(post(&c, &base, "k1", "D1#1").await, 200);
        assert_eq!(post(&c, &base, "k3", "D1#3").await, 200);
        // An earlier event after a later one: out of order.
        assert_eq!(post(&c, &base, "k2", "D1#2").await, 200);
        // The same key again: ignored, counted.
        assert_eq!(post(&c, &base, "k2", "D1#2").await, 200);
        c.post(format!("{base}/_down")).send().await.unwrap();
        assert_eq!(post(&c, &base, "k4", "D1#4").await, 503);
        c.post(format!("{base}/_up")).send().await.unwrap();
        p.set_error_rate(1.0);
        assert_eq!(post(&c, &base, "k4", "D1#4").await, 500);
        p.set_error_rate(0.0);
        assert_eq!(post(&c, &base, "k4", "D1#4").await, 200);
        let r: Value = c
            .get(format!("{base}/_report"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(r["applied"], 4, "{r}");
        assert_eq!(r["out_of_order"], 1, "{r}");
        assert_eq!(r["repeats"], 1, "{r}");
        assert_eq!(r["refused_while_down"], 1, "{r}");
        assert_eq!(r["failed_on_purpose"], 1, "{r}");
    }

    #[test]
    fn the_injected_share_is_close_to_the_rate() {
        let n = (0..10_000).filter(|&i| picked(i, 0.2)).count();
        assert!((1800..2200).contains(&n), "{n}");
        assert_eq!((0..1000).filter(|&i| picked(i, 0.0)).count(), 0);
    }
}
