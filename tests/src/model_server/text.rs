//! Deterministic text handling: token estimates, splitting an answer into token pieces,
//! stop sequences and output caps, and corpus mode (continue the prompt's prefix from a text).

use super::config::Endpoint;
use super::state::Shared;

/// Marks the cursor inside a chat-style prompt; corpus mode continues the text before it.
pub const CURSOR_MARKER: &str = "<|cursor|>";

/// How many bytes of the prefix's tail corpus mode tries to find in the corpus.
const MAX_TAIL_BYTES: usize = 256;
/// Shorter tails match almost anywhere, so they count as no match (unless the whole prefix
/// is shorter).
const MIN_TAIL_BYTES: usize = 8;
/// Corpus answers are cut here before splitting, so a huge corpus costs nothing extra.
const MAX_CONTINUATION_BYTES: usize = 64 * 1024;
/// How much of a FIM suffix is looked for to end a corpus answer where the suffix begins.
const SUFFIX_HEAD_BYTES: usize = 32;

/// About four bytes per token, rounded up.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Splits `text` into token pieces of at most four chars. A piece also ends before whitespace
/// that follows non-whitespace and after a newline, so words keep their leading space.
pub fn split_tokens(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut chars = 0;
    for c in text.chars() {
        let after_word = c.is_whitespace() && !current.ends_with(char::is_whitespace);
        let boundary = chars == 4 || (chars > 0 && (after_word || current.ends_with('\n')));
        if boundary {
            pieces.push(std::mem::take(&mut current));
            chars = 0;
        }
        current.push(c);
        chars += 1;
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Why an answer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finish {
    /// The answer ran out (the model's end of sequence).
    End,
    /// The output cap was reached.
    Length,
    /// A stop sequence matched; the answer ends before it.
    Stop(String),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    pub max_tokens: Option<usize>,
    pub stop: Vec<String>,
}

/// The answer a response streams: its token pieces, the whole text and why it ended.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub pieces: Vec<String>,
    pub text: String,
    pub finish: Finish,
}

impl Answer {
    pub fn output_tokens(&self) -> u64 {
        self.pieces.len() as u64
    }
}

/// Applies stop sequences (earliest match wins), then the token cap.
pub(crate) fn shape_answer(raw: &str, limits: &Limits) -> Answer {
    let mut text = raw;
    let mut finish = Finish::End;
    let earliest = limits
        .stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| raw.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at);
    if let Some((at, stop)) = earliest {
        text = &raw[..at];
        finish = Finish::Stop(stop.clone());
    }
    let mut pieces = split_tokens(text);
    if let Some(max) = limits.max_tokens
        && pieces.len() > max
    {
        pieces.truncate(max);
        finish = Finish::Length;
    }
    Answer {
        text: pieces.concat(),
        pieces,
        finish,
    }
}

/// What corpus mode needs from a prompt.
#[derive(Debug, Clone, Default)]
pub(crate) struct PromptText {
    /// Text before the cursor.
    pub prefix: String,
    /// Text after the cursor, for FIM requests.
    pub suffix: Option<String>,
    /// Everything the request said, in order (instructions, every message; a raw prompt), for
    /// answer sources that read the whole question (the next-edit [`super::oracle`]).
    pub whole: String,
}

impl PromptText {
    /// A chat-style prompt: the prefix is the text before [`CURSOR_MARKER`] (all of it when
    /// there is no marker), the suffix what follows the marker.
    pub fn from_chat(last_user_text: &str) -> Self {
        match last_user_text.split_once(CURSOR_MARKER) {
            Some((prefix, suffix)) => Self {
                prefix: prefix.to_owned(),
                suffix: Some(suffix.to_owned()),
                whole: last_user_text.to_owned(),
            },
            None => Self {
                prefix: last_user_text.to_owned(),
                suffix: None,
                whole: last_user_text.to_owned(),
            },
        }
    }

    pub fn fim(prefix: impl Into<String>, suffix: Option<String>) -> Self {
        let prefix = prefix.into();
        Self {
            whole: prefix.clone(),
            prefix,
            suffix,
        }
    }

    /// The same prompt, with `whole` as everything the request said.
    pub fn with_whole(mut self, whole: impl Into<String>) -> Self {
        self.whole = whole.into();
        self
    }
}

/// Picks the raw answer: the next scripted answer for `endpoint`, else the next-edit oracle's
/// (for a question it recognises), else the corpus continuation, else the configured default;
/// then shapes it with `limits`.
pub(crate) fn choose_answer(
    shared: &Shared,
    endpoint: Endpoint,
    prompt: &PromptText,
    limits: &Limits,
) -> Answer {
    if let Some(scripted) = shared.take_answer(endpoint) {
        return shape_answer(&scripted, limits);
    }
    if let Some(answer) = shared
        .oracle()
        .and_then(|o| o.answer(&prompt.whole, limits))
    {
        return answer;
    }
    if let Some(corpus) = shared.corpus() {
        let raw = corpus_continuation(&corpus, &prompt.prefix, prompt.suffix.as_deref());
        return shape_answer(raw, limits);
    }
    shape_answer(&shared.config.default_answer, limits)
}

/// The corpus text after the longest tail of `prefix` (at most [`MAX_TAIL_BYTES`], at least
/// [`MIN_TAIL_BYTES`] or the whole prefix) found in
/// `corpus`; empty when no tail occurs. An empty prefix continues from the corpus start. A FIM
/// answer ends where the start of `suffix` reappears, as a real model stops at the suffix.
pub(crate) fn corpus_continuation<'c>(
    corpus: &'c str,
    prefix: &str,
    suffix: Option<&str>,
) -> &'c str {
    let start = match longest_tail_end(corpus, prefix) {
        Some(start) => start,
        None if prefix.is_empty() => 0,
        None => return "",
    };
    let mut rest = &corpus[start..];
    rest = &rest[..floor_char_boundary(rest, MAX_CONTINUATION_BYTES)];
    if let Some(head) = suffix.map(suffix_head).filter(|h| !h.trim().is_empty())
        && let Some(at) = rest.find(head)
    {
        rest = &rest[..at];
    }
    rest
}

/// Byte offset in `corpus` just after the first occurrence of the longest matching tail.
fn longest_tail_end(corpus: &str, prefix: &str) -> Option<usize> {
    let mut from = prefix.len().saturating_sub(MAX_TAIL_BYTES);
    while !prefix.is_char_boundary(from) {
        from += 1;
    }
    let mut tail = &prefix[from..];
    let min = MIN_TAIL_BYTES.min(prefix.len()).max(1);
    while tail.len() >= min {
        if let Some(at) = corpus.find(tail) {
            return Some(at + tail.len());
        }
        let mut chars = tail.chars();
        chars.next();
        tail = chars.as_str();
    }
    None
}

fn suffix_head(suffix: &str) -> &str {
    &suffix[..floor_char_boundary(suffix, SUFFIX_HEAD_BYTES)]
}

fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    let mut at = max;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_with_leading_space() {
        assert_eq!(
            split_tokens("hello world\n  x"),
            ["hell", "o", " wor", "ld", "\n", "  x"]
        );
        assert_eq!(split_tokens("héllo").concat(), "héllo");
    }

    #[test]
    fn stop_then_cap() {
        let limits = Limits {
            max_tokens: Some(100),
            stop: vec!["\n\n".into(), "}".into()],
        };
        let answer = shape_answer("let x = 1;\n}\n\nmore", &limits);
        assert_eq!(answer.text, "let x = 1;\n");
        assert_eq!(answer.finish, Finish::Stop("}".into()));
        let capped = shape_answer(
            "aaaa bbbb cccc",
            &Limits {
                max_tokens: Some(2),
                stop: vec![],
            },
        );
        assert_eq!(
            (capped.text.as_str(), capped.finish),
            ("aaaa bbb", Finish::Length)
        );
    }

    #[test]
    fn corpus_continues_longest_tail() {
        let corpus = "fn a() {\n    one();\n}\nfn b() {\n    two();\n}\n";
        assert_eq!(
            corpus_continuation(corpus, "xyz fn b() {\n", None),
            "    two();\n}\n"
        );
        assert_eq!(
            corpus_continuation(corpus, "fn b() {\n", Some("\n}\n")),
            "    two();"
        );
        assert_eq!(corpus_continuation(corpus, "qqq", None), "");
        assert_eq!(
            corpus_continuation(corpus, "zzzzzzzzzzzzz)", None),
            "",
            "too short a tail"
        );
        assert_eq!(
            corpus_continuation(corpus, "b() {", None),
            "\n    two();\n}\n"
        );
        assert_eq!(corpus_continuation(corpus, "", None), corpus);
    }
}
