//! Rejection memory: suggestions the user turned down (next edits and ghost text), kept
//! (normalised) in a small LRU and carried through every later change of their document, so
//! that the same suggestion is never shown again while it still applies.
//!
//! A remembered suggestion is forgotten as soon as a change touches any text it replaces: the
//! user edited that place (perhaps typing the suggestion themselves), so it no longer applies as
//! it was rejected. Changes elsewhere only move it.

use std::collections::VecDeque;
use std::sync::Arc;

use super::rebase::{self, NormEdit, Step};
use crate::documents::ByteChange;

/// How many rejected suggestions are remembered over all documents.
pub const CAPACITY: usize = 20;

struct Rejected {
    uri: Arc<str>,
    /// The document version the edits are at.
    version: i32,
    edits: Vec<NormEdit>,
}

#[derive(Default)]
pub struct Rejections {
    /// Least recently used first.
    entries: VecDeque<Rejected>,
}

impl Rejections {
    /// Remembers that `edits` (at `version` of `uri`) were rejected.
    pub fn remember(&mut self, uri: &Arc<str>, version: i32, edits: Vec<NormEdit>) {
        if edits.is_empty() {
            return;
        }
        self.entries
            .retain(|entry| !(entry.uri == *uri && entry.edits == edits));
        if self.entries.len() == CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Rejected {
            uri: uri.clone(),
            version,
            edits,
        });
    }

    /// Carries the document's remembered suggestions through `changes` (one `didChange`, which
    /// made `version`); those whose text was touched are forgotten.
    pub fn changed(&mut self, uri: &str, version: i32, changes: &[ByteChange]) {
        self.entries.retain_mut(|entry| {
            if &*entry.uri != uri {
                return true;
            }
            entry.version = version;
            changes
                .iter()
                .all(|change| rebase::rebase(&mut entry.edits, change) == Step::Unrelated)
        });
    }

    /// Whether a suggestion of `edits` at `version` of `uri` repeats a rejected one: any of its
    /// edits is an edit of a remembered suggestion. A match counts as a use (LRU).
    ///
    /// At another version than the memory's (a request that raced a `didChange`), offsets cannot
    /// be compared and the texts alone decide, which can only hold back more, never less.
    pub fn matches(&mut self, uri: &str, version: i32, edits: &[NormEdit]) -> bool {
        let same = |entry: &Rejected, edit: &NormEdit| {
            entry.edits.iter().any(|rejected| {
                rejected.old == edit.old
                    && rejected.new == edit.new
                    && (entry.version != version || rejected.start == edit.start)
            })
        };
        let hit = self
            .entries
            .iter()
            .position(|entry| &*entry.uri == uri && edits.iter().any(|edit| same(entry, edit)));
        if let Some(entry) = hit.and_then(|at| self.entries.remove(at)) {
            self.entries.push_back(entry);
        }
        hit.is_some()
    }

    /// Forgets a closed document's rejections: its text may be different when it is reopened.
    pub fn forget(&mut self, uri: &str) {
        self.entries.retain(|entry| &*entry.uri != uri);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_keeps_the_latest_twenty() {
        let mut rejections = Rejections::default();
        let uri: Arc<str> = "file:///a".into();
        for n in 0..=CAPACITY {
            let edit = NormEdit {
                start: n,
                old: String::new(),
                new: "x".into(),
            };
            rejections.remember(&uri, 1, vec![edit]);
        }
        assert_eq!(rejections.len(), CAPACITY);
        let oldest = NormEdit {
            start: 0,
            old: String::new(),
            new: "x".into(),
        };
        assert!(!rejections.matches(&uri, 1, &[oldest]));
        let newest = NormEdit {
            start: CAPACITY,
            old: String::new(),
            new: "x".into(),
        };
        assert!(rejections.matches(&uri, 1, std::slice::from_ref(&newest)));
        // At another version (a request that raced a change) the texts alone decide.
        let moved = NormEdit {
            start: 99,
            ..newest
        };
        assert!(rejections.matches(&uri, 2, std::slice::from_ref(&moved)));
        assert!(!rejections.matches(&uri, 1, &[moved]));
    }
}
