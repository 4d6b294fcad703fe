//! `demo --keep DIR`: the hub and simulators left running after the scenario, with tokens to
//! explore them; and copying the adapters into the run's directory.

use super::{DemoError, DemoSummary, err};
use crate::auth::{Role, create_token};
use crate::server::Hub;
use std::path::Path;

/// `--keep`: prints the summary and how to explore, writes tokens beside the store, and
/// keeps the hub and the simulators running until Ctrl-C or SIGTERM.
pub(super) async fn keep_running(
    hub: &Hub,
    work: &Path,
    [url, portal_url, register_url]: [&str; 3],
    example: &str,
    s: &mut DemoSummary,
) -> Result<(), DemoError> {
    let store = &hub.state().store;
    let admin = create_token(store, "000.00.00.A01", Role::Admin)
        .map_err(err)?
        .bearer();
    let auditor = create_token(store, "000.00.00.A01", Role::Auditor)
        .map_err(err)?
        .bearer();
    let consumer = create_token(store, "000.00.00.G07", Role::Consumer)
        .map_err(err)?
        .bearer();
    let tokens = format!(
        "export LIENTHONG_HUB={url}\nexport ADMIN={admin}\nexport AUDITOR={auditor}\n\
             export CONSUMER={consumer}\n"
    );
    std::fs::write(work.join("tokens.env"), &tokens).map_err(err)?;
    println!("{}", s.table());
    s.printed = true;
    println!(
        "  kept: the store in {}/data, the hub on {url}\n  \
         national portal (simulated) on {portal_url}, register (simulated) on {register_url}\n  \
         tokens in {}/tokens.env (admin, auditor, consumer 000.00.00.G07); try:\n\n    \
         source {}/tokens.env\n    \
         lienthong relay status --token $ADMIN\n    \
         lienthong onceonly report --token $AUDITOR\n    \
         lienthong audit query --token $AUDITOR --operation verify\n    \
         curl -H \"Authorization: Bearer $CONSUMER\" \"$LIENTHONG_HUB/v1/citizens/{}?purpose=employment-support\"\n\n  \
         the web console: {url}/console (sign in with a token of tokens.env)\n\n  \
         Ctrl-C stops the hub and the simulators; the store stays.",
        work.display(),
        work.display(),
        work.display(),
        example
    );
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(err)?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

pub(super) fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()))?;
        } else {
            std::fs::copy(&p, to.join(e.file_name()))?;
        }
    }
    Ok(())
}
