//! Fixture tests: documents with `$0` for the cursor, opened (and edited) through a real
//! `DocumentStore`, rendered for each provider family and compared with `expect!` snapshots
//! (`UPDATE_EXPECT=1` rewrites them).

use expect_test::{Expect, expect};
use ropey::Rope;

use super::*;
use crate::documents::{DocumentStore, PositionEncoding, TextChange, to_line_col};
use crate::providers::ModelInput;

/// An open document with a cursor, edited the way an editor would.
pub(super) struct Doc {
    store: DocumentStore,
    uri: String,
    version: i32,
    pub cursor: usize,
}

impl Doc {
    pub fn open(language_id: &str, path: &str, fixture: &str) -> Doc {
        let cursor = fixture.find("$0").unwrap_or(fixture.len());
        let text = fixture.replacen("$0", "", 1);
        let store = DocumentStore::default();
        let uri = format!("file:///{path}");
        store.open(&uri, language_id, 1, &text);
        Doc {
            store,
            uri,
            version: 1,
            cursor,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        self.store.wait_for_parses();
        self.store.snapshot(&self.uri).expect("the document is open")
    }

    /// Replaces `start..end` (bytes) with `text`; the cursor follows text after it.
    pub fn edit(&mut self, start: usize, end: usize, text: &str) {
        let rope = self.snapshot().rope;
        let pos = |byte| to_line_col(&rope, byte, PositionEncoding::Utf8);
        self.version += 1;
        let change = TextChange {
            range: Some((pos(start), pos(end))),
            text: text.to_owned(),
        };
        self.store
            .change(&self.uri, self.version, &[change], PositionEncoding::Utf8)
            .expect("the change applies");
        if self.cursor >= end {
            self.cursor = self.cursor - (end - start) + text.len();
        }
    }

    /// Types `text` at the cursor, one character per change.
    pub fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.edit(self.cursor, self.cursor, c.encode_utf8(&mut [0; 4]));
        }
    }

    /// Replaces the first `find` with `with`.
    pub fn replace(&mut self, find: &str, with: &str) {
        let text = self.snapshot().rope.to_string();
        let start = text.find(find).expect("the text to replace is there");
        self.edit(start, start + find.len(), with);
    }
}

fn fim_view(prompt: &Prompt) -> String {
    let (instructions, ModelInput::Fim { prefix, suffix, extra }) =
        prompt.to_request_parts(PromptFamily::Fim)
    else {
        panic!("a FIM input");
    };
    assert!(instructions.is_empty());
    let mut out = format!("{prefix}$0{suffix}");
    for file in extra {
        out.push_str(&format!("\n=== extra: {}\n{}", file.path, file.text));
    }
    out
}

fn chat_parts(prompt: &Prompt) -> (String, String) {
    let (instructions, ModelInput::Chat { context, query }) =
        prompt.to_request_parts(PromptFamily::Chat)
    else {
        panic!("a chat input");
    };
    assert_eq!(instructions, CHAT_INSTRUCTIONS);
    (context, query)
}

fn input(snapshot: &Snapshot, cursor: usize, tokens: usize) -> ContextInput<'_> {
    ContextInput {
        budget: Budget {
            prompt_tokens: tokens,
        },
        ..ContextInput::new(snapshot, cursor)
    }
}

fn check_fim(lang: &str, path: &str, tokens: usize, fixture: &str, expect: Expect) {
    let doc = Doc::open(lang, path, fixture);
    let snapshot = doc.snapshot();
    let prompt = build(&input(&snapshot, doc.cursor, tokens)).expect("a prompt");
    expect.assert_eq(&fim_view(&prompt));
}

fn check_chat(lang: &str, path: &str, tokens: usize, fixture: &str, expect: Expect) {
    let doc = Doc::open(lang, path, fixture);
    let snapshot = doc.snapshot();
    let prompt = build(&input(&snapshot, doc.cursor, tokens)).expect("a prompt");
    let (context, query) = chat_parts(&prompt);
    expect.assert_eq(&format!("=== context\n{context}=== query\n{query}"));
}

/// `n` numbered filler lines at `indent`, in a language's statement syntax.
fn filler(indent: &str, n: usize, line: impl Fn(usize) -> String) -> String {
    (0..n).map(|i| format!("{indent}{}\n", line(i))).collect()
}

#[test]
fn rust_window_is_cut_on_lines_with_imports_and_scope_headers() {
    let body = filler("        ", 30, |i| format!("let v{i} = self.items[{i}] * {i};"));
    let fixture = format!(
        "//! Carts.\nuse std::collections::HashMap;\nuse crate::item::Item;\n\nstruct Cart {{ items: Vec<u32> }}\n\nimpl Cart {{\n    fn total(&self) -> u32 {{\n{body}        let sum = $0\n        sum\n    }}\n\n    fn other(&self) {{}}\n{}}}\n",
        filler("    ", 20, |i| format!("fn f{i}(&self) {{}}"))
    );
    check_fim(
        "rust",
        "src/cart.rs",
        300,
        &fixture,
        expect![[r#"
            // Path: src/cart.rs
            use std::collections::HashMap;
            use crate::item::Item;
            // ...
            impl Cart {
                fn total(&self) -> u32 {
                    // ...
                    let v13 = self.items[13] * 13;
                    let v14 = self.items[14] * 14;
                    let v15 = self.items[15] * 15;
                    let v16 = self.items[16] * 16;
                    let v17 = self.items[17] * 17;
                    let v18 = self.items[18] * 18;
                    let v19 = self.items[19] * 19;
                    let v20 = self.items[20] * 20;
                    let v21 = self.items[21] * 21;
                    let v22 = self.items[22] * 22;
                    let v23 = self.items[23] * 23;
                    let v24 = self.items[24] * 24;
                    let v25 = self.items[25] * 25;
                    let v26 = self.items[26] * 26;
                    let v27 = self.items[27] * 27;
                    let v28 = self.items[28] * 28;
                    let v29 = self.items[29] * 29;
                    let sum = $0
                    sum
                }

                fn other(&self) {}
                fn f0(&self) {}
                fn f1(&self) {}
                fn f2(&self) {}
                fn f3(&self) {}
                fn f4(&self) {}
                fn f5(&self) {}
                fn f6(&self) {}
        "#]],
    );
}

#[test]
fn python_imports_and_enclosing_class_and_def() {
    let body = filler("        ", 30, |i| format!("total += self.prices[{i}] * {i}"));
    let fixture = format!(
        "\"\"\"Shop.\"\"\"\nimport os\nfrom typing import List\n\n\nclass Shop:\n    def total(self, items: List[int]) -> int:\n        total = 0\n{body}        return $0\n\n    def other(self):\n        pass\n"
    );
    check_fim("python", "shop/shop.py", 300, &fixture, expect![[r#"
        # Path: shop/shop.py
        import os
        from typing import List
        class Shop:
            def total(self, items: List[int]) -> int:
                # ...
                total += self.prices[8] * 8
                total += self.prices[9] * 9
                total += self.prices[10] * 10
                total += self.prices[11] * 11
                total += self.prices[12] * 12
                total += self.prices[13] * 13
                total += self.prices[14] * 14
                total += self.prices[15] * 15
                total += self.prices[16] * 16
                total += self.prices[17] * 17
                total += self.prices[18] * 18
                total += self.prices[19] * 19
                total += self.prices[20] * 20
                total += self.prices[21] * 21
                total += self.prices[22] * 22
                total += self.prices[23] * 23
                total += self.prices[24] * 24
                total += self.prices[25] * 25
                total += self.prices[26] * 26
                total += self.prices[27] * 27
                total += self.prices[28] * 28
                total += self.prices[29] * 29
                return $0

            def other(self):
                pass
    "#]]);
}

#[test]
fn typescript_imports_and_enclosing_class_and_method() {
    let body = filler("    ", 30, |i| format!("sum += this.values[{i}] * {i};"));
    let fixture = format!(
        "import {{ Item }} from \"./item\";\nimport * as fs from \"fs\";\n\nexport class Cart {{\n  total(\n    factor: number,\n  ): number {{\n    let sum = 0;\n{body}    return sum * $0;\n  }}\n}}\n"
    );
    check_fim("typescript", "web/cart.ts", 300, &fixture, expect![[r#"
        // Path: web/cart.ts
        import { Item } from "./item";
        import * as fs from "fs";
        export class Cart {
          total(
            factor: number,
          ): number {
            // ...
            sum += this.values[5] * 5;
            sum += this.values[6] * 6;
            sum += this.values[7] * 7;
            sum += this.values[8] * 8;
            sum += this.values[9] * 9;
            sum += this.values[10] * 10;
            sum += this.values[11] * 11;
            sum += this.values[12] * 12;
            sum += this.values[13] * 13;
            sum += this.values[14] * 14;
            sum += this.values[15] * 15;
            sum += this.values[16] * 16;
            sum += this.values[17] * 17;
            sum += this.values[18] * 18;
            sum += this.values[19] * 19;
            sum += this.values[20] * 20;
            sum += this.values[21] * 21;
            sum += this.values[22] * 22;
            sum += this.values[23] * 23;
            sum += this.values[24] * 24;
            sum += this.values[25] * 25;
            sum += this.values[26] * 26;
            sum += this.values[27] * 27;
            sum += this.values[28] * 28;
            sum += this.values[29] * 29;
            return sum * $0;
          }
        }
    "#]]);
}

#[test]
fn small_files_are_sent_whole_and_chat_marks_the_cursor() {
    let fixture = "use std::fmt;\n\nfn add(a: i32, b: i32) -> i32 {\n    a $0\n}\n";
    check_fim("rust", "src/lib.rs", 2_000, fixture, expect![[r#"
        use std::fmt;

        fn add(a: i32, b: i32) -> i32 {
            a $0
        }
    "#]]);
    check_chat("rust", "src/lib.rs", 2_000, fixture, expect![[r#"
        === context
        <file path="src/lib.rs" language="rust">
        use std::fmt;

        fn add(a: i32, b: i32) -> i32 {
            a 
        }
        </file>
        === query
        <cursor path="src/lib.rs">
        use std::fmt;

        fn add(a: i32, b: i32) -> i32 {
            a <|cursor|>
        }
        </cursor>
    "#]]);
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
    let noise = filler("", 40, |i| format!("const unrelated{i} = paint(canvas, {i});"));
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
    let fixture = "// é😀é😀é😀\nlet s = \"é😀é😀é😀é😀é😀\";$0 // 😀é😀é😀é😀é\nlet t = \"😀😀😀\";\n";
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
    check_fim("rust", "src/u.rs", 24, fixture, expect![[r#"
        // Path: src/u.rs
        😀é😀é😀é😀";$0 // "#]]);
}

/// A Python module of `n` small functions, with the cursor typed into the middle one.
fn long_python(n: usize) -> String {
    let mut text = String::from("import math\n\n\n");
    for i in 0..n {
        let body = if i == n / 2 { "    total = $0\n" } else { "    total = x * 2\n" };
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
        let prompt = build(&ContextInput {
            anchor: Some(&anchor),
            ..ContextInput::new(snapshot, cursor)
        });
        chat_parts(&prompt.expect("a prompt"))
    };
    let (context_1, query_1) = anchored(&first, doc.cursor);
    doc.type_text("math.sq");
    let second = doc.snapshot();
    assert!(!should_reanchor(Some(&anchor), &second, doc.cursor));
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
    assert!(should_reanchor(None, &first, doc.cursor));
    assert!(!should_reanchor(Some(&anchor), &first, doc.cursor));
    // Another document.
    let other = Doc::open("python", "other.py", "x = $0\n");
    assert!(should_reanchor(Some(&anchor), &other.snapshot(), other.cursor));
    // The cursor far outside what the context shows.
    assert!(should_reanchor(Some(&anchor), &first, 10));
    // Typing a little is fine; a large paste is not.
    doc.type_text("x + 1");
    assert!(!should_reanchor(Some(&anchor), &doc.snapshot(), doc.cursor));
    doc.type_text(&"y".repeat(MAX_DRIFT_BYTES));
    assert!(should_reanchor(Some(&anchor), &doc.snapshot(), doc.cursor));
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
