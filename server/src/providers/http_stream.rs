//! The streaming call every HTTP provider makes: POST, frame the body (SSE or NDJSON), let
//! the provider's [`Decode`] turn events into text, send the text into the [`TextSink`]; and
//! the helpers decoders share to read streamed JSON and the error objects inside it.
//!
//! **Cancellation:** the call runs in its own task, which watches the sink closing. When the
//! caller drops the [`TextStream`] (the suggestion was complete early, or a newer keystroke
//! superseded it), the task stops sending at once. On HTTP/2 it drops the response, which resets
//! the stream and keeps the connection. On HTTP/1.1 dropping the response would close the
//! connection, and every following request would pay a new TCP (and TLS) handshake: the task
//! reads the abandoned answer's tail in the background instead, within a cap of bytes and time
//! (at 1,000 tokens/s a tail is a few hundred milliseconds), so the connection goes back to the
//! pool. The next request never waits for a drain: it takes another pooled connection, so a
//! stream of early stops settles on two. A finished answer's body is read to its end too.

use std::sync::Arc;
use std::time::Instant;

use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::sync::watch;
use tracing::Instrument;

use super::http::{self, Auth};
use super::reasoning::{Reasoning, Shape};
use super::sse::{Decoder, Event, Framing};
use super::{ProviderError, Settings, TextSink, TextStream};

/// A finished answer's remaining body (closing frames) is read up to this size.
const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// An abandoned HTTP/1.1 answer's tail is read up to this size and for at most this long to
/// keep its connection; past either the connection is closed instead. 256 KiB is ~50k tokens of
/// SSE, 2 s is 2,000 tokens at 1,000 tokens/s: more than any `maxOutputTokens` a completion asks.
const MAX_ABANDONED_DRAIN_BYTES: usize = 256 * 1024;
const MAX_ABANDONED_DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

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
    headers: HeaderMap,
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
            headers,
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
        let (tx, rx) = TextStream::channel();
        let call = self.call(url, body);
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            let error = ProviderError::Config("no async runtime to run the request on".into());
            let _ = tx.try_send(Err(error));
            return rx;
        };
        let guard = self.task_guard();
        let span = tracing::debug_span!("provider_call", provider = %self.name);
        runtime.spawn(
            async move {
                call.run(framing, decode, tx).await;
                drop(guard);
            }
            .instrument(span),
        );
        rx
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
                match call.post().await {
                    Ok(response) => {
                        call.drain(response, MAX_DRAIN_BYTES, call.settings.timeout)
                            .await;
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
    /// A call of `body` to `url`, with this provider's reasoning switch put in.
    fn call(&self, url: String, mut body: Value) -> Call {
        if let Some(map) = body.as_object_mut() {
            self.reasoning.apply(self.shape, map);
        }
        Call {
            client: self.client.clone(),
            settings: self.settings.clone(),
            headers: self.headers.clone(),
            reasoning: self.reasoning.clone(),
            shape: self.shape,
            url,
            body,
        }
    }
}

/// Counts a running task until dropped, however the task ends.
struct TaskGuard(Arc<watch::Sender<usize>>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// How a call that did not fail ended.
enum Ended {
    /// The whole answer was sent; the response, if any, still has closing bytes to drain.
    Complete(Option<reqwest::Response>),
    /// The caller dropped the stream mid-answer; the response still streams the rest.
    CallerGone(reqwest::Response),
}

struct Call {
    client: reqwest::Client,
    settings: Arc<Settings>,
    headers: HeaderMap,
    reasoning: Arc<Reasoning>,
    shape: Shape,
    url: String,
    body: Value,
}

/// A request is sent at most this often: once, then once per rung of the reasoning ladder.
const MAX_ATTEMPTS: usize = 4;

impl Call {
    /// POSTs the body; an endpoint that refuses its reasoning switch (400) gets it again at
    /// once with the switch it takes (`reasoning` module).
    async fn post(&self) -> Result<reqwest::Response, ProviderError> {
        let mut body = std::borrow::Cow::Borrowed(&self.body);
        for _ in 1..MAX_ATTEMPTS {
            let sent = http::post_stream(
                &self.client,
                &self.settings,
                &self.url,
                &self.headers,
                &body,
            )
            .await;
            let (Err(ProviderError::Protocol(message)), Some(map)) = (&sent, body.as_object())
            else {
                return sent;
            };
            if !message.starts_with("HTTP 400") || !self.reasoning.refused(message, map) {
                return sent;
            }
            let mut next = body.into_owned();
            if let Some(map) = next.as_object_mut() {
                self.reasoning.apply(self.shape, map);
            }
            body = std::borrow::Cow::Owned(next);
        }
        http::post_stream(
            &self.client,
            &self.settings,
            &self.url,
            &self.headers,
            &body,
        )
        .await
    }

    async fn run(self, framing: Framing, decode: impl Decode, tx: TextSink) {
        match self.read(framing, decode, &tx).await {
            Ok(Ended::Complete(Some(response))) => {
                // The caller sees the end now; the closing bytes are read afterwards.
                drop(tx);
                self.drain(response, MAX_DRAIN_BYTES, self.settings.timeout)
                    .await;
            }
            Ok(Ended::Complete(None)) => {}
            Ok(Ended::CallerGone(response)) => {
                tracing::debug!("the caller dropped the stream; request abandoned");
                if response.version() == reqwest::Version::HTTP_2 {
                    // Dropping it resets the stream; the connection stays.
                    return;
                }
                let time = MAX_ABANDONED_DRAIN_TIME.min(self.settings.timeout);
                self.drain(response, MAX_ABANDONED_DRAIN_BYTES, time).await;
            }
            Err(err) => {
                tracing::debug!("call failed: {err}");
                let _ = tx.send(Err(err)).await;
            }
        }
    }

    /// Streams the answer into `tx`.
    async fn read(
        &self,
        framing: Framing,
        mut decode: impl Decode,
        tx: &TextSink,
    ) -> Result<Ended, ProviderError> {
        let started = Instant::now();
        let mut response = self.post().await?;
        let mut decoder = Decoder::new(framing);
        let mut deltas = 0usize;
        loop {
            // The stall timeout: the longest silence between two chunks of the body.
            let next = tokio::select! {
                biased;
                () = tx.closed() => None,
                chunk = tokio::time::timeout(self.settings.timeout, response.chunk()) => Some(chunk),
            };
            let Some(chunk) = next else {
                return Ok(Ended::CallerGone(response));
            };
            let chunk = match chunk {
                Err(_) => {
                    tracing::debug!(deltas, "the stream stalled");
                    return Err(ProviderError::Timeout);
                }
                Ok(Err(err)) => return Err(http::body_error(err)),
                Ok(Ok(chunk)) => chunk,
            };
            let events = match &chunk {
                Some(bytes) => decoder.push(bytes)?,
                None => decoder.finish(),
            };
            for event in events {
                tracing::trace!(event = %event.name, data = %event.data, "stream event");
                let step = decode.event(&event)?;
                if let Some(text) = step.text.filter(|t| !t.is_empty()) {
                    if deltas == 0 {
                        let first_ms = started.elapsed().as_millis() as u64;
                        tracing::debug!(first_ms, "first delta");
                    }
                    deltas += 1;
                    if tx.send(Ok(text)).await.is_err() {
                        return Ok(Ended::CallerGone(response));
                    }
                }
                if step.done {
                    let total_ms = started.elapsed().as_millis() as u64;
                    tracing::debug!(deltas, total_ms, "answer complete");
                    return Ok(Ended::Complete(Some(response)));
                }
            }
            if chunk.is_none() {
                decode.eof()?;
                tracing::debug!(deltas, "answer complete at the end of the body");
                return Ok(Ended::Complete(None));
            }
        }
    }

    /// Reads what is left of an answer so that its connection can be reused; a server that
    /// sends more than `max_bytes` or takes longer than `max_time` just loses the connection.
    async fn drain(
        &self,
        mut response: reqwest::Response,
        max_bytes: usize,
        max_time: std::time::Duration,
    ) {
        let drain = async {
            let mut read = 0;
            while let Ok(Some(chunk)) = response.chunk().await {
                read += chunk.len();
                if read > max_bytes {
                    return false;
                }
            }
            true
        };
        let drained = tokio::time::timeout(max_time, drain).await;
        if !matches!(drained, Ok(true)) {
            tracing::debug!("closing a connection whose answer did not end cleanly");
        }
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
