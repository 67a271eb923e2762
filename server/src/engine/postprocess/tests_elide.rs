//! The syntax check's window leaves statements and blank lines out of long blocks
//! (`errors::elided`): measured here against the same window without leaving anything out, on
//! the suggestion-quality benchmark's real files in seven languages. Every line of each file is
//! cut out in turn (from its start, and after its indentation) and suggested back: the truth
//! must pass wherever the whole window passes it, and broken versions of it must be judged as
//! the whole window judges them.

use ropey::Rope;

use std::cell::Cell;

use super::errors::{SyntaxCheck, check_window, elided};
use crate::syntax::{self, Language};

const FIXTURES: [(&str, &str); 7] = [
    (
        "dent.rs",
        include_str!("../../../../tests/fixtures/quality/dent.rs"),
    ),
    (
        "structures.py",
        include_str!("../../../../tests/fixtures/quality/structures.py"),
    ),
    (
        "uuid.go",
        include_str!("../../../../tests/fixtures/quality/uuid.go"),
    ),
    (
        "log.c",
        include_str!("../../../../tests/fixtures/quality/log.c"),
    ),
    (
        "p-limit.js",
        include_str!("../../../../tests/fixtures/quality/p-limit.js"),
    ),
    (
        "json.lua",
        include_str!("../../../../tests/fixtures/quality/json.lua"),
    ),
    (
        "LazilyParsedNumber.java",
        include_str!("../../../../tests/fixtures/quality/LazilyParsedNumber.java"),
    ),
];

thread_local! {
    /// How many checks left lines out.
    static ELIDED: Cell<usize> = const { Cell::new(0) };
}

/// `raises` through the window with and without the elision.
fn both(language: Language, document: &str, cursor: usize, suggestion: &str) -> (bool, bool) {
    let rope = Rope::from_str(document);
    let tree = syntax::parse(language, &rope, None).expect("a tree");
    if !elided(&tree, language, &rope, 0, cursor).is_empty() {
        ELIDED.with(|n| n.set(n.get() + 1));
    }
    let whole = SyntaxCheck::windowed(language, tree.clone(), rope.clone(), cursor, false);
    let elided = SyntaxCheck::windowed(language, tree, rope, cursor, true);
    (whole.raises(suggestion), elided.raises(suggestion))
}

#[test]
// The counts are the measurement (`--no-capture` shows them).
#[allow(clippy::print_stdout)]
fn leaving_lines_out_of_a_block_changes_no_verdict_on_real_code() {
    let (mut cases, mut truth_kept, mut broken, mut broken_agree) = (0, 0, 0, 0);
    let mut damaged = Vec::new();
    for (name, source) in FIXTURES {
        let language = Language::from_path(name).expect("a grammar");
        let lines: Vec<&str> = source.split_inclusive('\n').collect();
        let mut start = 0;
        for line in &lines {
            let indent = line.len() - line.trim_start().len();
            let (before, after) = (&source[..start], &source[start + line.len()..]);
            start += line.len();
            if line.trim().is_empty() {
                continue;
            }
            for cut in [0, indent] {
                let truth = &line[cut..];
                let document = format!("{before}{}{after}", &line[..cut]);
                let cursor = before.len() + cut;
                cases += 1;
                let (whole, elided) = both(language, &document, cursor, truth);
                if !whole {
                    truth_kept += 1;
                    if elided {
                        damaged.push(format!("{name}: {truth:?}"));
                    }
                }
                // Broken: the line's last character gone, and a stray closing bracket.
                let trimmed = truth.trim_end();
                for wrong in [
                    format!(
                        "{}\n",
                        &trimmed
                            [..trimmed.len() - trimmed.chars().last().map_or(0, char::len_utf8)]
                    ),
                    format!("{trimmed})\n"),
                ] {
                    let (whole, elided) = both(language, &document, cursor, &wrong);
                    broken += 1;
                    broken_agree += usize::from(whole == elided);
                }
            }
        }
    }
    let elided = ELIDED.with(Cell::get);
    println!(
        "{cases} truths ({truth_kept} passed by the whole window), {broken} broken: {broken_agree} judged alike; {elided} of the checks left lines out"
    );
    // Most cuts are in short blocks; ~200 of them (600 checks) are in long ones.
    assert!(elided >= 300, "lines were left out in only {elided} checks");
    assert!(
        damaged.is_empty(),
        "truths the elided window drops: {damaged:#?}"
    );
    assert_eq!(broken_agree, broken, "broken answers judged alike");
}

#[test]
fn the_check_window_holds_the_cursor_wherever_it_is() {
    // A tree cursor's `goto_first_child_for_byte` once found no item before the last one here,
    // and the window then ended before it started (10060..3156 in uuid.go).
    for (name, source) in FIXTURES {
        let language = Language::from_path(name).expect("a grammar");
        let mut start = 0;
        for line in source.split_inclusive('\n') {
            let (before, after) = (&source[..start], &source[start + line.len()..]);
            start += line.len();
            let document = format!("{before}{after}");
            let rope = Rope::from_str(&document);
            let tree = syntax::parse(language, &rope, None).expect("a tree");
            let window = check_window(Some(&tree), &rope, before.len());
            assert!(
                window.start <= before.len() && before.len() <= window.end,
                "{name}: window {window:?} for the cursor at {}",
                before.len()
            );
        }
    }
}
