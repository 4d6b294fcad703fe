//! The `lienthong` binary as a child process, for the tests that run it as an operator does:
//! commands run to their end (`run`, `output`, `output_async`, what they printed in a `Ran`);
//! processes that serve (`Process`: `serve`, the simulators, `demo --keep`), which say where they
//! listen on their first line, are stopped with SIGTERM or SIGKILL, and are killed if a test
//! fails first; and the hub as a process (`HubProcess`): its environment, its address kept
//! across restarts, tokens made by command, CLI calls against it, and the end-of-run check that
//! its audit log verifies offline and holds an accepted ingest entry for every acknowledged
//! exchange.

use super::repo_path;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;

/// The binary, run from the repository root (where the shipped config's relative paths
/// point).
pub fn lienthong() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lienthong"));
    c.current_dir(repo_path(""));
    c
}

/// What a command that ran to its end printed, and its exit code (-1 when a signal ended it).
#[derive(Debug)]
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn of(out: std::process::Output) -> Ran {
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Standard output, then standard error.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs a prepared command (`lienthong()`, `HubProcess::command()`) to its end; its standard
/// input is empty unless the command sets one.
pub fn output(command: &mut Command) -> Ran {
    Ran::of(command.output().expect("the binary runs"))
}

/// Runs a shell script as a person would paste it (`bash -euo pipefail`) in `dir`, with the
/// test build's `lienthong` first on the `PATH`.
pub fn shell(script: &str, dir: &Path) -> Ran {
    let bin = Path::new(env!("CARGO_BIN_EXE_lienthong"))
        .parent()
        .expect("the binary's directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    output(
        Command::new("bash")
            .args(["-euo", "pipefail", "-c", script])
            .current_dir(dir)
            .env("PATH", path)
            .env_remove("LIENTHONG_HUB")
            .env_remove("LIENTHONG_TOKEN"),
    )
}

/// `output` without blocking the runtime's thread, for tests whose hub runs in the same runtime.
pub async fn output_async(command: Command) -> Ran {
    let out = tokio::process::Command::from(command)
        .output()
        .await
        .expect("the binary runs");
    Ran::of(out)
}

/// Runs the binary with `args`, writes `input` to its standard input, and waits for its end.
pub fn run(args: &[&str], input: &[u8]) -> Ran {
    let mut child = lienthong()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().expect("a piped standard input");
    stdin.write_all(input).expect("the input is written");
    drop(stdin);
    Ran::of(child.wait_with_output().expect("the binary ends"))
}

/// A running child process, killed (SIGKILL) if it still runs when dropped.
pub struct Process {
    child: Child,
    url: Option<String>,
}

impl Process {
    /// Starts `command` as it is set up.
    pub fn spawn(command: &mut Command) -> Process {
        Process {
            child: command.spawn().expect("the binary starts"),
            url: None,
        }
    }

    /// Starts `command` with its standard output piped and returns once it printed its first
    /// line, `prefix` and then the URL it listens on (any words after the URL are not kept).
    pub fn listening(command: &mut Command, prefix: &str) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("a piped standard output"))
            .read_line(&mut line)
            .expect("a first line");
        let rest = line.trim().strip_prefix(prefix);
        assert!(rest.is_some(), "first line: {line:?}, not {prefix:?}…");
        let url = rest
            .unwrap_or_default()
            .split(' ')
            .next()
            .unwrap_or_default();
        Process {
            child,
            url: Some(url.to_string()),
        }
    }

    /// The URL printed on the first line.
    pub fn url(&self) -> &str {
        self.url.as_deref().expect("a process started as listening")
    }

    /// The host and port of the URL (for a plain socket).
    pub fn addr(&self) -> &str {
        let url = self.url();
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.split('/').next().unwrap_or(rest)
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns at once.
    pub fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .expect("kill runs")
            .success();
        assert!(ok);
    }

    /// Stops the process with SIGTERM (the hub flushes) and checks that it exits cleanly.
    pub fn terminate(&mut self) {
        self.sigterm();
        let status = self.wait();
        assert!(status.success(), "exit status {status}");
    }

    /// SIGKILL, and waits for the end.
    pub fn kill(&mut self) {
        self.child.kill().expect("the process is killed");
        self.child.wait().expect("the killed process ends");
    }

    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("the process ends")
    }

    /// Whether the process has ended (without waiting).
    pub fn has_exited(&mut self) -> bool {
        self.child
            .try_wait()
            .expect("the process's state")
            .is_some()
    }

    /// The rest of a piped standard error, to its end (after the process ended).
    pub fn stderr(&mut self) -> String {
        let mut text = String::new();
        self.child
            .stderr
            .take()
            .expect("a piped standard error")
            .read_to_string(&mut text)
            .expect("the standard error is read");
        text
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a hub process's log (its standard error) goes.
#[derive(Debug, Clone, Copy)]
pub enum Log {
    /// To the test's own standard error.
    Inherit,
    /// Into a pipe: `Process::stderr` reads it.
    Capture,
    /// Nowhere.
    Discard,
}

/// The hub as a child process (`lienthong serve --config config/hub.toml`): its store in
/// `data`, its adapters from `adapters`, a port the OS gives on its first start and kept
/// across restarts.
pub struct HubProcess {
    pub data: PathBuf,
    pub adapters: PathBuf,
    env: Vec<(String, String)>,
    log: Log,
    addr: OnceLock<String>,
}

impl HubProcess {
    /// A hub with its log on the test's standard error and no other environment.
    pub fn new(data: PathBuf, adapters: PathBuf) -> HubProcess {
        HubProcess {
            data,
            adapters,
            env: Vec::new(),
            log: Log::Inherit,
            addr: OnceLock::new(),
        }
    }

    /// More environment for the hub and the commands run beside it (`LIENTHONG_…` overrides,
    /// `RUST_LOG`).
    pub fn env(mut self, key: &str, value: &str) -> HubProcess {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Where the hub's log goes.
    pub fn log(mut self, log: Log) -> HubProcess {
        self.log = log;
        self
    }

    /// The hub's URL, once started.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr.get().expect("the hub was started"))
    }

    /// The binary with this hub's environment.
    pub fn command(&self) -> Command {
        let listen = self.addr.get().map_or("127.0.0.1:0", String::as_str);
        let mut c = lienthong();
        c.env("LIENTHONG_SERVER_DATA_DIR", &self.data)
            .env("LIENTHONG_SERVER_LISTEN", listen)
            .env("LIENTHONG_SERVER_ADAPTERS_DIR", &self.adapters);
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// A token for `member` as `role`, made with `lienthong token create` on the hub's store.
    pub fn token(&self, member: &str, role: &str) -> String {
        let out = output(self.command().args([
            "token",
            "create",
            "--config",
            "config/hub.toml",
            "--member",
            member,
            "--role",
            role,
        ]));
        assert!(out.code == 0, "{}", out.stderr);
        out.stdout.trim().to_string()
    }

    /// Starts `lienthong serve` and returns once it listens.
    pub fn start(&self) -> Process {
        let stderr = match self.log {
            Log::Inherit => Stdio::inherit(),
            Log::Capture => Stdio::piped(),
            Log::Discard => Stdio::null(),
        };
        let process = Process::listening(
            self.command()
                .args(["serve", "--config", "config/hub.toml"])
                .stderr(stderr),
            "lienthong listening on ",
        );
        // The first start takes the port the OS gave; a restart listens there again.
        let _ = self.addr.set(process.addr().to_string());
        process
    }

    /// Runs a CLI command against this hub (`--hub`, `token` in `LIENTHONG_TOKEN`).
    pub fn run(&self, token: &str, args: &[&str]) -> Ran {
        output(
            self.command()
                .args(args)
                .args(["--hub", &self.url()])
                .env("LIENTHONG_TOKEN", token),
        )
    }

    /// `run`, and checks that the command succeeded.
    pub fn cli(&self, token: &str, args: &[&str]) -> Ran {
        let out = self.run(token, args);
        assert!(out.code == 0, "{args:?}: {}", out.stderr);
        out
    }

    /// Exports the audit log to `export`, verifies it offline with the hub's published key,
    /// and checks that the accepted ingest entries are exactly `acked`. Returns the verifier's
    /// report.
    pub fn verify_audit(&self, admin: &str, export: &Path, acked: &HashSet<String>) -> String {
        self.cli(
            admin,
            &["audit", "export", "--out", export.to_str().unwrap()],
        );
        let key = self.cli(admin, &["audit", "key"]).stdout;
        let out = output(self.command().args([
            "audit",
            "verify",
            export.to_str().unwrap(),
            "--key",
            key.trim(),
        ]));
        let report = out.stdout;
        assert!(out.code == 0, "{report}");
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
