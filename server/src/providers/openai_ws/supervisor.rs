//! The one task that owns connecting: it opens the socket at start-up, publishes it to
//! requests, replaces it before the server's lifetime limit (make-before-break: the old socket
//! drains its running responses), reconnects after a drop with exponential backoff and
//! jitter, and switches to the fallback for good on a 426.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::{Instant, sleep, sleep_until};

use super::Inner;
use super::conn::{self, Conn, EndReason, OpenError};

/// The first reconnection delay; it doubles up to `WsOptions::max_backoff`.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Attempts are never closer than this, even when a request is waiting.
const MIN_GAP: Duration = Duration::from_millis(250);
/// A connection that lived this long was healthy: the next reconnection starts from scratch.
const STABLE: Duration = Duration::from_secs(5);

pub(super) async fn run(inner: Arc<Inner>) {
    let cancel = inner.cancel.clone();
    let mut backoff = Backoff::new(inner.options.max_backoff);
    // The connection a rotation is replacing; it keeps serving until its successor is open.
    let mut previous: Option<Arc<Conn>> = None;
    loop {
        let attempted_at = Instant::now();
        let opened = tokio::select! {
            opened = conn::open(&inner.url, &inner.settings) => opened,
            () = cancel.cancelled() => return,
        };
        match opened {
            Ok(socket) => {
                let conn = publish(&inner, socket);
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
                    backoff.reset();
                }
                // The lifetime limit is routine: reconnect at once unless it keeps happening.
                if lived && conn.ended() == Some(&EndReason::LimitReached) {
                    continue;
                }
            }
            Err(OpenError::UpgradeRequired) => {
                tracing::info!(
                    fallback = inner.fallback.name(),
                    "the endpoint answered the websocket upgrade with 426; using the fallback for the rest of the run"
                );
                inner.fallback_active.store(true, Ordering::SeqCst);
                inner.slot.send_modify(|slot| slot.fallback = true);
                return;
            }
            Err(OpenError::Failed(error)) => {
                tracing::warn!("websocket connection failed: {error}");
                inner.slot.send_modify(|slot| slot.error = Some(error));
            }
        }
        let delay = backoff.next();
        tokio::select! {
            () = sleep(delay) => {}
            // A waiting request cuts the backoff short, but only to a quarter of it, so that a
            // user typing against a dead endpoint does not turn into a connection storm.
            () = inner.demand.notified() => sleep_until(attempted_at + MIN_GAP.max(delay / 4)).await,
            () = cancel.cancelled() => return,
        }
    }
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

/// Exponential backoff with jitter, so that many clients do not reconnect in step.
struct Backoff {
    next: Duration,
    max: Duration,
    attempts: u64,
}

impl Backoff {
    fn new(max: Duration) -> Self {
        Self {
            next: FIRST_BACKOFF,
            max: max.max(FIRST_BACKOFF),
            attempts: 0,
        }
    }

    fn reset(&mut self) {
        self.next = FIRST_BACKOFF;
    }

    /// Somewhere in `[d/2, d]` for the current step `d`, then doubles the step.
    fn next(&mut self) -> Duration {
        self.attempts += 1;
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        let random = std::collections::hash_map::RandomState::new().hash_one(self.attempts);
        let fraction = 0.5 + (random % 1000) as f64 / 2000.0;
        step.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let mut backoff = Backoff::new(Duration::from_secs(1));
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next()).collect();
        assert!(delays[0] >= FIRST_BACKOFF / 2 && delays[0] <= FIRST_BACKOFF);
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert!(delays[7] >= Duration::from_millis(500));
        backoff.reset();
        assert!(backoff.next() <= FIRST_BACKOFF);
    }
}
