//! Anchors for warm chat sessions: the chat `context` is rendered once from the document as it
//! was at an anchor and sent byte for byte again on later keystrokes, so a provider can cache it
//! (`previous_response_id`, prompt caching); each request's `query` then carries only the diff
//! from the anchor to the current text.
//!
//! The diff is found by comparing the two ropes chunk by chunk, from the edges of the span the
//! document's edit log gives for the edits since the anchor (`documents::Span`), or from both
//! ends without one. A rope edited from the anchor's clone shares every leaf away from the edits
//! with it, so equal chunks are mostly recognised by address without reading their bytes; but
//! walking a 9,000-line file's leaves from both ends still cost ~11 µs per request.

use std::ops::Range;
use std::sync::Arc;

use ropey::Rope;

use super::window::{ceil_char, floor_char, line_end, line_start, text};
use crate::documents::{Snapshot, Span};

/// Changed bytes (removed plus inserted) since the anchor beyond which a new anchor is cheaper
/// than a growing diff in every query.
pub const MAX_DRIFT_BYTES: usize = 1_536;
/// Lines shown per side of the diff since the anchor.
const MAX_DIFF_LINES: usize = 40;

/// The document as it was when the chat context was last rendered. Cloning the rope is O(1).
#[derive(Clone, Debug)]
pub struct Anchor {
    pub uri: Arc<str>,
    pub version: i32,
    /// The text's sequence number ([`Snapshot::seq`]).
    pub seq: u64,
    pub rope: Rope,
    /// The bytes of `rope` the context shows around the cursor of the anchoring request.
    pub window: Range<usize>,
    /// The rendered chat context, sent unchanged until the next anchor.
    pub context: String,
}

/// The change since `anchor` when a request at `cursor_byte` in `snapshot` can continue from
/// it; `None` when it needs a new anchor: it is for another document (or an older text), the
/// text changed by more than [`MAX_DRIFT_BYTES`] since, or the cursor moved out of the part of
/// the text the context shows. `edits` is the document's span of the edits since the anchor
/// (`DocumentStore::changed_between`), when it has one: then only that span is compared.
pub fn change_since(
    anchor: &Anchor,
    snapshot: &Snapshot,
    cursor_byte: usize,
    edits: Option<Option<Span>>,
) -> Option<Change> {
    if *anchor.uri != *snapshot.uri || snapshot.version < anchor.version {
        return None;
    }
    let change = match edits {
        Some(edits) => {
            let end = anchor.rope.len_bytes();
            let edits = edits.unwrap_or(Span {
                start: end,
                old_end: end,
                new_end: end,
            });
            changed_region_within(&anchor.rope, &snapshot.rope, edits)
        }
        None => changed_region(&anchor.rope, &snapshot.rope),
    };
    if change.drift() > MAX_DRIFT_BYTES {
        return None;
    }
    let cursor = change.to_old(cursor_byte.min(snapshot.rope.len_bytes()));
    (anchor.window.start..=anchor.window.end)
        .contains(&cursor)
        .then_some(change)
}

/// The one region where two texts differ: `old[start..old_end]` became `new[start..new_end]`;
/// empty ranges when the texts are equal. Offsets are on character boundaries of both texts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Change {
    pub start: usize,
    pub old_end: usize,
    pub new_end: usize,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.old_end == self.start && self.new_end == self.start
    }

    fn drift(&self) -> usize {
        (self.old_end - self.start) + (self.new_end - self.start)
    }

    /// A byte of the new text in the old text's coordinates; inside the change, its start.
    fn to_old(self, byte: usize) -> usize {
        if byte <= self.start {
            byte
        } else if byte >= self.new_end {
            byte - self.new_end + self.old_end
        } else {
            self.start
        }
    }
}

/// The region where `old` and `new` differ, from their common prefix and suffix.
pub fn changed_region(old: &Rope, new: &Rope) -> Change {
    let edits = Span {
        start: 0,
        old_end: old.len_bytes(),
        new_end: new.len_bytes(),
    };
    changed_region_within(old, new, edits)
}

/// [`changed_region`] of two texts known to be equal outside `edits` (before `edits.start`, and
/// after `edits.old_end` and `edits.new_end`): the comparison starts at the span's edges instead
/// of the texts' ends, so it costs the edit, not the document. The same result, exactly.
pub fn changed_region_within(old: &Rope, new: &Rope, edits: Span) -> Change {
    let (old_len, new_len) = (old.len_bytes(), new.len_bytes());
    let shorter = old_len.min(new_len);
    let Span {
        start,
        old_end,
        new_end,
    } = edits;
    let boundary = |rope: &Rope, byte: usize| rope.char_to_byte(rope.byte_to_char(byte)) == byte;
    let fits = start <= old_end.min(new_end)
        && old_end <= old_len
        && new_end <= new_len
        && old_len - old_end == new_len - new_end
        && [start, old_end].iter().all(|&b| boundary(old, b))
        && boundary(new, new_end);
    if !fits {
        // Not a span of these texts (never from the store's log): the whole texts, then.
        debug_assert!(
            false,
            "{edits:?} is not a span of texts of {old_len} and {new_len} bytes"
        );
        return changed_region(old, new);
    }
    // The common prefix, from the span's start. When the span keeps the length, the texts are
    // equal past it, so an equal span means equal texts.
    let same_length = old_end - start == new_end - start;
    let limit = if same_length {
        old_end - start
    } else {
        shorter - start
    };
    let same = common_len(
        old.byte_slice(start..).chunks(),
        new.byte_slice(start..).chunks(),
        limit,
        Ends::Front,
    );
    let prefix = if same_length && same == limit {
        shorter
    } else {
        start + same
    };
    let prefix = floor_char(old, prefix);
    // The common suffix: the bytes after the span's ends are common, then from its ends back.
    let limit = shorter - prefix;
    let tail = old_len - old_end;
    let suffix = if limit <= tail {
        limit
    } else {
        let (old_head, new_head) = (old.byte_slice(..old_end), new.byte_slice(..new_end));
        tail + common_len(
            old_head.chunks_at_byte(old_end).0.reversed(),
            new_head.chunks_at_byte(new_end).0.reversed(),
            limit - tail,
            Ends::Back,
        )
    };
    // The suffix's bytes are the same in both texts, so a boundary in one is one in the other.
    let old_end = ceil_char(old, old_len - suffix);
    let suffix = old_len - old_end;
    Change {
        start: prefix,
        old_end,
        new_end: new_len - suffix,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    Front,
    Back,
}

/// How many bytes two chunk sequences have in common from the front (or, for chunks iterated
/// in reverse, from the back), up to `limit`.
fn common_len<'a>(
    mut a: impl Iterator<Item = &'a str>,
    mut b: impl Iterator<Item = &'a str>,
    limit: usize,
    ends: Ends,
) -> usize {
    let (mut ac, mut bc): (&[u8], &[u8]) = (&[], &[]);
    let mut same = 0;
    while same < limit {
        if ac.is_empty() {
            let Some(chunk) = a.next() else { break };
            ac = chunk.as_bytes();
            continue;
        }
        if bc.is_empty() {
            let Some(chunk) = b.next() else { break };
            bc = chunk.as_bytes();
            continue;
        }
        let k = ac.len().min(bc.len()).min(limit - same);
        let (x, y) = match ends {
            Ends::Front => (&ac[..k], &bc[..k]),
            Ends::Back => (&ac[ac.len() - k..], &bc[bc.len() - k..]),
        };
        // The same memory holds the same bytes: a leaf both ropes share.
        let equal = if std::ptr::eq(x.as_ptr(), y.as_ptr()) {
            k
        } else if ends == Ends::Front {
            crate::edits::common_prefix_len(x, y)
        } else {
            crate::edits::common_suffix_len(x, y)
        };
        same += equal;
        if equal < k {
            break;
        }
        (ac, bc) = match ends {
            Ends::Front => (&ac[k..], &bc[k..]),
            Ends::Back => (&ac[..ac.len() - k], &bc[..bc.len() - k]),
        };
    }
    same
}

/// The change as a unified diff hunk of whole lines (`@@ -12,1 +12,2 @@`); empty when nothing
/// changed.
pub(super) fn render_diff(old: &Rope, new: &Rope, change: Change) -> String {
    if change.is_empty() {
        return String::new();
    }
    // The text before `start` is common, so is the line start; the rest of the last line too.
    let first = line_start(old, change.start);
    let old_last = line_end(old, change.old_end).max(change.old_end);
    let new_last = change.new_end + (old_last - change.old_end);
    let old_text = text(old, first..old_last);
    let new_text = text(new, first..new_last);
    let line = old.byte_to_line(first) + 1;
    let count = |t: &str| t.split('\n').count();
    let mut out = format!(
        "@@ -{line},{} +{line},{} @@\n",
        count(&old_text),
        count(&new_text)
    );
    for (sign, side) in [('-', &old_text), ('+', &new_text)] {
        for (i, l) in side.split('\n').enumerate() {
            out.push(sign);
            if i == MAX_DIFF_LINES {
                out.push_str("...\n");
                break;
            }
            out.push_str(l.strip_suffix('\r').unwrap_or(l));
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(old: &str, new: &str) -> (String, String) {
        let (a, b) = (Rope::from_str(old), Rope::from_str(new));
        let c = changed_region(&a, &b);
        (
            old[c.start..c.old_end].to_owned(),
            new[c.start..c.new_end].to_owned(),
        )
    }

    #[test]
    fn changed_regions() {
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(region("abc", "abc"), pair("", ""));
        assert_eq!(region("abc", "abXc"), pair("", "X"));
        assert_eq!(region("aaaa", "aaa"), pair("a", ""));
        assert_eq!(region("é", "è"), pair("é", "è"));
        assert_eq!(region("xé😀y", "x😀y"), pair("é", ""));
        assert_eq!(region("", "new"), pair("", "new"));
        // A long text edited in the middle: chunks shared by address on both sides.
        let long: String = (0..5_000).map(|i| format!("line {i}\n")).collect();
        let mut rope = Rope::from_str(&long);
        let anchor = rope.clone();
        let at = rope.line_to_char(2_500);
        rope.insert(at, "inserted\n");
        let change = changed_region(&anchor, &rope);
        assert_eq!(text(&rope, change.start..change.new_end), "inserted\n");
        assert_eq!(
            render_diff(&anchor, &rope, change),
            "@@ -2501,1 +2501,2 @@\n-line 2500\n+inserted\n+line 2500\n"
        );
    }
}
