//! A misbehaving client against the real binary: malformed frames and messages get the JSON-RPC
//! error the specification gives (or are skipped and logged) and the server goes on serving; the
//! server exits when the editor process named by `processId` is gone; a handler panic answers its
//! request with an error. stdout must hold nothing but frames throughout.

use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, ensure};
use proptest::prelude::*;
use serde_json::{Value, json};
use spark_lsp::lsp::ServerOptions;
use spark_lsp::providers::{ModelRequest, Provider, TextStream};
use spark_tests::lsp_client::LspClient;

fn frame(body: &[u8]) -> Vec<u8> {
    [
        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
        body,
    ]
    .concat()
}

async fn started() -> Result<LspClient> {
    let mut client = LspClient::spawn(&[], &[]).await?;
    client.initialize(json!({}), Value::Null).await?;
    Ok(client)
}

/// Error replies (no method, an `error`) received so far, removed from `received`.
fn take_errors(client: &mut LspClient) -> Vec<Value> {
    let (errors, rest) = std::mem::take(&mut client.received)
        .into_iter()
        .partition(|m| m.get("method").is_none() && m.get("error").is_some());
    client.received = rest;
    errors
}

/// Sends `bytes` and, in the same write, a `spark/stats` request; returns the error replies seen
/// by the time the request is answered (the reader answers in order, through one writer).
async fn send_then_request(client: &mut LspClient, bytes: &[u8], id: i64) -> Result<Vec<Value>> {
    let request = json!({"jsonrpc": "2.0", "id": id, "method": "spark/stats"});
    let write = [bytes, &frame(request.to_string().as_bytes())].concat();
    client.send_raw(&write).await?;
    let response = client.response(id).await?;
    ensure!(response.get("result").is_some(), "not answered: {response}");
    Ok(take_errors(client))
}

fn with_header(header: &str, body: &[u8]) -> Vec<u8> {
    [
        header.replace("{len}", &body.len().to_string()).as_bytes(),
        body,
    ]
    .concat()
}

/// A malformed input: its name, its bytes, and the error code and id expected back, if any.
type Case = (&'static str, Vec<u8>, Option<(i64, Value)>);

#[tokio::test]
async fn malformed_messages_get_errors_and_the_server_goes_on() -> Result<()> {
    let stats = br#"{"jsonrpc":"2.0","id":"ok","method":"spark/stats"}"#;
    let deep = [
        br#"{"jsonrpc":"2.0","method":"x","params":"#.as_slice(),
        &b"[".repeat(10_000),
        &b"]".repeat(10_000),
        b"}",
    ]
    .concat();
    let too_long = br#"{"jsonrpc":"2.0","id":"cut","method":"spark/stats"}"#;
    let cases: Vec<Case> = vec![
        ("float id", frame(br#"{"jsonrpc":"2.0","id":1.5,"method":"spark/stats"}"#), Some((-32600, Value::Null))),
        ("null id", frame(br#"{"jsonrpc":"2.0","id":null,"method":"spark/stats"}"#), Some((-32600, Value::Null))),
        ("no jsonrpc", frame(br#"{"id":"bad","method":"spark/stats"}"#), Some((-32600, json!("bad")))),
        ("jsonrpc 1.0", frame(br#"{"jsonrpc":"1.0","id":"old","method":"spark/stats"}"#), Some((-32600, json!("old")))),
        ("batch", frame(br#"[{"jsonrpc":"2.0","id":"b","method":"spark/stats"}]"#), Some((-32600, Value::Null))),
        ("not an object", frame(b"42"), Some((-32600, Value::Null))),
        ("no method", frame(br#"{"jsonrpc":"2.0","id":"m"}"#), Some((-32600, json!("m")))),
        ("invalid UTF-8", frame(b"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"t\":\"\xff\xfe\"}}"), Some((-32700, Value::Null))),
        ("lone surrogate", frame(br#"{"jsonrpc":"2.0","method":"x","params":{"t":"\ud800"}}"#), Some((-32700, Value::Null))),
        ("10,000 levels", frame(&deep), Some((-32700, Value::Null))),
        ("truncated JSON", frame(br#"{"jsonrpc":"2.0","id":"t","#), Some((-32700, Value::Null))),
        ("body longer than announced", with_header(&format!("Content-Length: {}\r\n\r\n", too_long.len() - 3), too_long), Some((-32700, Value::Null))),
        ("Content-Type with charset", with_header("Content-Length: {len}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n", stats), None),
        ("Content-Type utf8", with_header("Content-Type: application/vscode-jsonrpc; charset=UTF8\r\nContent-Length: {len}\r\n\r\n", stats), None),
        ("Content-Type without charset", with_header("Content-Length: {len}\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n", stats), None),
        ("lowercase headers", with_header("content-length: {len}\r\ncontent-type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n", stats), None),
        ("Content-Length: 0", b"Content-Length: 0\r\n\r\n".to_vec(), None),
        ("no Content-Length", with_header("Content-Type: application/vscode-jsonrpc\r\n\r\n", stats), None),
        ("bad Content-Length", with_header("Content-Length: lots\r\n\r\n", stats), None),
        ("body shorter than announced", with_header("Content-Length: 500\r\n\r\n", b"{\"jsonrpc\":\"2.0\""), None),
        ("over the 64 MiB limit", with_header("Content-Length: 1000000000\r\n\r\n", b"{"), None),
        ("garbage", b"\x00\xff\r\n\r\nnot: a frame\r\n\r\n}}".to_vec(), None),
        ("didSave, not advertised", frame(br#"{"jsonrpc":"2.0","method":"textDocument/didSave","params":{"textDocument":{"uri":"file:///a.rs"}}}"#), None),
        ("unknown notification", frame(br#"{"jsonrpc":"2.0","method":"editor/somethingElse","params":{}}"#), None),
    ];
    for (name, bytes, expected) in cases {
        let mut client = started().await.context(name)?;
        let errors = send_then_request(&mut client, &bytes, 1000)
            .await
            .with_context(|| format!("{name}: the next request"))?;
        let got: Vec<_> = errors
            .iter()
            .map(|e| {
                (
                    e["error"]["code"].as_i64().unwrap_or_default(),
                    e["id"].clone(),
                )
            })
            .collect();
        let expected: Vec<_> = expected.into_iter().collect();
        // A well-formed stats request inside the case is answered too, not as an error.
        assert_eq!(got, expected, "{name}: {errors:?}");
        let code = client.shutdown_and_exit().await.context(name)?;
        assert_eq!(code, Some(0), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn unused_notifications_are_not_warned_about() -> Result<()> {
    let mut client = started().await?;
    for _ in 0..3 {
        let params = json!({"textDocument": {"uri": "file:///a.rs"}});
        client.notify("textDocument/didSave", params).await?;
    }
    client.request("spark/stats", Value::Null).await?;
    client.request("shutdown", Value::Null).await?;
    client.notify("exit", Value::Null).await?;
    let stderr = client.take_stderr().await.unwrap_or_default();
    assert!(!stderr.contains("didSave"), "{stderr}");
    Ok(())
}

/// A process that is gone: spawned, killed and reaped.
fn dead_pid() -> Result<u32> {
    let mut child = std::process::Command::new("sleep").arg("60").spawn()?;
    let pid = child.id();
    child.kill()?;
    child.wait()?;
    Ok(pid)
}

fn initialize_params(pid: u32) -> Value {
    json!({"processId": pid, "rootUri": null, "capabilities": {}})
}

#[tokio::test]
async fn a_dead_editor_process_stops_the_server() -> Result<()> {
    let mut client = LspClient::spawn(&[], &[]).await?;
    client
        .start_request("initialize", initialize_params(dead_pid()?))
        .await?;
    // No shutdown came first: exit code 1, as after an `exit` without `shutdown`.
    assert_eq!(client.finish().await?, Some(1));
    Ok(())
}

#[tokio::test]
async fn the_server_exits_when_the_editor_process_does() -> Result<()> {
    let mut editor = std::process::Command::new("sleep").arg("60").spawn()?;
    let mut client = LspClient::spawn(&[], &[]).await?;
    client
        .request("initialize", initialize_params(editor.id()))
        .await?;
    client.notify("initialized", json!({})).await?;
    let stats = client.request("spark/stats", Value::Null).await?;
    assert!(stats.get("result").is_some(), "{stats}");
    editor.kill()?;
    editor.wait()?;
    assert_eq!(client.finish().await?, Some(1));
    Ok(())
}

/// A provider whose first question on the request path panics.
struct PanickingProvider;

impl Provider for PanickingProvider {
    fn name(&self) -> &str {
        "panicking"
    }
    fn stream(&self, _: ModelRequest) -> TextStream {
        TextStream::channel().1
    }
    fn wants_fim(&self) -> bool {
        panic!("test provider: wants_fim panics")
    }
}

#[tokio::test]
async fn a_handler_panic_answers_an_error_and_serving_goes_on() -> Result<()> {
    let mut client = LspClient::in_process(ServerOptions {
        provider: Some(Arc::new(PanickingProvider)),
        ..ServerOptions::default()
    });
    client.initialize(json!({}), Value::Null).await?;
    client
        .open("file:///a.py", "python", 1, "def f(x):\n    ")
        .await?;
    let params = json!({"textDocument": {"uri": "file:///a.py"}, "position": {"line": 1, "character": 4}, "context": {"triggerKind": 1}});
    let response = client
        .request("textDocument/inlineCompletion", params)
        .await?;
    assert_eq!(response["error"]["code"], -32603, "{response}");
    let stats = client.request("spark/stats", Value::Null).await?;
    assert!(stats.get("result").is_some(), "{stats}");
    let shutdown = client.request("shutdown", Value::Null).await?;
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    client.assert_clean_framing()
}

/// One piece of a hostile byte stream.
#[derive(Debug, Clone)]
enum Piece {
    /// A valid `spark/stats` request, which must be answered.
    Request,
    Garbage(Vec<u8>),
    /// A well-framed body that is not a valid message.
    Invalid(&'static str),
    /// A frame whose Content-Length is off by this much.
    WrongLength(i64),
    Header(&'static str),
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        3 => Just(Piece::Request),
        2 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Piece::Garbage),
        1 => prop::sample::select(vec![
            r#"{"jsonrpc":"2.0","id":1.5,"method":"spark/stats"}"#,
            r#"{"id":"x","method":"spark/stats"}"#,
            r#"[{"jsonrpc":"2.0","id":"x","method":"spark/stats"}]"#,
            r#"{"jsonrpc":"2.0","method":"x","params":{"t":"\ud800"}}"#,
            r#"{"jsonrpc":"2.0","#,
            "null",
        ]).prop_map(Piece::Invalid),
        1 => (-20i64..120).prop_map(Piece::WrongLength),
        1 => prop::sample::select(vec![
            "Content-Length: 0\r\n\r\n",
            "Content-Length: x\r\n\r\n",
            "Content-Length: 12",
            "Content-Length: 9999999999\r\n\r\n",
            "Content-Type: application/vscode-jsonrpc\r\n\r\n",
        ]).prop_map(Piece::Header),
    ]
}

/// The bytes of `pieces` and the ids of the valid requests in them.
fn render(pieces: &[Piece], first_id: i64) -> (Vec<u8>, Vec<i64>) {
    let mut bytes = Vec::new();
    let mut ids = Vec::new();
    for (n, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Request => {
                let id = first_id + n as i64;
                let body = json!({"jsonrpc": "2.0", "id": id, "method": "spark/stats"});
                bytes.extend(frame(body.to_string().as_bytes()));
                ids.push(id);
            }
            Piece::Garbage(garbage) => bytes.extend(garbage),
            Piece::Invalid(body) => bytes.extend(frame(body.as_bytes())),
            Piece::WrongLength(delta) => {
                let body = r#"{"jsonrpc":"2.0","method":"x","params":{"t":"abc"}}"#;
                let len = (body.len() as i64 + delta).max(1);
                bytes.extend(format!("Content-Length: {len}\r\n\r\n{body}").as_bytes());
            }
            Piece::Header(header) => bytes.extend(header.as_bytes()),
        }
    }
    (bytes, ids)
}

/// Cases per run: a few in CI, many from `scripts/fuzz-transport` (`SPARK_FUZZ_CASES`).
fn cases() -> u32 {
    std::env::var("SPARK_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

async fn serve_hostile_stream(pieces: Vec<Piece>) -> Result<()> {
    let mut client = started().await?;
    let mut pieces = pieces;
    pieces.push(Piece::Request);
    let (bytes, ids) = render(&pieces, 100);
    client.send_raw(&bytes).await?;
    for id in ids {
        let response = client.response(id).await?;
        ensure!(response.get("result").is_some(), "{response}");
    }
    let code = client.shutdown_and_exit().await?;
    ensure!(code == Some(0), "exit code {code:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Arbitrary garbage and malformed frames between valid requests: the process lives, every
    /// valid request is answered, stdout holds only frames (checked by the client at exit).
    #[test]
    fn hostile_streams_never_stop_the_server(pieces in proptest::collection::vec(piece(), 1..10)) {
        let outcome = runtime().block_on(serve_hostile_stream(pieces));
        prop_assert!(outcome.is_ok(), "{:#}", outcome.err().map(|e| format!("{e:#}")).unwrap_or_default());
    }
}
