//! Where to go next: when the editable region around the cursor holds no edit, the next edit is
//! looked for at the next places, nearest first, and the first place that holds one gives the
//! suggestion (which then lies outside the cursor's region: a jump).
//!
//! The places cost no model call to find: the diagnostics the client knows (within
//! [`NEAR_LINES`] first, farther ones after) and the places the user's last edit should repeat
//! (`repeat`: other uses of a renamed identifier, other calls of a changed call). Each place
//! tried is one next-edit call there ([`MAX_TRIES`] at most); when none holds an edit and
//! `nextEdit.modelJump` is on, one short question asks the model for the line (`locate`).
//!
//! The whole answer for a cursor (its own region, then the jump) is kept per document version
//! as an [`Ask`]: asking again anywhere in the same region (the code action after
//! `spark/nextEdit`, a client asking twice) joins it instead of calling the model again. An ask
//! made after an accept (a chain, `chain.rs`) serves the version's next ask wherever its cursor.

use std::ops::Range;
use std::sync::Arc;

use tokio::sync::watch;

use super::repeat;
use super::{NextEditResult, Suggestion, prompt};
use crate::documents::Snapshot;
use crate::edits::TextEdit;
use crate::engine::{Engine, RequestSettings};

/// Diagnostics this many lines from the cursor or closer come before the farther ones.
const NEAR_LINES: usize = 20;
/// Places tried (next-edit calls) per ask, beyond the cursor's own region.
const MAX_TRIES: usize = 3;

/// A diagnostic the client knows, as a place in the document's text now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagnosticMark {
    pub byte: usize,
    pub line: usize,
    pub message: String,
}

/// How an ask may look beyond the cursor's region.
#[derive(Clone, Debug, Default)]
pub struct JumpSettings {
    /// `nextEdit.jumps`.
    pub enabled: bool,
    /// `nextEdit.modelJump`.
    pub model_jump: bool,
    /// The document's diagnostics, in document order.
    pub diagnostics: Vec<DiagnosticMark>,
}

/// A document's latest ask (or the work answering it).
pub(in crate::engine) struct Ask {
    version: i32,
    region: Range<usize>,
    chained: bool,
    /// `None` while it runs.
    result: watch::Receiver<Option<NextEditResult>>,
}

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Asker {
    /// The client, at its cursor: joins an ask of its region, or a chain.
    Client,
    /// The client again, after a chain found nothing elsewhere: its own region only.
    ClientOwnRegion,
    /// The server after an accept: joins any ask of the version.
    Chain,
}

impl Ask {
    fn serves(&self, version: i32, cursor: usize, asker: Asker) -> bool {
        let usable = self.result.borrow().is_some() || self.result.has_changed().is_ok();
        let place = match asker {
            Asker::Client => self.chained || self.holds(cursor),
            Asker::ClientOwnRegion => self.holds(cursor),
            Asker::Chain => true,
        };
        usable && self.version == version && place
    }

    fn holds(&self, cursor: usize) -> bool {
        (self.region.start..=self.region.end).contains(&cursor)
    }
}

/// The editable region a next edit at `cursor` is asked for: what a jump looks beyond, and
/// what a suggestion must leave to be a jump.
pub fn editable_region(rope: &ropey::Rope, cursor: usize) -> Range<usize> {
    prompt::region(rope, cursor, prompt::LINES_ABOVE, prompt::LINES_BELOW)
}

/// Whether `edits` lie outside the editable region around `cursor`: the client shows where they
/// are rather than the edit in place.
pub fn is_jump(rope: &ropey::Rope, edits: &[TextEdit], cursor: usize) -> bool {
    let region = editable_region(rope, cursor);
    edits
        .iter()
        .any(|edit| edit.start_byte < region.start || edit.end_byte > region.end)
}

impl Engine {
    /// The next edit around `cursor`, or, when that region holds none and `jumps` allow, at the
    /// next place that holds one.
    pub async fn next_edit_or_jump(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        settings: &RequestSettings,
        jumps: &JumpSettings,
    ) -> NextEditResult {
        self.ask(snapshot, cursor, settings, jumps, Asker::Client)
            .await
    }

    /// The finished suggestion for an ask at `cursor` of `snapshot`'s version, if one was made:
    /// never waits and never calls the model.
    pub fn ready_next_edit_at(&self, snapshot: &Snapshot, cursor: usize) -> Option<Suggestion> {
        let asks = self.asks.lock().unwrap_or_else(|e| e.into_inner());
        let ask = asks
            .get(&snapshot.uri)
            .filter(|ask| ask.serves(snapshot.version, cursor, Asker::Client))?;
        let result = ask.result.borrow();
        result.as_ref()?.as_ref().ok()?.clone()
    }

    /// Answers an ask at `cursor`, joining the one in flight or done that serves it (see
    /// [`Asker`]).
    pub(super) async fn ask(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        settings: &RequestSettings,
        jumps: &JumpSettings,
        asker: Asker,
    ) -> NextEditResult {
        if !jumps.enabled {
            // Only the cursor's own region: the engine's entry shares it between askers.
            return self.next_edit(snapshot, cursor, settings).await;
        }
        let region = editable_region(&snapshot.rope, cursor);
        let pending = {
            let mut asks = self.asks.lock().unwrap_or_else(|e| e.into_inner());
            match asks.get(&snapshot.uri) {
                Some(ask) if ask.serves(snapshot.version, cursor, asker) => {
                    Err((ask.result.clone(), ask.holds(cursor)))
                }
                _ => {
                    let (tx, result) = watch::channel(None);
                    let ask = Ask {
                        version: snapshot.version,
                        region: region.clone(),
                        chained: asker == Asker::Chain,
                        result,
                    };
                    asks.insert(snapshot.uri.clone(), ask);
                    Ok(tx)
                }
            }
        };
        let tx = match pending {
            Ok(tx) => tx,
            Err((mut result, holds_cursor)) => {
                let result = match result.wait_for(Option::is_some).await {
                    Ok(result) => result.clone().unwrap_or(Ok(None)),
                    Err(_) => Ok(None),
                };
                // A chain that found nothing said nothing about this cursor's own region.
                if matches!(result, Ok(None)) && !holds_cursor && asker == Asker::Client {
                    let own = self.ask(snapshot, cursor, settings, jumps, Asker::ClientOwnRegion);
                    return Box::pin(own).await;
                }
                return result;
            }
        };
        let result = self.find(snapshot, cursor, region, settings, jumps).await;
        tx.send_replace(Some(result.clone()));
        result
    }

    /// The edit in the cursor's region, else at the first of the next places that holds one.
    async fn find(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        region: Range<usize>,
        settings: &RequestSettings,
        jumps: &JumpSettings,
    ) -> NextEditResult {
        // A newer ask for the document stops this one between model calls.
        let key: Arc<str> = format!("{}#next-edit-ask", snapshot.uri).into();
        let ticket = self.requests.begin(&key);
        // First the cursor's own region. After an accept this is also where the rest of a
        // multi-hunk answer is served, before any place is looked for.
        let here = self.next_edit(snapshot, cursor, settings).await?;
        if here.is_some() || ticket.is_superseded() {
            return Ok(here);
        }
        let mut tried = vec![region];
        let mut places = places(snapshot, cursor, &jumps.diagnostics).into_iter();
        while tried.len() <= MAX_TRIES && !ticket.is_superseded() {
            let Some(byte) = places.find(|&byte| !tried.iter().any(|r| r.contains(&byte))) else {
                break;
            };
            tried.push(editable_region(&snapshot.rope, byte));
            if let Some(edits) = self.next_edit(snapshot, byte, settings).await? {
                tracing::debug!(uri = %snapshot.uri, byte, "next edit found at a jump");
                self.stats.next_edit_jump();
                return Ok(Some(edits));
            }
        }
        if !jumps.model_jump || self.controller().eagerness_is_low() || ticket.is_superseded() {
            return Ok(None);
        }
        let Some(byte) = self
            .locate(snapshot, cursor, &jumps.diagnostics, settings)
            .await?
            .filter(|&byte| !tried.iter().any(|r| r.contains(&byte)))
        else {
            return Ok(None);
        };
        if ticket.is_superseded() {
            return Ok(None);
        }
        let found = self.next_edit(snapshot, byte, settings).await?;
        if found.is_some() {
            self.stats.next_edit_jump();
        }
        Ok(found)
    }
}

/// The places to try after the cursor's region, as bytes of `snapshot`'s text: the places the
/// last edits should repeat at and the diagnostics within [`NEAR_LINES`], nearest first (a
/// repeat before a diagnostic on the same line), then the farther diagnostics, nearest first.
pub fn places(snapshot: &Snapshot, cursor: usize, diagnostics: &[DiagnosticMark]) -> Vec<usize> {
    let rope = &snapshot.rope;
    let line = rope.byte_to_line(cursor.min(rope.len_bytes()));
    let tree = snapshot.tree_or_parse();
    let repeats = repeat::places(rope, tree.as_ref(), &snapshot.recent_edits);
    let mut ranked: Vec<(bool, usize, u8, usize)> = repeats
        .iter()
        .map(|place| (place.byte, 0))
        .chain(diagnostics.iter().map(|mark| (mark.byte, 1)))
        .filter(|&(byte, _)| byte <= rope.len_bytes())
        .map(|(byte, kind)| {
            let distance = rope.byte_to_line(byte).abs_diff(line);
            (kind == 1 && distance > NEAR_LINES, distance, kind, byte)
        })
        .collect();
    ranked.sort();
    let mut places: Vec<usize> = Vec::with_capacity(ranked.len());
    for (_, _, _, byte) in ranked {
        if !places.contains(&byte) {
            places.push(byte);
        }
    }
    places
}

#[cfg(test)]
#[path = "jump_tests.rs"]
mod tests;
