//! Chains (Tab, Tab, Tab): after the user accepts a next edit, the following one is looked for
//! at once, in the document as it is after the accept, at the end of the accepted edit (and at
//! the next places when that region holds nothing), so it is ready when the editor asks.
//!
//! An accept reaches the server as `spark.didAcceptNextEdit`, or only as text: a `didChange`
//! whose result is exactly the suggestion answered last applied to the text it was made for
//! (what Helix sends when a code action is applied, and any client that applies the edits
//! without the command). Whichever comes first starts the chain; the other joins it (a chain
//! joins any ask of its version).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use ropey::Rope;

use super::NextEditResult;
use super::jump::{Asker, JumpSettings};
use crate::documents::Snapshot;
use crate::edits::TextEdit;
use crate::engine::{Engine, RequestSettings};

/// The suggestion a document was answered last, until the next change shows whether the
/// editor applied it.
struct Answered {
    version: i32,
    /// The text with the suggestion applied.
    expected: Rope,
    /// The end of the last edit in `expected`: where the chain looks next.
    end: usize,
}

#[derive(Default)]
pub(in crate::engine) struct AnsweredEdits {
    docs: Mutex<HashMap<Arc<str>, Answered>>,
}

impl AnsweredEdits {
    fn docs(&self) -> MutexGuard<'_, HashMap<Arc<str>, Answered>> {
        self.docs.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(in crate::engine) fn forget(&self, uri: &str) {
        self.docs().remove(uri);
    }
}

/// `rope` with `edits` (sorted, non-overlapping, at its byte offsets) applied, and the end of
/// the last edit in the result; `None` when an edit does not fall on character boundaries.
fn applied(rope: &Rope, edits: &[TextEdit]) -> Option<(Rope, usize)> {
    let mut text = rope.clone();
    let mut end = 0;
    let mut shift: isize = 0;
    for edit in edits {
        end = edit.start_byte.checked_add_signed(shift)? + edit.new_text.len();
        shift += edit.new_text.len() as isize - (edit.end_byte - edit.start_byte) as isize;
    }
    for edit in edits.iter().rev() {
        let (start, stop) = (edit.start_byte, edit.end_byte);
        if stop > rope.len_bytes() || start > stop {
            return None;
        }
        let start_char = rope.byte_to_char(start);
        let end_char = rope.byte_to_char(stop);
        if rope.char_to_byte(start_char) != start || rope.char_to_byte(end_char) != stop {
            return None;
        }
        text.remove(start_char..end_char);
        text.insert(start_char, &edit.new_text);
    }
    Some((text, end))
}

impl Engine {
    /// Remembers that `edits` were handed to the client for `snapshot`, so the change that
    /// applies them is recognised as an accept.
    pub fn answered_next_edit(&self, snapshot: &Snapshot, edits: &[TextEdit]) {
        let Some((expected, end)) = applied(&snapshot.rope, edits) else {
            return;
        };
        let answered = Answered {
            version: snapshot.version,
            expected,
            end,
        };
        self.answered.docs().insert(snapshot.uri.clone(), answered);
    }

    /// Whether a suggestion answered for `version` of `uri` still waits for the change that
    /// would apply it (an accept command that arrives first leaves the chain to that change).
    pub fn awaits_next_edit_text(&self, uri: &str, version: i32) -> bool {
        self.answered
            .docs()
            .get(uri)
            .is_some_and(|answered| answered.version == version)
    }

    /// Whether a suggestion answered for `uri` waits for its change: cheap, for `didChange`.
    pub fn awaits_next_edit_change(&self, uri: &str) -> bool {
        self.answered.docs().contains_key(uri)
    }

    /// After a change of `snapshot`'s document: the place to chain from when the change
    /// applied exactly the suggestion answered last. The first change after a suggestion
    /// decides; a change that is not it forgets the suggestion.
    pub fn applied_next_edit(&self, snapshot: &Snapshot) -> Option<usize> {
        let mut docs = self.answered.docs();
        let answered = docs.get(&snapshot.uri)?;
        if snapshot.version <= answered.version {
            return None;
        }
        let answered = docs.remove(&snapshot.uri)?;
        let rope = &snapshot.rope;
        let exact = rope.len_bytes() == answered.expected.len_bytes() && *rope == answered.expected;
        exact.then_some(answered.end)
    }

    /// The chain after an accept: the next edit at `cursor` of `snapshot` (the document after
    /// the accept), else at the next places. Joins an ask of the same version already made.
    pub async fn chain_next_edit(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        settings: &RequestSettings,
        jumps: &JumpSettings,
    ) -> NextEditResult {
        self.answered.forget(&snapshot.uri);
        // The first call of the chain is the engine's next edit at the accept, where the rest
        // of a multi-hunk answer (kept in the document's next-edit entry) is served first.
        self.ask(snapshot, cursor, settings, jumps, Asker::Chain)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start_byte: usize, end_byte: usize, new_text: &str) -> TextEdit {
        TextEdit {
            start_byte,
            end_byte,
            new_text: new_text.into(),
        }
    }

    #[test]
    fn edits_apply_from_the_end_and_the_chain_starts_after_the_last() {
        let rope = Rope::from_str("let a = b;\nlet c = d;\n");
        let (text, end) =
            applied(&rope, &[edit(4, 5, "alpha"), edit(15, 16, "x")]).expect("applies");
        assert_eq!(text.to_string(), "let alpha = b;\nlet x = d;\n");
        assert_eq!(&text.to_string()[..end], "let alpha = b;\nlet x");
        // Inside a character, or past the end: not an edit of this text.
        let rope = Rope::from_str("é");
        assert!(applied(&rope, &[edit(1, 2, "e")]).is_none());
        assert!(applied(&rope, &[edit(0, 9, "e")]).is_none());
    }
}
