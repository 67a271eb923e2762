//! Fixture tests: documents with `$0` for the cursor, opened (and edited) through a real
//! `DocumentStore`, rendered for each provider family and compared with `expect!` snapshots
//! (`UPDATE_EXPECT=1` rewrites them).

use expect_test::{Expect, expect};

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
        self.store
            .snapshot(&self.uri)
            .expect("the document is open")
    }

    /// Replaces `start..end` (bytes) with `text`; the cursor follows text after it.
    pub fn edit(&mut self, start: usize, end: usize, text: &str) {
        let rope = self.snapshot().rope.clone();
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

pub(super) fn fim_view(prompt: &Prompt) -> String {
    let (
        instructions,
        ModelInput::Fim {
            prefix,
            suffix,
            extra,
        },
    ) = prompt.to_request_parts(PromptFamily::Fim)
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

pub(super) fn chat_parts(prompt: &Prompt) -> (String, String) {
    chat_request(prompt.to_request_parts(PromptFamily::Chat))
}

/// The context and query of a chat request.
pub(super) fn chat_request((instructions, input): (String, ModelInput)) -> (String, String) {
    let ModelInput::Chat { context, query } = input else {
        panic!("a chat input");
    };
    assert_eq!(instructions, CHAT_INSTRUCTIONS);
    (context, query)
}

pub(super) fn input(snapshot: &Snapshot, cursor: usize, tokens: usize) -> ContextInput<'_> {
    ContextInput {
        budget: Budget {
            prompt_tokens: tokens,
        },
        ..ContextInput::new(snapshot, cursor)
    }
}

pub(super) fn check_fim(lang: &str, path: &str, tokens: usize, fixture: &str, expect: Expect) {
    let doc = Doc::open(lang, path, fixture);
    let snapshot = doc.snapshot();
    let prompt = build(&input(&snapshot, doc.cursor, tokens)).expect("a prompt");
    expect.assert_eq(&fim_view(&prompt));
}

pub(super) fn check_chat(lang: &str, path: &str, tokens: usize, fixture: &str, expect: Expect) {
    let doc = Doc::open(lang, path, fixture);
    let snapshot = doc.snapshot();
    let prompt = build(&input(&snapshot, doc.cursor, tokens)).expect("a prompt");
    let (context, query) = chat_parts(&prompt);
    expect.assert_eq(&format!("=== context\n{context}=== query\n{query}"));
}

/// `n` numbered filler lines at `indent`, in a language's statement syntax.
pub(super) fn filler(indent: &str, n: usize, line: impl Fn(usize) -> String) -> String {
    (0..n).map(|i| format!("{indent}{}\n", line(i))).collect()
}

#[test]
fn rust_window_is_cut_on_lines_with_imports_and_scope_headers() {
    let body = filler("        ", 30, |i| {
        format!("let v{i} = self.items[{i}] * {i};")
    });
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
    let body = filler("        ", 30, |i| {
        format!("total += self.prices[{i}] * {i}")
    });
    let fixture = format!(
        "\"\"\"Shop.\"\"\"\nimport os\nfrom typing import List\n\n\nclass Shop:\n    def total(self, items: List[int]) -> int:\n        total = 0\n{body}        return $0\n\n    def other(self):\n        pass\n"
    );
    check_fim(
        "python",
        "shop/shop.py",
        300,
        &fixture,
        expect![[r#"
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
    "#]],
    );
}

#[test]
fn typescript_imports_and_enclosing_class_and_method() {
    let body = filler("    ", 30, |i| format!("sum += this.values[{i}] * {i};"));
    let fixture = format!(
        "import {{ Item }} from \"./item\";\nimport * as fs from \"fs\";\n\nexport class Cart {{\n  total(\n    factor: number,\n  ): number {{\n    let sum = 0;\n{body}    return sum * $0;\n  }}\n}}\n"
    );
    check_fim(
        "typescript",
        "web/cart.ts",
        300,
        &fixture,
        expect![[r#"
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
    "#]],
    );
}

#[test]
fn small_files_are_sent_whole_and_chat_marks_the_cursor() {
    let fixture = "use std::fmt;\n\nfn add(a: i32, b: i32) -> i32 {\n    a $0\n}\n";
    check_fim(
        "rust",
        "src/lib.rs",
        2_000,
        fixture,
        expect![[r#"
        use std::fmt;

        fn add(a: i32, b: i32) -> i32 {
            a $0
        }
    "#]],
    );
    check_chat(
        "rust",
        "src/lib.rs",
        2_000,
        fixture,
        expect![[r#"
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
    "#]],
    );
}

/// Typing into a long file with the window kept steady: the FIM prefix only grows at its end
/// (so a model's cache of it stays warm) except when the window must move, about once per half
/// a budget of typing, and then it still holds at least half of the budget.
#[test]
fn a_steady_window_moves_once_per_half_budget_of_typing() {
    let body: String = (0..200)
        .map(|i| format!("    let value_{i} = compute({i}, \"é\");\n"))
        .collect();
    let mut doc = Doc::open(
        "rust",
        "src/long.rs",
        &format!("fn main() {{\n{body}$0}}\n"),
    );
    let budget = Budget { prompt_tokens: 400 };
    let typed = "    let total = value_1 + value_2;\n".repeat(45);
    let (mut previous_line, mut previous_prefix) = (None, String::new());
    let (mut moves, mut fullest_moves, mut fullest_start) = (0, 0, None);
    for c in typed.chars() {
        doc.type_text(&c.to_string());
        let snapshot = doc.snapshot();
        let input = ContextInput {
            budget,
            window_start: WindowStart::Steady(previous_line),
            ..ContextInput::new(&snapshot, doc.cursor)
        };
        let prompt = build(&input).expect("a prompt");
        let fullest = build(&ContextInput {
            window_start: WindowStart::Fullest,
            ..input
        })
        .expect("a prompt");
        let (_, ModelInput::Fim { prefix, .. }) = prompt.to_request_parts(PromptFamily::Fim) else {
            panic!("a FIM input");
        };
        if !prefix.starts_with(&previous_prefix) {
            moves += 1;
            let (held, room) = (prompt.before.len(), fullest.before.len());
            assert!(
                held * 2 >= room - 64,
                "after a move the window holds {held} of {room} bytes"
            );
        }
        if fullest_start.replace(fullest.window.start) != Some(fullest.window.start) {
            fullest_moves += 1;
        }
        previous_line = Some(snapshot.rope.byte_to_line(prompt.window.start));
        previous_prefix = prefix;
    }
    // ~1,600 bytes typed against a window of ~1,300: the steady start moves every ~650 bytes,
    // the fullest window's start with nearly every line typed.
    assert!((2..=3).contains(&moves), "{moves} moves");
    assert!(
        fullest_moves > 30,
        "{fullest_moves} moves of the fullest window"
    );
}
