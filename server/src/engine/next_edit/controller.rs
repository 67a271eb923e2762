//! The next-edit controller: decides which suggestions are shown, names them, and follows what
//! becomes of them (shown, accepted wholly or in part, rejected).
//!
//! - **Ids**: every suggestion offered gets one, `ne-N` for next edits and `in-N` for ghost
//!   text; the clients send it back with their signals. The same suggestion offered again (the
//!   code action after `spark/nextEdit`, ghost text typed through) keeps its id.
//! - **Shown**: on `spark/didShow`; a client that never sent one for a kind (Helix) has every
//!   answered suggestion of that kind counted as shown when answered.
//! - **Rejected**: dismissed (`spark/didReject`), or left behind after being shown ≥ 1 s: the
//!   user changed the document some other way than applying it, or another suggestion of its
//!   kind was shown. A rejected suggestion goes to the rejection memory ([`Rejections`]); a
//!   rejected next edit also counts against `auto` eagerness and starts a cooldown.
//! - **Accepted**: by signal, or by the document change that applies it (editors that send no
//!   signal). Counted once per suggestion.
//! - **Admitted**: a next edit is offered only if its intent meets the eagerness, it repeats no
//!   rejected suggestion, and no ghost text is on screen on its line at this version (ghost text
//!   wins at the cursor: the user is typing there; in an inline list the next edit may follow it
//!   as an alternative, shown only when the user cycles to it). Ghost text is offered unless it
//!   repeats a rejected one, or was answered for a version the document has left.
//! - **Cooldowns** ([`Gate`]): no next edit for a while after a rejection, and no second model
//!   call for a request on the line asked about (and answered) last at the same document
//!   version.
//!
//! Time comes from a [`Clock`], so tests step it instead of sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ropey::Rope;
use spark_protocol::SuggestionKind;

use super::Intent;
use super::rebase::{self, Step};
use super::tracked::{
    Asked, Ending, Live, MAX_LIVE, Outcome, State, find, held_back, same_suggestion,
};
use crate::config::Eagerness;
use crate::documents::ByteChange;
use crate::edits::TextEdit;
use crate::engine::stats::Stats;

/// Where the controller reads the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The system's monotonic clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Whether a next-edit request may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Ask (or take what the engine has).
    Open,
    /// A next edit was rejected moments ago: answer nothing.
    Cooling,
    /// This line was asked about (and answered) moments ago at this version: take what the
    /// engine found then, with no new model call.
    SameLine,
}

/// A suggestion about to be answered.
pub struct Offer<'a> {
    pub uri: &'a Arc<str>,
    pub version: i32,
    /// The text the edits are into.
    pub rope: &'a Rope,
    pub kind: SuggestionKind,
    pub edits: &'a [TextEdit],
    pub intent: Intent,
    /// The editor displays it as answered (false for an alternative it shows only on request,
    /// such as the second item of an inline list). For a client that sends no show signal,
    /// that is when it counts as shown.
    pub displayed: bool,
}

pub struct Controller {
    clock: Arc<dyn Clock>,
    stats: Arc<Stats>,
    ids: [AtomicU64; 2],
    state: Mutex<State>,
}

pub(super) fn slot(kind: SuggestionKind) -> usize {
    match kind {
        SuggestionKind::Inline => 0,
        SuggestionKind::NextEdit => 1,
    }
}

impl Controller {
    pub fn new(stats: Arc<Stats>, clock: Arc<dyn Clock>) -> Self {
        let state = State {
            cooldown: Duration::from_millis(crate::config::NextEditConfig::default().cooldown_ms),
            ..State::default()
        };
        Self {
            clock,
            stats,
            ids: [AtomicU64::new(1), AtomicU64::new(1)],
            state: Mutex::new(state),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `nextEdit.eagerness` and `nextEdit.cooldownMs`.
    pub fn configure(&self, eagerness: Eagerness, cooldown: Duration) {
        let mut state = self.state();
        state.eagerness.set(eagerness);
        state.cooldown = cooldown;
    }

    /// Whether the user's eagerness is low now (set, or `auto` after many rejections): such a
    /// user gets fewer, surer suggestions, so no extra model call looks for a place.
    pub fn eagerness_is_low(&self) -> bool {
        self.state().eagerness.level() == super::eagerness::Level::Low
    }

    /// Whether a next-edit request at `line` of `uri`'s `version` may go on; an open request is
    /// remembered as the line's latest.
    pub fn gate(&self, uri: &Arc<str>, version: i32, line: usize) -> Gate {
        let now = self.clock.now();
        let mut state = self.state();
        let cooldown = state.cooldown;
        let cooling = |at: Instant| now.saturating_duration_since(at) < cooldown;
        let gate = if state.last_rejection.is_some_and(cooling) {
            Gate::Cooling
        } else if let Some(asked) = state.asked.get(uri)
            && (asked.version, asked.line) == (version, line)
            && asked.done
            && cooling(asked.at)
        {
            Gate::SameLine
        } else {
            Gate::Open
        };
        match gate {
            Gate::Open => {
                let asked = Asked {
                    version,
                    line,
                    at: now,
                    done: false,
                };
                state.asked.insert(uri.clone(), asked);
            }
            Gate::Cooling => self.stats.next_edit_suppressed(),
            Gate::SameLine => {}
        }
        gate
    }

    /// The request [`Controller::gate`] let through for `line` of `uri`'s `version` was
    /// answered.
    pub fn answered(&self, uri: &str, version: i32, line: usize) {
        let mut state = self.state();
        if let Some(asked) = state.asked.get_mut(uri)
            && (asked.version, asked.line) == (version, line)
        {
            asked.done = true;
        }
    }

    /// Admits a suggestion and returns its id, or `None` when it is not to be shown (counted as
    /// suppressed for next edits): nothing to change, a version the document has left, or held
    /// back (see the module docs).
    pub fn offer(&self, offer: &Offer<'_>) -> Option<String> {
        let edits = rebase::normalize(offer.rope, offer.edits);
        if edits.is_empty() {
            return None;
        }
        let now = self.clock.now();
        let mut state = self.state();
        if state
            .versions
            .get(offer.uri)
            .is_some_and(|&current| current != offer.version)
        {
            // Answered for a version the document has left: the editor drops it, and its
            // offsets are not those of the text any more.
            tracing::debug!(uri = %offer.uri, version = offer.version, "stale suggestion");
            return None;
        }
        let kind = offer.kind;
        let same = state.live.iter_mut().find(|live| {
            live.kind == kind
                && live.uri == *offer.uri
                && live.version == offer.version
                && same_suggestion(kind, &live.edits, &edits)
        });
        if let Some(live) = same {
            if kind == SuggestionKind::Inline && edits[0].new.len() > live.edits[0].new.len() {
                live.edits = edits;
            }
            let id = live.id.clone();
            if offer.displayed && !state.signals_shows[slot(kind)] {
                state.mark_shown(&self.stats, &id, now);
            }
            return Some(id);
        }
        if let Some(reason) = held_back(&mut state, offer, &edits) {
            match kind {
                SuggestionKind::Inline => {
                    tracing::debug!(uri = %offer.uri, "ghost text held back: {reason}");
                }
                SuggestionKind::NextEdit => {
                    tracing::debug!(uri = %offer.uri, reason, "next edit held back");
                    self.stats.next_edit_suppressed();
                }
            }
            return None;
        }
        let prefix = match kind {
            SuggestionKind::Inline => "in",
            SuggestionKind::NextEdit => "ne",
        };
        let id = format!(
            "{prefix}-{}",
            self.ids[slot(kind)].fetch_add(1, Ordering::Relaxed)
        );
        if state.live.len() == MAX_LIVE
            && let Some(old) = state.live.pop_front()
        {
            state.remember(old.id, Outcome::Dropped);
        }
        state.live.push_back(Live {
            id: id.clone(),
            kind,
            uri: offer.uri.clone(),
            version: offer.version,
            edits,
            shown_at: None,
            accepted: false,
        });
        if offer.displayed && !state.signals_shows[slot(kind)] {
            state.mark_shown(&self.stats, &id, now);
        }
        Some(id)
    }

    /// `spark/didShow` (or Copilot's `didShowCompletion`): the suggestion `id` (else the
    /// document's latest of `kind`) is on screen.
    pub fn shown(&self, uri: &str, kind: SuggestionKind, id: Option<&str>) {
        let now = self.clock.now();
        let mut state = self.state();
        state.signals_shows[slot(kind)] = true;
        match find(&state, uri, kind, id) {
            Some(at) => {
                let id = state.live[at].id.clone();
                state.mark_shown(&self.stats, &id, now);
            }
            None => state.late_signal(&self.stats, id, "shown"),
        }
    }

    /// `spark/didReject`: the user dismissed the suggestion.
    pub fn rejected(&self, uri: &str, kind: SuggestionKind, id: Option<&str>) {
        let now = self.clock.now();
        let mut state = self.state();
        match find(&state, uri, kind, id) {
            Some(at) => {
                let id = state.live[at].id.clone();
                state.end(&self.stats, &id, Ending::Dismissed, now);
            }
            None => state.late_signal(&self.stats, id, "rejected"),
        }
    }

    /// An accept signal: the suggestion `id` (else the document's latest of `kind`) was taken,
    /// in part when `partial` (it stays followed, as the rest may be typed or accepted too).
    pub fn accepted(&self, uri: &str, kind: SuggestionKind, id: Option<&str>, partial: bool) {
        let now = self.clock.now();
        let mut state = self.state();
        let Some(at) = find(&state, uri, kind, id) else {
            return state.late_signal(&self.stats, id, "accepted");
        };
        if partial {
            let live = &mut state.live[at];
            if live.shown_at.is_none() {
                live.shown_at = Some(now);
                self.stats.shown(kind);
            }
            if !live.accepted {
                live.accepted = true;
                self.stats.kind_accepted(kind, true);
                if kind == SuggestionKind::NextEdit {
                    state.eagerness.record(true);
                }
            }
        } else {
            let id = state.live[at].id.clone();
            state.end(&self.stats, &id, Ending::Accepted, now);
        }
    }

    /// The new text the suggestion `id` (else the document's latest of `kind`) still adds.
    pub fn suggested_text(
        &self,
        uri: &str,
        kind: SuggestionKind,
        id: Option<&str>,
    ) -> Option<String> {
        let state = self.state();
        let at = find(&state, uri, kind, id)?;
        Some(
            state.live[at]
                .edits
                .iter()
                .map(|edit| edit.new.as_str())
                .collect(),
        )
    }

    /// A `didChange` of `uri` made `version` by `changes`: suggestions move with the text; one
    /// the changes applied is accepted, one they went past is left behind.
    pub fn document_changed(&self, uri: &str, version: i32, changes: &[ByteChange]) {
        let now = self.clock.now();
        let mut state = self.state();
        match state.versions.get_mut(uri) {
            Some(current) => *current = version,
            None => {
                state.versions.insert(uri.into(), version);
            }
        }
        state.rejections.changed(uri, version, changes);
        let mut ended = Vec::new();
        for live in state.live.iter_mut().filter(|live| &*live.uri == uri) {
            live.version = version;
            let mut last = Step::Unrelated;
            for change in changes {
                last = rebase::rebase(&mut live.edits, change);
                if matches!(last, Step::Unrelated | Step::Broken | Step::Applied) {
                    break;
                }
            }
            match last {
                Step::Progress => {}
                Step::Applied => ended.push((live.id.clone(), Ending::Accepted)),
                Step::Unrelated | Step::Broken => ended.push((live.id.clone(), Ending::MovedOn)),
            }
        }
        for (id, ending) in ended {
            state.end(&self.stats, &id, ending, now);
        }
    }

    /// The document was closed: its suggestions are left behind and its rejections forgotten.
    pub fn closed(&self, uri: &str) {
        let now = self.clock.now();
        let mut state = self.state();
        let ids: Vec<String> = state
            .live
            .iter()
            .filter(|live| &*live.uri == uri)
            .map(|live| live.id.clone())
            .collect();
        for id in ids {
            state.end(&self.stats, &id, Ending::MovedOn, now);
        }
        state.rejections.forget(uri);
        state.asked.remove(uri);
        state.versions.remove(uri);
    }
}

#[cfg(test)]
#[path = "controller_tests.rs"]
mod tests;
