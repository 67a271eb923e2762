//! Markdown and prose around the code in a chat model's answer.
//!
//! Chat models wrap code in ```` ```lang ```` fences, open with "Here is…" and close with an
//! explanation. Code-completion (FIM) models do neither, so prose detection runs only for chat
//! models; a leading fence is stripped for any model, since no code line starts with three
//! backticks.

use super::StopReason;

/// What to do with one line of the raw answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ChatVerdict {
    /// Not code: drop it.
    Skip,
    /// Not decided yet (a partial line that may still become a fence or prose): hold it.
    Hold,
    Code,
    Stop(StopReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the code: fences open here, prose and blank lines are dropped.
    Before,
    InFence,
    /// Code that came without a fence.
    Bare,
}

#[derive(Clone, Debug)]
pub(super) struct Chat {
    is_chat_model: bool,
    state: State,
    /// Whether the last code line was blank: an explanation follows a blank line.
    after_blank: bool,
    /// Blank lines before the code (chat models only; in a fence they are code). A chat answer
    /// that starts with a line break may mean it: see `lead`.
    blank_lines_before: usize,
    /// Prose came before the code: blank lines after it are layout, not line breaks.
    prose_before: bool,
}

impl Chat {
    pub(super) fn new(is_chat_model: bool) -> Self {
        Self {
            is_chat_model,
            state: State::Before,
            after_blank: false,
            blank_lines_before: 0,
            prose_before: false,
        }
    }

    /// The blank lines a chat model wrote before its first code line, when they may be line
    /// breaks the suggestion starts with (no prose or fence before them).
    pub(super) fn blank_lines_before(&self) -> usize {
        if self.prose_before || self.state != State::Bare {
            0
        } else {
            self.blank_lines_before
        }
    }

    /// Judges one line. `complete` is false for the last, still-growing line of a stream.
    pub(super) fn line(&mut self, line: &str, complete: bool) -> ChatVerdict {
        let code = line.trim();
        if !complete && self.undecided(code) {
            return ChatVerdict::Hold;
        }
        match self.state {
            State::Before if is_fence(code) => {
                self.state = State::InFence;
                ChatVerdict::Skip
            }
            State::Before if self.is_chat_model && code.is_empty() => {
                self.blank_lines_before += 1;
                ChatVerdict::Skip
            }
            State::Before if self.is_chat_model && is_prose(code) => {
                self.prose_before = true;
                ChatVerdict::Skip
            }
            State::Before => {
                self.state = State::Bare;
                self.code(code, complete)
            }
            State::InFence | State::Bare if is_fence(code) => {
                ChatVerdict::Stop(StopReason::FenceClosed)
            }
            State::Bare if self.is_chat_model && self.after_blank && is_prose(code) => {
                ChatVerdict::Stop(StopReason::Prose)
            }
            State::InFence | State::Bare => self.code(code, complete),
        }
    }

    /// Whether a partial line may still turn out to be a fence or prose.
    fn undecided(&self, code: &str) -> bool {
        let may_be_fence = code.starts_with('`') || code.starts_with('~');
        match self.state {
            State::Before => self.is_chat_model || may_be_fence,
            State::InFence => may_be_fence,
            State::Bare => may_be_fence || (self.is_chat_model && self.after_blank),
        }
    }

    fn code(&mut self, code: &str, complete: bool) -> ChatVerdict {
        if complete {
            self.after_blank = code.is_empty();
        }
        ChatVerdict::Code
    }
}

fn is_fence(code: &str) -> bool {
    code.starts_with("```") || code.starts_with("~~~")
}

/// Whether a line reads as English rather than code: it opens with a phrase chat models use,
/// or it is a sentence (capitalised, four or more words, ending in `.` or `:`) without the
/// punctuation code is made of (a code line with a trailing comment reads like a sentence).
pub(super) fn is_prose(code: &str) -> bool {
    const OPENERS: &[&str] = &[
        "Here is",
        "Here's",
        "Here are",
        "Sure",
        "Certainly",
        "Of course",
        "This code",
        "This function",
        "This will",
        "The code",
        "The function",
        "The above",
        "Explanation",
        "Note:",
        "Note that",
        "In this",
        "I've",
        "I have",
        "Below is",
        "Let me",
        "**",
    ];
    if OPENERS.iter().any(|opener| code.starts_with(opener)) {
        return true;
    }
    let starts_capital = code.chars().next().is_some_and(char::is_uppercase);
    let words = code.split_whitespace().count();
    let ends_sentence = code.ends_with('.') || code.ends_with(':');
    let code_punctuation = code.contains(['(', ')', '{', '}', '[', ']', ';', '=', '<', '>', '"'])
        || code.contains("//")
        || code.contains("/*");
    starts_capital && words >= 4 && ends_sentence && !code_punctuation
}
