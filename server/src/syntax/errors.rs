//! Counting syntax errors in a byte range, e.g. to tell whether a suggested
//! edit made the code worse.

use std::ops::Range;

use tree_sitter::{Node, Tree};

/// The number of ERROR and MISSING nodes intersecting `byte_range`.
///
/// Subtrees without errors are skipped whole (`has_error` is stored on each
/// node), so the cost follows the number of errors, not the tree's size.
/// An empty range counts the errors touching that one offset.
pub fn error_count(tree: &Tree, byte_range: Range<usize>) -> usize {
    let mut count = 0;
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        let relevant = node.has_error() && intersects(node, &byte_range);
        if relevant && (node.is_error() || node.is_missing()) {
            count += 1;
        }
        // Descend only into relevant subtrees; otherwise move on to the next
        // sibling, climbing up as long as there is none.
        if relevant && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return count;
            }
        }
    }
}

/// Half-open overlap, except that an empty node or range only has to touch
/// the other: a MISSING `}` is zero-width, and so is a cursor.
fn intersects(node: Node<'_>, byte_range: &Range<usize>) -> bool {
    let (start, end) = (node.start_byte(), node.end_byte());
    if start == end || byte_range.is_empty() {
        start <= byte_range.end && byte_range.start <= end
    } else {
        start < byte_range.end && byte_range.start < end
    }
}
