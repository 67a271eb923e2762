//! The main job until the embedded model lands: a short editing session of a real file, played
//! through the real `spark-lsp` binary against the reference model server, showing the
//! suggestions as the user types and how long each took.
//!
//! The model server answers from the file itself (corpus mode), so it predicts what the user is
//! about to type, at the speed of a fast model: 20 ms to the first token, 1,000 tokens/s. The
//! server keeps one warm WebSocket session to it, answers automatic triggers with the first line
//! as soon as it exists, and answers keystrokes that type through a suggestion from its cache.
//!
//! Usage: `spark-demo [FILE] [--keystrokes N]` (`scripts/demo` builds and runs it).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{Endpoint, ModelServer, ModelServerConfig};

const KEY: &str = "sk-demo-local-only";

#[tokio::main]
async fn main() -> Result<()> {
    let (file, keystrokes) = parse_args()?;
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let server = ModelServer::start(ModelServerConfig {
        api_key: Some(KEY.into()),
        corpus: Some(text.clone()),
        ..ModelServerConfig::default()
    })
    .await?;
    // `SPARK_DEMO_LOG=PATH` keeps the server's log (with `SPARK_LSP_LOG=debug`, say).
    let log_file = std::env::var("SPARK_DEMO_LOG").ok();
    let args: Vec<&str> = log_file
        .iter()
        .flat_map(|path| ["--log-file", path.as_str()])
        .collect();
    let mut client = LspClient::spawn(&args, &[("SPARK_DEMO_KEY", KEY)]).await?;
    let options = json!({"provider": {
        "kind": "openai-responses", "transport": "websocket", "baseUrl": server.http_base(),
        "model": "spark-reference", "apiKeyEnv": "SPARK_DEMO_KEY", "maxOutputTokens": 48,
    }});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}});
    client.initialize(capabilities, options).await?;
    // The server opens its warm session right after `initialize`; typing starts once it is up.
    for _ in 0..400 {
        if server.websocket_connections() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // Open the file cut mid-way, then type what follows, one character at a time.
    let start = cut_point(&text);
    let uri = format!("file://{}", file.canonicalize()?.display());
    let language = language_id(&file);
    client.open(&uri, language, 1, &text[..start]).await?;
    println!(
        "spark-lsp demo: typing {keystrokes} characters of {} into the real server",
        file.display()
    );
    println!(
        "model: the reference model server answering from the file (20 ms to first token, 1,000 tokens/s), one warm WebSocket\n"
    );

    let (mut line, mut col) = position_of(&text[..start]);
    let mut latencies = Vec::new();
    let mut matched = 0;
    let mut shown = String::new();
    for (i, ch) in text[start..].chars().take(keystrokes).enumerate() {
        let change = json!({"textDocument": {"uri": uri, "version": i + 2}, "contentChanges": [{
            "range": {"start": {"line": line, "character": col}, "end": {"line": line, "character": col}},
            "text": ch.to_string()}]});
        client.notify("textDocument/didChange", change).await?;
        if ch == '\n' {
            (line, col) = (line + 1, 0);
        } else {
            col += u32::try_from(ch.len_utf16())?;
        }
        let params = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col}, "context": {"triggerKind": 2}});
        let asked = Instant::now();
        let response = client
            .request("textDocument/inlineCompletion", params)
            .await?;
        let elapsed_ms = asked.elapsed().as_secs_f64() * 1e3;
        latencies.push(elapsed_ms);
        let suggestion = response["result"][0]["insertText"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let typed_so_far = start
            + text[start..]
                .chars()
                .take(i + 1)
                .map(char::len_utf8)
                .sum::<usize>();
        if !suggestion.is_empty() && text[typed_so_far..].starts_with(&suggestion) {
            matched += 1;
        }
        if suggestion != shown {
            // A suggestion that starts on the next line shows that line, marked with ⏎.
            let newline = if suggestion.starts_with('\n') {
                "⏎ "
            } else {
                ""
            };
            let first_line = suggestion
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let more = if suggestion.trim().lines().count() > 1 {
                " …"
            } else {
                ""
            };
            println!(
                "{:>4} keys {:>6.1} ms  ⇢ {newline}{first_line:?}{more}",
                i + 1,
                elapsed_ms
            );
            shown = suggestion;
        }
    }

    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    let continued = frames
        .iter()
        .filter(|f| f.body["previous_response_id"].is_string())
        .count();
    println!();
    println!(
        "{} keystrokes: suggestion latency p50 {:.1} ms, p95 {:.1} ms",
        latencies.len(),
        pct(0.5),
        pct(0.95)
    );
    println!(
        "{matched} of {} suggestions were exactly what the user typed next",
        latencies.len()
    );
    println!(
        "{} WebSocket connection(s), {} frames, {continued} of them continued a warm context",
        server.websocket_connections(),
        frames.len()
    );
    let stats = client.request("spark/stats", Value::Null).await?;
    let stats = &stats["result"];
    let (hits, requests) = (
        stats["cacheHits"].as_u64().unwrap_or(0),
        stats["requests"].as_u64().unwrap_or(0),
    );
    println!(
        "{hits} of {requests} keystrokes answered from the cache ({:.0}% hit rate), {} model calls",
        100.0 * hits as f64 / requests.max(1) as f64,
        stats["modelCalls"]
    );
    client.request("shutdown", Value::Null).await?;
    client.notify("exit", Value::Null).await?;
    client.finish().await?;
    Ok(())
}

fn parse_args() -> Result<(PathBuf, usize)> {
    let mut file = None;
    let mut keystrokes = 120;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keystrokes" => {
                keystrokes = args
                    .next()
                    .context("--keystrokes needs a number")?
                    .parse()?
            }
            "-h" | "--help" => {
                println!("usage: spark-demo [FILE] [--keystrokes N]");
                std::process::exit(0);
            }
            _ => file = Some(PathBuf::from(arg)),
        }
    }
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/src/engine/scheduler.rs");
    Ok((file.unwrap_or(default), keystrokes))
}

/// Where typing starts: the start of the line at about 40% of the file.
fn cut_point(text: &str) -> usize {
    let mut at = text.len() * 2 / 5;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[..at].rfind('\n').map_or(0, |n| n + 1)
}

/// The LSP position (UTF-16 columns) of the end of `text`.
fn position_of(text: &str) -> (u32, u32) {
    let line = text.matches('\n').count();
    let last = text.rsplit('\n').next().unwrap_or("");
    let col: usize = last.chars().map(char::len_utf16).sum();
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn language_id(file: &std::path::Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("rs") => "rust",
        Some("py") => "python",
        Some("ts") => "typescript",
        Some("js") => "javascript",
        Some("go") => "go",
        _ => "plaintext",
    }
}
