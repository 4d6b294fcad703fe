//! A proxy that does no work: the bound of the load scripts' hub figures on the same machine,
//! built from the hub's own HTTP parts (axum in, reqwest out, as the hub's deliveries and
//! register calls). Every request is sent on as it came (method, path and query, body,
//! content type) to one destination over a pooled HTTP/1.1 client, and the destination's
//! status, content type and body are answered. No translation, no validation, no outbox, no
//! disk, no audit log, no signature: what is left is the two HTTP exchanges per request that
//! any relay makes, one in and one out.
//!
//! cargo run --release --example forwarder -- 127.0.0.1:0 http://127.0.0.1:PORT

// The same allocator as the `lienthong` binary, so that the comparison is like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

struct Target {
    client: reqwest::Client,
    base: String,
}

async fn forward(State(t): State<Arc<Target>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut out = t
        .client
        .request(parts.method, format!("{}{path}", t.base))
        .body(body);
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    let Ok(answer) = out.send().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let status = answer.status();
    let ct = answer.headers().get(header::CONTENT_TYPE).cloned();
    let Ok(bytes): Result<Bytes, _> = answer.bytes().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = (status, bytes).into_response();
    if let Some(ct) = ct {
        response.headers_mut().insert(header::CONTENT_TYPE, ct);
    } else {
        response.headers_mut().remove(header::CONTENT_TYPE);
    }
    response
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let Some(base) = args.next() else {
        anyhow::bail!("usage: forwarder LISTEN DESTINATION-BASE-URL");
    };
    let target = Arc::new(Target {
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        base: base.trim_end_matches('/').to_string(),
    });
    let app = Router::new().fallback(forward).with_state(target);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("forwarder listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
