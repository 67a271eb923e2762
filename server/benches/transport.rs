//! The transport's cost per message: tower-lsp-server's own `Server` (what spark-lsp used before)
//! and spark-lsp's `transport::serve` (frame reader, one-pass validation, single writer), side by
//! side in one run, alternating, over the same bytes and the same do-nothing language server.
//!
//! `cargo bench -p spark-lsp --bench transport` prints the median time per `didChange` for a
//! keystroke (one character, ~250-byte message) and for a full-document sync (~100 KB), each
//! the median of 15 runs of 2,000 (keystrokes) or 200 (full syncs) messages read from memory.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, InitializeParams, InitializeResult};
use tower_lsp_server::{LanguageServer, LspService, Server};

struct Null;

impl LanguageServer for Null {
    async fn initialize(&self, _: InitializeParams) -> Result<InitializeResult> {
        Ok(InitializeResult::default())
    }
    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }
    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        std::hint::black_box(params);
    }
}

fn frame(out: &mut Vec<u8>, message: &serde_json::Value) {
    let body = message.to_string();
    out.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
}

/// `initialize`, `initialized`, then `count` didChange notifications each inserting `text`.
fn session(count: usize, text: &str, full: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let init =
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}});
    frame(&mut out, &init);
    frame(
        &mut out,
        &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    for version in 0..count {
        let change = if full {
            json!({"text": text})
        } else {
            json!({"range": {"start": {"line": 120, "character": 17}, "end": {"line": 120, "character": 17}}, "text": text})
        };
        let params = json!({"textDocument": {"uri": "file:///work/project/src/main.rs", "version": version}, "contentChanges": [change]});
        frame(
            &mut out,
            &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": params}),
        );
    }
    out
}

fn old(rt: &tokio::runtime::Runtime, input: &[u8]) -> Duration {
    let started = Instant::now();
    rt.block_on(async {
        let (service, socket) = LspService::new(|_| Null);
        Server::new(input, tokio::io::sink(), socket)
            .concurrency_level(256)
            .serve(service)
            .await;
    });
    started.elapsed()
}

fn new(rt: &tokio::runtime::Runtime, input: &[u8]) -> Duration {
    let started = Instant::now();
    rt.block_on(async {
        let (service, socket) = LspService::new(|_| Null);
        let stop = CancellationToken::new();
        spark_lsp::transport::serve(input, tokio::io::sink(), service, socket, 256, stop).await;
    });
    started.elapsed()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let document: String = (0..2_500)
        .map(|i| format!("    let value_{i} = compute(\"{i}\", {i});\n"))
        .collect();
    println!(
        "transport: median time per didChange, tower-lsp-server Server vs spark-lsp transport"
    );
    println!(
        "{:<34} {:>12} {:>12} {:>8}",
        "message", "before", "after", "after/before"
    );
    for (label, count, text, full) in [
        ("keystroke (1 char)", 2_000, "x", false),
        ("full sync (~100 KB)", 200, document.as_str(), true),
    ] {
        let input = session(count, text, full);
        let bytes = input.len() / count;
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for _ in 0..15 {
            before.push(old(&rt, &input).as_secs_f64() * 1e6 / count as f64);
            after.push(new(&rt, &input).as_secs_f64() * 1e6 / count as f64);
        }
        let (before, after) = (median(before), median(after));
        println!(
            "{:<34} {:>10.2}µs {:>10.2}µs {:>8.2}",
            format!("{label}, {bytes} B"),
            before,
            after,
            after / before
        );
    }
}
