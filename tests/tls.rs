//! Mutual TLS with a CA and certificates generated in the test (rcgen): a client with a valid
//! certificate is that member; no certificate, an unknown CA, an unknown name, a token of
//! another member or the wrong role is refused.

mod common;

use common::ca::Ca;
use common::hub::{self, HATINH};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn client(ca: &Ca, identity: Option<&(String, String)>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap()]);
    if let Some((cert, key)) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap());
    }
    b.build().unwrap()
}

/// A hub serving TLS with `ca` as the client CA.
async fn tls_hub(
    data: &Path,
    files: &Path,
    ca: &Ca,
    require_client_cert: bool,
) -> lienthong::server::Hub {
    let (cert, key) = ca.issue("localhost", &["localhost", "127.0.0.1"], true);
    let cert = write(files, "server.pem", &cert);
    let key = write(files, "server-key.pem", &key);
    let client_ca = write(files, "client-ca.pem", &ca.pem());
    hub::start(data, |cfg| {
        cfg.tls.allow_plain_http = false;
        cfg.tls.cert = cert;
        cfg.tls.key = key;
        cfg.tls.client_ca = client_ca;
        cfg.tls.require_client_cert = require_client_cert;
    })
    .await
}

fn dossier() -> String {
    std::fs::read_to_string(common::repo_path(
        "adapters/samples/motcua-hatinh/dossier.xml",
    ))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_its_member() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let ca = Ca::new("lienthong test CA");
    let hub = tls_hub(data.path(), files.path(), &ca, false).await;
    assert!(hub.url().starts_with("https://"));
    let url = format!("https://localhost:{}", hub.addr().port());
    let ingest = format!("{url}/v1/ingest/motcua-hatinh/dossier");

    // The one-stop system of Hà Tĩnh, by its certificate's common name: no token needed.
    let motcua = ca.issue("motcua-hatinh", &[], false);
    let resp = client(&ca, Some(&motcua))
        .post(&ingest)
        .body(dossier())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // Matched by a DNS subject alternative name as well.
    let by_san = ca.issue("some other name", &["motcua-hatinh"], false);
    let resp = client(&ca, Some(&by_san))
        .post(&ingest)
        .body(dossier())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // No certificate and no token: 401.
    let resp = client(&ca, None)
        .post(&ingest)
        .body(dossier())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // A certificate from the right CA naming no member: 401.
    let stranger = ca.issue("stranger", &[], false);
    let resp = client(&ca, Some(&stranger))
        .post(&ingest)
        .body(dossier())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "auth.certificate");
    // A member in the wrong role (a ministry, consumer only) may not push: 403.
    let ministry = ca.issue("ministry-labour", &[], false);
    let resp = client(&ca, Some(&ministry))
        .post(&ingest)
        .body(dossier())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Another member's certificate with a token of Hà Tĩnh: refused as a mismatch.
    let token = hub::token(&hub, HATINH, "provider");
    let resp = client(&ca, Some(&ministry))
        .post(&ingest)
        .bearer_auth(&token)
        .body(dossier())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "auth.mismatch");
    // A certificate with the right name from an unknown CA: the handshake fails.
    let rogue = Ca::new("rogue CA");
    let forged = rogue.issue("motcua-hatinh", &[], false);
    let result = client(&ca, Some(&forged))
        .post(&ingest)
        .body(dossier())
        .send()
        .await;
    match result {
        Err(_) => {}
        Ok(resp) => panic!(
            "a certificate of an unknown CA was let in: {}",
            resp.status()
        ),
    }
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_certificates_are_required_a_client_without_one_cannot_connect() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let ca = Ca::new("lienthong test CA");
    let hub = tls_hub(data.path(), files.path(), &ca, true).await;
    let url = format!("https://localhost:{}/healthz", hub.addr().port());
    assert!(client(&ca, None).get(&url).send().await.is_err());
    let motcua = ca.issue("motcua-hatinh", &[], false);
    let resp = client(&ca, Some(&motcua)).get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    hub.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_signs_in_with_a_client_certificate_and_its_cookie_is_secure() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let ca = Ca::new("lienthong test CA");
    let hub = tls_hub(data.path(), files.path(), &ca, false).await;
    let url = format!("https://localhost:{}", hub.addr().port());
    let motcua = ca.issue("motcua-hatinh", &[], false);
    let with_cert = client(&ca, Some(&motcua));
    let resp = with_cert
        .post(format!("{url}/console/session"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    // Under TLS the cookie is Secure as well as HttpOnly and SameSite=Strict, and named with
    // the __Host- prefix (no other host can set one).
    assert!(cookie.starts_with("__Host-lienthong_session="), "{cookie}");
    for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["member"], HATINH);
    let session = cookie.split(';').next().unwrap().to_string();
    // The session holds with the same certificate...
    let again = with_cert
        .get(format!("{url}/console/session"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    // ... and not without it: the cookie alone is not the member.
    let stolen = client(&ca, None)
        .get(format!("{url}/v1/relay/status"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), StatusCode::UNAUTHORIZED);
    // A page of another site cannot make the browser's certificate act for it.
    let cross = with_cert
        .post(format!("{url}/v1/adapters/motcua-hatinh/disable"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    assert!(hub.state().registry.get("motcua-hatinh").unwrap().enabled);
    // No certificate and no token: no session.
    let none = client(&ca, None)
        .post(format!("{url}/console/session"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
}
