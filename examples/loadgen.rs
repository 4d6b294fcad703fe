//! A small HTTP load generator for the load scripts in `benches/load/`: POSTs a body (with
//! `{n}` replaced by a running number, so that every request is a new record) either closed-loop
//! (`--connections C`, as fast as answers come) or open-loop at a fixed rate (`--rate R`,
//! latency measured from the scheduled start, so a slow server cannot hide its queueing).
//! Prints one JSON line: requests, errors, non-2xx, rate, p50/p99/p99.9 in milliseconds.
//!
//! cargo run --release --example loadgen -- URL BODY_FILE [--content-type T] [--token T]
//!     [--connections C] [--rate R] [--seconds 10]
//!
//! Closed loop, `--connections` is the number of clients (default 32). With `--rate`, there is
//! no cap unless `--connections C` is given: then at most C requests are in flight, close to a
//! client with a fixed pool of C connections (a request due while all are busy waits in one
//! queue, its latency counted from when it was due); without it every request is sent when it
//! is due, on a new connection if none is free. `LOADGEN_TIMELINE=FILE` writes each request's
//! scheduled start (from loadgen's own start) and latency, in microseconds, one per line,
//! ordered by start.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    url: String,
    body: String,
    content_type: String,
    token: Option<String>,
    /// Closed loop: the clients (default 32). With `--rate`: the cap on requests in flight,
    /// none when not given.
    connections: Option<usize>,
    rate: Option<f64>,
    seconds: f64,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let url = it.next().expect("URL");
    let file = it.next().expect("BODY_FILE");
    let mut a = Args {
        url,
        body: std::fs::read_to_string(&file).expect("body file"),
        content_type: "application/json".into(),
        token: None,
        connections: None,
        rate: None,
        seconds: 10.0,
    };
    while let Some(k) = it.next() {
        let v = it.next().expect("a value");
        match k.as_str() {
            "--content-type" => a.content_type = v,
            "--token" => a.token = Some(v),
            "--connections" => a.connections = Some(v.parse().expect("a number")),
            "--rate" => a.rate = Some(v.parse().expect("a number")),
            "--seconds" => a.seconds = v.parse().expect("a number"),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

#[tokio::main]
async fn main() {
    let a = Arc::new(args());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.connections.unwrap_or(32).max(64))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let counter = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let non2xx = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.seconds);
    let one = {
        let (client, a, counter, errors, non2xx) = (
            client.clone(),
            a.clone(),
            counter.clone(),
            errors.clone(),
            non2xx.clone(),
        );
        move |scheduled: Instant| {
            let (client, a, counter, errors, non2xx) = (
                client.clone(),
                a.clone(),
                counter.clone(),
                errors.clone(),
                non2xx.clone(),
            );
            async move {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let mut req = client
                    .post(&a.url)
                    .header("content-type", &a.content_type)
                    .body(a.body.replace("{n}", &n.to_string()));
                if let Some(t) = &a.token {
                    req = req.bearer_auth(t);
                }
                match req.send().await {
                    Ok(r) => {
                        if !r.status().is_success() {
                            non2xx.fetch_add(1, Ordering::Relaxed);
                        }
                        let _ = r.bytes().await;
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (
                    scheduled.duration_since(start).as_micros() as u64,
                    scheduled.elapsed().as_micros() as u64,
                )
            }
        }
    };
    let mut latencies: Vec<(u64, u64)> = Vec::new();
    match a.rate {
        None => {
            let mut tasks = Vec::new();
            for _ in 0..a.connections.unwrap_or(32) {
                let one = one.clone();
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < end {
                        lat.push(one(Instant::now()).await);
                    }
                    lat
                }));
            }
            for t in tasks {
                latencies.extend(t.await.expect("task"));
            }
        }
        Some(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate);
            // At most `--connections` requests in flight when it is given (as a client with
            // a fixed pool of connections): a request waits for a free one, and its latency
            // still counts from its scheduled start. Without it, every request due is sent
            // at once, on a new connection if none is free.
            let in_flight = a
                .connections
                .map(|c| Arc::new(tokio::sync::Semaphore::new(c)));
            let mut set = tokio::task::JoinSet::new();
            let mut next = start;
            while next < end {
                let now = Instant::now();
                if next > now {
                    tokio::time::sleep(next - now).await;
                }
                let (request, cap) = (one(next), in_flight.clone());
                set.spawn(async move {
                    let _permit = match cap {
                        Some(cap) => Some(cap.acquire_owned().await),
                        None => None,
                    };
                    request.await
                });
                next += interval;
                while let Some(r) = set.try_join_next() {
                    latencies.push(r.expect("task"));
                }
            }
            while let Some(r) = set.join_next().await {
                latencies.push(r.expect("task"));
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Ok(path) = std::env::var("LOADGEN_TIMELINE") {
        // Each request's scheduled start and latency, in microseconds, one per line: to find
        // when the slow ones happened.
        latencies.sort_unstable();
        let text: String = latencies
            .iter()
            .map(|(at, l)| format!("{at} {l}\n"))
            .collect();
        std::fs::write(&path, text).expect("timeline file");
    }
    let mut latencies: Vec<u64> = latencies.into_iter().map(|(_, l)| l).collect();
    latencies.sort_unstable();
    let q = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "{{\"requests\": {}, \"errors\": {}, \"non2xx\": {}, \"seconds\": {:.2}, \"rate\": {:.1}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"p999_ms\": {:.2}}}",
        latencies.len(),
        errors.load(Ordering::Relaxed),
        non2xx.load(Ordering::Relaxed),
        elapsed,
        latencies.len() as f64 / elapsed,
        q(0.5),
        q(0.99),
        q(0.999)
    );
}
