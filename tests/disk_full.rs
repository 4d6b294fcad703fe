//! A full disk under the data directory (a small tmpfs mounted for the test, so it needs root;
//! `scripts/test` runs it when it has root and says so when it does not): the hub refuses new
//! work with a clear 503, stays up, says it is not ready and why, loses nothing it
//! acknowledged, and after space returns and a restart takes work again. And the same for the
//! cluster mode's database (its tables on a tmpfs), where no restart is needed.

mod common;

use common::child::{HubProcess, Log, Process};
use common::repo_path;
use std::process::Command;

struct Mount(std::path::PathBuf);

impl Mount {
    /// A tmpfs mounted at `dir/mnt` with `options` (run as root); unmounted when dropped.
    fn tmpfs(dir: &std::path::Path, options: &str) -> Mount {
        let mnt = dir.join("mnt");
        std::fs::create_dir_all(&mnt).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&mnt)
            .status()
            .unwrap();
        assert!(ok.success(), "mounting a tmpfs (run as root)");
        Mount(mnt)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let done = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !done {
            // A server that still holds a file there (the database's tablespace): detached
            // now, gone when it lets go.
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root; scripts/test runs it when it has root"]
async fn a_full_disk_is_refused_clearly_and_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(dir.path(), "size=8m");
    let mnt = mount.0.clone();
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

/// The bytes free on the file system holding `path`.
fn free_bytes(path: &std::path::Path) -> u64 {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df prints the free bytes")
}

/// The database's disk full (the cluster mode): a database whose tables live on a small tmpfs
/// (a tablespace), filled while a hub on it takes pushes. The hub answers 503 with
/// `Retry-After` and the database's own words (no space left), stays up, acknowledges nothing
/// it did not write; once space returns it takes work again without a restart; every record it
/// acknowledged is there (a repeat is answered with its original exchange) and delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root; scripts/test runs it when it has root"]
async fn the_database_disk_full_is_refused_clearly_and_loses_nothing_acknowledged() {
    use common::destination::Destination;
    use common::hub::{self, HATINH, adapters_for_relay, status_event, wait_for};
    if !common::postgres::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(dir.path(), "size=48m,mode=0755");
    let mnt = mount.0.clone();
    let space = mnt.join("tablespace");
    std::fs::create_dir_all(&space).unwrap();
    let db = common::postgres::database_in(&space, dir.path());
    let portal = Destination::start().await;
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let data = tempfile::tempdir().unwrap();
    let h = hub::start(data.path(), |c| {
        c.server.adapters_dir = adapters.clone();
        c.store.backend = lienthong::config::hub::StoreBackend::Postgres;
        c.store.url = db.clone();
    })
    .await;
    let url = h.url();
    let token = hub::token(&h, HATINH, "provider");
    let c = reqwest::Client::new();
    let push = |n: usize| {
        c.post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
            .bearer_auth(&token)
            .header("content-type", "application/xml")
            .body(status_event(
                &format!("000.00.10.H42-251205-{:04}", n / 4),
                n % 4,
            ))
            .send()
    };
    // Leave about 2 MiB for the hub's tables to grow into.
    let leave = 2u64 << 20;
    let filler = mnt.join("filler");
    std::fs::write(
        &filler,
        vec![0u8; (free_bytes(&mnt).saturating_sub(leave)) as usize],
    )
    .unwrap();
    let mut acknowledged: Vec<(usize, String)> = Vec::new();
    let mut refusal = None;
    for n in 0..100_000 {
        let r = push(n).await.unwrap();
        let status = r.status().as_u16();
        let retry_after = r.headers().get("retry-after").cloned();
        let v: serde_json::Value = r.json().await.unwrap();
        if status == 202 {
            acknowledged.push((n, v["exchange_id"].as_str().unwrap().to_string()));
        } else {
            refusal = Some((n, status, retry_after, v));
            break;
        }
    }
    let (refused, status, retry_after, v) = refusal.expect("the database's disk filled up");
    assert_eq!(status, 503, "{v}");
    assert!(retry_after.is_some(), "{v}");
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("No space left on device") || detail.contains("could not extend"),
        "the answer says what is wrong: {v}"
    );
    assert!(acknowledged.len() > 50, "{}", acknowledged.len());
    // Still up.
    let r = c.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // Space returns: the same hub takes work again, no restart (the refused push, sent
    // again, is accepted or answered as the repeat of a commit that did happen).
    std::fs::remove_file(&filler).unwrap();
    let mut again = None;
    for _ in 0..100 {
        let r = push(refused).await.unwrap();
        if r.status().is_success() {
            let v: serde_json::Value = r.json().await.unwrap();
            again = Some(v["exchange_id"].as_str().unwrap().to_string());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let again = again.expect("the hub takes work again once space returns");
    // Every acknowledged record is there: a repeat is answered with its original exchange.
    for (n, exchange) in &acknowledged {
        let r = push(*n).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "push {n}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            v["exchange_id"].as_str(),
            Some(exchange.as_str()),
            "push {n}"
        );
    }
    // And delivered, once each, in order.
    let total = acknowledged.len() + 1;
    wait_for(60, "every acknowledged record delivered", || {
        portal.applied() == total
    })
    .await;
    let backwards = portal.log.lock().unwrap().gone_backwards();
    assert!(backwards.is_empty(), "{backwards:?}");
    eprintln!(
        "database disk full: {} pushes acknowledged, push {refused} refused ({detail}); taken again as {again} once space returned",
        acknowledged.len()
    );
    h.shutdown().await.unwrap();
}

/// The database's WAL on a full disk (the cluster mode): PostgreSQL cannot write its log, and
/// stops with a PANIC (and may fail the same way when it restarts to recover). The hub answers
/// 503 with `Retry-After` while the database is away, stays up, and acknowledges nothing it
/// did not write; once space returns and the database is started again, the same hub takes
/// work again without a restart; every record it acknowledged is there (a repeat is answered
/// with its original exchange) and delivered once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root; scripts/test runs it when it has root"]
async fn the_database_wal_on_a_full_disk_stops_it_and_loses_nothing_acknowledged() {
    use common::destination::Destination;
    use common::hub::{self, HATINH, adapters_for_relay, status_event, wait_for};
    if !common::postgres::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(dir.path(), "size=40m,mode=0755");
    let mnt = mount.0.clone();
    let wal = mnt.join("wal");
    std::fs::create_dir_all(&wal).unwrap();
    let mut pg = common::postgres::OwnServer::start_with_wal_in(&wal);
    let db = pg.database(dir.path());
    let portal = Destination::start().await;
    let files = tempfile::tempdir().unwrap();
    let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
    let data = tempfile::tempdir().unwrap();
    let h = hub::start(data.path(), |c| {
        c.server.adapters_dir = adapters.clone();
        c.store.backend = lienthong::config::hub::StoreBackend::Postgres;
        c.store.url = db.clone();
        c.store.timeout_ms = 2_000;
    })
    .await;
    let url = h.url();
    let token = hub::token(&h, HATINH, "provider");
    let c = reqwest::Client::new();
    let push = |n: usize| {
        c.post(format!("{url}/v1/ingest/motcua-hatinh/dossier-status"))
            .bearer_auth(&token)
            .header("content-type", "application/xml")
            .body(status_event(
                &format!("000.00.10.H42-251206-{:04}", n / 4),
                n % 4,
            ))
            .send()
    };
    // No room for another WAL segment (16 MiB): the log fills the one it writes, then stops.
    let filler = mnt.join("filler");
    std::fs::write(
        &filler,
        vec![0u8; (free_bytes(&mnt).saturating_sub(1 << 20)) as usize],
    )
    .unwrap();
    let mut acknowledged: Vec<(usize, String)> = Vec::new();
    let mut refusal = None;
    for n in 0..100_000 {
        let r = push(n).await.unwrap();
        let status = r.status().as_u16();
        let retry_after = r.headers().get("retry-after").cloned();
        let v: serde_json::Value = r.json().await.unwrap();
        if status == 202 {
            acknowledged.push((n, v["exchange_id"].as_str().unwrap().to_string()));
        } else {
            refusal = Some((n, status, retry_after, v));
            break;
        }
    }
    let (refused, status, retry_after, v) = refusal.expect("the WAL's disk filled up");
    assert_eq!(status, 503, "{v}");
    assert!(retry_after.is_some(), "{v}");
    assert!(acknowledged.len() > 50, "{}", acknowledged.len());
    let detail = v["detail"].as_str().unwrap_or_default().to_string();
    // Still up, and says it is not ready while the database is away.
    let r = c.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut not_ready = false;
    for _ in 0..50 {
        let r = c.get(format!("{url}/readyz")).send().await.unwrap();
        if r.status().as_u16() == 503 {
            not_ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        not_ready,
        "/readyz says the hub is not ready while its database is away"
    );
    let stopped = pg.exited();
    // Space returns, and the database is started again (as its operator would after the
    // PANIC): the same hub takes work again.
    std::fs::remove_file(&filler).unwrap();
    pg.restart();
    let mut again = None;
    for _ in 0..150 {
        let r = push(refused).await.unwrap();
        if r.status().is_success() {
            let v: serde_json::Value = r.json().await.unwrap();
            again = Some(v["exchange_id"].as_str().unwrap().to_string());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let again = again.expect("the hub takes work again once the database is back");
    for (n, exchange) in &acknowledged {
        let r = push(*n).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "push {n}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            v["exchange_id"].as_str(),
            Some(exchange.as_str()),
            "push {n}"
        );
    }
    let total = acknowledged.len() + 1;
    wait_for(120, "every acknowledged record delivered", || {
        portal.applied() == total
    })
    .await;
    let backwards = portal.log.lock().unwrap().gone_backwards();
    assert!(backwards.is_empty(), "{backwards:?}");
    eprintln!(
        "WAL disk full: {} pushes acknowledged, push {refused} refused ({detail}); the server \
         {} by itself; taken again as {again} once space returned and it was started",
        acknowledged.len(),
        if stopped {
            "had stopped"
        } else {
            "was still running"
        }
    );
    h.shutdown().await.unwrap();
}
