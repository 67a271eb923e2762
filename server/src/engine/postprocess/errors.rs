//! Whether inserting a suggestion makes the code around the cursor less parseable.
//!
//! The document is spliced in a copy of the rope (ropey clones share nodes, so the copy and the
//! insert are O(log n)) and reparsed incrementally from the old tree edited by one `InputEdit`:
//! tree-sitter re-lexes only around the insertion. The syntax errors are then counted in the
//! top-level item around the cursor (or a window of lines), before and after; errors elsewhere
//! in the file, which the user has and the suggestion did not cause, do not count.
//!
//! The cost is bounded: a broken suggestion makes tree-sitter's error recovery reparse far more
//! than the insertion (73 ms on a 9,000-line file), so in a document larger than
//! [`WHOLE_DOCUMENT_BYTES`] only the lines around the cursor are parsed, on their own, before
//! and after the insertion: the top-level items around it in the document's latest tree (which
//! needs no reparse: only positions matter here), at most [`MAX_WINDOW_BYTES`] of lines. Items
//! of a few hundred bytes made the check ~10x cheaper than the fixed 4 KiB of lines, which cost
//! ~0.8 ms per parse on the engine benchmark's 9,000-line file.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::Tree;

use crate::syntax::{self, Language, ScopeKind};

/// Bytes either side of the cursor counted when no enclosing item is found.
const WINDOW_BYTES: usize = 4 * 1024;
/// Documents up to this size are checked with their tree.
const WHOLE_DOCUMENT_BYTES: usize = 16 * 1024;
/// The most text parsed on its own around the cursor in a larger document.
const MAX_WINDOW_BYTES: usize = 4 * 1024;

/// Whether inserting `suggestion` at `cursor_byte` raises the syntax-error count around it.
/// `old_tree` is the tree of `rope`, or the last parse's with the edits since described to it
/// (its root `has_changes()`); a small document is parsed here when there is no exact tree.
/// Offsets beyond the text are clamped; a failed parse counts as "does not raise", since the
/// check is a filter and must not drop suggestions on its own failure.
pub fn raises_errors(
    language: Language,
    old_tree: Option<&Tree>,
    rope: &Rope,
    cursor_byte: usize,
    suggestion: &str,
) -> bool {
    if rope.len_bytes() > WHOLE_DOCUMENT_BYTES {
        return raises_errors_in_window(language, old_tree, rope, cursor_byte, suggestion);
    }
    let parsed;
    // Error counts need the tree of exactly this text, not an edited one awaiting its reparse.
    let old_tree = match old_tree.filter(|tree| !tree.root_node().has_changes()) {
        Some(tree) => tree,
        None => {
            let Some(tree) = syntax::parse(language, rope, None) else {
                return false;
            };
            parsed = tree;
            &parsed
        }
    };
    let cursor_char = rope.byte_to_char(cursor_byte.min(rope.len_bytes()));
    let cursor_byte = rope.char_to_byte(cursor_char);
    let mut new_rope = rope.clone();
    new_rope.insert(cursor_char, suggestion);
    let mut edited = old_tree.clone();
    edited.edit(&syntax::input_edit(
        rope,
        cursor_byte,
        cursor_byte,
        suggestion,
    ));
    let Some(new_tree) = syntax::parse(language, &new_rope, Some(&edited)) else {
        return false;
    };
    let before = affected_range(old_tree, language, rope, cursor_byte);
    let after = before.start..before.end + suggestion.len();
    syntax::error_count(&new_tree, after) > syntax::error_count(old_tree, before)
}

/// [`raises_errors`] for a large document: the whole lines of [`check_window`] parsed on their
/// own, before and after the insertion. Cutting the text may add errors at its edges, the same
/// on both sides.
fn raises_errors_in_window(
    language: Language,
    tree: Option<&Tree>,
    rope: &Rope,
    cursor_byte: usize,
    suggestion: &str,
) -> bool {
    let cursor_byte = rope.char_to_byte(rope.byte_to_char(cursor_byte.min(rope.len_bytes())));
    let Range { start, end } = check_window(tree, rope, cursor_byte);
    let start = rope.line_to_byte(rope.byte_to_line(start));
    let end = rope.line_to_byte((rope.byte_to_line(end) + 1).min(rope.len_lines()));
    let old = Rope::from(rope.byte_slice(start..end));
    let at = cursor_byte - start;
    let mut new = old.clone();
    new.insert(old.byte_to_char(at), suggestion);
    let Some(old_tree) = syntax::parse(language, &old, None) else {
        return false;
    };
    // The insertion reparsed incrementally: tree-sitter re-lexes only around it.
    let mut edited = old_tree.clone();
    edited.edit(&syntax::input_edit(&old, at, at, suggestion));
    let Some(new_tree) = syntax::parse(language, &new, Some(&edited)) else {
        return false;
    };
    syntax::error_count(&new_tree, 0..new.len_bytes())
        > syntax::error_count(&old_tree, 0..old.len_bytes())
}

/// The bytes a large document's check parses: the top-level item holding the cursor, or the
/// items either side of it when it lies between two, within [`MAX_WINDOW_BYTES`] around it
/// (all of that without a tree). `tree` may be the last parse's with edits described to it:
/// any window makes a fair before/after comparison, the tree only makes it small.
pub(super) fn check_window(tree: Option<&Tree>, rope: &Rope, cursor_byte: usize) -> Range<usize> {
    let half = MAX_WINDOW_BYTES / 2;
    let lines = cursor_byte.saturating_sub(half)..(cursor_byte + half).min(rope.len_bytes());
    let Some(items) = tree.and_then(|tree| items_around(tree, cursor_byte)) else {
        return lines;
    };
    items.start.max(lines.start)..items.end.min(lines.end).max(cursor_byte)
}

/// The top-level item holding `byte`, or from the one before it to the one after it.
fn items_around(tree: &Tree, byte: usize) -> Option<Range<usize>> {
    let root = tree.root_node();
    let mut walk = root.walk();
    // The first item ending after `byte`; none when `byte` is past the last one.
    let Some(index) = walk.goto_first_child_for_byte(byte) else {
        let last = root.child(root.child_count().checked_sub(1)?)?;
        return Some(last.start_byte()..root.end_byte().max(byte));
    };
    let next = walk.node();
    if next.start_byte() < byte {
        return Some(next.start_byte()..next.end_byte());
    }
    let start = if index > 0 && walk.goto_previous_sibling() {
        walk.node().start_byte()
    } else {
        root.start_byte().min(byte)
    };
    Some(start..next.end_byte())
}

/// The outermost function or class around the cursor, stretched to the window around it:
/// a broken suggestion may show up as an ERROR just past the item it was typed in.
fn affected_range(
    tree: &Tree,
    language: Language,
    rope: &Rope,
    cursor_byte: usize,
) -> Range<usize> {
    let window = cursor_byte.saturating_sub(WINDOW_BYTES)
        ..(cursor_byte + WINDOW_BYTES).min(rope.len_bytes());
    let outermost = syntax::enclosing_scopes(tree, language, rope, cursor_byte)
        .into_iter()
        .last()
        .or_else(|| syntax::enclosing_scope(tree, language, rope, cursor_byte, ScopeKind::Block));
    match outermost {
        Some(scope) => {
            scope.byte_range.start.min(window.start)..scope.byte_range.end.max(window.end)
        }
        None => window,
    }
}
