//! What finding a next edit's jump places costs (no model call), side by side in one run.
//!
//! `cargo bench -p spark-lsp --bench jump` prints the median, over 21 runs, of the time to find
//! the places after a rename in a 3,000-line Rust file with 1,000 forwarded diagnostics: with
//! the document's tree ready (the usual case), and without one (the tree evicted from the tree
//! budget: a full parse included); and, for scale, the parse alone.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use spark_lsp::documents::{DocumentStore, Limits, PositionEncoding, TextChange, to_line_col};
use spark_lsp::engine::{DiagnosticMark, jump_places};

const RUNS: usize = 21;
const FUNCTIONS: usize = 250;

fn main() {
    // 250 functions of 12 lines; `total` is declared in the first and used in every one.
    let text: String = (0..FUNCTIONS)
        .map(|i| {
            format!(
                "fn f{i}(items: &[u32], total: u32) -> u32 {{\n    let mut sum = total;\n    \
                 for item in items {{\n        sum += item * {i};\n    }}\n    let mean = sum / \
                 items.len() as u32;\n    // total is mentioned in a comment\n    let s = \"total\";\n    \
                 g{i}(total, mean);\n    h(s);\n    sum\n}}\n"
            )
        })
        .collect();
    let uri = "file:///bench/jump.rs";
    let store = DocumentStore::new(Limits {
        max_file_bytes: 1 << 24,
        max_trees: 8,
    });
    store.open(uri, "rust", 1, &text);
    store.wait_for_parses();
    // The user renames the first `total` to `base`.
    let rope = store.snapshot(uri).unwrap().rope.clone();
    let start = text.find("total").unwrap();
    let range = |byte| to_line_col(&rope, byte, PositionEncoding::Utf8);
    let change = TextChange {
        range: Some((range(start), range(start + "total".len()))),
        text: "base".into(),
    };
    store
        .change(uri, 2, &[change], PositionEncoding::Utf8)
        .unwrap();
    store.wait_for_parses();
    let snapshot = store.snapshot(uri).unwrap();
    let lines = snapshot.rope.len_lines();
    let diagnostics: Vec<DiagnosticMark> = (0..1_000)
        .map(|i| {
            let line = (i * 3) % lines;
            DiagnosticMark {
                byte: snapshot.rope.line_to_byte(line),
                line,
                message: "mismatched types".into(),
            }
        })
        .collect();
    let cursor = snapshot.rope.line_to_byte(1);
    let places = jump_places(&snapshot, cursor, &diagnostics);
    println!(
        "{} lines, {} places found (renamed uses and diagnostics)",
        lines,
        places.len()
    );
    let mut evicted = snapshot.clone();
    evicted.tree = None;
    let language = snapshot.language.unwrap();
    println!("{:<52} {:>10}", "per request", "median");
    let rows: [(&str, &dyn Fn()); 3] = [
        ("places, tree ready", &|| {
            black_box(jump_places(&snapshot, cursor, &diagnostics));
        }),
        ("places, no tree (a full parse included)", &|| {
            black_box(jump_places(&evicted, cursor, &diagnostics));
        }),
        ("for scale: the full parse alone", &|| {
            black_box(spark_lsp::syntax::parse(language, &snapshot.rope, None));
        }),
    ];
    for (name, op) in rows {
        println!("{name:<52} {:>8.2}ms", median(op).as_secs_f64() * 1e3);
    }
}

fn median(op: &dyn Fn()) -> Duration {
    let mut runs: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            op();
            started.elapsed()
        })
        .collect();
    runs.sort();
    runs[RUNS / 2]
}
