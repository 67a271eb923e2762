//! TLS set-up with rustls and the `ring` provider: the server config the model server uses,
//! and a client config trusting one self-signed certificate (the committed test fixture).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use tokio_rustls::rustls::crypto::ring::default_provider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::model_server::TlsFiles;

/// The self-signed certificate for `localhost` and `127.0.0.1` under `tests/fixtures/tls/`.
pub fn fixture_files() -> TlsFiles {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tls");
    TlsFiles {
        cert_pem: dir.join("cert.pem"),
        key_pem: dir.join("key.pem"),
    }
}

fn load_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading certificates from {}", path.display()))
}

/// Server config offering HTTP/2 by ALPN when `http2`, else HTTP/1.1 only (ALPN `http/1.1`), so
/// HTTP/2-capable clients stay on 1.1.
pub fn server_config(files: &TlsFiles, http2: bool) -> anyhow::Result<Arc<ServerConfig>> {
    let certs = load_certs(&files.cert_pem)?;
    let key = PrivateKeyDer::from_pem_file(&files.key_pem)
        .with_context(|| format!("reading private key from {}", files.key_pem.display()))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Arc::new(config))
}

/// Client config that trusts exactly the certificates in `cert_pem`.
pub fn client_config(cert_pem: &Path) -> anyhow::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(cert_pem)? {
        roots.add(cert)?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
