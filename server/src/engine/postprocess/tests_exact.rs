//! A correct answer comes out exactly as the model gave it: the line break that starts a block
//! body, completions inside brackets the line already closes, and the document's line breaks.

use super::tests::suggest;
use super::*;

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
    // Mid-statement, or at a line start, none: not even one.
    let stray = suggest(
        Language::Rust,
        true,
        "fn f(a: u32) -> u32 {\n    let x = $0\n    x\n}\n",
        "\na + 1;",
    );
    assert_eq!(stray.as_deref(), Some("a + 1;"));
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
    // The suggestion's own closer at its end is not the suffix's `)` repeated (trimmed, the
    // suggestion broke the parse and was dropped: the empty suggestions in brackets).
    both(
        Language::Rust,
        "fn main() {\n    let i = rng.gen_range($0);\n}\n",
        "0..chars.len()",
        "0..chars.len()",
    );
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

#[test]
fn a_line_the_file_has_next_is_cut_even_while_it_arrives() {
    // The repeated line closes the call the cursor is in: judged on its brackets before it was
    // whole, it used to be cut after `file, line` and the suggestion dropped.
    both(
        Language::C,
        "void f(void) {\n  fprintf(\n    out, \"%s %d\",$0\n    file, line);\n}\n",
        "\n    buf, lvl,\n    file, line);\n}\n",
        "\n    buf, lvl,",
    );
    // Inside a block the suggestion opened, and inside a string, too.
    both(
        Language::Rust,
        "impl S {\n    pub $0\n        self.depth\n    }\n}\n",
        "fn depth(&self) -> usize {\n        self.depth\n    }",
        "fn depth(&self) -> usize {",
    );
}

#[test]
fn a_closing_keyword_the_file_has_next_ends_the_block_but_a_nested_one_does_not() {
    both(
        Language::Lua,
        "local function f(x)$0\nend\n\nlocal function g() end\n",
        "\n  if x then\n    return 1\n  end\n  return 2\nend\n\nlocal function g() end\n",
        "\n  if x then\n    return 1\n  end\n  return 2",
    );
}

#[test]
fn spaces_before_the_rest_of_the_line_are_kept_and_at_a_line_end_dropped() {
    both(
        Language::Lua,
        "local m = {\n  [$0] = encode_table,\n}\n",
        " \"table\"   ",
        " \"table\"   ",
    );
    both(
        Language::Rust,
        "fn f() {\n    let a = $0\n}\n",
        "1;   \n\n",
        "1;",
    );
}

#[test]
fn a_restated_indented_line_prefix_is_cut_from_any_model() {
    both(
        Language::Rust,
        "fn f() -> u8 {\n    ret$0\n}\n",
        "    return 1;",
        "urn 1;",
    );
    both(
        Language::Rust,
        "fn f() {\n    pub $0\n}\n",
        "    pub fn g() {}",
        "fn g() {}",
    );
}

#[test]
fn blank_lines_after_a_line_comment_start_a_new_line() {
    let text = "// the next function$0\n\nfn f() {}\n";
    let suggestion = suggest(Language::Rust, true, text, "\n\n\nfn g() {}\n");
    assert_eq!(suggestion.as_deref(), Some("\nfn g() {}"));
}

#[test]
fn a_closer_after_the_cursor_closes_an_opener_of_its_kind() {
    // In `if (typ|` the file's next `}` closes the function, not the `(`: the suggestion's
    // own `)` stays.
    both(
        Language::JavaScript,
        "function f(x) {\n\tif (typ$0\n\t\tthrow new TypeError('no');\n\t}\n}\n",
        "eof x !== 'boolean') {",
        "eof x !== 'boolean') {",
    );
}

#[test]
fn inside_a_string_the_rest_of_the_line_repeated_is_trimmed() {
    both(
        Language::Python,
        "def f():\n    \"\"\"\n    cid[$0] == 'json'  # True\n    \"\"\"\n",
        "'aCCEPT'] == 'json'  # True",
        "'aCCEPT'",
    );
}

#[test]
fn extra_blank_lines_before_a_statement_keep_it_on_its_own_line() {
    let text = "import os$0\n\nprint(os.sep)\n";
    let suggestion = suggest(
        Language::Python,
        true,
        text,
        "\n\n\nfrom typing import Any\n",
    );
    assert_eq!(suggestion.as_deref(), Some("\nfrom typing import Any"));
    // A completion model restating a word of two letters or more.
    let restated = suggest(Language::C, false, "sta$0\n", "static int x;");
    assert_eq!(restated.as_deref(), Some("tic int x;"));
}

#[test]
fn a_closing_keyword_below_the_suggestions_lines_is_the_files() {
    let text = "local function f(s)\n  for i = 1, 3 do\n    if s then\n      n = n + 1\n$0\n    end\n  end\nend\n";
    both(
        Language::Lua,
        text,
        "      col_count = 1\n    end",
        "      col_count = 1",
    );
}

#[test]
fn a_code_line_with_a_trailing_comment_is_not_prose() {
    let text = "const (\n\tInvalid = Variant(iota) // Invalid UUID\n\tRFC4122 // The variant specified in RFC4122$0\n)\n";
    let line = "\n\tReserved                  // Reserved, NCS backward compatibility.";
    both(Language::Go, text, line, line);
}
