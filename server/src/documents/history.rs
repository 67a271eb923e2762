//! The recent edits of one document: what the user just did, for prompts and next-edit
//! suggestions. Typing and backspacing through one spot coalesce into one edit, so the history
//! reads like the user's intent rather than a list of keystrokes.

use std::collections::VecDeque;

use ropey::Rope;

/// How many edits a document remembers.
const MAX_EDITS: usize = 16;
/// How much removed or inserted text one edit keeps, in bytes; longer text is cut.
const MAX_TEXT_BYTES: usize = 2_048;

/// One edit: `old_text` at `start_byte` (in the text before it) became `new_text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentEdit {
    /// The document version after the edit.
    pub version: i32,
    pub start_byte: usize,
    pub old_text: String,
    pub new_text: String,
}

#[derive(Debug, Default)]
pub(super) struct History {
    edits: VecDeque<RecentEdit>,
}

impl History {
    /// Records replacing `rope[start_byte..end_byte]` (the rope before the edit) with `new_text`.
    pub(super) fn record(
        &mut self,
        version: i32,
        rope: &Rope,
        start_byte: usize,
        end_byte: usize,
        new_text: &str,
    ) {
        if self.coalesce(version, rope, start_byte, end_byte, new_text) {
            return;
        }
        let old_text = cut(rope, start_byte, end_byte);
        if self.edits.len() == MAX_EDITS {
            self.edits.pop_front();
        }
        self.edits.push_back(RecentEdit {
            version,
            start_byte,
            old_text,
            new_text: truncate(new_text).to_owned(),
        });
    }

    /// Extends the last edit when this one continues it: typing right after its inserted text,
    /// or deleting the end of its inserted text.
    fn coalesce(
        &mut self,
        version: i32,
        rope: &Rope,
        start_byte: usize,
        end_byte: usize,
        new_text: &str,
    ) -> bool {
        let Some(last) = self.edits.back_mut() else {
            return false;
        };
        let last_end = last.start_byte + last.new_text.len();
        let typing = start_byte == end_byte && start_byte == last_end && !new_text.contains('\n');
        if typing && last.new_text.len() + new_text.len() <= MAX_TEXT_BYTES {
            last.new_text.push_str(new_text);
            last.version = version;
            return true;
        }
        let backspace =
            new_text.is_empty() && end_byte == last_end && start_byte >= last.start_byte;
        if backspace {
            let keep = start_byte - last.start_byte;
            if last.new_text.is_char_boundary(keep)
                && rope.byte_slice(start_byte..end_byte) == last.new_text[keep..]
            {
                last.new_text.truncate(keep);
                last.version = version;
                return true;
            }
        }
        false
    }

    pub(super) fn edits(&self) -> Vec<RecentEdit> {
        self.edits.iter().cloned().collect()
    }
}

fn cut(rope: &Rope, start_byte: usize, end_byte: usize) -> String {
    let end_byte = end_byte
        .min(start_byte.saturating_add(MAX_TEXT_BYTES))
        .min(rope.len_bytes());
    let start_char = rope.byte_to_char(start_byte.min(end_byte));
    let end_char = rope.byte_to_char(end_byte);
    rope.slice(start_char..end_char).to_string()
}

fn truncate(text: &str) -> &str {
    if text.len() <= MAX_TEXT_BYTES {
        return text;
    }
    let mut end = MAX_TEXT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies (start, end, text) edits to `text`, recording them, and returns the history.
    fn history_of(text: &str, edits: &[(usize, usize, &str)]) -> Vec<(usize, String, String)> {
        let mut rope = Rope::from_str(text);
        let mut history = History::default();
        for (version, &(start, end, new_text)) in (2..).zip(edits) {
            history.record(version, &rope, start, end, new_text);
            let start_char = rope.byte_to_char(start);
            rope.remove(start_char..rope.byte_to_char(end));
            rope.insert(start_char, new_text);
        }
        history
            .edits()
            .into_iter()
            .map(|e| (e.start_byte, e.old_text, e.new_text))
            .collect()
    }

    #[test]
    fn typing_and_backspacing_coalesce_into_one_edit() {
        let edits = [
            (4, 4, "l"),
            (5, 5, "e"),
            (6, 6, "tt"),
            (7, 8, ""),
            (7, 7, "é"),
        ];
        assert_eq!(
            history_of("fn f", &edits),
            [(4, String::new(), "leté".to_owned())]
        );
    }

    #[test]
    fn separate_places_and_replacements_are_separate_edits() {
        let edits = [(0, 2, "def"), (10, 10, "x"), (3, 3, "\n")];
        let history = history_of("fn main() {}", &edits);
        let expected = [(0, "fn", "def"), (10, "", "x"), (3, "", "\n")]
            .map(|(s, o, n)| (s, o.to_owned(), n.to_owned()));
        assert_eq!(history, expected);
    }

    #[test]
    fn history_is_bounded() {
        let edits: Vec<_> = (0..40).map(|i| (i % 5, i % 5, "\n")).collect();
        assert_eq!(history_of("abcdef", &edits).len(), MAX_EDITS);
        let big = "x".repeat(10_000);
        let history = history_of(&big, &[(0, 10_000, "")]);
        assert_eq!(history[0].1.len(), MAX_TEXT_BYTES);
    }
}
