//! Post-processing: turns a model's raw, streamed answer into a suggestion that reads well at
//! the cursor.
//!
//! The rules, each in its own module:
//! - `chat`: strip markdown fences and the prose chat models put around code;
//! - `lead`: keep the line break a chat answer starts with where it begins a new line;
//! - `repeat`: cut the text before the cursor the model restated; drop a suggestion that only
//!   restates the lines above;
//! - `block`: stop at the end of the block around the cursor, by indentation, by brackets the
//!   suffix already closes, at closers that match nothing, and at a line the file already has
//!   next;
//! - `suffix`: trim a tail that the rest of the cursor line already provides;
//! - `errors`: drop a suggestion that raises the syntax-error count where it is inserted.
//!
//! Lines are judged with `\n` line breaks and written out with the document's own (`\r\n`,
//! `\r`), so a model's line endings never leak into the file; the first duty of every rule is
//! to leave a correct answer exactly as the model gave it (`tests/tests/quality` measures it).
//!
//! [`StreamFilter`] applies the rules while the answer streams, so the engine can stop the model as
//! soon as the block is done and answer early with the first complete line; `finish`, for the
//! tests, is the same pipeline over a whole answer.
//!
//! **Architecture invariant:** no LSP types, no I/O: strings, byte offsets, a rope and a tree.

mod block;
mod chat;
mod cursor;
mod errors;
mod lead;
mod lex;
mod repeat;
mod stream;
mod suffix;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_elide;
#[cfg(test)]
mod tests_exact;
#[cfg(test)]
mod tests_stream;

pub(crate) use cursor::document_around;
pub use errors::SyntaxCheck;
pub use stream::StreamFilter;

use crate::syntax::Language;

/// The document around the cursor, as post-processing sees it.
#[derive(Clone, Copy, Debug)]
pub struct PostContext<'a> {
    /// Text before the cursor, ending at the cursor: the whole document's, or as much of it as
    /// is read ([`document_around`]).
    pub prefix: &'a str,
    /// Text after the cursor: the rest of the document, or as much of it as is read.
    pub suffix: &'a str,
    pub language: Option<Language>,
    /// Chat models wrap code in markdown and prose; completion (FIM) models do not.
    pub is_chat_model: bool,
    /// The syntax-error check of the insertion point; skipped when `None`.
    pub syntax: Option<&'a SyntaxCheck>,
}

impl<'a> PostContext<'a> {
    /// A context without syntax check, for a completion model.
    pub fn new(prefix: &'a str, suffix: &'a str, language: Option<Language>) -> Self {
        Self {
            prefix,
            suffix,
            language,
            is_chat_model: false,
            syntax: None,
        }
    }
}

/// Whether to keep reading the model's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Continue,
    /// The suggestion is complete: stop the model (cancelling saves its tokens and the lane).
    Stop(StopReason),
}

/// Why a suggestion ended before the model's answer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A chat model closed its code fence.
    FenceClosed,
    /// A chat model started explaining.
    Prose,
    /// A line left the block around the cursor, or the suggestion closed that block.
    BlockEnd,
    /// A closer for a bracket the text after the cursor already closes.
    SuffixCloses,
    /// A closer that matches no open bracket.
    UnmatchedCloser,
    /// A line equal to the next line after the cursor.
    RepeatsSuffix,
}

/// The cleaned suggestion for a whole raw answer, or `None` to show nothing (the tests' way in;
/// the engine streams).
#[cfg(test)]
pub fn finish(ctx: &PostContext<'_>, raw: &str) -> Option<String> {
    let mut filter = StreamFilter::new(ctx);
    filter.push(raw);
    filter.finish()
}
