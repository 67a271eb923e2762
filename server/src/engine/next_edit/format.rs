//! Which prompt format a next edit is asked in, and reading the model's answer in it line by
//! line as it streams: the intent first (chat), then the rewritten region's lines, cleaned of
//! anything that is not code (fences, prompt markers), until the answer says it is done.

use super::Intent;
use crate::config::NextEditFormat;
use crate::providers::CURSOR_MARKER;

/// The editable region's markers in the chat format; lines holding only one are dropped from
/// answers.
pub const REGION_START: &str = "<|editable_region_start|>";
pub const REGION_END: &str = "<|editable_region_end|>";
/// Sweep's block separator: the model writes it when the updated window is complete.
pub const FILE_SEP: &str = "<|file_sep|>";
/// End-of-text markers a raw completion may spell out instead of stopping.
const END_MARKERS: &[&str] = &[FILE_SEP, "<|endoftext|>", "<|im_end|>", "</s>"];

/// A prompt format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// Instruction models: intent line, then the region rewritten.
    #[default]
    Chat,
    /// Sweep next-edit (Qwen2.5-Coder file-sep blocks), a raw completion.
    Sweep,
}

impl Format {
    /// The format `nextEdit.format` asks for; `auto` picks Sweep's own format for a model
    /// whose name says it is one.
    pub fn resolve(setting: NextEditFormat, model: &str) -> Self {
        match setting {
            NextEditFormat::Chat => Format::Chat,
            NextEditFormat::Sweep => Format::Sweep,
            NextEditFormat::Auto if model.to_ascii_lowercase().contains("sweep") => Format::Sweep,
            NextEditFormat::Auto => Format::Chat,
        }
    }
}

/// The intent an answer's first line states, if it is an intent line.
pub fn parse_intent(line: &str) -> Option<Intent> {
    let line = line.trim().trim_matches('`').trim().to_ascii_lowercase();
    let value = line.strip_prefix("intent")?.trim_start();
    let value = value.strip_prefix(':').unwrap_or(value).trim();
    match value.trim_end_matches('.') {
        "no_edit" | "no edit" | "none" => Some(Intent::NoEdit),
        "low" => Some(Intent::Low),
        "medium" => Some(Intent::Medium),
        "high" => Some(Intent::High),
        _ => None,
    }
}

/// Reads one answer as it streams.
#[derive(Debug)]
pub struct Reader {
    format: Format,
    /// Text after the last complete line.
    partial: String,
    intent: Option<Intent>,
    /// Region lines taken so far.
    lines: usize,
    /// The region came inside a markdown fence; its closing fence ends the answer.
    fenced: bool,
    /// The answer is complete: stop reading (no edit stated, an end marker, a closing fence).
    done: bool,
}

impl Reader {
    pub fn new(format: Format) -> Self {
        Self {
            format,
            partial: String::new(),
            // Sweep's answer is the window itself: a change is a confident one.
            intent: (format == Format::Sweep).then_some(Intent::High),
            lines: 0,
            fenced: false,
            done: false,
        }
    }

    /// The intent, once the answer stated it (or turned out not to).
    pub fn intent(&self) -> Option<Intent> {
        self.intent
    }

    /// Whether the rest of the answer can be dropped unread.
    pub fn done(&self) -> bool {
        self.done
    }

    /// Takes `delta`; the region's lines it completed go to `out`.
    pub fn push(&mut self, delta: &str, out: &mut Vec<String>) {
        if self.done {
            return;
        }
        self.partial.push_str(delta);
        while let Some(end) = self.partial.find('\n') {
            let line: String = self.partial.drain(..=end).collect();
            self.line(line.trim_end_matches('\n').trim_end_matches('\r'), out);
            if self.done {
                self.partial.clear();
                return;
            }
        }
        if self.format == Format::Sweep
            && let Some(at) = END_MARKERS
                .iter()
                .filter_map(|m| self.partial.find(m))
                .min()
        {
            // An end marker inside an unfinished line: what comes before it is the last line.
            let last = self.partial[..at].to_owned();
            self.partial.clear();
            if !last.is_empty() {
                self.line(&last, out);
            }
            self.done = true;
        }
    }

    /// The answer ended: its last line, if it had no line break. An answer that stated
    /// nothing at all is no edit.
    pub fn finish(&mut self) -> Option<String> {
        let partial = std::mem::take(&mut self.partial);
        let mut out = Vec::new();
        if !self.done && !partial.is_empty() {
            self.line(partial.trim_end_matches('\r'), &mut out);
        }
        if self.intent.is_none() {
            self.intent = Some(Intent::NoEdit);
        }
        out.pop()
    }

    fn line(&mut self, line: &str, out: &mut Vec<String>) {
        if self.format == Format::Sweep {
            if let Some(at) = END_MARKERS.iter().filter_map(|m| line.find(m)).min() {
                if at > 0 {
                    out.push(line[..at].to_owned());
                }
                self.done = true;
                return;
            }
        } else if self.intent.is_none() {
            match parse_intent(line) {
                Some(intent) => {
                    self.intent = Some(intent);
                    self.done = intent == Intent::NoEdit;
                    return;
                }
                // Copilot's older answer for "nothing to do".
                None if line.trim() == "<NO_CHANGE>" => {
                    self.intent = Some(Intent::NoEdit);
                    self.done = true;
                    return;
                }
                // An older model's answer: the region itself, with no stated intent.
                None => self.intent = Some(Intent::Medium),
            }
        }
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            if self.fenced {
                self.done = true;
                return;
            }
            if self.lines == 0 {
                self.fenced = true;
                return;
            }
        }
        if trimmed == REGION_START || trimmed == REGION_END {
            return;
        }
        self.lines += 1;
        out.push(line.replace(CURSOR_MARKER, ""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines and intent of `answer` fed in `chunk`-byte deltas.
    fn read(format: Format, answer: &str, chunk: usize) -> (Vec<String>, Option<Intent>) {
        let mut reader = Reader::new(format);
        let mut out = Vec::new();
        let bytes: Vec<char> = answer.chars().collect();
        for piece in bytes.chunks(chunk) {
            reader.push(&piece.iter().collect::<String>(), &mut out);
        }
        out.extend(reader.finish());
        (out, reader.intent())
    }

    #[test]
    fn intent_lines_are_read_loosely() {
        assert_eq!(parse_intent("intent: high"), Some(Intent::High));
        assert_eq!(parse_intent("  Intent:LOW "), Some(Intent::Low));
        assert_eq!(parse_intent("`intent: no_edit`"), Some(Intent::NoEdit));
        assert_eq!(parse_intent("intent: maybe"), None);
        assert_eq!(parse_intent("let intent = 1;"), None);
    }

    #[test]
    fn a_chat_answer_gives_its_intent_then_clean_lines() {
        for chunk in [1, 3, 100] {
            let answer = "intent: medium\n```rust\nlet a<|cursor|> = 1;\n<|editable_region_end|>\n```\nExplained.";
            let (lines, intent) = read(Format::Chat, answer, chunk);
            assert_eq!(lines, ["let a = 1;"], "chunk {chunk}");
            assert_eq!(intent, Some(Intent::Medium));
        }
    }

    #[test]
    fn no_edit_stops_the_reading_and_legacy_answers_are_medium() {
        let mut reader = Reader::new(Format::Chat);
        let mut out = Vec::new();
        reader.push("intent: no_edit\nlet a = 2;\n", &mut out);
        assert!(reader.done() && out.is_empty());
        assert_eq!(reader.intent(), Some(Intent::NoEdit));
        let (lines, intent) = read(Format::Chat, "let a = 2;\nlet b = 3;", 4);
        assert_eq!(
            (lines, intent),
            (
                vec!["let a = 2;".into(), "let b = 3;".into()],
                Some(Intent::Medium)
            )
        );
        let (lines, intent) = read(Format::Chat, "<NO_CHANGE>\n", 4);
        assert_eq!((lines.len(), intent), (0, Some(Intent::NoEdit)));
    }

    #[test]
    fn a_sweep_answer_ends_at_the_next_file_separator() {
        for chunk in [1, 5, 100] {
            let (lines, intent) = read(
                Format::Sweep,
                "a = 1\nb = 2<|file_sep|>original/x.py\nzzz\n",
                chunk,
            );
            assert_eq!(lines, ["a = 1", "b = 2"], "chunk {chunk}");
            assert_eq!(intent, Some(Intent::High));
        }
    }

    #[test]
    fn the_format_follows_the_setting_and_the_model_name() {
        assert_eq!(
            Format::resolve(NextEditFormat::Auto, "sweep-next-edit-1.5b"),
            Format::Sweep
        );
        assert_eq!(
            Format::resolve(NextEditFormat::Auto, "gpt-4.1-mini"),
            Format::Chat
        );
        assert_eq!(
            Format::resolve(NextEditFormat::Sweep, "qwen"),
            Format::Sweep
        );
        assert_eq!(
            Format::resolve(NextEditFormat::Chat, "Sweep-1.5B"),
            Format::Chat
        );
    }
}
