//! Warm-ups: `generate:false` with the instructions and a session's context on a lane of
//! its own, so that later requests of the session continue from it with only their query.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use tokio::time::{Instant, sleep_until};

use super::conn::Conn;
use super::wire::{self, Create, Event, Texts};
use super::{Inner, Route};
use crate::providers::{ModelInput, ModelRequest};

/// The session and a hash of what its warm base holds (instructions + context), when the
/// request can use a warm base at all.
pub(super) fn warm_key(request: &ModelRequest) -> Option<(&str, u64)> {
    let session = request.session.as_deref()?;
    let ModelInput::Chat { context, .. } = &request.input else {
        return None;
    };
    if context.is_empty() {
        return None;
    }
    let mut hasher = DefaultHasher::new();
    request.instructions.hash(&mut hasher);
    context.hash(&mut hasher);
    Some((session, hasher.finish()))
}

/// `Provider::prewarm`: warms `request`'s context on the current connection.
pub(super) async fn prewarm(inner: &Arc<Inner>, request: ModelRequest) {
    let deadline = Instant::now() + inner.settings.timeout;
    match inner.connection(deadline).await {
        Ok(Route::Conn(conn)) => warm(inner, &conn, &request).await,
        Ok(Route::Fallback) => inner.fallback.prewarm(request),
        Err(error) => tracing::debug!("no warm-up: {error}"),
    }
}

/// Sends `generate:false` with the instructions and context on a lane of its own; on
/// `response.completed` that lane holds the session's base.
pub(super) async fn warm(inner: &Inner, conn: &Arc<Conn>, request: &ModelRequest) {
    let Some((session, hash)) = warm_key(request) else {
        return;
    };
    let Some(ticket) = conn.pool().pool.begin_warm(session, hash) else {
        return;
    };
    let lane = conn.lane_name(ticket.lane).to_owned();
    let create = Create {
        stream_id: &lane,
        previous_response_id: None,
        generate: false,
        texts: Texts::Context,
    };
    let frame = wire::create_frame(&inner.settings.model, request, create, &inner.reasoning);
    tracing::trace!(conn = conn.id, lane, "warm-up {frame}");
    let sent_at = Instant::now();
    let deadline = sent_at + inner.settings.timeout;
    let Some(mut events) = conn.send(ticket.lane, frame) else {
        conn.finish_warm(session, &ticket, None);
        return;
    };
    let mut first = false;
    let id = loop {
        let next = tokio::select! {
            event = events.recv() => event,
            () = sleep_until(deadline), if !first => {
                // Requests waiting for this base go ahead in full; the lane stays reserved
                // until the warm-up ends.
                first = true;
                conn.pool().pool.forget_warm(session, &ticket);
                continue;
            }
        };
        let Some(event) = next else { break None };
        first = true;
        match wire::parse_event(&event) {
            Event::Done { id, .. } => break id,
            Event::Failed(_) | Event::Error(_) => break None,
            _ => {}
        }
    };
    let ms = sent_at.elapsed().as_millis() as u64;
    tracing::debug!(
        conn = conn.id,
        lane,
        response_id = id,
        latency_ms = ms,
        "warm-up done"
    );
    conn.finish_warm(session, &ticket, id);
}
