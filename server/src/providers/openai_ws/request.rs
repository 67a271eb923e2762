//! One request on the warm socket, and one warm-up.
//!
//! A request takes a free lane (never one still running an abandoned answer), sends either a
//! continuation of its session's warm base (`previous_response_id` + the query only) or the
//! full request (then warms the new context in the background), and streams the deltas into
//! its [`TextSink`]. If the consumer drops the stream, the request keeps reading and
//! discarding its lane's events until the answer ends, so that the lane is reused only then.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout_at};

use super::conn::{Conn, EndReason};
use super::lanes::{BaseState, LaneIdx, Lookup};
use super::warm::{warm, warm_key};
use super::wire::{self, CONNECTION_LIMIT, Create, Event, PREVIOUS_NOT_FOUND, Texts};
use super::{Inner, Route};
use crate::providers::reasoning::Shape;
use crate::providers::{ModelRequest, Provider, ProviderError, TextSink};

/// How often one request may move to a fresh connection before it gives up.
const MAX_RECONNECTS: usize = 2;

/// Holds a lane (and a pin on the base it forks from) until dropped.
struct Lease {
    conn: Arc<Conn>,
    lane: LaneIdx,
    base: Option<LaneIdx>,
}

impl Lease {
    fn unpin(&mut self) {
        if let Some(base) = self.base.take() {
            self.conn.unpin(base);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.conn.release(self.lane, self.base.take());
    }
}

enum Plan {
    Fork { session: String, id: String },
    Full,
}

enum Outcome {
    Done,
    /// The warm base was gone server-side: send the request again in full.
    Resend,
    /// The connection went away before anything was shown: try again on a fresh one.
    Reconnect,
}

enum Stuck {
    Closing,
    Timeout,
}

/// Runs `request` to its end, streaming into `sink`.
pub(super) async fn serve(inner: &Arc<Inner>, request: ModelRequest, sink: TextSink) {
    let mut full_only = false;
    let mut reconnects = 0;
    loop {
        let deadline = Instant::now() + inner.settings.timeout;
        // A stream dropped while its request waits for a connection or a lane sends nothing.
        let connection = tokio::select! {
            connection = inner.connection(deadline) => connection,
            () = sink.closed() => return,
        };
        let conn = match connection {
            Ok(Route::Conn(conn)) => conn,
            Ok(Route::Fallback) => return forward(inner.fallback.clone(), request, sink).await,
            Err(error) => {
                let _ = sink.send(Err(error)).await;
                return;
            }
        };
        match attempt(inner, &conn, &request, &sink, deadline, full_only).await {
            Outcome::Done => return,
            Outcome::Resend => full_only = true,
            Outcome::Reconnect if reconnects < MAX_RECONNECTS => reconnects += 1,
            Outcome::Reconnect => {
                let error = ProviderError::Unavailable("the websocket keeps closing".into());
                let _ = sink.send(Err(error)).await;
                return;
            }
        }
    }
}

async fn attempt(
    inner: &Arc<Inner>,
    conn: &Arc<Conn>,
    request: &ModelRequest,
    sink: &TextSink,
    deadline: Instant,
    full_only: bool,
) -> Outcome {
    if sink.is_closed() {
        return Outcome::Done;
    }
    let key = warm_key(request).filter(|_| !full_only);
    let acquired = tokio::select! {
        acquired = acquire(conn, key, deadline, inner.settings.timeout / 2) => acquired,
        () = sink.closed() => return Outcome::Done,
    };
    let (lease, plan) = match acquired {
        Ok(acquired) => acquired,
        Err(Stuck::Closing) => return Outcome::Reconnect,
        Err(Stuck::Timeout) => {
            let _ = sink.send(Err(ProviderError::Timeout)).await;
            return Outcome::Done;
        }
    };
    let lane = conn.lane_name(lease.lane).to_owned();
    let model = &inner.settings.model;
    let frame = match &plan {
        Plan::Fork { id, .. } => wire::create_frame(
            model,
            request,
            Create {
                stream_id: &lane,
                previous_response_id: Some(id),
                generate: true,
                texts: Texts::Query,
            },
            &inner.reasoning,
        ),
        Plan::Full => wire::create_frame(
            model,
            request,
            Create {
                stream_id: &lane,
                previous_response_id: None,
                generate: true,
                texts: Texts::Full,
            },
            &inner.reasoning,
        ),
    };
    tracing::trace!(conn = conn.id, lane, "response.create {frame}");
    let Some(events) = conn.send(lease.lane, frame) else {
        return Outcome::Reconnect;
    };
    if matches!(plan, Plan::Full) && warm_key(request).is_some() {
        // The next keystroke of this session should find its context warm.
        let (inner, conn, request) = (inner.clone(), conn.clone(), request.clone());
        inner
            .gauge
            .clone()
            .spawn(async move { warm(&inner, &conn, &request).await });
    }
    let fork = match &plan {
        Plan::Fork { session, id } => Some((session.as_str(), id.as_str())),
        Plan::Full => None,
    };
    pump(inner, conn, lease, &lane, events, sink, deadline, fork).await
}

/// A lane for `key`'s request: a fork of the session's ready base, or any lane for a full
/// request. Waits for a warm-up in flight (at most `warm_wait`) and for a lane to free up.
async fn acquire(
    conn: &Arc<Conn>,
    mut key: Option<(&str, u64)>,
    deadline: Instant,
    warm_wait: std::time::Duration,
) -> Result<(Lease, Plan), Stuck> {
    let warm_deadline = (Instant::now() + warm_wait).min(deadline);
    loop {
        let freed = conn.lane_freed.notified();
        tokio::pin!(freed);
        freed.as_mut().enable();
        if conn.is_closing() {
            return Err(Stuck::Closing);
        }
        let pending = {
            let mut state = conn.pool();
            let lookup = match key {
                Some((session, hash)) => state.pool.lookup(session, hash),
                None => Lookup::Cold,
            };
            let lease = |lane, base| Lease {
                conn: conn.clone(),
                lane,
                base,
            };
            match lookup {
                Lookup::Ready { id, lane: base } => {
                    if let Some(lane) = state.pool.acquire(Some(base)) {
                        state.pool.pin(base);
                        let session = key.map_or_else(String::new, |(s, _)| s.to_owned());
                        return Ok((lease(lane, Some(base)), Plan::Fork { session, id }));
                    }
                    None
                }
                Lookup::Pending(rx) => Some(rx),
                Lookup::Cold => match state.pool.acquire(None) {
                    Some(lane) => return Ok((lease(lane, None), Plan::Full)),
                    None => None,
                },
            }
        };
        match pending {
            Some(mut rx) => {
                let ready = timeout_at(warm_deadline, rx.wait_for(|s| *s != BaseState::Pending))
                    .await
                    .is_ok_and(|state| state.is_ok_and(|s| matches!(*s, BaseState::Ready(_))));
                if !ready {
                    key = None;
                }
            }
            None => {
                if timeout_at(deadline, freed).await.is_err() {
                    return Err(Stuck::Timeout);
                }
            }
        }
    }
}

/// Streams one response's events into `sink` until its terminal event.
#[allow(clippy::too_many_arguments)]
async fn pump(
    inner: &Inner,
    conn: &Arc<Conn>,
    mut lease: Lease,
    lane: &str,
    mut events: mpsc::UnboundedReceiver<serde_json::Value>,
    sink: &TextSink,
    deadline: Instant,
    fork: Option<(&str, &str)>,
) -> Outcome {
    let sent_at = Instant::now();
    let (mut first, mut abandoned, mut shown) = (false, false, false);
    // A stalled model: no first event by the request's deadline, or no next one within the
    // request timeout. The provider is reachable; only this request is given up.
    let mut stall_at = deadline;
    loop {
        let next = tokio::select! {
            event = events.recv() => event,
            () = sink.closed(), if !abandoned => {
                tracing::debug!(conn = conn.id, lane, "stream dropped; discarding the rest of the answer");
                abandoned = true;
                continue;
            }
            () = sleep_until(stall_at), if !abandoned => {
                tracing::debug!(conn = conn.id, lane, shown, "the answer stalled");
                let _ = sink.send(Err(ProviderError::Timeout)).await;
                abandoned = true;
                continue;
            }
        };
        let Some(event) = next else {
            return closed_mid_response(conn, sink, abandoned || shown).await;
        };
        stall_at = Instant::now() + inner.settings.timeout;
        if !first {
            first = true;
            let ms = sent_at.elapsed().as_millis() as u64;
            tracing::debug!(conn = conn.id, lane, first_event_ms = ms, "first event");
        }
        match wire::parse_event(&event) {
            Event::InProgress => lease.unpin(),
            Event::Delta(text) if !abandoned => {
                tracing::trace!(lane, "delta {text:?}");
                if sink.send(Ok(text)).await.is_err() {
                    abandoned = true;
                } else {
                    shown = true;
                }
            }
            Event::Done { id, cached_tokens } => {
                let cached = cached_tokens.unwrap_or(0);
                inner.cached_tokens.fetch_add(cached, Ordering::SeqCst);
                let ms = sent_at.elapsed().as_millis() as u64;
                tracing::debug!(
                    conn = conn.id,
                    lane,
                    response_id = id,
                    cached_tokens,
                    latency_ms = ms,
                    abandoned,
                    "response done"
                );
                return Outcome::Done;
            }
            Event::Failed(message) => {
                if !abandoned {
                    let _ = sink.send(Err(ProviderError::Protocol(message))).await;
                }
                return Outcome::Done;
            }
            Event::Error(error) => {
                tracing::debug!(
                    conn = conn.id,
                    lane,
                    status = error.status,
                    code = error.code,
                    "error event"
                );
                if error.code == PREVIOUS_NOT_FOUND
                    && let Some((session, id)) = fork
                {
                    // A connection-local cache miss: forget the base, resend in full.
                    conn.pool().pool.drop_base(session, id);
                    if !abandoned && !shown {
                        return Outcome::Resend;
                    }
                }
                if error.status == Some(400) && !abandoned && !shown {
                    // An effort this model does not take: resend with one it does.
                    let mut sent = serde_json::Map::new();
                    inner.reasoning.apply(Shape::Responses, &mut sent);
                    if inner.reasoning.refused(&error.message, &sent) {
                        return Outcome::Resend;
                    }
                }
                if error.code == CONNECTION_LIMIT {
                    conn.limit_reached();
                    if !abandoned && !shown {
                        return Outcome::Reconnect;
                    }
                }
                if !abandoned {
                    let _ = sink.send(Err(error.to_provider_error())).await;
                }
                return Outcome::Done;
            }
            Event::Delta(_) | Event::Other => {}
        }
    }
}

/// The socket ended before this response did.
async fn closed_mid_response(conn: &Conn, sink: &TextSink, started: bool) -> Outcome {
    let error = match conn.ended() {
        Some(EndReason::Protocol(message)) => ProviderError::Protocol(message.clone()),
        Some(EndReason::LimitReached | EndReason::Closed(_)) if !started => {
            return Outcome::Reconnect;
        }
        Some(EndReason::Closed(reason)) => ProviderError::Unavailable(format!(
            "the websocket was {reason} before the answer completed"
        )),
        _ => ProviderError::Unavailable("the websocket closed before the answer completed".into()),
    };
    let _ = sink.send(Err(error)).await;
    Outcome::Done
}

/// Streams the fallback provider's answer into `sink`.
async fn forward(fallback: Arc<dyn Provider>, request: ModelRequest, sink: TextSink) {
    let mut stream = fallback.stream(request);
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some(item) => if sink.send(item).await.is_err() { return },
                None => return,
            },
            () = sink.closed() => return,
        }
    }
}
