//! Laws of the context builder, checked on random documents and cursors, and an ignored timing
//! run on a large file (`cargo test --release -- --ignored prompt_build_time --nocapture`).

use std::time::Instant;

use proptest::prelude::*;
use ropey::Rope;

use super::anchor::changed_region;
use super::tests::Doc;
use super::*;
use crate::providers::ModelInput;

const PIECES: &[&str] = &[
    "a",
    "é",
    "😀",
    "\r\n",
    "\n",
    "\r",
    "fn f() {",
    "}",
    " ",
    "中文",
    "import x\n",
    "use a::b;\n",
    "def g(x):\n    ",
    "class C {\n",
    "\t",
    "<|cursor|>",
];

fn text_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..120).prop_map(|v| v.concat())
}

/// `fraction` of the way through `text`, moved back to a character start.
fn char_at(text: &str, fraction: f64) -> usize {
    let mut byte = (text.len() as f64 * fraction) as usize;
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn fim_prefix_and_suffix_are_the_document_around_the_cursor(
        text in text_strategy(),
        fraction in 0.0..=1.0f64,
        tokens in 0usize..300,
        lang in prop::sample::select(vec!["rust", "python", "typescript", "plaintext"]),
    ) {
        let cursor = char_at(&text, fraction);
        let fixture = format!("{}$0{}", &text[..cursor], &text[cursor..]);
        let doc = Doc::open(lang, "src/doc", &fixture);
        let snapshot = doc.snapshot();
        let input = ContextInput {
            budget: Budget { prompt_tokens: tokens },
            ..ContextInput::new(&snapshot, cursor)
        };
        let prompt = build(&input).expect("a prompt");
        let (_, ModelInput::Fim { prefix, suffix, .. }) = prompt.to_request_parts(PromptFamily::Fim)
        else {
            panic!("a FIM input");
        };
        let window = prompt.window.clone();
        prop_assert!(window.start <= cursor && cursor <= window.end);
        prop_assert_eq!(&prompt.before, &text[window.start..cursor]);
        prop_assert_eq!(&suffix, &text[cursor..window.end]);
        let tail = format!("{}{}", prompt.outline, prompt.before);
        prop_assert!(prefix.ends_with(&tail));
        // The chat window is the document around the cursor too.
        prop_assert!(text[..cursor].ends_with(&prompt.chat.local_before));
        prop_assert!(text[cursor..].starts_with(&prompt.chat.local_after));
    }

    #[test]
    fn a_steady_window_fits_the_budget_and_keeps_its_start(
        text in text_strategy(),
        fraction in 0.0..=1.0f64,
        tokens in 0usize..300,
        previous in prop::option::of(0usize..40),
    ) {
        let cursor = char_at(&text, fraction);
        let fixture = format!("{}$0{}", &text[..cursor], &text[cursor..]);
        let doc = Doc::open("rust", "src/doc.rs", &fixture);
        let snapshot = doc.snapshot();
        let fullest = ContextInput {
            budget: Budget { prompt_tokens: tokens },
            ..ContextInput::new(&snapshot, cursor)
        };
        let steady = |previous| ContextInput { window_start: WindowStart::Steady(previous), ..fullest };
        let widest = build(&fullest).expect("a prompt").window;
        let prompt = build(&steady(previous)).expect("a prompt");
        let window = prompt.window.clone();
        // Never more than the budget, never past the cursor, the same end, the same text.
        prop_assert!(widest.start <= window.start && window.start <= cursor);
        prop_assert_eq!(window.end, widest.end);
        prop_assert_eq!(&prompt.before, &text[window.start..cursor]);
        // Asked again from where it started, it starts there again.
        let line = snapshot.rope.byte_to_line(window.start);
        let again = build(&steady(Some(line))).expect("a prompt").window;
        prop_assert_eq!(again.start, window.start);
    }

    #[test]
    fn changed_regions_explain_the_edit(
        old in text_strategy(),
        insert in text_strategy(),
        start in 0.0..=1.0f64,
        len in 0.0..=1.0f64,
    ) {
        let mut rope = Rope::from_str(&old);
        let anchor = rope.clone();
        let start_char = (rope.len_chars() as f64 * start) as usize;
        let end_char = start_char + ((rope.len_chars() - start_char) as f64 * len) as usize;
        rope.remove(start_char..end_char);
        rope.insert(start_char, &insert);
        let new = rope.to_string();
        let change = changed_region(&anchor, &rope);
        let rebuilt = format!(
            "{}{}{}",
            &old[..change.start],
            &new[change.start..change.new_end],
            &old[change.old_end..]
        );
        prop_assert_eq!(rebuilt, new);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The store's span of the edits between two snapshots gives exactly the region the two
    /// ropes' full comparison does, through typing, deleting, replacing and whole-text changes.
    #[test]
    fn the_logged_edits_give_the_compared_region(
        initial in text_strategy(),
        edits in prop::collection::vec(
            (0.0..=1.0f64, 0.0..=0.3f64, text_strategy(), prop::bool::weighted(0.05)),
            1..24,
        ),
        from in 0.0..=1.0f64,
    ) {
        let store = crate::documents::DocumentStore::default();
        let uri = "file:///p/a.rs";
        store.open(uri, "rust", 1, &initial);
        let mut snapshots = vec![store.snapshot(uri).expect("open")];
        for (version, (at, len, text, whole)) in (2..).zip(edits) {
            let rope = &snapshots.last().expect("a snapshot").rope;
            let start = rope.len_chars() as f64 * at;
            let end = start + (rope.len_chars() as f64 - start) * len;
            let position = |chars: f64| {
                let line = rope.char_to_line(chars as usize);
                let col = chars as usize - rope.line_to_char(line);
                crate::documents::LineCol { line: line as u32, col: col as u32 }
            };
            let change = crate::documents::TextChange {
                range: (!whole).then(|| (position(start), position(end))),
                text: text.clone(),
            };
            store
                .change(uri, version, &[change], crate::documents::PositionEncoding::Utf32)
                .expect("applied");
            snapshots.push(store.snapshot(uri).expect("open"));
        }
        let to = snapshots.last().expect("a snapshot");
        let old = &snapshots[((snapshots.len() - 1) as f64 * from) as usize];
        let edits = store.changed_between(uri, old.seq, to.seq);
        prop_assert!(edits.is_some(), "the log reaches back");
        let end = old.rope.len_bytes();
        let span = edits.flatten().unwrap_or(crate::documents::Span { start: end, old_end: end, new_end: end });
        prop_assert_eq!(
            super::anchor::changed_region_within(&old.rope, &to.rope, span),
            changed_region(&old.rope, &to.rope)
        );
    }
}

/// Median time to build a prompt at a cursor in a ~9,000-line file.
#[test]
#[ignore = "timing; run in release with --nocapture"]
#[allow(clippy::print_stderr)]
fn prompt_build_time() {
    let mut text = String::from("use std::collections::HashMap;\nuse std::sync::Arc;\n\n");
    for i in 0..1_125 {
        text.push_str(&format!(
            "impl Item{i} {{\n    pub fn total(&self, rates: &HashMap<u32, f64>) -> f64 {{\n        let base = self.price * {i}.0;\n        let rate = rates.get(&self.kind).copied().unwrap_or(1.0);\n        base * rate\n    }}\n}}\n\n"
        ));
    }
    let at = text.find("impl Item700 ").expect("the item is there") + 60;
    let fixture = format!("{}$0{}", &text[..at], &text[at..]);
    let mut doc = Doc::open("rust", "src/items.rs", &fixture);
    doc.type_text("let x = ");
    let snapshot = doc.snapshot();
    let related: Vec<RelatedDoc> = (0..4)
        .map(|n| RelatedDoc {
            path: format!("file:///src/other{n}.rs"),
            rope: Rope::from_str(&text[..text.len() / 4]),
        })
        .collect();
    let lines = snapshot.rope.len_lines();
    let anchor = Anchor::new(&ContextInput::new(&snapshot, doc.cursor)).expect("an anchor");
    let alone = ContextInput::new(&snapshot, doc.cursor);
    let with_related = ContextInput {
        related: &related,
        ..ContextInput::new(&snapshot, doc.cursor)
    };
    let full = |input: &ContextInput<'_>| {
        let prompt = build(input).expect("a prompt");
        let tokens = estimate_tokens(&prompt.outline)
            + estimate_tokens(&prompt.before)
            + estimate_tokens(&prompt.after)
            + estimate_tokens(&prompt.recent_edits)
            + (prompt.related.iter())
                .map(|s| estimate_tokens(&s.text))
                .sum::<usize>();
        (prompt.to_request_parts(PromptFamily::Chat), tokens)
    };
    let continued = |input: &ContextInput<'_>| {
        let change = change_since(&anchor, input.snapshot, input.cursor_byte, None);
        let change = change.expect("the anchor serves");
        let parts = continue_chat(input, &anchor, change).expect("a prompt");
        let ModelInput::Chat { query, .. } = &parts.1 else {
            panic!("a chat input");
        };
        let tokens = estimate_tokens(query);
        (parts, tokens)
    };
    type Gather<'a> = &'a dyn Fn(&ContextInput<'_>) -> ((String, ModelInput), usize);
    let cases: [(&str, &ContextInput<'_>, Gather<'_>); 3] = [
        ("alone", &alone, &full),
        (
            "continued from its anchor (the query only)",
            &alone,
            &continued,
        ),
        ("with 4 related docs of ~2,250 lines", &with_related, &full),
    ];
    for (name, input, gather) in cases {
        let mut times: Vec<f64> = (0..201)
            .map(|_| {
                let start = Instant::now();
                std::hint::black_box(gather(input));
                start.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        eprintln!(
            "{lines} lines, {name}: median {:.0} µs, p90 {:.0} µs; prompt ~{} tokens",
            times[100],
            times[180],
            gather(input).1
        );
    }
    let start = Instant::now();
    let change = change_since(&anchor, &snapshot, doc.cursor, None);
    eprintln!(
        "change_since: {change:?} in {:.1} µs",
        start.elapsed().as_secs_f64() * 1e6
    );
}
