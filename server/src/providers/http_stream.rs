//! The streaming call every HTTP provider makes: POST, frame the body (SSE or NDJSON), let
//! the provider's [`Decode`] turn events into text, yield the text from a [`TextStream`]; and
//! the helpers decoders share to read streamed JSON and the error objects inside it.
//!
//! **Cancellation:** the call is read by whoever polls its [`TextStream`] (`http_call::Answer`).
//! When the caller drops the stream (the suggestion was complete early, or a newer keystroke
//! superseded it), nothing more is decoded. On HTTP/2 the response is dropped, which resets the
//! stream and keeps the connection. On HTTP/1.1 dropping the response would close the
//! connection, and every following request would pay a new TCP (and TLS) handshake: the
//! abandoned answer's tail is read in a background task instead, within a cap of bytes and time
//! (at 1,000 tokens/s a tail is a few hundred milliseconds), so the connection goes back to the
//! pool. The next request never waits for a drain: it takes another pooled connection, so a
//! stream of early stops settles on two. A finished answer's body is read to its end too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument;

use super::http::{self, Auth};
use super::http_call::{Answer, Call, MAX_DRAIN_BYTES, body_of, drain};
use super::reasoning::{Reasoning, Shape};
use super::sse::{Event, Framing};
use super::{ProviderError, Settings, TextStream};

/// An error object inside a stream (`{"error": ...}` in chat, FIM and Ollama streams, a
/// Responses `error` event, an Anthropic `error` event), mapped by its type or code.
pub(crate) fn stream_error(kind: &str, message: &str) -> ProviderError {
    let message = if message.is_empty() { kind } else { message }.to_owned();
    let kind = kind.to_ascii_lowercase();
    if kind.contains("rate_limit") || kind == "too_many_requests" {
        ProviderError::RateLimited { retry_after: None }
    } else if kind.contains("auth") || kind.contains("permission") || kind == "invalid_api_key" {
        ProviderError::Auth(message)
    } else if kind.contains("invalid_request") || kind.contains("not_found") {
        ProviderError::Protocol(message)
    } else if kind.contains("timeout") {
        ProviderError::Timeout
    } else {
        // Overloaded, server errors and anything unknown: the service failed, not us.
        ProviderError::Unavailable(message)
    }
}

/// `{"error": {...}}` or `{"error": "..."}` in a streamed JSON object.
pub(crate) fn embedded_error(value: &Value) -> Option<ProviderError> {
    let error = value.get("error")?;
    if error.is_null() {
        return None;
    }
    if let Some(message) = error.as_str() {
        return Some(stream_error("", message));
    }
    let kind = ["type", "code"]
        .iter()
        .find_map(|k| error.get(*k).and_then(Value::as_str))
        .unwrap_or("");
    let message = error.get("message").and_then(Value::as_str).unwrap_or("");
    Some(stream_error(kind, message))
}

/// Parses one streamed JSON payload; garbage is a protocol error, never a panic.
pub(crate) fn parse_json(data: &str) -> Result<Value, ProviderError> {
    serde_json::from_str(data).map_err(|err| {
        tracing::debug!("malformed JSON in the stream: {err}");
        ProviderError::Protocol(format!("malformed JSON in the stream: {err}"))
    })
}

/// What one event contributes to the answer.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Step {
    pub text: Option<String>,
    /// The answer is complete; nothing after this event is read.
    pub done: bool,
}

impl Step {
    pub const SKIP: Step = Step {
        text: None,
        done: false,
    };
    pub const DONE: Step = Step {
        text: None,
        done: true,
    };

    pub fn text(text: impl Into<String>) -> Step {
        Step {
            text: Some(text.into()),
            done: false,
        }
    }
}

/// A wire protocol's event parser. It must not panic on any input.
pub(crate) trait Decode: Send + 'static {
    fn event(&mut self, event: &Event) -> Result<Step, ProviderError>;

    /// The body ended without a `done` step; protocols with a lenient ending override this.
    fn eof(&mut self) -> Result<(), ProviderError> {
        Err(cut_short())
    }
}

pub(crate) fn cut_short() -> ProviderError {
    ProviderError::Protocol("the stream ended before the answer was complete".into())
}

/// What an HTTP provider holds: one pooled client, its settings and ready-made headers.
#[derive(Debug)]
pub(crate) struct HttpCore {
    pub name: String,
    pub client: reqwest::Client,
    pub settings: Arc<Settings>,
    headers: Arc<HeaderMap>,
    /// Each endpoint's URL, parsed once (parsing, the host's IDNA mapping included, took ~3 µs
    /// of every request).
    urls: Mutex<HashMap<String, reqwest::Url>>,
    /// The reasoning switch every request carries, and where this wire carries it.
    reasoning: Arc<Reasoning>,
    shape: Shape,
    /// How many calls, prewarms and preconnections of this provider are running.
    tasks: Arc<watch::Sender<usize>>,
}

impl HttpCore {
    /// Builds the client and, when a tokio runtime is running, pre-connects to
    /// `preconnect_url` in the background.
    pub fn new(
        name: String,
        settings: Settings,
        auth: Auth,
        protocol_headers: &[(&'static str, &'static str)],
        preconnect_url: Option<String>,
        shape: Shape,
    ) -> Result<Self, ProviderError> {
        let client = http::client(&settings)?;
        let headers = http::request_headers(&settings, auth, protocol_headers)?;
        let reasoning = Arc::new(Reasoning::new(settings.reasoning, &settings.model));
        let core = Self {
            name,
            client,
            settings: Arc::new(settings),
            headers: Arc::new(headers),
            urls: Mutex::default(),
            reasoning,
            shape,
            tasks: Arc::new(watch::Sender::new(0)),
        };
        match (preconnect_url, tokio::runtime::Handle::try_current()) {
            (Some(url), Ok(runtime)) => {
                let guard = core.task_guard();
                let client = core.client.clone();
                runtime.spawn(async move {
                    http::preconnect(&client, &url).await;
                    drop(guard);
                });
            }
            (Some(_), Err(_)) => tracing::debug!("no runtime yet; skipping the preconnection"),
            (None, _) => {}
        }
        Ok(core)
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url)
    }

    pub fn in_flight(&self) -> usize {
        *self.tasks.borrow()
    }

    /// Waits until no call, prewarm or preconnection is running.
    pub async fn settled(&self) {
        let mut rx = self.tasks.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    fn task_guard(&self) -> TaskGuard {
        self.tasks.send_modify(|n| *n += 1);
        TaskGuard(self.tasks.clone())
    }

    /// Starts a streaming call; see the module docs for cancellation.
    pub fn stream(
        &self,
        url: String,
        body: Value,
        framing: Framing,
        decode: impl Decode,
    ) -> TextStream {
        let span = tracing::debug_span!("provider_call", provider = %self.name);
        let call = self.call(url, body);
        TextStream::pulled(Answer::new(
            call,
            framing,
            Box::new(decode),
            self.task_guard(),
            span,
        ))
    }

    /// POSTs `body` in the background and reads the answer to its end, for a prewarm whose
    /// result nobody waits for.
    pub fn fire(&self, url: String, body: Value) {
        let call = self.call(url, body);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let guard = self.task_guard();
        let span = tracing::debug_span!("provider_prewarm", provider = %self.name);
        runtime.spawn(
            async move {
                let posted = tokio::time::timeout(call.settings.timeout, call.post()).await;
                match posted.unwrap_or(Err(ProviderError::Timeout)) {
                    Ok(response) => {
                        drain(body_of(response), MAX_DRAIN_BYTES, call.settings.timeout).await;
                    }
                    Err(err) => tracing::debug!("prewarm failed: {err}"),
                }
                drop(guard);
            }
            .instrument(span),
        );
    }
}

impl HttpCore {
    /// `url` parsed, from the cache when it was before; `None` when it does not parse (the
    /// request then fails as reqwest reports it).
    fn parsed(&self, url: &str) -> Option<reqwest::Url> {
        let mut urls = self.urls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(parsed) = urls.get(url) {
            return Some(parsed.clone());
        }
        let parsed = reqwest::Url::parse(url).ok()?;
        urls.insert(url.to_owned(), parsed.clone());
        Some(parsed)
    }

    /// A call of `body` to `url`, with this provider's reasoning switch put in.
    fn call(&self, url: String, mut body: Value) -> Call {
        if let Some(map) = body.as_object_mut() {
            self.reasoning.apply(self.shape, map);
        }
        let parsed = self.parsed(&url);
        Call {
            client: self.client.clone(),
            settings: self.settings.clone(),
            headers: self.headers.clone(),
            parsed,
            reasoning: self.reasoning.clone(),
            shape: self.shape,
            url,
            body,
        }
    }
}

/// Counts a running task until dropped, however the task ends.
pub(super) struct TaskGuard(Arc<watch::Sender<usize>>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The introspection every HTTP provider offers, so tests and benchmarks can wait for its
/// background work (preconnect, prewarm, abandoned calls) to let go.
macro_rules! introspection {
    ($provider:ty) => {
        impl $provider {
            /// Calls, prewarms and preconnections still running (0 once everything has let go).
            pub fn in_flight(&self) -> usize {
                self.core.in_flight()
            }

            /// Waits until nothing is in flight, e.g. until the preconnection is pooled.
            pub async fn settled(&self) {
                self.core.settled().await;
            }
        }
    };
}
pub(crate) use introspection;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_errors_map_by_kind() {
        assert_eq!(
            stream_error("rate_limit_exceeded", "slow down"),
            ProviderError::RateLimited { retry_after: None }
        );
        assert!(
            matches!(stream_error("overloaded_error", "busy"), ProviderError::Unavailable(m) if m == "busy")
        );
        assert!(matches!(
            stream_error("authentication_error", ""),
            ProviderError::Auth(_)
        ));
        assert!(matches!(
            stream_error("invalid_request_error", "x"),
            ProviderError::Protocol(_)
        ));
        let value: Value = serde_json::from_str(r#"{"error":"boom"}"#).expect("json");
        assert!(
            matches!(embedded_error(&value), Some(ProviderError::Unavailable(m)) if m == "boom")
        );
        assert_eq!(embedded_error(&serde_json::json!({"error": null})), None);
    }
}
