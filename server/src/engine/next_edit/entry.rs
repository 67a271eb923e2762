//! A document's next-edit entry: the call made for one version, and how far the user took it.
//! The served hunk is the first not accepted yet; once the document is the entry's text with
//! that hunk applied, the entry moves to the new version and every later hunk moves by it.

use std::ops::Range;

use ropey::Rope;
use tokio::sync::watch;

use super::Intent;
use super::Suggestion;
use super::call::Progress;
use crate::documents::Snapshot;
use crate::edits::TextEdit;

/// A document's latest next-edit call and how far the user took it.
pub(in crate::engine) struct Entry {
    /// The version and text the entry stands for now: the asked text with the accepted hunks.
    pub(super) version: i32,
    pub(super) rope: Rope,
    /// The region asked about, in the asked text.
    pub(super) region: Range<usize>,
    /// Hunks the user applied; the next one is served.
    pub(super) accepted: usize,
    /// Bytes the accepted hunks added (negative: removed), to move later hunks by.
    pub(super) shift: isize,
    pub(super) progress: watch::Receiver<Progress>,
    pub(super) task: tokio::task::AbortHandle,
    /// The first line of the file the chat prompt showed, for the next prompt to keep.
    pub(super) shown_from: Option<usize>,
}

impl Drop for Entry {
    /// A replaced entry's call is of no use any more.
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Entry {
    /// The served hunk at the entry's text, once settled.
    pub(super) fn current(&self) -> Option<Suggestion> {
        let progress = self.progress.borrow();
        let hunk = progress.hunks.get(self.accepted)?;
        Some(Suggestion {
            edits: hunk.iter().map(|e| moved(e, self.shift)).collect(),
            intent: progress.intent.unwrap_or(Intent::Medium),
            region: at(self.region.start, self.shift)..at(self.region.end, self.shift),
        })
    }

    /// Whether `snapshot` is the entry's text with its served hunk applied; if so, moves on.
    pub(super) fn follow_accept(&mut self, snapshot: &Snapshot) -> bool {
        let Some(served) = self.current() else {
            return false;
        };
        let delta: isize = served
            .edits
            .iter()
            .map(|e| e.new_text.len() as isize - (e.end_byte - e.start_byte) as isize)
            .sum();
        // Most documents that moved on did not apply the suggestion: their length tells.
        if at(self.rope.len_bytes(), delta) != snapshot.rope.len_bytes() {
            return false;
        }
        let mut applied = self.rope.clone();
        for edit in served.edits.iter().rev() {
            let (start, end) = (
                applied.byte_to_char(edit.start_byte),
                applied.byte_to_char(edit.end_byte),
            );
            applied.remove(start..end);
            applied.insert(start, &edit.new_text);
        }
        if applied != snapshot.rope {
            return false;
        }
        self.shift += delta;
        self.accepted += 1;
        self.version = snapshot.version;
        self.rope = snapshot.rope.clone();
        true
    }

    /// Whether every hunk the call made was accepted.
    pub(super) fn exhausted(&self) -> bool {
        let progress = self.progress.borrow();
        progress.done && progress.hunks.len() <= self.accepted
    }

    /// What a request for `snapshot` at `cursor` can wait on here; else whether the document
    /// is this entry's text right after its last hunk was accepted.
    pub(super) fn join(&mut self, snapshot: &Snapshot, cursor: usize) -> Result<Waiting, bool> {
        if self.version == snapshot.version {
            let after_accept = self.accepted > 0;
            if after_accept && self.exhausted() {
                return Err(true);
            }
            // After an accept the next hunk is served wherever the cursor went.
            if !(after_accept || self.covers(cursor)) || !self.is_usable() {
                return Err(false);
            }
        } else {
            let followed = self.follow_accept(snapshot);
            if !followed || self.exhausted() || !self.is_usable() {
                return Err(followed);
            }
        }
        Ok(Waiting {
            progress: self.progress.clone(),
            index: self.accepted,
            shift: self.shift,
            region: at(self.region.start, self.shift)..at(self.region.end, self.shift),
        })
    }

    fn covers(&self, cursor: usize) -> bool {
        let region = at(self.region.start, self.shift)..=at(self.region.end, self.shift);
        region.contains(&cursor)
    }

    /// Finished, or still running (its task was not stopped mid-call).
    fn is_usable(&self) -> bool {
        self.progress.borrow().done || self.progress.has_changed().is_ok()
    }
}

fn at(byte: usize, shift: isize) -> usize {
    byte.saturating_add_signed(shift)
}

pub(super) fn moved(edit: &TextEdit, shift: isize) -> TextEdit {
    TextEdit {
        start_byte: at(edit.start_byte, shift),
        end_byte: at(edit.end_byte, shift),
        new_text: edit.new_text.clone(),
    }
}

/// What a request waits on: an entry's progress and the hunk index it wants.
pub(super) struct Waiting {
    pub(super) progress: watch::Receiver<Progress>,
    pub(super) index: usize,
    pub(super) shift: isize,
    pub(super) region: Range<usize>,
}
