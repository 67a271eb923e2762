//! Test support for spark-lsp: the reference model server (every provider wire protocol on
//! loopback), a latency proxy, a minimal HTTP/1.1 client for raw-socket tests and TLS helpers.
//! The end-to-end tests live in `tests/tests/`.

pub mod http_client;
pub mod latency_proxy;
pub mod model_server;
pub mod tls;
