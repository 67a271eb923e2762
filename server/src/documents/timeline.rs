//! The user's edits across all documents, in the order they were made, each on its whole lines:
//! what next-edit prompts show as the edit history (a rename in one file, its uses in another).
//!
//! Each entry is a hunk: the lines one place held before (`old`) and holds now (`new`). An edit
//! next to or inside the newest entry's lines in the same document grows that entry rather than
//! adding one, so typing a line, fixing it and indenting it reads as one change. The newest
//! entry's `new` lines are always the document's current text at its `line` (every edit passes
//! through here), which is what makes that merge exact; an entry that cannot be kept exact (a
//! whole-text replacement, a hunk too large to copy on every keystroke) is sealed and never
//! grows again.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use ropey::Rope;

/// Entries kept over all documents.
const MAX_ENTRIES: usize = 32;
/// A hunk with more text than this on either side is sealed: copying it on every keystroke
/// would cost more than the prompt can show of it.
const MAX_HUNK_BYTES: usize = 4_096;
/// Lines longer than this together are never copied whole (a minified file's one line).
const MAX_SPAN_BYTES: usize = 4 * MAX_HUNK_BYTES;

/// One place's change: `old` lines became `new` lines, starting at 0-based `line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineEdit {
    pub uri: Arc<str>,
    /// When the entry last grew.
    pub at: Instant,
    pub line: usize,
    /// Whole lines with their line breaks (the document's last line may have none).
    pub old: String,
    pub new: String,
    sealed: bool,
}

impl LineEdit {
    /// The lines `new` spans in the document as it is now (while this is the newest entry).
    fn new_lines(&self) -> Range<usize> {
        self.line..self.line + line_count(&self.new)
    }
}

#[derive(Debug, Default)]
pub(super) struct Timeline {
    entries: VecDeque<LineEdit>,
}

impl Timeline {
    /// Records replacing `rope[start_byte..end_byte]` (the rope before the edit) in `uri` with
    /// `new_text`.
    pub(super) fn record(
        &mut self,
        uri: &Arc<str>,
        rope: &Rope,
        start_byte: usize,
        end_byte: usize,
        new_text: &str,
    ) {
        let first = rope.byte_to_line(start_byte);
        let last = rope.byte_to_line(end_byte);
        let now = Instant::now();
        let merge = self.entries.back().filter(|entry| {
            let span = entry.new_lines();
            !entry.sealed && entry.uri == *uri && first <= span.end && span.start <= last + 1
        });
        // The lines of this hunk: the edit's, and the newest entry's when it grows.
        let (line, to) = match merge {
            Some(entry) => {
                let span = entry.new_lines();
                (first.min(span.start), last.max(span.end.saturating_sub(1)))
            }
            None => (first, last),
        };
        let (from_byte, to_byte) = (rope.line_to_byte(line), line_end(rope, to));
        if to_byte - from_byte > MAX_SPAN_BYTES {
            // A minified line or a huge paste: not worth copying on every keystroke. Its
            // beginning is kept, sealed.
            let old = clip(rope, from_byte, to_byte);
            let new = format!("{}{}", clip(rope, from_byte, start_byte), cut(new_text));
            if merge.is_some() {
                self.entries.pop_back();
            }
            self.push(uri, now, line, old, new);
            return;
        }
        let old = match merge {
            // The entry's lines were `entry.old` before it began; the rest of the span has
            // not changed since.
            Some(entry) => {
                let span = entry.new_lines();
                let before = lines_text(rope, line..span.start.max(line));
                let after = lines_text(rope, span.end.min(to + 1)..to + 1);
                format!("{before}{}{after}", entry.old)
            }
            None => lines_text(rope, first..last + 1),
        };
        let head = rope.byte_slice(from_byte..start_byte);
        let tail = rope.byte_slice(end_byte..to_byte.max(end_byte));
        let mut new = String::with_capacity(head.len_bytes() + new_text.len() + tail.len_bytes());
        new.extend(head.chunks());
        new.push_str(new_text);
        new.extend(tail.chunks());
        if merge.is_some() {
            self.entries.pop_back();
        }
        if old == new {
            // Typed and taken back: nothing happened here.
            return;
        }
        self.push(uri, now, line, old, new);
    }

    fn push(&mut self, uri: &Arc<str>, at: Instant, line: usize, old: String, new: String) {
        if self.entries.len() == MAX_ENTRIES {
            self.entries.pop_front();
        }
        let sealed = old.len() >= MAX_HUNK_BYTES || new.len() >= MAX_HUNK_BYTES;
        let (old, new) = if sealed {
            (cut(&old), cut(&new))
        } else {
            (old, new)
        };
        self.entries.push_back(LineEdit {
            uri: uri.clone(),
            at,
            line,
            old,
            new,
            sealed,
        });
    }

    /// `uri`'s text was replaced or reopened: its newest entry no longer matches the text.
    pub(super) fn seal(&mut self, uri: &str) {
        if let Some(entry) = self.entries.back_mut().filter(|e| &*e.uri == uri) {
            entry.sealed = true;
        }
    }

    /// Every entry, oldest first.
    pub(super) fn entries(&self) -> Vec<LineEdit> {
        self.entries.iter().cloned().collect()
    }
}

/// The text of `lines` (0-based, end exclusive) with their line breaks.
fn lines_text(rope: &Rope, lines: Range<usize>) -> String {
    if lines.start >= lines.end {
        return String::new();
    }
    let start = rope.line_to_byte(lines.start.min(rope.len_lines()));
    rope.byte_slice(start..line_end(rope, lines.end - 1).max(start))
        .to_string()
}

/// The byte after `line`'s line break (or the end of the text).
fn line_end(rope: &Rope, line: usize) -> usize {
    rope.line_to_byte((line + 1).min(rope.len_lines()))
}

/// How many lines `text` holds: a last line without a break counts.
fn line_count(text: &str) -> usize {
    text.matches('\n').count() + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

/// `rope[start..end]`, at most [`MAX_HUNK_BYTES`] of it.
fn clip(rope: &Rope, start: usize, end: usize) -> String {
    let end = end.min(start + MAX_HUNK_BYTES);
    let (start, end) = (rope.byte_to_char(start), rope.byte_to_char(end));
    cut(&rope.slice(start..end).to_string())
}

fn cut(text: &str) -> String {
    let mut end = MAX_HUNK_BYTES.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `(uri index, start, end, text)` edits to the documents, recording them.
    fn timeline_of(texts: &[&str], edits: &[(usize, usize, usize, &str)]) -> Vec<LineEdit> {
        let uris: Vec<Arc<str>> = (0..texts.len())
            .map(|i| Arc::from(format!("file:///{i}.rs")))
            .collect();
        let mut ropes: Vec<Rope> = texts.iter().map(|t| Rope::from_str(t)).collect();
        let mut timeline = Timeline::default();
        for &(doc, start, end, text) in edits {
            let rope = &mut ropes[doc];
            timeline.record(&uris[doc], rope, start, end, text);
            let start_char = rope.byte_to_char(start);
            rope.remove(start_char..rope.byte_to_char(end));
            rope.insert(start_char, text);
        }
        timeline.entries()
    }

    fn hunks(entries: &[LineEdit]) -> Vec<(&str, usize, &str, &str)> {
        entries
            .iter()
            .map(|e| (&e.uri[8..], e.line, e.old.as_str(), e.new.as_str()))
            .collect()
    }

    #[test]
    fn typing_on_one_line_is_one_hunk_of_whole_lines() {
        let text = "fn a() {\n    x\n}\n";
        let edits = [(0, 14, 14, "y"), (0, 15, 15, "z"), (0, 16, 16, ";")];
        let entries = timeline_of(&[text], &edits);
        assert_eq!(hunks(&entries), [("0.rs", 1, "    x\n", "    xyz;\n")]);
    }

    #[test]
    fn adjacent_lines_merge_and_distant_places_and_files_do_not() {
        let text = "a\nb\nc\nd\ne\nf\n";
        // Line 1, then line 2 (adjacent: merged), then line 5 (apart), then another file.
        let edits = [
            (0, 2, 3, "B"),
            (0, 4, 5, "C"),
            (0, 10, 11, "F"),
            (1, 0, 0, "x"),
            (0, 10, 11, "G"),
        ];
        let entries = timeline_of(&[text, "q\n"], &edits);
        assert_eq!(
            hunks(&entries),
            [
                ("0.rs", 1, "b\nc\n", "B\nC\n"),
                ("0.rs", 5, "f\n", "F\n"),
                ("1.rs", 0, "q\n", "xq\n"),
                ("0.rs", 5, "F\n", "G\n"),
            ]
        );
    }

    #[test]
    fn a_new_line_typed_and_deleted_leaves_nothing() {
        let text = "a\nb\n";
        let edits = [(0, 1, 1, "\nnew"), (0, 1, 5, "")];
        assert_eq!(timeline_of(&[text], &edits), []);
    }

    #[test]
    fn lines_added_below_grow_the_hunk() {
        let text = "fn a() {\n}\n";
        let edits = [(0, 8, 8, "\n    one"), (0, 16, 16, "\n    two")];
        let entries = timeline_of(&[text], &edits);
        assert_eq!(
            hunks(&entries),
            [("0.rs", 0, "fn a() {\n", "fn a() {\n    one\n    two\n")]
        );
    }

    /// Replays `entries` on `text`: each replaces its `old` lines at `line` with `new`.
    fn replay(text: &str, entries: &[LineEdit]) -> Option<String> {
        let mut rope = Rope::from_str(text);
        for entry in entries {
            let start = rope.try_line_to_byte(entry.line).ok()?;
            let end = start + entry.old.len();
            if rope.get_byte_slice(start..end)? != entry.old.as_str() {
                return None;
            }
            let (start, end) = (rope.byte_to_char(start), rope.byte_to_char(end));
            rope.remove(start..end);
            rope.insert(start, &entry.new);
        }
        Some(rope.to_string())
    }

    proptest::proptest! {
        /// The hunks, replayed in order on the text as it was, give the text as it is: no edit
        /// lost, merged wrongly or placed on the wrong line.
        #[test]
        fn replaying_the_hunks_gives_the_current_text(
            edits in proptest::collection::vec((0usize..60, 0usize..4, "[ab\n]{0,3}"), 1..20)
        ) {
            let text = "one\ntwo\nthree\nfour\nfive\nsix\n";
            let mut rope = Rope::from_str(text);
            let uri: Arc<str> = Arc::from("file:///a.rs");
            let mut timeline = Timeline::default();
            for (at, len, new_text) in edits {
                let start = at.min(rope.len_bytes());
                let end = (start + len).min(rope.len_bytes());
                timeline.record(&uri, &rope, start, end, &new_text);
                let start_char = rope.byte_to_char(start);
                rope.remove(start_char..rope.byte_to_char(end));
                rope.insert(start_char, &new_text);
            }
            proptest::prop_assert_eq!(replay(text, &timeline.entries()), Some(rope.to_string()));
        }
    }

    #[test]
    fn the_timeline_is_bounded_and_large_hunks_are_sealed() {
        // Alternating documents: no edit continues the newest entry.
        let edits: Vec<_> = (0..40).map(|i| (i % 2, 0, 0, "x")).collect();
        let entries = timeline_of(&["a\n", "b\n"], &edits);
        assert_eq!(entries.len(), MAX_ENTRIES);
        let big = "y".repeat(10_000);
        let entries = timeline_of(&["a\n"], &[(0, 0, 0, &big), (0, 0, 0, "z")]);
        assert_eq!(entries.len(), 2, "a sealed hunk does not grow");
        assert_eq!(entries[0].new.len(), MAX_HUNK_BYTES);
        // Typing into a minified line keeps only the start of it.
        let minified = "é".repeat(50_000);
        let entries = timeline_of(&[&minified], &[(0, 1_000, 1_000, "x")]);
        assert_eq!(entries.len(), 1);
        assert!(entries[0].old.len() <= MAX_HUNK_BYTES && entries[0].new.len() <= MAX_HUNK_BYTES);
        assert!(entries[0].new.starts_with(&"é".repeat(500)));
    }
}
