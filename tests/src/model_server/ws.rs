//! Responses API WebSocket mode (PROTOCOLS.md §1): the upgrade handshake, `stream_id` lanes
//! (FIFO within a lane, concurrent across lanes, at most 16 responses in flight), the
//! connection-local `previous_response_id` cache, faults and the connection lifetime.
//!
//! One writer task owns the socket's sink; lanes send it ready-made frames through a channel,
//! so events of different lanes interleave frame by frame.

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::sleep;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::config::{Endpoint, Fault, RecordedRequest};
use super::http::{Conn, Io, Request, Respond};
use super::reasoning;
use super::responses::{ApiError, ResponseMeta, ResponsesRequest};
use super::state::{Shared, lock};
use super::stream::{FrameSink, Played, Schedule, StreamFaults, play};
use super::text::choose_answer;

const MAX_IN_FLIGHT: usize = 16;
const MAX_NAMED_LANES: usize = 32;
const MALFORMED_FRAME: &str = "{\"type\":\"response.output_text.delta\",\"delta\":";

/// A lane: `None` is the default lane.
type LaneKey = Option<String>;

enum Out {
    Text(String),
    /// Flush tungstenite's queued automatic Pong.
    Flush,
    /// Send a Close frame, then end.
    Close,
    /// End without a Close frame (a dropped connection).
    Abort,
}

/// The latest response of a lane and the size of its context in tokens.
#[derive(Debug, Clone)]
struct CacheEntry {
    id: String,
    context_tokens: u64,
}

struct Job {
    body: Value,
    fault: Option<Fault>,
}

/// What lanes of one connection share.
struct Lanes {
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<Out>,
    cache: Mutex<HashMap<LaneKey, CacheEntry>>,
    in_flight: Semaphore,
}

/// Completes the upgrade (the caller has checked auth and handshake faults) and serves the
/// socket until it closes.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    conn_id: u64,
    mut conn: Conn,
    request: Request,
) -> anyhow::Result<()> {
    let Some(key) = request.header("sec-websocket-key") else {
        let error = ApiError::invalid("invalid_request", "missing sec-websocket-key", None);
        conn.write_json(400, &[], &error.http_body(), false).await?;
        return Ok(());
    };
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    );
    tokio::io::AsyncWriteExt::write_all(&mut conn.io, head.as_bytes()).await?;
    tokio::io::AsyncWriteExt::flush(&mut conn.io).await?;
    shared
        .ws_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ws = WebSocketStream::from_partially_read(conn.io, conn.buf, Role::Server, None).await;
    let (sink, mut stream) = ws.split();
    let (out, out_rx) = mpsc::unbounded_channel();
    let mut tasks = JoinSet::new();
    let writer = tasks.spawn(write_loop(sink, out_rx));
    let lanes = Arc::new(Lanes {
        shared: shared.clone(),
        out: out.clone(),
        cache: Mutex::default(),
        in_flight: Semaphore::new(MAX_IN_FLIGHT),
    });
    let mut session = Session {
        lanes,
        conn_id,
        headers: request.headers,
        senders: HashMap::new(),
        named: HashSet::new(),
    };
    let deadline = sleep(shared.config.ws_lifetime);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) => session.on_text(text.as_str(), &mut tasks),
                Some(Ok(Message::Ping(_))) => { let _ = out.send(Out::Flush); }
                Some(Ok(Message::Binary(_))) => {
                    let error = ApiError::invalid("invalid_request", "binary frames are not supported", None);
                    let _ = out.send(Out::Text(error.ws_event().to_string()));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            Some(done) = tasks.join_next_with_id() => {
                if done.map_or_else(|e| e.id(), |(id, ())| id) == writer.id() {
                    break;
                }
            }
            () = &mut deadline => {
                let event = ApiError::connection_limit_reached().ws_event();
                let _ = out.send(Out::Text(event.to_string()));
                let _ = out.send(Out::Close);
                deadline.as_mut().reset(tokio::time::Instant::now() + shared.config.ws_lifetime);
            }
        }
    }
    Ok(())
}

async fn write_loop(
    mut sink: SplitSink<WebSocketStream<Box<dyn Io>>, Message>,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    while let Some(out) = rx.recv().await {
        let result = match out {
            Out::Text(text) => sink.send(Message::text(text)).await,
            Out::Flush => sink.flush().await,
            Out::Close => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
            Out::Abort => return,
        };
        if result.is_err() {
            return;
        }
    }
}

/// Reader-side state: which lanes exist.
struct Session {
    lanes: Arc<Lanes>,
    conn_id: u64,
    headers: Vec<(String, String)>,
    senders: HashMap<LaneKey, mpsc::UnboundedSender<Job>>,
    named: HashSet<String>,
}

impl Session {
    fn on_text(&mut self, text: &str, tasks: &mut JoinSet<()>) {
        let shared = &self.lanes.shared;
        let Ok(body) = serde_json::from_str::<Value>(text) else {
            self.reply(
                None,
                &ApiError::invalid("invalid_json", "frame is not valid JSON", None),
            );
            return;
        };
        let stream_id = match &body["stream_id"] {
            Value::Null => Ok(None),
            Value::String(id) if valid_stream_id(id) => Ok(Some(id.clone())),
            Value::String(id) => Err(Some(id.clone())),
            _ => Err(None),
        };
        shared.record(RecordedRequest {
            endpoint: Endpoint::ResponsesWebSocket,
            connection_id: self.conn_id,
            stream_id: stream_id.clone().unwrap_or_else(|bad| bad),
            headers: self.headers.clone(),
            body: body.clone(),
            received_at: Instant::now(),
        });
        if body["type"] != "response.create" {
            let message = format!("unsupported event type {}", body["type"]);
            self.reply(
                stream_id.unwrap_or_else(|bad| bad),
                &ApiError::invalid("invalid_request", message, Some("type")),
            );
            return;
        }
        let lane = match stream_id {
            Ok(lane) => lane,
            Err(bad) => {
                let message = "stream_id must be 1-256 characters of [A-Za-z0-9_.-]";
                self.reply(
                    bad,
                    &ApiError::invalid("invalid_stream_id", message, Some("stream_id")),
                );
                return;
            }
        };
        if let Some(name) = &lane
            && !self.named.contains(name)
        {
            if self.named.len() >= MAX_NAMED_LANES {
                let message = "this connection already used 32 stream ids; open a new connection";
                self.reply(
                    lane.clone(),
                    &ApiError::invalid(
                        "websocket_stream_limit_reached",
                        message,
                        Some("stream_id"),
                    ),
                );
                return;
            }
            self.named.insert(name.clone());
        }
        let fault = shared.take_request_fault(Endpoint::ResponsesWebSocket);
        let sender = self.senders.entry(lane.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tasks.spawn(lane_worker(self.lanes.clone(), lane, rx));
            tx
        });
        let _ = sender.send(Job { body, fault });
    }

    fn reply(&self, lane: LaneKey, error: &ApiError) {
        let _ = self
            .lanes
            .out
            .send(Out::Text(tag(error.ws_event(), &lane).to_string()));
    }
}

fn valid_stream_id(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Adds `stream_id` to an event iff the request named a lane.
fn tag(mut event: Value, lane: &LaneKey) -> Value {
    if let (Some(id), Some(object)) = (lane, event.as_object_mut()) {
        object.insert("stream_id".to_owned(), Value::from(id.clone()));
    }
    event
}

async fn lane_worker(lanes: Arc<Lanes>, lane: LaneKey, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        let Ok(_permit) = lanes.in_flight.acquire().await else {
            return;
        };
        if run(&lanes, &lane, job).await.is_err() {
            return;
        }
    }
}

struct LaneSink<'a> {
    out: &'a mpsc::UnboundedSender<Out>,
}

impl FrameSink for LaneSink<'_> {
    async fn send(&mut self, frame: String) -> io::Result<()> {
        self.out
            .send(Out::Text(frame))
            .map_err(|_| io::Error::other("websocket writer is gone"))
    }
}

/// Runs one `response.create`; `Err` means the connection is closing.
async fn run(lanes: &Lanes, lane: &LaneKey, job: Job) -> io::Result<()> {
    let shared = &lanes.shared;
    let request = ResponsesRequest::parse(&job.body, &shared.config.model);
    if let Some(Fault::Stall(delay)) = &job.fault {
        sleep(*delay).await;
    }
    let mut cached = 0;
    let mut hydrated = 0;
    let mut same_lane_parent = false;
    if let Some(previous) = &request.previous_response_id {
        let hit = lock(&lanes.cache)
            .iter()
            .find(|(_, e)| &e.id == previous)
            .map(|(l, e)| (l == lane, e.context_tokens));
        match (hit, shared.stored_response(previous)) {
            (Some((same, tokens)), _) => (same_lane_parent, cached) = (same, tokens),
            (None, Some(tokens)) => hydrated = tokens,
            (None, None) => {
                let message = format!("previous response with id '{previous}' not found");
                let error = ApiError::invalid(
                    "previous_response_not_found",
                    message,
                    Some("previous_response_id"),
                );
                return send_error(lanes, lane, &error);
            }
        }
    }
    let hidden = if request.generate {
        reasoning::thinking_tokens(
            shared.config.reasoning.as_ref(),
            Endpoint::ResponsesWebSocket,
            &job.body,
        )
    } else {
        Ok(0)
    };
    let hidden = match hidden {
        Ok(hidden) => hidden,
        Err(error) => return send_error(lanes, lane, &error),
    };
    shared.thought(hidden);
    let error = match &job.fault {
        Some(Fault::RateLimited { retry_after_secs }) => {
            Some(ApiError::rate_limited(*retry_after_secs))
        }
        Some(Fault::ServerError(status)) => Some(ApiError::server(*status)),
        Some(Fault::ConnectionLimitReached) => {
            send_error(lanes, &None, &ApiError::connection_limit_reached())?;
            let _ = lanes.out.send(Out::Close);
            return Err(io::Error::other("connection closing"));
        }
        _ => None,
    };
    if let Some(error) = error {
        // A failed same-lane continuation evicts its parent; a failed fork keeps it.
        if same_lane_parent {
            lock(&lanes.cache).remove(lane);
        }
        return send_error(lanes, lane, &error);
    }
    let new_prompt_tokens = hydrated + request.new_input_tokens;
    let meta = ResponseMeta {
        id: shared.new_id("resp_"),
        item_id: shared.new_id("msg_"),
        input_tokens: cached + new_prompt_tokens,
        cached_tokens: cached,
        request,
    };
    let schedule =
        Schedule::new(shared.config.cost, Instant::now(), new_prompt_tokens).after_thinking(hidden);
    let answer = meta.request.generate.then(|| {
        let limits = meta.request.limits(shared.config.default_max_tokens);
        choose_answer(
            shared,
            Endpoint::ResponsesWebSocket,
            &meta.request.prompt,
            &limits,
        )
    });
    let script = meta
        .script(answer.as_ref())
        .map(|event| tag(event, lane).to_string());
    let mut faults = StreamFaults::from_fault(job.fault.as_ref());
    if let Some(Fault::StreamError { after_tokens }) = job.fault {
        let at = after_tokens.min(script.tokens.len());
        let mut event = ApiError::server(500).ws_event();
        event["sequence_number"] = Value::from(script.head.len() + script.first.len() + at);
        faults.error_after = Some((at, tag(event, lane).to_string()));
    }
    let played = play(
        &mut LaneSink { out: &lanes.out },
        script,
        schedule,
        &faults,
        MALFORMED_FRAME,
    )
    .await?;
    if played == Played::Dropped {
        let _ = lanes.out.send(Out::Abort);
        return Err(io::Error::other("connection dropped by fault"));
    }
    if played == Played::Errored {
        if same_lane_parent {
            lock(&lanes.cache).remove(lane);
        }
        return Ok(());
    }
    let context_tokens = meta.input_tokens + answer.map_or(0, |a| a.output_tokens());
    lock(&lanes.cache).insert(
        lane.clone(),
        CacheEntry {
            id: meta.id.clone(),
            context_tokens,
        },
    );
    if meta.request.store {
        shared.store_response(&meta.id, context_tokens);
    }
    Ok(())
}

fn send_error(lanes: &Lanes, lane: &LaneKey, error: &ApiError) -> io::Result<()> {
    let frame = tag(error.ws_event(), lane).to_string();
    lanes
        .out
        .send(Out::Text(frame))
        .map_err(|_| io::Error::other("websocket writer is gone"))
}
