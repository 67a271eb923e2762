//! What post-processing needs to know about the text around the cursor, computed once per
//! request from the prefix and suffix: the cursor line, its indentation, the brackets open at
//! the cursor and which of them the suffix already closes.

use ropey::Rope;

use super::PostContext;
use super::lex::{Bracket, Lexer, closer_of};
use crate::syntax::Language;

/// Only this much of the prefix and suffix is scanned for brackets and lines; the block around
/// the cursor is what matters, and the scan must stay cheap on a large file.
const SCAN_BYTES: usize = 16 * 1024;
/// Prefix lines a model may echo before the text it adds.
const MAX_REPEATED_LINES: usize = 8;

/// The text around `cursor_byte` that post-processing reads of `rope`: a little more than
/// [`SCAN_BYTES`] before it and [`SCAN_BYTES`] after. Post-processing given these is exactly as
/// given the whole document, and the prompt's window (its size set by the model's budget) has
/// no say in it.
pub(crate) fn document_around(rope: &Rope, cursor_byte: usize) -> (String, String) {
    let floor = |byte: usize| rope.char_to_byte(rope.byte_to_char(byte.min(rope.len_bytes())));
    let cursor = floor(cursor_byte);
    // One byte more than is scanned, so that [`tail`] cuts at the same line as in the document.
    let start = floor(cursor.saturating_sub(SCAN_BYTES + 1));
    let end = floor(cursor + SCAN_BYTES);
    (
        rope.byte_slice(start..cursor).to_string(),
        rope.byte_slice(cursor..end).to_string(),
    )
}

/// A bracket opened before the cursor and still open there.
#[derive(Clone, Debug)]
pub(super) struct Opener {
    pub ch: char,
    /// The indentation of the line it is on; a closer at the start of a line at this
    /// indentation is taken to close it.
    pub line_indent: usize,
    /// Whether the text after the cursor already closes it.
    pub closed_by_suffix: bool,
}

#[derive(Clone, Debug)]
pub(super) struct Cursor {
    pub language: Option<Language>,
    /// The cursor line's text before the cursor.
    pub line_prefix: String,
    /// The cursor line's text after the cursor, without the line break.
    pub rest_of_line: String,
    /// The cursor line's indentation width.
    pub line_indent: usize,
    /// Lines of the suggestion indented less than this end it.
    pub block_indent: usize,
    /// The cursor line opens a block (`{`, `(`, `[`, or Python's `:`) right before the cursor:
    /// lines back at its indentation end the suggestion too.
    pub header: bool,
    pub openers: Vec<Opener>,
    /// The lexer's state at the cursor (inside a string, say).
    pub lexer: Lexer,
    /// Up to eight complete lines before the cursor line, nearest last, `\r\n` as `\n`.
    pub previous_lines: Vec<String>,
    /// The first non-blank line after the cursor line, trimmed.
    pub next_line: Option<String>,
    /// The document's line break (`\n`, `\r\n` or `\r`), from the lines around the cursor:
    /// the suggestion's line breaks become this one.
    pub newline: &'static str,
}

impl Cursor {
    pub(super) fn new(ctx: &PostContext<'_>) -> Self {
        let prefix = tail(ctx.prefix, SCAN_BYTES);
        let suffix = head(ctx.suffix, SCAN_BYTES);
        let line_start = prefix.rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let line_prefix = &prefix[line_start..];
        let rest_of_line = &suffix[..suffix.find(['\n', '\r']).unwrap_or(suffix.len())];
        let line_indent = indent_width(line_prefix);
        let trimmed = line_prefix.trim_end();
        let header = match trimmed.chars().last() {
            Some('{' | '(' | '[') => true,
            Some(':') => ctx.language == Some(Language::Python),
            _ => false,
        };
        let block_indent = if trimmed.is_empty() {
            indent_width(line_prefix)
        } else {
            line_indent
        };
        let (mut openers, lexer) = scan_prefix(prefix, ctx.language);
        mark_closed_by_suffix(&mut openers, lexer.clone(), suffix);
        let previous_lines = prefix[..line_start]
            .lines()
            .rev()
            .take(MAX_REPEATED_LINES)
            .map(str::to_owned)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let next_line = suffix[rest_of_line.len()..]
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .map(str::to_owned);
        Self {
            language: ctx.language,
            line_prefix: line_prefix.to_owned(),
            rest_of_line: rest_of_line.to_owned(),
            line_indent,
            block_indent,
            header,
            openers,
            lexer,
            previous_lines,
            next_line,
            newline: line_break(suffix, prefix),
        }
    }
}

/// The line break the cursor's line ends with, else the last one before it, else `\n`.
fn line_break(suffix: &str, prefix: &str) -> &'static str {
    let kind = |crlf: bool, c: u8| match (crlf, c) {
        (true, _) => "\r\n",
        (false, b'\r') => "\r",
        _ => "\n",
    };
    if let Some(at) = suffix.find(['\n', '\r']) {
        let bytes = suffix.as_bytes();
        return kind(bytes[at..].starts_with(b"\r\n"), bytes[at]);
    }
    match prefix.rfind(['\n', '\r']) {
        Some(at) => {
            let bytes = prefix.as_bytes();
            kind(bytes[..=at].ends_with(b"\r\n"), bytes[at])
        }
        None => "\n",
    }
}

/// Width of a line's leading whitespace, a tab counting as four columns.
pub(super) fn indent_width(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum()
}

/// The last `bytes` of `text`, from a line start so that lexing starts outside any token.
fn tail(text: &str, bytes: usize) -> &str {
    if text.len() <= bytes {
        return text;
    }
    let mut start = text.len() - bytes;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let from_line = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    &text[from_line..]
}

/// The first `bytes` of `text`, cut on a character boundary.
fn head(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The brackets still open at the end of `prefix`, outermost first, and the lexer's state there.
fn scan_prefix(prefix: &str, language: Option<Language>) -> (Vec<Opener>, Lexer) {
    let mut lexer = Lexer::new(language);
    let mut openers: Vec<Opener> = Vec::new();
    for line in prefix.split_inclusive('\n') {
        // Only a line that opens a bracket needs its indentation.
        let mut line_indent = None;
        lexer.line(line, |_, bracket| {
            match bracket {
                Bracket::Open(ch) => openers.push(Opener {
                    ch,
                    line_indent: *line_indent.get_or_insert_with(|| indent_width(line)),
                    closed_by_suffix: false,
                }),
                // A stray closer in broken code closes nothing rather than the wrong opener.
                Bracket::Close(ch) => {
                    if openers.last().is_some_and(|open| closer_of(open.ch) == ch) {
                        openers.pop();
                    }
                }
            }
            true
        });
    }
    (openers, lexer)
}

/// Marks the openers that closers in `suffix` close. Closers close from the inside out (the
/// innermost opener of their kind; openers inside it stay open), but a closer that starts a line is matched to the innermost opener on a line of the same
/// indentation: in `impl S {\n    fn new() {$0\n}` the `}` belongs to the `impl`, so the new
/// function's `{` is still the suggestion's to close.
fn mark_closed_by_suffix(openers: &mut [Opener], mut lexer: Lexer, suffix: &str) {
    // Openers at `..open_count` are not closed yet.
    let mut open_count = openers.len();
    let mut own = 0usize;
    for (line_number, line) in suffix.split_inclusive('\n').enumerate() {
        if open_count == 0 {
            return;
        }
        let line_indent = indent_width(line);
        // The first line is the rest of the cursor line: its start is not a line start.
        let first_code = match line_number {
            0 => usize::MAX,
            _ => line.len() - line.trim_start().len(),
        };
        lexer.line(line, |index, bracket| {
            match bracket {
                Bracket::Open(_) => own += 1,
                Bracket::Close(_) if own > 0 => own -= 1,
                Bracket::Close(ch) => {
                    let starts_line = index == first_code;
                    let by_indent = openers[..open_count].iter().rposition(|open| {
                        starts_line && open.line_indent == line_indent && closer_of(open.ch) == ch
                    });
                    // Else the innermost opener of its kind: in code with a hole in it (the
                    // text being written), a `}` does not close the `(` of `if (typ|`.
                    let by_kind = || {
                        openers[..open_count]
                            .iter()
                            .rposition(|open| closer_of(open.ch) == ch)
                    };
                    if let Some(index) = by_indent.or_else(by_kind) {
                        openers[index].closed_by_suffix = true;
                        open_count = index;
                    }
                }
            }
            open_count > 0
        });
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of code with brackets, strings, comments and line breaks of every kind, and long
    /// lines, so that documents pass [`SCAN_BYTES`] either side of the cursor.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "fn a() {", "}", "(", ")", "[", "]", "\n", "    ", "x", "// c", "\"s(\"", "é",
                "😀", "\r\n", "\r", "/* ( */",
            ])
            .prop_map(str::to_owned),
            (1usize..3).prop_map(|n| format!("let v = [{}];\n", "1, ".repeat(n * 300))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_document_around_the_cursor_reads_as_the_whole_document(
            pieces in prop::collection::vec(piece(), 0..120),
            fraction in 0.0..=1.0f64,
            language in prop::sample::select(vec![
                None, Some(Language::Rust), Some(Language::Python), Some(Language::TypeScript),
            ]),
        ) {
            let text = pieces.concat();
            let mut cursor = (text.len() as f64 * fraction) as usize;
            while !text.is_char_boundary(cursor) {
                cursor -= 1;
            }
            let (before, after) = document_around(&Rope::from_str(&text), cursor);
            let read = Cursor::new(&PostContext::new(&before, &after, language));
            let whole = Cursor::new(&PostContext::new(&text[..cursor], &text[cursor..], language));
            prop_assert_eq!(format!("{read:?}"), format!("{whole:?}"));
        }
    }
}
