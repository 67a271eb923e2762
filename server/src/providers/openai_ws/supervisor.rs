//! The one task that owns connecting: it opens the socket at start-up, publishes it to
//! requests, replaces it before the server's lifetime limit (make-before-break: the old socket
//! drains its running responses), reconnects after a drop, and switches to the fallback for good
//! on a 426.
//!
//! Its backoff is the provider's [`Breaker`](crate::providers::breaker::Breaker): every failed
//! dial is reported there, and the next dial happens at the retry time the breaker announces
//! (and `spark/status` shows), so the session and the breaker never disagree about when the
//! endpoint is tried again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::{Instant, sleep, sleep_until};

use super::Inner;
use super::conn::{self, Conn, EndReason, OpenError};
use crate::providers::ProviderError;
use crate::providers::breaker::{Failure, Mode, classify};

/// A connection that lived this long was healthy: the next reconnection starts from scratch.
const STABLE: Duration = Duration::from_secs(5);

pub(super) async fn run(inner: Arc<Inner>) {
    let cancel = inner.cancel.clone();
    let breaker = inner.breaker.clone();
    // The connection a rotation is replacing; it keeps serving until its successor is open.
    let mut previous: Option<Arc<Conn>> = None;
    // Dials refused for a reason other than reachability (a key, a rate limit) in a row.
    let mut refusals = 0;
    loop {
        let opened = tokio::select! {
            opened = conn::open(&inner.url, &inner.settings) => opened,
            () = cancel.cancelled() => return,
        };
        let retry_at = match opened {
            Ok(socket) => {
                refusals = 0;
                let conn = publish(&inner, socket);
                breaker.connected();
                if let Some(old) = previous.take() {
                    old.drain();
                }
                let rotate = sleep(inner.options.rotate_after);
                tokio::select! {
                    () = conn.closed() => {}
                    () = rotate => {
                        tracing::debug!(conn = conn.id, "rotating the websocket before its lifetime limit");
                        previous = Some(conn);
                        continue;
                    }
                    () = cancel.cancelled() => return,
                }
                inner.slot.send_modify(|slot| {
                    if slot.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, &conn)) {
                        slot.conn = None;
                    }
                });
                let lived = conn.opened_at.elapsed() >= STABLE;
                if lived {
                    breaker.stable();
                }
                // The lifetime limit is routine: reconnect at once unless it keeps happening.
                if lived && conn.ended() == Some(&EndReason::LimitReached) {
                    continue;
                }
                // A socket that closes is a soft failure: redial after a short pause, and
                // count it, so that one that keeps closing makes the endpoint offline.
                let why = match conn.ended() {
                    Some(EndReason::Closed(reason) | EndReason::Protocol(reason)) => {
                        format!("the websocket closed: {reason}")
                    }
                    _ => "the websocket closed".to_owned(),
                };
                let why = ProviderError::Unavailable(why);
                from_std(breaker.failed(Failure::Soft, &why))
            }
            Err(OpenError::UpgradeRequired) => {
                tracing::info!(
                    fallback = inner.fallback.name(),
                    "the endpoint answered the websocket upgrade with 426; using the fallback for the rest of the run"
                );
                inner.fallback_active.store(true, Ordering::SeqCst);
                // The fallback's requests dial for themselves: they decide from now on.
                breaker.set_mode(Mode::Requests);
                breaker.connected();
                inner.slot.send_modify(|slot| slot.fallback = true);
                return;
            }
            Err(OpenError::Failed(error)) => {
                tracing::debug!("websocket connection failed: {error}");
                let retry_at = match classify(&error) {
                    // Reported before requests see the error, so a request woken by it finds
                    // the breaker already open.
                    Some(failure) => from_std(breaker.failed(failure, &error)),
                    None => {
                        refusals += 1;
                        Instant::now() + breaker.pause(refusals)
                    }
                };
                inner.slot.send_modify(|slot| slot.error = Some(error));
                retry_at
            }
        };
        tokio::select! {
            () = sleep_until(retry_at) => {}
            () = cancel.cancelled() => return,
        }
    }
}

fn from_std(at: std::time::Instant) -> Instant {
    Instant::from_std(at)
}

fn publish(inner: &Inner, socket: conn::Socket) -> Arc<Conn> {
    let id = inner.connections_opened.fetch_add(1, Ordering::SeqCst) + 1;
    let conn = Conn::start(
        id,
        socket,
        inner.options.lanes,
        inner.options.max_warm_sessions,
        inner.cancel.child_token(),
        &inner.gauge,
    );
    tracing::debug!(conn = id, "websocket connected");
    inner.slot.send_modify(|slot| {
        slot.conn = Some(conn.clone());
        slot.error = None;
    });
    conn
}
