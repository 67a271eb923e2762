//! The diagnostics the client knows, per document: places a next edit may jump to.
//!
//! They come from two sources: `spark/didChangeDiagnostics` (other servers' diagnostics,
//! forwarded by our own clients; a full replacement per document) and the `context.diagnostics`
//! of `textDocument/codeAction` (the ones overlapping the asked range; added). Errors and warnings are kept (information and hints are not places
//! worth a jump), at most [`MAX_PER_DOCUMENT`] per document, errors first.
//!
//! Positions are converted with the negotiated encoding when they arrive and kept as a line and
//! a byte column. Later edits move them: a diagnostic below an edit moves by the edit's line
//! delta, one on an edited line is dropped (the user is changing that code; the other server
//! will publish again). A document's diagnostics go when it closes.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use ropey::Rope;
use tower_lsp_server::ls_types::{Diagnostic, DiagnosticSeverity};

use spark_protocol::DidChangeDiagnosticsParams;

use super::{Backend, convert};
use crate::documents::{LineCol, PositionEncoding, TextChange};
use crate::engine::DiagnosticMark;

/// Diagnostics kept per document.
pub(super) const MAX_PER_DOCUMENT: usize = 1_000;
/// The longest message kept, in characters (only a prompt ever reads it).
const MAX_MESSAGE_CHARS: usize = 300;

/// One diagnostic, anchored to lines so that edits elsewhere can move it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Stored {
    line: u32,
    /// Byte column of the start on `line`.
    col: usize,
    end_line: u32,
    /// 1 error, 2 warning (a diagnostic without severity counts as an error).
    severity: u8,
    message: String,
}

#[derive(Default)]
pub(super) struct DiagnosticStore {
    docs: Mutex<HashMap<String, Vec<Stored>>>,
}

impl DiagnosticStore {
    fn docs(&self) -> MutexGuard<'_, HashMap<String, Vec<Stored>>> {
        self.docs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces `uri`'s diagnostics with `diagnostics` (positions in `encoding` over `rope`,
    /// the document's text now).
    pub(super) fn replace(
        &self,
        uri: &str,
        rope: &Rope,
        diagnostics: &[Diagnostic],
        encoding: PositionEncoding,
    ) {
        let mut kept: Vec<Stored> = diagnostics
            .iter()
            .filter_map(|d| stored(rope, d, encoding))
            .collect();
        cap(uri, &mut kept);
        self.docs().insert(uri.to_owned(), kept);
    }

    /// Adds the diagnostics a code action request listed (those not kept already). They only
    /// add: a client may list only its own server's diagnostics (Helix does), so what it does
    /// not list says nothing about what the forwarded ones hold.
    pub(super) fn merge_listed(
        &self,
        uri: &str,
        rope: &Rope,
        diagnostics: &[Diagnostic],
        encoding: PositionEncoding,
    ) {
        if diagnostics.is_empty() {
            return;
        }
        let mut docs = self.docs();
        let kept = docs.entry(uri.to_owned()).or_default();
        for diagnostic in diagnostics {
            if let Some(new) = stored(rope, diagnostic, encoding)
                && !kept.contains(&new)
            {
                kept.push(new);
            }
        }
        cap(uri, kept);
    }

    /// Moves `uri`'s diagnostics through one `didChange`'s changes (applied in order).
    pub(super) fn changed(&self, uri: &str, changes: &[TextChange]) {
        let mut docs = self.docs();
        let Some(stored) = docs.get_mut(uri) else {
            return;
        };
        for change in changes {
            match change.range {
                None => stored.clear(),
                Some((start, end)) => stored.retain_mut(|d| moved(d, start, end, &change.text)),
            }
        }
    }

    pub(super) fn close(&self, uri: &str) {
        self.docs().remove(uri);
    }

    /// `uri`'s diagnostics as places in `rope` (the document now), in document order.
    pub(super) fn marks(&self, uri: &str, rope: &Rope) -> Vec<DiagnosticMark> {
        let docs = self.docs();
        let mut marks: Vec<DiagnosticMark> = docs
            .get(uri)
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let line = d.line as usize;
                if line >= rope.len_lines() {
                    return None;
                }
                let line_start = rope.line_to_byte(line);
                let line_end = rope.line_to_byte((line + 1).min(rope.len_lines()));
                let byte = (line_start + d.col).min(line_end);
                // The column may fall inside a character after clamping: its start.
                let byte = rope.char_to_byte(rope.byte_to_char(byte));
                Some(DiagnosticMark {
                    byte,
                    line,
                    message: d.message.clone(),
                })
            })
            .collect();
        marks.sort_by_key(|mark| mark.byte);
        marks
    }
}

impl Backend {
    /// `spark/didChangeDiagnostics`: the client's view of other servers' diagnostics for an
    /// open document. Elements that are not LSP diagnostics are skipped (logged).
    pub(super) async fn did_change_diagnostics(&self, params: DidChangeDiagnosticsParams) {
        let uri = params.text_document.uri;
        let Some(snapshot) = self.documents.snapshot(&uri) else {
            tracing::debug!(uri, "diagnostics for a document that is not open; ignored");
            return;
        };
        let given = params.diagnostics.len();
        let diagnostics: Vec<Diagnostic> = params
            .diagnostics
            .into_iter()
            .filter_map(|value| serde_json::from_value(value).ok())
            .collect();
        if diagnostics.len() < given {
            tracing::debug!(
                uri,
                skipped = given - diagnostics.len(),
                "forwarded diagnostics that are not LSP diagnostics"
            );
        }
        self.diagnostics
            .replace(&uri, &snapshot.rope, &diagnostics, self.encoding());
    }
}

/// `diagnostic` anchored in `rope`, unless it is only information or a hint.
fn stored(rope: &Rope, diagnostic: &Diagnostic, encoding: PositionEncoding) -> Option<Stored> {
    let severity = match diagnostic.severity {
        None | Some(DiagnosticSeverity::ERROR) => 1,
        Some(DiagnosticSeverity::WARNING) => 2,
        Some(_) => return None,
    };
    let start = convert::byte_of(rope, diagnostic.range.start, encoding);
    let end = convert::byte_of(rope, diagnostic.range.end, encoding).max(start);
    let line = rope.byte_to_line(start);
    Some(Stored {
        line: line as u32,
        col: start - rope.line_to_byte(line),
        end_line: rope.byte_to_line(end) as u32,
        severity,
        message: diagnostic.message.chars().take(MAX_MESSAGE_CHARS).collect(),
    })
}

/// Keeps the first [`MAX_PER_DOCUMENT`] diagnostics, errors before warnings.
fn cap(uri: &str, stored: &mut Vec<Stored>) {
    if stored.len() > MAX_PER_DOCUMENT {
        stored.sort_by_key(|d| d.severity);
        tracing::debug!(
            uri,
            dropped = stored.len() - MAX_PER_DOCUMENT,
            "too many diagnostics; kept the first errors"
        );
        stored.truncate(MAX_PER_DOCUMENT);
    }
}

/// Moves `d` through replacing `start..end` (lines and columns in the text before the change)
/// with `text`; false when the change touched its lines, which drops it.
fn moved(d: &mut Stored, start: LineCol, end: LineCol, text: &str) -> bool {
    if d.end_line < start.line {
        return true;
    }
    // Text ending with a line break, or nothing put in place of whole lines, leaves the line
    // at `end` whole and starting a line: a diagnostic on it moves with its column.
    let end_line_whole =
        end.col == 0 && (ends_with_break(text) || (text.is_empty() && start.col == 0));
    if d.line < end.line || (d.line == end.line && !end_line_whole) {
        return false;
    }
    let delta = line_breaks(text) as i64 - i64::from(end.line - start.line.min(end.line));
    let (Ok(line), Ok(end_line)) = (
        u32::try_from(i64::from(d.line) + delta),
        u32::try_from(i64::from(d.end_line) + delta),
    ) else {
        return false;
    };
    d.line = line;
    d.end_line = end_line;
    true
}

/// Line breaks in `text` as LSP counts them: `\n`, `\r\n` and a lone `\r`.
fn line_breaks(text: &str) -> usize {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count()
}

fn ends_with_break(text: &str) -> bool {
    text.ends_with('\n') || text.ends_with('\r')
}

#[cfg(test)]
#[path = "diagnostics_tests.rs"]
mod tests;
