//! One TLS configuration for every provider transport (reqwest and the WebSocket client).
//!
//! Roots come from the system store (`rustls-native-certs`, which honours `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`) plus an optional extra CA bundle (`provider.caCertFile`) for corporate TLS.
//! The crypto provider is `ring`, chosen explicitly so that no second crypto stack is built.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::ProviderError;

/// A client configuration trusting the system roots and the certificates in `extra_ca_file`.
pub fn client_config(
    extra_ca_file: Option<&Path>,
) -> Result<Arc<rustls::ClientConfig>, ProviderError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for err in &native.errors {
        tracing::debug!("skipping a system certificate: {err}");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "system root certificates");
    if let Some(path) = extra_ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<_, _>>())
            .map_err(|err| {
                ProviderError::Config(format!("provider.caCertFile {}: {err}", path.display()))
            })?;
        if certs.is_empty() {
            return Err(ProviderError::Config(format!(
                "provider.caCertFile {} holds no PEM certificate",
                path.display()
            )));
        }
        let (added, _) = roots.add_parsable_certificates(certs);
        tracing::info!(added, file = %path.display(), "extra CA certificates");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| ProviderError::Config(format!("TLS set-up: {err}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
