//! The chat format of a next-edit request, for instruction models.
//!
//! The context (the part that changes least, first for prompt caches) holds snippets of the
//! files the user viewed or edited last. The query holds the edit history over all files as
//! diff hunks (oldest first, so it grows at its end), then the current file in fixed pages
//! around the cursor (see [`prompt::page_around`]) with the editable region between
//! `<|editable_region_start|>` and `<|editable_region_end|>` lines and `<|cursor|>` at the
//! caret. The answer's first line states the intent (`intent: no_edit` ends the answer in a
//! few tokens); the region rewritten follows. The region is also sent as the predicted output,
//! where the provider takes one: most of the rewrite is the region unchanged.

use std::ops::Range;

use super::format::{REGION_END, REGION_START};
use super::history;
use super::prompt::{self, Budget, Workspace};
use crate::context::{display_path, estimate_tokens};
use crate::documents::Snapshot;
use crate::providers::{CURSOR_MARKER, ModelInput, ModelRequest};

/// What the model is told about its job.
pub const INSTRUCTIONS: &str = "You predict the next edit a programmer makes. You get \
snippets of files they looked at, their latest edits as diff hunks (oldest first), and the \
current file with the editable region between the lines <|editable_region_start|> and \
<|editable_region_end|>; <|cursor|> marks the cursor. Predict the edit they will make next \
inside the region: finish the change they started, repeat their pattern where it still \
applies, fix what their edit broke. Answer in this format only. First line: `intent: high`, \
`intent: medium` or `intent: low`, how sure you are that they want this edit now; or \
`intent: no_edit` and nothing else when there is no edit to make. After a high, medium or low \
intent, the whole editable region rewritten with the edit: every line of it, without the \
markers, the cursor marker, explanations or markdown fences.";

/// The chat request for the next edit in `region` of `snapshot` (cursor at `cursor`).
pub fn request(
    snapshot: &Snapshot,
    cursor: usize,
    region: Range<usize>,
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
    let mut query = String::new();
    let hunks = history::render(&workspace.changes, budget.history);
    if !hunks.is_empty() {
        query.push_str("The user's latest edits, oldest first:\n");
        query.push_str(&hunks);
        query.push('\n');
    }
    let region_text = rope.byte_slice(region.clone()).to_string();
    let shown = prompt::page_around(rope, &region, budget.file);
    let first_region_line = rope.byte_to_line(region.start);
    let end_region_line = rope.byte_to_line(region.end).max(first_region_line);
    query.push_str(&format!("The current file, {path}:\n"));
    if shown.start > 0 {
        query.push_str("...\n");
    }
    query.push_str(&prompt::text(rope, shown.start..first_region_line));
    query.push_str(REGION_START);
    query.push('\n');
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
    query.push_str(&prompt::text(rope, end_region_line..shown.end));
    if shown.end < rope.len_lines() {
        query.push_str("...\n");
    }
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

    #[test]
    fn the_query_marks_the_region_and_the_cursor_inside_the_file() {
        let store = DocumentStore::default();
        let text: String = (0..40).map(|i| format!("let v{i} = {i};\n")).collect();
        store.open("file:///p/a.rs", "rust", 1, &text);
        let snapshot = store.snapshot("file:///p/a.rs").expect("open");
        let cursor = snapshot.rope.line_to_byte(20) + 4;
        let region = prompt::region(&snapshot.rope, cursor, 2, 5);
        let budget = Budget::of(None);
        let request = request(&snapshot, cursor, region, &Workspace::default(), budget, 64);
        let ModelInput::Chat { context, query } = &request.input else {
            panic!("chat input");
        };
        assert!(context.is_empty());
        let expected = "let v17 = 17;\n<|editable_region_start|>\nlet v18 = 18;\nlet v19 = 19;\n\
             let <|cursor|>v20 = 20;\nlet v21 = 21;\n";
        assert!(query.contains(expected), "{query}");
        assert!(
            query.contains("let v25 = 25;\n<|editable_region_end|>\nlet v26 = 26;\n"),
            "{query}"
        );
        assert!(query.starts_with("The current file, p/a.rs:\n"), "{query}");
        assert_eq!(
            request.prediction.as_deref().map(|p| p.lines().count()),
            Some(9),
            "the intent line and the region's 8 lines"
        );
    }
}
