//! The line breaks a chat model's answer starts with.
//!
//! Chat models often open an answer with blank lines that are layout, but an answer at the end
//! of a line that opens a block (`impl Debug for X {`, `def f(x):`) must start with a line
//! break, or its body is glued onto that line. So a chat answer's leading blank lines become
//! one line break where a new line can begin (the cursor ends a non-blank line) and the code
//! reads as a line of its own, and nothing elsewhere. A completion (FIM) model fills the middle
//! literally, so its leading line breaks are kept as they are.

use super::cursor::{Cursor, indent_width};

/// How many line breaks to put before the first code line of a chat answer that had
/// `blank_lines` blank lines before it.
pub(super) fn breaks(cursor: &Cursor, blank_lines: usize, first_code: &str) -> usize {
    let at_line_end = cursor.rest_of_line.trim().is_empty();
    if blank_lines == 0 || !at_line_end || cursor.line_prefix.trim().is_empty() {
        return 0;
    }
    // One line break is what a model writes to start the next line, unless the cursor line
    // ends in a space (`let x = `): then it is a habit, like more breaks around any code.
    let joins = if blank_lines == 1 {
        ends_in_space(cursor)
    } else {
        continues_cursor_line(cursor, first_code)
    };
    usize::from(!joins)
}

fn ends_in_space(cursor: &Cursor) -> bool {
    !cursor.lexer.in_line_comment() && cursor.line_prefix.ends_with([' ', '\t'])
}

/// Whether `first_code` reads as the rest of the cursor line rather than a line of its own:
/// never after a line comment; yes when the cursor line ends in a space (`let x = `), when the
/// code starts at column 0 inside an indented block (a line of its own would be indented, or
/// be a closer), or when it continues the word before the cursor.
fn continues_cursor_line(cursor: &Cursor, first_code: &str) -> bool {
    let code = first_code.trim_start();
    // Nothing continues a line comment after blank lines.
    if cursor.lexer.in_line_comment() {
        return false;
    }
    if ends_in_space(cursor) {
        return true;
    }
    if code.starts_with([')', ']', '}']) || starts_statement(code) {
        return false;
    }
    let at_column_zero = indent_width(first_code) == 0;
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let continues_word = cursor.line_prefix.ends_with(is_word) && code.starts_with(is_word);
    at_column_zero && (cursor.line_indent > 0 || continues_word)
}

/// Whether the line starts like a statement or declaration of one of the languages (a keyword,
/// an annotation or decorator, a directive or comment): such a line is a line of its own, not
/// the rest of a word (`import os` then `from typing import Any`).
fn starts_statement(code: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "from",
        "import",
        "def",
        "class",
        "fn",
        "let",
        "const",
        "function",
        "local",
        "return",
        "if",
        "for",
        "while",
        "public",
        "private",
        "protected",
        "static",
        "package",
        "func",
        "var",
        "type",
        "struct",
        "impl",
        "use",
        "pub",
        "export",
        "async",
    ];
    let word = code
        .split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    code.starts_with(['@', '#']) || KEYWORDS.contains(&word)
}
