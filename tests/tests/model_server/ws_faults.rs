//! Responses WebSocket mode under faults: error events, drops, limits, lifetime, handshake
//! faults, auth and ping.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use spark_tests::model_server::{Endpoint, Fault, ModelServer, ModelServerConfig};
use tokio_tungstenite::tungstenite::{self, Message};

use crate::support::*;

#[tokio::test]
async fn error_faults_keep_the_socket() {
    let server = start().await;
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    server.push_fault(Fault::RateLimited {
        retry_after_secs: 3,
    });
    ws_send(&mut ws, with(create("x"), json!({"stream_id": "r"}))).await;
    let limited = ws_next(&mut ws).await;
    assert_eq!(
        (limited["status"].clone(), limited["stream_id"].clone()),
        (json!(429), json!("r"))
    );
    assert_eq!(limited["error"]["headers"]["retry-after"], "3");
    assert_eq!(limited["headers"]["retry-after"], "3");
    server.push_answer("ab cd");
    server.push_fault(Fault::Malformed);
    ws_send(&mut ws, create("x")).await;
    let mut malformed = 0;
    loop {
        let text = ws_next_text(&mut ws).await.unwrap();
        match serde_json::from_str::<Value>(&text) {
            Err(_) => malformed += 1,
            Ok(event) if is_terminal(&event) => break,
            Ok(_) => {}
        }
    }
    assert_eq!(malformed, 1);
    server.push_fault(Fault::Stall(Duration::from_millis(20)));
    ws_send(&mut ws, create("x")).await;
    assert_eq!(
        ws_collect(&mut ws, 1).await.last().unwrap()["type"],
        "response.completed"
    );
}

#[tokio::test]
async fn drop_and_limit_faults_end_the_socket() {
    let server = start().await;
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    server.push_answer("one two three four five");
    server.push_fault(Fault::DropAfterTokens(2));
    ws_send(&mut ws, create("x")).await;
    let mut deltas = 0;
    while let Some(text) = ws_next_text(&mut ws).await {
        let event: Value = serde_json::from_str(&text).unwrap();
        assert!(!is_terminal(&event), "dropped before completion");
        deltas += usize::from(event["type"] == "response.output_text.delta");
    }
    assert_eq!(deltas, 2);
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    server.push_fault(Fault::ConnectionLimitReached);
    ws_send(&mut ws, create("x")).await;
    let error = ws_next(&mut ws).await;
    assert_eq!(
        (error["status"].clone(), error["error"]["code"].clone()),
        (json!(400), json!("websocket_connection_limit_reached"))
    );
    assert_eq!(ws_next_text(&mut ws).await, None, "then the server closes");
}

#[tokio::test]
async fn lifetime_limit_closes() {
    let config = ModelServerConfig {
        ws_lifetime: Duration::from_millis(100),
        ..fast_config()
    };
    let server = ModelServer::start(config).await.unwrap();
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    let error = ws_next(&mut ws).await;
    assert_eq!(error["error"]["code"], "websocket_connection_limit_reached");
    assert_eq!(ws_next_text(&mut ws).await, None);
}

#[tokio::test]
async fn handshake_faults_auth_and_ping() {
    let config = ModelServerConfig {
        api_key: Some("sk-ws".into()),
        ..fast_config()
    };
    let server = ModelServer::start(config).await.unwrap();
    let status = |result: Result<Ws, tungstenite::Error>| match result {
        Err(tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => panic!("expected an HTTP error, got {}", other.is_ok()),
    };
    assert_eq!(status(ws_connect(&server, &[]).await), 401);
    let auth = [("authorization", "Bearer sk-ws")];
    server.push_fault(Fault::UpgradeRequired);
    assert_eq!(status(ws_connect(&server, &auth).await), 426);
    server.push_fault_for(
        Endpoint::ResponsesWebSocket,
        Fault::SlowHandshake(Duration::from_millis(20)),
    );
    let mut ws = ws_connect(&server, &auth).await.unwrap();
    ws.send(Message::Ping(b"hi".to_vec().into())).await.unwrap();
    let pong = tokio::time::timeout(GUARD, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
    let upgrades = server.requests_for(Endpoint::WebSocketHandshake);
    assert_eq!(upgrades.len(), 3);
    assert_eq!(upgrades[2].header("authorization"), Some("Bearer sk-ws"));
    assert_eq!(server.websocket_connections(), 1);
}

#[tokio::test]
async fn mid_stream_error_ends_the_response_only() {
    let server = start().await;
    let mut ws = ws_connect(&server, &[]).await.unwrap();
    server.push_answer("one two three");
    server.push_fault(Fault::StreamError { after_tokens: 2 });
    ws_send(&mut ws, with(create("x"), json!({"stream_id": "e"}))).await;
    let events = ws_collect(&mut ws, 1).await;
    let error = events.last().unwrap();
    assert_eq!(
        (error["type"].clone(), error["status"].clone()),
        (json!("error"), json!(500))
    );
    assert_eq!(error["stream_id"], "e");
    assert_eq!(delta_text(&events), "one two");
    server.push_answer("still here");
    ws_send(&mut ws, create("y")).await;
    assert_eq!(delta_text(&ws_collect(&mut ws, 1).await), "still here");
}
