//! A correct answer comes out exactly as the model gave it: the line break that starts a block
//! body, completions inside brackets the line already closes, and the document's line breaks.

use ropey::Rope;

use super::tests::fixture;
use super::*;

/// The suggestion for `raw` at the fixture's cursor, with the syntax check on; `None` when
/// nothing would be shown.
fn suggest(language: Language, chat: bool, text: &str, raw: &str) -> Option<String> {
    let (text, cursor_byte) = fixture(text);
    let rope = Rope::from_str(&text);
    let tree = crate::syntax::parse(language, &rope, None);
    let ctx = PostContext {
        is_chat_model: chat,
        syntax: Some(SyntaxInput {
            rope: &rope,
            tree: tree.as_ref(),
            cursor_byte,
        }),
        ..PostContext::new(&text[..cursor_byte], &text[cursor_byte..], Some(language))
    };
    finish(&ctx, raw)
}

/// Both prompt families, same answer, same expectation.
fn both(language: Language, text: &str, raw: &str, expected: &str) {
    for chat in [false, true] {
        let actual = suggest(language, chat, text, raw);
        assert_eq!(
            actual.as_deref(),
            Some(expected),
            "chat: {chat}, raw: {raw:?}"
        );
    }
}

#[test]
fn a_block_body_keeps_its_leading_line_break() {
    let body = "\n        f.debug_struct(\"X\").finish()";
    both(
        Language::Rust,
        "struct X;\n\nimpl std::fmt::Debug for X {\n    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {$0\n    }\n}\n",
        body,
        body,
    );
    let body = "\n    return x * 2";
    both(
        Language::Python,
        "def double(x):$0\n\n\nprint(1)\n",
        body,
        body,
    );
    let body = "\n\treturn items.map(x => x * 2);";
    both(
        Language::JavaScript,
        "const double = (items) => {$0\n};\n",
        body,
        body,
    );
    // The same answer fenced keeps it too.
    let fenced = "```python\n\n    return x * 2\n```";
    assert_eq!(
        suggest(Language::Python, true, "def double(x):$0\n", fenced).as_deref(),
        Some("\n    return x * 2")
    );
}

#[test]
fn a_chat_answers_extra_blank_lines_are_layout() {
    // At the end of a line that opens a block: one line break, whatever the model's layout.
    let body = suggest(
        Language::Rust,
        true,
        "fn f(total: u32) -> u32 {$0\n}\n",
        "\n\n\n    total\n\n",
    );
    assert_eq!(body.as_deref(), Some("\n    total"));
    // Mid-statement, or at a line start, none.
    let rest = suggest(
        Language::Rust,
        true,
        "fn f(a: u32) -> u32 {\n    let x = $0\n    x\n}\n",
        "\n\na + 1;\n\n",
    );
    assert_eq!(rest.as_deref(), Some("a + 1;"));
    let line = suggest(
        Language::Python,
        true,
        "def f(a):\n$0\n",
        "\n\n    return a\n\n",
    );
    assert_eq!(line.as_deref(), Some("    return a"));
}

#[test]
fn a_completion_inside_brackets_the_line_closes_is_kept() {
    both(
        Language::Rust,
        "fn main() {\n    let c = rng.gen_range($0);\n}\n",
        "'a'..='z'",
        "'a'..='z'",
    );
    // The suggestion's own closer at its end is not the suffix's `)` repeated.
    both(
        Language::Rust,
        "fn m(&self) -> Result<u8> {\n    load()\n        .map_err($0)\n}\n",
        "|err| Error::from_entry(self, err)",
        "|err| Error::from_entry(self, err)",
    );
    both(
        Language::Python,
        "import random\nc = random.choice($0)\n",
        "'abc'",
        "'abc'",
    );
}

#[test]
fn line_breaks_follow_the_document() {
    let crlf = "fn f() {\r\n    let a = 1;$0\r\n}\r\n";
    both(
        Language::Rust,
        crlf,
        "\n    let b = 2;",
        "\r\n    let b = 2;",
    );
    both(
        Language::Rust,
        crlf,
        "\r\n    let b = 2;",
        "\r\n    let b = 2;",
    );
    let lf = "fn f() {\n    let a = 1;$0\n}\n";
    both(
        Language::Rust,
        lf,
        "\r\n    let b = 2;\r\n",
        "\n    let b = 2;",
    );
}
