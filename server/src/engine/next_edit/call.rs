//! One next-edit model call, in its own task: the answer is read as it streams ([`Reader`]),
//! cut into hunks as soon as they settle ([`Splitter`]), and each hunk is published at once as
//! edits, so the first one is shown while the model is still writing the rest.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::Intent;
use super::format::{Format, Reader};
use super::stream::{Splitter, hunk_edits, line_break, lines_of};
use crate::edits::TextEdit;
use crate::engine::Ticket;
use crate::engine::stats::Stats;
use crate::providers::{ProviderError, TextStream};

/// What a call settled so far, at the byte offsets of the text it was asked about.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    pub intent: Option<Intent>,
    /// Settled hunks, top to bottom, each as minimal edits.
    pub hunks: Vec<Vec<TextEdit>>,
    pub done: bool,
    pub error: Option<ProviderError>,
}

/// Everything the call's task needs.
pub struct Call {
    pub stream: TextStream,
    pub ticket: Ticket,
    pub format: Format,
    /// The region's original text and where it starts in the document.
    pub region_text: String,
    pub region: Range<usize>,
    pub started: Instant,
}

/// Starts `call`; its progress is published on the returned channel.
pub fn spawn(
    call: Call,
    stats: Arc<Stats>,
) -> (watch::Receiver<Progress>, tokio::task::AbortHandle) {
    let (tx, rx) = watch::channel(Progress::default());
    let task = tokio::spawn(run(call, tx, stats));
    (rx, task.abort_handle())
}

async fn run(mut call: Call, tx: watch::Sender<Progress>, stats: Arc<Stats>) {
    let (old_lines, starts) = lines_of(&call.region_text);
    let ending = line_break(&call.region_text);
    let mut splitter = Splitter::new(old_lines);
    let mut reader = Reader::new(call.format);
    let mut lines = Vec::new();
    let mut seen_lines = 0usize;
    let publish = |hunk: super::stream::Hunk, tx: &watch::Sender<Progress>| {
        let edits = hunk_edits(&call.region_text, &starts, &hunk, ending, call.region.start);
        if edits.is_empty() {
            return;
        }
        tx.send_modify(|p| p.hunks.push(edits));
        if tx.borrow().hunks.len() == 1 {
            stats.next_edit_first_edit(call.started.elapsed());
        }
    };
    let outcome = loop {
        let delta = tokio::select! {
            () = call.ticket.superseded() => {
                stats.cancelled();
                tx.send_modify(|p| p.done = true);
                return;
            }
            delta = call.stream.next() => delta,
        };
        match delta {
            Some(Ok(delta)) => {
                reader.push(&delta, &mut lines);
                if tx.borrow().intent.is_none() && reader.intent().is_some() {
                    tx.send_modify(|p| p.intent = reader.intent());
                }
                for line in lines.drain(..) {
                    seen_lines += 1;
                    if let Some(hunk) = splitter.push(line) {
                        publish(hunk, &tx);
                    }
                }
                if reader.done() {
                    break Ok(());
                }
            }
            Some(Err(error)) => break Err(error),
            None => break Ok(()),
        }
    };
    // Reading stops here: dropping the stream cancels the rest of a `no_edit` answer.
    drop(call.stream);
    let last = reader.finish();
    let intent = reader.intent();
    match outcome {
        Ok(()) => {
            seen_lines += usize::from(last.is_some());
            // An answer with no lines at all says nothing, not "delete the region".
            if intent != Some(Intent::NoEdit) && seen_lines > 0 {
                for hunk in splitter.finish(last) {
                    publish(hunk, &tx);
                }
            }
            stats.next_edit_whole(call.started.elapsed());
            if tx.borrow().hunks.is_empty() {
                stats.next_edit_no_edit();
            }
            tx.send_modify(|p| {
                p.intent = intent;
                p.done = true;
            });
        }
        Err(error) => {
            tracing::debug!("next-edit answer broke off: {error}");
            tx.send_modify(|p| {
                p.intent = p.intent.or(intent);
                p.error = Some(error);
                p.done = true;
            });
        }
    }
}
