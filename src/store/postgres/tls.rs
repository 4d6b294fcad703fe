//! TLS to PostgreSQL: with `store.ca_file`, every connection is encrypted with rustls and the
//! server's certificate and host name are checked against that CA (libpq's `verify-full`,
//! whatever `sslmode` says short of `disable`). Without it the connection is plain, and a URL
//! that asks for `sslmode=require` is refused with what to give. With `store.cert_file` and
//! `store.key_file` too, the hub presents its client certificate (`cert` authentication).

use super::super::StoreError;
use std::path::Path;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

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

/// The files of TLS to the database (`store.ca_file`, `store.cert_file`, `store.key_file`);
/// empty paths for none.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    pub ca: std::path::PathBuf,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

impl PgTls {
    /// What `url` and `ca_file` (the CA certificates, PEM, that signed the database server's
    /// certificate; empty for none) ask for.
    pub fn from_config(url: &str, ca_file: &Path) -> Result<PgTls, StoreError> {
        Self::from_files(
            url,
            &TlsFiles {
                ca: ca_file.to_path_buf(),
                ..Default::default()
            },
        )
    }

    /// What `url` and `files` ask for: `files.ca` as in `from_config`; `files.cert` and
    /// `files.key` (both or neither, and only with `files.ca`), the client certificate the hub
    /// presents.
    pub fn from_files(url: &str, files: &TlsFiles) -> Result<PgTls, StoreError> {
        use postgres::config::SslMode;
        let ca_file = files.ca.as_path();
        let client_files = match (
            files.cert.as_os_str().is_empty(),
            files.key.as_os_str().is_empty(),
        ) {
            (true, true) => None,
            (false, false) => Some((files.cert.as_path(), files.key.as_path())),
            (false, true) => {
                return Err(StoreError::Format(
                    "store.cert_file is given without store.key_file: give the certificate's \
                     private key (PEM) too"
                        .into(),
                ));
            }
            (true, false) => {
                return Err(StoreError::Format(
                    "store.key_file is given without store.cert_file: give the client \
                     certificate (PEM) too"
                        .into(),
                ));
            }
        };
        if client_files.is_some() && ca_file.as_os_str().is_empty() {
            return Err(StoreError::Format(
                "store.cert_file is given without store.ca_file: a client certificate is sent \
                 over TLS only, and the hub checks the server's certificate against \
                 store.ca_file first"
                    .into(),
            ));
        }
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Format(format!("store.url: {e}")))?;
        let mode = config.get_ssl_mode();
        if mode == SslMode::Disable {
            if client_files.is_some() {
                return Err(StoreError::Format(
                    "store.url says sslmode=disable, but store.cert_file is given: a client \
                     certificate is sent over TLS only"
                        .into(),
                ));
            }
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
        let certs = certificates("store.ca_file", ca_file)?;
        let mut roots = tokio_rustls::rustls::RootCertStore::empty();
        for c in certs {
            roots.add(c).map_err(|e| {
                StoreError::Format(format!("store.ca_file {}: {e}", ca_file.display()))
            })?;
        }
        let provider =
            std::sync::Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let builder = tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| StoreError::Format(format!("TLS to the database: {e}")))?
            .with_root_certificates(roots);
        let client = match client_files {
            None => builder.with_no_client_auth(),
            Some((cert_file, key_file)) => {
                let (chain, key) = client_identity(cert_file, key_file)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    StoreError::Format(format!(
                        "store.cert_file {} and store.key_file {}: {e}",
                        cert_file.display(),
                        key_file.display()
                    ))
                })?
            }
        };
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

/// The certificates of a PEM file, the option that names it (`option`) in any error; at
/// least one.
fn certificates(option: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect())
        .map_err(|e| StoreError::Format(format!("{option} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(StoreError::Format(format!(
            "{option} {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

/// The client certificate's chain and its private key, read from PEM files.
fn client_identity(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), StoreError> {
    let chain = certificates("store.cert_file", cert)?;
    key_file_private(key)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        StoreError::Format(format!(
            "store.key_file {}: no private key read ({e})",
            key.display()
        ))
    })?;
    Ok((chain, key))
}

/// libpq's rule for a client key file, kept so that a file libpq would refuse is not taken
/// here: no access by group or others if the hub's user owns it; if root owns it (a key shared
/// through a group), at most read access by the group.
fn key_file_private(key: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(key)
        .map_err(|e| StoreError::Format(format!("store.key_file {}: {e}", key.display())))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mode = meta.mode();
    let open = if meta.uid() == me {
        mode & 0o077 != 0
    } else {
        meta.uid() == 0 && mode & 0o037 != 0
    };
    if open {
        return Err(StoreError::Format(format!(
            "store.key_file {} is open to others (mode {:04o}): a private key must be readable \
             by its owner only (chmod 600), or by root and a group (chmod 640, owned by root), \
             as libpq requires",
            key.display(),
            mode & 0o7777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(url: &str, ca: &str, cert: &str, key: &str) -> String {
        let files = TlsFiles {
            ca: ca.into(),
            cert: cert.into(),
            key: key.into(),
        };
        match PgTls::from_files(url, &files) {
            Err(e) => e.to_string(),
            Ok(t) => panic!("taken: {t:?}"),
        }
    }

    #[test]
    fn a_client_certificate_needs_its_key_the_ca_and_tls() {
        let url = "postgresql://lienthong@db1/lienthong";
        assert!(refusal(url, "ca.pem", "hub.pem", "").contains("without store.key_file"));
        assert!(refusal(url, "ca.pem", "", "hub.key").contains("without store.cert_file"));
        assert!(refusal(url, "", "hub.pem", "hub.key").contains("without store.ca_file"));
        let plain = "postgresql://lienthong@db1/lienthong?sslmode=disable";
        assert!(refusal(plain, "ca.pem", "hub.pem", "hub.key").contains("sslmode=disable"));
        // Files that are not there: named.
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("none.pem");
        let e = refusal(url, ca.to_str().unwrap(), "hub.pem", "hub.key");
        assert!(e.contains("store.ca_file") && e.contains("none.pem"), "{e}");
    }

    #[test]
    fn a_key_file_open_to_others_is_refused_as_libpq_refuses_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("hub.key");
        std::fs::write(&key, "not read before its mode is checked").unwrap();
        for (mode, taken) in [(0o600, true), (0o400, true), (0o640, false), (0o604, false)] {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
            let found = key_file_private(&key);
            assert_eq!(found.is_ok(), taken, "mode {mode:o}: {found:?}");
            if let Err(e) = found {
                let e = e.to_string();
                assert!(
                    e.contains("store.key_file") && e.contains("chmod 600"),
                    "{e}"
                );
            }
        }
    }
}
