//! The text around the cursor, cut on line boundaries where possible and never inside a
//! character. Only the window is copied out of the rope, never the whole document.

use std::ops::Range;

use ropey::Rope;

/// Lines before the cursor's line in the chat query's local window.
const LOCAL_LINES_BEFORE: usize = 15;
/// Lines after the cursor's line in the local window.
const LOCAL_LINES_AFTER: usize = 5;
/// The local window reaches further back until it holds this much text before the cursor, so a
/// few short lines still identify the spot (the reference model server matches the last 256
/// bytes before the marker against its corpus).
const LOCAL_MIN_BEFORE_BYTES: usize = 256;
/// How far back that search may go, in lines.
const LOCAL_MAX_LINES_BEFORE: usize = 60;
/// Byte caps for the local window, against minified files with very long lines.
const LOCAL_MAX_BEFORE_BYTES: usize = 2_400;
const LOCAL_MAX_AFTER_BYTES: usize = 800;

/// `byte` clamped to the rope and moved back to the start of its character.
pub(super) fn floor_char(rope: &Rope, byte: usize) -> usize {
    let byte = byte.min(rope.len_bytes());
    rope.char_to_byte(rope.byte_to_char(byte))
}

/// `byte` clamped to the rope and moved forward to the next character start.
pub(super) fn ceil_char(rope: &Rope, byte: usize) -> usize {
    let byte = byte.min(rope.len_bytes());
    let char_idx = rope.byte_to_char(byte);
    let floor = rope.char_to_byte(char_idx);
    if floor < byte {
        rope.char_to_byte(char_idx + 1)
    } else {
        floor
    }
}

/// The start of the line holding `byte`.
pub(super) fn line_start(rope: &Rope, byte: usize) -> usize {
    rope.line_to_byte(rope.byte_to_line(byte.min(rope.len_bytes())))
}

/// The end of the line holding `byte`, before its line break.
pub(super) fn line_end(rope: &Rope, byte: usize) -> usize {
    let line = rope.byte_to_line(byte.min(rope.len_bytes()));
    let start = rope.line_to_byte(line);
    let mut end = rope.line_to_byte(line + 1);
    if end > start && rope.byte(end - 1) == b'\n' {
        end -= 1;
    }
    if end > start && rope.byte(end - 1) == b'\r' {
        end -= 1;
    }
    end
}

/// The text of a char-aligned byte range; empty if it is not one.
pub(super) fn text(rope: &Rope, range: Range<usize>) -> String {
    rope.get_byte_slice(range)
        .map(|slice| slice.to_string())
        .unwrap_or_default()
}

/// Where text before `cursor` of at most `max_bytes` starts: at a line start when that keeps at
/// least half of the budget, else (one very long line) at a character boundary.
pub(super) fn prefix_start(rope: &Rope, cursor: usize, max_bytes: usize) -> usize {
    let Some(earliest) = cursor.checked_sub(max_bytes).filter(|&b| b > 0) else {
        return 0;
    };
    let line = rope.byte_to_line(earliest);
    if rope.line_to_byte(line) == earliest {
        return earliest;
    }
    let next_line = rope.line_to_byte(line + 1);
    if next_line <= cursor && cursor - next_line >= max_bytes / 2 {
        next_line
    } else {
        ceil_char(rope, earliest)
    }
}

/// Where text after `cursor` of at most `max_bytes` ends: after a line break when that keeps at
/// least half of the budget, else at a character boundary.
pub(super) fn suffix_end(rope: &Rope, cursor: usize, max_bytes: usize) -> usize {
    let len = rope.len_bytes();
    let latest = cursor.saturating_add(max_bytes);
    if latest >= len {
        return len;
    }
    let line_start = rope.line_to_byte(rope.byte_to_line(latest));
    if line_start >= cursor && line_start - cursor >= max_bytes / 2 {
        line_start
    } else {
        floor_char(rope, latest)
    }
}

/// The window of `before_bytes` + `after_bytes` around `cursor`. Budget the text after the
/// cursor does not use (the end of the file is near) goes to the text before it, and the other
/// way round.
pub(super) fn window(
    rope: &Rope,
    cursor: usize,
    before_bytes: usize,
    after_bytes: usize,
) -> Range<usize> {
    let end = suffix_end(rope, cursor, after_bytes);
    let spare_after = after_bytes.saturating_sub(end - cursor);
    let start = prefix_start(rope, cursor, before_bytes + spare_after);
    let spare_before = (before_bytes + spare_after).saturating_sub(cursor - start);
    let end = if spare_before > 0 && start == 0 {
        suffix_end(rope, cursor, after_bytes + spare_before)
    } else {
        end
    };
    start..end
}

/// A window start that stays put while the user types: `previous` (a line index) while its
/// start lies between `earliest` (the furthest back the budget allows) and the halfway point
/// from there to the cursor, else the line start at or before that halfway point. So the
/// window holds half to all of the budget, and typing moves its start once per half budget.
/// `earliest == 0` (the whole prefix fits) is steady by itself.
pub(super) fn steady_start(
    rope: &Rope,
    cursor: usize,
    earliest: usize,
    previous: Option<usize>,
) -> usize {
    if earliest == 0 {
        return 0;
    }
    let halfway = earliest + (cursor.saturating_sub(earliest)) / 2;
    let fits = |start: usize| (earliest..=halfway).contains(&start);
    if let Some(start) = previous
        .filter(|&line| line < rope.len_lines())
        .map(|line| rope.line_to_byte(line))
        .filter(|&start| fits(start))
    {
        return start;
    }
    // A line longer than half the budget has no start in range: the budget's own start.
    Some(line_start(rope, halfway))
        .filter(|&start| fits(start))
        .unwrap_or(earliest)
}

/// The chat query's local window: about 15 lines before the cursor (more when they are short)
/// and the rest of the cursor's line plus 5 after it.
pub(super) fn local_window(rope: &Rope, cursor: usize) -> Range<usize> {
    let line = rope.byte_to_line(cursor);
    let mut first = line.saturating_sub(LOCAL_LINES_BEFORE);
    while first > 0
        && line - first < LOCAL_MAX_LINES_BEFORE
        && cursor - rope.line_to_byte(first) < LOCAL_MIN_BEFORE_BYTES
    {
        first -= 1;
    }
    let start = rope
        .line_to_byte(first)
        .max(prefix_start(rope, cursor, LOCAL_MAX_BEFORE_BYTES));
    let last = (line + 1 + LOCAL_LINES_AFTER).min(rope.len_lines());
    let end = rope
        .line_to_byte(last)
        .min(suffix_end(rope, cursor, LOCAL_MAX_AFTER_BYTES));
    start..end.max(cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_prefer_lines_and_never_split_characters() {
        let rope = Rope::from_str("aaaa\nbé😀b|cd😀e\nffff\n");
        let cursor = "aaaa\nbé😀b".len();
        // A generous budget takes whole lines.
        assert_eq!(window(&rope, cursor, 100, 100), 0..rope.len_bytes());
        // 6 bytes back lands inside `é`: the cut moves to the next whole character.
        let start = prefix_start(&rope, cursor, 6);
        assert_eq!(text(&rope, start..cursor), "😀b");
        // Enough budget to reach the line start keeps the line whole.
        assert_eq!(prefix_start(&rope, cursor, 10), "aaaa\n".len());
        let end = suffix_end(&rope, cursor, 10);
        assert_eq!(text(&rope, cursor..end), "|cd😀e\n");
        assert_eq!(text(&rope, cursor..suffix_end(&rope, cursor, 4)), "|cd");
        assert_eq!(line_end(&Rope::from_str("ab\r\ncd"), 1), 2);
        assert_eq!(line_end(&Rope::from_str("ab\rcd"), 4), 5);
    }
}
