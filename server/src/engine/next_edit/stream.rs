//! Cuts a streamed rewrite of the editable region into edits as it arrives, so the first one
//! can be shown before the model has finished.
//!
//! The rewrite is compared with the original line by line. While they agree nothing happens;
//! once they differ, the new lines are held until the rewrite agrees with the original again
//! for [`AGREEMENT_LINES`] lines, or for [`SIGNIFICANT_AGREEMENT`] lines that each hold code
//! (a blank line or a lone brace agrees with too much to prove anything). At that point the
//! held lines, minus the agreeing ones, replace the original lines skipped over: one hunk,
//! settled, because nothing the model writes later can touch lines it already went past.
//! Whatever is still held when the answer ends replaces the rest of the original.
//!
//! Law (tested below): applying every hunk to the original gives exactly the whole rewrite.

use std::ops::Range;

use crate::edits::{self, TextEdit};

/// Lines of agreement after a change that settle it.
const AGREEMENT_LINES: usize = 3;
/// Fewer lines settle it when every one of them holds code.
const SIGNIFICANT_AGREEMENT: usize = 2;

/// One settled change: the original lines `old` (indices) become `new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub old: Range<usize>,
    pub new: Vec<String>,
}

/// The line-by-line comparison of a rewrite with the original.
#[derive(Debug)]
pub struct Splitter {
    old: Vec<String>,
    /// Original lines accounted for: they agree, or a settled hunk replaced them.
    at: usize,
    /// New lines since the rewrite last diverged, while it has not re-converged.
    held: Vec<String>,
}

impl Splitter {
    /// `old` holds the original's lines without their line breaks.
    pub fn new(old: Vec<String>) -> Self {
        Self {
            old,
            at: 0,
            held: Vec::new(),
        }
    }

    /// Takes the rewrite's next complete line; returns the hunk it settles, if any.
    pub fn push(&mut self, line: String) -> Option<Hunk> {
        if self.held.is_empty() && self.old.get(self.at) == Some(&line) {
            self.at += 1;
            return None;
        }
        self.held.push(line);
        let (start, agreeing) = self.reconverged()?;
        let mut new = std::mem::take(&mut self.held);
        new.truncate(new.len() - agreeing);
        let hunk = Hunk {
            old: self.at..start,
            new,
        };
        self.at = start + agreeing;
        Some(hunk)
    }

    /// The answer ended (`last` is a final line without a line break, if any): the hunks
    /// still to settle, for whatever is held or left of the original.
    pub fn finish(mut self, last: Option<String>) -> Vec<Hunk> {
        let mut hunks: Vec<Hunk> = last.and_then(|last| self.push(last)).into_iter().collect();
        if !self.held.is_empty() || self.at < self.old.len() {
            hunks.push(Hunk {
                old: self.at..self.old.len(),
                new: self.held,
            });
        }
        hunks
    }

    /// Where the held lines' tail agrees with the original after `at`: the original line the
    /// agreement starts at and how many lines agree.
    fn reconverged(&self) -> Option<(usize, usize)> {
        let held = &self.held;
        [SIGNIFICANT_AGREEMENT, AGREEMENT_LINES]
            .into_iter()
            .filter(|&n| n <= held.len())
            .filter(|&n| {
                n == AGREEMENT_LINES || held[held.len() - n..].iter().all(|l| significant(l))
            })
            .find_map(|n| {
                let tail = &held[held.len() - n..];
                let changed = held.len() - n;
                // Where several places agree (repeated lines), the one that makes the change a
                // replacement of as many lines as it wrote is the likeliest reading: a line
                // rewritten, not a line added here and another removed further down.
                (self.at..=self.old.len().checked_sub(n)?)
                    .filter(|&start| changed > 0 || start > self.at)
                    .filter(|&start| self.old[start..start + n] == *tail)
                    .min_by_key(|&start| (start - self.at).abs_diff(changed))
                    .map(|start| (start, n))
            })
    }
}

/// Whether a line holds code: something besides whitespace and a lone bracket.
fn significant(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.chars().any(char::is_alphanumeric)
}

/// The region's text cut into lines for comparison: without line breaks (`\r\n` or `\n`), and
/// where each line starts, in bytes, with the end of the text last.
pub fn lines_of(text: &str) -> (Vec<String>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut starts = vec![0];
    let mut at = 0;
    for piece in text.split_inclusive('\n') {
        lines.push(
            piece
                .trim_end_matches('\n')
                .trim_end_matches('\r')
                .to_owned(),
        );
        at += piece.len();
        starts.push(at);
    }
    (lines, starts)
}

/// How a region's lines end: its first line's break (`\r\n` or `\n`).
pub fn line_break(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// `hunk` as minimal edits into `region` (the original text, at document byte `offset`), its
/// new lines ending with `ending`.
pub fn hunk_edits(
    region: &str,
    starts: &[usize],
    hunk: &Hunk,
    ending: &str,
    offset: usize,
) -> Vec<TextEdit> {
    let (mut old_start, old_end) = (starts[hunk.old.start], starts[hunk.old.end]);
    let mut new: String = hunk.new.iter().map(|l| format!("{l}{ending}")).collect();
    if old_end == region.len() && !region.ends_with('\n') && !region.is_empty() {
        // The region ends the document without a line break, and so does the rewrite.
        if hunk.new.is_empty() && old_start > 0 {
            // Deleting the last lines deletes the break before them too.
            let before = &region.as_bytes()[..old_start];
            old_start -= if before.ends_with(b"\r\n") { 2 } else { 1 };
        } else if !hunk.new.is_empty() {
            new.truncate(new.len() - ending.len());
            if hunk.old.is_empty() {
                // Lines added after the last line need a break before them instead.
                new.insert_str(0, ending);
            }
        }
    }
    let old = &region[old_start..old_end];
    edits::diff(old, &new)
        .into_iter()
        .map(|edit| TextEdit {
            start_byte: edit.start_byte + old_start + offset,
            end_byte: edit.end_byte + old_start + offset,
            new_text: edit.new_text,
        })
        .collect()
}

#[cfg(test)]
mod tests;
