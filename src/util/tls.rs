//! The rustls client configuration shared by the TLS clients (SMPP sessions to an SMSC, the
//! PostgreSQL store): the CA certificates of a `TlsClientConfig` as the only roots (the system's
//! store is not read), ring as the crypto provider, TLS 1.2 and 1.3.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::TlsClientConfig;

/// A client configuration trusting the PEM CA file of `tls`; an error names the file. None
/// gives one that trusts nothing (for a client that refuses TLS before any handshake).
pub fn client_config_or_none(
    tls: Option<&TlsClientConfig>,
) -> Result<rustls::ClientConfig, String> {
    match tls {
        Some(t) => client_config(t),
        None => with_roots(rustls::RootCertStore::empty()),
    }
}

/// A client configuration trusting the PEM CA file of `tls`; an error names the file.
pub fn client_config(tls: &TlsClientConfig) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&tls.ca)
        .map_err(|e| format!("reading CA {}: {e}", tls.ca.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("CA {}: {e}", tls.ca.display()))?;
        roots
            .add(cert)
            .map_err(|e| format!("CA {}: {e}", tls.ca.display()))?;
    }
    if roots.is_empty() {
        return Err(format!("CA {}: no certificate in it", tls.ca.display()));
    }
    with_roots(roots)
}

fn with_roots(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth())
}
