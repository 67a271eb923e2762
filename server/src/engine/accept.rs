//! Accepts: the user took the suggestion shown last. Counted once per suggestion, whichever
//! signal comes first, and followed by the next suggestion's model call (speculation).
//!
//! One accept can reach the server twice: VS Code and Neovim insert the text (a `didChange` that
//! inserts exactly the shown suggestion, which is the only signal Helix gives) and then run the
//! item's command (`spark.didAccept`) or send `spark/didAccept`. Either may come first. The first
//! takes the shown suggestion and counts; the other one, of the other kind, only completes what
//! the first could not do (speculate once the text is in the document). A new suggestion shown
//! ends the pairing, so a later explicit accept is never mistaken for the echo of an older one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::cache::{self, Shown};
use super::{Engine, RequestSettings};
use crate::documents::Snapshot;

/// Which way an accept reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptSignal {
    /// A `didChange` that inserted the shown suggestion at once.
    Text,
    /// `spark/didAccept` or the item's `spark.didAccept` command.
    Explicit,
}

/// The accept counted last for a document, until its other signal arrives or a new
/// suggestion is shown.
struct Counted {
    shown: Shown,
    signal: AcceptSignal,
    speculated: bool,
}

#[derive(Default)]
pub(super) struct Accepts {
    docs: Mutex<HashMap<Arc<str>, Counted>>,
}

impl Accepts {
    fn docs(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Counted>> {
        self.docs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new suggestion is shown (or the document closed): signals from now on are new accepts.
    pub(super) fn forget(&self, uri: &str) {
        self.docs().remove(uri);
    }

    pub(super) fn clear(&self) {
        self.docs().clear();
    }

    /// Whether a `didChange` inserting `text` is the second signal of an accept counted already.
    fn awaits_text(&self, uri: &str, text: &str) -> bool {
        self.docs().get(uri).is_some_and(|counted| {
            counted.signal == AcceptSignal::Explicit && counted.shown.text == text
        })
    }

    /// Takes the counted accept when `signal` (inserting `text`, or the whole suggestion) is its
    /// second signal.
    fn take_echo(&self, uri: &str, signal: AcceptSignal, text: Option<&str>) -> Option<Counted> {
        let mut docs = self.docs();
        let counted = docs.get(uri)?;
        let echoes = counted.signal != signal && text.is_none_or(|text| text == counted.shown.text);
        if echoes { docs.remove(uri) } else { None }
    }
}

impl Engine {
    /// Whether an edit that inserted `text` at once is the editor accepting the suggestion
    /// shown last (or the text of an accept already signalled): the accept shows in the text
    /// for editors that send no accept signal.
    pub fn is_shown(&self, uri: &str, text: &str) -> bool {
        text.len() > 1 && (self.cache.is_shown(uri, text) || self.accepts.awaits_text(uri, text))
    }

    /// The user accepted the suggestion shown last (`insert_text`, or all of it). Counted once
    /// per suggestion; unless the cache already holds what follows, asks the model for the
    /// next suggestion at once, so that it is ready (or in flight) when the editor asks.
    /// `snapshot` must be the document after any edit the signal came with.
    pub fn accepted(
        &self,
        snapshot: &Snapshot,
        signal: AcceptSignal,
        insert_text: Option<&str>,
        settings: &RequestSettings,
    ) {
        let uri = &snapshot.uri;
        if let Some(counted) = self.accepts.take_echo(uri, signal, insert_text) {
            // The pairing ends here: the first signal could not speculate when its text was not
            // in the document yet, this one (the edit) brings it.
            tracing::debug!(%uri, ?signal, "accept already counted");
            if !counted.speculated {
                self.speculate(snapshot, &counted.shown, &counted.shown.text, settings);
            }
            return;
        }
        let Some(shown) = self.cache.take_shown(uri) else {
            tracing::debug!(%uri, ?signal, "accept without a shown suggestion");
            return;
        };
        self.stats.accepted();
        let text = insert_text.unwrap_or(&shown.text).to_owned();
        let speculated = self.speculate(snapshot, &shown, &text, settings);
        let counted = Counted {
            shown,
            signal,
            speculated,
        };
        self.accepts.docs().insert(uri.clone(), counted);
    }

    /// Starts the model call for the suggestion after `text` accepted at `shown`, unless the
    /// cache holds it already. False when the text is not in the document yet (the accept's
    /// other signal, the edit, is still to come).
    fn speculate(
        &self,
        snapshot: &Snapshot,
        shown: &Shown,
        text: &str,
        settings: &RequestSettings,
    ) -> bool {
        if !cache::holds_at(&snapshot.rope, shown.cursor_byte, text) {
            tracing::debug!(uri = %snapshot.uri, "accepted text is not in the document (yet)");
            return false;
        }
        let cursor_byte = shown.cursor_byte + text.len();
        let cached = self
            .cache
            .lookup(&snapshot.uri, &snapshot.rope, cursor_byte)
            .is_some();
        if !cached
            && snapshot.inactive.is_none()
            && let Some(provider) = self.provider()
        {
            self.start(&provider, snapshot, cursor_byte, settings, true);
        }
        true
    }
}
