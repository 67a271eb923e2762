//! Model-backed refactors: rewrite one region of a document (a selection, or the function around
//! the cursor) by a task, and return the minimal edits from the old region to the new one.
//!
//! Listing a refactor costs nothing; this module runs only when the editor resolves or executes
//! one. The model gets a chat-style request: the code around the region with the region marked,
//! the region itself and the task, and answers with the new region only. The answer is collected
//! whole, a markdown fence around it is dropped, and [`crate::edits::diff`] turns it into edits
//! so that the editor sees a one-word change as a one-word edit.

use std::ops::Range;
use std::sync::Arc;

use ropey::Rope;

use super::{Engine, RequestSettings};
use crate::context::{display_path, is_secret_path};
use crate::documents::Snapshot;
use crate::edits::{self, TextEdit};
use crate::providers::{CURSOR_MARKER, ModelInput, ModelRequest, ProviderError};
use crate::syntax::{ScopeKind, enclosing_scope};

/// Context before the region shown to the model, in bytes (cut back to a line start).
const CONTEXT_BEFORE_BYTES: usize = 3_000;
/// Context after the region, in bytes (cut forward to a line end).
const CONTEXT_AFTER_BYTES: usize = 1_500;
/// A function larger than this is not offered as the region for an empty selection: the model
/// would rewrite far more than the user meant, slowly.
const MAX_SCOPE_BYTES: usize = 8_000;
/// What the model is told about its job, for every refactor.
pub const REFACTOR_INSTRUCTIONS: &str = "You edit code. You get a file's path, the code around \
a region with the region between <region> and </region>, the region alone, and a task. Answer \
with only the new code for the region: no explanations, no markdown fences, nothing from outside \
the region. Keep the region's indentation and style.";

/// What to do with the region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    /// The user's own instruction.
    Instruction(String),
    /// Fix the diagnostic with this message.
    FixDiagnostic(String),
    Document,
    Complete,
    Simplify,
}

impl Task {
    /// The task in the words the model reads.
    pub fn describe(&self) -> String {
        match self {
            Task::Instruction(instruction) => instruction.trim().to_owned(),
            Task::FixDiagnostic(message) => {
                format!("Fix this diagnostic reported in the region: {message}")
            }
            Task::Document => "Add documentation comments, in the language's idiomatic style, \
                to the items in the region. Change no code."
                .into(),
            Task::Complete => "Complete the implementation in the region: replace placeholders \
                such as todo!(), unimplemented!(), pass or TODO comments with working code."
                .into(),
            Task::Simplify => {
                "Simplify the code in the region without changing its behaviour.".into()
            }
        }
    }
}

/// The region a refactor rewrites, as a byte range of whole lines. An empty selection (or
/// `prefer_scope`, for a diagnostic) takes the function around `start_byte` when it holds the
/// whole range and is not too large; otherwise the lines the range touches.
pub fn region(
    snapshot: &Snapshot,
    start_byte: usize,
    end_byte: usize,
    prefer_scope: bool,
) -> Range<usize> {
    let rope = &snapshot.rope;
    let start_byte = start_byte.min(rope.len_bytes());
    let end_byte = end_byte.clamp(start_byte, rope.len_bytes());
    if prefer_scope || start_byte == end_byte {
        let scope = snapshot
            .language
            .zip(snapshot.tree_or_parse())
            .and_then(|(language, tree)| {
                enclosing_scope(&tree, language, rope, start_byte, ScopeKind::Function)
            });
        if let Some(scope) = scope.filter(|scope| {
            scope.byte_range.start <= start_byte
                && scope.byte_range.end >= end_byte
                && scope.byte_range.len() <= MAX_SCOPE_BYTES
        }) {
            return whole_lines(rope, scope.byte_range.start, scope.byte_range.end);
        }
    }
    whole_lines(rope, start_byte, end_byte)
}

/// The lines `start_byte..end_byte` touches, with the last line's break. A range ending at a
/// line start does not take that line.
fn whole_lines(rope: &Rope, start_byte: usize, end_byte: usize) -> Range<usize> {
    let start = rope.line_to_byte(rope.byte_to_line(start_byte));
    let end_line = rope.byte_to_line(end_byte);
    let end = if end_byte > start_byte && rope.line_to_byte(end_line) == end_byte {
        end_byte
    } else {
        rope.line_to_byte((end_line + 1).min(rope.len_lines()))
    };
    start..end
}

/// The model request for rewriting `region` by `task`: `None` for a secret or inactive
/// document, which never reaches a model.
pub fn request(
    snapshot: &Snapshot,
    region: Range<usize>,
    task: &Task,
    settings: &RequestSettings,
) -> Option<ModelRequest> {
    if snapshot.inactive.is_some() || is_secret_path(&snapshot.uri, &settings.secret_globs) {
        return None;
    }
    let rope = &snapshot.rope;
    let before_start = region.start.saturating_sub(CONTEXT_BEFORE_BYTES);
    let before_start = if before_start == 0 {
        0
    } else {
        rope.line_to_byte(rope.byte_to_line(before_start) + 1)
            .min(region.start)
    };
    let after_end = region.end + CONTEXT_AFTER_BYTES;
    let after_end = if after_end >= rope.len_bytes() {
        rope.len_bytes()
    } else {
        rope.line_to_byte(rope.byte_to_line(after_end))
            .max(region.end)
    };
    let before = text(rope, before_start..region.start);
    let old = text(rope, region.clone());
    let after = text(rope, region.end..after_end);
    let path = display_path(&snapshot.uri);
    let mut context = format!("Path: {path}\n\n");
    let shown = &old;
    context.push_str(&format!("{before}<region>\n{shown}</region>\n{after}"));
    let query = format!(
        "Task: {}\n\nThe region:\n{shown}\nAnswer with the new region only.",
        task.describe()
    );
    Some(ModelRequest {
        instructions: REFACTOR_INSTRUCTIONS.into(),
        input: ModelInput::Chat { context, query },
        max_output_tokens: settings
            .max_output_tokens
            .max(crate::context::estimate_tokens(&old) as u32 * 2 + 64),
        ..ModelRequest::default()
    })
}

fn text(rope: &Rope, range: Range<usize>) -> String {
    rope.byte_slice(range).to_string()
}

/// The model's answer as the new region: a markdown fence around it dropped, and the old
/// region's final line break kept (or not added).
pub fn clean_answer(answer: &str, old: &str) -> String {
    let answer = answer.replace(CURSOR_MARKER, "");
    let mut text = answer.trim_start_matches(['\n', '\r']);
    if text.starts_with("```") {
        text = text.split_once('\n').map_or("", |(_, rest)| rest);
        let trimmed = text.trim_end();
        if let Some(body) = trimmed.strip_suffix("```") {
            text = body;
        }
    }
    let mut text = text.to_owned();
    let ending = if old.ends_with("\r\n") {
        "\r\n"
    } else if old.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    while text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text.push_str(ending);
    text
}

/// The edits rewriting `region` of the document into `new_region`, at document byte offsets.
pub fn region_edits(rope: &Rope, region: Range<usize>, new_region: &str) -> Vec<TextEdit> {
    let old = text(rope, region.clone());
    edits::diff(&old, new_region)
        .into_iter()
        .map(|edit| TextEdit {
            start_byte: edit.start_byte + region.start,
            end_byte: edit.end_byte + region.start,
            new_text: edit.new_text,
        })
        .collect()
}

impl Engine {
    /// Rewrites `region` of `snapshot` by `task` and returns the edits, at document byte
    /// offsets of `snapshot`'s text. `Ok(None)` when there is nothing to do: no provider, a
    /// secret or inactive document, or an empty answer; `Err` when the provider failed.
    pub async fn refactor(
        &self,
        snapshot: &Snapshot,
        region: Range<usize>,
        task: &Task,
        settings: &RequestSettings,
    ) -> Result<Option<Vec<TextEdit>>, ProviderError> {
        let Some(provider) = self.provider() else {
            return Ok(None);
        };
        let Some(request) = request(snapshot, region.clone(), task, settings) else {
            return Ok(None);
        };
        tracing::trace!(instructions = %request.instructions, input = ?request.input, "refactor prompt");
        // The document's previous call of the same kind is superseded (Helix never cancels),
        // and the call counts against the cap on model calls in flight.
        let lane: Arc<str> = format!("{}#refactor", snapshot.uri).into();
        let Some(answer) = self.collect_answer(&provider, request, &lane).await? else {
            return Ok(None);
        };
        tracing::trace!(%answer, "refactor answer");
        if answer.trim().is_empty() {
            return Ok(None);
        }
        let old = text(&snapshot.rope, region.clone());
        let new_region = clean_answer(&answer, &old);
        Ok(Some(region_edits(&snapshot.rope, region, &new_region)))
    }
}

impl Engine {
    /// One model call on `lane` (superseding the lane's previous call, counted against the cap
    /// on calls in flight), its answer collected whole: `Ok(None)` when a newer call on the
    /// lane superseded it.
    pub(super) async fn collect_answer(
        &self,
        provider: &Arc<dyn crate::providers::Provider>,
        request: ModelRequest,
        lane: &Arc<str>,
    ) -> Result<Option<String>, ProviderError> {
        let ticket = self.scheduler.begin(lane);
        self.stats.model_call(false);
        let mut stream = provider.stream(request);
        let mut answer = String::new();
        loop {
            let delta = tokio::select! {
                () = ticket.superseded() => {
                    self.stats.cancelled();
                    return Ok(None);
                }
                delta = stream.next() => delta,
            };
            match delta {
                Some(delta) => answer.push_str(&delta?),
                None => return Ok(Some(answer)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_is_unwrapped_and_the_line_break_kept() {
        let old = "fn a() {}\n";
        assert_eq!(
            clean_answer("```rust\nfn b() {}\n```\n", old),
            "fn b() {}\n"
        );
        assert_eq!(clean_answer("fn b() {}", old), "fn b() {}\n");
        assert_eq!(clean_answer("fn b() {}\n\n", "x"), "fn b() {}");
        assert_eq!(clean_answer("```\nx\r\n```", "y\r\n"), "x\r\n");
    }

    #[test]
    fn whole_lines_cover_the_selection() {
        let rope = Rope::from_str("ab\ncd\nef");
        assert_eq!(whole_lines(&rope, 1, 1), 0..3);
        assert_eq!(whole_lines(&rope, 1, 4), 0..6);
        assert_eq!(whole_lines(&rope, 3, 6), 3..6);
        assert_eq!(whole_lines(&rope, 7, 8), 6..8);
    }

    #[test]
    fn region_edits_are_minimal_and_at_document_offsets() {
        let rope = Rope::from_str("fn a() {\n    let x = 1;\n}\n");
        let edits = region_edits(&rope, 9..24, "    let y = 1;\n");
        assert_eq!(
            edits,
            vec![TextEdit {
                start_byte: 17,
                end_byte: 18,
                new_text: "y".into()
            }]
        );
    }
}
