//! One streaming HTTP call of a provider, in its own task: POST the body (sent again at once
//! with the reasoning switch the endpoint takes, if it refused one), read the framed answer into
//! the sink through the provider's [`Decode`], and afterwards keep the connection: read the rest
//! of a finished answer, or the tail of an abandoned HTTP/1.1 answer within a cap (see
//! `http_stream`'s module docs for why).

use std::sync::Arc;
use std::time::Instant;

use reqwest::header::HeaderMap;
use serde_json::Value;

use super::http;
use super::http_stream::Decode;
use super::reasoning::{Reasoning, Shape};
use super::sse::{Decoder, Framing};
use super::{ProviderError, Settings, TextSink};

/// A finished answer's remaining body (closing frames) is read up to this size.
pub(super) const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// An abandoned HTTP/1.1 answer's tail is read up to this size and for at most this long to
/// keep its connection; past either the connection is closed instead. 256 KiB is ~50k tokens of
/// SSE, 2 s is 2,000 tokens at 1,000 tokens/s: more than any `maxOutputTokens` a completion asks.
const MAX_ABANDONED_DRAIN_BYTES: usize = 256 * 1024;
const MAX_ABANDONED_DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// How a call that did not fail ended.
enum Ended {
    /// The whole answer was sent; the response, if any, still has closing bytes to drain.
    Complete(Option<reqwest::Response>),
    /// The caller dropped the stream mid-answer; the response still streams the rest.
    CallerGone(reqwest::Response),
}

pub(super) struct Call {
    pub(super) client: reqwest::Client,
    pub(super) settings: Arc<Settings>,
    pub(super) headers: HeaderMap,
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

    pub(super) async fn run(self, framing: Framing, decode: impl Decode, tx: TextSink) {
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
    pub(super) async fn drain(
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
