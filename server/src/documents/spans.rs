//! Where a document's text changed between two of its snapshots, without comparing them: each
//! edit's span is logged with the store's sequence number, and the spans between two numbers
//! compose into one region that holds every difference (a superset: a character typed and
//! deleted again leaves a span where the texts are equal). Comparing two ropes of a 9,000-line
//! file from both ends cost ~11 µs of every completion; the log costs what the edits do.

use std::collections::VecDeque;

/// Spans a document remembers; a snapshot older than the oldest is compared in full.
const MAX_SPANS: usize = 256;

/// One edit, or several composed: `old[start..old_end]` became `new[start..new_end]`, and the
/// texts are equal outside those ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl Span {
    /// `self` (text A to B) followed by `next` (B to C), as one span from A to C.
    fn then(self, next: Span) -> Span {
        // The end of what either touched, in B; past it A, B and C differ only by offsets.
        let end = self.new_end.max(next.old_end);
        Span {
            start: self.start.min(next.start),
            old_end: end - self.new_end + self.old_end,
            new_end: end - next.old_end + next.new_end,
        }
    }
}

/// A document's recent spans, by the sequence number of the text each edit made.
#[derive(Debug)]
pub(super) struct EditSpans {
    spans: VecDeque<(u64, Span)>,
    /// The text the oldest remembered span starts from.
    base: u64,
}

impl EditSpans {
    /// The log of a document opened as text number `seq`.
    pub(super) fn new(seq: u64) -> Self {
        Self {
            spans: VecDeque::new(),
            base: seq,
        }
    }

    pub(super) fn record(&mut self, seq: u64, span: Span) {
        if self.spans.len() == MAX_SPANS
            && let Some((oldest, _)) = self.spans.pop_front()
        {
            self.base = oldest;
        }
        self.spans.push_back((seq, span));
    }

    /// The span holding every difference between texts `from` and `to` (`Some(None)`: no edit
    /// between them); `None` when the log does not reach back to `from` (or `to` is older).
    pub(super) fn between(&self, from: u64, to: u64) -> Option<Option<Span>> {
        if from < self.base || to < from {
            return None;
        }
        Some(
            self.spans
                .iter()
                .filter(|(seq, _)| (from + 1..=to).contains(seq))
                .map(|(_, span)| *span)
                .reduce(Span::then),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, span: Span, inserted: &str) -> String {
        assert_eq!(span.new_end - span.start, inserted.len());
        format!("{}{inserted}{}", &text[..span.start], &text[span.old_end..])
    }

    #[test]
    fn composed_spans_hold_every_difference() {
        // A few edits at and around each other: the composed span, applied to the first text
        // with the last text's bytes, gives the last text.
        let edits = [
            (
                Span {
                    start: 4,
                    old_end: 4,
                    new_end: 7,
                },
                "abc",
            ),
            (
                Span {
                    start: 2,
                    old_end: 5,
                    new_end: 3,
                },
                "X",
            ),
            (
                Span {
                    start: 10,
                    old_end: 12,
                    new_end: 10,
                },
                "",
            ),
            (
                Span {
                    start: 0,
                    old_end: 0,
                    new_end: 2,
                },
                "YZ",
            ),
            (
                Span {
                    start: 5,
                    old_end: 5,
                    new_end: 5,
                },
                "",
            ),
        ];
        let mut text = "0123456789abcdef".to_owned();
        let first = text.clone();
        let mut log = EditSpans::new(1);
        for (seq, (span, inserted)) in (2..).zip(edits) {
            text = apply(&text, span, inserted);
            log.record(seq, span);
            let composed = log.between(1, seq).flatten().expect("a span");
            let rebuilt = apply(&first, composed, &text[composed.start..composed.new_end]);
            assert_eq!(rebuilt, text, "after {} edits: {composed:?}", seq - 1);
        }
        assert_eq!(log.between(3, 3), Some(None));
        assert_eq!(log.between(0, 3), None, "before the document was opened");
    }

    #[test]
    fn a_log_past_its_length_forgets_its_oldest_texts() {
        let mut log = EditSpans::new(10);
        let span = Span {
            start: 0,
            old_end: 0,
            new_end: 1,
        };
        for seq in 11..11 + MAX_SPANS as u64 + 1 {
            log.record(seq, span);
        }
        assert_eq!(log.between(10, 20), None);
        assert!(log.between(11, 20).is_some());
    }
}
