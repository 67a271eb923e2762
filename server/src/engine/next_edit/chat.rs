//! The chat format of a next-edit request, for instruction models.
//!
//! The parts go from what changes least to what changes most, for prompt caches: the context
//! holds snippets of the files the user viewed or edited last; the query holds the current file
//! in fixed pages around the cursor (see [`prompt::page_around`]), as it is, then the edit
//! history over all files as diff hunks (oldest first, so it grows at its end), then the
//! editable region between `<|editable_region_start|>` and `<|editable_region_end|>` lines with
//! `<|cursor|>` at the caret. A cache then keeps the file up to where the user edits, and
//! everything but the region across the calls of one version (the cursor's region, then the
//! places a jump tries). The answer's first line states the intent (`intent: no_edit` ends the
//! answer in a few tokens); the region rewritten follows. The region is also sent as the
//! predicted output, where the provider takes one: most of the rewrite is the region unchanged.

use std::ops::Range;

use super::format::{REGION_END, REGION_START};
use super::history;
use super::prompt::{self, Budget, Workspace};
use crate::context::{display_path, estimate_tokens};
use crate::documents::Snapshot;
use crate::providers::{CURSOR_MARKER, ModelInput, ModelRequest};

/// What the model is told about its job.
pub const INSTRUCTIONS: &str = "You predict the next edit a programmer makes. You get \
snippets of files they looked at, the current file, their latest edits as diff hunks (oldest \
first), and the editable region of the current file between the lines \
<|editable_region_start|> and <|editable_region_end|>; <|cursor|> marks the cursor. Predict the \
edit they will make next inside the region: finish the change they started, repeat their \
pattern where it still applies, fix what their edit broke. Answer in this format only. First \
line: `intent: high`, `intent: medium` or `intent: low`, how sure you are that they want this \
edit now; or `intent: no_edit` and nothing else when there is no edit to make. After a high, \
medium or low intent, the whole editable region rewritten with the edit: every line of it, \
without the markers, the cursor marker, explanations or markdown fences.";

/// The chat request for the next edit in `region` of `snapshot` (cursor at `cursor`), showing
/// the file's lines `shown` (from [`prompt::page_around`]).
pub fn request(
    snapshot: &Snapshot,
    cursor: usize,
    region: Range<usize>,
    shown: Range<usize>,
    workspace: &Workspace,
    budget: Budget,
    max_output_tokens: u32,
) -> ModelRequest {
    let rope = &snapshot.rope;
    let path = display_path(&snapshot.uri);
    let mut context = String::new();
    if !workspace.snippets.is_empty() {
        context.push_str("Snippets of files the user viewed or edited recently:\n");
        context.push_str(&prompt::render_snippets(&workspace.snippets));
        context.push('\n');
    }
    let mut query = format!("The current file, {path}:\n");
    if shown.start > 0 {
        query.push_str("...\n");
    }
    query.push_str(&prompt::text(rope, shown.clone()));
    if shown.end < rope.len_lines() {
        query.push_str("...\n");
    }
    let hunks = history::render(&workspace.changes, budget.history);
    if !hunks.is_empty() {
        query.push_str("\nThe user's latest edits, oldest first:\n");
        query.push_str(&hunks);
    }
    let region_text = rope.byte_slice(region.clone()).to_string();
    let first_line = rope.byte_to_line(region.start) + 1;
    let last_line = (first_line + region_text.lines().count()).max(first_line + 1) - 1;
    query.push_str(&format!(
        "\nThe editable region, lines {first_line}-{last_line} of the file:\n{REGION_START}\n"
    ));
    let at = cursor.clamp(region.start, region.end) - region.start;
    let mut marked = region_text.clone();
    if marked.is_char_boundary(at) {
        marked.insert_str(at, CURSOR_MARKER);
    }
    query.push_str(&marked);
    if !marked.ends_with('\n') {
        query.push('\n');
    }
    query.push_str(REGION_END);
    query.push('\n');
    query.push_str("\nAnswer with the intent line, then the editable region rewritten.");
    ModelRequest {
        instructions: INSTRUCTIONS.into(),
        input: ModelInput::Chat { context, query },
        // The intent line, and the region rewritten with room to grow.
        max_output_tokens: max_output_tokens.max(estimate_tokens(&region_text) as u32 * 2 + 64),
        prediction: Some(format!("intent: high\n{region_text}")),
        ..ModelRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentStore;

    fn query_at(snapshot: &Snapshot, cursor: usize) -> String {
        let region = prompt::region(&snapshot.rope, cursor, 2, 5);
        let budget = Budget::of(None);
        let shown = prompt::page_around(&snapshot.rope, &region, budget.file, None);
        let request = request(
            snapshot,
            cursor,
            region,
            shown,
            &Workspace::default(),
            budget,
            64,
        );
        let ModelInput::Chat { context, query } = &request.input else {
            panic!("chat input");
        };
        assert!(context.is_empty());
        assert_eq!(
            request.prediction.as_deref().map(|p| p.lines().count()),
            Some(9),
            "the intent line and the region's 8 lines"
        );
        query.clone()
    }

    /// `p/a.rs` open with 40 lines `let vN = N;`, and its text.
    fn forty_lets() -> (DocumentStore, String) {
        let store = DocumentStore::default();
        let text: String = (0..40).map(|i| format!("let v{i} = {i};\n")).collect();
        store.open("file:///p/a.rs", "rust", 1, &text);
        (store, text)
    }

    #[test]
    fn the_query_shows_the_file_then_the_region_with_the_cursor() {
        let (store, text) = forty_lets();
        let snapshot = store.snapshot("file:///p/a.rs").expect("open");
        let query = query_at(&snapshot, snapshot.rope.line_to_byte(20) + 4);
        assert!(
            query.starts_with(&format!("The current file, p/a.rs:\n{text}")),
            "{query}"
        );
        let region = "The editable region, lines 19-26 of the file:\n<|editable_region_start|>\n\
             let v18 = 18;\nlet v19 = 19;\nlet <|cursor|>v20 = 20;\nlet v21 = 21;\n\
             let v22 = 22;\nlet v23 = 23;\nlet v24 = 24;\nlet v25 = 25;\n<|editable_region_end|>\n";
        assert!(query.contains(region), "{query}");
    }

    #[test]
    fn queries_share_everything_before_the_region_and_the_file_above_an_edit() {
        let (store, _) = forty_lets();
        let snapshot = store.snapshot("file:///p/a.rs").expect("open");
        let rope = &snapshot.rope;
        // The cursor's region, then a place a jump tries: only the region part differs.
        let here = query_at(&snapshot, rope.line_to_byte(20));
        let there = query_at(&snapshot, rope.line_to_byte(33));
        let region_part = here.find("\nThe editable region").expect("a region");
        assert_eq!(here[..region_part], there[..region_part]);
        // After an edit on line 20, the file up to it is the same.
        let change = crate::documents::TextChange {
            range: Some((
                crate::documents::LineCol { line: 20, col: 4 },
                crate::documents::LineCol { line: 20, col: 7 },
            )),
            text: "w20".into(),
        };
        let utf8 = crate::documents::PositionEncoding::Utf8;
        store.change("file:///p/a.rs", 2, &[change], utf8).ok();
        let edited = store.snapshot("file:///p/a.rs").expect("open");
        let after = query_at(&edited, edited.rope.line_to_byte(21));
        let shared = crate::edits::common_prefix_len(here.as_bytes(), after.as_bytes());
        assert_eq!(
            shared,
            here.find("let v20").expect("line 20") + "let ".len()
        );
    }
}
