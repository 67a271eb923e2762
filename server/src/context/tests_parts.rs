//! Fixture tests for the parts besides the window: recent edits, related snippets, secret
//! documents, and text beyond ASCII around the cursor.

use expect_test::expect;
use ropey::Rope;

use super::related::snippets;
use super::tests::{Doc, check_fim, filler, fim_view, input};
use super::*;

fn doc(path: &str, text: &str) -> RelatedDoc {
    RelatedDoc {
        path: path.to_owned(),
        rope: Rope::from_str(text),
    }
}

#[test]
fn the_most_similar_window_wins() {
    let filler = "let unrelated_value = compute_other_thing(42);\n".repeat(40);
    let target = "fn parse_header(reader: &mut Reader) -> Header {\n    let magic = reader.read_u32();\n    Header { magic }\n}\n";
    let related = [
        doc("file:///p/a.rs", &filler),
        doc("file:///p/b.rs", &format!("{filler}{target}{filler}")),
        doc("file:///p/.env", target),
        doc("file:///p/cur.rs", target),
    ];
    let current = Rope::from_str("fn read(reader: &mut Reader) -> Header {\n    let magic = \n");
    let cursor = current.len_bytes() - 1;
    let found = snippets(&current, cursor, &related, "p/cur.rs", &[], 1_000);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, "p/b.rs");
    assert!(found[0].text.contains("let magic = reader.read_u32();"));
    assert_eq!(found[0].first_line, 37);
    assert!(found[0].text.contains("    Header { magic }\n}\n"));
    assert_eq!(found[0].text.lines().count(), 10);
}

#[test]
fn recent_edits_are_rendered_newest_last() {
    let mut doc = Doc::open(
        "python",
        "app.py",
        "def area(w, h):\n    return w * h\n\n\ndef main():\n    print(area(2, 3))\n    $0\n",
    );
    doc.replace("def area(w, h)", "def area(width, height)");
    doc.replace("return w * h", "return width * height");
    doc.type_text("print(ar");
    let snapshot = doc.snapshot();
    let prompt = build(&ContextInput::new(&snapshot, doc.cursor)).expect("a prompt");
    expect![[r#"
        def area(width, height):
            return width * height


        def main():
            print(area(2, 3))
            print(ar$0

        === extra: edit history
        @@ line 1 @@
        -def area(w, h):
        +def area(width, height):
        @@ line 2 @@
        -    return w * h
        +    return width * height
        @@ line 7 @@
        -    
        +    print(ar
    "#]]
    .assert_eq(&fim_view(&prompt));
}

#[test]
fn related_snippets_are_ranked_by_similarity() {
    let noise = filler("", 40, |i| {
        format!("const unrelated{i} = paint(canvas, {i});")
    });
    let target = "export function parseHeader(reader: Reader): Header {\n  const magic = reader.readU32();\n  const length = reader.readU32();\n  return { magic, length };\n}\n";
    let related = [
        RelatedDoc {
            path: "file:///web/paint.ts".into(),
            rope: Rope::from_str(&noise),
        },
        RelatedDoc {
            path: "file:///web/header.ts".into(),
            rope: Rope::from_str(&format!("{noise}{target}{noise}")),
        },
        RelatedDoc {
            path: "file:///web/.env".into(),
            rope: Rope::from_str(target),
        },
        RelatedDoc {
            path: "file:///web/private/keys.ts".into(),
            rope: Rope::from_str(target),
        },
    ];
    let doc = Doc::open(
        "typescript",
        "web/footer.ts",
        "export function parseFooter(reader: Reader): Footer {\n  const magic = reader.$0\n}\n",
    );
    let snapshot = doc.snapshot();
    let globs = ["**/private/**".to_owned()];
    let prompt = build(&ContextInput {
        related: &related,
        secret_globs: &globs,
        ..ContextInput::new(&snapshot, doc.cursor)
    })
    .expect("a prompt");
    assert_eq!(prompt.related.len(), 1, "{:?}", prompt.related);
    expect![[r#"
        export function parseFooter(reader: Reader): Footer {
          const magic = reader.$0
        }

        === extra: web/header.ts
        const unrelated36 = paint(canvas, 36);
        const unrelated37 = paint(canvas, 37);
        const unrelated38 = paint(canvas, 38);
        const unrelated39 = paint(canvas, 39);
        export function parseHeader(reader: Reader): Header {
          const magic = reader.readU32();
          const length = reader.readU32();
          return { magic, length };
        }
        const unrelated0 = paint(canvas, 0);
        const unrelated1 = paint(canvas, 1);
        const unrelated2 = paint(canvas, 2);"#]]
    .assert_eq(&fim_view(&prompt));
}

#[test]
fn secret_documents_get_no_prompt() {
    for (path, globs) in [
        (".env", vec![]),
        ("keys/server.pem", vec![]),
        ("conf/prod.secrets.yaml", vec!["*.secrets.yaml".to_owned()]),
        ("a/vault/b/c.rs", vec!["**/vault/**".to_owned()]),
    ] {
        let doc = Doc::open("plaintext", path, "TOKEN=$0abc\n");
        let snapshot = doc.snapshot();
        let input = ContextInput {
            secret_globs: &globs,
            ..ContextInput::new(&snapshot, doc.cursor)
        };
        assert_eq!(build(&input), None, "{path}");
        assert!(Anchor::new(&input).is_none(), "{path}");
    }
}

#[test]
fn non_ascii_around_the_cursor_is_never_split() {
    let fixture =
        "// é😀é😀é😀\nlet s = \"é😀é😀é😀é😀é😀\";$0 // 😀é😀é😀é😀é\nlet t = \"😀😀😀\";\n";
    let doc = Doc::open("rust", "src/u.rs", fixture);
    let snapshot = doc.snapshot();
    let text = snapshot.rope.to_string();
    for tokens in 17..60 {
        let prompt = build(&input(&snapshot, doc.cursor, tokens)).expect("a prompt");
        assert_eq!(prompt.before, text[prompt.window.start..doc.cursor]);
        assert_eq!(prompt.after, text[doc.cursor..prompt.window.end]);
    }
    // Cursors inside a character are moved back to its start.
    let prompt = build(&input(&snapshot, doc.cursor + 6, 2_000)).expect("a prompt");
    assert!(prompt.before.ends_with("; // "), "{:?}", prompt.before);
    check_fim(
        "rust",
        "src/u.rs",
        24,
        fixture,
        expect![[r#"
        // Path: src/u.rs
        😀é😀é😀é😀";$0 // "#]],
    );
}

/// Typing outruns the background reparse on every keystroke; the prompt then takes the scope
/// headers and imports from the last tree with the keystroke described to it, and comes out
/// the same as from the reparsed tree.
#[test]
fn a_pending_reparse_gives_the_same_prompt() {
    let body = "        let value_of_this_line = compute(1);\n".repeat(300);
    let fixture = format!(
        "use std::fmt;\n\nimpl Thing {{\n    fn long(&self) {{\n{body}        $0\n    }}\n}}\n"
    );
    let mut doc = Doc::open("rust", "p/long.rs", &fixture);
    let before = doc.snapshot();
    doc.type_text("let x");
    let now = doc.snapshot();
    let cursor = doc.cursor;
    let reparsed = build(&ContextInput::new(&now, cursor)).expect("a prompt");
    assert!(
        reparsed.outline.contains("fn long(&self) {"),
        "{}",
        reparsed.outline
    );
    assert!(
        reparsed.outline.contains("use std::fmt;"),
        "{}",
        reparsed.outline
    );
    let mut edited = before.tree.clone().expect("a tree");
    let at = cursor - "let x".len();
    edited.edit(&crate::syntax::input_edit(&before.rope, at, at, "let x"));
    let pending = now.clone().awaiting_reparse(Some(edited));
    assert_eq!(build(&ContextInput::new(&pending, cursor)), Some(reparsed));
}
