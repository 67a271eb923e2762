//! Text at the end of a suggestion that the document already has right after the cursor.
//!
//! A model that sees the suffix often ends its answer with the suffix's start: the `);` that
//! closes the call the cursor is in, the `"` of the string. Inserted, that would double it. Whole
//! lines equal to the next line of the file are caught earlier, while streaming (see `block`).

use super::cursor::Cursor;

/// `suggestion` without a tail that the rest of the cursor line already provides: the whole
/// rest of the line (trimmed), or a run of its leading punctuation (`)`, `"]`, `;`). Letters are
/// never trimmed on a partial match, since `a + b` before a suffix `b…` is more likely a
/// coincidence than a repeat.
pub(super) fn trim_overlap<'s>(cursor: &Cursor, suggestion: &'s str) -> &'s str {
    let rest = cursor.rest_of_line.trim();
    if rest.is_empty() {
        return suggestion;
    }
    if let Some(head) = suggestion.strip_suffix(rest) {
        return head.trim_end_matches([' ', '\t']);
    }
    let punctuation_bytes: usize = rest
        .chars()
        .take_while(|c| !c.is_alphanumeric() && !c.is_whitespace() && *c != '_')
        .map(char::len_utf8)
        .sum();
    // Longest first: `)` and `);` may both match, and the longer is the repeat.
    (1..=punctuation_bytes)
        .rev()
        .filter(|&bytes| rest.is_char_boundary(bytes))
        .find_map(|bytes| suggestion.strip_suffix(&rest[..bytes]))
        .unwrap_or(suggestion)
}
