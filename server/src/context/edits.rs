//! The user's recent edits as a compact diff: each edit shown on its whole lines, old lines
//! with `-` and new ones with `+`, newest last. What the user just did is the best hint of what
//! they do next (finish the rename, repeat the pattern).

use ropey::Rope;

use super::tokens::estimate_tokens;
use super::window::{line_end, line_start, text};
use crate::documents::RecentEdit;

/// At most this many edits are shown.
const MAX_EDITS: usize = 8;
/// Lines kept per side of one edit.
const MAX_LINES: usize = 6;
/// Bytes kept per line, against minified files.
const MAX_LINE_BYTES: usize = 200;

/// The newest `edits` (oldest first in, newest last out) that fit in `tokens`, rendered
/// against `rope`, the current text.
pub(super) fn render(rope: &Rope, edits: &[RecentEdit], tokens: usize) -> String {
    let mut blocks = Vec::new();
    let mut left = tokens;
    for (i, edit) in edits.iter().enumerate().rev().take(MAX_EDITS) {
        let Some(block) = block(rope, edit, &edits[i + 1..]) else {
            continue;
        };
        let cost = estimate_tokens(&block);
        if cost > left {
            break;
        }
        left -= cost;
        blocks.push(block);
    }
    blocks.reverse();
    blocks.concat()
}

/// One edit as `@@ line N @@` and its old and new lines; `None` when it changed nothing.
fn block(rope: &Rope, edit: &RecentEdit, later: &[RecentEdit]) -> Option<String> {
    if edit.old_text == edit.new_text {
        return None;
    }
    let (old, new, line) = match current_position(rope, edit, later) {
        Some(start) => {
            // The edit's new text is still in place: show whole lines, old and new.
            let end = start + edit.new_text.len();
            let (first, last) = (line_start(rope, start), line_end(rope, end));
            let before = text(rope, first..start);
            let after = text(rope, end..last.max(end));
            let old = format!("{before}{}{after}", edit.old_text);
            let new = format!("{before}{}{after}", edit.new_text);
            (old, new, rope.byte_to_line(start) + 1)
        }
        None => {
            // Later edits changed it: show the raw texts near where it was.
            let line = rope.byte_to_line(edit.start_byte.min(rope.len_bytes())) + 1;
            (edit.old_text.clone(), edit.new_text.clone(), line)
        }
    };
    let mut out = format!("@@ line {line} @@\n");
    side(&mut out, '-', &old);
    side(&mut out, '+', &new);
    Some(out)
}

/// Where `edit`'s new text is in the current text, following the offsets of the edits after
/// it; `None` when one of them overlapped it or the text there is not the edit's any more.
fn current_position(rope: &Rope, edit: &RecentEdit, later: &[RecentEdit]) -> Option<usize> {
    let mut start = edit.start_byte;
    let len = edit.new_text.len();
    for next in later {
        let old_end = next.start_byte + next.old_text.len();
        if old_end <= start {
            start = start - next.old_text.len() + next.new_text.len();
        } else if next.start_byte < start + len || (len == 0 && next.start_byte == start) {
            return None;
        }
    }
    let here = rope.get_byte_slice(start..start + len)?;
    (here == edit.new_text.as_str()).then_some(start)
}

/// Writes the lines of one side, each prefixed with `sign`; an empty side writes nothing.
fn side(out: &mut String, sign: char, text: &str) {
    if text.is_empty() {
        return;
    }
    let lines: Vec<&str> = text.lines().collect();
    for line in lines.iter().take(MAX_LINES) {
        out.push(sign);
        out.push_str(cut(line, MAX_LINE_BYTES));
        out.push('\n');
    }
    if lines.len() > MAX_LINES {
        out.push(sign);
        out.push_str("...\n");
    }
    if text.ends_with('\n') && lines.len() <= MAX_LINES {
        // A trailing line break is part of the edit: show it as an empty line.
        out.push(sign);
        out.push('\n');
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub(super) fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
