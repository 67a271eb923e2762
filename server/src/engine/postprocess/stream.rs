//! The post-processing pipeline, fed one model delta at a time.
//!
//! Text moves through three stages: `chat` (per raw line: fence, prose or code), `repeat` (the
//! start of the code, held back until it is clear whether it restates the prefix) and `block`
//! (per code line: does the suggestion end here). Complete lines pass each stage once; the line
//! still arriving is judged on copies of the stage states, so each delta costs about its own
//! length plus the current line's, never the whole answer again.

use super::block::{Block, Verdict};
use super::chat::{Chat, ChatVerdict};
use super::cursor::Cursor;
use super::repeat::{self, Candidate, Repeat};
use super::{Decision, PostContext, StopReason, lead, suffix};

pub struct StreamFilter<'a> {
    ctx: PostContext<'a>,
    cursor: Cursor,
    candidates: Vec<Candidate>,
    chat: Chat,
    block: Block,
    /// The raw line still arriving (no line break yet).
    raw_line: String,
    /// The code of complete raw lines, each with its line break.
    code: String,
    repeat: Repeat,
    /// Bytes of `code` the block stage has judged.
    scanned: usize,
    /// The cleaned text: judged lines, then the line still arriving.
    cleaned: String,
    /// Bytes of `cleaned` that are final.
    committed: usize,
    stopped: Option<StopReason>,
}

impl<'a> StreamFilter<'a> {
    pub fn new(ctx: &PostContext<'a>) -> Self {
        let cursor = Cursor::new(ctx);
        Self {
            candidates: repeat::candidates(&cursor, ctx.is_chat_model),
            chat: Chat::new(ctx.is_chat_model),
            block: Block::new(&cursor),
            cursor,
            ctx: *ctx,
            raw_line: String::new(),
            code: String::new(),
            repeat: Repeat::Undecided,
            scanned: 0,
            cleaned: String::new(),
            committed: 0,
            stopped: None,
        }
    }

    /// Takes the next piece of the model's answer.
    pub fn push(&mut self, delta: &str) -> Decision {
        if let Some(reason) = self.stopped {
            return Decision::Stop(reason);
        }
        self.raw_line.push_str(delta);
        while let Some(newline) = self.raw_line.find('\n') {
            let mut line: String = self.raw_line.drain(..=newline).collect();
            // Lines are judged with `\n` breaks; the document's kind goes back on in `apply`.
            if line.ends_with("\r\n") {
                line.truncate(line.len() - 2);
                line.push('\n');
            }
            self.raw_complete_line(&line);
            if let Some(reason) = self.stopped {
                return Decision::Stop(reason);
            }
        }
        self.judge_partial_line();
        self.stopped.map_or(Decision::Continue, Decision::Stop)
    }

    /// The cleaned suggestion so far; its last line may still change.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.cleaned
    }

    /// The part of the cleaned suggestion that is final: complete lines, or everything once
    /// the filter has stopped. Later deltas only add to it, until [`Self::finish`] trims the tail.
    pub fn settled(&self) -> &str {
        if self.stopped.is_some() {
            &self.cleaned
        } else {
            &self.cleaned[..self.committed]
        }
    }

    /// Whether a first complete, non-blank line exists, which is worth showing early.
    #[cfg(test)]
    pub fn first_line_ready(&self) -> bool {
        self.first_line().is_some()
    }

    /// The cleaned text through its first complete non-blank line, once there is one.
    #[cfg(test)]
    pub fn first_line(&self) -> Option<&str> {
        let settled = self.settled();
        let content_start = settled.find(|c: char| !c.is_whitespace())?;
        let line_end = settled[content_start..]
            .find('\n')
            .map_or(settled.len(), |i| content_start + i);
        if line_end == settled.len() && self.stopped.is_none() {
            return None;
        }
        Some(settled[..line_end].trim_end())
    }

    /// The final suggestion, once the stream has ended or was stopped; `None` to show nothing.
    pub fn finish(mut self) -> Option<String> {
        if self.stopped.is_none() {
            let line = std::mem::take(&mut self.raw_line);
            if !line.is_empty() {
                self.raw_complete_line(&line);
            }
            self.advance(true);
        }
        let text = suffix::trim_end(&self.cursor, &self.cleaned);
        if text.trim().is_empty() || repeat::repeats_previous_lines(&self.cursor, text) {
            return None;
        }
        if self.ctx.syntax.is_some_and(|check| check.raises(text)) {
            return None;
        }
        Some(text.to_owned())
    }

    /// A raw line is complete (or is the answer's last): judge it as markdown, then as code.
    fn raw_complete_line(&mut self, line: &str) {
        match self.chat.line(line, true) {
            ChatVerdict::Skip | ChatVerdict::Hold => {}
            ChatVerdict::Code => {
                if self.code.is_empty() {
                    let breaks = lead::breaks(&self.cursor, self.chat.blank_lines_before(), line);
                    self.code.push_str(&"\n".repeat(breaks));
                }
                self.code.push_str(line);
                self.advance(false);
            }
            ChatVerdict::Stop(reason) => {
                self.advance(true);
                self.stopped.get_or_insert(reason);
            }
        }
    }

    /// Runs the repeat and block stages over the code not judged yet. `last` says no more code
    /// will come, so the repeat is decided on what there is and a last line without a line
    /// break is complete.
    fn advance(&mut self, last: bool) {
        if self.stopped.is_some() {
            return;
        }
        if self.repeat == Repeat::Undecided {
            self.repeat = repeat::decide(&self.candidates, &self.code, last);
        }
        let Repeat::Strip(strip) = self.repeat else {
            return;
        };
        self.scanned = self.scanned.max(strip.min(self.code.len()));
        while self.scanned < self.code.len() {
            let rest = &self.code[self.scanned..];
            let line_len = match rest.find('\n') {
                Some(newline) => newline + 1,
                None if last => rest.len(),
                None => return,
            };
            let line = rest[..line_len].to_owned();
            self.scanned += line_len;
            let verdict = self.block.line(&self.cursor, &line, true);
            if self.apply(&line, verdict, true) {
                return;
            }
        }
    }

    /// Judges the raw line still arriving on copies of the stage states. A stop found in it is
    /// final: no later character can undo a closer or an indentation already seen.
    fn judge_partial_line(&mut self) {
        let partial = match self.chat.clone().line(&self.raw_line, false) {
            ChatVerdict::Code => self.raw_line.clone(),
            _ => String::new(),
        };
        if self.repeat == Repeat::Undecided {
            let view = format!("{}{partial}", self.code);
            self.repeat = repeat::decide(&self.candidates, &view, false);
            if self.repeat == Repeat::Undecided {
                return;
            }
            self.advance(false);
            if self.stopped.is_some() {
                return;
            }
        }
        let Repeat::Strip(strip) = self.repeat else {
            return;
        };
        let skip = strip.saturating_sub(self.code.len()).min(partial.len());
        let partial = &partial[skip..];
        let verdict = self.block.clone().line(&self.cursor, partial, false);
        self.apply(partial, verdict, false);
    }

    /// Adds a judged line to the cleaned text, with the document's line break; returns whether
    /// the suggestion stopped.
    fn apply(&mut self, line: &str, verdict: Verdict, complete: bool) -> bool {
        self.cleaned.truncate(self.committed);
        match verdict {
            Verdict::Keep => {
                push_line(&mut self.cleaned, line, self.cursor.newline);
                if complete {
                    self.committed = self.cleaned.len();
                }
                false
            }
            Verdict::Cut { keep_bytes, reason } => {
                push_line(&mut self.cleaned, &line[..keep_bytes], self.cursor.newline);
                self.committed = self.cleaned.len();
                self.stopped = Some(reason);
                true
            }
        }
    }
}

/// Appends `line` to `text`, its `\n` (if it ends with one) replaced by `newline`.
fn push_line(text: &mut String, line: &str, newline: &str) {
    match line.strip_suffix('\n') {
        Some(content) => {
            text.push_str(content);
            text.push_str(newline);
        }
        None => text.push_str(line),
    }
}
