//! Text the model repeated from before the cursor.
//!
//! Models, chat models especially, often restate the line being completed (`let x = ` when the
//! cursor is after `let x = `) or the lines above it before writing anything new. Inserted at
//! the cursor, that repeat would duplicate code, so it is cut off the suggestion's start. A
//! suggestion that only restates the previous lines is dropped whole.

use super::cursor::Cursor;

/// Whether the repeat at the suggestion's start is decided yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Repeat {
    /// The text so far could still grow into a repeat: hold it back.
    Undecided,
    /// Cut this many bytes off the suggestion's start (0: no repeat).
    Strip(usize),
}

/// A stretch of text before the cursor the suggestion may start with.
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    text: String,
    /// Leading spaces and tabs may differ (chat models re-indent) unless the candidate is
    /// nothing but indentation.
    exact: bool,
}

/// The texts a suggestion may repeat: the cursor line's text before the cursor, alone and after
/// up to eight whole lines above it.
pub(super) fn candidates(cursor: &Cursor, is_chat_model: bool) -> Vec<Candidate> {
    let line_prefix = cursor.line_prefix.as_str();
    let mut candidates = Vec::new();
    if is_chat_model && !line_prefix.is_empty() && line_prefix.trim().is_empty() {
        // Chat models write whole lines, indentation included.
        candidates.push(Candidate {
            text: line_prefix.to_owned(),
            exact: true,
        });
    }
    let indented = line_prefix.starts_with([' ', '\t']) && !line_prefix.trim().is_empty();
    if indented {
        // The whole cursor line restated with its indentation (`    ret` → `    return x`) is a
        // repeat from any model: a completion never starts with the line's own indentation.
        candidates.push(Candidate {
            text: line_prefix.to_owned(),
            exact: true,
        });
    }
    let word = partial_word(line_prefix);
    if is_unambiguous(line_prefix.trim_start()) {
        candidates.push(Candidate {
            text: line_prefix.to_owned(),
            exact: false,
        });
    } else if is_chat_model && !word.is_empty() {
        // Shown `    r<|cursor|>`, a chat model often answers the whole line, `    return …`.
        candidates.push(Candidate {
            text: line_prefix.to_owned(),
            exact: false,
        });
    }
    if !word.is_empty() && (is_chat_model || word.chars().count() >= 2) {
        // ... or the whole word, `return …`: a completion model would write `eturn`, but a
        // chat model restates the word it was shown cut, and `rreturn` is never meant. A
        // completion model restating it (`sta` → `static`) too, once the word is two letters
        // long: `aa_b` after `a` may be meant, `stastatic` is not.
        candidates.push(Candidate {
            text: word.to_owned(),
            exact: true,
        });
    }
    let lines = &cursor.previous_lines;
    for count in 1..=lines.len() {
        let above = &lines[lines.len() - count..];
        if above.iter().all(|line| line.trim().is_empty()) {
            continue;
        }
        let mut text = above.join("\n");
        text.push('\n');
        text.push_str(line_prefix);
        candidates.push(Candidate { text, exact: false });
    }
    candidates
}

/// The identifier characters right before the cursor: the word being typed.
fn partial_word(line_prefix: &str) -> &str {
    let start = line_prefix
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(line_prefix.len(), |(i, _)| i);
    &line_prefix[start..]
}

/// Whether a suggestion starting with `line_prefix` surely repeats it rather than continuing a
/// word: after `ret`, `return` is more likely a completion than a repeat of `ret`, but after
/// `x = `, `self.` or `pub ` (a finished word), starting with them again is a repeat.
fn is_unambiguous(line_prefix: &str) -> bool {
    let several_tokens = line_prefix
        .chars()
        .any(|c| !(c.is_alphanumeric() || c == '_'));
    !line_prefix.is_empty() && (several_tokens || line_prefix.chars().count() >= 4)
}

/// Decides how much of `text` (the suggestion so far) repeats a candidate. `complete` says the
/// suggestion will not grow any more.
pub(super) fn decide(candidates: &[Candidate], text: &str, complete: bool) -> Repeat {
    let mut longest = 0;
    for candidate in candidates {
        let (text_start, wanted) = if candidate.exact {
            (0, candidate.text.as_str())
        } else {
            (
                indent_len(text),
                &candidate.text[indent_len(&candidate.text)..],
            )
        };
        let text = &text[text_start..];
        if text.len() < wanted.len() && wanted.starts_with(text) && !complete {
            return Repeat::Undecided;
        }
        if !wanted.is_empty() && text.starts_with(wanted) {
            longest = longest.max(text_start + wanted.len());
        }
    }
    Repeat::Strip(longest)
}

fn indent_len(text: &str) -> usize {
    text.len() - text.trim_start_matches([' ', '\t']).len()
}

/// Whether the suggestion's lines are, verbatim (ignoring indentation), the non-empty lines
/// right above the cursor: a model stuck in a loop.
pub(super) fn repeats_previous_lines(cursor: &Cursor, suggestion: &str) -> bool {
    if !cursor.line_prefix.trim().is_empty() {
        return false;
    }
    let ours: Vec<&str> = suggestion
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let theirs: Vec<&str> = cursor
        .previous_lines
        .iter()
        .map(|line| line.trim())
        .filter(|line| !line.is_empty())
        .collect();
    !ours.is_empty() && ours.len() <= theirs.len() && theirs.ends_with(&ours)
}
