//! The "next location" question (`nextEdit.modelJump`): when no cheap place holds an edit, one
//! short model call gets the file with numbered lines (around the cursor, within a budget), the
//! user's recent edits and the known diagnostics, and answers one line number or `none`.
//! The answer is input like any other: anything but a number of a line of the file is no place.

use std::sync::Arc;

use ropey::Rope;

use super::jump::{DiagnosticMark, editable_region};
use super::prompt;
use crate::context::{display_path, is_secret_path, render_recent_edits};
use crate::documents::Snapshot;
use crate::engine::{Engine, RequestSettings};
use crate::providers::{ModelInput, ModelRequest, ProviderError};

/// The instructions; the first words are what test models and the benchmark's oracle
/// recognise the question by.
pub const LOCATION_INSTRUCTIONS: &str = "Next edit location. You get a file with numbered \
lines, the user's recent edits and the problems reported in the file. Answer with the number \
of the line where the user's next edit will be, or with none when there is no such line. \
Answer with the number or none only.";
/// The numbered lines shown, in tokens of the file (pages around the cursor's region).
const FILE_TOKENS: usize = 3_000;
/// The recent edits shown, in tokens.
const HISTORY_TOKENS: usize = 400;
/// Diagnostics listed.
const MAX_DIAGNOSTICS: usize = 20;
/// The answer's length: a line number or `none`.
const MAX_OUTPUT_TOKENS: u32 = 40;

/// The question for `snapshot` with the cursor at `cursor`; `None` for a secret or inactive
/// document, which never reaches a model. The file is shown from `steady` while it fits, as
/// the next-edit prompt's (see [`prompt::page_around`]).
pub fn location_request(
    snapshot: &Snapshot,
    cursor: usize,
    diagnostics: &[DiagnosticMark],
    settings: &RequestSettings,
    steady: Option<usize>,
) -> Option<ModelRequest> {
    if snapshot.inactive.is_some() || is_secret_path(&snapshot.uri, &settings.secret_globs) {
        return None;
    }
    let rope = &snapshot.rope;
    let cursor_line = rope.byte_to_line(cursor.min(rope.len_bytes()));
    let region = editable_region(rope, cursor);
    let shown = prompt::page_around(rope, &region, FILE_TOKENS, steady);
    // The file first and the cursor last: what changes least comes first, for prompt caches.
    let mut query = format!("Path: {}\n\nThe file:\n", display_path(&snapshot.uri));
    for line in shown.start..shown.end.min(rope.len_lines()) {
        let text = rope.line(line).to_string();
        let text = text.trim_end_matches(['\n', '\r']);
        query.push_str(&format!("{}: {text}\n", line + 1));
    }
    let recent = render_recent_edits(snapshot, HISTORY_TOKENS);
    if !recent.is_empty() {
        query.push_str(&format!("\nRecent edits, oldest first:\n{recent}"));
    }
    if !diagnostics.is_empty() {
        query.push_str("\nProblems:\n");
        for mark in diagnostics.iter().take(MAX_DIAGNOSTICS) {
            let message = mark.message.lines().next().unwrap_or("");
            query.push_str(&format!("line {}: {message}\n", mark.line + 1));
        }
    }
    query.push_str(&format!("\nThe cursor is on line {}.\n", cursor_line + 1));
    Some(ModelRequest {
        instructions: LOCATION_INSTRUCTIONS.into(),
        input: ModelInput::Chat {
            context: String::new(),
            query,
        },
        max_output_tokens: MAX_OUTPUT_TOKENS,
        ..ModelRequest::default()
    })
}

/// The place the answer names: the first non-blank byte of the 1-based line its first line
/// gives (`42`, `line 42`), when that line is in the file; `None` for `none` or anything else.
pub fn parse_location(answer: &str, rope: &Rope) -> Option<usize> {
    let first = answer.lines().find(|line| !line.trim().is_empty())?;
    let digits = first
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .split(|c: char| !c.is_ascii_digit())
        .next()?;
    let line: usize = digits.parse().ok()?;
    if line == 0 || line > rope.len_lines() {
        return None;
    }
    let start = rope.line_to_byte(line - 1);
    let indent = rope
        .line(line - 1)
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .count();
    Some(start + indent)
}

impl Engine {
    /// Asks the model where the next edit is: `Ok(None)` when it says none (or anything
    /// unusable), there is no provider, or the document is secret or inactive.
    pub(super) async fn locate(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        diagnostics: &[DiagnosticMark],
        settings: &RequestSettings,
    ) -> Result<Option<usize>, ProviderError> {
        let Some(provider) = self.provider() else {
            return Ok(None);
        };
        let steady = self.shown_from(&snapshot.uri);
        let Some(request) = location_request(snapshot, cursor, diagnostics, settings, steady)
        else {
            return Ok(None);
        };
        let lane: Arc<str> = format!("{}#next-location", snapshot.uri).into();
        let Some(answer) = self.collect_answer(&provider, request, &lane).await? else {
            return Ok(None);
        };
        let place = parse_location(&answer, &snapshot.rope);
        tracing::debug!(uri = %snapshot.uri, ?place, "next location answered");
        Ok(place)
    }
}
