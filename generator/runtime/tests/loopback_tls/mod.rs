//! TLS for the loopback test servers: the certificate of `tests/data` (for `localhost`),
//! which the clients under test are told to trust.

use std::sync::Arc;

use rustls::pki_types::PrivateKeyDer;

/// A self-signed certificate for `localhost` (valid until 2126), made with `openssl req
/// -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj
/// /CN=localhost -addext subjectAltName=DNS:localhost`, and its key.
pub const CERT_DER: &[u8] = include_bytes!("../data/cert.der");
pub const KEY_DER: &[u8] = include_bytes!("../data/key.der");

/// An acceptor with that certificate, offering the ALPN protocols `alpn` (none: no ALPN).
pub fn acceptor(alpn: &[&[u8]]) -> tokio_rustls::TlsAcceptor {
    // Deprecated since rustls 0.23.48 (no post-quantum key exchange); the runtime's client
    // uses ring too, see `transport::ring_provider`.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CERT_DER.to_vec().into()], PrivateKeyDer::Pkcs8(KEY_DER.to_vec().into()))
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
