//! Shared helpers: start a fast server, talk WebSocket mode, pick events apart.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use spark_tests::model_server::{CostModel, ModelServer, ModelServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

/// Guards every wait so a broken server fails the test instead of hanging it.
pub const GUARD: Duration = Duration::from_secs(10);

/// No latency at all: behaviour tests stay fast.
pub fn fast_config() -> ModelServerConfig {
    ModelServerConfig {
        cost: CostModel::instant(),
        ..ModelServerConfig::default()
    }
}

pub async fn start() -> ModelServer {
    ModelServer::start(fast_config()).await.unwrap()
}

pub type Ws<S = TcpStream> = WebSocketStream<S>;

/// Opens a WebSocket to the server's Responses endpoint with extra upgrade headers.
pub async fn ws_connect(
    server: &ModelServer,
    headers: &[(&str, &str)],
) -> Result<Ws, tungstenite::Error> {
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    ws_handshake(&server.ws_url(), tcp, headers).await
}

pub async fn ws_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    url: &str,
    stream: S,
    headers: &[(&str, &str)],
) -> Result<Ws<S>, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let (ws, _) = tokio_tungstenite::client_async(request, stream).await?;
    Ok(ws)
}

pub async fn ws_send<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Ws<S>, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// The next frame: `Some(text)` for a text frame, `None` for close, EOF or a socket error.
pub async fn ws_next_text<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Ws<S>) -> Option<String> {
    loop {
        match tokio::time::timeout(GUARD, ws.next())
            .await
            .expect("no frame in time")
        {
            Some(Ok(Message::Text(text))) => return Some(text.to_string()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

pub async fn ws_next<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut Ws<S>) -> Value {
    let text = ws_next_text(ws).await.expect("socket closed");
    serde_json::from_str(&text).unwrap()
}

pub fn is_terminal(event: &Value) -> bool {
    matches!(
        event["type"].as_str(),
        Some("response.completed" | "response.incomplete" | "response.failed" | "error")
    )
}

/// Events until `count` responses have ended (any lane).
pub async fn ws_collect<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut Ws<S>,
    count: usize,
) -> Vec<Value> {
    let mut events = Vec::new();
    let mut ended = 0;
    while ended < count {
        let event = ws_next(ws).await;
        ended += usize::from(is_terminal(&event));
        events.push(event);
    }
    events
}

pub fn create(input: &str) -> Value {
    json!({"type": "response.create", "model": "spark", "store": false, "input": input})
}

pub fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

pub fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("?"))
        .collect()
}

/// Concatenated `response.output_text.delta` text.
pub fn delta_text(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap())
        .collect()
}

/// The event types of one generating response, with `n` deltas.
pub fn response_sequence(n: usize) -> Vec<&'static str> {
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(std::iter::repeat_n("response.output_text.delta", n));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    expected
}
