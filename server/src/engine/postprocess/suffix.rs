//! Text at the end of a suggestion that the document already has right after the cursor.
//!
//! A model that sees the suffix often ends its answer with the suffix's start: the `;` after
//! the expression, the `"` of the string. Inserted, that would double it. Whole lines equal to
//! the next line of the file are caught earlier, while streaming (see `block`), and so are
//! closers for brackets the suffix already closes: a closer still in the suggestion here closes
//! a bracket the suggestion opened (`f(|)` completed with `g(x)`), so it is never trimmed.

use super::cursor::Cursor;

/// `suggestion` without a tail that the rest of the cursor line already provides: the whole
/// rest of the line (trimmed), or a run of its leading punctuation (`;`, `"`, `",`). Letters are
/// never trimmed on a partial match, since `a + b` before a suffix `b…` is more likely a
/// coincidence than a repeat; closing brackets of code never are (see above).
pub(super) fn trim_overlap<'s>(cursor: &Cursor, suggestion: &'s str) -> &'s str {
    let rest = cursor.rest_of_line.trim();
    if rest.is_empty() {
        return suggestion;
    }
    // In a string or comment no bracket rule ran, and brackets are text like any other.
    let in_code = cursor.lexer.in_code();
    let repeat = |tail: &str| !in_code || !tail.contains([')', ']', '}']);
    if let Some(head) = suggestion.strip_suffix(rest).filter(|_| repeat(rest)) {
        return head.trim_end_matches([' ', '\t']);
    }
    let punctuation_bytes: usize = rest
        .chars()
        .take_while(|c| !c.is_alphanumeric() && !c.is_whitespace() && *c != '_')
        .map(char::len_utf8)
        .sum();
    // Longest first: `"` and `";` may both match, and the longer is the repeat.
    (1..=punctuation_bytes)
        .rev()
        .filter(|&bytes| rest.is_char_boundary(bytes) && repeat(&rest[..bytes]))
        .find_map(|bytes| suggestion.strip_suffix(&rest[..bytes]))
        .unwrap_or(suggestion)
}

/// `suggestion` without trailing blank lines, and without a tail the rest of the cursor line
/// repeats. Trailing spaces stay when the cursor line goes on after the cursor: there they
/// separate the suggestion from that text (`[ "table"   ]`); at a line end they are noise.
pub(super) fn trim_end<'s>(cursor: &Cursor, suggestion: &'s str) -> &'s str {
    let content = suggestion.trim_end();
    let trimmed = trim_overlap(cursor, content).trim_end();
    if trimmed.len() < content.len() || cursor.rest_of_line.trim().is_empty() {
        return trimmed;
    }
    let spaces = suggestion[content.len()..]
        .bytes()
        .take_while(|b| *b == b' ' || *b == b'\t')
        .count();
    &suggestion[..content.len() + spaces]
}
