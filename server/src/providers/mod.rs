//! Model providers: one trait, one file per wire protocol.
//!
//! A provider turns a typed [`ModelRequest`] into a [`TextStream`] of text deltas. Dropping the
//! stream cancels the work: an HTTP answer is read only when the stream is polled, and a
//! producing task (a WebSocket lane, the local model) sees its channel close and stops, so an
//! abandoned request stops consuming tokens.

mod anthropic;
pub mod breaker;
mod build;
mod fim;
pub mod http;
mod http_call;
mod http_stream;
pub mod local;
mod openai_chat;
mod openai_responses_http;
pub mod openai_ws;
mod prompt;
mod reasoning;
mod settings;
mod sse;
mod tls;

pub use anthropic::Anthropic;
pub use build::build;
pub use fim::Fim;
pub use local::Local;
pub use openai_chat::OpenAiChat;
pub use openai_responses_http::OpenAiResponsesHttp;
pub use settings::{Secret, Settings};
pub use tls::client_config;

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::mpsc;

/// Where the cursor is, in prompts for chat models (the reference model server and the context
/// builder use the same marker).
pub const CURSOR_MARKER: &str = "<|cursor|>";

/// What the model is asked, independent of any wire format.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRequest {
    pub instructions: String,
    pub input: ModelInput,
    pub stop: Vec<String>,
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
    /// Text the answer is likely to contain (Predicted Outputs, where the wire supports it).
    pub prediction: Option<String>,
    /// A stable key for the document the request is about, so that a provider can keep warm
    /// state per document: a WebSocket lane's cached context, a llama.cpp slot, a prompt cache
    /// key. Never sent as-is when it could identify the user's files: providers hash it.
    pub session: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelInput {
    /// For instruction-following models: `context` changes rarely (the document as it was
    /// when the session was warmed, related files) and can be cached by a warm session;
    /// `query` changes on every request (the edits since, the cursor, the task).
    Chat { context: String, query: String },
    /// Fill-in-the-middle: the text before and after the cursor, and other files for context.
    Fim {
        prefix: String,
        suffix: String,
        extra: Vec<ExtraFile>,
    },
    /// A raw-completion prompt, continued as it is: no chat template, no FIM tokens (a
    /// next-edit model's own format, e.g. Sweep's `<|file_sep|>` blocks). Completion-style
    /// wires send it as their raw prompt; chat wires as the user message.
    Completion { prompt: String },
}

impl Default for ModelInput {
    fn default() -> Self {
        Self::Chat {
            context: String::new(),
            query: String::new(),
        }
    }
}

/// Another file given to a FIM model as context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraFile {
    pub path: String,
    pub text: String,
}

/// Why a provider could not answer; callers branch on the case (retry, tell the user, drop).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("authentication failed: {0}; check the API key")]
    Auth(String),
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("unexpected answer from the provider: {0}")]
    Protocol(String),
    /// Answered, but could not serve: a 5xx, an answer cut off, a socket that keeps closing.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// Cannot be reached at all: connection refused, DNS, TLS, no socket, or offline (the
    /// breaker answered without dialling).
    #[error("{0}")]
    Unreachable(String),
    #[error("the provider is misconfigured: {0}")]
    Config(String),
}

/// A stream of text deltas from one model call. Dropping it cancels the call.
pub struct TextStream {
    source: Source,
    /// An item [`TextStream::start`] found already there.
    peeked: Option<Option<Result<String, ProviderError>>>,
    /// Set when a breaker waits for this call's outcome.
    watch: Option<breaker::Watch>,
}

type Item = Result<String, ProviderError>;

enum Source {
    /// Filled by the provider's own task.
    Channel(mpsc::Receiver<Item>),
    /// Read when polled (an HTTP call: `http_call::Answer`).
    Pulled(Pin<Box<dyn Stream<Item = Item> + Send>>),
}

impl std::fmt::Debug for TextStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextStream").finish_non_exhaustive()
    }
}

/// The producing end of a [`TextStream`].
pub type TextSink = mpsc::Sender<Result<String, ProviderError>>;

impl TextStream {
    /// A connected pair; the provider's task writes deltas into the sink.
    pub fn channel() -> (TextSink, TextStream) {
        let (tx, rx) = mpsc::channel(64);
        (tx, TextStream::of(Source::Channel(rx)))
    }

    /// A stream read by whoever polls it.
    pub(crate) fn pulled(stream: impl Stream<Item = Item> + Send + 'static) -> Self {
        Self::of(Source::Pulled(Box::pin(stream)))
    }

    fn of(source: Source) -> Self {
        TextStream {
            source,
            peeked: None,
            watch: None,
        }
    }

    /// A stream that yields `error` and ends.
    pub fn failed(error: ProviderError) -> Self {
        let (tx, stream) = Self::channel();
        let _ = tx.try_send(Err(error));
        stream
    }

    /// The next delta, or `None` once the answer is complete. Cancel-safe.
    pub async fn next(&mut self) -> Option<Result<String, ProviderError>> {
        let item = match self.peeked.take() {
            Some(item) => item,
            None => poll_fn(|cx| self.poll_source(cx)).await,
        };
        if let Some(watch) = self.watch.take() {
            watch.report(item.as_ref());
        }
        item
    }

    /// Sends the request now, from the caller, without waiting for any of the answer: a
    /// stream read when polled sends it on its first poll. Whoever polls the stream next is
    /// woken by its answer (that poll registers its waker); an item already there is kept for
    /// [`TextStream::next`].
    pub fn start(&mut self) {
        if self.peeked.is_some() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        if let Poll::Ready(item) = self.poll_source(&mut cx) {
            self.peeked = Some(item);
        }
    }

    fn poll_source(&mut self, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        match &mut self.source {
            Source::Channel(rx) => rx.poll_recv(cx),
            Source::Pulled(stream) => stream.as_mut().poll_next(cx),
        }
    }

    /// Reports the call's outcome (its first item) to a breaker.
    pub(crate) fn watched(mut self, watch: breaker::Watch) -> Self {
        self.watch = Some(watch);
        self
    }
}

/// A model behind one wire protocol.
pub trait Provider: Send + Sync + 'static {
    /// A short name for logs and status, e.g. `openai-responses (websocket)`.
    fn name(&self) -> &str;
    /// Starts a call; the answer streams into the returned [`TextStream`].
    fn stream(&self, request: ModelRequest) -> TextStream;
    /// Whether the model takes fill-in-the-middle input (prefix and suffix) rather than a chat
    /// prompt with the cursor marked.
    fn wants_fim(&self) -> bool {
        false
    }
    /// The most prompt tokens worth sending, when fewer than the context builder's default: a
    /// model on this machine's CPU prefills a few hundred tokens a second, so every token of
    /// context costs the user milliseconds.
    fn prompt_tokens(&self) -> Option<usize> {
        None
    }
    /// Prepares `request`'s context without generating (a WebSocket `generate: false`, a
    /// llama.cpp `n_predict: 0`), so that the next request for the same session starts warm.
    /// Providers that cannot warm anything ignore it.
    fn prewarm(&self, request: ModelRequest) {
        let _ = request;
    }
    /// Whether the provider is reachable, now and on every change, for providers behind a
    /// [`breaker::Breaker`]; `None` for the others (the local model, an embedder's provider).
    fn health(&self) -> Option<tokio::sync::watch::Receiver<breaker::Health>> {
        None
    }
}
