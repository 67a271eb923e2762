//! Incremental parsing of a rope, and the tree-sitter edit for a text change.
//!
//! The rope is fed to tree-sitter chunk by chunk, so a parse never copies the
//! document into a `String`. Parsers are cached per thread and language
//! because creating one allocates its stacks and lexer afresh.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use ropey::Rope;
use tree_sitter::{InputEdit, ParseOptions, ParseState, Parser, Point, Tree};

use super::Language;

thread_local! {
    static PARSERS: RefCell<HashMap<Language, Parser>> = RefCell::new(HashMap::new());
}

/// Parses `rope`, reusing `old` (already `.edit()`-ed to match `rope`) for
/// an incremental reparse. `None` only if tree-sitter gives up.
pub fn parse(language: Language, rope: &Rope, old: Option<&Tree>) -> Option<Tree> {
    let never_cancelled = AtomicBool::new(false);
    parse_with_cancel(language, rope, old, &never_cancelled)
}

/// Like [`parse`], but returns `None` soon after `cancel` is set (tree-sitter
/// polls its progress callback every hundred or so parse operations), or
/// at once if it is already set.
pub fn parse_with_cancel(
    language: Language,
    rope: &Rope,
    old: Option<&Tree>,
    cancel: &AtomicBool,
) -> Option<Tree> {
    if cancel.load(Ordering::Relaxed) {
        return None;
    }
    let mut parser = take_parser(language)?;
    let ts_language = language.ts_language();
    // tree-sitter returns no tree at all for an old tree of another grammar
    // (the document's language changed); a fresh parse is the right answer.
    let old = old.filter(|tree| *tree.language() == ts_language);

    let len_bytes = rope.len_bytes();
    let mut read = |byte: usize, _point: Point| -> &[u8] {
        if byte >= len_bytes {
            return &[];
        }
        // O(log n) per call: tree-sitter asks again where the chunk ends, so
        // returning the rest of one chunk is enough.
        let (chunk, chunk_start_byte, _, _) = rope.chunk_at_byte(byte);
        chunk
            .as_bytes()
            .get(byte - chunk_start_byte..)
            .unwrap_or_default()
    };
    let mut progress = |_: &ParseState| {
        if cancel.load(Ordering::Relaxed) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let options = ParseOptions::new().progress_callback(&mut progress);
    let tree = parser.parse_with_options(&mut read, old, Some(options));
    if tree.is_none() {
        // A stopped parse is kept for resumption by the next call, which
        // would then continue over a different text: start afresh instead.
        parser.reset();
    }
    put_parser(language, parser);
    tree
}

/// Takes this thread's parser for `language` out of the cache (or makes
/// one). Taking it out, rather than borrowing the cache during the parse,
/// keeps a nested call from ever hitting a `RefCell` borrow panic.
fn take_parser(language: Language) -> Option<Parser> {
    let cached = PARSERS.with(|parsers| parsers.borrow_mut().remove(&language));
    if cached.is_some() {
        return cached;
    }
    let mut parser = Parser::new();
    // Fails only if the grammar's ABI is not supported by this tree-sitter.
    parser.set_language(&language.ts_language()).ok()?;
    Some(parser)
}

fn put_parser(language: Language, parser: Parser) {
    PARSERS.with(|parsers| parsers.borrow_mut().insert(language, parser));
}

/// The edit replacing `old_rope[start_byte..old_end_byte]` with `new_text`,
/// computed from the rope before the edit is applied. Offsets beyond the
/// rope are clamped and a reversed range is treated as empty.
///
/// Points use the rope's lines: `row` is ropey's line index (line breaks are
/// `\n`, `\r\n` and a lone `\r`, as in LSP) and `column` counts bytes from
/// that line's start. tree-sitter's own rows count only `\n`, so for text
/// with a lone `\r` the points differ from a fresh parse's. That only
/// affects the positions tree-sitter reports: node reuse and every byte
/// range depend on the byte offsets alone, which are exact.
pub fn input_edit(
    old_rope: &Rope,
    start_byte: usize,
    old_end_byte: usize,
    new_text: &str,
) -> InputEdit {
    let len_bytes = old_rope.len_bytes();
    let start_byte = start_byte.min(len_bytes);
    let old_end_byte = old_end_byte.clamp(start_byte, len_bytes);
    let new_end_byte = start_byte + new_text.len();
    InputEdit {
        start_byte,
        old_end_byte,
        new_end_byte,
        start_position: point_at(old_rope, start_byte),
        old_end_position: point_at(old_rope, old_end_byte),
        new_end_position: new_end_point(old_rope, start_byte, old_end_byte, new_text),
    }
}

/// The point of `byte` in `rope`; `byte` must be at most its length.
fn point_at(rope: &Rope, byte: usize) -> Point {
    let row = rope
        .try_byte_to_line(byte)
        .unwrap_or_else(|_| rope.len_lines() - 1);
    let line_start_byte = rope.try_line_to_byte(row).unwrap_or(0);
    Point::new(row, byte.saturating_sub(line_start_byte))
}

/// The point, in the edited rope, of the end of the inserted text, derived
/// without building the edited rope.
///
/// In ropey's rows a line break "ends" after byte `q - 1` when that byte is
/// `\n`, or is `\r` not followed by `\n`. Only the byte before the edit,
/// the inserted text and the byte after the edit can change which breaks
/// end at or before the new end, so those are all that is looked at.
fn new_end_point(old_rope: &Rope, start_byte: usize, old_end_byte: usize, new_text: &str) -> Point {
    let byte_before = start_byte.checked_sub(1).and_then(|b| old_rope.get_byte(b));
    let byte_after = old_rope.get_byte(old_end_byte);
    let old_first = if old_end_byte > start_byte {
        old_rope.get_byte(start_byte)
    } else {
        byte_after
    };
    let new_text = new_text.as_bytes();
    let new_first = new_text.first().copied().or(byte_after);

    // Re-decide the break that may end exactly at `start_byte`: the byte
    // after a `\r` at the edit's start may have changed.
    let old_break_at_start = byte_before.is_some_and(|b| ends_break(b, old_first));
    let new_break_at_start = byte_before.is_some_and(|b| ends_break(b, new_first));
    let old_start_row = point_at(old_rope, start_byte).row;
    let mut row = old_start_row + usize::from(new_break_at_start) - usize::from(old_break_at_start);
    let mut line_start_byte = if new_break_at_start {
        start_byte
    } else {
        old_rope.try_line_to_byte(row).unwrap_or(0)
    };

    for (index, &byte) in new_text.iter().enumerate() {
        let next = new_text.get(index + 1).copied().or(byte_after);
        if ends_break(byte, next) {
            row += 1;
            line_start_byte = start_byte + index + 1;
        }
    }
    Point::new(row, start_byte + new_text.len() - line_start_byte)
}

/// Whether a line break ends right after `byte`, given the byte after it.
fn ends_break(byte: u8, next: Option<u8>) -> bool {
    byte == b'\n' || (byte == b'\r' && next != Some(b'\n'))
}
