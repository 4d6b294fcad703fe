//! `lienthong sim population|motcua|portal|both`: the simulated external systems as processes, for
//! adapter authors and load runs. Each prints `listening on http://ADDR…` on its first line and
//! runs until stopped (Ctrl-C or SIGTERM).

use super::Outcome;
use anyhow::Context as _;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Which system.
    #[arg(value_enum)]
    system: System,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    listen: String,
    /// Seed of the synthetic data (population).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Synthetic citizens (population).
    #[arg(long, default_value_t = 10_000)]
    citizens: usize,
    /// Milliseconds added to every answer (population, portal), or waited between two
    /// pushes on each connection (one-stop system).
    #[arg(long, default_value_t = 0)]
    latency: u64,
    /// Population: share of look-ups answered 503. Portal: share of deliveries answered 500.
    /// One-stop system: share of dossiers sent with a fault (name typed without diacritics,
    /// old-form address, split ward, typo, re-uploaded document, invalid status, repeat).
    #[arg(long, default_value_t = 0.0, value_name = "R")]
    error_rate: f64,
    /// One-stop system: the hub to push to.
    #[arg(
        long,
        value_name = "URL",
        env = "LIENTHONG_HUB",
        default_value = "http://127.0.0.1:8080"
    )]
    hub: String,
    /// One-stop system: a provider token of member 000.00.00.H42 (`lienthong token create`).
    #[arg(long, env = "LIENTHONG_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// One-stop system: dossiers to push (applicants are the register's citizens of the same
    /// --seed and --citizens).
    #[arg(long, default_value_t = 1000)]
    dossiers: usize,
    /// One-stop system: status events per dossier.
    #[arg(long, default_value_t = 3)]
    events: usize,
    /// One-stop system: send a push again while the hub answers 503 or the connection breaks
    /// (after its Retry-After, at most 2 s), as a system behind a load balancer does when a
    /// hub node or its database fails over.
    #[arg(long)]
    resend: bool,
    /// Population: after starting, this many citizens move (their current address changes)
    /// and the register pushes each change to the hub (--hub, --token of 000.00.00.G12).
    #[arg(long, default_value_t = 0)]
    changes: usize,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum System {
    /// The national population register: GET /dancu/citizens/{personal_id}.
    Population,
    /// The national portal's receiving end: POST /dvcqg (GET /dvcqg/_report; POST
    /// /dvcqg/_down, /dvcqg/_up).
    Portal,
    /// A province's one-stop system: pushes dossiers and status events to the hub over SOAP,
    /// then serves what happened at GET /motcua/report.
    Motcua,
    /// The population register and the national portal on one address (/dancu and /dvcqg),
    /// for load runs that mix pushes and pulls against one host.
    Both,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    if !(0.0..=1.0).contains(&args.error_rate) {
        anyhow::bail!("--error-rate {} is not between 0 and 1", args.error_rate);
    }
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        match args.system {
            System::Population => {
                let p = population(&args, addr);
                p.serve(listener);
                println!("listening on http://{addr}/dancu");
                if args.changes > 0 {
                    let token = args.token.clone().ok_or_else(|| {
                        anyhow::anyhow!(
                            "--changes needs --token (or LIENTHONG_TOKEN): a provider token of \
                             000.00.00.G12"
                        )
                    })?;
                    let (accepted, other) = p.push_changes(args.changes, &args.hub, &token).await;
                    eprintln!("{accepted} change(s) accepted by the hub");
                    for o in other {
                        eprintln!("  not accepted: {o}");
                    }
                }
            }
            System::Both => {
                let p = population(&args, addr);
                let portal = crate::sim::portal::Portal::default();
                portal.set_error_rate(args.error_rate);
                portal.set_latency_ms(args.latency);
                let app = p.router().merge(portal.router());
                tokio::spawn(async move {
                    let _ = axum::serve(listener, app).await;
                });
                println!("listening on http://{addr} (/dancu and /dvcqg)");
            }
            System::Portal => {
                let p = crate::sim::portal::Portal::serve(listener);
                p.set_error_rate(args.error_rate);
                p.set_latency_ms(args.latency);
                println!("listening on http://{addr}/dvcqg");
            }
            System::Motcua => {
                let token = args.token.clone().ok_or_else(|| {
                    anyhow::anyhow!(
                        "--token (or LIENTHONG_TOKEN): a provider token of 000.00.00.H42"
                    )
                })?;
                motcua(listener, &args, token).await?;
            }
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(Outcome::Ok)
    })
}

/// The population register of `--seed` and `--citizens`, with `--latency` and `--error-rate`.
fn population(args: &Args, addr: std::net::SocketAddr) -> crate::sim::population::Population {
    let p = crate::sim::population::Population::new(args.seed, args.citizens);
    p.set_latency_ms(args.latency);
    p.set_error_rate(args.error_rate);
    if let Some(id) = p.ids().first() {
        eprintln!(
            "{} citizens (seed {}), e.g. GET http://{addr}/dancu/citizens/{id}",
            p.ids().len(),
            args.seed
        );
    }
    p
}

/// The one-stop system: serves its report, pushes its plan with progress, says how it went.
async fn motcua(
    listener: tokio::net::TcpListener,
    args: &Args,
    token: String,
) -> anyhow::Result<()> {
    use crate::sim::motcua;
    use std::sync::{Arc, Mutex};
    let addr = listener.local_addr()?;
    let plan = motcua::plan(
        args.seed,
        args.citizens,
        args.dossiers,
        args.events,
        args.error_rate,
    );
    let state: Arc<Mutex<serde_json::Value>> = Arc::new(Mutex::new(serde_json::json!({
        "state": "pushing",
        "pushes": plan.pushes(),
        "faults": plan.faults().iter().map(|(f, n)| (f.name().to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
    })));
    let shown = state.clone();
    let app = axum::Router::new().route(
        "/motcua/report",
        axum::routing::get(move || {
            let s = shown.lock().map(|s| s.clone()).unwrap_or_default();
            async move { axum::Json(s) }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    println!("listening on http://{addr}/motcua/report");
    let total = plan.pushes();
    let bar = indicatif::ProgressBar::new(total as u64);
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let hub = args.hub.trim_end_matches('/').to_string();
    let run = {
        let (plan, done) = (plan.clone(), done.clone());
        let pause = std::time::Duration::from_millis(args.latency);
        let resend = args.resend;
        tokio::spawn(
            async move { motcua::push(&plan, &hub, &token, 16, pause, done, resend).await },
        )
    };
    while !run.is_finished() {
        let answered = done.load(std::sync::atomic::Ordering::Relaxed);
        bar.set_position(answered as u64);
        if let Ok(mut s) = state.lock() {
            s["answered"] = serde_json::json!(answered);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bar.finish_and_clear();
    let o = run.await?;
    let report = serde_json::json!({
        "state": "done",
        "answered": o.pushed,
        "pushed": o.pushed,
        "accepted": o.accepted,
        "repeats": o.repeats,
        "resent": o.resent,
        "recovered": o.recovered,
        "rejected": o.rejected,
        "findings": o.findings,
        "faults": plan.faults().iter().map(|(f, n)| (f.name().to_string(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
    });
    eprintln!("{report:#}");
    if let Ok(mut s) = state.lock() {
        *s = report;
    }
    Ok(())
}
