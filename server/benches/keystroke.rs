//! The keystroke path and document memory, measured side by side in one run.
//!
//! `cargo bench -p spark-lsp --bench keystroke` prints, for a ~10,000-line and a ~500-line real
//! Rust file in UTF-16 and UTF-8: the time to apply one single-character `didChange` and bring
//! the tree up to date (median, p99), then the resident memory per MB of text with 300 open
//! documents of 2,000 lines. The Rust sources come from the crates cargo has already downloaded,
//! so the benchmark needs no network and no fixture in the repository.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use spark_lsp::documents::{DocumentStore, LineCol, PositionEncoding, TextChange};

fn main() {
    let corpus = rust_corpus(12_000);
    let large = take_lines(&corpus, 10_000);
    let small = take_lines(&corpus[corpus.len() / 2..], 500);
    println!("keystroke path: one single-character didChange + incremental reparse");
    println!(
        "{:<22} {:>10} {:>10} {:>10}",
        "case", "median µs", "p99 µs", "max µs"
    );
    for (name, text) in [("10k lines", &large), ("500 lines", &small)] {
        for encoding in [PositionEncoding::Utf16, PositionEncoding::Utf8] {
            let samples = keystrokes(text, encoding, 2_000);
            let label = format!("{name} {}", encoding.name());
            println!(
                "{label:<22} {:>10.1} {:>10.1} {:>10.1}",
                pct(&samples, 0.5),
                pct(&samples, 0.99),
                pct(&samples, 1.0)
            );
        }
    }
    memory(&corpus);
}

/// Returns microseconds per `didChange`.
fn keystrokes(text: &str, encoding: PositionEncoding, count: usize) -> Vec<f64> {
    let store = DocumentStore::default();
    store.open("file:///bench.rs", "rust", 1, text);
    store.wait_for_parses();
    let lines = u32::try_from(text.lines().count()).unwrap();
    let mut samples = Vec::with_capacity(count);
    let mut seed = 0x2545_f491_u32;
    let mut line = 0;
    for i in 0..count {
        // Even keystrokes type `x` on a pseudo-random line, odd ones delete it again.
        if i % 2 == 0 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            line = (seed >> 8) % lines;
        }
        let at = LineCol::new(line, 4);
        let (range, insert) = if i % 2 == 0 {
            ((at, at), "x")
        } else {
            ((at, LineCol::new(line, 5)), "")
        };
        let change = [TextChange {
            range: Some(range),
            text: insert.into(),
        }];
        let version = i32::try_from(i).unwrap() + 2;
        let started = Instant::now();
        store
            .change("file:///bench.rs", version, &change, encoding)
            .unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    assert!(store.snapshot("file:///bench.rs").unwrap().tree.is_some());
    samples
}

fn memory(corpus: &str) {
    let docs: Vec<String> = (0..300)
        .map(|i| {
            let start = (i * 997) % (corpus.len() / 2);
            let start = corpus[start..].find('\n').map_or(0, |n| start + n + 1);
            take_lines(&corpus[start..], 2_000)
        })
        .collect();
    let text_bytes: usize = docs.iter().map(String::len).sum();
    let store = DocumentStore::default();
    let before = rss_bytes();
    for (i, text) in docs.iter().enumerate() {
        store.open(&format!("file:///m/{i}.rs"), "rust", 1, text);
    }
    store.wait_for_parses();
    drop(docs);
    let after = rss_bytes();
    let text_mb = text_bytes as f64 / 1e6;
    let grown_mb = after.saturating_sub(before) as f64 / 1e6;
    println!();
    println!(
        "memory: 300 documents, {text_mb:.1} MB of text, {} trees kept: resident +{grown_mb:.1} MB = {:.2} MB per MB of text",
        store.trees_in_memory(),
        grown_mb / text_mb
    );
}

fn pct(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx]
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn take_lines(text: &str, lines: usize) -> String {
    let mut out: String = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// Real Rust source from the crates in cargo's registry, concatenated up to `lines` lines.
fn rust_corpus(lines: usize) -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    let mut files = Vec::new();
    collect_rs(&home.join("registry/src"), &mut files, 4);
    files.sort();
    let mut corpus = String::new();
    for file in files {
        if corpus.lines().count() >= lines {
            break;
        }
        if let Ok(text) = std::fs::read_to_string(&file) {
            corpus.push_str(&text);
        }
    }
    assert!(
        corpus.lines().count() >= lines,
        "not enough Rust source under {}",
        home.display()
    );
    corpus
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_crate_src = path.components().any(|c| {
            c.as_os_str().to_str().is_some_and(|s| {
                s.starts_with("ropey-")
                    || s.starts_with("dashmap-")
                    || s.starts_with("tree-sitter-0")
            })
        });
        if path.is_dir() && depth > 0 {
            collect_rs(&path, out, depth - 1);
        } else if is_crate_src && path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
