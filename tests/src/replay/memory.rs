//! The simulated user's memory of the suggestions it rejected, carried through its later edits
//! (as the server's rejection memory must be), so that one shown again is caught: the
//! benchmark's `rejected re-shown` count.

use crate::model_server::Hunk;

/// Rejected suggestions, each as its edits at the current text's byte offsets.
#[derive(Clone, Debug, Default)]
pub struct Rejections {
    suggestions: Vec<Vec<Hunk>>,
}

impl Rejections {
    pub fn remember(&mut self, edits: Vec<Hunk>) {
        self.suggestions.push(edits);
    }

    pub fn len(&self) -> usize {
        self.suggestions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.suggestions.is_empty()
    }

    /// Carries every remembered suggestion through `change` (made to the text they apply to);
    /// one whose edits the change touches no longer applies and is forgotten.
    pub fn rebase(&mut self, change: &Hunk) {
        self.suggestions
            .retain_mut(|edits| edits.iter_mut().all(|edit| rebase(edit, change)));
    }

    /// Whether the suggestion turning `text` into `result` is one rejected before.
    pub fn holds(&self, text: &str, result: &str) -> bool {
        self.suggestions
            .iter()
            .any(|edits| apply_all(text, edits).as_deref() == Some(result))
    }
}

/// Moves `edit` past `change`; false when they touch.
fn rebase(edit: &mut Hunk, change: &Hunk) -> bool {
    let both_empty_here =
        change.start == change.end && edit.start == edit.end && change.start == edit.start;
    if change.end < edit.start || (change.end == edit.start && !both_empty_here) {
        let removed = change.end - change.start;
        edit.start = edit.start - removed + change.new_text.len();
        edit.end = edit.end - removed + change.new_text.len();
        true
    } else {
        change.start > edit.end || (change.start == edit.end && !both_empty_here)
    }
}

/// `text` with the sorted, non-overlapping `edits` made; `None` when one does not fit.
pub fn apply_all(text: &str, edits: &[Hunk]) -> Option<String> {
    let mut out = text.to_owned();
    let mut limit = text.len();
    for edit in edits.iter().rev() {
        let fits = edit.start <= edit.end
            && edit.end <= limit
            && out.is_char_boundary(edit.start)
            && out.is_char_boundary(edit.end);
        if !fits {
            return None;
        }
        out.replace_range(edit.start..edit.end, &edit.new_text);
        limit = edit.start;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunk(start: usize, end: usize, new_text: &str) -> Hunk {
        Hunk {
            start,
            end,
            new_text: new_text.into(),
        }
    }

    #[test]
    fn a_rejection_follows_edits_before_it_and_ends_when_touched() {
        // "let a = 1;\n": the rejected suggestion renames `a` to `b`.
        let mut memory = Rejections::default();
        memory.remember(vec![hunk(4, 5, "b")]);
        assert!(memory.holds("let a = 1;\n", "let b = 1;\n"));
        // The user types "x" at the start: the suggestion moves with the text.
        memory.rebase(&hunk(0, 0, "x"));
        assert!(memory.holds("xlet a = 1;\n", "xlet b = 1;\n"));
        // An edit after it leaves it in place.
        memory.rebase(&hunk(10, 11, "2"));
        assert!(memory.holds("xlet a = 2;\n", "xlet b = 2;\n"));
        // Another suggestion is not the rejected one.
        assert!(!memory.holds("xlet a = 2;\n", "xlet c = 2;\n"));
        // The user edits the very place: it no longer applies.
        memory.rebase(&hunk(5, 6, "z"));
        assert!(memory.is_empty());
    }

    #[test]
    fn an_insertion_is_touched_only_by_an_edit_at_its_point() {
        let mut memory = Rejections::default();
        memory.remember(vec![hunk(3, 3, "!")]);
        memory.rebase(&hunk(3, 4, "Q"));
        assert_eq!(memory.len(), 1, "replacing the text after the point");
        memory.rebase(&hunk(3, 3, "?"));
        assert!(memory.is_empty(), "typing at the point");
    }
}
