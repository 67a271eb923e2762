//! Configuration, fault and recording types of the reference model server.
//!
//! Everything here is plain data: the server reads it, tests build it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a response takes: `base_latency + new_prompt_tokens / prefill_tps` to the first
/// token, then one token every `1 / decode_tps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostModel {
    pub base_latency: Duration,
    pub prefill_tps: f64,
    pub decode_tps: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            base_latency: Duration::from_millis(20),
            prefill_tps: 20_000.0,
            decode_tps: 1_000.0,
        }
    }
}

impl CostModel {
    /// No waiting at all; tests that only check behaviour use this to stay fast.
    pub fn instant() -> Self {
        Self {
            base_latency: Duration::ZERO,
            prefill_tps: f64::INFINITY,
            decode_tps: f64::INFINITY,
        }
    }

    /// Time from request to first token when `new_prompt_tokens` must be prefilled.
    pub fn time_to_first_token(&self, new_prompt_tokens: u64) -> Duration {
        self.base_latency + per_rate(new_prompt_tokens as f64, self.prefill_tps)
    }

    /// Offset of output token `index` from the first token.
    pub fn token_offset(&self, index: usize) -> Duration {
        per_rate(index as f64, self.decode_tps)
    }
}

fn per_rate(count: f64, rate: f64) -> Duration {
    if !(rate.is_finite() && rate > 0.0) {
        return Duration::ZERO;
    }
    Duration::from_secs_f64(count / rate)
}

/// PEM files of the certificate chain and private key; when set, every connection is TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ModelServerConfig {
    /// Where to listen; port 0 picks an ephemeral port.
    pub bind: SocketAddr,
    pub cost: CostModel,
    /// When set, requests must carry it (`Authorization: Bearer`, or `x-api-key` for Anthropic).
    pub api_key: Option<String>,
    /// Corpus mode: answers continue the prompt's prefix from this text.
    pub corpus: Option<String>,
    /// Answer used when no scripted answer is queued and no corpus is set.
    pub default_answer: String,
    /// Output cap when a request does not give one, in tokens.
    pub default_max_tokens: usize,
    pub tls: Option<TlsFiles>,
    /// A WebSocket connection older than this gets `websocket_connection_limit_reached`.
    pub ws_lifetime: Duration,
    /// Model name reported when the request names none.
    pub model: String,
    /// When set, the server plays a reasoning model (`reasoning` module).
    pub reasoning: Option<ReasoningModel>,
    /// Serve HTTP/2 too: offered by ALPN over TLS, and h2c (prior knowledge) on a plain
    /// socket. WebSocket upgrades stay HTTP/1.1.
    pub http2: bool,
}

/// A model that thinks before it answers unless told not to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasoningModel {
    /// Hidden tokens an answer spends thinking before its first visible token.
    pub hidden_tokens: u64,
    /// The efforts it takes; any other is refused with a 400.
    pub efforts: Vec<String>,
}

impl ReasoningModel {
    /// Like GPT-5.1 and later: thinking can be switched off with `none`.
    pub fn switchable(hidden_tokens: u64) -> Self {
        let efforts = ["none", "low", "medium", "high"];
        Self {
            hidden_tokens,
            efforts: efforts.map(str::to_owned).to_vec(),
        }
    }
}

impl Default for ModelServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            cost: CostModel::default(),
            api_key: None,
            corpus: None,
            default_answer: String::new(),
            default_max_tokens: 256,
            tls: None,
            ws_lifetime: Duration::from_secs(60 * 60),
            model: "spark-reference".to_owned(),
            reasoning: None,
            http2: false,
        }
    }
}

/// The wire protocols the server speaks, one per route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// The `GET /v1/responses` upgrade request itself (body is `null`).
    WebSocketHandshake,
    /// One `response.create` frame on a WebSocket.
    ResponsesWebSocket,
    /// `POST /v1/responses`.
    ResponsesHttp,
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// llama.cpp `POST /infill`.
    LlamaInfill,
    /// llama.cpp `POST /completion`: a raw prompt continued (same events as `/infill`).
    LlamaCompletion,
    /// OpenAI-style legacy `POST /v1/completions` (llama.cpp, Ollama, vLLM): a raw prompt.
    Completions,
    /// Ollama `POST /api/generate`.
    OllamaGenerate,
    /// Mistral `POST /v1/fim/completions`.
    CodestralFim,
    /// DeepSeek `POST /beta/completions`.
    DeepSeekFim,
    /// Anthropic `POST /v1/messages`.
    AnthropicMessages,
    /// Anything else (answered 404, or a helper route such as `/v1/models`).
    Other,
}

/// A one-shot fault, consumed by the next request it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long before the first byte of the response (or the first WS event).
    Stall(Duration),
    /// Close the connection abruptly after this many output tokens.
    DropAfterTokens(usize),
    /// After this many output tokens, send the protocol's in-stream error event (Responses
    /// SSE: flat `error`; WS: `error` with status 500; Anthropic: `error` `overloaded_error`;
    /// chat/FIM SSE: `data: {"error":...}`; Ollama: `{"error":...}`) and end the stream.
    StreamError { after_tokens: usize },
    /// 429 with `Retry-After` (HTTP) or a WS error with status 429 and headers.
    RateLimited { retry_after_secs: u64 },
    /// A 5xx status (HTTP) or WS error with that status.
    ServerError(u16),
    /// One event whose data is not valid JSON, just before the first token.
    Malformed,
    /// WS only: error `websocket_connection_limit_reached`, then close.
    ConnectionLimitReached,
    /// Wait this long before answering the WS upgrade or the first request on a connection.
    SlowHandshake(Duration),
    /// Answer the WebSocket upgrade with 426 so clients fall back to HTTP.
    UpgradeRequired,
    /// Send this many output tokens, then hold the rest of the stream until the gate is
    /// released: a test can act while the answer is provably unfinished.
    Hold { after_tokens: usize, gate: Gate },
}

/// Released once, by the test; every stream held on it then goes on.
#[derive(Debug, Clone)]
pub struct Gate(std::sync::Arc<tokio::sync::Semaphore>);

impl Gate {
    pub fn new() -> Self {
        Self(std::sync::Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Lets every held stream go on, now and later.
    pub fn release(&self) {
        self.0.close();
    }

    /// Waits until [`Gate::release`].
    pub(crate) async fn passed(&self) {
        // A closed semaphore fails every acquire at once; nothing ever adds a permit.
        let _ = self.0.acquire().await;
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Gate {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Gate {}

impl Fault {
    /// Handshake faults act on a connection's first request or the upgrade, not on a response.
    pub(crate) fn is_handshake(&self) -> bool {
        matches!(self, Fault::SlowHandshake(_) | Fault::UpgradeRequired)
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub endpoint: Endpoint,
    pub connection_id: u64,
    pub stream_id: Option<String>,
    /// Lowercased names, values exactly as sent (the `Authorization` value included, so tests
    /// can check a key goes only where it belongs).
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    pub received_at: Instant,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
