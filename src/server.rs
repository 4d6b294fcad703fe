//! Running the hub: open the store, load schemas and adapters, bind, serve HTTP/1.1 and HTTP/2
//! over plain TCP or rustls (with client certificates mapped to members), and shut down
//! gracefully: stop accepting, let in-flight requests finish within the grace period, flush.

use crate::api::{self, AppState, PeerCertificate};
use crate::config::hub::HubConfig;
use crate::registry::AdapterRegistry;
use crate::store::Store;
use crate::validate::{SchemaRegistry, ValidationOptions};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

mod tls;
use tls::{certificate_names, refusal_reason, tls_acceptor};

/// Why the hub could not start or stop cleanly. Each names the file or address involved.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("opening the store at {dir}: {source}")]
    Store {
        dir: String,
        source: crate::store::StoreError,
    },
    #[error("loading schemas: {0}")]
    Schemas(#[from] crate::validate::RegistryError),
    #[error("loading adapters: {0}")]
    Adapters(#[from] crate::registry::RegistryError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the server task failed: {0}")]
    Task(String),
    #[error("reading the member catalogue: {0}")]
    Members(#[source] crate::store::StoreError),
}

/// A running hub.
pub struct Hub {
    addr: SocketAddr,
    tls: bool,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    state: AppState,
}

impl Hub {
    /// Starts a hub with `config`; it is serving when this returns.
    pub async fn start(config: HubConfig) -> Result<Hub, ServerError> {
        let config = Arc::new(config);
        let store_config = config.clone();
        let store = tokio::task::spawn_blocking(move || {
            Store::open_configured(&store_config).map_err(|source| ServerError::Store {
                dir: match store_config.store.backend {
                    crate::config::hub::StoreBackend::Sled => {
                        store_config.server.data_dir.display().to_string()
                    }
                    crate::config::hub::StoreBackend::Postgres => "store.url".to_string(),
                },
                source,
            })
        })
        .await
        .map_err(|e| ServerError::Task(e.to_string()))??;
        let options = ValidationOptions {
            agency_code: crate::model::AgencyCodeRule::new(&config.validation.agency_code_pattern)
                .map_err(|e| ServerError::Tls(format!("agency code pattern: {e}")))?,
            max_errors: config.validation.max_errors,
        };
        let schemas = Arc::new(if config.server.schemas_dir.as_os_str().is_empty() {
            SchemaRegistry::embedded(&options)?
        } else {
            SchemaRegistry::load_dir(&config.server.schemas_dir, &options)?
        });
        let registry = Arc::new(AdapterRegistry::open(
            store.clone(),
            schemas.clone(),
            config.probe,
        )?);
        load_adapters(&registry, &config.server.adapters_dir)?;
        let tls = if config.tls.allow_plain_http {
            tracing::warn!(
                "serving plain HTTP (tls.allow_plain_http = true): for development on loopback \
                 only; members cannot authenticate with certificates"
            );
            None
        } else {
            Some(tls_acceptor(&config)?)
        };
        let listener = TcpListener::bind(&config.server.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.server.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.server.listen.clone(),
            source,
        })?;
        let metrics = Arc::new(crate::metrics::Metrics::default());
        let key_path = config.audit.key_path(&config.server.data_dir);
        let key = Arc::new(
            crate::signing::HubKey::load_or_create(&config.audit.origin, &key_path)
                .map_err(|e| ServerError::Task(e.to_string()))?,
        );
        let mut policy = load_policy(&config.server.policies_file)?;
        // A policy set through the registry (PUT /v1/policy) is in force over the file.
        match store.latest_policy() {
            Ok(Some(stored)) => match crate::config::policy::PolicyConfig::parse(
                &format!("policy version {} (registry)", stored.version),
                &stored.text,
            ) {
                Ok(p) => {
                    tracing::info!(
                        version = stored.version,
                        "the disclosure policy set through the registry is in force"
                    );
                    policy = p;
                }
                Err(e) => {
                    tracing::error!("the stored policy does not load ({e}); the file is used")
                }
            },
            Ok(None) => {}
            Err(e) => tracing::error!("reading the stored policy: {e}; the file is used"),
        }
        let onceonly = Arc::new(crate::onceonly::OnceOnly::new(
            Arc::new(policy),
            store.clone(),
            registry.clone(),
            schemas.clone(),
            key.clone(),
        ));
        let audit = Arc::new(
            crate::audit::AuditLog::open(store.clone(), key, &config.audit)
                .map_err(|e| ServerError::Task(format!("opening the audit log: {e}")))?,
        );
        let relay = crate::relay::Relay::start(
            store.clone(),
            registry.clone(),
            config.routes.clone(),
            config.relay,
            metrics.clone(),
            audit,
        )
        .map_err(|e| ServerError::Task(format!("starting the relay: {e}")))?;
        for route in &config.routes {
            for p in relay.check_route(route) {
                tracing::warn!(record_type = %route.record_type, "route of the config: {p}");
            }
        }
        relay.spawn_workers();
        let state = AppState::new(
            config.clone(),
            store,
            schemas,
            registry,
            relay,
            onceonly,
            metrics,
        )
        .map_err(ServerError::Members)?;
        let app = api::router(state.clone());
        let (shutdown, rx) = watch::channel(false);
        let is_tls = tls.is_some();
        let task = tokio::spawn(accept_loop(listener, app, tls, config, rx));
        tracing::info!(
            "lienthong listening on {}://{addr}",
            if is_tls { "https" } else { "http" }
        );
        Ok(Hub {
            addr,
            tls: is_tls,
            shutdown,
            task,
            state,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, e.g. `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// The state its handlers share (for tests and embedding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish (within the grace period), flushes the
    /// store.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(true);
        self.task
            .await
            .map_err(|e| ServerError::Task(e.to_string()))?;
        self.state.relay.stop().await;
        if let Some(q) = &self.state.quality {
            q.stop().await;
        }
        let store = self.state.store.clone();
        tokio::task::spawn_blocking(move || store.flush())
            .await
            .map_err(|e| ServerError::Task(e.to_string()))?
            .map_err(|source| ServerError::Store {
                dir: "(flush at shutdown)".into(),
                source,
            })?;
        Ok(())
    }
}

fn load_adapters(registry: &AdapterRegistry, dir: &Path) -> Result<(), ServerError> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    if !dir.is_dir() {
        tracing::warn!(
            "adapters_dir {} does not exist; no adapter files loaded",
            dir.display()
        );
        return Ok(());
    }
    for reg in registry.load_dir(dir)? {
        let name = reg.adapter.as_deref().unwrap_or("?");
        // Places of the samples the mapping drops, mapped places no sample has: names, never
        // values.
        for w in &reg.check.warnings {
            tracing::warn!(file = %reg.check.file, "adapter check: {w}");
        }
        if reg.accepted && reg.unchanged {
            tracing::info!(
                adapter = name,
                version = reg.version,
                "adapter file unchanged"
            );
        } else if reg.accepted {
            tracing::info!(adapter = name, version = reg.version, file = %reg.check.file, "adapter registered from file");
        } else {
            let mut problems = reg.check.definition.clone();
            for s in &reg.check.samples {
                for e in &s.errors {
                    problems.push(format!("{}: {e}", s.file));
                }
            }
            tracing::error!(file = %reg.check.file, "adapter file refused: {}", problems.join("; "));
        }
    }
    Ok(())
}

/// A connection that, when the server closes it, first reads and drops what the client is still
/// sending (up to 1 MB or 1 s). Closing with unread data makes the kernel send a reset, which
/// can destroy an answer the client has not read yet, such as the 431 for a header past the
/// limit while the client is still writing that header.
struct Lingering<S> {
    inner: S,
    shut: bool,
    drain: Option<(std::pin::Pin<Box<tokio::time::Sleep>>, usize)>,
}

impl<S> Lingering<S> {
    fn new(inner: S) -> Self {
        Lingering {
            inner,
            shut: false,
            drain: None,
        }
    }
}

impl<S: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Lingering<S> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite
    for Lingering<S>
{
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let this = &mut *self;
        if !this.shut {
            if let Err(e) = std::task::ready!(std::pin::Pin::new(&mut this.inner).poll_shutdown(cx))
            {
                return Poll::Ready(Err(e));
            }
            this.shut = true;
        }
        let (deadline, left) = this.drain.get_or_insert_with(|| {
            (
                Box::pin(tokio::time::sleep(Duration::from_secs(1))),
                1 << 20,
            )
        });
        let mut scratch = [0u8; 8192];
        loop {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Ok(()));
            }
            let mut buf = tokio::io::ReadBuf::new(&mut scratch);
            match std::pin::Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    if n == 0 || n >= *left {
                        return Poll::Ready(Ok(()));
                    }
                    *left -= n;
                }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    config: Arc<HubConfig>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = config.limits;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
        .max_buf_size(limits.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32);
    let builder = Arc::new(builder);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer_addr) = match accepted {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let app = app.clone();
                let tls = tls.clone();
                let handshake = Duration::from_millis(limits.header_timeout_ms);
                tokio::spawn(async move {
                    match tls {
                        None => {
                            let client = api::ClientAddr(peer_addr.ip());
                            let svc = app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                                req.extensions_mut().insert(client);
                                req
                            });
                            let svc = TowerToHyperService::new(svc);
                            let conn = builder.serve_connection(TokioIo::new(Lingering::new(stream)), svc);
                            let _ = watcher.watch(conn.into_owned()).await;
                        }
                        Some(acceptor) => {
                            let tls_stream = match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                                Ok(Ok(s)) => s,
                                Ok(Err(e)) => {
                                    match refusal_reason(&e) {
                                        Some(why) => tracing::warn!(peer = %peer_addr, "TLS handshake refused: {why}"),
                                        None => tracing::debug!(peer = %peer_addr, "connection closed before a TLS handshake: {e}"),
                                    }
                                    return;
                                }
                                Err(_) => {
                                    tracing::info!(peer = %peer_addr, "TLS handshake timed out after {} ms", handshake.as_millis());
                                    return;
                                }
                            };
                            let names = tls_stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| certificate_names(c.as_ref()))
                                .unwrap_or_default();
                            let peer = PeerCertificate { names };
                            let client = api::ClientAddr(peer_addr.ip());
                            let svc = app.map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                                req.extensions_mut().insert(peer.clone());
                                req.extensions_mut().insert(client);
                                req
                            });
                            let svc = TowerToHyperService::new(svc);
                            let conn = builder.serve_connection(TokioIo::new(Lingering::new(tls_stream)), svc);
                            let _ = watcher.watch(conn.into_owned()).await;
                        }
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    let grace = Duration::from_secs(config.server.shutdown_grace_secs);
    tracing::info!(
        "shutting down: draining in-flight requests (up to {}s)",
        grace.as_secs()
    );
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing the remaining connections");
    }
}

/// The policy file, or an empty policy (every pull denied) when none is configured or found.
fn load_policy(path: &std::path::Path) -> Result<crate::config::policy::PolicyConfig, ServerError> {
    if path.as_os_str().is_empty() || !path.exists() {
        tracing::warn!(
            file = %path.display(),
            "no policy file: every once-only pull will be denied"
        );
        return Ok(Default::default());
    }
    crate::config::policy::PolicyConfig::load(path).map_err(|e| ServerError::Task(e.to_string()))
}
