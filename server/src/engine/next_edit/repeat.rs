//! Places the user's last edit should repeat, found without a model: other uses of an
//! identifier they just renamed, and other calls of a function whose argument count they just
//! changed (at a call, or in its definition's parameters).
//!
//! The document's recent edits are first composed into changes (typing, deleting and retyping
//! one spot is one change), each mapped to where it is in the text now. A change inside one
//! identifier is a rename from the identifier it replaced; a change inside a call's arguments
//! or a definition's parameters that changes how many there are is a changed call pattern.
//! Occurrences are whole identifiers: tree-sitter identifier nodes when the document has a
//! tree (so strings and comments do not count), whole words of the text otherwise.

use ropey::Rope;
use tree_sitter::{Node, Tree};

use crate::documents::RecentEdit;

/// Edits with more text than this are not a rename or an argument; they also end the
/// composition (their text may have been cut when recorded, so positions past them are not
/// trusted).
const MAX_EDIT_BYTES: usize = 512;
/// How many of the latest changes are looked at.
const MAX_CHANGES: usize = 3;

/// Call nodes, and the field naming the called function, over the bundled grammars.
const CALLS: &[(&str, &str)] = &[
    ("call_expression", "function"),
    ("call", "function"),
    ("method_invocation", "name"),
    ("function_call", "name"),
];

/// Why a place was proposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Another use of a renamed identifier.
    Rename,
    /// Another call of a function whose argument count changed.
    CallPattern,
}

/// A place to look for the next edit: a byte of the text now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub byte: usize,
    pub reason: Reason,
}

/// One composed change, at its place in the text now: `old` became `rope[start..start + new.len()]`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Change {
    start: usize,
    old: String,
    new: String,
}

/// The places the latest changes of `edits` (oldest first, as recorded) should repeat at, in
/// `rope` (the text after them) and its `tree`, newest change first.
pub fn places(rope: &Rope, tree: Option<&Tree>, edits: &[RecentEdit]) -> Vec<Place> {
    let text = rope.to_string();
    let mut places = Vec::new();
    for change in changes(edits).iter().rev().take(MAX_CHANGES) {
        if text.get(change.start..change.start + change.new.len()) != Some(change.new.as_str()) {
            // The history and the text disagree (a whole-text change is not recorded).
            continue;
        }
        let found = renamed(&text, tree, change)
            .into_iter()
            .map(|byte| Place {
                byte,
                reason: Reason::Rename,
            })
            .chain(tree.into_iter().flat_map(|tree| {
                changed_calls(&text, tree, change)
                    .into_iter()
                    .map(|byte| Place {
                        byte,
                        reason: Reason::CallPattern,
                    })
            }));
        for place in found {
            if !places.iter().any(|p: &Place| p.byte == place.byte) {
                places.push(place);
            }
        }
    }
    places
}

/// `edits` composed into changes: an edit that touches an earlier change joins it (and makes
/// it the newest); others move the changes after them. Oldest first, in the text after all.
fn changes(edits: &[RecentEdit]) -> Vec<Change> {
    let mut changes: Vec<Change> = Vec::new();
    for edit in edits {
        if edit.old_text.len() > MAX_EDIT_BYTES || edit.new_text.len() > MAX_EDIT_BYTES {
            changes.clear();
            continue;
        }
        let (start, end) = (edit.start_byte, edit.start_byte + edit.old_text.len());
        let delta = edit.new_text.len() as isize - edit.old_text.len() as isize;
        let touching = changes
            .iter()
            .position(|c| start <= c.start + c.new.len() && end >= c.start);
        let joined = touching.and_then(|i| compose(&changes[i], edit).map(|c| (i, c)));
        if touching.is_some() && joined.is_none() {
            changes.clear();
            continue;
        }
        let mut kept = Vec::with_capacity(changes.len() + 1);
        for (i, change) in changes.into_iter().enumerate() {
            if Some(i) == touching {
                continue;
            }
            let mut change = change;
            if change.start >= end {
                change.start = change.start.wrapping_add_signed(delta);
            } else if change.start + change.new.len() > start {
                // Overlaps an edit it was not composed with: its text is gone.
                continue;
            }
            kept.push(change);
        }
        kept.push(match joined {
            Some((_, change)) => change,
            None => Change {
                start,
                old: edit.old_text.clone(),
                new: edit.new_text.clone(),
            },
        });
        changes = kept;
    }
    changes
}

/// `change` followed by `edit`, which touches its new text, as one change; `None` when the
/// recorded texts do not line up.
fn compose(change: &Change, edit: &RecentEdit) -> Option<Change> {
    let (change_end, edit_end) = (
        change.start + change.new.len(),
        edit.start_byte + edit.old_text.len(),
    );
    let start = edit.start_byte.min(change.start);
    // The union of both spans as the edit found it: what the edit replaced around the change's
    // new text, on either side.
    let before = if edit.start_byte < change.start {
        edit.old_text.get(..change.start - edit.start_byte)?
    } else {
        ""
    };
    let after = if edit_end > change_end {
        edit.old_text
            .get(change_end.checked_sub(edit.start_byte)?..)?
    } else {
        ""
    };
    let found = format!("{before}{}{after}", change.new);
    let at = edit.start_byte - start;
    if found.get(at..at + edit.old_text.len())? != edit.old_text {
        return None;
    }
    let new = format!(
        "{}{}{}",
        &found[..at],
        edit.new_text,
        &found[at + edit.old_text.len()..]
    );
    Some(Change {
        start,
        old: format!("{before}{}{after}", change.old),
        new,
    })
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn is_identifier(text: &str) -> bool {
    text.chars().next().is_some_and(|c| !c.is_numeric()) && text.chars().all(is_ident_char)
}

fn is_identifier_kind(kind: &str) -> bool {
    kind.ends_with("identifier") || kind == "name"
}

/// Where the identifier `old` (which `change` renamed) is still used: the starts of its
/// whole-identifier occurrences outside the change.
fn renamed(text: &str, tree: Option<&Tree>, change: &Change) -> Vec<usize> {
    if !(change.old.chars().all(is_ident_char) && change.new.chars().all(is_ident_char)) {
        return Vec::new();
    }
    let (start, end) = (change.start, change.start + change.new.len());
    let head = text[..start]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_ident_char(c))
        .last()
        .map_or(start, |(i, _)| i);
    let tail = text[end..]
        .char_indices()
        .find(|&(_, c)| !is_ident_char(c))
        .map_or(text.len(), |(i, _)| end + i);
    let old = format!("{}{}{}", &text[head..start], change.old, &text[end..tail]);
    let new = &text[head..tail];
    if !is_identifier(&old) || !is_identifier(new) || old == new {
        return Vec::new();
    }
    occurrences(text, tree, &old)
        .into_iter()
        .filter(|&at| at + old.len() <= head || at >= tail)
        .collect()
}

/// The starts of `name` as a whole identifier in `text`: identifier nodes of `tree` when given.
fn occurrences(text: &str, tree: Option<&Tree>, name: &str) -> Vec<usize> {
    text.match_indices(name)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(is_ident_char) && !after.is_some_and(is_ident_char)
        })
        .filter(|&at| {
            tree.is_none_or(|tree| {
                let node = tree
                    .root_node()
                    .descendant_for_byte_range(at, at + name.len());
                node.is_some_and(|node| {
                    is_identifier_kind(node.kind())
                        && node.start_byte() == at
                        && node.end_byte() == at + name.len()
                })
            })
        })
        .collect()
}

/// Other calls of the function whose argument count `change` changed, at a call or in the
/// function's definition: the calls that still pass the old count.
fn changed_calls(text: &str, tree: &Tree, change: &Change) -> Vec<usize> {
    let (start, end) = (change.start, change.start + change.new.len());
    let Some(mut node) = tree.root_node().descendant_for_byte_range(start, end) else {
        return Vec::new();
    };
    let (name, list, receivers) = loop {
        if let Some(found) = signature(text, node, start, end) {
            break found;
        }
        match node.parent() {
            Some(parent) => node = parent,
            None => return Vec::new(),
        }
    };
    // The list's count now from the tree; the edit's difference from its text (the old
    // list has no tree).
    let new_list = &text[list.start_byte()..list.end_byte()];
    let old_list = format!(
        "{}{}{}",
        &new_list[..start - list.start_byte()],
        change.old,
        &new_list[end - list.start_byte()..]
    );
    let added = count_items(new_list) as isize - count_items(&old_list) as isize;
    let old = list_len(list) as isize - added - receivers as isize;
    if added == 0 || old < 0 {
        return Vec::new();
    }
    let callee = &text[name.start_byte()..name.end_byte()];
    calls_of(text, tree, callee)
        .into_iter()
        .filter(|call| call.start_byte() != node.start_byte())
        .filter(|call| {
            call.child_by_field_name("arguments")
                .is_some_and(|args| list_len(args) as isize == old)
        })
        .map(|call| call.start_byte())
        .collect()
}

/// When `start..end` lies in `node`'s arguments (a call) or parameters (a definition): the
/// node naming the function, the list, and how many leading parameters a call does not pass
/// (`self`, `&self`, Python's `self` and `cls`).
fn signature<'t>(
    text: &str,
    node: Node<'t>,
    start: usize,
    end: usize,
) -> Option<(Node<'t>, Node<'t>, usize)> {
    let holds = |list: &Node<'_>| list.start_byte() < start && end < list.end_byte();
    if let Some(&(_, field)) = CALLS.iter().find(|(kind, _)| *kind == node.kind()) {
        let list = node.child_by_field_name("arguments").filter(holds)?;
        return Some((callee(node.child_by_field_name(field)?)?, list, 0));
    }
    let list = node.child_by_field_name("parameters").filter(holds)?;
    let name = node.child_by_field_name("name")?;
    let receiver = list.named_child(0).is_some_and(|first| {
        first.kind() == "self_parameter"
            || matches!(&text[first.start_byte()..first.end_byte()], "self" | "cls")
    });
    Some((name, list, usize::from(receiver)))
}

/// The items of an argument or parameter list node, comments not counted.
fn list_len(list: Node<'_>) -> usize {
    let mut cursor = list.walk();
    list.named_children(&mut cursor)
        .filter(|item| !item.kind().contains("comment"))
        .count()
}

/// The identifier a call's function expression ends with: `f` of `f`, `a::f`, `x.f`, `f::<T>`.
fn callee(mut node: Node<'_>) -> Option<Node<'_>> {
    loop {
        if is_identifier_kind(node.kind()) && node.named_child_count() == 0 {
            return Some(node);
        }
        node = ["function", "name", "field", "property", "attribute"]
            .iter()
            .find_map(|field| node.child_by_field_name(field))
            .or_else(|| {
                let last = node.named_child_count().checked_sub(1)?;
                node.named_child(u32::try_from(last).ok()?)
            })?;
    }
}

/// Every call node of `tree` whose callee is the identifier `name`.
fn calls_of<'t>(text: &str, tree: &'t Tree, name: &str) -> Vec<Node<'t>> {
    occurrences(text, Some(tree), name)
        .into_iter()
        .filter_map(|at| {
            let mut node = tree
                .root_node()
                .descendant_for_byte_range(at, at + name.len())?;
            while let Some(parent) = node.parent() {
                if let Some(&(_, field)) = CALLS.iter().find(|(kind, _)| *kind == parent.kind()) {
                    let function = parent.child_by_field_name(field)?;
                    return (callee(function)?.start_byte() == at).then_some(parent);
                }
                if parent.kind().contains("argument") {
                    return None;
                }
                node = parent;
            }
            None
        })
        .collect()
}

/// How many items a bracketed list such as `(a, f(b, c), "x,y")` holds by its text: its
/// top-level commas, a trailing one not counted. Type arguments (`<a, b>`) are not told apart
/// from comparisons, so only differences between two versions of one list are trusted.
fn count_items(list: &str) -> usize {
    let inner = list
        .trim()
        .strip_prefix(['(', '['])
        .and_then(|l| l.strip_suffix([')', ']']))
        .unwrap_or(list);
    let (mut depth, mut count, mut quote, mut escaped) = (0usize, 0usize, None, false);
    let mut pending = false;
    for c in inner.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => {
                quote = Some(c);
                pending = true;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                if pending {
                    count += 1;
                }
                pending = false;
            }
            c if !c.is_whitespace() => pending = true,
            _ => {}
        }
    }
    count + usize::from(pending)
}

#[cfg(test)]
#[path = "repeat_tests.rs"]
mod tests;
