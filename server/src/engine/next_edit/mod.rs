//! Next-edit suggestions: the edit the user is likely to make next, in a few lines around the
//! cursor (the editable region).
//!
//! The prompt ([`prompt`], in the [`chat`] or [`sweep`] format chosen by `nextEdit.format`)
//! holds the edit history over all files, the current file around the cursor and snippets of
//! recently viewed files. The answer streams through [`call`]: the model states its intent
//! first (`no_edit` ends the call in a few tokens), then rewrites the region, which is cut into
//! hunks as soon as the rewrite re-converges with the original ([`stream`]). A request is
//! answered with the first hunk as soon as it settles; the call goes on in its task.
//!
//! One entry per document: asking again at the same version (the code action after
//! `spark/nextEdit`, an inline request) takes the entry's current hunk instead of calling the
//! model again. Once the user applied that hunk (the document is the entry's text with it
//! applied), the entry moves to the new version and the next hunk, rebased by the accepted
//! ones, is served without a model call. When none is left, the next call is made right after
//! an accept, and its region reaches further down.

mod call;
pub mod chat;
mod entry;
pub mod format;
pub mod history;
pub mod prompt;
pub mod stream;
pub mod sweep;

mod controller;
mod eagerness;
mod rebase;
mod rejections;
mod tracked;

pub use controller::{Clock, Controller, Gate, Offer, SystemClock};

mod chain;
pub(super) mod jump;
mod locate;
mod repeat;

pub(super) use chain::AnsweredEdits;
pub use jump::{DiagnosticMark, JumpSettings, editable_region, is_jump, places as jump_places};
pub use locate::LOCATION_INSTRUCTIONS;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, MutexGuard};
use std::time::Instant;

use ropey::Rope;

use call::Call;
pub(in crate::engine) use entry::Entry;
use entry::{Waiting, moved};
use format::Format;
use prompt::{Budget, Workspace};

use super::{Engine, RequestSettings};
use crate::context::is_secret_path;
use crate::documents::Snapshot;
use crate::edits::TextEdit;
use crate::providers::ProviderError;

/// How sure the model is that the user wants its edit now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Intent {
    /// Nothing to do; never leaves the engine.
    NoEdit,
    Low,
    Medium,
    High,
}

impl Intent {
    /// The wire name (`low`, `medium`, `high`; `no_edit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::NoEdit => "no_edit",
            Intent::Low => "low",
            Intent::Medium => "medium",
            Intent::High => "high",
        }
    }
}

/// A next-edit suggestion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    /// Sorted, non-overlapping, at the snapshot's byte offsets.
    pub edits: Vec<TextEdit>,
    /// Low, medium or high.
    pub intent: Intent,
    /// The editable region it was asked for, at the snapshot's byte offsets.
    pub region: Range<usize>,
}

/// What a next-edit request gives.
pub type NextEditResult = Result<Option<Suggestion>, ProviderError>;

impl Engine {
    /// The next edit around `cursor_byte` of `snapshot`, as soon as its first hunk settled:
    /// `Ok(None)` when the model proposes none (or says `no_edit`, or there is no provider, or
    /// the document is secret or inactive).
    pub async fn next_edit(
        &self,
        snapshot: &Snapshot,
        cursor_byte: usize,
        settings: &RequestSettings,
    ) -> NextEditResult {
        if snapshot.inactive.is_some() || is_secret_path(&snapshot.uri, &settings.secret_globs) {
            return Ok(None);
        }
        let joined = self.join_next_edit(snapshot, cursor_byte);
        let past_an_accept = matches!(&joined, Ok(waiting) if waiting.index > 0);
        let result = self
            .wait_or_call(snapshot, cursor_byte, settings, joined)
            .await;
        if past_an_accept && matches!(result, Ok(None)) {
            // The user accepted a hunk of a call that then ended with no further one: the
            // document after the accept is asked about, as when the call ended before the
            // accept (the answer must not depend on which came first).
            let joined = self.join_next_edit(snapshot, cursor_byte);
            return self
                .wait_or_call(snapshot, cursor_byte, settings, joined)
                .await;
        }
        result
    }

    /// Waits on the entry `joined`, else starts a call (right after an accept, when the error
    /// says so).
    async fn wait_or_call(
        &self,
        snapshot: &Snapshot,
        cursor_byte: usize,
        settings: &RequestSettings,
        joined: Result<Waiting, bool>,
    ) -> NextEditResult {
        let waiting = match joined {
            Ok(waiting) => {
                self.stats.hit();
                waiting
            }
            Err(after_accept) => {
                let Some(provider) = self.ready_provider(settings.provider_wait).await else {
                    return Ok(None);
                };
                self.start_next_edit(&provider, snapshot, cursor_byte, settings, after_accept)
            }
        };
        wait(waiting).await
    }

    /// The entry `snapshot` can be answered from; else whether the document is right after
    /// an accepted suggestion (so the new call's region grows).
    fn join_next_edit(&self, snapshot: &Snapshot, cursor: usize) -> Result<Waiting, bool> {
        let mut entries = self.next_edit_entries();
        entries
            .get_mut(&snapshot.uri)
            .ok_or(false)?
            .join(snapshot, cursor)
    }

    pub(super) fn next_edit_entries(&self) -> MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.next_edits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first line of `uri` the previous next-edit prompt showed (see `prompt::page_around`).
    pub(super) fn shown_from(&self, uri: &str) -> Option<usize> {
        self.next_edit_entries().get(uri)?.shown_from
    }

    /// Starts a model call for `snapshot` and makes it the document's entry.
    fn start_next_edit(
        &self,
        provider: &Arc<dyn crate::providers::Provider>,
        snapshot: &Snapshot,
        cursor: usize,
        settings: &RequestSettings,
        after_accept: bool,
    ) -> Waiting {
        let started = Instant::now();
        let format = settings.next_edit_format;
        let rope = &snapshot.rope;
        let region = match format {
            Format::Sweep => {
                let around = sweep::WINDOW_LINES_AROUND;
                prompt::region(rope, cursor, around, around)
            }
            Format::Chat if after_accept => prompt::region(
                rope,
                cursor,
                prompt::LINES_ABOVE,
                prompt::LINES_BELOW_AFTER_ACCEPT,
            ),
            Format::Chat => prompt::region(rope, cursor, prompt::LINES_ABOVE, prompt::LINES_BELOW),
        };
        let budget = Budget::of(provider.prompt_tokens());
        let workspace = Workspace::gather(
            &self.documents,
            snapshot,
            cursor,
            &settings.secret_globs,
            budget,
        );
        let max_tokens = settings.max_output_tokens;
        let mut shown_from = None;
        let request = match format {
            Format::Chat => {
                // The previous call's first shown line, kept while it fits (prompt caches).
                let steady = self.shown_from(&snapshot.uri);
                let shown = prompt::page_around(rope, &region, budget.file, steady);
                shown_from = Some(shown.start);
                let region = region.clone();
                chat::request(
                    snapshot, cursor, region, shown, &workspace, budget, max_tokens,
                )
            }
            Format::Sweep => sweep::request(snapshot, region.clone(), &workspace, max_tokens),
        };
        tracing::trace!(?format, instructions = %request.instructions, input = ?request.input, "next-edit prompt");
        let mut entries = self.next_edit_entries();
        if let Some(entry) = entries.get_mut(&snapshot.uri)
            && entry.version == snapshot.version
            && let Ok(waiting) = entry.join(snapshot, cursor)
        {
            // Another request for this version started a call while this one was preparing.
            self.stats.hit();
            return waiting;
        }
        // The document's previous call is superseded (Helix never cancels), and the call
        // counts against the cap on model calls in flight.
        let lane: Arc<str> = format!("{}#next-edit", snapshot.uri).into();
        let ticket = self.scheduler.begin(&lane);
        self.stats.model_call(false);
        self.stats.next_edit_model_call();
        let call = Call {
            stream: provider.stream(request),
            ticket,
            format,
            region_text: rope.byte_slice(region.clone()).to_string(),
            region: region.clone(),
            started,
        };
        let (progress, task) = call::spawn(call, self.stats.clone());
        let entry = Entry {
            version: snapshot.version,
            rope: rope.clone(),
            region: region.clone(),
            accepted: 0,
            shift: 0,
            progress: progress.clone(),
            task,
            shown_from,
        };
        entries.insert(snapshot.uri.clone(), entry);
        Waiting {
            progress,
            index: 0,
            shift: 0,
            region,
        }
    }

    /// The settled next-edit suggestion for `snapshot`'s version, if there is one (the next
    /// hunk, when the user just applied the one before): never waits, never calls the model.
    pub fn ready_next_edit(&self, snapshot: &Snapshot) -> Option<Suggestion> {
        let mut entries = self.next_edit_entries();
        let entry = entries.get_mut(&snapshot.uri)?;
        if entry.version != snapshot.version && !entry.follow_accept(snapshot) {
            return None;
        }
        entry.current()
    }
}

/// Waits until the wanted hunk settled or the call ended.
async fn wait(mut waiting: Waiting) -> NextEditResult {
    let index = waiting.index;
    let progress = waiting
        .progress
        .wait_for(|p| p.hunks.len() > index || p.done)
        .await;
    // The call's task was stopped (a newer call replaced it) before it settled anything.
    let Ok(progress) = progress else {
        return Ok(None);
    };
    match progress.hunks.get(index) {
        Some(hunk) => Ok(Some(Suggestion {
            edits: hunk.iter().map(|e| moved(e, waiting.shift)).collect(),
            intent: progress.intent.unwrap_or(Intent::Medium),
            region: waiting.region,
        })),
        None => match &progress.error {
            Some(error) => Err(error.clone()),
            None => Ok(None),
        },
    }
}

/// Whether `edits` touch the line holding `cursor_byte` (in `rope`'s text): a next edit an
/// inline completion item can show there.
pub fn touches_line(rope: &Rope, edits: &[TextEdit], cursor_byte: usize) -> bool {
    let line = rope.byte_to_line(cursor_byte.min(rope.len_bytes()));
    edits.iter().any(|edit| {
        let first = rope.byte_to_line(edit.start_byte.min(rope.len_bytes()));
        let last = rope.byte_to_line(edit.end_byte.min(rope.len_bytes()));
        first <= line && line <= last
    })
}

/// `edits` (sorted, non-overlapping, into `rope`'s text) as one replacement: the span from the
/// first edit's start to the last edit's end, and its new text.
pub fn as_one_edit(rope: &Rope, edits: &[TextEdit]) -> Option<TextEdit> {
    let (first, last) = (edits.first()?, edits.last()?);
    let mut new_text = String::new();
    let mut at = first.start_byte;
    for edit in edits {
        new_text.extend(rope.byte_slice(at..edit.start_byte).chunks());
        new_text.push_str(&edit.new_text);
        at = edit.end_byte;
    }
    Some(TextEdit {
        start_byte: first.start_byte,
        end_byte: last.end_byte,
        new_text,
    })
}

#[cfg(test)]
mod tests;
