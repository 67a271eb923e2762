//! End-to-end tests of the reference model server and the latency proxy, over real loopback
//! sockets: raw HTTP/1.1 (the crate's `HttpClient`) and a tokio-tungstenite WebSocket client.
//! They assert wire shapes and behaviour, never timing.

#![allow(clippy::unwrap_used)]

mod h2c;
mod http;
mod providers;
mod proxy;
mod support;
mod ws;
mod ws_faults;
