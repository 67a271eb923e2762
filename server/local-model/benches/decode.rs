//! Time to first token and decode speed of the embedded model, side by side with llama.cpp.
//!
//! `cargo bench -p spark-local-model --bench decode` loads the default SmolLM2-135M Q4_1 GGUF
//! (or `SPARK_LOCAL_MODEL`) on `SPARK_BENCH_THREADS` threads (default 2) and runs the same
//! prompt `RUNS` times from an empty cache: time to first token (prefill of the whole prompt
//! plus the first sampled token) and decode tokens/s over the next `DECODE` tokens, as medians
//! and p90s. With `LLAMA_SERVER=host:port` it then asks a running `llama-server` (started on
//! the same file, same thread count) the same prompt with the same greedy settings and prints
//! its numbers from llama.cpp's own timings, and the ratio. Last, the per-keystroke completion
//! with the KV cache kept against the same requests from an empty cache.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use spark_local_model::{Engine, Flow, Model, Params, Stats};

const RUNS: usize = 7;
const DECODE: usize = 128;
const PROMPT: &str = "<|im_start|>system\nYou are a helpful coding assistant.<|im_end|>\n<|im_start|>user\nWrite a Python function that parses a CSV file of orders (id, customer, amount, date), groups the orders by customer, and returns the ten customers with the highest total amount, sorted in descending order. Explain each step.<|im_end|>\n<|im_start|>assistant\n";

fn main() {
    let path = std::env::var_os("SPARK_LOCAL_MODEL").map_or_else(default_model, PathBuf::from);
    let threads: usize = std::env::var("SPARK_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let (header, config, tokenizer) = spark_local_model::open(&path).unwrap();
    let started = Instant::now();
    let model = Model::load(&path, &header, config).unwrap();
    let load_ms = started.elapsed().as_secs_f64() * 1e3;
    let prompt = tokenize_chatml(&tokenizer, PROMPT);
    let mut engine = Engine::new(
        model,
        Arc::new(tokenizer),
        threads,
        Arc::new(Stats::default()),
    );
    println!(
        "embedded model: {} on {threads} threads, loaded in {load_ms:.0} ms; prompt {} tokens, {DECODE} decoded tokens, {RUNS} runs",
        path.display(),
        prompt.len()
    );
    let (mut ttft, mut speed) = (Vec::new(), Vec::new());
    for run in 0..=RUNS {
        engine.reset();
        let params = Params {
            max_tokens: DECODE + 1,
            ..Params::default()
        };
        let start = Instant::now();
        let mut first = None;
        let mut tokens = 0usize;
        // Count tokens, not deltas: a delta may hold back bytes of a split character.
        let stats = engine.stats();
        let before = stats.generated.load(std::sync::atomic::Ordering::SeqCst);
        engine.generate(&prompt, &params, &mut |text| {
            if !text.is_empty() && first.is_none() {
                first = Some(start.elapsed());
            }
            Flow::Continue
        });
        let total = start.elapsed();
        tokens += (stats.generated.load(std::sync::atomic::Ordering::SeqCst) - before) as usize;
        let Some(first) = first else { continue };
        if run == 0 {
            continue; // warm-up: page cache, pool threads, allocator
        }
        ttft.push(first.as_secs_f64() * 1e3);
        speed.push((tokens - 1) as f64 / (total - first).as_secs_f64());
    }
    println!(
        "{:<14} {:>10} {:>9} {:>13} {:>11}",
        "engine", "TTFT p50", "p90", "decode tok/s", "p10 tok/s"
    );
    let own = print_row("spark-lsp", &ttft, &speed);
    if let Ok(server) = std::env::var("LLAMA_SERVER") {
        llama_server(&server, own);
    }
    keystrokes(&mut engine);
}

/// A completion per keystroke as the server asks for one (the code before the cursor to
/// continue, its last token taken back for healing, 8 tokens), typing `KEYSTROKES` characters
/// into a ~400-token prefix: time to first token with the KV cache of the previous keystroke,
/// against the same requests from an empty cache, alternating (each empty-cache run leaves the
/// cache as the server would have it for the next keystroke).
fn keystrokes(engine: &mut Engine) {
    const KEYSTROKES: usize = 24;
    let code = include_str!("../src/engine.rs");
    let start = code.find("    fn prefill(").unwrap();
    let params = |heal: Vec<u8>| Params {
        max_tokens: 8,
        heal,
        ..Params::default()
    };
    let (mut warm, mut cold) = (Vec::new(), Vec::new());
    let mut prompt_len = 0;
    for i in 0..=KEYSTROKES {
        let mut tokens = engine.tokenizer.encode(&code[start - 1200..start + i]);
        let heal = tokens.pop().map(|t| engine.tokenizer.bytes(t)).unwrap();
        prompt_len = tokens.len();
        for reuse in [true, false] {
            if !reuse {
                engine.reset();
            }
            let began = Instant::now();
            let mut first = None;
            engine.generate(&tokens, &params(heal.clone()), &mut |text| {
                if !text.is_empty() && first.is_none() {
                    first = Some(began.elapsed().as_secs_f64() * 1e3);
                }
                Flow::Continue
            });
            if i > 0 {
                let ms = first.unwrap_or_else(|| began.elapsed().as_secs_f64() * 1e3);
                if reuse { &mut warm } else { &mut cold }.push(ms);
            }
        }
    }
    println!(
        "keystrokes into a {prompt_len}-token prefix ({KEYSTROKES}, first token): KV cache kept p50 {:.1} ms p90 {:.1} ms, empty cache p50 {:.1} ms; {:.0}x sooner",
        pct(&warm, 0.5),
        pct(&warm, 0.9),
        pct(&cold, 0.5),
        pct(&cold, 0.5) / pct(&warm, 0.5)
    );
}

/// Tokenizes a ChatML text, placing `<|im_start|>` and `<|im_end|>` by id.
fn tokenize_chatml(t: &spark_local_model::Tokenizer, text: &str) -> Vec<u32> {
    let (start, end) = (
        t.token("<|im_start|>").unwrap(),
        t.token("<|im_end|>").unwrap(),
    );
    let mut out = Vec::new();
    for (i, turn) in text.split("<|im_start|>").enumerate() {
        if i > 0 {
            out.push(start);
        }
        for (j, part) in turn.split("<|im_end|>").enumerate() {
            if j > 0 {
                out.push(end);
            }
            out.extend(t.encode(part));
        }
    }
    out
}

/// The same prompt through llama-server's `/completion`, greedy, no prompt cache; its own
/// timings (prompt_ms + one token's time for TTFT, predicted_per_second) are used.
fn llama_server(addr: &str, own: (f64, f64)) {
    let (mut ttft, mut speed) = (Vec::new(), Vec::new());
    let prompt = serde_free_json_string(PROMPT);
    for run in 0..=RUNS {
        let body = format!(
            "{{\"prompt\":{prompt},\"n_predict\":{},\"temperature\":0,\"top_k\":1,\"cache_prompt\":false,\"ignore_eos\":true}}",
            DECODE + 1
        );
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "POST /completion HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let number = |key: &str| -> f64 {
            let at = answer.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
            let rest = &answer[at..];
            let end = rest.find([',', '}']).unwrap();
            rest[..end].trim().parse().unwrap()
        };
        if run == 0 {
            continue;
        }
        let per_token_ms = number("predicted_per_token_ms");
        ttft.push(number("prompt_ms") + per_token_ms);
        speed.push(number("predicted_per_second"));
    }
    let theirs = print_row("llama-server", &ttft, &speed);
    println!(
        "ratio spark-lsp / llama-server: decode speed {:.0}%, TTFT {:.2}x",
        own.1 / theirs.1 * 100.0,
        own.0 / theirs.0
    );
}

fn serde_free_json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn default_model() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
    cache.join("spark-lsp/models/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Prints one engine's row of the table; its median TTFT and decode speed.
fn print_row(engine: &str, ttft: &[f64], speed: &[f64]) -> (f64, f64) {
    println!(
        "{engine:<14} {:>8.1}ms {:>7.1}ms {:>13.1} {:>11.1}",
        pct(ttft, 0.5),
        pct(ttft, 0.9),
        pct(speed, 0.5),
        pct(speed, 0.1)
    );
    (pct(ttft, 0.5), pct(speed, 0.5))
}

fn pct(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}
