//! Next edits replayed on real edit histories, through the real server.
//!
//! `cargo bench -p spark-tests --bench next_edit` replays the vendored commits of
//! `tests/fixtures/next_edit/` (real commits of fd, walkdir, requests, uuid and ky, each
//! changing one Rust, Python, Go or TypeScript file in several places): a simulated user types
//! each commit's hunks top to bottom, keystroke by keystroke, into the real `spark-lsp` binary
//! over stdio, and after each hunk asks `spark/nextEdit` at the cursor. The reference model
//! server plays a perfect model (the oracle): asked about a region that holds the true next
//! edit, it answers it (and the true edits after it in the region); otherwise "no edit". The
//! user accepts true edits (Tab after Tab) and rejects the rest, then asks once more where it
//! stands. The model decodes 1,000 tokens/s after 100 ms plus prefill at 20,000 tokens/s.
//!
//! It runs each prompt format the server offers (chat for instruction models, also without the
//! model's next-location question, so jumps go only to the places found locally; the Sweep
//! next-edit format for a model named `sweep…`), `SPARK_BENCH_REPEATS` replays each (default 3; counts add up over them, times
//! are medians over all), and prints one line per figure.
//! Nothing is asserted: the figures are the result. `SPARK_LSP_BIN` picks the server binary
//! (default: a debug build); `SPARK_BENCH_COMMITS=fd-a4a4709,…` replays only those commits;
//! `SPARK_REPLAY_DEBUG=1` logs every rejected suggestion.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use spark_tests::model_server::CostModel;
use spark_tests::replay::{Options, Tally, fixtures_dir, load_commits, replay_all};

#[tokio::main]
async fn main() {
    let mut commits = load_commits(&fixtures_dir()).unwrap();
    if let Ok(only) = std::env::var("SPARK_BENCH_COMMITS") {
        commits.retain(|c| only.split(',').any(|name| name == c.name));
    }
    let repeats: usize = std::env::var("SPARK_BENCH_REPEATS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let cost = CostModel {
        base_latency: Duration::from_millis(100),
        prefill_tps: 20_000.0,
        decode_tps: 1_000.0,
    };
    let hunks: usize = commits
        .iter()
        .map(|c| spark_tests::replay::history::hunks(&c.before, &c.after).len())
        .sum();
    println!(
        "next-edit replay: {} real commits, {hunks} true hunks; model 100 ms + prefill 20,000 tokens/s, decode 1,000 tokens/s; {repeats} replays per format",
        commits.len()
    );
    // The replay types at machine speed, so the 5 s cooldowns (wall clock) after a rejection
    // would silence the rest of a commit that a person types over minutes; they are off here,
    // and what keeps a rejected edit from coming back is the rejection memory alone.
    let formats = [
        (
            "chat",
            "spark-next-edit",
            json!({"format": "chat", "cooldownMs": 0}),
        ),
        (
            "chat, local places only (no model jumps)",
            "spark-next-edit",
            json!({"format": "chat", "modelJump": false, "cooldownMs": 0}),
        ),
        (
            "sweep",
            "sweep-next-edit-1.5b",
            json!({"format": "sweep", "cooldownMs": 0}),
        ),
    ];
    for (format, model, next_edit) in formats {
        let options = Options {
            cost,
            model: model.into(),
            next_edit,
        };
        let started = Instant::now();
        let mut total = Tally::default();
        let mut stats = Value::Null;
        for _ in 0..repeats {
            let (tally, server_stats) = replay_all(&options, &commits).await.unwrap();
            total.add(&tally);
            stats = server_stats;
        }
        println!();
        println!(
            "format {format} (model {model}): {} asks ({} stay), {} keystrokes, {:.0} s",
            total.asks,
            total.stay_asks,
            total.keystrokes,
            started.elapsed().as_secs_f64()
        );
        for line in total.figures(&stats) {
            println!("{line}");
        }
    }
}
