//! TLS for the hub: the acceptor (the hub's certificate, and the client CA when members use
//! certificates), the names a client certificate gives, and why a handshake was refused.

use super::ServerError;
use crate::config::hub::HubConfig;
use std::sync::Arc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Why a TLS handshake was refused, in words an operator can act on; `None` when the client
/// went away without finishing a hello (a port check, a closed socket), which is no refusal.
pub(super) fn refusal_reason(e: &std::io::Error) -> Option<String> {
    use rustls::{CertificateError, Error as Tls};
    let Some(tls) = e.get_ref().and_then(|x| x.downcast_ref::<Tls>()) else {
        return match e.kind() {
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::BrokenPipe => None,
            _ => Some(format!("{e}")),
        };
    };
    let why = match tls {
        Tls::NoCertificatesPresented => {
            "the client sent no certificate, and tls.require_client_cert \
             is on"
                .to_string()
        }
        Tls::InvalidCertificate(c) => {
            let what = match c {
                CertificateError::UnknownIssuer => {
                    "it is not signed by a CA of tls.client_ca".to_string()
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "it has expired".to_string()
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "it is not valid yet (check the clocks)".to_string()
                }
                CertificateError::Revoked => "it is revoked".to_string(),
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => {
                    "its extended key usage does not allow client authentication \
                     (extendedKeyUsage = clientAuth)"
                        .to_string()
                }
                CertificateError::BadEncoding => "it is not a well-formed certificate".to_string(),
                other => {
                    let text = format!("{other:?}");
                    if text.contains("UnsupportedCertVersion") {
                        "it is an X.509 v1 certificate; the hub takes v3 only (sign it with \
                         extensions, e.g. `openssl x509 -req … -extfile member.ext`, as the \
                         README shows)"
                            .to_string()
                    } else {
                        format!("{other}")
                    }
                }
            };
            format!("the client certificate was refused: {what}")
        }
        Tls::PeerIncompatible(p) => format!("the client cannot speak what the hub requires: {p:?}"),
        Tls::NoApplicationProtocol => {
            "the client offered no application protocol the hub speaks (h2, http/1.1)".to_string()
        }
        other => format!("{other}"),
    };
    Some(why)
}

pub(super) fn tls_acceptor(config: &HubConfig) -> Result<TlsAcceptor, ServerError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let t = &config.tls;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.cert)
        .and_then(|it| it.collect())
        .map_err(|e| ServerError::Tls(format!("tls.cert {}: {e}", t.cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(&t.key)
        .map_err(|e| ServerError::Tls(format!("tls.key {}: {e}", t.key.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    let builder = if t.client_ca.as_os_str().is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&t.client_ca)
            .and_then(|it| it.collect())
            .map_err(|e| {
                ServerError::Tls(format!("tls.client_ca {}: {e}", t.client_ca.display()))
            })?;
        for ca in cas {
            roots
                .add(ca)
                .map_err(|e| ServerError::Tls(format!("tls.client_ca: {e}")))?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let verifier = if t.require_client_cert {
            verifier
        } else {
            verifier.allow_unauthenticated()
        };
        builder.with_client_cert_verifier(
            verifier
                .build()
                .map_err(|e| ServerError::Tls(format!("client verifier: {e}")))?,
        )
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(format!("certificate and key: {e}")))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}

/// The subject common name and DNS names of a client certificate.
pub(super) fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push(d.to_string());
            }
        }
    }
    names
}
