//! Laws and fixtures for `diff` and `apply`: applying a diff gives the new text, edits are
//! sorted, disjoint and on character boundaries, and small changes give small edits.

use expect_test::{Expect, expect};
use proptest::prelude::*;

use super::*;

/// Renders edits as `start..end "old" → "new"` lines, for snapshots.
fn check_diff(old: &str, new: &str, expected: Expect) {
    let edits = diff(old, new);
    assert_eq!(apply(old, &edits), new);
    let rendered: String = edits
        .iter()
        .map(|edit| {
            format!(
                "{}..{} {:?} → {:?}\n",
                edit.start_byte,
                edit.end_byte,
                &old[edit.start_byte..edit.end_byte],
                edit.new_text
            )
        })
        .collect();
    expected.assert_eq(&rendered);
}

#[test]
fn renaming_one_identifier_on_one_line_is_one_small_edit() {
    let old = "fn total(items: &[u32]) -> u32 {\n    let count = items.len();\n    items.iter().sum::<u32>() / count as u32\n}\n";
    let new = "fn total(items: &[u32]) -> u32 {\n    let amount = items.len();\n    items.iter().sum::<u32>() / count as u32\n}\n";
    check_diff(
        old,
        new,
        expect![[r#"
        41..46 "count" → "amount"
    "#]],
    );
}

#[test]
fn a_renamed_binding_and_its_use_are_two_edits() {
    let old = "let count = 1;\nlet other = 2;\nprint(count);\n";
    let new = "let amount = 1;\nlet other = 2;\nprint(amount);\n";
    check_diff(
        old,
        new,
        expect![[r#"
        4..9 "count" → "amount"
        36..41 "count" → "amount"
    "#]],
    );
}

#[test]
fn inserted_and_deleted_lines_are_line_edits() {
    let old = "a\nb\nc\nd\n";
    let new = "a\nc\nd\ne\nf\n";
    check_diff(
        old,
        new,
        expect![[r#"
        2..4 "b\n" → ""
        8..8 "" → "e\nf\n"
    "#]],
    );
}

#[test]
fn large_hunks_are_replaced_whole() {
    let old = "one\ntwo\nthree\nfour\nfive\n";
    let new = "uno\ndos\ntres\ncuatro\ncinco\n";
    check_diff(
        old,
        new,
        expect![[r#"
        0..24 "one\ntwo\nthree\nfour\nfive\n" → "uno\ndos\ntres\ncuatro\ncinco\n"
    "#]],
    );
}

#[test]
fn a_crlf_is_never_split() {
    // Turning a CRLF into LF must replace the whole break, not delete the `\r` before an `\n`
    // that an editor counts as part of the same break.
    check_diff(
        "a\r\nb",
        "a\nb",
        expect![[r#"
        1..3 "\r\n" → "\n"
    "#]],
    );
    check_diff(
        "a\nb",
        "a\r\nb",
        expect![[r#"
        1..2 "\n" → "\r\n"
    "#]],
    );
}

#[test]
fn equal_texts_give_no_edits() {
    assert!(diff("", "").is_empty());
    assert!(diff("same\r\ntext😀", "same\r\ntext😀").is_empty());
}

#[test]
fn apply_clamps_bad_edits_instead_of_panicking() {
    let edits = [
        TextEdit {
            start_byte: 3,
            end_byte: 99,
            new_text: "!".into(),
        },
        TextEdit {
            start_byte: 0,
            end_byte: 1,
            new_text: "?".into(),
        },
    ];
    // Offset 3 is inside `é` (bytes 2..4) and moves back to 2; the second edit, out of order,
    // moves after the first.
    assert_eq!(apply("abé", &edits), "ab!?");
}

/// Strings over an alphabet chosen to hit the hard cases: line breaks of every kind, multi-byte
/// and astral characters, words that repeat.
fn text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a", "b", "foo", " ", "\n", "\r\n", "\r", "é", "😀", "x\n", "{", "}",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|pieces| pieces.concat())
}

/// A text and an edited copy of it, so that the two are mostly alike, as in real rewrites.
fn text_pair() -> impl Strategy<Value = (String, String)> {
    (text(), text(), text(), any::<prop::sample::Index>()).prop_map(|(old, insert, other, at)| {
        let chars: Vec<char> = old.chars().collect();
        let cut = at.index(chars.len() + 1);
        let head: String = chars[..cut].iter().collect();
        let tail: String = chars[cut..]
            .iter()
            .skip(other.chars().count() % 4)
            .collect();
        (old, format!("{head}{insert}{tail}"))
    })
}

fn check_laws(old: &str, new: &str) -> Result<(), TestCaseError> {
    let edits = diff(old, new);
    prop_assert_eq!(apply(old, &edits), new);
    let mut previous_end = None;
    for edit in &edits {
        prop_assert!(edit.start_byte <= edit.end_byte && edit.end_byte <= old.len());
        prop_assert!(old.is_char_boundary(edit.start_byte) && old.is_char_boundary(edit.end_byte));
        if let Some(previous_end) = previous_end {
            // Strictly after: adjacent edits would have been one edit.
            prop_assert!(edit.start_byte > previous_end, "{edits:?}");
        }
        for boundary in [edit.start_byte, edit.end_byte] {
            let splits = old[..boundary].ends_with('\r') && old[boundary..].starts_with('\n');
            prop_assert!(!splits, "edit boundary inside a CRLF: {edits:?}");
        }
        prop_assert!(edit.start_byte < edit.end_byte || !edit.new_text.is_empty());
        previous_end = Some(edit.end_byte);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn applying_the_diff_of_unrelated_texts_gives_the_new_text(old in text(), new in text()) {
        check_laws(&old, &new)?;
    }

    #[test]
    fn applying_the_diff_of_similar_texts_gives_the_new_text((old, new) in text_pair()) {
        check_laws(&old, &new)?;
    }

    #[test]
    fn a_text_diffed_with_itself_gives_no_edits(text in text()) {
        prop_assert!(diff(&text, &text).is_empty());
    }

    #[test]
    fn common_ends_compared_in_blocks_are_those_compared_byte_by_byte(
        common in "[ab]{0,100}",
        a in "[ab]{0,100}",
        b in "[ab]{0,100}",
    ) {
        let (a, b) = (format!("{common}{a}"), format!("{common}{b}"));
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let front = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let back = (a.iter().rev().zip(b.iter().rev()))
            .take_while(|(x, y)| x == y)
            .count();
        prop_assert_eq!(common_prefix_len(a, b), front);
        prop_assert_eq!(common_suffix_len(a, b), back);
        let (a, b) = (a.iter().rev().copied().collect::<Vec<_>>(), b.iter().rev().copied().collect::<Vec<_>>());
        prop_assert_eq!(common_suffix_len(&a, &b), front);
    }
}
