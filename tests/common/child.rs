//! The hub as a child process (`lienthong serve`), for tests that kill it or watch its memory
//! and file descriptors from outside; and the end-of-run check that its audit log verifies
//! offline and holds an accepted ingest entry for every acknowledged exchange.

use super::repo_path;
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

pub struct HubProcess {
    pub data: PathBuf,
    pub adapters: PathBuf,
    pub addr: String,
    /// More environment for the hub (`LIENTHONG_…` overrides).
    pub env: Vec<(String, String)>,
}

impl HubProcess {
    /// A hub on a free loopback port, its store in `data`, its adapters from `adapters`.
    pub fn new(data: PathBuf, adapters: PathBuf) -> HubProcess {
        HubProcess {
            data,
            adapters,
            addr: format!("127.0.0.1:{}", free_port()),
            env: Vec::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The binary with this hub's environment.
    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_lienthong"));
        c.env("LIENTHONG_SERVER_DATA_DIR", &self.data)
            .env("LIENTHONG_SERVER_LISTEN", &self.addr)
            .env("LIENTHONG_SERVER_ADAPTERS_DIR", &self.adapters)
            .env("LIENTHONG_LOG_LEVEL", "error")
            .current_dir(repo_path(""));
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    pub fn token(&self, member: &str, role: &str) -> String {
        super::hub::token_by_command(self.command(), member, role)
    }

    /// Starts `lienthong serve` and returns once it listens.
    pub fn start(&self) -> Child {
        let mut child = self
            .command()
            .args(["serve", "--config", "config/hub.toml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("listening on"), "{line:?}");
        child
    }

    /// Runs a CLI command against this hub (`--hub`, an admin token) and returns its stdout.
    pub fn cli(&self, admin: &str, args: &[&str]) -> String {
        let out = self
            .command()
            .args(args)
            .args(["--hub", &self.url()])
            .env("LIENTHONG_TOKEN", admin)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Exports the audit log to `export`, verifies it offline with the hub's published key,
    /// and checks that the accepted ingest entries are exactly `acked`. Returns the verifier's
    /// report.
    pub fn verify_audit(
        &self,
        admin: &str,
        export: &std::path::Path,
        acked: &HashSet<String>,
    ) -> String {
        self.cli(
            admin,
            &["audit", "export", "--out", export.to_str().unwrap()],
        );
        let key = self.cli(admin, &["audit", "key"]);
        let out = self
            .command()
            .args([
                "audit",
                "verify",
                export.to_str().unwrap(),
                "--key",
                key.trim(),
            ])
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success(), "{report}");
        assert!(report.starts_with("verified:"), "{report}");
        let mut logged = HashSet::new();
        for line in std::fs::read_to_string(export).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let e = &v["entry"];
            if e["operation"] == "ingest" && e["outcome"] == "accepted" {
                logged.insert(e["exchange_id"].as_str().unwrap().to_string());
            }
        }
        assert_eq!(
            &logged, acked,
            "an accepted ingest entry for every acknowledged exchange, and no other"
        );
        report
    }
}

/// Kills the hub if the test fails before it stops it.
pub struct KillOnDrop(pub Arc<Mutex<Child>>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(mut c) = self.0.lock() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Stops the hub with SIGTERM (it flushes) and checks that it exits cleanly.
pub fn terminate(c: &mut Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert!(c.wait().unwrap().success());
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
