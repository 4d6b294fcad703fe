//! The least a signed, audited pull can cost, built from the hub's own parts: the bound of
//! issue 5's cached pull, beside the hub in `benches/load/pull.sh`. Every GET is answered with
//! a fixed citizen record and a provenance block holding a fresh exchange id (so the body
//! differs per request, as the hub's does), as RFC 8785 bytes signed with the hub's Ed25519
//! key code (`lienthong::signing`), after a record of the answer (the body and the exchange id,
//! about the size of the hub's audit entry) has been appended to a file and synced by one
//! committer thread in group commits, as the hub makes each pull's audit entry durable before
//! the answer.
//!
//! Left out, all of which the hub does: the token check, the policy, the cache read, the
//! redaction, the audit entry's hash chain, Merkle tree and sealed part, the look-ups, metrics.
//! What is left is one HTTP exchange, one signature and one durable append per request.
//!
//! cargo run --release --example pull_floor -- 127.0.0.1:0 FILE

// The same allocator as the `lienthong` binary, so that the comparison is like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lienthong::signing::HubKey;
use serde_json::{Value, json};
use std::io::Write as _;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

struct Floor {
    key: HubKey,
    sign: bool,
    data: Value,
    commits: mpsc::Sender<(Vec<u8>, oneshot::Sender<bool>)>,
}

/// Appends what it is given and syncs the file once per group: everything waiting when a
/// sync ends goes in the next one.
fn committer(
    mut file: std::fs::File,
    mut rx: mpsc::Receiver<(Vec<u8>, oneshot::Sender<bool>)>,
    sync: bool,
) {
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

async fn pull(State(f): State<Arc<Floor>>) -> Response {
    let exchange_id = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "data": f.data,
        "withheld": ["ethnicity", "religion"],
        "provenance": {
            "consumer": "000.00.00.G07",
            "exchange_id": exchange_id,
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
    let (tx, rx) = oneshot::channel();
    if f.commits.send((bytes.clone(), tx)).await.is_err() || rx.await != Ok(true) {
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let Some(path) = args.next() else {
        anyhow::bail!("usage: pull_floor LISTEN FILE");
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    // For measuring the parts apart: FLOOR_SYNC=0 appends without syncing, FLOOR_SIGN=0 does
    // not sign.
    let on = |var: &str| std::env::var(var).map_or(true, |v| v != "0");
    let (sync, sign) = (on("FLOOR_SYNC"), on("FLOOR_SIGN"));
    let (tx, rx) = mpsc::channel(4096);
    std::thread::Builder::new()
        .name("floor-committer".into())
        .spawn(move || committer(file, rx, sync))?;
    let floor = Arc::new(Floor {
        key: HubKey::from_seed("lienthong.local/audit", [7; 32])?,
        sign,
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
    });
    let app = Router::new().fallback(pull).with_state(floor);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("pull floor listening on http://{}", listener.local_addr()?);
    // As the hub's listener: no Nagle delay on accepted connections.
    let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
        let _ = s.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
