//! The keystroke path and document memory, measured side by side in one run.
//!
//! `cargo bench -p spark-lsp --bench keystroke` prints, for a ~10,000-line and a ~500-line real
//! Rust file in UTF-16 and UTF-8: the time to apply one single-character `didChange` and bring
//! the tree up to date (median, p99), then the resident memory per MB of text with 300 open
//! documents of 2,000 lines. The Rust sources come from the crates cargo has already downloaded,
//! so the benchmark needs no network and no fixture in the repository.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Instant;

use spark_lsp::documents::{DocumentStore, LineCol, PositionEncoding, TextChange};
use spark_lsp::syntax::{self, Language};

fn main() {
    let large = registry_file("hashbrown-0.14", "src/map.rs");
    let small = registry_file("dashmap-6", "src/set.rs");
    // Memory first, while the allocator holds nothing freed that the store could reuse.
    memory(&format!("{large}{small}"));
    println!("keystroke path: one single-character didChange (insert or delete)");
    println!("  handler = what the didChange handler costs: rope edit + InputEdit + tree edit");
    println!(
        "  to tree = until the tree is up to date again: handler + background incremental reparse"
    );
    println!("  reparse = the incremental reparse alone, on the calling thread");
    println!(
        "{:<34} {:>11} {:>9} {:>11} {:>9} {:>11} {:>9}",
        "file", "handler p50", "p99", "to tree p50", "p99", "reparse p50", "p99"
    );
    for (name, text) in [("hashbrown map.rs", &large), ("dashmap set.rs", &small)] {
        for encoding in [PositionEncoding::Utf16, PositionEncoding::Utf8] {
            let (handler, to_tree) = keystrokes(text, encoding, 1_000);
            let reparse = reparses(text, 1_000);
            let label = format!(
                "{name} ({} lines) {}",
                text.lines().count(),
                encoding.name()
            );
            println!(
                "{label:<34} {:>9.1}µs {:>7.1}µs {:>9.1}µs {:>7.1}µs {:>9.1}µs {:>7.1}µs",
                pct(&handler, 0.5),
                pct(&handler, 0.99),
                pct(&to_tree, 0.5),
                pct(&to_tree, 0.99),
                pct(&reparse, 0.5),
                pct(&reparse, 0.99)
            );
        }
    }
}

/// Types `x` on a pseudo-random line, then deletes it again. Returns microseconds per
/// `didChange` for the handler alone and until the reparse has finished.
fn keystrokes(text: &str, encoding: PositionEncoding, count: usize) -> (Vec<f64>, Vec<f64>) {
    let store = DocumentStore::default();
    store.open("file:///bench.rs", "rust", 1, text);
    store.wait_for_parses();
    let lines = u32::try_from(text.lines().count()).unwrap();
    let (mut handler, mut to_tree) = (Vec::with_capacity(count), Vec::with_capacity(count));
    let mut seed = 0x2545_f491_u32;
    let mut line = 0;
    for i in 0..count {
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
        handler.push(started.elapsed().as_secs_f64() * 1e6);
        store.wait_for_parses();
        to_tree.push(started.elapsed().as_secs_f64() * 1e6);
    }
    assert!(store.snapshot("file:///bench.rs").unwrap().tree.is_some());
    (handler, to_tree)
}

/// The same keystrokes with the syntax API directly: edit the tree and reparse, no store.
fn reparses(text: &str, count: usize) -> Vec<f64> {
    let mut rope = ropey::Rope::from_str(text);
    let mut tree = syntax::parse(Language::Rust, &rope, None).unwrap();
    let lines = rope.len_lines() - 1;
    let mut samples = Vec::with_capacity(count);
    let mut seed = 0x2545_f491_u32;
    let mut byte = 0;
    for i in 0..count {
        if i % 2 == 0 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let line = (seed >> 8) as usize % lines;
            byte = rope.line_to_byte(line) + 4.min(rope.line(line).len_bytes().saturating_sub(1));
        }
        let (end, insert) = if i % 2 == 0 {
            (byte, "x")
        } else {
            (byte + 1, "")
        };
        let started = Instant::now();
        let edit = syntax::input_edit(&rope, byte, end, insert);
        tree.edit(&edit);
        let char_idx = rope.byte_to_char(byte);
        rope.remove(char_idx..rope.byte_to_char(end));
        rope.insert(char_idx, insert);
        tree = syntax::parse(Language::Rust, &rope, Some(&tree)).unwrap();
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

fn memory(corpus: &str) {
    // 300 different 2,000-line windows of real source, so no two documents share text.
    let lines: Vec<&str> = corpus.lines().collect();
    let docs: Vec<String> = (0..300)
        .map(|i| {
            let start = (i * 23) % (lines.len() - 2_000);
            let mut text = lines[start..start + 2_000].join("\n");
            text.push_str(&format!("\n// document {i}\n"));
            text
        })
        .collect();
    let text_bytes: usize = docs.iter().map(String::len).sum();
    let store = DocumentStore::default();
    // Measured with the source strings still allocated, so only the store's growth counts.
    let before = rss_bytes();
    for (i, text) in docs.iter().enumerate() {
        store.open(&format!("file:///m/{i}.rs"), "rust", 1, text);
    }
    store.wait_for_parses();
    let after = rss_bytes();
    drop(docs);
    let text_mb = text_bytes as f64 / 1e6;
    let grown_mb = after.saturating_sub(before) as f64 / 1e6;
    println!(
        "memory: 300 documents, {text_mb:.1} MB of text, {} trees kept: resident +{grown_mb:.1} MB = {:.2} MB per MB of text",
        store.trees_in_memory(),
        grown_mb / text_mb
    );
    println!();
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

/// A real Rust source file from a crate cargo has downloaded (`crate_prefix` like `ropey-1`).
fn registry_file(crate_prefix: &str, path: &str) -> String {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    let registry = home.join("registry/src");
    let found = std::fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|index| {
            let mut crates: Vec<_> = std::fs::read_dir(index.path())
                .ok()?
                .flatten()
                .map(|e| e.path())
                .collect();
            crates.sort();
            crates.into_iter().rev().find(|c| {
                c.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(crate_prefix))
            })
        });
    let file = found
        .map(|dir| dir.join(path))
        .unwrap_or_else(|| registry.join(crate_prefix));
    std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; run cargo fetch first", file.display()))
}
