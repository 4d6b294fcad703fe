//! A trivial axum server: the baseline of the ingest benchmark (`benches/load/ingest.sh`).
//! `POST /ingest` reads the body and answers a small JSON object; nothing else.
//!
//! cargo run --release --example trivial -- 127.0.0.1:0

// The same allocator as the `lienthong` binary, so that the comparison is like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let app = Router::new().route(
        "/ingest",
        post(|body: Bytes| async move {
            axum::Json(serde_json::json!({"ok": true, "bytes": body.len()}))
        }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("trivial listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
