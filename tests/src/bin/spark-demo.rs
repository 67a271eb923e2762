//! The main job: a short editing session of a real file, played through the real `spark-lsp`
//! binary, showing the suggestions as the user types and how long each took.
//!
//! By default the server runs the embedded local model (SmolLM2-135M from the user's cache,
//! which `scripts/fetch-model` fetches) with no provider configured, as a user who just
//! installed it would. `--reference` plays against the reference model server instead, which
//! answers from the file itself (corpus mode) at the speed of a fast cloud model: 20 ms to the
//! first token, 1,000 tokens/s, over one warm WebSocket session. Either way the server answers
//! automatic triggers with the first line as soon as it exists, and keystrokes that type through
//! a suggestion from its cache.
//!
//! Usage: `spark-demo [FILE] [--keystrokes N] [--reference]` (`scripts/demo` builds and runs it).
#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use spark_tests::lsp_client::{LspClient, user_cache_dir};
use spark_tests::model_server::{Endpoint, ModelServer, ModelServerConfig};

const KEY: &str = "sk-demo-local-only";

#[tokio::main]
async fn main() -> Result<()> {
    let (file, keystrokes, reference) = parse_args()?;
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let server = if reference {
        Some(
            ModelServer::start(ModelServerConfig {
                api_key: Some(KEY.into()),
                corpus: Some(text.clone()),
                ..ModelServerConfig::default()
            })
            .await?,
        )
    } else {
        None
    };
    // `SPARK_DEMO_LOG=PATH` keeps the server's log (with `SPARK_LSP_LOG=debug`, say).
    let log_file = std::env::var("SPARK_DEMO_LOG").ok();
    let args: Vec<&str> = log_file
        .iter()
        .flat_map(|path| ["--log-file", path.as_str()])
        .collect();
    let cache = user_cache_dir().unwrap_or_default();
    let cache = cache.to_string_lossy();
    let env = [("SPARK_DEMO_KEY", KEY), ("XDG_CACHE_HOME", cache.as_ref())];
    let mut client = LspClient::spawn(&args, &env).await?;
    // The local model needs no configuration at all; the reference server is configured as a
    // cloud provider would be.
    let options = match &server {
        Some(server) => json!({"provider": {
            "kind": "openai-responses", "transport": "websocket", "baseUrl": server.http_base(),
            "model": "spark-reference", "apiKeyEnv": "SPARK_DEMO_KEY", "maxOutputTokens": 48,
        }}),
        None => json!({"provider": {"maxOutputTokens": 32}}),
    };
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}});
    client.initialize(capabilities, options).await?;
    // The server opens its warm session right after `initialize`; typing starts once it is up.
    if let Some(server) = &server {
        for _ in 0..400 {
            if server.websocket_connections() > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
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
    if server.is_some() {
        println!(
            "model: the reference model server answering from the file (20 ms to first token, 1,000 tokens/s), one warm WebSocket\n"
        );
    } else {
        let loaded = wait_for_local_model(&mut client, &uri, position_of(&text[..start])).await?;
        println!(
            "model: the embedded local model (SmolLM2-135M Q4_1 on the CPU, no provider configured), ready after {:.1} s\n",
            loaded.as_secs_f64()
        );
    }

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
    if let Some(server) = &server {
        let frames = server.requests_for(Endpoint::ResponsesWebSocket);
        let continued = frames
            .iter()
            .filter(|f| f.body["previous_response_id"].is_string())
            .count();
        println!(
            "{} WebSocket connection(s), {} frames, {continued} of them continued a warm context",
            server.websocket_connections(),
            frames.len()
        );
    }
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

/// Asks at the cursor until the local model, loading in the background, answers.
async fn wait_for_local_model(
    client: &mut LspClient,
    uri: &str,
    (line, col): (u32, u32),
) -> Result<std::time::Duration> {
    let started = Instant::now();
    let params = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col}, "context": {"triggerKind": 1}});
    while started.elapsed().as_secs() < 300 {
        let response = client
            .request("textDocument/inlineCompletion", params.clone())
            .await?;
        if response["result"][0]["insertText"].is_string() {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "the local model did not answer; run scripts/fetch-model, or SPARK_DEMO_LOG=/tmp/spark.log to see why"
    )
}

fn parse_args() -> Result<(PathBuf, usize, bool)> {
    let mut file = None;
    let mut keystrokes = None;
    let mut reference = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--keystrokes" => {
                keystrokes = Some(
                    args.next()
                        .context("--keystrokes needs a number")?
                        .parse()?,
                )
            }
            "--reference" => reference = true,
            "-h" | "--help" => {
                println!("usage: spark-demo [FILE] [--keystrokes N] [--reference]");
                std::process::exit(0);
            }
            _ => file = Some(PathBuf::from(arg)),
        }
    }
    let default =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../server/src/engine/scheduler.rs");
    // The CPU model takes a fraction of a second per suggestion: fewer keystrokes by default.
    let keystrokes = keystrokes.unwrap_or(if reference { 120 } else { 40 });
    Ok((file.unwrap_or(default), keystrokes, reference))
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
