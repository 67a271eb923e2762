//! Applying LSP text edits to a `String`, as an editor does: the check that an edit the server
//! sends turns the editor's text into the expected one.

use serde_json::Value;

/// How the client counts `character` in a position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Units {
    Utf8,
    Utf16,
}

/// The byte offset of an LSP position in `text` (lines split on `\n`), clamped to the line end.
pub fn byte_of(text: &str, position: &Value, units: Units) -> usize {
    let line = position["line"].as_u64().unwrap_or_default() as usize;
    let character = position["character"].as_u64().unwrap_or_default() as usize;
    let line_start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut counted = 0;
    for (offset, c) in text[line_start..].char_indices() {
        if counted >= character || c == '\n' {
            return line_start + offset;
        }
        counted += match units {
            Units::Utf8 => c.len_utf8(),
            Units::Utf16 => c.len_utf16(),
        };
    }
    text.len()
}

/// `text` after the LSP `edits` (`{range, newText}`, all against `text`).
pub fn apply(text: &str, edits: &[Value], units: Units) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                byte_of(text, &e["range"]["start"], units),
                byte_of(text, &e["range"]["end"], units),
                e["newText"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    spans.sort_by_key(|span| std::cmp::Reverse(span.0));
    let mut out = text.to_owned();
    for (start, end, new_text) in spans {
        out.replace_range(start..end, new_text);
    }
    out
}
