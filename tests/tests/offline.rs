//! End-to-end: the real `spark-lsp` binary when its provider goes away and comes back, over the
//! WebSocket session and over HTTP, against the reference model server on a fixed port.
//!
//! While the provider is gone its port is held by a listener that accepts and drops every
//! connection and counts them, so the test sees every dial spark-lsp makes. The request timeout
//! is 60 s and every request here must be answered within 20 s, so an answer that waited for the
//! request timeout fails the test without any timing being measured.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, ModelServer, ModelServerConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Far below the provider's 60 s request timeout.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);
const URI: &str = "file:///p/add.rs";

/// Holds a port: accepts each connection, counts it and drops it at once.
struct Refuser {
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Refuser {
    async fn bind(addr: SocketAddr) -> anyhow::Result<Self> {
        let listener = bind_again(addr).await?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        Ok(Self { accepted, task })
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Binds `addr` again once its previous owner has let go of it.
async fn bind_again(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    for _ in 0..200 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return Ok(listener);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("{addr} stayed in use")
}

async fn model_server(bind: SocketAddr) -> anyhow::Result<ModelServer> {
    let config = ModelServerConfig {
        bind,
        cost: CostModel::instant(),
        default_answer: "a + b".into(),
        ..ModelServerConfig::default()
    };
    for _ in 0..200 {
        if let Ok(server) = ModelServer::start(config.clone()).await {
            return Ok(server);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("{bind} stayed in use")
}

/// A user typing in one document; each keystroke asks for an inline completion.
struct Editor {
    client: LspClient,
    version: i32,
    column: u32,
}

impl Editor {
    async fn start(mut provider: Value) -> anyhow::Result<Self> {
        let mut client = LspClient::spawn(&[], &[("SPARK_LSP_LOG", "debug")]).await?;
        provider["model"] = json!("m");
        // Long enough that a request waiting for it fails the test; the retry waits are 5–10 s.
        provider["timeoutMs"] = json!(60_000);
        provider["reconnectMinMs"] = json!(10_000);
        provider["reconnectMaxMs"] = json!(10_000);
        let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}});
        client
            .initialize(capabilities, json!({ "provider": provider }))
            .await?;
        client
            .open(URI, "rust", 1, "fn add(a: u32, b: u32) -> u32 {\n    \n}\n")
            .await?;
        Ok(Self {
            client,
            version: 1,
            column: 4,
        })
    }

    /// Types one character (never the start of the cached suggestion, so no cache hit) and
    /// asks for a completion there; the answer's first item, if any.
    async fn type_and_ask(&mut self) -> anyhow::Result<Option<String>> {
        self.version += 1;
        let at = json!({"line": 1, "character": self.column});
        let change = json!({"textDocument": {"uri": URI, "version": self.version},
            "contentChanges": [{"range": {"start": at, "end": at}, "text": "z"}]});
        self.client.notify("textDocument/didChange", change).await?;
        self.column += 1;
        let params = json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": self.column}, "context": {"triggerKind": 1}});
        let response = tokio::time::timeout(
            ANSWER_WITHIN,
            self.client.request("textDocument/inlineCompletion", params),
        )
        .await
        .context("a completion waited for the request timeout")??;
        let result = &response["result"];
        let items = result.get("items").unwrap_or(result);
        Ok(items[0]["insertText"].as_str().map(str::to_owned))
    }

    /// The next `spark/status` that `matches`.
    async fn status(&mut self, matches: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        loop {
            let status = self.client.notification("spark/status").await?;
            if matches(&status) {
                return Ok(status);
            }
        }
    }

    /// The next `window/showMessage`'s text.
    async fn message(&mut self) -> anyhow::Result<String> {
        let message = self.client.notification("window/showMessage").await?;
        Ok(message["message"].as_str().unwrap_or_default().to_owned())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn is_offline(status: &Value) -> bool {
    status["offline"] == true
}

/// Goes offline and back: the scenario both transports share.
async fn goes_offline_and_recovers(transport: &str) -> anyhow::Result<()> {
    let server = model_server(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = server.addr();
    let provider = match transport {
        "websocket" => {
            json!({"kind": "openai-responses", "transport": "websocket", "baseUrl": server.http_base()})
        }
        _ => json!({"kind": "openai-chat", "baseUrl": server.http_base()}),
    };
    let mut editor = Editor::start(provider).await?;
    let mut answer = None;
    for _ in 0..200 {
        answer = editor.type_and_ask().await?;
        if answer.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        answer.as_deref(),
        Some("a + b"),
        "the model answers at first"
    );

    // The provider goes away; its port now drops every connection.
    drop(server);
    let refuser = Refuser::bind(addr).await?;
    assert_eq!(editor.type_and_ask().await?, None, "answered empty");
    let offline = editor.status(is_offline).await?;
    assert_eq!(offline["kind"], "Warning", "{offline}");
    let message = editor.message().await?;
    assert!(
        message.contains("offline") && message.contains("cannot reach"),
        "{message}"
    );

    // Typing on: every request is answered empty without a dial until the retry time.
    let retry_at = offline["retryAt"].as_u64().context("retryAt")?;
    let dialled = refuser.accepted();
    for _ in 0..5 {
        assert_eq!(editor.type_and_ask().await?, None);
    }
    // None of them waited for the retry: all were answered before it, and nothing was dialled.
    // (The retry is 5–10 s away and the five answers take milliseconds: no race in practice.)
    assert!(now_ms() < retry_at, "answered before the retry time");
    assert_eq!(refuser.accepted(), dialled, "no dial before the retry time");

    // The provider comes back on the same port; the first request after the retry time gets
    // the model's answer, with the same spark-lsp process.
    refuser.stop().await;
    let _server = model_server(addr).await?;
    let mut answer = None;
    let mut retry_at = retry_at;
    for _ in 0..5 {
        let wait = retry_at.saturating_sub(now_ms()) + 250;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        answer = editor.type_and_ask().await?;
        if answer.is_some() {
            break;
        }
        // The refuser was still there at the retry time (a slow machine): the next one.
        let status = editor
            .status(|s| is_offline(s) && s["retryAt"].as_u64() > Some(retry_at))
            .await?;
        retry_at = status["retryAt"].as_u64().unwrap_or_default();
    }
    assert_eq!(answer.as_deref(), Some("a + b"), "the model answers again");
    let back = editor
        .status(|s| !is_offline(s) && s["kind"] == "Normal")
        .await?;
    assert!(back.get("retryAt").is_none(), "{back}");
    let message = editor.message().await?;
    assert!(message.contains("reachable again"), "{message}");

    // Told once that it was gone, once that it is back.
    let Editor { mut client, .. } = editor;
    client.request("shutdown", Value::Null).await?;
    let more: Vec<&Value> = client
        .received
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .collect();
    assert!(more.is_empty(), "no other message: {more:?}");
    client.notify("exit", Value::Null).await?;
    assert_eq!(client.finish().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn the_websocket_session_goes_offline_answers_at_once_and_recovers() -> anyhow::Result<()> {
    goes_offline_and_recovers("websocket").await
}

#[tokio::test]
async fn an_http_provider_goes_offline_answers_at_once_and_recovers() -> anyhow::Result<()> {
    goes_offline_and_recovers("http").await
}
