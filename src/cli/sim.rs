//! `lienthong sim population|portal`: the simulated external systems as processes, for adapter
//! authors and load runs. Each prints `listening on http://ADDR` on its first line and runs
//! until stopped (Ctrl-C or SIGTERM).

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
    /// Milliseconds added to every answer (population).
    #[arg(long, default_value_t = 0)]
    latency: u64,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum System {
    /// The national population register: GET /dancu/citizens/{personal_id}.
    Population,
    /// The national portal's receiving end: POST /dvcqg.
    Portal,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Outcome> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let addr = listener.local_addr()?;
        match args.system {
            System::Population => {
                let p = crate::sim::population::Population::new(args.seed, args.citizens);
                p.set_latency_ms(args.latency);
                if let Some(id) = p.ids().first() {
                    eprintln!(
                        "{} citizens (seed {}), e.g. GET http://{addr}/dancu/citizens/{id}",
                        p.ids().len(),
                        args.seed
                    );
                }
                p.serve(listener);
                println!("listening on http://{addr}/dancu");
            }
            System::Portal => {
                crate::sim::portal::Portal::serve(listener);
                println!("listening on http://{addr}/dvcqg");
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
