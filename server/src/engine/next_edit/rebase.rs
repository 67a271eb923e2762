//! Suggestions as normalised edits, carried through the user's later edits.
//!
//! A suggestion is remembered as [`NormEdit`]s: each the smallest replacement (the old and new
//! text share no first or last character), so two answers that propose the same change compare
//! equal however the model's rewrite was cut into edits. [`rebase`] moves them through one
//! document change: a change elsewhere shifts them, a change that types part of a suggestion
//! leaves the rest of it, one that completes it applies it, and any other change to the text a
//! suggestion replaces breaks it (it no longer applies).

use ropey::Rope;

use crate::documents::ByteChange;
use crate::edits::TextEdit;

/// `old` at byte `start` becomes `new`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NormEdit {
    pub start: usize,
    pub old: String,
    pub new: String,
}

impl NormEdit {
    pub fn end(&self) -> usize {
        self.start + self.old.len()
    }
}

/// What one change did to a suggestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The change is elsewhere: the edits only moved.
    Unrelated,
    /// The change typed part of the suggestion; the rest is still to do.
    Progress,
    /// The change completed the suggestion: nothing is left to do.
    Applied,
    /// The change altered what the suggestion replaces some other way.
    Broken,
}

/// `edits` (sorted, non-overlapping, into `rope`'s text) as normalised edits: out-of-range
/// offsets clamped, offsets inside a character moved to its start, no-ops and overlaps dropped.
pub fn normalize(rope: &Rope, edits: &[TextEdit]) -> Vec<NormEdit> {
    let floor = |byte: usize| {
        let byte = byte.min(rope.len_bytes());
        rope.char_to_byte(rope.byte_to_char(byte))
    };
    let mut out: Vec<NormEdit> = Vec::new();
    for edit in edits {
        let start = floor(edit.start_byte);
        let end = floor(edit.end_byte).max(start);
        if out.last().is_some_and(|last| start < last.end()) {
            continue;
        }
        let old = rope.byte_slice(start..end).to_string();
        if let Some(edit) = trimmed(start, &old, &edit.new_text) {
            out.push(edit);
        }
    }
    out
}

/// `old` at `start` becoming `new`, without the characters both begin and end with; `None` for
/// a no-op.
fn trimmed(start: usize, old: &str, new: &str) -> Option<NormEdit> {
    if old == new {
        return None;
    }
    let prefix: usize = old
        .chars()
        .zip(new.chars())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    let (old_rest, new_rest) = (&old[prefix..], &new[prefix..]);
    let suffix: usize = old_rest
        .chars()
        .rev()
        .zip(new_rest.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(a, _)| a.len_utf8())
        .sum();
    Some(NormEdit {
        start: start + prefix,
        old: old_rest[..old_rest.len() - suffix].to_owned(),
        new: new_rest[..new_rest.len() - suffix].to_owned(),
    })
}

/// Whether `change` (`start..end` of the text before it) touches what `edit` replaces. An
/// insertion touches a change at its point; a change that only borders a replacement does not.
fn touches(edit: &NormEdit, start: usize, end: usize) -> bool {
    if edit.old.is_empty() {
        start <= edit.start && edit.start <= end
    } else if start == end {
        edit.start < start && start < edit.end()
    } else {
        start < edit.end() && edit.start < end
    }
}

/// Carries `edits` through `change`. On [`Step::Broken`] the edits are left as they were.
pub fn rebase(edits: &mut Vec<NormEdit>, change: &ByteChange) -> Step {
    let (start, end) = (change.start_byte, change.end_byte.max(change.start_byte));
    let touched: Vec<usize> = (0..edits.len())
        .filter(|&i| touches(&edits[i], start, end))
        .collect();
    let (Some(&first), Some(&last)) = (touched.first(), touched.last()) else {
        shift_after(edits, change, start, end);
        return Step::Unrelated;
    };
    if first == last && start >= edits[first].start && end <= edits[first].end() {
        let Some(rest) = typed_into(&edits[first], change, start, end) else {
            return Step::Broken;
        };
        let mut after = edits.split_off(first + 1);
        edits.pop();
        edits.extend(rest);
        shift_after(&mut after, change, start, end);
        edits.extend(after);
    } else if start <= edits[first].start && end >= edits[last].end() {
        if !covers_exactly(&edits[first..=last], change, start) {
            return Step::Broken;
        }
        let mut after = edits.split_off(last + 1);
        edits.truncate(first);
        shift_after(&mut after, change, start, end);
        edits.extend(after);
    } else {
        return Step::Broken;
    }
    if edits.is_empty() {
        Step::Applied
    } else {
        Step::Progress
    }
}

/// Moves the edits at or after the end of `change` (`start..end`) by its length difference;
/// untouched edits are all either before its start or after its end.
fn shift_after(edits: &mut [NormEdit], change: &ByteChange, start: usize, end: usize) {
    for edit in edits.iter_mut().filter(|edit| edit.start >= end) {
        edit.start = edit.start - (end - start) + change.new_text.len();
    }
}

/// What is left of `edit` after `change` (inside its old text) typed into it: `Some(None)` when
/// nothing is, `None` when the change does not lead towards the edit's new text. The text is
/// then some of the new text followed by the end of the old text (typing it in, deleting the old
/// text first or after).
fn typed_into(
    edit: &NormEdit,
    change: &ByteChange,
    start: usize,
    end: usize,
) -> Option<Option<NormEdit>> {
    let before = edit.old.get(..start - edit.start)?;
    let after = edit.old.get(end - edit.start..)?;
    let now = format!("{before}{}{after}", change.new_text);
    let typed = (0..=now.len().min(edit.new.len()))
        .rev()
        .filter(|&i| now.is_char_boundary(i) && edit.new.is_char_boundary(i))
        .find(|&i| now[..i] == edit.new[..i] && edit.old.ends_with(&now[i..]))?;
    let rest = NormEdit {
        start: edit.start + typed,
        old: now[typed..].to_owned(),
        new: edit.new[typed..].to_owned(),
    };
    Some((rest.old != rest.new).then_some(rest))
}

/// Whether `change`, spanning all of `edits`, wrote exactly the text they make.
fn covers_exactly(edits: &[NormEdit], change: &ByteChange, start: usize) -> bool {
    let old = &change.old_text;
    let mut expected = String::with_capacity(change.new_text.len());
    let mut at = 0;
    for edit in edits {
        let (from, to) = (edit.start - start, edit.end() - start);
        match (old.get(at..from), old.get(from..to)) {
            (Some(between), Some(replaced)) if replaced == edit.old => {
                expected.push_str(between);
                expected.push_str(&edit.new);
            }
            _ => return false,
        }
        at = to;
    }
    match old.get(at..) {
        Some(rest) => expected.push_str(rest),
        None => return false,
    }
    expected == change.new_text
}

#[cfg(test)]
#[path = "rebase_tests.rs"]
mod tests;
