//! End-to-end tests of the HTTP providers against the reference model server, over real
//! loopback sockets: every wire protocol's request shape, streaming, error mapping, keep-alive,
//! cancellation, TLS and key hygiene in logs. No timing is asserted; waits are only guarded.

#![allow(clippy::unwrap_used)]

mod behaviour;
mod breaker;
mod http2;
mod proxy;
mod support;
mod transport;
mod wire;
