//! What the early answer and the typing-through cache buy, measured in one run.
//!
//! `cargo bench -p spark-tests --bench engine` runs an in-process server against the reference
//! model server on loopback with its default cost model (20 ms to the first token, 1,000
//! tokens/s) and measures, side by side:
//! - for automatic triggers, the time to a shown suggestion (the first line, answered early)
//!   against the time the whole answer takes, on the same model calls;
//! - the latency of an answer from the typing-through cache (request written → response read);
//! - over a scripted typing session of a real file (the model server answering from the file,
//!   corpus mode), the fraction of keystrokes answered from the cache;
//! - the time the server adds to a completion that calls the model, on a 9,000-line file, a
//!   keystroke before each request: request written (its last byte in the pipe) → request
//!   received upstream, plus last upstream byte written → response read (its last byte off the
//!   pipe, before the client parses it), against an instant model. Both include loopback
//!   transit (and the model server reading the request); neither includes the client's JSON.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_rustls::rustls;

use serde_json::{Value, json};
use spark_lsp::lsp::ServerOptions;
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{ModelServer, ModelServerConfig};

const DOC: &str = "fn add(a: u32, b: u32) -> u32 {\n    \n}\n";
const ANSWER: &str = "let sum = a + b;\n    let twice = sum * 2;\n    let thrice = sum * 3;\n    let total = twice + thrice;\n    let check = total - sum;\n    let again = check + 1;\n    let result = again * 2;\n    result\n";
const EARLY_RUNS: usize = 40;
const HIT_DOCS: usize = 4;
const SESSION_KEYSTROKES: usize = 400;
const OVERHEAD_RUNS: usize = 300;
const OVERHEAD_ANSWER: &str = "let sum = total + 1;";
/// Requests before the measured ones (the first parse of the large file, warm connections).
const OVERHEAD_WARMUP: usize = 20;

/// `cargo bench -p spark-tests --bench engine [-- SECTION...]`: every section, or only those
/// named (`early`, `cache`, `session`, `overhead`).
#[tokio::main]
async fn main() {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |section: &str| named.is_empty() || named.iter().any(|n| n == section);
    if run("early") {
        early_answer().await;
    }
    if run("cache") {
        cache_hits().await;
    }
    if run("session") {
        typing_session().await;
    }
    if run("overhead") {
        server_overhead(Typing::BlankLines).await;
        server_overhead(Typing::Statements).await;
    }
}

/// What each keystroke of [`server_overhead`] types.
#[derive(Clone, Copy, PartialEq)]
enum Typing {
    /// A line break: the function grows a blank line per request, 300 of them by the end, which
    /// the syntax check re-lexes on every answer.
    BlankLines,
    /// A statement and a line break, as someone writing a long function does: 300 statements
    /// by the end, and the syntax check's incremental parse costs in proportion to them.
    Statements,
}

async fn server_overhead(typing: Typing) {
    let server = ModelServer::start(ModelServerConfig {
        cost: spark_tests::model_server::CostModel::instant(),
        default_answer: OVERHEAD_ANSWER.into(),
        ..ModelServerConfig::default()
    })
    .await
    .unwrap();
    let mut client =
        ready_client(json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m"}))
            .await;
    let text = large_file();
    let uri = "file:///bench/large.rs";
    client.open(uri, "rust", 1, &text).await.unwrap();
    // The cursor opens new lines in a function body in the middle of the file.
    let first = text.lines().count() / 2;
    let line = first
        + text
            .lines()
            .skip(first)
            .position(|l| l == "    let mut total = 0;")
            .unwrap();
    let (mut before, mut after, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..OVERHEAD_WARMUP + OVERHEAD_RUNS {
        // A keystroke (a new line) that does not continue the suggestion, so every request calls
        // the model, sent right before the request as an editor does.
        let at = json!({"line": line + run, "character": if run == 0 { 22 } else { 4 }});
        let typed = match typing {
            Typing::Statements if run > 0 => format!("let a{run} = {run};\n    "),
            _ => "\n    ".to_owned(),
        };
        let change = json!({"textDocument": {"uri": uri, "version": run + 2}, "contentChanges": [{"range": {"start": at, "end": at}, "text": typed}]});
        client
            .notify("textDocument/didChange", change)
            .await
            .unwrap();
        let params = json!({"textDocument": {"uri": uri}, "position": {"line": line + run + 1, "character": 4}, "context": {"triggerKind": 1}});
        let calls = server.request_count();
        let id = client
            .start_request("textDocument/inlineCompletion", params)
            .await
            .unwrap();
        // The request's last byte is in the pipe: the server's time starts here...
        let written = Instant::now();
        let response = client.response(id).await.unwrap();
        // ...and ends when the response's last byte was read (before the client parsed it).
        let read = client.last_read_at.unwrap();
        assert_eq!(response["result"][0]["insertText"], OVERHEAD_ANSWER);
        assert_eq!(
            server.request_count(),
            calls + 1,
            "one model call per request"
        );
        if run < OVERHEAD_WARMUP {
            continue;
        }
        let upstream = server.received_at(calls).unwrap();
        let finished = *server.finished_at().last().unwrap();
        before.push(ms(upstream - written));
        after.push(ms(read - finished));
        total.push(ms(upstream - written) + ms(read - finished));
    }
    let typed = match typing {
        Typing::BlankLines => "a blank line each",
        Typing::Statements => "a statement line each",
    };
    println!(
        "time the server adds to a model-backed completion: {OVERHEAD_RUNS} keystrokes ({typed}) + requests in a {}-line file, instant model, in-process JSON-RPC, loopback HTTP",
        text.lines().count()
    );
    print_percentiles([
        ("request written → upstream received", &mut before),
        ("upstream last byte → response read ", &mut after),
        ("together                            ", &mut total),
    ]);
    if typing == Typing::Statements {
        http_client_floor(&server).await;
    }
}

/// The part of [`server_overhead`] that is the HTTP client's own: the server's last model
/// request, already serialized, sent again by reqwest alone on the same runtime to the same
/// model server, and its streamed answer read to the end.
async fn http_client_floor(server: &ModelServer) {
    let request = server.requests().pop().expect("the server's requests");
    let body = request.body.to_string();
    let url = format!("{}/chat/completions", server.http_base());
    // Built as the server's client is (`providers::http::client`): rustls with ring, no Nagle.
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .tcp_nodelay(true)
        .build()
        .unwrap();
    let (mut before, mut after, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..OVERHEAD_WARMUP + OVERHEAD_RUNS {
        let calls = server.request_count();
        // On a worker thread, as the server's call task is (not on the bench's main thread).
        let (http, url, body) = (http.clone(), url.clone(), body.clone());
        let (sent, read) = tokio::spawn(async move {
            let sent = Instant::now();
            let mut response = http
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let mut read = sent;
            while let Some(_chunk) = response.chunk().await.unwrap() {
                read = Instant::now();
            }
            (sent, read)
        })
        .await
        .unwrap();
        if run < OVERHEAD_WARMUP {
            continue;
        }
        let upstream = server.received_at(calls).unwrap();
        let finished = *server.finished_at().last().unwrap();
        before.push(ms(upstream - sent));
        after.push(ms(read.saturating_duration_since(finished)));
        total.push(ms(upstream - sent) + ms(read.saturating_duration_since(finished)));
    }
    println!(
        "the HTTP client alone: the last model request ({} bytes) sent {OVERHEAD_RUNS} times by reqwest, its answer read to the end",
        body.len()
    );
    print_percentiles([
        ("request sent → upstream received   ", &mut before),
        ("upstream last byte → last chunk    ", &mut after),
        ("together                            ", &mut total),
    ]);
}

/// One line per named series: its p50, p99 and max in milliseconds.
fn print_percentiles<const N: usize>(series: [(&str, &mut Vec<f64>); N]) {
    for (name, samples) in series {
        println!(
            "  {name}  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            pct(samples, 0.5),
            pct(samples, 0.99),
            pct(samples, 1.0)
        );
    }
}

/// A Rust file of about 9,000 lines: one module of small functions, repeated (the same shape
/// as the post-processing tests' large file).
fn large_file() -> String {
    let unit = "fn compute_$N(items: &[u32]) -> u32 {\n    let mut total = 0;\n    for item in items {\n        if *item % 2 == 0 {\n            total += item;\n        } else {\n            total -= 1;\n        }\n    }\n    total\n}\n\n";
    let mut text = String::new();
    let mut n = 0;
    while text.lines().count() < 9_000 {
        text.push_str(&unit.replace("$N", &n.to_string()));
        n += 1;
    }
    text
}

/// An in-process server whose provider is `provider` (built in the background).
async fn client(provider: Value) -> LspClient {
    let mut client = LspClient::in_process(ServerOptions::default());
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}});
    client
        .initialize(capabilities, json!({ "provider": provider }))
        .await
        .unwrap();
    client
}

/// [`client`], once its provider has answered a request.
async fn ready_client(provider: Value) -> LspClient {
    let mut client = client(provider).await;
    client
        .open("file:///bench/warm.rs", "rust", 1, DOC)
        .await
        .unwrap();
    for _ in 0..400 {
        let response = client
            .request(
                "textDocument/inlineCompletion",
                at("file:///bench/warm.rs", 4, 1),
            )
            .await
            .unwrap();
        if !response["result"].is_null() {
            return client;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the provider never answered");
}

fn at(uri: &str, character: usize, trigger: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": character}, "context": {"triggerKind": trigger}})
}

fn insert(uri: &str, version: usize, character: usize, text: &str) -> Value {
    let at = json!({"line": 1, "character": character});
    json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"range": {"start": at, "end": at}, "text": text}]})
}

async fn early_answer() {
    let server = ModelServer::start(ModelServerConfig {
        default_answer: "a + b".into(),
        ..ModelServerConfig::default()
    })
    .await
    .unwrap();
    let mut client =
        ready_client(json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m"}))
            .await;
    let (mut shown, mut whole) = (Vec::new(), Vec::new());
    for run in 0..EARLY_RUNS {
        server.push_answer(ANSWER);
        let uri = format!("file:///bench/early{run}.rs");
        client.open(&uri, "rust", 1, DOC).await.unwrap();
        let asked = Instant::now();
        let first = client
            .request("textDocument/inlineCompletion", at(&uri, 4, 2))
            .await
            .unwrap();
        shown.push(ms(asked.elapsed()));
        // The same model call, asked for in full: it waits for the end of the answer.
        let all = client
            .request("textDocument/inlineCompletion", at(&uri, 4, 1))
            .await
            .unwrap();
        whole.push(ms(asked.elapsed()));
        assert_eq!(first["result"][0]["insertText"], "let sum = a + b;");
        assert_eq!(all["result"][0]["insertText"], ANSWER.trim_end());
    }
    let stats = client.request("spark/stats", Value::Null).await.unwrap();
    println!(
        "early answer: {EARLY_RUNS} automatic triggers, an 8-line answer (~{} tokens), 20 ms to first token, 1,000 tokens/s",
        spark_tests::model_server::split_tokens(ANSWER).len()
    );
    println!(
        "  time to a shown suggestion (first line)  p50 {:>6.1} ms  p95 {:>6.1} ms",
        pct(&mut shown, 0.5),
        pct(&mut shown, 0.95)
    );
    println!(
        "  time to the whole answer                 p50 {:>6.1} ms  p95 {:>6.1} ms",
        pct(&mut whole, 0.5),
        pct(&mut whole, 0.95)
    );
    println!(
        "  model calls {} for {} requests",
        stats["result"]["modelCalls"], stats["result"]["requests"]
    );
}

async fn cache_hits() {
    let line = format!("let s = \"{}\";", "abcdefghij".repeat(20));
    let server = ModelServer::start(ModelServerConfig {
        default_answer: line.clone(),
        ..ModelServerConfig::default()
    })
    .await
    .unwrap();
    let mut client =
        ready_client(json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m"}))
            .await;
    let mut hits = Vec::new();
    for doc in 0..HIT_DOCS {
        let uri = format!("file:///bench/hits{doc}.rs");
        client.open(&uri, "rust", 1, DOC).await.unwrap();
        let first = client
            .request("textDocument/inlineCompletion", at(&uri, 4, 1))
            .await
            .unwrap();
        assert_eq!(first["result"][0]["insertText"], line.as_str());
        for (typed, ch) in line.char_indices().take(line.len() - 1) {
            let col = 4 + typed + 1;
            let change = insert(&uri, typed + 2, 4 + typed, &ch.to_string());
            client
                .notify("textDocument/didChange", change)
                .await
                .unwrap();
            let asked = Instant::now();
            let response = client
                .request("textDocument/inlineCompletion", at(&uri, col, 2))
                .await
                .unwrap();
            hits.push(ms(asked.elapsed()));
            assert_eq!(response["result"][0]["insertText"], &line[typed + 1..]);
        }
    }
    let stats = client.request("spark/stats", Value::Null).await.unwrap();
    println!(
        "typing-through cache: {} answers from memory (request written → response read, in-process JSON-RPC)",
        hits.len()
    );
    println!(
        "  cache-hit latency  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms   (model calls: {})",
        pct(&mut hits, 0.5),
        pct(&mut hits, 0.99),
        pct(&mut hits, 1.0),
        stats["result"]["modelCalls"]
    );
}

async fn typing_session() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../server/src/documents/store.rs"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let server = ModelServer::start(ModelServerConfig {
        corpus: Some(text.clone()),
        ..ModelServerConfig::default()
    })
    .await
    .unwrap();
    let provider = json!({"kind": "openai-responses", "transport": "websocket",
        "baseUrl": server.http_base(), "model": "m", "maxOutputTokens": 48});
    let mut client = client(provider).await;
    // The server opens its warm session once the provider is built; typing starts then.
    while server.websocket_connections() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = client.request("spark/stats", Value::Null).await.unwrap()["result"].clone();
    let start = text[..text.len() * 2 / 5].rfind('\n').unwrap() + 1;
    let uri = "file:///bench/store.rs";
    client.open(uri, "rust", 1, &text[..start]).await.unwrap();
    let (mut line, mut col) = (text[..start].matches('\n').count(), 0usize);
    let mut latencies = Vec::new();
    let (mut typed_to, mut right) = (start, 0);
    for (i, ch) in text[start..].chars().take(SESSION_KEYSTROKES).enumerate() {
        typed_to += ch.len_utf8();
        let from = json!({"line": line, "character": col});
        let change = json!({"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [{"range": {"start": from, "end": from}, "text": ch.to_string()}]});
        client
            .notify("textDocument/didChange", change)
            .await
            .unwrap();
        if ch == '\n' {
            (line, col) = (line + 1, 0);
        } else {
            col += ch.len_utf16();
        }
        let params = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col}, "context": {"triggerKind": 2}});
        let asked = Instant::now();
        let response = client
            .request("textDocument/inlineCompletion", params)
            .await
            .unwrap();
        latencies.push(ms(asked.elapsed()));
        let shown = response["result"][0]["insertText"].as_str().unwrap_or("");
        if !shown.is_empty() && text[typed_to..].starts_with(shown) {
            right += 1;
        }
    }
    let after = client.request("spark/stats", Value::Null).await.unwrap()["result"].clone();
    let delta = |key: &str| after[key].as_u64().unwrap() - before[key].as_u64().unwrap();
    let (requests, hits) = (delta("requests"), delta("cacheHits"));
    println!(
        "typing session: {SESSION_KEYSTROKES} keystrokes of server/src/documents/store.rs, the model answering from the file"
    );
    println!(
        "  answered from the cache: {hits} of {requests} ({:.0}%); model calls {}; answer latency p50 {:.1} ms, p95 {:.1} ms",
        100.0 * hits as f64 / requests.max(1) as f64,
        delta("modelCalls"),
        pct(&mut latencies, 0.5),
        pct(&mut latencies, 0.95)
    );
    println!("  suggestions that were exactly what the user typed next: {right} of {requests}");
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn pct(samples: &mut [f64], q: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q).round() as usize]
}
