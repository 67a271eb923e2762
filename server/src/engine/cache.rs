//! The typing-through cache: per document, the suggestion being shown and where it applies.
//!
//! An entry remembers the cursor a model call was made for and a few bytes around it (the end of
//! the text before the cursor, the rest of the cursor line after it), plus a handle on the
//! suggestion, which keeps growing while the model streams. A later request is answered from the
//! entry when the document between the remembered bytes holds exactly a prefix of the
//! suggestion: the user typed characters that match it, or accepted part of it. Checking costs
//! one rope seek and a few hundred byte compares, never a copy of the document.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ropey::Rope;
use tokio::sync::watch;

use super::generation::{Progress, State};

/// Bytes before the cursor an entry remembers; enough to tell this spot from any other.
const BEFORE_BYTES: usize = 200;
/// Bytes of the cursor line after the cursor an entry remembers: the suggestion was trimmed
/// against them, so it only holds while they are unchanged.
const AFTER_BYTES: usize = 128;

/// Where a suggestion applies: the cursor and the text around it when it was asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachePoint {
    pub cursor_byte: usize,
    /// Up to [`BEFORE_BYTES`] bytes ending at the cursor.
    pub before: Box<[u8]>,
    /// Up to [`AFTER_BYTES`] bytes after the cursor, not past the end of its line.
    pub after: Box<[u8]>,
}

impl CachePoint {
    /// The point at `cursor_byte` of `rope` (clamped to the text).
    pub fn at(rope: &Rope, cursor_byte: usize) -> Self {
        let cursor_byte = cursor_byte.min(rope.len_bytes());
        let start = cursor_byte.saturating_sub(BEFORE_BYTES);
        let before: Box<[u8]> = rope.bytes_at(start).take(cursor_byte - start).collect();
        let after: Box<[u8]> = rope
            .bytes_at(cursor_byte)
            .take(AFTER_BYTES)
            .take_while(|b| *b != b'\n' && *b != b'\r')
            .collect();
        Self {
            cursor_byte,
            before,
            after,
        }
    }

    /// How many bytes of `suggestion` the user has typed (or accepted) when `rope` has its
    /// cursor at `cursor_byte`; `None` when the text diverged from the suggestion.
    ///
    /// The document must read, from the point's remembered text on: the remembered bytes
    /// before the cursor, then `suggestion[..typed]`, then the remembered rest of the line and
    /// the line's end.
    pub fn typed(&self, rope: &Rope, cursor_byte: usize, suggestion: &str) -> Option<usize> {
        let typed = cursor_byte.checked_sub(self.cursor_byte)?;
        if typed > suggestion.len()
            || !suggestion.is_char_boundary(typed)
            || cursor_byte > rope.len_bytes()
        {
            return None;
        }
        let start = self.cursor_byte - self.before.len();
        let mut actual = rope.bytes_at(start);
        let expected = self
            .before
            .iter()
            .chain(&suggestion.as_bytes()[..typed])
            .chain(self.after.iter());
        for byte in expected {
            if actual.next() != Some(*byte) {
                return None;
            }
        }
        // A shorter remembered rest of the line ended at the line's end: it still must.
        let line_ended =
            self.after.len() == AFTER_BYTES || matches!(actual.next(), None | Some(b'\n' | b'\r'));
        line_ended.then_some(typed)
    }
}

/// What the editor was last shown for a document, for `spark/didAccept`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shown {
    pub cursor_byte: usize,
    pub text: String,
}

struct Entry {
    point: CachePoint,
    progress: watch::Receiver<Progress>,
    shown: Option<Shown>,
}

/// A cache hit: the suggestion's progress and how much of it the user already has.
pub struct Hit {
    pub progress: watch::Receiver<Progress>,
    pub typed: usize,
}

/// One entry per document.
#[derive(Default)]
pub struct SuggestionCache {
    docs: Mutex<HashMap<Arc<str>, Entry>>,
}

impl SuggestionCache {
    /// The entry for `uri` when `rope` at `cursor_byte` continues it; a suggestion still
    /// streaming also matches when the user has typed all of it so far.
    pub fn lookup(&self, uri: &str, rope: &Rope, cursor_byte: usize) -> Option<Hit> {
        let docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        let entry = docs.get(uri)?;
        let progress = entry.progress.borrow();
        let streaming = match progress.state {
            State::Streaming => true,
            State::Done => false,
            State::Dropped | State::Cancelled | State::Failed(_) => return None,
        };
        let typed = entry.point.typed(rope, cursor_byte, &progress.text)?;
        if typed == progress.text.len() && !streaming {
            return None;
        }
        drop(progress);
        Some(Hit {
            progress: entry.progress.clone(),
            typed,
        })
    }

    /// Makes `progress` the document's suggestion at `point`, replacing the previous one.
    pub fn insert(&self, uri: Arc<str>, point: CachePoint, progress: watch::Receiver<Progress>) {
        let entry = Entry {
            point,
            progress,
            shown: None,
        };
        self.docs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uri, entry);
    }

    /// Records that `text` was shown at `cursor_byte`.
    pub fn set_shown(&self, uri: &str, cursor_byte: usize, text: &str) {
        let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = docs.get_mut(uri) {
            entry.shown = Some(Shown {
                cursor_byte,
                text: text.to_owned(),
            });
        }
    }

    /// Whether `text` is what was last shown for `uri`.
    pub fn is_shown(&self, uri: &str, text: &str) -> bool {
        let docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        docs.get(uri)
            .and_then(|entry| entry.shown.as_ref())
            .is_some_and(|shown| shown.text == text)
    }

    /// Takes what was last shown for `uri`: an accept uses it up.
    pub fn take_shown(&self, uri: &str) -> Option<Shown> {
        let mut docs = self.docs.lock().unwrap_or_else(|e| e.into_inner());
        docs.get_mut(uri)?.shown.take()
    }

    /// Forgets every entry (the provider changed: its suggestions are not the new one's).
    pub fn clear(&self) {
        self.docs.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Drops the document's entry; a model call nobody else holds then stops.
    pub fn remove(&self, uri: &str) {
        self.docs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
    }
}

/// Whether `rope` holds `text` at `byte`.
pub fn holds_at(rope: &Rope, byte: usize, text: &str) -> bool {
    if byte + text.len() > rope.len_bytes() {
        return false;
    }
    rope.bytes_at(byte).zip(text.bytes()).all(|(a, b)| a == b)
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
