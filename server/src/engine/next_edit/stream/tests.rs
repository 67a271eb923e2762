//! The splitter: hunks settle as soon as the rewrite re-converges, and together they are
//! exactly the whole rewrite.

use proptest::prelude::*;

use super::*;

fn lines(text: &str) -> Vec<String> {
    lines_of(text).0
}

/// Streams `answer` line by line; the hunks in the order they settled, and how many lines of
/// the answer had arrived when each settled.
fn split(region: &str, answer: &str) -> Vec<(Hunk, usize)> {
    let mut splitter = Splitter::new(lines(region));
    let mut out = Vec::new();
    let mut pieces: Vec<&str> = answer.split('\n').collect();
    let last = pieces.pop().filter(|l| !l.is_empty()).map(str::to_owned);
    for (i, line) in pieces.iter().enumerate() {
        if let Some(hunk) = splitter.push((*line).to_owned()) {
            out.push((hunk, i + 1));
        }
    }
    let seen = pieces.len() + usize::from(last.is_some());
    out.extend(splitter.finish(last).into_iter().map(|h| (h, seen)));
    out
}

/// `region` with every hunk applied, through the edits a suggestion carries.
fn applied(region: &str, hunks: &[Hunk]) -> String {
    let (_, starts) = lines_of(region);
    let ending = line_break(region);
    let mut edits: Vec<TextEdit> = hunks
        .iter()
        .flat_map(|hunk| hunk_edits(region, &starts, hunk, ending, 0))
        .collect();
    let sorted = edits.windows(2).all(|w| w[0].end_byte <= w[1].start_byte);
    assert!(sorted, "edits out of order or overlapping: {edits:?}");
    edits.reverse();
    let mut text = region.to_owned();
    for edit in edits {
        text.replace_range(edit.start_byte..edit.end_byte, &edit.new_text);
    }
    text
}

/// The rewrite as the region's text: its lines, with the region's line breaks, and a break
/// after the last line when the region has one there.
fn whole(region: &str, answer: &str) -> String {
    let ending = line_break(region);
    let new = lines(answer);
    let mut text = new.join(ending);
    if !new.is_empty() && (region.ends_with('\n') || region.is_empty()) {
        text.push_str(ending);
    }
    text
}

#[test]
fn the_first_hunk_settles_after_two_significant_lines_of_agreement() {
    let region = "let a = 1;\nlet b = 2;\nlet c = 3;\nlet d = 4;\nlet e = 5;\n";
    let answer = "let a = 10;\nlet b = 2;\nlet c = 3;\nlet d = 4;\nlet e = 50;\n";
    let hunks = split(region, answer);
    assert_eq!(hunks.len(), 2, "{hunks:?}");
    // Settled by the 3rd line: `let b`, `let c` agree after the changed first line.
    assert_eq!(hunks[0].1, 3);
    assert_eq!(
        hunks[0].0,
        Hunk {
            old: 0..1,
            new: vec!["let a = 10;".into()]
        }
    );
    assert_eq!(
        hunks[1].0,
        Hunk {
            old: 4..5,
            new: vec!["let e = 50;".into()]
        }
    );
}

#[test]
fn a_line_rewritten_among_repeated_lines_is_one_replacement() {
    let region = "    h();\n    h();\n    h();\n    h();\n    h();\n    h();\n";
    let answer = "    h();\n    h();\n    h(1);\n    h();\n    h();\n    h();\n";
    let hunks = split(region, answer);
    assert_eq!(
        hunks.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>(),
        [Hunk {
            old: 2..3,
            new: vec!["    h(1);".into()]
        }],
        "not an insertion here and a deletion at the end"
    );
    assert_eq!(hunks[0].1, 5, "settled by the two agreeing lines after it");
}

#[test]
fn blank_lines_and_braces_need_three_lines_to_agree() {
    let region = "x = 1\n}\n\n}\ny = 2\n";
    let answer = "x = 2\n}\n\n}\ny = 2\n";
    let hunks = split(region, answer);
    // `}` and a blank line are not significant: three lines settle it, at the 4th line.
    assert_eq!(hunks[0].1, 4, "{hunks:?}");
    assert_eq!(
        applied(region, &hunks.into_iter().map(|h| h.0).collect::<Vec<_>>()),
        answer
    );
}

#[test]
fn inserted_and_deleted_lines_and_an_unterminated_last_line() {
    let region = "a1\nb1\nc1\nd1";
    let cases = [
        "a1\nnew1\nb1\nc1\nd1",
        "b1\nc1\nd1",
        "a1\nb1\nc1\nd1\ne1",
        "a1\nb1",
        "a1\nb1\nc1\nd1\n",
        "",
    ];
    for answer in cases {
        let hunks: Vec<Hunk> = split(region, answer).into_iter().map(|h| h.0).collect();
        assert_eq!(
            applied(region, &hunks),
            whole(region, answer),
            "{answer:?}: {hunks:?}"
        );
    }
}

#[test]
fn crlf_regions_keep_their_line_breaks() {
    let region = "a1\r\nb1\r\nc1\r\nd1\r\n";
    let hunks: Vec<Hunk> = split(region, "a2\nb1\nc1\nd2\n")
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(applied(region, &hunks), "a2\r\nb1\r\nc1\r\nd2\r\n");
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("}".to_owned()),
        Just("a1".to_owned()),
        Just("b2".to_owned()),
        Just("c3".to_owned()),
        Just("  d4".to_owned()),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    (prop::collection::vec(line(), 0..max), any::<bool>()).prop_map(|(lines, terminated)| {
        let mut text = lines.join("\n");
        if terminated && !lines.is_empty() {
            text.push('\n');
        }
        text
    })
}

proptest! {
    /// Applying every streamed hunk equals applying the whole answer: nothing lost,
    /// duplicated or reordered, whatever the repeats in the text.
    #[test]
    fn streamed_hunks_add_up_to_the_whole_rewrite(region in text(12), answer in text(12)) {
        let hunks = split(&region, &answer);
        let order_ok = hunks.windows(2).all(|w| w[0].0.old.end <= w[1].0.old.start);
        prop_assert!(order_ok, "{:?}", hunks);
        let hunks: Vec<Hunk> = hunks.into_iter().map(|h| h.0).collect();
        prop_assert_eq!(applied(&region, &hunks), whole(&region, &answer));
    }
}
