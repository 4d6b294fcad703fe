//! The `lienthong` binary as an operator runs it: tokens from the command line, `serve` with the
//! shipped config and environment overrides, a log with no token or personal ID in it, and a
//! graceful shutdown on SIGTERM that lets an in-flight request finish.

mod common;

use common::child::{HubProcess, Log, output};
use common::repo_path;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A hub process on `data` with the shipped adapters, logging at debug level into a pipe.
fn hub_process(data: &std::path::Path) -> HubProcess {
    HubProcess::new(data.to_path_buf(), repo_path("adapters"))
        .env("RUST_LOG", "debug")
        .log(Log::Capture)
}

/// One HTTP/1.1 request over a plain socket; returns the status code and the body.
fn request(addr: &str, method: &str, path: &str, token: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (status, body)
}

#[test]
fn the_log_holds_no_token_or_personal_id_and_sigterm_drains_in_flight_requests() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub_process(data.path());
    let register = hub.token("000.00.00.G12", "provider");
    let hatinh = hub.token("000.00.00.H42", "provider");
    assert!(register.starts_with("lt_"));
    let mut child = hub.start();
    let addr = child.addr().to_string();

    let citizen = std::fs::read(repo_path(
        "adapters/samples/population-registry/citizen.json",
    ))
    .unwrap();
    let (status, _) = request(
        &addr,
        "POST",
        "/v1/ingest/population-registry/citizen",
        &register,
        &citizen,
    );
    assert_eq!(status, 202);
    let wrong = String::from_utf8(citizen.clone())
        .unwrap()
        .replace("\"2\"", "\"1\"");
    let (status, body) = request(
        &addr,
        "POST",
        "/v1/ingest/population-registry/citizen",
        &register,
        wrong.as_bytes(),
    );
    assert_eq!(status, 422, "{body}");
    let soap = std::fs::read(repo_path(
        "adapters/samples/motcua-hatinh/status-in-progress.xml",
    ))
    .unwrap();
    let (status, _) = request(
        &addr,
        "POST",
        "/v1/ingest/motcua-hatinh/dossier-status",
        &hatinh,
        &soap,
    );
    assert_eq!(status, 202);
    let forged = format!("{}x", &hatinh[..hatinh.len() - 1]);
    let (status, _) = request(
        &addr,
        "POST",
        "/v1/ingest/motcua-hatinh/dossier-status",
        &forged,
        &soap,
    );
    assert_eq!(status, 401);

    // An in-flight request: head and half the body sent, then SIGTERM, then the rest.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v1/ingest/motcua-hatinh/dossier-status HTTP/1.1\r\nhost: {addr}\r\n\
         authorization: Bearer {hatinh}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        soap.len()
    )
    .unwrap();
    let half = soap.len() / 2;
    s.write_all(&soap[..half]).unwrap();
    s.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.sigterm();
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&soap[half..]).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(
        resp.starts_with("HTTP/1.1 200"),
        "the in-flight request was cut: {resp}"
    );
    // No new connection is accepted once shutting down.
    assert!(
        TcpStream::connect(&addr).is_err() || {
            let start = Instant::now();
            loop {
                if child.has_exited() {
                    break true;
                }
                if start.elapsed() > Duration::from_secs(10) {
                    break false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    );
    let status = child.wait();
    assert!(status.success(), "exit status {status}");
    let log = child.stderr();
    assert!(log.contains("lienthong listening on"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    for secret in [&register, &hatinh, &forged] {
        let secret_part = secret.splitn(3, '_').nth(2).unwrap();
        assert!(!log.contains(secret_part), "a token is in the log");
    }
    for id in ["042192004518", "042089003127"] {
        assert!(!log.contains(id), "a personal ID is in the log");
    }
}

#[test]
fn the_adapter_commands_talk_to_a_running_hub() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub_process(data.path());
    let admin = hub.token("000.00.00.A01", "admin");
    let mut child = hub.start();
    let run = |args: &[&str]| {
        let out = hub.run(&admin, args);
        (out.code, out.stdout, out.stderr)
    };
    let (code, out, err) = run(&["adapter", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("motcua-hatinh") && out.contains("enabled"),
        "{out}"
    );
    // Register a copy of a shipped adapter under a new name, with its samples.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo_path("adapters/population-registry.toml"))
        .unwrap()
        .replace("name = \"population-registry\"", "name = \"dancu-ban-sao\"");
    std::fs::write(dir.path().join("dancu.toml"), text).unwrap();
    let samples = dir.path().join("samples/population-registry");
    std::fs::create_dir_all(&samples).unwrap();
    for f in [
        "citizen.json",
        "citizen-partial-date.json",
        "citizen.json.canonical.json",
    ] {
        std::fs::copy(
            repo_path(&format!("adapters/samples/population-registry/{f}")),
            samples.join(f),
        )
        .unwrap();
    }
    let file = dir.path().join("dancu.toml");
    let (code, out, err) = run(&["adapter", "register", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("registered as version 1"), "{err}");
    assert!(
        out.contains("\"golden\": \"matches\""),
        "the golden file travelled: {out}"
    );
    let (code, out, _) = run(&["adapter", "show", "dancu-ban-sao"]);
    assert_eq!(code, 0);
    assert!(out.contains("name = \"dancu-ban-sao\""), "{out}");
    let (code, _, err) = run(&["adapter", "disable", "dancu-ban-sao"]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["adapter", "list"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("dancu-ban-sao") && l.contains("DISABLED")),
        "{out}"
    );
    // A definition with a mistake is refused with exit 1 and the reason.
    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("[records.citizen]", "[records.citizen]\nbogus = 1"),
    )
    .unwrap();
    let (code, out, _) = run(&["adapter", "register", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("bogus"), "{out}");
    child.sigterm();
    assert!(child.wait().success());
}

#[test]
fn relay_status_and_dead_letters_are_shown_by_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let hub = hub_process(data.path());
    let admin = hub.token("000.00.00.A01", "admin");
    let hatinh = hub.token("000.00.00.H42", "provider");
    let mut child = hub.start();
    let addr = child.addr().to_string();
    // One status event, routed to the portal, which is not running: it waits in the outbox.
    let soap = std::fs::read(repo_path(
        "adapters/samples/motcua-hatinh/status-in-progress.xml",
    ))
    .unwrap();
    let (status, _) = request(
        &addr,
        "POST",
        "/v1/ingest/motcua-hatinh/dossier-status",
        &hatinh,
        &soap,
    );
    assert_eq!(status, 202);
    // Commands that must succeed (`cli` checks the exit status).
    let run = |args: &[&str]| {
        let out = hub.cli(&admin, args);
        (out.stdout, out.stderr)
    };
    let (out, _) = run(&["relay", "status"]);
    let line = out
        .lines()
        .find(|l| l.starts_with("national-portal"))
        .unwrap_or_else(|| panic!("{out}"));
    let depth: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(depth, 1, "{out}");
    let (_, err) = run(&["dead", "list"]);
    assert!(err.contains("0 dead letter(s)"), "{err}");
    let out = output(
        hub.command()
            .args(["dead", "show", "not-an-id", "--hub", &hub.url()]),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("DESTINATION/SEQ"));
    child.sigterm();
    assert!(child.wait().success());
}
