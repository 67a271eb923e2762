//! Anchors for warm chat sessions: the chat `context` is rendered once from the document as it
//! was at an anchor and sent byte for byte again on later keystrokes, so a provider can cache it
//! (`previous_response_id`, prompt caching); each request's `query` then carries only the diff
//! from the anchor to the current text.
//!
//! The diff is found by comparing the two ropes from both ends chunk by chunk. A rope edited
//! from the anchor's clone shares every leaf away from the edits with it, so equal chunks are
//! mostly recognised by address without reading their bytes.

use std::ops::Range;
use std::sync::Arc;

use ropey::Rope;

use super::window::{ceil_char, floor_char, line_end, line_start, text};
use crate::documents::Snapshot;

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
    pub rope: Rope,
    /// The bytes of `rope` the context shows around the cursor of the anchoring request.
    pub window: Range<usize>,
    /// The rendered chat context, sent unchanged until the next anchor.
    pub context: String,
}

/// The change since `anchor` when a request at `cursor_byte` in `snapshot` can continue from
/// it; `None` when it needs a new anchor: it is for another document (or an older text), the
/// text changed by more than [`MAX_DRIFT_BYTES`] since, or the cursor moved out of the part of
/// the text the context shows.
pub fn change_since(anchor: &Anchor, snapshot: &Snapshot, cursor_byte: usize) -> Option<Change> {
    if *anchor.uri != *snapshot.uri || snapshot.version < anchor.version {
        return None;
    }
    let change = changed_region(&anchor.rope, &snapshot.rope);
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
    let shorter = old.len_bytes().min(new.len_bytes());
    let prefix = floor_char(
        old,
        common_len(old.chunks(), new.chunks(), shorter, Ends::Front),
    );
    let suffix = common_len(
        old.chunks_at_byte(old.len_bytes()).0.reversed(),
        new.chunks_at_byte(new.len_bytes()).0.reversed(),
        shorter - prefix,
        Ends::Back,
    );
    // The suffix's bytes are the same in both texts, so a boundary in one is one in the other.
    let old_end = ceil_char(old, old.len_bytes() - suffix);
    let suffix = old.len_bytes() - old_end;
    Change {
        start: prefix,
        old_end,
        new_end: new.len_bytes() - suffix,
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
