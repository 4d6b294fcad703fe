//! A real PostgreSQL server for the tests of the PostgreSQL backend: Debian's `postgres`,
//! initialised in a temporary directory (as the unprivileged `postgres` user when the tests run
//! as root, since the server refuses root), listening on a loopback port the OS gave. One
//! server per test binary (`server`, killed when the binary ends), each test with a database of
//! its own (`database`); or a server of a test's own (`OwnServer`) that it stops and starts.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The server a test binary shares.
pub struct Server {
    pub port: u16,
    _dir: PathBuf,
}

/// The directory of the newest PostgreSQL's programs, if PostgreSQL is installed.
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, b)| b)
}

/// Whether the PostgreSQL tests run here: the server is installed, or the test command asks
/// for them (`LIENTHONG_REQUIRE_POSTGRES=1`, set by `scripts/test`, which installs it), in
/// which case a missing server is a failure, not a skip.
pub fn available() -> bool {
    let required = std::env::var("LIENTHONG_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let found = bin_dir().is_some();
    if !found && !required {
        eprintln!(
            "PostgreSQL is not installed: its backend is not tested here (scripts/test installs \
             it and requires these tests)"
        );
    }
    found || required
}

/// The uid and gid to run the server as: the `postgres` user when the tests run as root.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return None;
    }
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("`id` runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a postgres user (Debian's postgresql package makes it)")
    };
    Some((id("-u"), id("-g")))
}

fn as_server_user(c: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = user {
        c.uid(uid).gid(gid);
    }
    c
}

/// A data directory made by initdb, in a new temporary directory (kept: the server's).
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    user: Option<(u32, u32)>,
    port: u16,
    /// More `-c name=value` settings for the server.
    settings: Vec<String>,
}

impl Cluster {
    /// A new temporary directory and port, nothing in them yet.
    fn empty() -> Cluster {
        let bin = bin_dir().expect("PostgreSQL is installed (apt-get install postgresql)");
        let user = server_user();
        let dir = tempfile::Builder::new()
            .prefix("lienthong-pg-")
            .tempdir()
            .expect("a temporary directory")
            .keep();
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).expect("chown the data directory");
        }
        let data = dir.join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Cluster {
            bin,
            dir,
            data,
            user,
            port,
            settings: Vec::new(),
        }
    }

    /// A new data directory made by initdb.
    fn init() -> Cluster {
        Cluster::init_with_wal(None)
    }

    /// A new data directory made by initdb, its WAL in `wal` when given (an empty directory,
    /// given to the server's user here).
    fn init_with_wal(wal: Option<&Path>) -> Cluster {
        let c = Cluster::empty();
        let mut initdb = Command::new(c.bin.join("initdb"));
        if let Some(wal) = wal {
            if let Some((uid, gid)) = c.user {
                std::os::unix::fs::chown(wal, Some(uid), Some(gid)).expect("chown the WAL's place");
            }
            initdb.arg(format!("--waldir={}", wal.display()));
        }
        let out = as_server_user(&mut initdb, c.user)
            .args(["-D"])
            .arg(&c.data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .expect("initdb runs");
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c
    }

    /// A standby of the server on `primary_port`, by pg_basebackup (`-R`: it streams from
    /// the primary when started).
    fn standby_of(primary_port: u16) -> Cluster {
        let c = Cluster::empty();
        let out = as_server_user(&mut Command::new(c.bin.join("pg_basebackup")), c.user)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &primary_port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-X", "stream", "-R", "--no-sync", "-D"])
            .arg(&c.data)
            .output()
            .expect("pg_basebackup runs");
        assert!(
            out.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c
    }

    /// Starts the server; it dies with the thread that called this (PR_SET_PDEATHSIG).
    fn spawn(&self) -> Child {
        let mut command = Command::new(self.bin.join("postgres"));
        as_server_user(&mut command, self.user)
            .arg("-D")
            .arg(&self.data)
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200"])
            .args(self.settings.iter().flat_map(|s| ["-c", s.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number; no memory is touched.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        command.spawn().expect("postgres starts")
    }
}

/// Waits until the server on `port` accepts connections (from a thread of its own: callable
/// from async tests).
fn wait_ready(port: u16) {
    let url = admin_url(port);
    std::thread::scope(|s| {
        s.spawn(|| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while postgres::Client::connect(&url, postgres::NoTls).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "PostgreSQL did not accept connections within 30 s"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        })
        .join()
        .expect("the server is ready");
    });
}

/// The test binary's server, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let cluster = Cluster::init();
        let (port, dir) = (cluster.port, cluster.dir.clone());
        // Started by a thread that lives as long as the test binary: no server is left behind
        // when the tests end, and none dies when the test that first asked for it ends.
        std::thread::spawn(move || {
            let mut child = cluster.spawn();
            let _ = child.wait();
        });
        wait_ready(port);
        Server { port, _dir: dir }
    })
}

fn admin_url(port: u16) -> String {
    format!("host=127.0.0.1 port={port} user=postgres dbname=postgres")
}

/// A URL of a database of the test's own on the shared server, named after `key` (created
/// when it is not there): the same key gives the same database, so a store closed and opened
/// again finds its data. Callable from async tests.
pub fn database(key: &Path) -> String {
    create_database(server().port, key)
}

/// A database of the test's own on the test binary's server whose tables live in `location`
/// (a tablespace there: an empty directory, given to the server's user here), so that a test
/// can fill the disk under the database's data and not under the server's WAL.
pub fn database_in(location: &Path, key: &Path) -> String {
    if let Some((uid, gid)) = server_user() {
        std::os::unix::fs::chown(location, Some(uid), Some(gid)).expect("chown the tablespace");
    }
    create_database_with(server().port, key, Some(location))
}

fn create_database(port: u16, key: &Path) -> String {
    create_database_with(port, key, None)
}

fn create_database_with(port: u16, key: &Path, location: Option<&Path>) -> String {
    let name = format!(
        "lt_{}",
        key.to_string_lossy()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            })
            .collect::<String>()
    );
    let name: String = name
        .chars()
        .rev()
        .take(60)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let name = format!("x{name}");
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut admin = postgres::Client::connect(&admin_url(port), postgres::NoTls)
                .expect("an admin connection");
            let exists = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                .expect("pg_database is read")
                .is_some();
            if !exists {
                let space = match location {
                    Some(dir) => {
                        admin
                            .batch_execute(&format!(
                                "CREATE TABLESPACE \"{name}\" LOCATION '{}'",
                                dir.display()
                            ))
                            .expect("a tablespace is created");
                        format!(" TABLESPACE \"{name}\"")
                    }
                    None => String::new(),
                };
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{name}\"{space}"))
                    .expect("a database is created");
            }
        })
        .join()
        .expect("the database is made");
    });
    format!("postgresql://postgres@127.0.0.1:{port}/{name}")
}

/// A server of a test's own, which the test stops (a fast shutdown, as when a primary goes
/// away) and starts again on the same port and data; killed when dropped.
pub struct OwnServer {
    cluster: Cluster,
    child: Option<Child>,
}

impl OwnServer {
    /// A new server, started and ready.
    pub fn start() -> OwnServer {
        let mut s = OwnServer {
            cluster: Cluster::init(),
            child: None,
        };
        s.restart();
        s
    }

    /// A new server whose WAL lives in `wal` (an empty directory: a small disk of the
    /// test's, say), started and ready.
    pub fn start_with_wal_in(wal: &Path) -> OwnServer {
        let mut s = OwnServer {
            cluster: Cluster::init_with_wal(Some(wal)),
            child: None,
        };
        s.restart();
        s
    }

    /// Whether the server process has ended (a PANIC it did not come back from, say).
    pub fn exited(&mut self) -> bool {
        self.child
            .as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }

    /// A new server that also takes TLS connections, with `cert` and `key` (PEM).
    pub fn start_tls(cert: &str, key: &str) -> OwnServer {
        use std::os::unix::fs::PermissionsExt;
        let mut cluster = Cluster::init();
        for (name, text, mode) in [("server.crt", cert, 0o644), ("server.key", key, 0o600)] {
            let path = cluster.dir.join(name);
            std::fs::write(&path, text).expect("write the server's TLS file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            if let Some((uid, gid)) = cluster.user {
                std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
            }
        }
        let at = |n: &str| cluster.dir.join(n).display().to_string();
        cluster.settings = vec![
            "ssl=on".into(),
            format!("ssl_cert_file={}", at("server.crt")),
            format!("ssl_key_file={}", at("server.key")),
        ];
        let mut s = OwnServer {
            cluster,
            child: None,
        };
        s.restart();
        s
    }

    /// As `start_tls`, asking clients for a certificate signed by `client_ca` (PEM): the user
    /// `user` (created here; give it a database with `ALTER DATABASE … OWNER`) may connect
    /// only over TLS with a certificate whose common name is its name (`cert`
    /// authentication); `postgres` keeps trust, for the test's own connections.
    pub fn start_tls_client_auth(cert: &str, key: &str, client_ca: &str, user: &str) -> OwnServer {
        let mut s = OwnServer::start_tls(cert, key);
        let ca_path = s.cluster.dir.join("client-ca.crt");
        std::fs::write(&ca_path, client_ca).expect("write the clients' CA");
        let hba = s.cluster.data.join("pg_hba.conf");
        std::fs::write(
            &hba,
            format!(
                "local all all trust\n\
                 hostssl all {user} 127.0.0.1/32 cert\n\
                 hostssl all {user} ::1/128 cert\n\
                 host all postgres 127.0.0.1/32 trust\n\
                 host all postgres ::1/128 trust\n"
            ),
        )
        .expect("write pg_hba.conf");
        if let Some((uid, gid)) = s.cluster.user {
            for p in [&ca_path, &hba] {
                std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
            }
        }
        s.cluster
            .settings
            .push(format!("ssl_ca_file={}", ca_path.display()));
        s.restart();
        s.sql(&format!("CREATE ROLE {user} LOGIN"));
        s
    }

    pub fn port(&self) -> u16 {
        self.cluster.port
    }

    /// A database of the test's own on this server.
    pub fn database(&self, key: &Path) -> String {
        create_database(self.cluster.port, key)
    }

    /// Kills the server (SIGKILL: a crash, as when its machine dies).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `pg_ctl promote` on this (standby) server and waits until it takes writes.
    pub fn promote(&self) {
        let out = as_server_user(
            &mut Command::new(self.cluster.bin.join("pg_ctl")),
            self.cluster.user,
        )
        .args(["promote", "-w", "-D"])
        .arg(&self.cluster.data)
        .output()
        .expect("pg_ctl runs");
        assert!(
            out.status.success(),
            "pg_ctl promote: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs SQL as the server's superuser (from a thread of its own: callable from async
    /// tests).
    pub fn sql(&self, sql: &str) -> Vec<postgres::Row> {
        let url = admin_url(self.cluster.port);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
                c.simple_query("SELECT 1").expect("answers");
                c.query(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"))
            })
            .join()
            .expect("the SQL ran")
        })
    }

    /// Stops the server (SIGINT: a fast shutdown; open connections are closed).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill with a pid of our own child and a signal number.
            unsafe {
                libc::kill(child.id() as i32, libc::SIGINT);
            }
            let _ = child.wait();
        }
    }

    /// Starts the server again and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some(self.cluster.spawn());
        wait_ready(self.cluster.port);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A primary and a synchronous standby of it (`synchronous_standby_names = '*'`,
/// `synchronous_commit = on`, as the cluster's shipped settings say): a commit is acknowledged
/// by the primary once the standby holds it.
pub struct Replicated {
    pub primary: OwnServer,
    pub standby: OwnServer,
}

impl Replicated {
    /// Starts both and waits until the standby streams synchronously.
    pub fn start() -> Replicated {
        let mut primary = Cluster::init();
        primary.settings = vec![
            "synchronous_standby_names=*".into(),
            "synchronous_commit=on".into(),
        ];
        let mut primary = OwnServer {
            cluster: primary,
            child: None,
        };
        primary.restart();
        let mut standby = OwnServer {
            cluster: Cluster::standby_of(primary.port()),
            child: None,
        };
        standby.restart();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while primary
            .sql("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")
            .is_empty()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the standby did not become synchronous within 30 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Replicated { primary, standby }
    }

    /// A database of the test's own (made on the primary), and the URL that names both
    /// servers and asks for the one that takes writes.
    pub fn database(&self, key: &Path) -> String {
        let single = self.primary.database(key);
        let name = single
            .rsplit('/')
            .next()
            .expect("a database name")
            .to_string();
        format!(
            "postgresql://postgres@127.0.0.1:{},127.0.0.1:{}/{name}?target_session_attrs=read-write",
            self.primary.port(),
            self.standby.port()
        )
    }
}
