//! Streaming tests: the answer arrives one character at a time, and the snapshot records when
//! the first line became ready, when and why the filter said stop, and the final suggestion.
//! Also the timing of the syntax-error check on a large file (ignored; run in release).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use expect_test::{Expect, expect};
use ropey::Rope;

use super::errors::{check_window, raises_errors};
use super::tests::fixture;
use super::*;

fn check_stream(language: Language, chat: bool, text: &str, raw: &str, expected: Expect) {
    let (text, cursor_byte) = fixture(text);
    let ctx = PostContext {
        is_chat_model: chat,
        ..PostContext::new(&text[..cursor_byte], &text[cursor_byte..], Some(language))
    };
    let mut filter = StreamFilter::new(&ctx);
    let mut log = String::new();
    let mut ready = false;
    for (count, c) in raw.chars().enumerate() {
        let decision = filter.push(c.encode_utf8(&mut [0; 4]));
        if !ready && filter.first_line_ready() {
            ready = true;
            let first = filter.first_line().unwrap_or_default();
            let _ = writeln!(log, "ready after {} chars: {first:?}", count + 1);
        }
        if let Decision::Stop(reason) = decision {
            let _ = writeln!(log, "stop after {} chars: {reason:?}", count + 1);
            break;
        }
    }
    let _ = writeln!(log, "text: {:?}", filter.text());
    let _ = write!(log, "final: {:?}", filter.finish());
    expected.assert_eq(&log);
}

#[test]
fn rust_stream_stops_at_the_block_end() {
    check_stream(
        Language::Rust,
        false,
        "fn f() -> i32 {\n    let x = 1;\n    $0\n}\n",
        "let y = x * 2;\n    y + 1\n}\n\nfn g() {}\n",
        expect![[r#"
            ready after 15 chars: "let y = x * 2;"
            stop after 26 chars: SuffixCloses
            text: "let y = x * 2;\n    y + 1\n"
            final: Some("let y = x * 2;\n    y + 1")"#]],
    );
}

#[test]
fn rust_stream_holds_a_repeat_until_it_is_decided() {
    check_stream(
        Language::Rust,
        false,
        "fn f(v: &[u8]) -> usize {\n    let n = $0\n    n\n}\n",
        "let n = v.len();\n    n\n}",
        expect![[r#"
            ready after 17 chars: "v.len();"
            stop after 23 chars: RepeatsSuffix
            text: "v.len();\n"
            final: Some("v.len();")"#]],
    );
}

#[test]
fn python_stream_stops_at_a_dedent() {
    check_stream(
        Language::Python,
        false,
        "def f(x):\n    $0\n",
        "if x:\n        return 1\n    return 2\n\nclass A:\n    pass\n",
        expect![[r#"
            ready after 6 chars: "if x:"
            stop after 38 chars: BlockEnd
            text: "if x:\n        return 1\n    return 2\n\n"
            final: Some("if x:\n        return 1\n    return 2")"#]],
    );
}

#[test]
fn typescript_chat_stream_stops_at_the_closing_fence() {
    check_stream(
        Language::TypeScript,
        true,
        "function add(a: number, b: number): number {\n  $0\n}\n",
        "Sure! Here it is:\n```ts\n  const sum = a + b;\n  return sum;\n```\nIt adds.",
        expect![[r#"
            ready after 45 chars: "const sum = a + b;"
            stop after 63 chars: FenceClosed
            text: "const sum = a + b;\n  return sum;\n"
            final: Some("const sum = a + b;\n  return sum;")"#]],
    );
}

#[test]
fn stream_stops_at_a_closer_mid_line() {
    check_stream(
        Language::TypeScript,
        false,
        "console.log($0);\n",
        "a, b);\nconsole.log(c);",
        expect![[r#"
            ready after 5 chars: "a, b"
            stop after 5 chars: SuffixCloses
            text: "a, b"
            final: Some("a, b")"#]],
    );
}

/// A Rust file of about 9,000 lines: the same module of small functions, repeated.
fn large_rust_file() -> String {
    let unit = "fn compute_$N(items: &[u32]) -> u32 {\n    let mut total = 0;\n    for item in items {\n        if *item % 2 == 0 {\n            total += item;\n        } else {\n            total -= 1;\n        }\n    }\n    total\n}\n\n";
    let mut text = String::new();
    let mut n = 0;
    while text.lines().count() < 9_000 {
        text.push_str(&unit.replace("$N", &n.to_string()));
        n += 1;
    }
    text
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[test]
fn a_large_file_is_checked_in_the_window_around_the_cursor() {
    let text = large_rust_file();
    assert!(
        text.len() > 64 * 1024,
        "the window path: {} bytes",
        text.len()
    );
    let rope = Rope::from_str(&text);
    let tree = crate::syntax::parse(Language::Rust, &rope, None);
    let middle = text.len() / 2;
    let cursor_byte = text[middle..]
        .find("    let mut total")
        .map_or(0, |i| middle + i);
    for old in [tree.as_ref(), None] {
        let valid = "let extra = items.len() as u32;\n    ";
        let broken = "let extra = items.len( as u32;\n    ";
        assert!(!raises_errors(
            Language::Rust,
            old,
            &rope,
            cursor_byte,
            valid
        ));
        assert!(raises_errors(
            Language::Rust,
            old,
            &rope,
            cursor_byte,
            broken
        ));
    }
}

#[test]
fn a_large_file_is_checked_in_the_items_around_the_cursor_of_its_latest_tree() {
    let text = large_rust_file();
    let rope = Rope::from_str(&text);
    let tree = crate::syntax::parse(Language::Rust, &rope, None).expect("a tree");
    let middle = text.len() / 2;
    let cursor_byte = middle + text[middle..].find("    let mut total").expect("a body");
    let item = |at: usize| {
        let start = text[..at].rfind("fn compute_").expect("a function");
        start..start + text[start..].find("\n}\n").expect("its end") + 2
    };
    let holding = item(cursor_byte);
    assert_eq!(check_window(Some(&tree), &rope, cursor_byte), holding);
    // On the blank line between two functions: both.
    let between = holding.end + 1;
    let next = item(between + 20);
    assert_eq!(
        check_window(Some(&tree), &rope, between),
        holding.start..next.end
    );
    // Without a tree: the lines around the cursor.
    let lines = check_window(None, &rope, cursor_byte);
    assert!(lines.contains(&cursor_byte) && lines.len() > holding.len());

    // Typed a line earlier in the file, the reparse still pending: the edited tree's positions
    // are the new text's, so the window is still the function and the verdicts are the same.
    let typed = "    let typed = 1;\n";
    let at = holding.start - 2 * holding.len();
    let at = at + text[at..].find("    let mut total").expect("a body");
    let mut edited = tree.clone();
    edited.edit(&crate::syntax::input_edit(&rope, at, at, typed));
    let mut now = rope.clone();
    now.insert(rope.byte_to_char(at), typed);
    let cursor_now = cursor_byte + typed.len();
    assert!(edited.root_node().has_changes());
    assert_eq!(
        check_window(Some(&edited), &now, cursor_now),
        holding.start + typed.len()..holding.end + typed.len()
    );
    let valid = "let extra = items.len() as u32;\n    ";
    let broken = "let extra = items.len( as u32;\n    ";
    assert!(!raises_errors(
        Language::Rust,
        Some(&edited),
        &now,
        cursor_now,
        valid
    ));
    assert!(raises_errors(
        Language::Rust,
        Some(&edited),
        &now,
        cursor_now,
        broken
    ));
    // A small document never counts errors in an edited tree: it parses its text instead.
    let small = Rope::from_str("fn f() {\n    \n}\n");
    let small_tree = crate::syntax::parse(Language::Rust, &small, None).expect("a tree");
    let mut stale = small_tree.clone();
    stale.edit(&crate::syntax::input_edit(&small, 13, 13, "(("));
    let mut small_now = small.clone();
    small_now.insert(13, "((");
    // The text already has the user's error; the suggestion adds none (the stale tree has none).
    assert!(!raises_errors(
        Language::Rust,
        Some(&stale),
        &small_now,
        15,
        "1"
    ));
}

#[test]
fn a_check_prepared_while_the_model_answers_gives_the_same_verdicts() {
    let large = large_rust_file();
    let small = "fn add(a: u32, b: u32) -> u32 {\n    let mut total = 0;\n    total\n}\n";
    for text in [large.as_str(), small] {
        let rope = Rope::from_str(text);
        let tree = crate::syntax::parse(Language::Rust, &rope, None);
        let from = if text.len() > 1_000 {
            text.len() / 2
        } else {
            0
        };
        let cursor_byte = from + text[from..].find("    let mut total").expect("a body");
        for (suggestion, raises) in [
            ("let extra = items.len() as u32;\n    ", false),
            ("let extra = items.len( as u32;\n    ", true),
            ("}\n}\n", true),
            ("total += 1;\n    ", false),
        ] {
            for tree in [tree.as_ref(), None] {
                let check = SyntaxCheck::new(
                    Language::Rust,
                    tree.cloned(),
                    rope.clone(),
                    cursor_byte,
                    None,
                );
                check.prepare();
                assert!(format!("{check:?}").contains("prepared: true"));
                let prepared = check.raises(suggestion);
                let cold = raises_errors(Language::Rust, tree, &rope, cursor_byte, suggestion);
                assert_eq!(
                    (prepared, cold),
                    (raises, raises),
                    "{suggestion:?} in {} bytes",
                    text.len()
                );
                // One prepared check serves every suggestion at its insertion point.
                assert_eq!(check.raises(suggestion), raises);
            }
        }
    }
}

#[test]
fn each_keystrokes_check_reparses_the_one_before_and_gives_the_same_verdicts() {
    let large = large_rust_file();
    let small = "fn add(a: u32, b: u32) -> u32 {\n    let mut total = 0;\n    total\n}\n";
    let typed = "let extra = (items.len() as u32;\n    ";
    for text in [large.as_str(), small] {
        let from = if text.len() > 1_000 {
            text.len() / 2
        } else {
            0
        };
        let at = from + text[from..].find("    let mut total").expect("a body");
        let original = Rope::from_str(text);
        let parsed = crate::syntax::parse(Language::Rust, &original, None).expect("a tree");
        let mut previous: Option<SyntaxCheck> = None;
        // The user types a line into the body, a character at a time; each keystroke's check
        // starts from the one before, with the document's tree awaiting its reparse.
        for n in 0..=typed.len() {
            let mut rope = original.clone();
            rope.insert(at, &typed[..n]);
            let mut tree = parsed.clone();
            tree.edit(&crate::syntax::input_edit(&original, at, at, &typed[..n]));
            let cursor = at + n;
            let check = SyntaxCheck::new(
                Language::Rust,
                Some(tree.clone()),
                rope.clone(),
                cursor,
                previous.as_ref(),
            );
            check.prepare();
            for suggestion in ["total += 1;\n    ", "items.len( as u32;\n", "}\n}\n", ")"] {
                let cold = raises_errors(Language::Rust, Some(&tree), &rope, cursor, suggestion);
                assert_eq!(
                    check.raises(suggestion),
                    cold,
                    "{suggestion:?} after {n} typed characters in {} bytes",
                    text.len()
                );
            }
            previous = Some(check);
        }
    }
}

/// Timing, not an assertion: run with `cargo test --release -p spark-lsp --lib
/// postprocess::tests_stream::time -- --ignored --nocapture`.
#[test]
#[ignore = "timing run; prints numbers"]
#[allow(clippy::print_stderr)]
fn time_raises_errors_on_a_9000_line_file() {
    let text = large_rust_file();
    let rope = Rope::from_str(&text);
    let Some(tree) = crate::syntax::parse(Language::Rust, &rope, None) else {
        panic!("no tree");
    };
    // Mid-file, at the start of a function body's first statement.
    let cursor_byte = text.len() / 2;
    let cursor_byte = text[cursor_byte..]
        .find("    let mut total")
        .map_or(0, |i| cursor_byte + i);
    for (label, suggestion) in [
        ("valid", "let extra = items.len() as u32;\n    "),
        ("broken", "let extra = items.len( as u32;\n    "),
    ] {
        let runs = |with_tree: bool| -> (Duration, bool) {
            let mut raised = false;
            let samples = (0..30)
                .map(|_| {
                    let started = Instant::now();
                    let old = with_tree.then_some(&tree);
                    raised = raises_errors(Language::Rust, old, &rope, cursor_byte, suggestion);
                    started.elapsed()
                })
                .collect();
            (median(samples), raised)
        };
        let (with_tree, raised) = runs(true);
        let (without_tree, _) = runs(false);
        eprintln!(
            "{} lines, {label} suggestion (raises: {raised}): median {:?} with the old tree, {:?} without",
            rope.len_lines(),
            with_tree,
            without_tree
        );
    }
}
