//! The order of the places a jump tries, what counts as a jump, and the next-location question.

use super::*;
use crate::documents::{DocumentStore, PositionEncoding, TextChange, to_line_col};
use crate::engine::next_edit::locate::{location_request, parse_location};
use crate::providers::ModelInput;

/// A Rust document of `lines` lines where line 1 renamed `value` to `v`, with `value` still
/// used on the lines in `uses`.
fn renamed(lines: usize, uses: &[usize]) -> Snapshot {
    let text: String = (0..lines)
        .map(|i| match i {
            0 => "fn f() {\n".to_owned(),
            1 => "    let value = 1;\n".to_owned(),
            i if uses.contains(&i) => "    g(value);\n".to_owned(),
            _ => "    h();\n".to_owned(),
        })
        .collect::<String>()
        + "}\n";
    let uri = "file:///p/jump.rs";
    let store = DocumentStore::default();
    store.open(uri, "rust", 1, &text);
    let rope = store.snapshot(uri).expect("open").rope.clone();
    let start = rope.line_to_byte(1) + "    let ".len();
    let range = |byte| to_line_col(&rope, byte, PositionEncoding::Utf8);
    let change = TextChange {
        range: Some((range(start), range(start + "value".len()))),
        text: "v".into(),
    };
    store
        .change(uri, 2, &[change], PositionEncoding::Utf8)
        .expect("change");
    store.snapshot(uri).expect("open")
}

fn mark(snapshot: &Snapshot, line: usize) -> DiagnosticMark {
    DiagnosticMark {
        byte: snapshot.rope.line_to_byte(line) + 4,
        line,
        message: format!("error on {line}"),
    }
}

fn lines(snapshot: &Snapshot, places: &[usize]) -> Vec<usize> {
    places
        .iter()
        .map(|&b| snapshot.rope.byte_to_line(b))
        .collect()
}

#[test]
fn repeats_and_near_diagnostics_come_nearest_first_then_far_diagnostics() {
    let snapshot = renamed(120, &[30, 90]);
    let cursor = snapshot.rope.line_to_byte(25);
    let diagnostics = [mark(&snapshot, 3), mark(&snapshot, 44), mark(&snapshot, 60)];
    let order = places(&snapshot, cursor, &diagnostics);
    // 30 (5 away), 44 (19 away, near); then 90 (a repeat, 65 away); then far diagnostics by
    // distance: 3 (22 away) and 60 (35 away).
    assert_eq!(lines(&snapshot, &order), [30, 44, 90, 3, 60]);
}

#[test]
fn a_repeat_comes_before_a_diagnostic_on_the_same_line() {
    let snapshot = renamed(40, &[30]);
    let cursor = snapshot.rope.line_to_byte(20);
    let on_use = DiagnosticMark {
        byte: snapshot.rope.line_to_byte(30),
        ..mark(&snapshot, 30)
    };
    let order = places(&snapshot, cursor, &[on_use]);
    let first = snapshot.rope.line_to_byte(30) + "    g(".len();
    assert_eq!(order, [first, snapshot.rope.line_to_byte(30)]);
}

#[test]
fn no_edits_and_no_diagnostics_leave_no_places() {
    let store = DocumentStore::default();
    store.open("file:///p/a.rs", "rust", 1, "fn f() {}\n");
    let snapshot = store.snapshot("file:///p/a.rs").expect("open");
    assert!(places(&snapshot, 0, &[]).is_empty());
    // Diagnostics past the end of the text are no places either.
    let gone = DiagnosticMark {
        byte: 1_000,
        line: 40,
        message: String::new(),
    };
    assert!(places(&snapshot, 0, &[gone]).is_empty());
}

#[test]
fn an_edit_outside_the_cursors_region_is_a_jump() {
    let snapshot = renamed(60, &[50]);
    let rope = &snapshot.rope;
    let edit = |line: usize| TextEdit {
        start_byte: rope.line_to_byte(line),
        end_byte: rope.line_to_byte(line) + 4,
        new_text: "x".into(),
    };
    let cursor = rope.line_to_byte(10);
    assert!(!is_jump(rope, &[edit(11)], cursor));
    assert!(is_jump(rope, &[edit(50)], cursor));
    assert!(is_jump(rope, &[edit(11), edit(50)], cursor));
}

#[test]
fn the_location_question_numbers_lines_and_lists_problems() {
    let snapshot = renamed(10, &[7]);
    let settings = RequestSettings::default();
    let diagnostics = [mark(&snapshot, 7)];
    let cursor = snapshot.rope.line_to_byte(2);
    let request =
        location_request(&snapshot, cursor, &diagnostics, &settings, None).expect("a question");
    assert!(request.instructions.starts_with("Next edit location."));
    assert!(request.max_output_tokens <= 40);
    let ModelInput::Chat { query, .. } = &request.input else {
        panic!("a chat question");
    };
    assert!(query.contains("2:     let v = 1;\n"), "{query}");
    assert!(query.contains("8:     g(value);\n"), "{query}");
    assert!(query.contains("line 8: error on 7"), "{query}");
    assert!(query.contains("cursor is on line 3"), "{query}");
    // Secret documents are never asked about.
    let secret = RequestSettings {
        secret_globs: vec!["*.rs".into()],
        ..RequestSettings::default()
    };
    assert!(location_request(&snapshot, cursor, &diagnostics, &secret, None).is_none());
}

#[test]
fn location_questions_differ_only_in_the_cursor_line_while_the_pages_shown_stay() {
    // 3,000 lines: more than the question shows, so the pages follow the cursor.
    let snapshot = renamed(3_000, &[1_500]);
    let settings = RequestSettings::default();
    let query = |line: usize, steady: Option<usize>| {
        let cursor = snapshot.rope.line_to_byte(line);
        let request = location_request(&snapshot, cursor, &[], &settings, steady).expect("asked");
        let ModelInput::Chat { query, .. } = request.input else {
            panic!("a chat question");
        };
        query
    };
    let cursor_part = |query: &str| query.find("\nThe cursor is on line").expect("cursor line");
    // Two lines apart in one page: the same file shown, only the cursor line differs.
    let (here, near) = (query(1_503, None), query(1_505, None));
    assert_eq!(here[..cursor_part(&here)], near[..cursor_part(&near)]);
    assert!(here.ends_with("The cursor is on line 1504.\n"), "{here}");
    assert!(here.contains("1501:     g(value);\n"), "{here}");
    assert!(
        !here.contains("\n1: fn f() {"),
        "the file's top is not shown"
    );
    // Three pages further down, from the same top line (as the next-edit prompt keeps it).
    let first: usize = here["Path: p/jump.rs\n\nThe file:\n".len()..]
        .split(':')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a numbered line");
    let later = query(1_533, Some(first - 1));
    assert_eq!(here[..cursor_part(&here)], later[..cursor_part(&later)]);
}

#[test]
fn a_location_answer_is_a_line_of_the_file_or_nothing() {
    let rope = ropey::Rope::from_str("a\n    b\nc\n");
    assert_eq!(parse_location("2", &rope), Some(2 + 4));
    assert_eq!(
        parse_location(" line 3.\n", &rope),
        Some(rope.line_to_byte(2))
    );
    assert_eq!(parse_location("none", &rope), None);
    assert_eq!(parse_location("0", &rope), None);
    assert_eq!(parse_location("99", &rope), None);
    assert_eq!(parse_location("99999999999999999999999", &rope), None);
    assert_eq!(parse_location("", &rope), None);
}
