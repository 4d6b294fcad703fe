//! A proxy that does no work, built from the hub's own HTTP parts (axum in, reqwest out, as the
//! hub's deliveries and register calls): the bound of a relay made of those parts, beside the
//! hub in the load scripts. Every request is sent on as it came (method, path and query,
//! headers but the hop-by-hop ones, body) to one destination over a pooled HTTP/1.1 client,
//! and the destination's status, headers and body are answered. No translation, no
//! validation, no outbox, no disk, no audit log, no signature: what is left is the two HTTP
//! exchanges per request that any relay makes, one in and one out.
//!
//! cargo run --release --example forwarder -- 127.0.0.1:0 http://127.0.0.1:PORT

// The same allocator as the `lienthong` binary, so that the comparison is like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

struct Target {
    client: reqwest::Client,
    base: String,
}

/// Headers that belong to one connection, not to the request (RFC 9110, 7.6.1), and the ones
/// the client sets itself.
fn hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::HOST
        || name == header::CONTENT_LENGTH
        || name == header::TRANSFER_ENCODING
        || name == header::TE
        || name == header::TRAILER
        || name == header::UPGRADE
        || name == header::PROXY_AUTHORIZATION
        || name == header::PROXY_AUTHENTICATE
        || name.as_str() == "keep-alive"
}

fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    headers
        .iter()
        .filter(|(n, _)| !hop_by_hop(n))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

async fn forward(State(t): State<Arc<Target>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let sent = t
        .client
        .request(parts.method, format!("{}{path}", t.base))
        .headers(end_to_end(&parts.headers))
        .body(body)
        .send()
        .await;
    let Ok(answer) = sent else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let headers = end_to_end(answer.headers());
    let Ok(bytes) = answer.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = (status, bytes).into_response();
    *response.headers_mut() = headers;
    response
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let Some(base) = args.next() else {
        anyhow::bail!("usage: forwarder LISTEN DESTINATION-BASE-URL");
    };
    // As the hub's delivery client: no redirects, a pool as large as its connections.
    let target = Arc::new(Target {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()?,
        base: base.trim_end_matches('/').to_string(),
    });
    let app = Router::new().fallback(forward).with_state(target);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("forwarder listening on http://{}", listener.local_addr()?);
    // As the hub's listener: no Nagle delay on accepted connections.
    let listener = axum::serve::ListenerExt::tap_io(listener, |s| {
        let _ = s.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
