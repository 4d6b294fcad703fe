//! A full disk under the data directory (a small tmpfs mounted for the test, so it needs root;
//! `scripts/test` runs it when it has root and says so when it does not): the hub refuses new
//! work with a clear 503, stays up, says it is not ready and why, loses nothing it
//! acknowledged, and after space returns and a restart takes work again.

mod common;

use common::child::{HubProcess, Log, Process};
use common::repo_path;
use std::process::Command;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root; scripts/test runs it when it has root"]
async fn a_full_disk_is_refused_clearly_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(ok.success(), "mounting a tmpfs (run as root)");
    let _mount = Mount(mnt.clone());
    // Space to give back later.
    std::fs::write(mnt.join("filler"), vec![0u8; 5 << 20]).unwrap();
    let data = mnt.join("data");
    // A new hub process on the same store for each start: each on a port of its own.
    let hub_process = || HubProcess::new(data.clone(), repo_path("adapters")).log(Log::Discard);
    let token = hub_process().token(common::hub::REGISTER, "provider");
    let hub = hub_process().start();
    let c = reqwest::Client::new();
    let body = std::fs::read_to_string(repo_path(
        "adapters/samples/population-registry/citizen.json",
    ))
    .unwrap();
    let push = |hub: &Process, key: String| {
        c.post(format!(
            "{}/v1/ingest/population-registry/citizen",
            hub.url()
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(body.clone())
        .send()
    };
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let mut refusal = None;
    for i in 0..20_000 {
        let r = push(&hub, format!("k{i}")).await.unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().await.unwrap();
        if status == 202 {
            acknowledged.push((
                format!("k{i}"),
                v["exchange_id"].as_str().unwrap().to_string(),
            ));
        } else {
            refusal = Some((status, v));
            break;
        }
    }
    let (status, v) = refusal.expect("the disk filled up");
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["code"], "store.unwritable", "{v}");
    assert!(v["detail"].as_str().unwrap().contains("space"), "{v}");
    assert!(acknowledged.len() > 100, "{}", acknowledged.len());
    // Still up, and not ready, with the cause.
    let r = c
        .get(format!("{}/healthz", hub.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = c.get(format!("{}/readyz", hub.url())).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["store_error"].as_str().unwrap().contains("space"), "{v}");
    let r = push(&hub, "more".into()).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    // Space returns; the store needs a restart to write again.
    std::fs::remove_file(mnt.join("filler")).unwrap();
    drop(hub);
    let hub = hub_process().start();
    // Every acknowledged record is there: a repeat is answered with its original exchange.
    for (key, exchange) in &acknowledged {
        let r = push(&hub, key.clone()).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{key}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["exchange_id"].as_str(), Some(exchange.as_str()), "{key}");
    }
    let r = push(&hub, "after".into()).await.unwrap();
    assert_eq!(r.status().as_u16(), 202);
}
