//! A destination for load runs: answers every POST like the national portal's receiving end
//! (`200 {"error_code":"0"}`) and counts them; `GET /count` tells how many it has taken.
//!
//! cargo run --release --example sink -- 127.0.0.1:0

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let count = Arc::new(AtomicU64::new(0));
    let app =
        Router::new()
            .route(
                "/{*path}",
                post(|State(c): State<Arc<AtomicU64>>, _body: Bytes| async move {
                    c.fetch_add(1, Ordering::Relaxed);
                    (
                        [("content-type", "application/json")],
                        "{\"error_code\":\"0\"}",
                    )
                }),
            )
            .route(
                "/count",
                get(|State(c): State<Arc<AtomicU64>>| async move {
                    c.load(Ordering::Relaxed).to_string()
                }),
            )
            .with_state(count);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("sink listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
