//! The README's commands, run as written: the newcomer's path from `lienthong init` to a
//! registered adapter and a pushed record, and the certificates of "Certificates for members"
//! made with openssl and used by curl against a hub serving TLS, where an X.509 v1 certificate
//! is refused and the hub's log says why. The only change made to a block is the port: a free
//! one the OS gave instead of the README's 8080 or 8443.

mod common;

use common::child::{HubProcess, Log, shell};
use common::repo_path;

/// The `sh` blocks that follow a `<!-- tested: tests/readme.rs, NAME -->` line, in order.
fn blocks(name: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let marker = format!("<!-- tested: tests/readme.rs, {name} -->");
    let mut out = Vec::new();
    let mut rest = readme.as_str();
    while let Some(at) = rest.find(&marker) {
        rest = &rest[at + marker.len()..];
        let start = rest.find("```sh\n").expect("a sh block after the marker") + 6;
        let end = rest[start..].find("\n```").expect("the block's end") + start;
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    assert!(!out.is_empty(), "no block marked {marker} in README.md");
    out
}

/// A loopback port nothing listens on, from the OS.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_newcomers_path_works_as_written() {
    let [block] = blocks("newcomer").try_into().expect("one newcomer block");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    assert!(block.contains("127.0.0.1:8080"), "{block}");
    // The hub it starts in the background is stopped when the script ends, however it ends.
    let script = format!(
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        block.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
    );
    let ran = shell(&script, dir.path());
    let log = std::fs::read_to_string(dir.path().join("hub.log")).unwrap_or_default();
    assert_eq!(ran.code, 0, "{}\nhub.log:\n{log}", ran.text());
    // The push's answer: accepted, with its exchange.
    let last = ran.stdout.lines().last().unwrap_or_default();
    let answer: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the push's answer is JSON ({e}): {}", ran.text()));
    assert_eq!(answer["adapter"], "motcua-quangtri", "{answer}");
    assert_eq!(answer["duplicate"], false, "{answer}");
    assert!(answer["exchange_id"].is_string(), "{answer}");
    // Everything stayed inside the directory init wrote.
    for p in [
        "hub/hub.toml",
        "hub/policies.toml",
        "hub/data",
        "hub/adapters/motcua-quangtri.toml",
    ] {
        assert!(dir.path().join(p).exists(), "{p} missing");
    }
    assert!(
        !log.contains('\u{1b}'),
        "colour codes in a log written to a file:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_how_to_works_and_a_v1_certificate_is_refused_with_its_reason() {
    let [make, call] = blocks("certificates")
        .try_into()
        .expect("two certificate blocks: the openssl commands and the call");
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path();
    let ran = shell(&make, certs);
    assert_eq!(ran.code, 0, "{}", ran.text());
    let data = tempfile::tempdir().unwrap();
    let path = |f: &str| certs.join(f).display().to_string();
    let hub = HubProcess::new(data.path().to_path_buf(), repo_path("adapters"))
        .env("LIENTHONG_TLS_ALLOW_PLAIN_HTTP", "false")
        .env("LIENTHONG_TLS_CERT", &path("hub.pem"))
        .env("LIENTHONG_TLS_KEY", &path("hub.key"))
        .env("LIENTHONG_TLS_CLIENT_CA", &path("ca.pem"))
        .log(Log::Capture);
    let mut process = hub.start();
    let port = process.addr().rsplit(':').next().unwrap().to_string();
    assert!(call.contains("localhost:8443"), "{call}");
    let ran = shell(
        &call.replace("localhost:8443", &format!("localhost:{port}")),
        certs,
    );
    assert_eq!(ran.code, 0, "{}", ran.text());
    let status: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert!(status["destinations"].is_array(), "{status}");
    // The same key signed without extensions: an X.509 v1 certificate, refused.
    let ran = shell(
        &format!(
            "openssl x509 -req -in member.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
             -out v1.pem\n\
             openssl x509 -in v1.pem -noout -text | grep -q 'Version: 1'\n\
             ! curl -sf --cacert ca.pem --cert v1.pem --key member.key \
             https://localhost:{port}/v1/relay/status"
        ),
        certs,
    );
    assert_eq!(ran.code, 0, "{}", ran.text());
    process.sigterm();
    assert!(process.wait().success());
    let log = process.stderr();
    let refused = log
        .lines()
        .find(|l| l.contains("TLS handshake refused"))
        .unwrap_or_else(|| panic!("no refused handshake in the log:\n{log}"));
    assert!(refused.contains("X.509 v1"), "{refused}");
    assert!(
        refused.contains("127.0.0.1"),
        "the client's address: {refused}"
    );
}
