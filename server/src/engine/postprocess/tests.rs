//! Fixture tests for each post-processing rule: `$0` marks the cursor, the raw model answer goes
//! in whole, and the snapshot is the suggestion (`UPDATE_EXPECT=1` rewrites snapshots).

use expect_test::{Expect, expect};
use ropey::Rope;

use super::*;

/// Splits a fixture at `$0` into the document text and the cursor byte.
pub(super) fn fixture(text: &str) -> (String, usize) {
    let Some(cursor_byte) = text.find("$0") else {
        panic!("fixture has no $0");
    };
    (text.replacen("$0", "", 1), cursor_byte)
}

/// The suggestion for `raw` at the fixture's cursor from a completion model (`chat` false) or a
/// chat model, with the syntax check on; `None` when nothing would be shown.
pub(super) fn suggest(language: Language, chat: bool, text: &str, raw: &str) -> Option<String> {
    let (text, cursor_byte) = fixture(text);
    let rope = Rope::from_str(&text);
    let tree = crate::syntax::parse(language, &rope, None);
    let check = SyntaxCheck::new(language, tree, rope, cursor_byte, None);
    let ctx = PostContext {
        is_chat_model: chat,
        syntax: Some(&check),
        ..PostContext::new(&text[..cursor_byte], &text[cursor_byte..], Some(language))
    };
    finish(&ctx, raw)
}

/// Post-processes `raw` as an answer from a completion model (`chat` false) or a chat model at
/// the fixture's cursor, with the syntax check on, and snapshots the suggestion.
fn check(language: Language, chat: bool, text: &str, raw: &str, expected: Expect) {
    let actual = suggest(language, chat, text, raw).unwrap_or_else(|| "<dropped>".to_owned());
    // A leading line break is shown as `⏎`: a snapshot's blank first line would be taken as
    // layout, and its indentation lost.
    let actual = match actual.strip_prefix('\n') {
        Some(rest) => format!("⏎\n{rest}"),
        None => actual,
    };
    expected.assert_eq(&actual);
}

fn check_post(language: Language, text: &str, raw: &str, expected: Expect) {
    check(language, false, text, raw, expected);
}

fn check_chat(language: Language, text: &str, raw: &str, expected: Expect) {
    check(language, true, text, raw, expected);
}

const RUST_FN: &str = "fn add(a: i32, b: i32) -> i32 {\n    $0\n}\n\nfn main() {}\n";

#[test]
fn rust_chat_fences_and_prose_are_stripped() {
    check_chat(
        Language::Rust,
        RUST_FN,
        "Here is the completion:\n\n```rust\n    a + b\n```\nThis adds the two numbers.",
        expect!["a + b"],
    );
}

#[test]
fn rust_repeat_of_the_line_before_the_cursor_is_cut() {
    check_post(
        Language::Rust,
        "fn f(items: &[u32]) -> u32 {\n    let total = $0\n    total\n}\n",
        "let total = items.iter().sum();",
        expect!["items.iter().sum();"],
    );
    // Whole lines above the cursor, restated by a chat model, go too.
    check_chat(
        Language::Rust,
        "fn f(items: &[u32]) -> u32 {\n    let total = $0\n}\n",
        "fn f(items: &[u32]) -> u32 {\n    let total = items.iter().sum();\n    total\n}",
        expect![[r#"
            items.iter().sum();
                total"#]],
    );
    // A short word is more likely being completed than repeated.
    check_post(
        Language::Rust,
        "fn f() -> u32 {\n    ret$0\n}\n",
        "urn 1",
        expect!["urn 1"],
    );
    // A chat model shown the word cut restates it, alone or with its line.
    for raw in ["return 1", "    return 1"] {
        check_chat(
            Language::Rust,
            "fn f() -> u32 {\n    r$0\n}\n",
            raw,
            expect!["eturn 1"],
        );
    }
    check_chat(
        Language::Rust,
        "fn f(a: u32) -> u32 {\n    let x = a$0\n}\n",
        "a + 1;",
        expect![" + 1;"],
    );
}

#[test]
fn rust_stops_at_a_brace_the_suffix_already_has() {
    check_post(
        Language::Rust,
        "fn f() -> i32 {\n    let x = 1;\n    $0\n}\n\nfn g() {}\n",
        "x + 1\n}\n\nfn h() {}\n",
        expect!["x + 1"],
    );
}

#[test]
fn rust_closes_a_block_nothing_after_the_cursor_closes() {
    // The `}` at the end closes the `impl`, not the new function: the suggestion's `}` stays,
    // and the suggestion ends with it.
    check_post(
        Language::Rust,
        "struct S;\n\nimpl S {\n    fn new() -> Self {$0\n}\n",
        "\n        Self\n    }\n\n    fn other(&self) {}\n}\n",
        expect![[r#"
            ⏎
                    Self
                }"#]],
    );
}

#[test]
fn rust_closers_the_suffix_provides_are_trimmed() {
    check_post(
        Language::Rust,
        "fn main() {\n    foo(a, $0);\n}\n",
        "b, c);",
        expect!["b, c"],
    );
    check_post(
        Language::Rust,
        "fn main() {\n    let x = $0;\n}\n",
        "compute(1);",
        expect!["compute(1)"],
    );
    check_post(
        Language::Rust,
        "fn main() {\n    let s = \"$0\";\n}\n",
        "hello\"",
        expect!["hello"],
    );
}

#[test]
fn rust_a_closer_matching_nothing_ends_the_suggestion() {
    check_post(
        Language::Rust,
        "fn main() {\n    let v = $0\n}\n",
        "vec![1, 2]];",
        expect!["vec![1, 2]"],
    );
}

#[test]
fn rust_a_line_the_file_has_next_ends_the_suggestion() {
    check_post(
        Language::Rust,
        "fn main() {\n    $0\n    println!(\"done\");\n}\n",
        "let x = 1;\n    println!(\"done\");\n}",
        expect!["let x = 1;"],
    );
}

#[test]
fn rust_whitespace_and_restated_lines_are_dropped() {
    check_post(Language::Rust, RUST_FN, "  \n\t\n", expect!["<dropped>"]);
    check_post(
        Language::Rust,
        "fn f() {\n    let a = 1;\n    let b = 2;\n    $0\n}\n",
        "let b = 2;",
        expect!["<dropped>"],
    );
}

#[test]
fn rust_a_suggestion_that_breaks_the_parse_is_dropped() {
    check_post(
        Language::Rust,
        "fn main() {\n    let x = 1;\n    $0\n}\n",
        "let y = x +;",
        expect!["<dropped>"],
    );
    // Fixing a half-typed statement lowers the count: kept.
    check_post(
        Language::Rust,
        "fn main() {\n    let x = $0\n}\n",
        "1;",
        expect!["1;"],
    );
}

const PYTHON_FN: &str = "def f(x):\n    $0\n\nprint(f(1))\n";

#[test]
fn python_stops_at_a_dedent() {
    check_post(
        Language::Python,
        PYTHON_FN,
        "y = x * 2\n    return y\n\ndef g():\n    pass\n",
        expect![[r#"
            y = x * 2
                return y"#]],
    );
}

#[test]
fn python_a_header_line_takes_its_clauses_but_not_the_next_statement() {
    check_post(
        Language::Python,
        "def f(x):\n    if x:$0\n    return y\n",
        "\n        y = 1\n    else:\n        y = 2\n    z = 3\n",
        expect![[r#"
            ⏎
                    y = 1
                else:
                    y = 2"#]],
    );
}

#[test]
fn python_chat_fence_and_indentation() {
    check_chat(
        Language::Python,
        PYTHON_FN,
        "```python\n    return x + 1\n```\n\nThe function now returns x + 1.",
        expect!["return x + 1"],
    );
}

#[test]
fn python_repeat_and_suffix_overlap() {
    check_post(
        Language::Python,
        "def f(x):\n    return max($0)\n",
        "return max(x, 0)",
        expect!["x, 0"],
    );
}

#[test]
fn python_a_suggestion_that_breaks_the_parse_is_dropped() {
    check_post(
        Language::Python,
        PYTHON_FN,
        "return (x +",
        expect!["<dropped>"],
    );
}

const TS_FN: &str = "function add(a: number, b: number): number {\n  $0\n}\n";

#[test]
fn typescript_chat_prose_after_the_code_is_cut() {
    check_chat(
        Language::TypeScript,
        TS_FN,
        "return a + b;\n\nThis returns the sum of a and b.",
        expect!["return a + b;"],
    );
}

#[test]
fn typescript_repeat_of_the_line_is_cut() {
    check_post(
        Language::TypeScript,
        "function f(items: number[]) {\n  const total = $0\n}\n",
        "const total = items.length;\n",
        expect!["items.length;"],
    );
}

#[test]
fn typescript_brackets_in_template_strings_do_not_count() {
    check_post(
        Language::TypeScript,
        "const a = 1;\nconst s = $0;\n",
        "`${a})`;",
        expect!["`${a})`"],
    );
}

#[test]
fn typescript_object_literal_stops_before_the_suffix_closer() {
    check_post(
        Language::TypeScript,
        "const o = {\n  a: 1,\n  $0\n};\n",
        "b: 2,\n};\n",
        expect!["b: 2,"],
    );
}

#[test]
fn typescript_stops_at_the_next_function() {
    check_post(
        Language::TypeScript,
        "class A {\n  f(): number {\n    $0\n  }\n}\n",
        "return 1;\n  }\n\n  g() {}\n}\n",
        expect!["return 1;"],
    );
}
