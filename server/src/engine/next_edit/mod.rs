//! Next-edit suggestions: the edit the user is likely to make next, anywhere in a few lines
//! around the cursor. The model rewrites the editable region ([`refactor::next_edit_region`]) by
//! [`Task::NextEdit`], and the rewrite becomes minimal edits.
//!
//! One suggestion per document version is kept: asking again at the same version (the code
//! action after `spark/nextEdit`, an inline request after an accept) waits for the call in
//! flight or takes its result instead of calling the model again.

mod chain;
pub(super) mod jump;
mod locate;
mod repeat;

pub(super) use chain::AnsweredEdits;
pub use jump::{DiagnosticMark, JumpSettings, editable_region, is_jump, places as jump_places};
pub use locate::LOCATION_INSTRUCTIONS;

use std::ops::Range;

use tokio::sync::watch;

use super::refactor::{self, Task};
use super::{Engine, RequestSettings};
use crate::documents::Snapshot;
use crate::edits::TextEdit;
use crate::providers::ProviderError;

/// What a next-edit call gave: the edits at the version's byte offsets, or none.
pub type NextEditResult = Result<Option<Vec<TextEdit>>, ProviderError>;

/// A document's latest next-edit call.
pub(super) struct Entry {
    version: i32,
    region: Range<usize>,
    /// `None` while the call runs.
    result: watch::Receiver<Option<NextEditResult>>,
}

impl Entry {
    /// Finished, or still running (its request was not dropped mid-call).
    fn is_usable(&self) -> bool {
        self.result.borrow().is_some() || self.result.has_changed().is_ok()
    }
}

impl Engine {
    /// The next edit around `cursor_byte` of `snapshot`: `Ok(None)` when the model proposes
    /// none (or there is no provider, or the document is secret or inactive).
    pub async fn next_edit(
        &self,
        snapshot: &Snapshot,
        cursor_byte: usize,
        settings: &RequestSettings,
    ) -> NextEditResult {
        let region = refactor::next_edit_region(&snapshot.rope, cursor_byte);
        let pending = {
            let mut entries = self.next_edits.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(&snapshot.uri) {
                Some(entry)
                    if entry.version == snapshot.version
                        && (entry.region.start..=entry.region.end).contains(&cursor_byte)
                        && entry.is_usable() =>
                {
                    Err(entry.result.clone())
                }
                _ => {
                    let (tx, result) = watch::channel(None);
                    let entry = Entry {
                        version: snapshot.version,
                        region: region.clone(),
                        result,
                    };
                    entries.insert(snapshot.uri.clone(), entry);
                    Ok(tx)
                }
            }
        };
        let tx = match pending {
            Ok(tx) => tx,
            Err(mut result) => {
                self.stats.hit();
                return match result.wait_for(Option::is_some).await {
                    Ok(result) => result.clone().unwrap_or(Ok(None)),
                    // The call's request was dropped before it ended.
                    Err(_) => Ok(None),
                };
            }
        };
        let task = Task::NextEdit { cursor_byte };
        let result = self.refactor(snapshot, region, &task, settings).await;
        let result = result.map(|edits| edits.filter(|edits| !edits.is_empty()));
        tx.send_replace(Some(result.clone()));
        result
    }

    /// The finished next-edit suggestion for `snapshot`'s version, if one was made: never waits
    /// and never calls the model.
    pub fn ready_next_edit(&self, snapshot: &Snapshot) -> Option<Vec<TextEdit>> {
        let entries = self.next_edits.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries
            .get(&snapshot.uri)
            .filter(|entry| entry.version == snapshot.version)?;
        let result = entry.result.borrow();
        result.as_ref()?.as_ref().ok()?.clone()
    }
}

/// Whether `edits` touch the line holding `cursor_byte` (in `rope`'s text): a next edit an
/// inline completion item can show there.
pub fn touches_line(rope: &ropey::Rope, edits: &[TextEdit], cursor_byte: usize) -> bool {
    let line = rope.byte_to_line(cursor_byte.min(rope.len_bytes()));
    edits.iter().any(|edit| {
        let first = rope.byte_to_line(edit.start_byte.min(rope.len_bytes()));
        let last = rope.byte_to_line(edit.end_byte.min(rope.len_bytes()));
        first <= line && line <= last
    })
}

/// `edits` (sorted, non-overlapping, into `rope`'s text) as one replacement: the span from the
/// first edit's start to the last edit's end, and its new text.
pub fn as_one_edit(rope: &ropey::Rope, edits: &[TextEdit]) -> Option<TextEdit> {
    let (first, last) = (edits.first()?, edits.last()?);
    let mut new_text = String::new();
    let mut at = first.start_byte;
    for edit in edits {
        new_text.extend(rope.byte_slice(at..edit.start_byte).chunks());
        new_text.push_str(&edit.new_text);
        at = edit.end_byte;
    }
    Some(TextEdit {
        start_byte: first.start_byte,
        end_byte: last.end_byte,
        new_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ropey::Rope;

    fn edit(start_byte: usize, end_byte: usize, new_text: &str) -> TextEdit {
        TextEdit {
            start_byte,
            end_byte,
            new_text: new_text.into(),
        }
    }

    #[test]
    fn edits_merge_into_one_span_with_the_text_between() {
        let rope = Rope::from_str("let a = b + c;\n");
        let edits = [edit(4, 5, "x"), edit(8, 9, "y")];
        assert_eq!(as_one_edit(&rope, &edits), Some(edit(4, 9, "x = y")));
        assert_eq!(as_one_edit(&rope, &[]), None);
    }

    #[test]
    fn an_edit_touches_the_lines_it_spans() {
        let rope = Rope::from_str("a\nb\nc\n");
        let edits = [edit(2, 3, "B")];
        assert!(touches_line(&rope, &edits, 2));
        assert!(touches_line(&rope, &edits, 3));
        assert!(!touches_line(&rope, &edits, 0));
        assert!(!touches_line(&rope, &edits, 4));
    }

    #[test]
    fn the_region_is_lines_around_the_cursor() {
        let text: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let rope = Rope::from_str(&text);
        let cursor = rope.line_to_byte(10) + 2;
        let region = refactor::next_edit_region(&rope, cursor);
        assert_eq!(region.start, rope.line_to_byte(7));
        assert_eq!(region.end, rope.line_to_byte(19));
        // At the end of a file without a final line break, the region reaches the end.
        let rope = Rope::from_str("a\nb");
        assert_eq!(refactor::next_edit_region(&rope, 3), 0..3);
    }
}
