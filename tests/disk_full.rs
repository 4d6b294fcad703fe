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
    // Whichever write met the full disk first (a commit, or sled's own flush, found by the
    // next operation that would write), the hub is not ready from the refusal on.
    let refused = v;
    let r = c.get(format!("{}/readyz", hub.url())).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503, "after the refusal {refused}");
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

/// A hub on a PostgreSQL database (the cluster mode) relaying a province's status events to
/// a portal: the steps the database's full-disk tests share.
struct Pushing {
    hub: lienthong::server::Hub,
    portal: common::destination::Destination,
    client: reqwest::Client,
    token: String,
    /// The dossiers' codes differ by test, so that each has its own exchanges.
    day: &'static str,
    _dirs: [tempfile::TempDir; 2],
}

/// A refused push: which, its status, its `Retry-After` and its body.
struct Refusal {
    n: usize,
    status: u16,
    retry_after: Option<reqwest::header::HeaderValue>,
    body: serde_json::Value,
}

impl Refusal {
    /// Which push was refused, and the body, once the refusal is checked to be a 503 with
    /// `Retry-After`.
    fn unavailable(self) -> (usize, serde_json::Value) {
        let v = self.body;
        assert_eq!(self.status, 503, "{v}");
        assert!(self.retry_after.is_some(), "{v}");
        (self.n, v)
    }
}

/// A file in `dir` that fills its disk but for `leave` bytes; removed to give the space back.
fn fill_leaving(dir: &std::path::Path, leave: u64) -> std::path::PathBuf {
    let filler = dir.join("filler");
    std::fs::write(
        &filler,
        vec![0u8; (free_bytes(dir).saturating_sub(leave)) as usize],
    )
    .unwrap();
    filler
}

impl Pushing {
    async fn start(db: &str, timeout_ms: Option<u64>, day: &'static str) -> Pushing {
        use common::hub::{self, HATINH, adapters_for_relay};
        let portal = common::destination::Destination::start().await;
        let files = tempfile::tempdir().unwrap();
        let adapters = adapters_for_relay(files.path(), &portal.url, 1000);
        let data = tempfile::tempdir().unwrap();
        let hub = hub::start(data.path(), |c| {
            c.server.adapters_dir = adapters.clone();
            c.store.backend = lienthong::config::hub::StoreBackend::Postgres;
            c.store.url = db.to_string();
            if let Some(ms) = timeout_ms {
                c.store.timeout_ms = ms;
            }
        })
        .await;
        let token = hub::token(&hub, HATINH, "provider");
        Pushing {
            hub,
            portal,
            client: reqwest::Client::new(),
            token,
            day,
            _dirs: [files, data],
        }
    }

    fn url(&self) -> String {
        self.hub.url()
    }

    /// Push `n`: the `n % 4`th status event of dossier `n / 4`.
    async fn push(&self, n: usize) -> reqwest::Response {
        self.client
            .post(format!(
                "{}/v1/ingest/motcua-hatinh/dossier-status",
                self.url()
            ))
            .bearer_auth(&self.token)
            .header("content-type", "application/xml")
            .body(common::hub::status_event(
                &format!("000.00.10.H42-{}-{:04}", self.day, n / 4),
                n % 4,
            ))
            .send()
            .await
            .unwrap()
    }

    /// Pushes 0, 1, … until one is not accepted: those acknowledged (with their exchanges),
    /// and the refusal.
    async fn until_refused(&self) -> (Vec<(usize, String)>, Option<Refusal>) {
        let mut acknowledged = Vec::new();
        for n in 0..100_000 {
            let r = self.push(n).await;
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").cloned();
            let body: serde_json::Value = r.json().await.unwrap();
            if status == 202 {
                acknowledged.push((n, body["exchange_id"].as_str().unwrap().to_string()));
            } else {
                let refusal = Refusal {
                    n,
                    status,
                    retry_after,
                    body,
                };
                return (acknowledged, Some(refusal));
            }
        }
        (acknowledged, None)
    }

    /// Push `n` sent again every 200 ms, at most `tries` times, until taken: its exchange.
    async fn taken_again(&self, n: usize, tries: usize) -> Option<String> {
        for _ in 0..tries {
            let r = self.push(n).await;
            if r.status().is_success() {
                let v: serde_json::Value = r.json().await.unwrap();
                return Some(v["exchange_id"].as_str().unwrap().to_string());
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        None
    }

    /// Every acknowledged push is there (sent again, it is answered with its original
    /// exchange), and `total` records are delivered within `secs`, none out of order.
    async fn all_kept_and_delivered(
        &self,
        acknowledged: &[(usize, String)],
        total: usize,
        secs: u64,
    ) {
        for (n, exchange) in acknowledged {
            let r = self.push(*n).await;
            assert_eq!(r.status().as_u16(), 200, "push {n}");
            let v: serde_json::Value = r.json().await.unwrap();
            assert_eq!(
                v["exchange_id"].as_str(),
                Some(exchange.as_str()),
                "push {n}"
            );
        }
        common::hub::wait_for(secs, "every acknowledged record delivered", || {
            self.portal.applied() == total
        })
        .await;
        let backwards = self.portal.log.lock().unwrap().gone_backwards();
        assert!(backwards.is_empty(), "{backwards:?}");
    }

    async fn healthy(&self) -> bool {
        let r = self
            .client
            .get(format!("{}/healthz", self.url()))
            .send()
            .await
            .unwrap();
        r.status().as_u16() == 200
    }
}

/// The database's disk full (the cluster mode): a database whose tables live on a small tmpfs
/// (a tablespace), filled while a hub on it takes pushes. The hub answers 503 with
/// `Retry-After` and the database's own words (no space left), stays up, acknowledges nothing
/// it did not write; once space returns it takes work again without a restart; every record it
/// acknowledged is there (a repeat is answered with its original exchange) and delivered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "mounts a tmpfs: needs root; scripts/test runs it when it has root"]
async fn the_database_disk_full_is_refused_clearly_and_loses_nothing_acknowledged() {
    if !common::postgres::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = Mount::tmpfs(dir.path(), "size=48m,mode=0755");
    let mnt = mount.0.clone();
    let space = mnt.join("tablespace");
    std::fs::create_dir_all(&space).unwrap();
    let db = common::postgres::database_in(&space, dir.path());
    let p = Pushing::start(&db, None, "251205").await;
    // Leave about 2 MiB for the hub's tables to grow into.
    let leave = 2u64 << 20;
    let filler = fill_leaving(&mnt, leave);
    let (acknowledged, refusal) = p.until_refused().await;
    let (refused, v) = refusal
        .expect("the database's disk filled up")
        .unavailable();
    let detail = v["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("No space left on device") || detail.contains("could not extend"),
        "the answer says what is wrong: {v}"
    );
    assert!(acknowledged.len() > 50, "{}", acknowledged.len());
    // Still up.
    assert!(p.healthy().await);
    // Space returns: the same hub takes work again, no restart (the refused push, sent
    // again, is accepted or answered as the repeat of a commit that did happen).
    std::fs::remove_file(&filler).unwrap();
    let again = p
        .taken_again(refused, 100)
        .await
        .expect("the hub takes work again once space returns");
    // Every acknowledged record is there, and delivered, once each, in order.
    p.all_kept_and_delivered(&acknowledged, acknowledged.len() + 1, 60)
        .await;
    eprintln!(
        "database disk full: {} pushes acknowledged, push {refused} refused ({detail}); taken again as {again} once space returned",
        acknowledged.len()
    );
    p.hub.shutdown().await.unwrap();
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
    let p = Pushing::start(&db, Some(2_000), "251206").await;
    // No room for another WAL segment (16 MiB): the log fills the one it writes, then stops.
    let filler = fill_leaving(&mnt, 1 << 20);
    let (acknowledged, refusal) = p.until_refused().await;
    let (refused, v) = refusal.expect("the WAL's disk filled up").unavailable();
    assert!(acknowledged.len() > 50, "{}", acknowledged.len());
    let detail = v["detail"].as_str().unwrap_or_default().to_string();
    // Still up, and says it is not ready while the database is away.
    assert!(p.healthy().await);
    let mut not_ready = false;
    for _ in 0..50 {
        let r = p
            .client
            .get(format!("{}/readyz", p.url()))
            .send()
            .await
            .unwrap();
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
    let again = p
        .taken_again(refused, 150)
        .await
        .expect("the hub takes work again once the database is back");
    p.all_kept_and_delivered(&acknowledged, acknowledged.len() + 1, 120)
        .await;
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
    p.hub.shutdown().await.unwrap();
}
