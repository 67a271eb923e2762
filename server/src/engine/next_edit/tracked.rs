//! The suggestions the controller follows, and how each one ends: shown (once), accepted
//! (once, wholly or in part), rejected (dismissed, or left behind after [`SHOWN_LONG_ENOUGH`] on
//! screen) or dropped without counting. A rejected next edit goes to the rejection memory,
//! counts against `auto` eagerness and starts the cooldown; rejected ghost text goes to the
//! memory when it was dismissed, or left behind by a client that says when ghost text is shown.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ropey::Rope;
use spark_protocol::SuggestionKind;

use super::controller::{Offer, slot};
use super::eagerness::Adaptive;
use super::rebase::NormEdit;
use super::rejections::Rejections;
use crate::engine::stats::Stats;

/// How long a suggestion must have been on screen for leaving it behind to count as a rejection.
pub const SHOWN_LONG_ENOUGH: Duration = Duration::from_secs(1);
/// Suggestions followed at once; older unresolved ones are forgotten (never shown, most likely).
pub(super) const MAX_LIVE: usize = 16;
/// Resolved ids remembered, to recognise late signals about them.
const MAX_RESOLVED: usize = 64;

/// A suggestion offered and not resolved yet.
pub(super) struct Live {
    pub(super) id: String,
    pub(super) kind: SuggestionKind,
    pub(super) uri: Arc<str>,
    /// The document version `edits` are at.
    pub(super) version: i32,
    pub(super) edits: Vec<NormEdit>,
    pub(super) shown_at: Option<Instant>,
    /// Counted as accepted already (a partial accept); it may still be typed further.
    pub(super) accepted: bool,
}

/// A next-edit request that went on to the engine.
#[derive(Clone, Copy)]
pub(super) struct Asked {
    pub(super) version: i32,
    pub(super) line: usize,
    pub(super) at: Instant,
    /// Answered: the engine holds what it found (a request in flight is joined instead).
    pub(super) done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Accepted,
    Rejected,
    Dropped,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) live: VecDeque<Live>,
    pub(super) resolved: VecDeque<(String, Outcome)>,
    pub(super) rejections: Rejections,
    pub(super) eagerness: Adaptive,
    /// Per kind (inline, next edit): the client sent a show signal, so answers are not shown yet.
    pub(super) signals_shows: [bool; 2],
    pub(super) cooldown: Duration,
    pub(super) last_rejection: Option<Instant>,
    /// Per document, the request asked last.
    pub(super) asked: HashMap<Arc<str>, Asked>,
    /// Per changed document, its version after the last change.
    pub(super) versions: HashMap<Arc<str>, i32>,
}

impl State {
    pub(super) fn mark_shown(&mut self, stats: &Stats, id: &str, now: Instant) {
        let Some(at) = self.live.iter().position(|live| live.id == id) else {
            return;
        };
        let live = &mut self.live[at];
        if live.shown_at.is_some() {
            return;
        }
        live.shown_at = Some(now);
        let (kind, uri, version) = (live.kind, live.uri.clone(), live.version);
        stats.shown(kind);
        // Counted in `spark/stats`' nextEdit block; ghost text held back is never answered.
        if kind == SuggestionKind::NextEdit {
            let edits = live.edits.clone();
            if self.rejections.matches(&uri, version, &edits) {
                tracing::warn!(id, "a rejected next edit was shown again");
                stats.rejected_reshown();
            }
        }
        // One suggestion of a kind on screen at a time: the others were left behind.
        let others: Vec<String> = self
            .live
            .iter()
            .filter(|other| other.kind == kind && other.id != id && other.shown_at.is_some())
            .map(|other| other.id.clone())
            .collect();
        for other in others {
            self.end(stats, &other, Ending::MovedOn, now);
        }
    }

    /// Resolves the live suggestion `id`.
    pub(super) fn end(&mut self, stats: &Stats, id: &str, ending: Ending, now: Instant) {
        let Some(at) = self.live.iter().position(|live| live.id == id) else {
            return;
        };
        let Some(live) = self.live.remove(at) else {
            return;
        };
        let shown_for = live.shown_at.map(|at| now.saturating_duration_since(at));
        let outcome = match ending {
            Ending::Accepted if live.accepted => Outcome::Accepted,
            Ending::Accepted => {
                if shown_for.is_none() {
                    stats.shown(live.kind);
                }
                stats.kind_accepted(live.kind, false);
                if live.kind == SuggestionKind::NextEdit {
                    self.eagerness.record(true);
                }
                Outcome::Accepted
            }
            _ if live.accepted => Outcome::Accepted,
            Ending::Dismissed => self.reject(stats, &live, ending, shown_for.is_none(), now),
            Ending::MovedOn if shown_for.is_some_and(|d| d >= SHOWN_LONG_ENOUGH) => {
                self.reject(stats, &live, ending, false, now)
            }
            Ending::MovedOn => Outcome::Dropped,
        };
        tracing::debug!(id, ?outcome, "suggestion resolved");
        self.remember(live.id, outcome);
    }

    fn reject(
        &mut self,
        stats: &Stats,
        live: &Live,
        ending: Ending,
        count_shown: bool,
        now: Instant,
    ) -> Outcome {
        if count_shown {
            stats.shown(live.kind);
        }
        stats.kind_rejected(live.kind);
        // Ghost text left behind is remembered only where its time on screen is known: a client
        // that sends no show signals has it "shown" when answered, and editors ask for ghost
        // text on every keystroke, seen or not.
        let seen = ending == Ending::Dismissed || self.signals_shows[slot(SuggestionKind::Inline)];
        if live.kind == SuggestionKind::NextEdit || seen {
            self.rejections
                .remember(&live.uri, live.version, live.edits.clone());
        }
        if live.kind == SuggestionKind::NextEdit {
            self.eagerness.record(false);
            self.last_rejection = Some(now);
        }
        Outcome::Rejected
    }

    /// A signal for a suggestion no longer followed: logged; a show of a rejected one counts.
    pub(super) fn late_signal(&self, stats: &Stats, id: Option<&str>, signal: &str) {
        let outcome = id.and_then(|id| {
            let resolved = self.resolved.iter().find(|(known, _)| known == id);
            resolved.map(|(_, outcome)| *outcome)
        });
        if signal == "shown" && outcome == Some(Outcome::Rejected) {
            tracing::warn!(?id, "a rejected suggestion was shown again");
            stats.rejected_reshown();
        }
        tracing::debug!(
            ?id,
            ?outcome,
            signal,
            "signal for a suggestion not followed"
        );
    }
    pub(super) fn remember(&mut self, id: String, outcome: Outcome) {
        if self.resolved.len() == MAX_RESOLVED {
            self.resolved.pop_front();
        }
        self.resolved.push_back((id, outcome));
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    Accepted,
    /// `spark/didReject`.
    Dismissed,
    /// The document went past it, or another suggestion took its place.
    MovedOn,
}

/// The live suggestion a signal names: by id, else the document's latest of `kind`.
pub(super) fn find(
    state: &State,
    uri: &str,
    kind: SuggestionKind,
    id: Option<&str>,
) -> Option<usize> {
    match id {
        Some(id) => state.live.iter().position(|live| live.id == id),
        None => state
            .live
            .iter()
            .rposition(|live| live.kind == kind && &*live.uri == uri),
    }
}

/// Whether two offers are one suggestion: the same edits, or for ghost text the same point and
/// one text continuing the other (the first line answered, then the whole; typing through it).
pub(super) fn same_suggestion(kind: SuggestionKind, live: &[NormEdit], new: &[NormEdit]) -> bool {
    match (kind, live, new) {
        (SuggestionKind::Inline, [a], [b]) => {
            a.start == b.start
                && a.old == b.old
                && (a.new.starts_with(&b.new) || b.new.starts_with(&a.new))
        }
        _ => live == new,
    }
}

/// Why a suggestion is not shown, if it is not: it repeats a rejected one (either kind), or a
/// next edit is below the eagerness or would compete with ghost text on its line.
pub(super) fn held_back(
    state: &mut State,
    offer: &Offer<'_>,
    edits: &[NormEdit],
) -> Option<&'static str> {
    if offer.kind == SuggestionKind::NextEdit && !state.eagerness.admits(offer.intent) {
        return Some("below the eagerness");
    }
    if state.rejections.matches(offer.uri, offer.version, edits) {
        return Some("rejected before");
    }
    if offer.kind == SuggestionKind::Inline {
        return None;
    }
    // An alternative behind ghost text (the inline list's second item) does not compete.
    let ghost_text_on_its_line = offer.displayed
        && state.live.iter().any(|live| {
            live.kind == SuggestionKind::Inline
                && live.shown_at.is_some()
                && live.uri == *offer.uri
                && live.version == offer.version
                && live.edits.first().is_some_and(|ghost| {
                    let line = offer
                        .rope
                        .byte_to_line(ghost.start.min(offer.rope.len_bytes()));
                    on_line(offer.rope, edits, line)
                })
        });
    ghost_text_on_its_line.then_some("ghost text is on its line")
}

/// Whether any of `edits` (into `rope`'s text) spans `line`.
fn on_line(rope: &Rope, edits: &[NormEdit], line: usize) -> bool {
    let line_of = |byte: usize| rope.byte_to_line(byte.min(rope.len_bytes()));
    edits
        .iter()
        .any(|edit| line_of(edit.start) <= line && line <= line_of(edit.end()))
}
