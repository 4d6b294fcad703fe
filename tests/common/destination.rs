//! A destination for relay tests: a real HTTP server on loopback that behaves like the national
//! portal's receiving end (answers `{"error_code": "0"}`), records what it received, applies
//! each idempotency key once, and can be told to fail.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the destination answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// 200 `{"error_code": "0"}`.
    Ok,
    /// 500.
    Fail,
    /// 400: refuses the record.
    Refuse,
    /// 200 `{"error_code": "99"}`: a 200 that is a refusal.
    SaysNo,
    /// 200 with a body that is not JSON (an HTML error page behind a proxy).
    Garbage,
    /// Waits this long before answering 200.
    Slow(u64),
    /// Fails at random with this probability (500, a hang past the hub's time-out, or a reset).
    Flaky(f64),
    /// 307 to `/moved`, which would take the record if a client followed.
    Redirect,
}

/// One delivery as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub key: String,
    pub dossier: String,
    pub event: String,
    pub applied: bool,
    /// The record as delivered (the portal form's `data[0]`).
    pub record: Value,
}

#[derive(Debug, Default)]
pub struct Log {
    /// Requests being answered now, per dossier.
    pub in_flight: HashMap<String, usize>,
    /// Requests that arrived while another of the same dossier was being answered: a relay
    /// that keeps one request in flight per order key never makes one.
    pub overlaps: usize,
    pub received: Vec<Received>,
    pub applied_keys: HashSet<String>,
    /// Per dossier, the event ids in the order they were applied.
    pub applied_order: BTreeMap<String, Vec<String>>,
    pub duplicates: usize,
    /// Per dossier, every event answered as accepted, repeats included, in the order they
    /// arrived: what a portal that does not deduplicate by idempotency key would show.
    pub accepted_sequence: BTreeMap<String, Vec<String>>,
    /// Requests that followed a redirect to `/moved`.
    pub followed: usize,
}

impl Log {
    /// Dossiers whose accepted events went backwards (an older event accepted after a newer
    /// one), with the sequence; events are `<dossier>#<n>`.
    pub fn gone_backwards(&self) -> Vec<(String, Vec<String>)> {
        let n = |e: &str| {
            e.rsplit('#')
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        self.accepted_sequence
            .iter()
            .filter(|(_, events)| events.windows(2).any(|w| n(&w[1]) < n(&w[0])))
            .map(|(d, events)| (d.clone(), events.clone()))
            .collect()
    }
}

#[derive(Clone)]
pub struct Destination {
    pub mode: Arc<Mutex<Mode>>,
    pub log: Arc<Mutex<Log>>,
    pub url: String,
}

impl Destination {
    pub async fn start() -> Destination {
        let d = Destination {
            mode: Arc::new(Mutex::new(Mode::Ok)),
            log: Arc::new(Mutex::new(Log::default())),
            url: String::new(),
        };
        let app = Router::new()
            .route("/dvcqg", post(receive))
            .route("/moved", post(moved))
            .with_state(d.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/dvcqg", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Destination { url, ..d }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn applied(&self) -> usize {
        self.log.lock().unwrap().applied_keys.len()
    }
}

/// A request of a dossier being answered, counted in the log while it is.
struct Answering {
    log: Arc<Mutex<Log>>,
    dossier: String,
}

impl Answering {
    fn new(log: &Arc<Mutex<Log>>, dossier: &str) -> Answering {
        let mut l = log.lock().unwrap();
        let n = l.in_flight.entry(dossier.to_string()).or_default();
        *n += 1;
        if *n > 1 {
            l.overlaps += 1;
        }
        Answering {
            log: log.clone(),
            dossier: dossier.to_string(),
        }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        let mut l = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = l.in_flight.get_mut(&self.dossier) {
            *n = n.saturating_sub(1);
        }
    }
}

async fn moved(State(d): State<Destination>) -> axum::response::Response {
    d.log.lock().unwrap().followed += 1;
    (StatusCode::OK, "{\"error_code\":\"0\"}".to_string()).into_response()
}

fn random() -> f64 {
    let mut b = [0u8; 8];
    rand::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

async fn receive(
    State(d): State<Destination>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let mode = *d.mode.lock().unwrap();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let rec = &v["data"][0];
    let dossier = rec["MaHoSo"].as_str().unwrap_or_default().to_string();
    let event = rec["MaSuKien"].as_str().unwrap_or_default().to_string();
    let _answering = Answering::new(&d.log, &dossier);
    let fail = match mode {
        Mode::Ok => false,
        Mode::Fail => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "down".to_string()).into_response();
        }
        Mode::Redirect => {
            return (
                StatusCode::TEMPORARY_REDIRECT,
                [("location", "/moved")],
                String::new(),
            )
                .into_response();
        }
        Mode::Refuse => {
            return (
                StatusCode::BAD_REQUEST,
                "{\"error\":\"bad record\"}".to_string(),
            )
                .into_response();
        }
        Mode::SaysNo => {
            return (
                StatusCode::OK,
                "{\"error_code\":\"99\",\"message\":\"Mã hồ sơ không hợp lệ\"}".to_string(),
            )
                .into_response();
        }
        Mode::Garbage => {
            return (
                StatusCode::OK,
                "<html><body>502 Bad Gateway</body></html>".to_string(),
            )
                .into_response();
        }
        Mode::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            false
        }
        Mode::Flaky(p) => random() < p,
    };
    if fail {
        let r = random();
        if r < 0.2 {
            // Hang past the hub's delivery time-out; the hub gives up and retries.
            tokio::time::sleep(Duration::from_secs(3)).await;
        } else if r < 0.4 {
            // Reset: the answer starts and the connection breaks off mid-body.
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(Bytes::from_static(b"{\"error_code\":")),
                Err(std::io::Error::other("reset")),
            ];
            return axum::response::Response::builder()
                .status(StatusCode::OK)
                .body(axum::body::Body::from_stream(futures_util::stream::iter(
                    chunks,
                )))
                .unwrap()
                .into_response();
        }
        return (StatusCode::INTERNAL_SERVER_ERROR, "flaky".to_string()).into_response();
    }
    let mut log = d.log.lock().unwrap();
    let applied = log.applied_keys.insert(key.clone());
    if applied {
        log.applied_order
            .entry(dossier.clone())
            .or_default()
            .push(event.clone());
    } else {
        log.duplicates += 1;
    }
    log.accepted_sequence
        .entry(dossier.clone())
        .or_default()
        .push(event.clone());
    log.received.push(Received {
        key,
        dossier,
        event,
        applied,
        record: rec.clone(),
    });
    (StatusCode::OK, "{\"error_code\":\"0\"}".to_string()).into_response()
}
