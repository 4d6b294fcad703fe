//! TLS to PostgreSQL: with `store.ca_file`, every connection is encrypted with rustls and the
//! server's certificate and host name are checked against that CA (libpq's `verify-full`,
//! whatever `sslmode` says short of `disable`). Without it the connection is plain, and a URL
//! that asks for `sslmode=require` is refused with what to give.

use super::super::StoreError;
use std::path::Path;

/// How the backend's connections are made.
#[derive(Clone)]
pub enum PgTls {
    Plain,
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl std::fmt::Debug for PgTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PgTls::Plain => "Plain",
            PgTls::Rustls(_) => "Rustls",
        })
    }
}

impl PgTls {
    /// What `url` and `ca_file` (the CA certificates, PEM, that signed the database server's
    /// certificate; empty for none) ask for.
    pub fn from_config(url: &str, ca_file: &Path) -> Result<PgTls, StoreError> {
        use postgres::config::SslMode;
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Format(format!("store.url: {e}")))?;
        let mode = config.get_ssl_mode();
        if mode == SslMode::Disable {
            return Ok(PgTls::Plain);
        }
        if ca_file.as_os_str().is_empty() {
            if mode == SslMode::Require {
                return Err(StoreError::Format(
                    "store.url asks for sslmode=require: give store.ca_file, the CA certificate \
                     (PEM) that signed the database server's certificate; the hub checks the \
                     server's certificate and host name against it"
                        .into(),
                ));
            }
            return Ok(PgTls::Plain);
        }
        use tokio_rustls::rustls::pki_types::CertificateDer;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca_file)
            .and_then(|it| it.collect())
            .map_err(|e| StoreError::Format(format!("store.ca_file {}: {e}", ca_file.display())))?;
        if certs.is_empty() {
            return Err(StoreError::Format(format!(
                "store.ca_file {} holds no certificate",
                ca_file.display()
            )));
        }
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        for c in certs {
            roots.add(c).map_err(|e| {
                StoreError::Format(format!("store.ca_file {}: {e}", ca_file.display()))
            })?;
        }
        let provider =
            std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let client = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Format(format!("TLS to the database: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(PgTls::Rustls(
            tokio_postgres_rustls::MakeRustlsConnect::new(client),
        ))
    }

    /// Connects with `config`.
    pub(super) fn connect(
        &self,
        config: &postgres::Config,
    ) -> Result<postgres::Client, postgres::Error> {
        match self {
            PgTls::Plain => config.connect(postgres::NoTls),
            PgTls::Rustls(t) => config.connect(t.clone()),
        }
    }

    /// Cancels the statement running under `token`.
    pub(super) fn cancel(&self, token: &postgres::CancelToken) -> Result<(), postgres::Error> {
        match self {
            PgTls::Plain => token.cancel_query(postgres::NoTls),
            PgTls::Rustls(t) => token.cancel_query(t.clone()),
        }
    }
}
