//! Chat prompts over a warm session: the anchored context stays byte-identical while the user
//! types, the query carries the diff and exactly one cursor marker, and the re-anchoring policy.

use expect_test::expect;

use super::tests::{Doc, chat_parts, chat_request};
use super::*;

/// A Python module of `n` small functions, with the cursor typed into the middle one.
fn long_python(n: usize) -> String {
    let mut text = String::from("import math\n\n\n");
    for i in 0..n {
        let body = if i == n / 2 {
            "    total = $0\n"
        } else {
            "    total = x * 2\n"
        };
        text.push_str(&format!("def f{i}(x):\n{body}    return total + {i}\n\n\n"));
    }
    text
}

#[test]
fn chat_context_stays_identical_while_typing_after_the_anchor() {
    let mut doc = Doc::open("python", "calc.py", &long_python(60));
    let first = doc.snapshot();
    let anchor = Anchor::new(&ContextInput::new(&first, doc.cursor)).expect("an anchor");
    let anchored = |snapshot: &Snapshot, cursor| {
        let change = change_since(&anchor, snapshot, cursor, None).expect("the anchor serves");
        let request = continue_chat(&ContextInput::new(snapshot, cursor), &anchor, change);
        chat_request(request.expect("a prompt"))
    };
    let (context_1, query_1) = anchored(&first, doc.cursor);
    doc.type_text("math.sq");
    let second = doc.snapshot();
    let (context_2, query_2) = anchored(&second, doc.cursor);
    assert_eq!(context_1, context_2);
    assert_eq!(context_1, anchor.context);
    assert_ne!(query_1, query_2);
    assert_eq!(query_2.matches(CURSOR).count(), 1);
    let before_marker = query_2.split(CURSOR).next().unwrap_or_default();
    assert!(before_marker.len() >= 256, "{}", before_marker.len());
    expect![[r#"
        <changes_since_file path="calc.py">
        @@ -155,1 +155,1 @@
        -    total = 
        +    total = math.sq
        </changes_since_file>
        <cursor path="calc.py">
            return total + 25


        def f26(x):
            total = x * 2
            return total + 26


        def f27(x):
            total = x * 2
            return total + 27


        def f28(x):
            total = x * 2
            return total + 28


        def f29(x):
            total = x * 2
            return total + 29


        def f30(x):
            total = math.sq<|cursor|>
            return total + 30


        def f31(x):
            total = x * 2
        </cursor>
    "#]]
    .assert_eq(&query_2);
}

#[test]
fn reanchoring_policy() {
    let mut doc = Doc::open("python", "calc.py", &long_python(400));
    let first = doc.snapshot();
    let anchor = Anchor::new(&ContextInput::new(&first, doc.cursor)).expect("an anchor");
    let unchanged = change_since(&anchor, &first, doc.cursor, None);
    assert!(unchanged.is_some_and(|c| c.is_empty()), "{unchanged:?}");
    // Another document.
    let other = Doc::open("python", "other.py", "x = $0\n");
    assert!(change_since(&anchor, &other.snapshot(), other.cursor, None).is_none());
    // The cursor far outside what the context shows.
    assert!(change_since(&anchor, &first, 10, None).is_none());
    // Typing a little is fine; a large paste is not.
    doc.type_text("x + 1");
    assert!(change_since(&anchor, &doc.snapshot(), doc.cursor, None).is_some());
    doc.type_text(&"y".repeat(MAX_DRIFT_BYTES));
    assert!(change_since(&anchor, &doc.snapshot(), doc.cursor, None).is_none());
}

#[test]
fn literal_markers_in_the_document_are_defused() {
    let doc = Doc::open("python", "m.py", "s = \"<|cursor|>\"\nt = $0\n");
    let snapshot = doc.snapshot();
    let prompt = build(&ContextInput::new(&snapshot, doc.cursor)).expect("a prompt");
    let (context, query) = chat_parts(&prompt);
    assert_eq!(query.matches(CURSOR).count(), 1);
    assert!(!context.contains(CURSOR));
}

/// The text between the cursor marker and `</cursor>` (and the file's text before `</file>`) is
/// exactly the document's: no line break is added where the document has none.
#[test]
fn the_chat_prompt_adds_no_line_break_the_document_lacks() {
    for (text, after) in [
        ("x = 1\ny = $0", ""),
        ("x = 1\ny = $0 + 2", " + 2"),
        ("x = 1\ry = $0 + 2\r", " + 2\r"),
        ("x = 1\r\ny = $0\r\nz = 3\r\n", "\r\nz = 3\r\n"),
    ] {
        let doc = Doc::open("python", "m.py", text);
        let snapshot = doc.snapshot();
        let prompt = build(&ContextInput::new(&snapshot, doc.cursor)).expect("a prompt");
        let (context, query) = chat_parts(&prompt);
        let shown_after = query
            .split_once(CURSOR)
            .and_then(|(_, rest)| rest.split_once("</cursor>"))
            .map(|(after, _)| after);
        assert_eq!(shown_after, Some(after), "{text:?}");
        let whole = text.replacen("$0", "", 1);
        assert!(
            context.contains(&format!("\n{whole}</file>\n")),
            "{context:?}"
        );
    }
}
