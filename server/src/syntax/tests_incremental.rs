//! Incremental reparsing must give the tree a fresh parse gives: a property
//! test over random edits, and an ignored timing run for the numbers.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use ropey::Rope;
use tree_sitter::Tree;

use super::*;

const RUST_SOURCE: &str = "//! Prix: 5 € — naïve café 😀\r\nuse std::fmt;\r\n\r\n/// Doc with 日本語.\r\npub struct Point { x: i32, y: i32 }\r\n\r\nimpl fmt::Display for Point {\r\n    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\r\n        write!(f, \"({}, {}) 😀\", self.x, self.y)\r\n    }\r\n}\n\nfn main() {\n    let s = \"é\"; // ünïcode\n    let p = Point { x: 1, y: 2 };\n    if p.x > 0 { println!(\"{p}\"); }\n}\n";

const PYTHON_SOURCE: &str = "# coding: utf-8 — 😀\r\nimport os\r\n\r\nclass Café:\r\n    \"\"\"Ünïcode doc 日本語.\"\"\"\r\n    def __init__(self, x):\r\n        self.x = x  # é\r\n\ndef main():\n    c = Café(1)\n    if c.x > 0:\n        print(f\"{c.x} 😀\")\n    return [i for i in range(3)]\n";

/// Pieces replacement text is built from: brackets, both line endings, a
/// lone CR, two- and four-byte characters, identifiers and keywords.
const PIECES: &[&str] = &[
    "{", "}", "(", ")", "[", ":", "\"", "\n", "\r\n", "\r", "é", "😀", "foo", "x1", " ", "    ",
    "fn ", "def ", "let ", "=", ";",
];

/// An edit as random numbers; resolved against the text when applied.
#[derive(Clone, Debug)]
struct RandomEdit {
    start: usize,
    len: usize,
    pieces: Vec<usize>,
}

fn random_edit() -> impl Strategy<Value = RandomEdit> {
    (
        any::<usize>(),
        0usize..12,
        prop::collection::vec(0..PIECES.len(), 0..4),
    )
        .prop_map(|(start, len, pieces)| RandomEdit { start, len, pieces })
}

fn floor_char_boundary(text: &str, mut byte: usize) -> usize {
    byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// Every node in pre-order as (kind, start byte, end byte).
fn nodes(tree: &Tree) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        out.push((node.kind().to_owned(), node.start_byte(), node.end_byte()));
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

/// Applies `edits` one by one with an incremental reparse after each, then undoes them in
/// reverse order. While the text is valid, the incremental tree must equal a fresh parse exactly;
/// while it is broken, tree-sitter's error recovery depends on what it reused, so both trees
/// need only agree that there are errors. Back at the (valid) source, they must be equal again.
fn check_incremental(
    language: Language,
    source: &str,
    edits: &[RandomEdit],
) -> Result<(), TestCaseError> {
    let mut text = source.to_owned();
    let mut rope = Rope::from_str(source);
    let Some(mut tree) = parse(language, &rope, None) else {
        return Err(TestCaseError::fail("initial parse failed"));
    };
    let mut undo = Vec::new();
    for edit in edits {
        let start_byte = floor_char_boundary(&text, edit.start % (text.len() + 1));
        let old_end_byte = floor_char_boundary(&text, start_byte + edit.len);
        let new_text: String = edit.pieces.iter().map(|&i| PIECES[i]).collect();
        undo.push((
            start_byte,
            start_byte + new_text.len(),
            text[start_byte..old_end_byte].to_owned(),
        ));
        tree = edit_and_reparse(
            language,
            &mut rope,
            &mut text,
            tree,
            (start_byte, old_end_byte),
            &new_text,
        )?;
    }
    for (start_byte, end_byte, old_text) in undo.into_iter().rev() {
        tree = edit_and_reparse(
            language,
            &mut rope,
            &mut text,
            tree,
            (start_byte, end_byte),
            &old_text,
        )?;
    }
    prop_assert_eq!(text.as_str(), source);
    prop_assert!(!tree.root_node().has_error());
    Ok(())
}

fn edit_and_reparse(
    language: Language,
    rope: &mut Rope,
    text: &mut String,
    mut tree: Tree,
    (start_byte, old_end_byte): (usize, usize),
    new_text: &str,
) -> Result<Tree, TestCaseError> {
    let input = input_edit(rope, start_byte, old_end_byte, new_text);
    tree.edit(&input);
    let start_char = rope.byte_to_char(start_byte);
    rope.remove(start_char..rope.byte_to_char(old_end_byte));
    rope.insert(start_char, new_text);
    text.replace_range(start_byte..old_end_byte, new_text);
    prop_assert_eq!(rope.to_string(), text.clone());

    // The new end point is the edited rope's own point for that byte.
    let end_row = rope.byte_to_line(input.new_end_byte);
    let end_column = input.new_end_byte - rope.line_to_byte(end_row);
    prop_assert_eq!(
        (input.new_end_position.row, input.new_end_position.column),
        (end_row, end_column)
    );

    let Some(incremental) = parse(language, rope, Some(&tree)) else {
        return Err(TestCaseError::fail("incremental parse failed"));
    };
    let Some(fresh) = parse(language, rope, None) else {
        return Err(TestCaseError::fail("fresh parse failed"));
    };
    if fresh.root_node().has_error() {
        prop_assert!(incremental.root_node().has_error(), "text: {:?}", text);
    } else {
        prop_assert_eq!(
            incremental.root_node().to_sexp(),
            fresh.root_node().to_sexp(),
            "text: {:?}",
            text
        );
        prop_assert_eq!(nodes(&incremental), nodes(&fresh), "text: {:?}", text);
    }
    Ok(incremental)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn incremental_rust_reparse_equals_fresh_parse(edits in prop::collection::vec(random_edit(), 1..12)) {
        check_incremental(Language::Rust, RUST_SOURCE, &edits)?;
    }

    #[test]
    fn incremental_python_reparse_equals_fresh_parse(edits in prop::collection::vec(random_edit(), 1..12)) {
        check_incremental(Language::Python, PYTHON_SOURCE, &edits)?;
    }
}

/// tree-sitter's own Rust binding source, read from the cargo registry.
fn registry_rust_source() -> Option<String> {
    let registry = std::path::Path::new(&std::env::var("HOME").ok()?).join(".cargo/registry/src");
    std::fs::read_dir(registry)
        .ok()?
        .flatten()
        .find_map(|index| {
            std::fs::read_to_string(index.path().join("tree-sitter-0.27.1/binding_rust/lib.rs"))
                .ok()
        })
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

fn percentile(mut samples: Vec<Duration>, percent: usize) -> Duration {
    samples.sort();
    let index = (samples.len() * percent / 100).min(samples.len().saturating_sub(1));
    samples.get(index).copied().unwrap_or_default()
}

/// Timing, not an assertion: run with
/// `cargo test --release -p spark-lsp --lib syntax -- --ignored --nocapture`.
#[test]
#[ignore = "timing run; prints numbers"]
#[allow(clippy::print_stderr)]
fn time_parse_of_a_10k_line_rust_file() {
    let Some(unit) = registry_rust_source() else {
        eprintln!("tree-sitter's lib.rs not found in ~/.cargo/registry; skipping");
        return;
    };
    let mut text = String::new();
    while text.lines().count() < 10_000 {
        text.push_str(&unit);
    }
    let mut rope = Rope::from_str(&text);
    let line_count = rope.len_lines();

    let full: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let tree = parse(Language::Rust, &rope, None);
            let elapsed = started.elapsed();
            assert!(tree.is_some());
            elapsed
        })
        .collect();
    let Some(mut tree) = parse(Language::Rust, &rope, None) else {
        panic!("no tree")
    };

    // Alternately insert and delete one character at positions spread over
    // the file by a small LCG: once inside identifiers (typing in a word,
    // the tree stays valid) and once mid-line anywhere (often a transient
    // syntax error, which costs tree-sitter error recovery).
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut report = String::new();
    for in_word in [true, false] {
        let mut edits = Vec::new();
        let mut parses = Vec::new();
        let mut scopes = Vec::new();
        while edits.len() < 200 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let line = (seed >> 33) as usize % line_count;
            let line_start_byte = rope.line_to_byte(line);
            let byte =
                floor_char_boundary(&text, line_start_byte + rope.line(line).len_bytes() / 2);
            let is_word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
            if in_word
                && !(is_word(byte.checked_sub(1).and_then(|b| rope.get_byte(b)))
                    && is_word(rope.get_byte(byte)))
            {
                continue;
            }
            let mut parse_time = Duration::ZERO;
            let started = Instant::now();
            for (start_byte, old_end_byte, new_text) in [(byte, byte, "x"), (byte, byte + 1, "")] {
                let edit = input_edit(&rope, start_byte, old_end_byte, new_text);
                tree.edit(&edit);
                let start_char = rope.byte_to_char(start_byte);
                rope.remove(start_char..rope.byte_to_char(old_end_byte));
                rope.insert(start_char, new_text);
                let parse_started = Instant::now();
                let Some(new_tree) = parse(Language::Rust, &rope, Some(&tree)) else {
                    panic!("no tree")
                };
                parse_time += parse_started.elapsed();
                tree = new_tree;
            }
            // Two edit+reparse rounds were timed: report one.
            edits.push(started.elapsed() / 2);
            parses.push(parse_time / 2);

            let started = Instant::now();
            let chain = enclosing_scopes(&tree, Language::Rust, &rope, byte);
            let errors = error_count(&tree, 0..rope.len_bytes());
            scopes.push(started.elapsed());
            assert!(chain.len() < 64 && errors < 1_000);
        }
        let _ = write!(
            report,
            "\n  {}: one-char edit+reparse median {:?} (reparse alone {:?}), p90 {:?}, max {:?}; enclosing_scopes+error_count(whole file) median {:?}",
            if in_word {
                "inside identifiers"
            } else {
                "anywhere mid-line"
            },
            median(edits.clone()),
            median(parses),
            percentile(edits.clone(), 90),
            percentile(edits, 100),
            median(scopes),
        );
    }
    eprintln!(
        "{line_count} lines, {} bytes: full parse median {:?}{report}",
        rope.len_bytes(),
        median(full)
    );
}

/// Where reparse time goes: the same one-letter edit reparsed from a `&str`
/// and from the rope, and a reparse with no edit at all. The last shows
/// tree-sitter's floor: it re-shifts every reused top-level node, so even
/// an unchanged reparse grows with the number of items in the file.
#[test]
#[ignore = "timing run; prints numbers"]
#[allow(clippy::print_stderr)]
fn time_reparse_from_rope_vs_str() {
    let Some(unit) = registry_rust_source() else {
        return;
    };
    for copies in [1usize, 3] {
        let text = unit.repeat(copies);
        let rope = Rope::from_str(&text);
        let Some(tree) = parse(Language::Rust, &rope, None) else {
            panic!("no tree")
        };
        let errors = error_count(&tree, 0..text.len());
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&Language::Rust.ts_language()).ok();
        let mut str_times = Vec::new();
        let mut rope_times = Vec::new();
        let mut noedit_times = Vec::new();
        for i in 0..100 {
            // A byte in the middle of a word.
            let mut byte = 1 + (i * 7919 * 13) % (text.len() - 100);
            while !(text.as_bytes()[byte - 1].is_ascii_alphabetic()
                && text.as_bytes()[byte].is_ascii_alphabetic())
            {
                byte += 1;
            }
            let mut new_text = text.clone();
            new_text.insert(byte, 'x');
            let new_rope = Rope::from_str(&new_text);
            let mut edited = tree.clone();
            edited.edit(&input_edit(&rope, byte, byte, "x"));
            let t = Instant::now();
            let a = parser.parse(&new_text, Some(&edited));
            str_times.push(t.elapsed());
            let t = Instant::now();
            let b = parse(Language::Rust, &new_rope, Some(&edited));
            rope_times.push(t.elapsed());
            let t = Instant::now();
            let c = parse(Language::Rust, &rope, Some(&tree));
            noedit_times.push(t.elapsed());
            assert!(a.is_some() && b.is_some() && c.is_some());
        }
        eprintln!(
            "copies {copies}: errors {errors}, str reparse {:?}, rope reparse {:?}, no-edit reparse {:?}",
            median(str_times),
            median(rope_times),
            median(noedit_times)
        );
    }
}
