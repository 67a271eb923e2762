//! The forwarded-diagnostics store: encodings, the cap, and moving through edits.

use ropey::Rope;
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity, Position, Range};

use super::*;

const URI: &str = "file:///p/a.rs";

fn diagnostic(line: u32, character: u32, severity: Option<DiagnosticSeverity>) -> Diagnostic {
    let at = Position::new(line, character);
    Diagnostic {
        range: Range::new(at, Position::new(line, character + 1)),
        severity,
        message: format!("problem at {line}"),
        ..Diagnostic::default()
    }
}

fn error(line: u32, character: u32) -> Diagnostic {
    diagnostic(line, character, Some(DiagnosticSeverity::ERROR))
}

fn lines(store: &DiagnosticStore, rope: &Rope) -> Vec<usize> {
    store.marks(URI, rope).iter().map(|m| m.line).collect()
}

fn change(start: (u32, u32), end: (u32, u32), text: &str) -> TextChange {
    TextChange {
        range: Some((LineCol::new(start.0, start.1), LineCol::new(end.0, end.1))),
        text: text.into(),
    }
}

fn text_of(lines: usize) -> Rope {
    Rope::from_str(
        &(0..lines)
            .map(|i| format!("line {i}\n"))
            .collect::<String>(),
    )
}

#[test]
fn positions_are_converted_with_the_negotiated_encoding() {
    // "😀" is 4 bytes, 2 UTF-16 units, 1 UTF-32 unit; `x` follows it.
    let rope = Rope::from_str("a\nlet 😀x = 1;\n");
    let x = rope.line_to_byte(1) + "let 😀".len();
    for (encoding, character) in [
        (PositionEncoding::Utf8, 8),
        (PositionEncoding::Utf16, 6),
        (PositionEncoding::Utf32, 5),
    ] {
        let store = DiagnosticStore::default();
        store.replace(URI, &rope, &[error(1, character)], encoding);
        let marks = store.marks(URI, &rope);
        assert_eq!(marks.len(), 1, "{encoding:?}");
        assert_eq!((marks[0].byte, marks[0].line), (x, 1), "{encoding:?}");
        assert_eq!(marks[0].message, "problem at 1");
    }
}

#[test]
fn hints_and_information_are_not_places_and_no_severity_is_an_error() {
    let rope = text_of(5);
    let store = DiagnosticStore::default();
    let given = [
        diagnostic(0, 0, Some(DiagnosticSeverity::HINT)),
        diagnostic(1, 0, Some(DiagnosticSeverity::INFORMATION)),
        diagnostic(2, 0, Some(DiagnosticSeverity::WARNING)),
        diagnostic(3, 0, None),
    ];
    store.replace(URI, &rope, &given, PositionEncoding::Utf16);
    assert_eq!(lines(&store, &rope), [2, 3]);
}

#[test]
fn at_most_a_thousand_are_kept_errors_first() {
    let rope = text_of(2_000);
    let store = DiagnosticStore::default();
    let mut given: Vec<Diagnostic> = (0..1_500)
        .map(|line| diagnostic(line, 0, Some(DiagnosticSeverity::WARNING)))
        .collect();
    given.extend((1_500..1_600).map(|line| error(line, 0)));
    store.replace(URI, &rope, &given, PositionEncoding::Utf8);
    let kept = lines(&store, &rope);
    assert_eq!(kept.len(), MAX_PER_DOCUMENT);
    assert!((1_500..1_600).all(|line| kept.contains(&line)));
    // Code action context diagnostics go under the same cap.
    store.merge_listed(URI, &rope, &[error(1_700, 0)], PositionEncoding::Utf8);
    assert_eq!(lines(&store, &rope).len(), MAX_PER_DOCUMENT);
}

#[test]
fn a_replacement_replaces_and_listed_ones_only_add() {
    let rope = text_of(30);
    let store = DiagnosticStore::default();
    store.replace(
        URI,
        &rope,
        &[error(3, 0), error(20, 0)],
        PositionEncoding::Utf16,
    );
    store.replace(URI, &rope, &[error(5, 0)], PositionEncoding::Utf16);
    assert_eq!(lines(&store, &rope), [5]);
    store.merge_listed(
        URI,
        &rope,
        &[error(11, 2), error(11, 2), error(5, 0)],
        PositionEncoding::Utf16,
    );
    assert_eq!(lines(&store, &rope), [5, 11]);
    // A listing without diagnostics (a client that lists only its server's own) removes none.
    store.merge_listed(URI, &rope, &[], PositionEncoding::Utf16);
    assert_eq!(lines(&store, &rope), [5, 11]);
    // The next forwarded list is the whole truth again.
    store.replace(URI, &rope, &[], PositionEncoding::Utf16);
    assert!(lines(&store, &rope).is_empty());
    store.merge_listed(URI, &rope, &[error(7, 0)], PositionEncoding::Utf16);
    store.close(URI);
    assert!(lines(&store, &rope).is_empty());
}

#[test]
fn edits_move_diagnostics_below_and_drop_those_on_edited_lines() {
    let rope = text_of(40);
    let store = DiagnosticStore::default();
    let given = [error(2, 0), error(10, 4), error(12, 1), error(30, 0)];
    store.replace(URI, &rope, &given, PositionEncoding::Utf16);
    // Two lines inserted in line 5, one removed at 20..21, and line 12 edited.
    store.changed(
        URI,
        &[
            change((5, 3), (5, 3), "a\nb\n"),
            change((14, 2), (14, 5), "x"),
            change((20, 0), (21, 0), ""),
        ],
    );
    let rope = text_of(41);
    // 2 stays; 10 → 12; 12 → 14 is on the edited line 14 (12 before the insertion): dropped;
    // 30 → 32 → 31.
    assert_eq!(lines(&store, &rope), [2, 12, 31]);
    // A column survives a move: the mark at line 12 is at column 4.
    let mark = &store.marks(URI, &rope)[1];
    assert_eq!(mark.byte, rope.line_to_byte(12) + 4);
}

#[test]
fn a_line_inserted_above_moves_a_diagnostic_on_the_insertion_line() {
    let store = DiagnosticStore::default();
    let rope = text_of(10);
    store.replace(URI, &rope, &[error(4, 2)], PositionEncoding::Utf16);
    store.changed(URI, &[change((4, 0), (4, 0), "new line\r\n")]);
    assert_eq!(lines(&store, &text_of(11)), [5]);
    // Typing at the start of its line drops it.
    store.changed(URI, &[change((5, 0), (5, 0), "x")]);
    assert!(lines(&store, &text_of(11)).is_empty());
}

#[test]
fn a_whole_text_change_clears_and_lines_past_the_end_are_no_places() {
    let store = DiagnosticStore::default();
    let rope = text_of(10);
    store.replace(URI, &rope, &[error(8, 0)], PositionEncoding::Utf16);
    assert!(lines(&store, &text_of(3)).is_empty());
    store.changed(
        URI,
        &[TextChange {
            range: None,
            text: "new".into(),
        }],
    );
    assert!(lines(&store, &rope).is_empty());
}

#[test]
fn line_breaks_count_as_lsp_counts_them() {
    assert_eq!(line_breaks("a\nb\r\nc\rd"), 3);
    assert_eq!(line_breaks("\r\n\r\n"), 2);
    assert_eq!(line_breaks(""), 0);
}

mod law {
    use proptest::prelude::*;

    use super::*;

    /// A random edit: a range in the text now (as fractions of its length) and new text made of
    /// characters no line holds, so a line's content identifies it.
    fn edit() -> impl Strategy<Value = (f64, f64, String)> {
        let text = proptest::collection::vec(prop_oneof!["x", "\n", "\r\n"], 0..4)
            .prop_map(|parts| parts.concat());
        (0.0..1.0f64, 0.0..0.2f64, text)
    }

    /// `(line, col)` of byte `at` of `text`, with `\n`, `\r\n` and `\r` as line breaks.
    fn line_col(text: &str, at: usize) -> LineCol {
        let rope = Rope::from_str(text);
        let line = rope.byte_to_line(at);
        LineCol::new(line as u32, (at - rope.line_to_byte(line)) as u32)
    }

    proptest! {
        /// Every diagnostic that survives any edits still points at its own line's text, at
        /// its own column.
        #[test]
        fn a_kept_diagnostic_stays_on_its_text(
            edits in proptest::collection::vec(edit(), 0..6),
            cols in proptest::collection::vec(0u32..6, 12),
        ) {
            let mut text: String = (0..12).map(|i| format!("line {i} ab\n")).collect();
            let rope = Rope::from_str(&text);
            let store = DiagnosticStore::default();
            let given: Vec<Diagnostic> = cols
                .iter()
                .zip(0u32..)
                .map(|(&col, line)| Diagnostic {
                    message: rope.line(line as usize).to_string().trim_end().to_owned(),
                    ..error(line, col)
                })
                .collect();
            store.replace(URI, &rope, &given, PositionEncoding::Utf8);
            for (from, len, new) in edits {
                let start = ((text.len() as f64) * from) as usize;
                let end = (start + ((text.len() as f64) * len) as usize).min(text.len());
                // Whole characters only: never split a "\r\n".
                if text.get(start..end).is_none()
                    || text[..start].ends_with('\r') && text[start..].starts_with('\n')
                    || text[..end].ends_with('\r') && text[end..].starts_with('\n')
                {
                    continue;
                }
                let change = change_of(&text, start, end, &new);
                text.replace_range(start..end, &new);
                store.changed(URI, &[change]);
            }
            let rope = Rope::from_str(&text);
            for mark in store.marks(URI, &rope) {
                let line = rope.line(mark.line).to_string();
                prop_assert_eq!(line.trim_end(), mark.message.as_str());
                let col = mark.byte - rope.line_to_byte(mark.line);
                prop_assert!(given.iter().any(|d| d.message == mark.message
                    && d.range.start.character as usize == col));
            }
        }
    }

    fn change_of(text: &str, start: usize, end: usize, new: &str) -> TextChange {
        TextChange {
            range: Some((line_col(text, start), line_col(text, end))),
            text: new.to_owned(),
        }
    }
}
