//! One open WebSocket: the upgrade, a writer task that owns the sink, a reader task that
//! routes each event to the request running on its `stream_id` lane, and the lane pool.
//!
//! When the socket ends (close, drop, protocol error, shutdown) every route is dropped, so
//! each request in flight sees its channel close and reads the reason from [`Conn::ended`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::lanes::{LaneIdx, Pool, WarmTicket};
use super::tasks::TaskGauge;
use super::wire::{self, CONNECTION_LIMIT};
use crate::providers::{ProviderError, Settings};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Why a connection could not be opened.
#[derive(Debug)]
pub(super) enum OpenError {
    /// 426: this endpoint has no WebSocket mode; use the fallback for the rest of the run.
    UpgradeRequired,
    Failed(ProviderError),
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum EndReason {
    /// The server's lifetime limit (`websocket_connection_limit_reached`): retry elsewhere.
    LimitReached,
    /// Closed or dropped by the server, or a socket error.
    Closed(String),
    /// The server broke the protocol (e.g. a binary frame).
    Protocol(String),
    /// Drained after a rotation, or the provider was dropped.
    Shutdown,
}

/// Opens the socket within `connect_timeout`, over rustls when the URL is `wss`.
pub(super) async fn open(url: &str, settings: &Settings) -> Result<Socket, OpenError> {
    let request = wire::handshake_request(url, settings).map_err(OpenError::Failed)?;
    // HTTP/1.1 only: an upgrade cannot happen over h2, which the shared config also offers.
    let mut tls = (*settings.tls).clone();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = Connector::Rustls(Arc::new(tls));
    let connect =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector));
    let result = tokio::time::timeout(settings.connect_timeout, connect).await;
    let Ok(result) = result else {
        return Err(OpenError::Failed(ProviderError::Unreachable(format!(
            "no websocket connection to {url} within {:?}",
            settings.connect_timeout
        ))));
    };
    match result {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            Err(match status {
                426 => OpenError::UpgradeRequired,
                401 | 403 => OpenError::Failed(ProviderError::Auth(format!(
                    "the websocket upgrade was refused with {status}"
                ))),
                429 => OpenError::Failed(ProviderError::RateLimited { retry_after: None }),
                _ => OpenError::Failed(ProviderError::Unavailable(format!(
                    "the websocket upgrade was answered {status}"
                ))),
            })
        }
        // Refused, DNS, TLS, closed during the handshake: the endpoint cannot be reached.
        Err(err) => Err(OpenError::Failed(ProviderError::Unreachable(format!(
            "cannot reach {url}: {err}"
        )))),
    }
}

enum Outgoing {
    Text(String),
    /// Flush tungstenite's queued automatic Pong.
    Flush,
    Close,
}

pub(super) struct State {
    pub pool: Pool,
    /// Per lane, where its events go while a response runs there.
    routes: Vec<Option<mpsc::UnboundedSender<Value>>>,
}

/// A live connection. Requests hold it through an `Arc`; the socket itself belongs to the tasks.
pub(super) struct Conn {
    pub id: usize,
    pub opened_at: Instant,
    names: Vec<String>,
    out: mpsc::UnboundedSender<Outgoing>,
    state: Mutex<State>,
    /// Woken when a lane is released or the connection closes (lane waiters re-check).
    pub lane_freed: Notify,
    /// A permit for the reader to re-check whether a draining connection is idle.
    idle_check: Notify,
    closing: AtomicBool,
    draining: AtomicBool,
    ended: OnceLock<EndReason>,
    /// Cancelled to close the socket; a child of the provider's token.
    cancel: CancellationToken,
    /// Cancelled by the reader when the socket has ended.
    done: CancellationToken,
}

impl Conn {
    /// Starts the reader and writer tasks for `socket`.
    pub fn start(
        id: usize,
        socket: Socket,
        lanes: usize,
        max_bases: usize,
        cancel: CancellationToken,
        gauge: &TaskGauge,
    ) -> Arc<Conn> {
        let (sink, stream) = socket.split();
        let (out, out_rx) = mpsc::unbounded_channel();
        let conn = Arc::new(Conn {
            id,
            opened_at: Instant::now(),
            names: (0..lanes).map(|i| format!("spark-{i}")).collect(),
            out,
            state: Mutex::new(State {
                pool: Pool::new(lanes, max_bases),
                routes: (0..lanes).map(|_| None).collect(),
            }),
            lane_freed: Notify::new(),
            idle_check: Notify::new(),
            closing: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            ended: OnceLock::new(),
            cancel,
            done: CancellationToken::new(),
        });
        gauge.spawn(write_loop(sink, out_rx));
        gauge.spawn(read_loop(conn.clone(), stream));
        conn
    }

    pub fn pool(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn lane_name(&self, lane: LaneIdx) -> &str {
        self.names.get(lane).map_or("?", String::as_str)
    }

    /// True once no new request should start here.
    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire) || self.done.is_cancelled()
    }

    pub fn ended(&self) -> Option<&EndReason> {
        self.ended.get()
    }

    /// Resolves once the socket has ended.
    pub async fn closed(&self) {
        self.done.cancelled().await;
    }

    /// Gives `lane`'s events to a new channel and sends `frame`.
    pub fn send(&self, lane: LaneIdx, frame: String) -> Option<mpsc::UnboundedReceiver<Value>> {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut state = self.pool();
            let slot = state.routes.get_mut(lane)?;
            *slot = Some(tx);
        }
        self.out.send(Outgoing::Text(frame)).ok()?;
        Some(rx)
    }

    /// The response on `lane` is over: stop routing to it and hand the lane out again.
    pub fn release(&self, lane: LaneIdx, pinned_base: Option<LaneIdx>) {
        {
            let mut state = self.pool();
            if let Some(route) = state.routes.get_mut(lane) {
                *route = None;
            }
            state.pool.release(lane);
            if let Some(base) = pinned_base {
                state.pool.unpin(base);
            }
        }
        self.lane_freed.notify_waiters();
        self.idle_check.notify_one();
    }

    /// A warm-up ended: with `id` its lane now holds the session's base, else it is freed.
    pub fn finish_warm(&self, session: &str, ticket: &WarmTicket, id: Option<String>) {
        {
            let mut state = self.pool();
            if let Some(route) = state.routes.get_mut(ticket.lane) {
                *route = None;
            }
            match id {
                Some(id) => state.pool.warm_ready(session, ticket, id),
                None => state.pool.warm_failed(session, ticket),
            }
        }
        self.lane_freed.notify_waiters();
        self.idle_check.notify_one();
    }

    /// A fork of the base on `base` is `in_progress`: that lane may move on.
    pub fn unpin(&self, base: LaneIdx) {
        self.pool().pool.unpin(base);
        self.lane_freed.notify_waiters();
    }

    /// The server said this connection reached its lifetime limit: start no more requests
    /// here and close it, so the supervisor opens a fresh one at once.
    pub fn limit_reached(&self) {
        let _ = self.ended.set(EndReason::LimitReached);
        self.close();
    }

    pub fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.cancel.cancel();
        self.lane_freed.notify_waiters();
    }

    /// Replaced by a newer connection: close once the responses still running here end.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
        self.closing.store(true, Ordering::Release);
        self.lane_freed.notify_waiters();
        self.idle_check.notify_one();
    }

    fn drained(&self) -> bool {
        self.draining.load(Ordering::Acquire) && self.pool().pool.busy() == 0
    }

    /// Routes one text frame to its lane. Garbage is logged and dropped, never fatal.
    fn dispatch(&self, text: &str) {
        let Ok(event) = serde_json::from_str::<Value>(text) else {
            tracing::debug!(
                conn = self.id,
                "ignoring a websocket frame that is not JSON"
            );
            return;
        };
        let lane =
            wire::stream_id(&event).and_then(|name| self.names.iter().position(|n| n == name));
        let route = lane.and_then(|lane| self.pool().routes.get(lane).cloned().flatten());
        if let Some(route) = route {
            let _ = route.send(event);
            return;
        }
        let wire::Event::Error(error) = wire::parse_event(&event) else {
            return;
        };
        if error.code == CONNECTION_LIMIT {
            tracing::info!(
                conn = self.id,
                "websocket reached its lifetime limit; reconnecting"
            );
            self.limit_reached();
        } else {
            tracing::warn!(
                conn = self.id,
                status = error.status,
                code = error.code,
                "websocket error outside any request: {}",
                error.message
            );
        }
    }

    fn end(&self, reason: EndReason) {
        let _ = self.ended.set(reason);
        self.closing.store(true, Ordering::Release);
        // Dropping the routes ends every request's event channel.
        self.pool().routes.iter_mut().for_each(|r| *r = None);
        let _ = self.out.send(Outgoing::Close);
        self.done.cancel();
        self.lane_freed.notify_waiters();
    }
}

async fn write_loop(
    mut sink: SplitSink<Socket, Message>,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
) {
    while let Some(out) = rx.recv().await {
        let result = match out {
            Outgoing::Text(text) => sink.send(Message::text(text)).await,
            Outgoing::Flush => sink.flush().await,
            Outgoing::Close => {
                let _ = sink.send(Message::Close(None)).await;
                let _ = sink.close().await;
                return;
            }
        };
        if result.is_err() {
            return;
        }
    }
}

async fn read_loop(conn: Arc<Conn>, mut stream: SplitStream<Socket>) {
    let reason = loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = conn.cancel.cancelled() => break EndReason::Shutdown,
            () = conn.idle_check.notified() => {
                if conn.drained() { break EndReason::Shutdown }
                continue;
            }
        };
        match message {
            Some(Ok(Message::Text(text))) => {
                tracing::trace!(conn = conn.id, "event {}", text.as_str());
                conn.dispatch(text.as_str());
            }
            Some(Ok(Message::Ping(_))) => {
                let _ = conn.out.send(Outgoing::Flush);
            }
            Some(Ok(Message::Binary(_))) => {
                break EndReason::Protocol("the server sent a binary websocket frame".into());
            }
            Some(Ok(Message::Close(_))) | None => {
                break EndReason::Closed("closed by the server".into());
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => break EndReason::Closed(format!("socket error: {err}")),
        }
        if conn.drained() {
            break EndReason::Shutdown;
        }
    };
    tracing::debug!(conn = conn.id, ?reason, "websocket closed");
    conn.end(reason);
}
