//! Store tests: a property test against a plain `String` model of the editor's text, and the
//! tree lifecycle (background first parse, replayed edits, eviction, inactive documents).

use proptest::prelude::*;

use super::*;
use crate::documents::tree_state::MAX_WAITING_TREES;

/// The editor's side: a `String` and LSP's own idea of lines (`\n`, `\r\n`, lone `\r`), with
/// columns counted independently of ropey.
fn model_position(text: &str, char_idx: usize, encoding: PositionEncoding) -> LineCol {
    let (mut line, mut col) = (0u32, 0u32);
    let mut chars = text.chars().take(char_idx).peekable();
    while let Some(c) = chars.next() {
        let is_break = c == '\n' || (c == '\r' && chars.peek() != Some(&'\n'));
        if is_break {
            line += 1;
            col = 0;
        } else if c != '\r' {
            col += match encoding {
                PositionEncoding::Utf8 => c.len_utf8() as u32,
                PositionEncoding::Utf16 => c.len_utf16() as u32,
                PositionEncoding::Utf32 => 1,
            };
        } else {
            // The \r of a \r\n: the line's content already ended.
        }
    }
    LineCol::new(line, col)
}

/// Moves a char index that falls between the `\r` and `\n` of a CRLF back onto the `\r`.
fn expressible(chars: &[char], idx: usize) -> usize {
    if idx > 0 && idx < chars.len() && chars[idx - 1] == '\r' && chars[idx] == '\n' {
        idx - 1
    } else {
        idx
    }
}

const PIECES: &[&str] = &[
    "a", "é", "😀", "\r\n", "\n", "\r", "fn f() {", "}", " ", "中文", "𝄞x", "\t",
];

fn edit_strategy() -> impl Strategy<Value = (f64, f64, String)> {
    (
        0.0..=1.0f64,
        0.0..=1.0f64,
        prop::collection::vec(prop::sample::select(PIECES), 0..4).prop_map(|v| v.concat()),
    )
}

fn encoding_strategy() -> impl Strategy<Value = PositionEncoding> {
    prop::sample::select(vec![
        PositionEncoding::Utf8,
        PositionEncoding::Utf16,
        PositionEncoding::Utf32,
    ])
}

/// One editor edit in char indexes of the model text.
struct ModelEdit {
    start: usize,
    end: usize,
    text: String,
}

/// Sends `edit` as an LSP change in `encoding` and applies it to the model.
fn apply(
    store: &DocumentStore,
    model: &mut String,
    version: i32,
    edit: &ModelEdit,
    encoding: PositionEncoding,
) -> Result<ChangeOutcome, ChangeError> {
    let range = (
        model_position(model, edit.start, encoding),
        model_position(model, edit.end, encoding),
    );
    let change = TextChange {
        range: Some(range),
        text: edit.text.clone(),
    };
    let outcome = store.change("file:///t.rs", version, &[change], encoding);
    let byte = |i: usize| model.char_indices().nth(i).map_or(model.len(), |(b, _)| b);
    let (start_byte, end_byte) = (byte(edit.start), byte(edit.end));
    model.replace_range(start_byte..end_byte, &edit.text);
    outcome
}

/// Every node in pre-order as (kind, start byte, end byte).
fn nodes(tree: &tree_sitter::Tree) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        out.push((node.kind().to_owned(), node.start_byte(), node.end_byte()));
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

const ORIGINAL: &str = "fn main() {\r\n    let é = \"😀\";\r\n}\n// 中文\rend\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random edit sequences, in every encoding, over multi-byte, astral and CRLF text, leave the
    /// store's text equal to the editor's. Undoing them all gives back the original text, and the
    /// incrementally maintained tree, which lived through every intermediate (often broken)
    /// text, equals a fresh parse of it. (While the text is broken the trees may differ in how
    /// tree-sitter recovered from the error: its error recovery depends on what it reused.)
    #[test]
    fn edits_keep_text_and_tree_equal_to_the_editors(
        encoding in encoding_strategy(),
        edits in prop::collection::vec(edit_strategy(), 1..40),
    ) {
        let store = DocumentStore::default();
        let mut model = String::from(ORIGINAL);
        store.open("file:///t.rs", "rust", 1, &model);
        let mut version = 1;
        let mut undo = Vec::new();
        for (a, b, text) in edits {
            let chars: Vec<char> = model.chars().collect();
            let pick = |f: f64| expressible(&chars, (f * chars.len() as f64) as usize);
            let (start, end) = { let (x, y) = (pick(a), pick(b)); (x.min(y), x.max(y)) };
            let removed: String = chars[start..end].iter().collect();
            let edit = ModelEdit { start, end, text };
            version += 1;
            prop_assert_eq!(apply(&store, &mut model, version, &edit, encoding).map(|o| o.clamped), Ok(0));
            prop_assert_eq!(store.snapshot("file:///t.rs").map(|s| s.rope.to_string()), Some(model.clone()));
            undo.push(ModelEdit { start, end: start + edit.text.chars().count(), text: removed });
            if version % 7 == 0 {
                store.wait_for_parses(); // Some reparses happen between edits, some not.
            }
        }
        // Undo in reverse order, as long as every position stays expressible in LSP.
        for edit in undo.iter().rev() {
            let chars: Vec<char> = model.chars().collect();
            prop_assume!(expressible(&chars, edit.start) == edit.start && expressible(&chars, edit.end) == edit.end);
            version += 1;
            prop_assert_eq!(apply(&store, &mut model, version, edit, encoding).map(|o| o.clamped), Ok(0));
        }
        prop_assert_eq!(model.as_str(), ORIGINAL);
        store.wait_for_parses();
        let snapshot = store.snapshot("file:///t.rs").expect("open");
        prop_assert_eq!(snapshot.rope.to_string(), ORIGINAL);
        let tree = snapshot.tree.clone().expect("a current tree once parses finish");
        let fresh = crate::syntax::parse(Language::Rust, &snapshot.rope, None).expect("parse");
        prop_assert!(!fresh.root_node().has_error());
        prop_assert_eq!(tree.root_node().to_sexp(), fresh.root_node().to_sexp());
        prop_assert_eq!(nodes(&tree), nodes(&fresh));
    }
}

fn change(
    store: &DocumentStore,
    version: i32,
    start: (u32, u32),
    end: (u32, u32),
    text: &str,
) -> Result<ChangeOutcome, ChangeError> {
    let range = Some((LineCol::new(start.0, start.1), LineCol::new(end.0, end.1)));
    store.change(
        "file:///a.py",
        version,
        &[TextChange {
            range,
            text: text.into(),
        }],
        PositionEncoding::Utf16,
    )
}

#[test]
fn stale_and_unknown_changes_are_rejected_without_touching_text() {
    let store = DocumentStore::default();
    store.open("file:///a.py", "python", 5, "x = 1\n");
    assert_eq!(
        change(&store, 5, (0, 0), (0, 0), "y"),
        Err(ChangeError::StaleVersion { current: 5, got: 5 })
    );
    assert_eq!(
        change(&store, 3, (0, 0), (0, 0), "y"),
        Err(ChangeError::StaleVersion { current: 5, got: 3 })
    );
    let unknown = store.change("file:///nope.py", 9, &[], PositionEncoding::Utf16);
    assert_eq!(unknown, Err(ChangeError::UnknownDocument));
    assert_eq!(
        store.snapshot("file:///a.py").map(|s| s.rope.to_string()),
        Some("x = 1\n".into())
    );
}

#[test]
fn out_of_range_positions_are_clamped_and_counted() {
    let store = DocumentStore::default();
    store.open("file:///a.py", "python", 1, "x = 1\n");
    assert_eq!(
        change(&store, 2, (0, 99), (7, 0), "!"),
        Ok(ChangeOutcome {
            clamped: 2,
            // The byte edit as applied, for the next-edit controller's rebasing.
            changes: vec![crate::documents::ByteChange {
                start_byte: 5,
                end_byte: 6,
                old_text: "\n".into(),
                new_text: "!".into(),
            }],
        })
    );
    assert_eq!(
        store.snapshot("file:///a.py").map(|s| s.rope.to_string()),
        Some("x = 1!".into())
    );
}

#[test]
fn edits_during_the_first_parse_are_replayed_onto_its_tree() {
    let store = DocumentStore::default();
    let text = "def f(x):\n    return x\n".repeat(2_000);
    store.open("file:///a.py", "python", 1, &text);
    // These land while the background parse may still be running.
    for version in 2..30 {
        change(&store, version, (0, 0), (0, 0), "#").expect("applies");
    }
    change(&store, 30, (3, 0), (3, 0), "    y = (\n").expect("applies");
    store.wait_for_parses();
    let snapshot = store.snapshot("file:///a.py").expect("open");
    let tree = snapshot.tree.clone().expect("tree");
    let fresh = crate::syntax::parse(Language::Python, &snapshot.rope, None).expect("parse");
    assert_eq!(tree.root_node().to_sexp(), fresh.root_node().to_sexp());
}

#[test]
fn snapshot_trees_wait_for_the_parsers_next_job_or_a_full_list() {
    let store = DocumentStore::default();
    store.open("file:///a.py", "python", 1, "x = 1\n");
    store.wait_for_parses();
    let waiting = || {
        store
            .inner
            .parser
            .reclaim()
            .waiting
            .lock()
            .expect("unpoisoned")
            .len()
    };
    drop(store.snapshot("file:///a.py"));
    assert_eq!(
        waiting(),
        1,
        "the snapshot's tree waits; the thread was not woken"
    );
    change(&store, 2, (0, 0), (0, 0), "#").expect("applies");
    store.wait_for_parses();
    assert_eq!(waiting(), 0, "freed after the keystroke's reparse");
    for _ in 0..MAX_WAITING_TREES {
        drop(store.snapshot("file:///a.py"));
    }
    // A full list wakes the thread without a parse.
    for _ in 0..500 {
        if waiting() == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(waiting(), 0);
}

#[test]
fn trees_beyond_the_budget_are_evicted_least_recently_used_first() {
    let store = DocumentStore::new(Limits {
        max_trees: 3,
        ..Limits::default()
    });
    for i in 0..6 {
        store.open(&format!("file:///{i}.rs"), "rust", 1, "fn f() {}\n");
        store.wait_for_parses();
    }
    assert_eq!(store.trees_in_memory(), 3);
    let evicted = store.snapshot("file:///0.rs").expect("open");
    assert!(evicted.tree.is_none(), "oldest document lost its tree");
    assert!(evicted.tree_or_parse().is_some(), "but parses on demand");
    assert!(
        store
            .snapshot("file:///5.rs")
            .and_then(|s| s.tree.clone())
            .is_some()
    );
}

#[test]
fn large_and_binary_documents_are_tracked_but_inactive() {
    let store = DocumentStore::new(Limits {
        max_file_bytes: 100,
        ..Limits::default()
    });
    store.open("file:///big.js", "javascript", 1, &"x".repeat(101));
    store.open("file:///bin.c", "c", 1, "int\0main");
    store.wait_for_parses();
    let big = store.snapshot("file:///big.js").expect("tracked");
    assert_eq!(big.inactive, Some(Inactive::TooLarge { bytes: 101 }));
    assert!(big.tree_or_parse().is_none());
    assert_eq!(
        store.snapshot("file:///bin.c").and_then(|s| s.inactive),
        Some(Inactive::Binary)
    );
    // Shrinking below the limit makes the document active again, with a tree.
    let shrink = TextChange {
        range: None,
        text: "let x = 1;".into(),
    };
    store
        .change("file:///big.js", 2, &[shrink], PositionEncoding::Utf8)
        .expect("applies");
    store.wait_for_parses();
    let small = store.snapshot("file:///big.js").expect("tracked");
    assert_eq!((small.inactive, small.tree.is_some()), (None, true));
}

#[test]
fn a_running_reparse_leaves_requests_the_edited_tree() {
    let rope = Rope::from_str("fn a() {}\nfn b() {}\n");
    let tree = crate::syntax::parse(Language::Rust, &rope, None).expect("a tree");
    let mut state = TreeState::Ready(tree);
    let typed = crate::syntax::input_edit(&rope, 0, 0, "// x\n");
    assert!(state.edit(&typed), "a reparse is queued");
    let job = state.start_job(0, &rope).expect("the job starts");
    assert!(job.1.is_some(), "an incremental reparse");
    // While it runs, another keystroke: requests still get a tree, with both edits described.
    let mut now = rope.clone();
    now.insert(0, "// x\n");
    let more = crate::syntax::input_edit(&now, now.len_bytes(), now.len_bytes(), "fn c() {}\n");
    now.insert(now.len_chars(), "fn c() {}\n");
    state.edit(&more);
    let edited = state
        .pending_reparse()
        .expect("a tree while the reparse runs")
        .tree();
    assert!(edited.root_node().has_changes());
    assert_eq!(edited.root_node().end_byte(), now.len_bytes());
    let b = edited.root_node().named_child(1).expect("fn b");
    assert_eq!(
        now.byte_slice(b.start_byte()..b.end_byte()).to_string(),
        "fn b() {}"
    );
}

#[test]
fn a_keystrokes_reparse_waits_a_round_of_tasks_and_a_blocked_waiter_sends_it() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let store = DocumentStore::default();
        let uri = "file:///a.py";
        store.open(uri, "python", 1, "x = 1\n");
        // The first parse was queued on this runtime and not sent yet: the one thread that
        // would send it is blocked here, and the wait sends it itself.
        store.wait_for_parses();
        assert!(store.snapshot(uri).expect("open").tree.is_some());
        change(&store, 2, (0, 0), (0, 0), "# x\n").expect("applied");
        assert!(
            store.snapshot(uri).expect("open").tree.is_none(),
            "reparsed at once"
        );
        // A round of tasks later the parser thread has the job.
        for _ in 0..1_000 {
            tokio::task::yield_now().await;
            if store.snapshot(uri).expect("open").tree.is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        panic!("the reparse was never sent");
    });
}

#[test]
fn a_reparse_queued_on_a_runtime_that_shuts_down_is_sent_anyway() {
    let store = DocumentStore::default();
    let uri = "file:///a.py";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    // Queued on the runtime, whose task to send it never runs.
    runtime.block_on(async { store.open(uri, "python", 1, "x = 1\n") });
    drop(runtime);
    for _ in 0..2_000 {
        if store.snapshot(uri).expect("open").tree.is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("the first parse was never sent");
}
