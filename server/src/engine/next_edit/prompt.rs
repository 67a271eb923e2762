//! What a next-edit prompt is made of, whatever its format: the editable region around the
//! cursor, the current file paged around it under a budget, the edit history over all files,
//! and snippets of the files the user viewed or edited last.

use std::ops::Range;

use ropey::Rope;

use super::history::{self, Change};
use crate::context::{RelatedDoc, Snippet, display_path, estimate_tokens, related_snippets};
use crate::documents::{DocumentStore, Snapshot};

/// Lines above and below the cursor the region takes: Copilot's measured 2 and 5, and 10 below
/// right after an accepted next edit (the next change is usually further down).
pub const LINES_ABOVE: usize = 2;
pub const LINES_BELOW: usize = 5;
pub const LINES_BELOW_AFTER_ACCEPT: usize = 10;
/// The region's size cap in tokens; lines below the cursor are dropped first.
const MAX_REGION_TOKENS: usize = 2_000;
/// The current file is shown in pages of this many lines, outward from the region.
const PAGE_LINES: usize = 10;
/// Files looked at for snippets: the most recently viewed or edited.
const RECENT_FILES: usize = 5;
/// The whole prompt's budget in tokens when the provider sets none.
const PROMPT_TOKENS: usize = 5_000;

/// The editable region: whole lines from `above` lines over the cursor's to `below` under it,
/// at most [`MAX_REGION_TOKENS`].
pub fn region(rope: &Rope, cursor: usize, above: usize, below: usize) -> Range<usize> {
    let cursor = cursor.min(rope.len_bytes());
    let line = rope.byte_to_line(cursor);
    let start = rope.line_to_byte(line.saturating_sub(above));
    let mut last = (line + below).min(rope.len_lines().saturating_sub(1));
    loop {
        let end = rope.line_to_byte((last + 1).min(rope.len_lines()));
        let tokens = estimate_tokens(&rope.byte_slice(start..end).to_string());
        if tokens <= MAX_REGION_TOKENS || last == line {
            return start..end.max(cursor);
        }
        last -= 1;
    }
}

/// The token budgets of a prompt's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub file: usize,
    pub history: usize,
    pub snippets: usize,
}

impl Budget {
    /// Shares of `prompt_tokens` (the provider's limit, if it has one).
    pub fn of(prompt_tokens: Option<usize>) -> Self {
        let total = prompt_tokens.unwrap_or(PROMPT_TOKENS).min(PROMPT_TOKENS);
        Self {
            file: total * 2 / 5,
            history: total / 5,
            snippets: total * 2 / 5,
        }
    }
}

/// The parts from outside the current document, taken once per model call.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    pub changes: Vec<Change>,
    pub snippets: Vec<Snippet>,
}

impl Workspace {
    /// The edit history and the snippets for a prompt about `cursor` in `snapshot`.
    pub fn gather(
        documents: &DocumentStore,
        snapshot: &Snapshot,
        cursor: usize,
        secret_globs: &[String],
        budget: Budget,
    ) -> Self {
        let changes =
            history::changes(&documents.edit_timeline(), secret_globs, history::MAX_HUNKS);
        let related: Vec<RelatedDoc> = documents
            .recent_documents(&snapshot.uri, RECENT_FILES)
            .into_iter()
            .map(|(uri, rope)| RelatedDoc {
                path: uri.to_string(),
                rope,
            })
            .collect();
        let snippets = related_snippets(snapshot, cursor, &related, secret_globs, budget.snippets);
        Self { changes, snippets }
    }
}

/// The lines of the current file shown around `region`, within `tokens`: the region's own
/// pages, then pages above it (up to a third of `tokens`) and below it, then more above if the
/// file ends below. The first and last shown lines (0-based, end exclusive).
///
/// Pages are fixed blocks of [`PAGE_LINES`] lines counted from the top of the file, and what is
/// shown above the region depends only on the text above it, which the user is not editing.
/// `steady` is where the document's previous prompt started: it is kept while the lines from
/// there through the region's pages take at most three quarters of `tokens` (so a quarter
/// stays for the lines below). So while the cursor moves down and types, the prompt starts with
/// the same lines every time, and a provider's prompt cache keeps that prefix (OpenAI caches
/// exact prefixes of 1,024 tokens and more; llama.cpp and Ollama reuse the last prompt's
/// common prefix).
pub fn page_around(
    rope: &Rope,
    region: &Range<usize>,
    tokens: usize,
    steady: Option<usize>,
) -> Range<usize> {
    let lines = rope.len_lines();
    let region_first = rope.byte_to_line(region.start);
    let region_end = rope
        .byte_to_line(region.end)
        .max(region_first + 1)
        .min(lines);
    let cost = |range: Range<usize>| estimate_tokens(&text(rope, range));
    let aligned = (region_first / PAGE_LINES * PAGE_LINES)
        ..region_end
            .div_ceil(PAGE_LINES)
            .saturating_mul(PAGE_LINES)
            .min(lines);
    let grow_down = |end: &mut usize, mut left: usize| -> usize {
        while *end < lines {
            let page = *end..(*end + PAGE_LINES).min(lines);
            let page_cost = cost(page.clone());
            if page_cost > left {
                break;
            }
            left -= page_cost;
            *end = page.end;
        }
        left
    };
    if let Some(first) = steady.filter(|&first| first <= aligned.start) {
        let spent = cost(first..aligned.end);
        if spent <= tokens / 4 * 3 {
            let mut end = aligned.end;
            grow_down(&mut end, tokens - spent);
            return first..end;
        }
    }
    let (mut first, mut end) = if cost(aligned.clone()) <= tokens {
        (aligned.start, aligned.end)
    } else {
        (region_first, region_end)
    };
    let mut left = tokens.saturating_sub(cost(first..end));
    let grow_up = |first: &mut usize, budget: usize| -> usize {
        let mut spent = 0;
        while *first > 0 {
            let page = first.saturating_sub(PAGE_LINES)..*first;
            let page_cost = cost(page.clone());
            if spent + page_cost > budget {
                break;
            }
            spent += page_cost;
            *first = page.start;
        }
        spent
    };
    left -= grow_up(&mut first, left.min(tokens / 3));
    let left = grow_down(&mut end, left);
    if end == lines {
        grow_up(&mut first, left);
    }
    first..end
}

/// The text of `lines` (0-based, end exclusive).
pub fn text(rope: &Rope, lines: Range<usize>) -> String {
    let count = rope.len_lines();
    let start = rope.line_to_byte(lines.start.min(count));
    let end = rope.line_to_byte(lines.end.min(count));
    rope.byte_slice(start..end.max(start)).to_string()
}

/// The snippets as `<|snippet|>` blocks with their paths and first lines.
pub fn render_snippets(snippets: &[Snippet]) -> String {
    snippets
        .iter()
        .map(|s| {
            format!(
                "--- {} (from line {})\n{}\n",
                display_path(&s.path),
                s.first_line,
                s.text.trim_end_matches('\n')
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentStore;

    fn numbered(lines: usize) -> Rope {
        Rope::from_str(
            &(0..lines)
                .map(|i| format!("line {i}\n"))
                .collect::<String>(),
        )
    }

    #[test]
    fn the_region_is_two_lines_above_and_five_below() {
        let rope = numbered(30);
        let cursor = rope.line_to_byte(10) + 2;
        let region = region(&rope, cursor, LINES_ABOVE, LINES_BELOW);
        assert_eq!(region, rope.line_to_byte(8)..rope.line_to_byte(16));
        let grown = super::region(&rope, cursor, LINES_ABOVE, LINES_BELOW_AFTER_ACCEPT);
        assert_eq!(grown.end, rope.line_to_byte(21));
        // At the end of a file without a final line break, the region reaches the end.
        let rope = Rope::from_str("a\nb");
        assert_eq!(super::region(&rope, 3, 2, 5), 0..3);
    }

    #[test]
    fn the_workspace_brings_the_history_and_snippets_of_recent_files_but_no_secrets() {
        let store = DocumentStore::default();
        let code = "fn total_price(items: &[Item]) -> u64 {\n    items.iter().map(|item| item.price).sum()\n}\n";
        store.open("file:///p/cart.rs", "rust", 1, code);
        store.open("file:///p/.env", "dotenv", 1, code);
        store.open(
            "file:///p/main.rs",
            "rust",
            1,
            "fn main() {\n    let p = total_price(&items);\n}\n",
        );
        let change = crate::documents::TextChange {
            range: Some((
                crate::documents::LineCol { line: 0, col: 3 },
                crate::documents::LineCol { line: 0, col: 14 },
            )),
            text: "sum_prices".into(),
        };
        let utf8 = crate::documents::PositionEncoding::Utf8;
        store.change("file:///p/cart.rs", 2, &[change], utf8).ok();
        let snapshot = store.snapshot("file:///p/main.rs").expect("open");
        let workspace = Workspace::gather(&store, &snapshot, 20, &[], Budget::of(None));
        let paths: Vec<&str> = workspace.snippets.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["p/cart.rs"]);
        assert!(render_snippets(&workspace.snippets).starts_with("--- p/cart.rs (from line 1)\n"));
        assert_eq!(workspace.changes.len(), 1);
        assert_eq!(
            workspace.changes[0].new,
            ["fn sum_prices(items: &[Item]) -> u64 {"]
        );
        // A small budget (a slow local model) keeps every part smaller.
        assert!(Budget::of(Some(500)).file < Budget::of(None).file);
    }

    #[test]
    fn pages_are_fixed_blocks_around_the_region_within_the_budget() {
        let rope = numbered(100);
        let region = rope.line_to_byte(52)..rope.line_to_byte(58);
        let cost = |lines: Range<usize>| estimate_tokens(&text(&rope, lines));
        // Too little for the region's pages: the region alone.
        assert_eq!(page_around(&rope, &region, 0, None), 52..58);
        // The region's page, then half of the rest above, the rest below.
        assert_eq!(page_around(&rope, &region, cost(50..60), None), 50..60);
        let budget = cost(50..60) + 2 * cost(40..50);
        assert_eq!(page_around(&rope, &region, budget, None), 40..70);
        assert_eq!(page_around(&rope, &region, budget - 1, None), 50..70);
        // At the top of the file, the pages all go below.
        let top = 0..rope.line_to_byte(3);
        let budget = cost(0..10) + cost(10..20) + cost(20..30);
        assert_eq!(page_around(&rope, &top, budget, None), 0..30);
        // Where the file ends below, what is left goes above.
        let bottom = rope.line_to_byte(95)..rope.line_to_byte(99);
        let budget = cost(90..101) + 3 * cost(60..70);
        assert_eq!(page_around(&rope, &bottom, budget, None), 60..101);
        assert_eq!(page_around(&rope, &region, usize::MAX, None), 0..101);
    }

    #[test]
    fn the_top_shown_stays_while_the_cursor_moves_down_until_three_quarters_of_the_budget() {
        let rope = numbered(300);
        let cost = |lines: Range<usize>| estimate_tokens(&text(&rope, lines));
        let budget = cost(0..100);
        let region = |line: usize| rope.line_to_byte(line)..rope.line_to_byte(line + 8);
        let first = page_around(&rope, &region(150), budget, None);
        // The cursor moves down two pages: the same lines shown (without the top kept, they
        // would start two pages lower).
        let later = page_around(&rope, &region(170), budget, Some(first.start));
        assert_eq!(later, first);
        assert_eq!(
            page_around(&rope, &region(170), budget, None).start,
            first.start + 20
        );
        // Past three quarters of the budget from that top, the window moves with the region.
        let far = page_around(&rope, &region(first.start + 80), budget, Some(first.start));
        assert_eq!(
            far,
            page_around(&rope, &region(first.start + 80), budget, None)
        );
        assert!(far.start > first.start);
        // A top below the region is no use.
        assert_eq!(
            page_around(&rope, &region(100), budget, Some(first.start)),
            page_around(&rope, &region(100), budget, None)
        );
    }

    #[test]
    fn typing_in_the_region_keeps_the_lines_shown_above_it() {
        let text: String = (0..300)
            .map(|i| format!("let value_{i} = {i};\n"))
            .collect();
        let mut rope = Rope::from_str(&text);
        let region = |rope: &Rope| rope.line_to_byte(150)..rope.line_to_byte(158);
        let before = page_around(&rope, &region(&rope), 800, None);
        // The user types a long line in the region: the window's top stays.
        let at = rope.line_to_char(153);
        rope.insert(at, &"x".repeat(400));
        let after = page_around(&rope, &region(&rope), 800, None);
        assert_eq!(before.start, after.start);
        assert!(after.end < before.end, "{before:?} {after:?}");
    }
}
