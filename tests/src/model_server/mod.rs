//! The reference model server: one loopback port speaking every provider wire protocol
//! spark-lsp uses (OpenAI Responses over WebSocket and SSE, Chat Completions, llama.cpp,
//! Ollama, Codestral and DeepSeek FIM, Anthropic Messages), with a latency cost model,
//! scripted, oracle (next edits) or corpus answers, one-shot fault injection and request
//! recording.
//!
//! Routes (base `http://127.0.0.1:PORT`): `GET /v1/responses` (WebSocket upgrade),
//! `POST /v1/responses`, `POST /v1/chat/completions`, `POST /v1/fim/completions`,
//! `POST /v1/messages`, `POST /infill`, `POST /completion`, `POST /api/generate`,
//! `POST /beta/completions`, `POST /v1/completions`,
//! plus `GET /v1/models` and `GET /health`.
//!
//! *Invariant:* no timing is asserted anywhere; the cost model only shapes when bytes leave.

mod chat;
mod config;
mod http;
mod http2;
mod native;
mod oracle;
mod plan;
mod reasoning;
mod responses;
mod routes;
mod state;
mod stream;
mod text;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub use config::{
    CostModel, Endpoint, Fault, Gate, ModelServerConfig, ReasoningModel, RecordedRequest, TlsFiles,
};
pub use oracle::{Hunk, Oracle, Question, QuestionKind};
pub use text::{CURSOR_MARKER, estimate_tokens, split_tokens};

use http::Io;
use state::Shared;

/// A running server. Dropping it stops accepting and closes every connection.
#[derive(Debug)]
pub struct ModelServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ModelServer {
    /// Binds `config.bind` (port 0 = ephemeral) and starts serving.
    pub async fn start(config: ModelServerConfig) -> anyhow::Result<ModelServer> {
        let acceptor = match &config.tls {
            Some(files) => Some(TlsAcceptor::from(crate::tls::server_config(
                files,
                config.http2,
            )?)),
            None => None,
        };
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let task = tokio::spawn(accept_loop(listener, acceptor.clone(), shared.clone()));
        Ok(ModelServer {
            addr,
            tls: acceptor.is_some(),
            shared,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS): the root for `/infill`, `/api/generate`,
    /// `/beta/completions`.
    pub fn root_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1` (`https` with TLS).
    pub fn http_base(&self) -> String {
        format!("{}/v1", self.root_url())
    }

    /// `ws://127.0.0.1:PORT/v1/responses` (`wss` with TLS).
    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/v1/responses", self.addr)
    }

    /// Queues an answer for the next request on any endpoint.
    pub fn push_answer(&self, text: impl Into<String>) {
        self.shared.push_answer(None, text.into());
    }

    /// Queues an answer for the next request on `endpoint` only.
    pub fn push_answer_for(&self, endpoint: Endpoint, text: impl Into<String>) {
        self.shared.push_answer(Some(endpoint), text.into());
    }

    /// Scripted answers queued and not taken by a request yet.
    pub fn answers_left(&self) -> usize {
        self.shared.answers_left()
    }

    /// Queues a one-shot fault for the next request it applies to, on any endpoint.
    /// Drops the answers and faults queued and not used yet (a driver's next step starts clean).
    pub fn clear_scripts(&self) {
        self.shared.clear_scripts();
    }

    pub fn push_fault(&self, fault: Fault) {
        self.shared.push_fault(None, fault);
    }

    /// Queues a one-shot fault for the next request on `endpoint`.
    pub fn push_fault_for(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.push_fault(Some(endpoint), fault);
    }

    /// Every request so far, in arrival order (WS `response.create` frames included).
    /// When each complete HTTP response wrote its last byte, in order.
    pub fn finished_at(&self) -> Vec<std::time::Instant> {
        self.shared.finished_at()
    }

    /// How many requests were recorded, without copying them (benchmarks ask per request).
    pub fn request_count(&self) -> usize {
        self.shared.request_count()
    }

    /// When the `index`th recorded request was received (its last byte read).
    pub fn received_at(&self, index: usize) -> Option<std::time::Instant> {
        self.shared.received_at(index)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    pub fn requests_for(&self, endpoint: Endpoint) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.endpoint == endpoint)
            .collect()
    }

    /// Hidden tokens the answers so far spent thinking (a [`ReasoningModel`] server).
    pub fn thinking_tokens(&self) -> u64 {
        self.shared.thinking_tokens.load(Ordering::Relaxed)
    }

    /// Chat Completions prompt tokens the prompt cache held so far (OpenAI's automatic caching:
    /// prefixes shared with recent prompts, 1,024 tokens or more, in 128-token blocks).
    pub fn cached_chat_tokens(&self) -> u64 {
        self.shared.cached_chat_tokens.load(Ordering::Relaxed)
    }

    /// Connections so far that spoke HTTP/2 (ALPN `h2`, or h2c).
    pub fn http2_connections(&self) -> usize {
        self.shared.http2_connections.load(Ordering::Relaxed)
    }

    /// TCP connections accepted so far.
    pub fn connections_accepted(&self) -> usize {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// WebSocket upgrades completed so far.
    pub fn websocket_connections(&self) -> usize {
        self.shared.ws_connections.load(Ordering::Relaxed)
    }

    /// Lets `oracle` answer the next-edit questions it recognises (`None`: no oracle).
    pub fn set_oracle(&self, oracle: Option<Arc<Oracle>>) {
        self.shared.set_oracle(oracle);
    }

    /// Switches corpus mode on (`Some`) or off.
    pub fn set_corpus(&self, text: Option<String>) {
        self.shared.set_corpus(text);
    }

    pub fn config(&self) -> &ModelServerConfig {
        &self.shared.config
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Owns every connection task, so aborting it closes them all.
async fn accept_loop(listener: TcpListener, acceptor: Option<TlsAcceptor>, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!("model server accept failed: {error}");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let conn_id = shared.connections.fetch_add(1, Ordering::Relaxed) as u64 + 1;
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            let (io, http2): (Box<dyn Io>, bool) = match acceptor {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(tls) => {
                        let http2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        (Box::new(tls), http2)
                    }
                    Err(error) => {
                        tracing::debug!(conn_id, "tls handshake failed: {error}");
                        return;
                    }
                },
                None => {
                    let http2 = shared.config.http2 && speaks_h2c(&tcp).await;
                    (Box::new(tcp), http2)
                }
            };
            if http2 {
                http2::serve_connection(shared, conn_id, io).await;
            } else {
                routes::serve_connection(shared, conn_id, io).await;
            }
        });
    }
}

/// Whether a plain connection opens with the HTTP/2 preface (h2c with prior knowledge); looks
/// without consuming, so an HTTP/1.1 request is read whole afterwards.
async fn speaks_h2c(tcp: &tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; http2::PREFACE.len()];
    loop {
        let Ok(n) = tcp.peek(&mut buf).await else {
            return false;
        };
        if n == 0 || buf[..n] != http2::PREFACE[..n] {
            return false;
        }
        if n == buf.len() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}
