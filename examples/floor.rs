//! The least the hub's exchanges can cost, built from the hub's own parts: what no hub that
//! keeps its promises can beat on this machine, measured beside the hub in the load scripts.
//!
//! `floor LISTEN FILE [DESTINATION-BASE-URL]`:
//!
//! - a GET is the bound of a cached pull (issue 5; workload (b) of `benches/load/run`): it
//!   is answered with a fixed citizen record and a provenance block holding a fresh exchange
//!   id (so the body differs per request, as the hub's does), as RFC 8785 bytes signed with the
//!   hub's Ed25519 key code (`lienthong::signing`), after a record of the answer has been
//!   appended to FILE and synced;
//! - any other request is the bound of a relayed push (workload (a)): its body is appended to
//!   FILE and synced, answered 202, then sent on to DESTINATION (the same path, content type
//!   and `Idempotency-Key`) over a pooled client with at most 16 deliveries under way, as the
//!   hub's outbox worker sends to the portal.
//!
//! In both, one committer thread appends and syncs in group commits (everything waiting when
//! a sync ends goes in the next), as the hub makes each exchange's audit entry (and a push's
//! outbox item) durable before the answer. Left out, all of which the hub does: tokens,
//! policy, the cache, redaction, translation and validation, idempotency, the audit entry's
//! sealed part, hash and Merkle tree, look-ups, retries and dead letters, metrics. What is left
//! is the HTTP exchanges, one synced append per request, and a pull's signature.
//!
//! For measuring the parts apart: FLOOR_SYNC=0 appends without syncing, FLOOR_SIGN=0 does not
//! sign.

// The same allocator as the `lienthong` binary, so that the comparison is like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use lienthong::signing::HubKey;
use serde_json::{Value, json};
use std::io::Write as _;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

type Commit = (Vec<u8>, oneshot::Sender<bool>);

struct Floor {
    key: HubKey,
    sign: bool,
    data: Value,
    commits: mpsc::Sender<Commit>,
    /// Where pushes are sent on, and the deliveries allowed at once.
    destination: Option<(String, reqwest::Client, Arc<Semaphore>)>,
}

/// Appends what it is given and syncs the file once per group.
fn committer(mut file: std::fs::File, mut rx: mpsc::Receiver<Commit>, sync: bool) {
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while let Ok(more) = rx.try_recv() {
            group.push(more);
        }
        let mut bytes = Vec::new();
        for (record, _) in &group {
            bytes.extend_from_slice(&(record.len() as u32).to_be_bytes());
            bytes.extend_from_slice(record);
        }
        let ok = file
            .write_all(&bytes)
            .and_then(|()| if sync { file.sync_data() } else { Ok(()) })
            .is_ok();
        for (_, reply) in group {
            let _ = reply.send(ok);
        }
    }
}

impl Floor {
    /// Appends `record` and waits until it is synced.
    async fn durable(&self, record: Vec<u8>) -> bool {
        let (tx, rx) = oneshot::channel();
        self.commits.send((record, tx)).await.is_ok() && rx.await == Ok(true)
    }
}

async fn pull(f: Arc<Floor>) -> Response {
    let body = json!({
        "data": f.data,
        "withheld": ["ethnicity", "religion"],
        "provenance": {
            "consumer": "000.00.00.G07",
            "exchange_id": uuid::Uuid::now_v7().to_string(),
            "from_cache": true,
            "purpose": "employment-support",
            "retrieved_at": "2026-11-25T00:00:00.000Z",
            "schema": "citizen.v1",
            "signed_by": f.key.name(),
            "source": "population-registry",
        },
    });
    // serde_json's map is ordered by key and the values here are strings and booleans: its
    // output is the RFC 8785 form.
    let Ok(bytes) = serde_json::to_vec(&body) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let signature = if f.sign {
        f.key.sign_b64(&bytes)
    } else {
        String::from("unsigned")
    };
    if !f.durable(bytes.clone()).await {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&signature) {
        h.insert("lienthong-signature", v);
    }
    r
}

async fn exchange(
    State(f): State<Arc<Floor>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if method == Method::GET {
        return pull(f).await;
    }
    let Some((base, client, room)) = f.destination.clone() else {
        return (StatusCode::METHOD_NOT_ALLOWED, "no destination to push to").into_response();
    };
    if !f.durable(body.to_vec()).await {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let mut sent = HeaderMap::new();
    for name in [
        header::CONTENT_TYPE,
        HeaderName::from_static("idempotency-key"),
    ] {
        if let Some(v) = headers.get(&name) {
            sent.insert(name, v.clone());
        }
    }
    tokio::spawn(async move {
        let Ok(_slot) = room.acquire().await else {
            return;
        };
        let delivered = client
            .post(format!("{base}{path}"))
            .headers(sent)
            .body(body)
            .send()
            .await;
        if let Ok(answer) = delivered {
            let _ = answer.bytes().await;
        }
    });
    (StatusCode::ACCEPTED, "{\"accepted\":true}").into_response()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, path) = match &args[..] {
        [a, p] | [a, p, _] => (a.as_str(), p.as_str()),
        _ => anyhow::bail!("usage: floor LISTEN FILE [DESTINATION-BASE-URL]"),
    };
    let destination = match args.get(2) {
        None => None,
        Some(d) => Some((
            d.trim_end_matches('/').to_string(),
            // As the hub's delivery client: no redirects, a pool as large as its connections.
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(64)
                .build()?,
            Arc::new(Semaphore::new(16)),
        )),
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let on = |var: &str| std::env::var(var).map_or(true, |v| v != "0");
    let sync = on("FLOOR_SYNC");
    let (tx, rx) = mpsc::channel(4096);
    std::thread::Builder::new()
        .name("floor-committer".into())
        .spawn(move || committer(file, rx, sync))?;
    let floor = Arc::new(Floor {
        key: HubKey::from_seed("lienthong.local/audit", [7; 32])?,
        sign: on("FLOOR_SIGN"),
        data: json!({
            "birth_date": "1992-05-14",
            "current_address": {"commune": "Phường Cầu Giấy", "commune_code": "00166",
                "province": "Thành phố Hà Nội", "province_code": "01",
                "street": "Số 25 ngõ 68 đường Cầu Giấy"},
            "full_name": "Nguyễn Thị Hồng Nhung",
            "permanent_address": {"commune": "Phường Thành Sen", "commune_code": "18073",
                "province": "Tỉnh Hà Tĩnh", "province_code": "42",
                "street": "Số 12 đường Hà Huy Tập, tổ dân phố 5"},
            "personal_id": "042192004518",
            "sex": "female",
        }),
        commits: tx,
        destination,
    });
    let app = Router::new().fallback(exchange).with_state(floor);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("floor listening on http://{}", listener.local_addr()?);
    // As the hub's listener: no Nagle delay on accepted connections.
    let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
        let _ = s.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
