//! Normalising and rebasing suggestions; the rebasing law as a property: a suggestion carried
//! through changes that do not touch it is the same suggestion in the new text.

use proptest::prelude::*;
use ropey::Rope;

use super::*;

fn edit(start_byte: usize, end_byte: usize, new_text: &str) -> TextEdit {
    TextEdit {
        start_byte,
        end_byte,
        new_text: new_text.into(),
    }
}

fn norm(start: usize, old: &str, new: &str) -> NormEdit {
    NormEdit {
        start,
        old: old.into(),
        new: new.into(),
    }
}

/// Replaces `start..end` of `text` with `new`, returning the change as the store reports it.
fn change(text: &mut String, start: usize, end: usize, new: &str) -> ByteChange {
    let old_text = text[start..end].to_owned();
    text.replace_range(start..end, new);
    ByteChange {
        start_byte: start,
        end_byte: end,
        old_text,
        new_text: new.into(),
    }
}

#[test]
fn normalising_trims_shared_ends_and_drops_no_ops() {
    let rope = Rope::from_str("let total = a + b;\n");
    // The model rewrote `total = a` as `sum = a`, and `b` as itself.
    let edits = [edit(4, 13, "sum = a"), edit(16, 17, "b")];
    assert_eq!(normalize(&rope, &edits), [norm(4, "total", "sum")]);
    // Offsets past the end are clamped, overlaps dropped, offsets inside a character floored.
    let rope = Rope::from_str("é = 1");
    assert_eq!(normalize(&rope, &[edit(1, 2, "x")]), [norm(0, "é", "x")]);
    assert_eq!(
        normalize(&rope, &[edit(4, 99, "2"), edit(3, 5, "z")]),
        [norm(4, " 1", "2")]
    );
}

#[test]
fn typing_a_suggestion_in_leaves_the_rest_and_then_applies_it() {
    let mut text = String::from("fn f() {\n    \n}\n");
    let mut edits = vec![norm(13, "", "todo!()")];
    let typed = change(&mut text, 13, 13, "to");
    assert_eq!(rebase(&mut edits, &typed), Step::Progress);
    assert_eq!(edits, [norm(15, "", "do!()")]);
    let rest = change(&mut text, 15, 15, "do!()");
    assert_eq!(rebase(&mut edits, &rest), Step::Applied);
    assert!(edits.is_empty());
}

#[test]
fn replacing_by_deleting_then_typing_is_progress() {
    let mut text = String::from("let foo = 1;\n");
    let mut edits = vec![norm(4, "foo", "bar")];
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 4, 7, "")),
        Step::Progress
    );
    assert_eq!(edits, [norm(4, "", "bar")]);
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 4, 4, "b")),
        Step::Progress
    );
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 5, 5, "ar")),
        Step::Applied
    );
    assert_eq!(text, "let bar = 1;\n");
}

#[test]
fn other_text_in_its_place_breaks_it() {
    let mut text = String::from("let foo = 1;\n");
    let mut edits = vec![norm(4, "foo", "bar")];
    let before = edits.clone();
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 5, 6, "x")),
        Step::Broken
    );
    assert_eq!(edits, before, "left as it was");
    // An insertion suggestion is broken by text that does not begin it.
    let mut text = String::from("ab");
    let mut edits = vec![norm(1, "", "xyz")];
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 1, 1, "q")),
        Step::Broken
    );
}

#[test]
fn one_change_over_all_edits_applies_them_when_it_writes_their_text() {
    // An editor applies a two-edit suggestion as one replacement of their span.
    let mut text = String::from("a = b + c;\n");
    let mut edits = vec![norm(0, "a", "x"), norm(8, "c", "y")];
    let mut wrong = edits.clone();
    let whole = change(&mut text.clone(), 0, 9, "x = b + y");
    assert_eq!(rebase(&mut edits, &whole), Step::Applied);
    let other = change(&mut text, 0, 9, "x = b + z");
    assert_eq!(rebase(&mut wrong, &other), Step::Broken);
}

#[test]
fn changes_elsewhere_move_it() {
    let mut text = String::from("one\ntwo\nthree\n");
    let mut edits = vec![norm(4, "two", "2")];
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 0, 3, "1")),
        Step::Unrelated
    );
    assert_eq!(edits, [norm(2, "two", "2")]);
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 6, 6, "!")),
        Step::Unrelated
    );
    assert_eq!(edits, [norm(2, "two", "2")]);
    // Typing right before or after what it replaces does not touch it.
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 2, 2, "<")),
        Step::Unrelated
    );
    assert_eq!(
        rebase(&mut edits, &change(&mut text, 6, 6, ">")),
        Step::Unrelated
    );
    assert_eq!(edits, [norm(3, "two", "2")]);
    assert_eq!(&text[3..6], "two");
}

/// Text of lowercase letters and line breaks, and a suggestion whose edits each replace text
/// starting with a marker that appears nowhere else (or insert right after one), so the edits
/// can be found again by searching.
fn with_suggestion() -> impl Strategy<Value = (String, Vec<(char, usize, String)>)> {
    let markers = ['§', '¤', '¶'];
    (
        proptest::collection::vec("[a-z\n]{0,12}", 4),
        proptest::collection::vec((0usize..4, "[a-z]{0,3}"), 1..=3),
    )
        .prop_map(move |(pieces, targets)| {
            let mut text = pieces[0].clone();
            let mut edits = Vec::new();
            for (i, (old_len, new)) in targets.into_iter().enumerate() {
                text.push(markers[i]);
                text.push_str(&"q".repeat(old_len));
                edits.push((markers[i], old_len, format!("{new}Z")));
                text.push_str(&pieces[i + 1]);
            }
            (text, edits)
        })
}

/// The suggestion's edits as they are in `text`, found by their markers.
fn located(text: &str, edits: &[(char, usize, String)]) -> Vec<NormEdit> {
    edits
        .iter()
        .filter_map(|(marker, old_len, new)| {
            let start = text.find(*marker)? + marker.len_utf8();
            Some(norm(start, &text[start..start + old_len], new))
        })
        .collect()
}

proptest! {
    /// The rebasing law: through any changes that touch none of its edits, a suggestion is
    /// carried to exactly where its edits are in the new text.
    #[test]
    fn unrelated_changes_carry_a_suggestion_to_its_place(
        (text, suggestion) in with_suggestion(),
        changes in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, "[a-z\n]{0,4}"), 0..12),
    ) {
        let mut text = text;
        let mut edits = located(&text, &suggestion);
        for (at, len, new) in changes {
            let start = at.index(text.len() + 1);
            let start = (0..=start).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let end = (start + len..=text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
            // Changes that remove a marker or write between a marker and its edit would move
            // the oracle, not the suggestion.
            let touches_markers = text[start..end].chars().any(|c| "§¤¶".contains(c))
                || text[..start].ends_with(['§', '¤', '¶']);
            let touching = edits.iter().any(|e| super::touches(e, start, end));
            if touches_markers || touching {
                continue;
            }
            let step = rebase(&mut edits, &change(&mut text, start, end, &new));
            prop_assert_eq!(step, Step::Unrelated);
        }
        prop_assert_eq!(edits, located(&text, &suggestion));
    }

    /// Replacing what an edit replaces with other text than the start of its new text breaks
    /// it; typing all of it applies it. (`typed` has no `q`, the old text's letter, so it
    /// cannot be read as deleting part of the old text.)
    #[test]
    fn touching_a_suggestion_types_it_or_breaks_it(
        (text, suggestion) in with_suggestion(),
        which in any::<prop::sample::Index>(),
        typed in "[a-pr-zZ]{1,3}",
    ) {
        let mut text = text;
        let mut edits = located(&text, &suggestion);
        let target = edits[which.index(edits.len())].clone();
        let mut rebased = edits.clone();
        let step = rebase(&mut rebased, &change(&mut text.clone(), target.start, target.end(), &typed));
        if typed == target.new {
            prop_assert!(matches!(step, Step::Applied | Step::Progress));
            prop_assert_eq!(rebased.len(), edits.len() - 1);
        } else if target.new.starts_with(&typed) {
            prop_assert_eq!(step, Step::Progress);
        } else {
            prop_assert_eq!(step, Step::Broken);
        }
        let all = change(&mut text, target.start, target.end(), &target.new);
        let step = rebase(&mut edits, &all);
        prop_assert!(matches!(step, Step::Applied | Step::Progress));
    }
}
