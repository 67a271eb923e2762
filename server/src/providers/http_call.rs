//! One streaming HTTP call of a provider, read by whoever polls its [`Answer`]: POST the body
//! (sent again at once with the reasoning switch the endpoint takes, if it refused one), read
//! the framed answer through the provider's [`Decode`], and afterwards keep the connection: read
//! the rest of a finished answer, or the tail of an abandoned HTTP/1.1 answer within a cap, in a
//! task of its own (see `http_stream`'s module docs for why).
//!
//! The answer is read in the task that consumes it, not in a task of the call's own: every
//! chunk of the body then wakes one task (the consumer, from the HTTP connection's task), not two
//! in turn, and the request goes out from the consumer's first poll without a task spawned for
//! it. On two cores each wake-up is a chance for another thread to take the core.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::Stream;
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::time::Sleep;

use super::http;
use super::http_stream::{Decode, TaskGuard};
use super::reasoning::{Reasoning, Shape};
use super::sse::{Decoder, Framing};
use super::{ProviderError, Settings};

/// A finished answer's remaining body (closing frames) is read up to this size.
pub(super) const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// An abandoned HTTP/1.1 answer's tail is read up to this size and for at most this long to
/// keep its connection; past either the connection is closed instead. 256 KiB is ~50k tokens of
/// SSE, 2 s is 2,000 tokens at 1,000 tokens/s: more than any `maxOutputTokens` a completion asks.
const MAX_ABANDONED_DRAIN_BYTES: usize = 256 * 1024;
const MAX_ABANDONED_DRAIN_TIME: Duration = Duration::from_secs(2);

pub(super) struct Call {
    pub(super) client: reqwest::Client,
    pub(super) settings: Arc<Settings>,
    pub(super) headers: Arc<HeaderMap>,
    /// `url`, parsed.
    pub(super) parsed: Option<reqwest::Url>,
    pub(super) reasoning: Arc<Reasoning>,
    pub(super) shape: Shape,
    pub(super) url: String,
    pub(super) body: Value,
}

/// A request is sent at most this often: once, then once per rung of the reasoning ladder.
const MAX_ATTEMPTS: usize = 4;

impl Call {
    /// POSTs the body; an endpoint that refuses its reasoning switch (400) gets it again at
    /// once with the switch it takes (`reasoning` module).
    pub(super) async fn post(&self) -> Result<reqwest::Response, ProviderError> {
        let mut body = std::borrow::Cow::Borrowed(&self.body);
        for _ in 1..MAX_ATTEMPTS {
            let sent = http::post_stream(
                &self.client,
                &self.settings,
                (&self.url, self.parsed.as_ref()),
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
            (&self.url, self.parsed.as_ref()),
            &self.headers,
            &body,
        )
        .await
    }
}

/// A response's body, owned.
pub(super) type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

pub(super) fn body_of(response: reqwest::Response) -> Body {
    Box::pin(response.bytes_stream())
}

/// Reads what is left of an answer so that its connection can be reused; a server that sends
/// more than `max_bytes` or takes longer than `max_time` just loses the connection.
pub(super) async fn drain(mut body: Body, max_bytes: usize, max_time: Duration) {
    use futures_util::StreamExt;
    let drain = async {
        let mut read = 0;
        while let Some(Ok(chunk)) = body.next().await {
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

/// Whether `body` ends with what has already arrived (at most [`MAX_DRAIN_BYTES`] of it read).
fn ended_now(body: &mut Body, cx: &mut Context<'_>) -> bool {
    let mut read = 0;
    loop {
        match body.as_mut().poll_next(cx) {
            Poll::Ready(None) => return true,
            Poll::Ready(Some(Ok(chunk))) if read + chunk.len() <= MAX_DRAIN_BYTES => {
                read += chunk.len();
            }
            // The rest is read in the background.
            Poll::Pending => return false,
            // A broken or oversized tail: the connection is dropped with the body.
            Poll::Ready(Some(_)) => return true,
        }
    }
}

/// Runs `work` on the runtime the caller is on, holding `guard` until it ends; without a
/// runtime (the process is shutting down) the work is dropped, and with it the connection.
fn in_background(work: impl Future<Output = ()> + Send + 'static, guard: Option<TaskGuard>) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            work.await;
            drop(guard);
        });
    }
}

type Posting = Pin<Box<dyn Future<Output = Result<reqwest::Response, ProviderError>> + Send>>;

enum Phase {
    /// The request is on its way; the answer's head has not come yet.
    Posting(Posting),
    Reading {
        body: Body,
        http2: bool,
    },
    Over,
}

/// One call's text deltas, read when polled (see the module docs). Dropped mid-answer, it keeps
/// the connection: on HTTP/2 dropping the body resets the stream and the connection stays; on
/// HTTP/1.1 the tail is read in the background within a cap. A finished answer's closing bytes
/// are read in the background too.
pub(super) struct Answer {
    settings: Arc<Settings>,
    phase: Phase,
    decoder: Decoder,
    decode: Box<dyn Decode>,
    /// Decoded but not yet taken, in order; an error is the last.
    ready: VecDeque<Result<String, ProviderError>>,
    /// Times the head's wait and then the gaps between chunks.
    stall: Stall,
    /// The request was polled once (sent).
    posted: bool,
    deltas: usize,
    started: Instant,
    /// Counts the call as running (`HttpCore::in_flight`) until it and its drain end.
    guard: Option<TaskGuard>,
    span: tracing::Span,
}

impl Answer {
    pub(super) fn new(
        call: Call,
        framing: Framing,
        decode: Box<dyn Decode>,
        guard: TaskGuard,
        span: tracing::Span,
    ) -> Self {
        let settings = call.settings.clone();
        let timeout = settings.timeout;
        Self {
            settings,
            phase: Phase::Posting(Box::pin(async move { call.post().await })),
            decoder: Decoder::new(framing),
            decode,
            ready: VecDeque::new(),
            stall: Stall::new(timeout),
            posted: false,
            deltas: 0,
            started: Instant::now(),
            guard: Some(guard),
            span,
        }
    }

    /// Decodes `chunk` (`None`: the body ended) into `ready`; ends the answer at its done
    /// step, its end, or an error.
    fn take(&mut self, chunk: Option<&[u8]>, cx: &mut Context<'_>) {
        let events = match chunk {
            Some(bytes) => self.decoder.push(bytes),
            None => Ok(self.decoder.finish()),
        };
        let done = events.and_then(|events| {
            for event in events {
                tracing::trace!(event = %event.name, data = %event.data, "stream event");
                let step = self.decode.event(&event)?;
                if let Some(text) = step.text.filter(|t| !t.is_empty()) {
                    if self.deltas == 0 {
                        let first_ms = self.started.elapsed().as_millis() as u64;
                        tracing::debug!(first_ms, "first delta");
                    }
                    self.deltas += 1;
                    self.ready.push_back(Ok(text));
                }
                if step.done {
                    let total_ms = self.started.elapsed().as_millis() as u64;
                    tracing::debug!(deltas = self.deltas, total_ms, "answer complete");
                    return Ok(true);
                }
            }
            if chunk.is_none() {
                self.decode.eof()?;
                tracing::debug!(
                    deltas = self.deltas,
                    "answer complete at the end of the body"
                );
                return Ok(true);
            }
            Ok(false)
        });
        match done {
            Ok(false) => {}
            Ok(true) => {
                // The consumer sees the end now; the closing bytes are read afterwards (mostly
                // here: they came with the last event).
                if let Phase::Reading { mut body, .. } =
                    std::mem::replace(&mut self.phase, Phase::Over)
                    && !ended_now(&mut body, cx)
                {
                    let time = self.settings.timeout;
                    in_background(drain(body, MAX_DRAIN_BYTES, time), self.guard.take());
                }
            }
            Err(err) => self.fail(err),
        }
    }

    /// Ends the answer with `err`, dropping (and so closing) its connection.
    fn fail(&mut self, err: ProviderError) {
        tracing::debug!("call failed: {err}");
        self.phase = Phase::Over;
        self.ready.push_back(Err(err));
    }
}

impl Stream for Answer {
    type Item = Result<String, ProviderError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let span = this.span.clone();
        let _span = span.enter();
        loop {
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            match &mut this.phase {
                Phase::Over => return Poll::Ready(None),
                Phase::Posting(post) => match post.as_mut().poll(cx) {
                    // The call's one timer bounds the wait for the head too. Not set on the
                    // first poll, which sends the request: registering a timer may wake the
                    // runtime's parked driver, a system call on the request's path.
                    Poll::Pending if this.posted && this.stall.expired(cx) => {
                        tracing::debug!("no response head in time");
                        this.fail(ProviderError::Timeout);
                    }
                    Poll::Pending => {
                        this.posted = true;
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(err)) => this.fail(err),
                    Poll::Ready(Ok(response)) => {
                        let http2 = response.version() == reqwest::Version::HTTP_2;
                        let body = body_of(response);
                        this.phase = Phase::Reading { body, http2 };
                        this.stall.chunk();
                    }
                },
                Phase::Reading { body, .. } => match body.as_mut().poll_next(cx) {
                    Poll::Pending => {
                        if this.stall.expired(cx) {
                            tracing::debug!(deltas = this.deltas, "the stream stalled");
                            this.fail(ProviderError::Timeout);
                            continue;
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(Some(Err(err))) => this.fail(http::body_error(err)),
                    Poll::Ready(Some(Ok(bytes))) => {
                        this.stall.chunk();
                        this.take(Some(&bytes), cx);
                    }
                    Poll::Ready(None) => this.take(None, cx),
                },
            }
        }
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        let guard = self.guard.take();
        // An abandoned HTTP/1.1 answer's tail is read within these caps to keep its connection.
        let time = MAX_ABANDONED_DRAIN_TIME.min(self.settings.timeout);
        let tail = move |body| drain(body, MAX_ABANDONED_DRAIN_BYTES, time);
        let head_time = self.settings.timeout;
        match std::mem::replace(&mut self.phase, Phase::Over) {
            Phase::Over => {}
            Phase::Posting(post) => {
                tracing::debug!(
                    "the caller dropped the stream before the answer; request abandoned"
                );
                // On HTTP/2 the answer is dropped as it comes: its stream is reset, and the
                // model stops.
                let answer = async move {
                    // The head within the call's timeout (the answer's timer went with it).
                    let head = tokio::time::timeout(head_time, post).await;
                    if let Ok(Ok(response)) = head
                        && response.version() != reqwest::Version::HTTP_2
                    {
                        tail(body_of(response)).await;
                    }
                };
                in_background(answer, guard);
            }
            // Dropping it resets the stream; the connection stays.
            Phase::Reading { http2: true, .. } => {
                tracing::debug!("the caller dropped the stream; HTTP/2 stream reset");
            }
            Phase::Reading { body, http2: false } => {
                tracing::debug!("the caller dropped the stream; request abandoned");
                in_background(tail(body), guard);
            }
        }
    }
}

/// The stall timeout: the longest silence between two chunks of the body. Its timer is set
/// once and moved only when it fires before the silence is long enough, not on every chunk.
struct Stall {
    timeout: Duration,
    last_chunk: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Stall {
    fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            last_chunk: Instant::now(),
            timer: None,
        }
    }

    fn chunk(&mut self) {
        self.last_chunk = Instant::now();
    }

    /// Whether the body has been silent for the timeout; otherwise wakes `cx` when it may be.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = tokio::time::Instant::from_std(self.last_chunk + self.timeout);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            if tokio::time::Instant::now() >= deadline {
                return true;
            }
            timer.as_mut().reset(deadline);
        }
    }
}
