//! Where the block around the cursor ends inside a suggestion, line by line.
//!
//! Fast models keep writing past the code the user is at: the rest of the function, the next
//! function, the closing braces the file already has. Three signals end the suggestion:
//! indentation (a line dedented below the cursor's block), brackets (a closer for a scope opened
//! before the cursor, when the text after the cursor already closes it; or a closer that
//! matches nothing) and the suffix (a line equal to the next line already in the file).

use super::StopReason;
use super::cursor::{Cursor, indent_width};
use super::lex::{Bracket, closer_of};
use crate::syntax::Language;

/// How a line ends the suggestion, if it does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Keep,
    /// Keep the line's first `keep_bytes` bytes and stop.
    Cut {
        keep_bytes: usize,
        reason: StopReason,
    },
}

/// The bracket and line state of a suggestion, advanced one line at a time.
#[derive(Clone, Debug)]
pub(super) struct Block {
    lexer: super::lex::Lexer,
    /// Brackets the suggestion opened and has not closed, innermost last.
    own: Vec<char>,
    /// Openers before the cursor not closed by the suggestion: `cursor.openers[..outer]`.
    outer: usize,
    /// Whether the next line is the suggestion's first, which continues the cursor line.
    first_line: bool,
    /// The least indentation of the suggestion's whole lines so far.
    min_indent: Option<usize>,
}

impl Block {
    pub(super) fn new(cursor: &Cursor) -> Self {
        Self {
            lexer: cursor.lexer.clone(),
            own: Vec::new(),
            outer: cursor.openers.len(),
            first_line: true,
            min_indent: None,
        }
    }

    /// Judges one line of the suggestion. `complete` says the line is whole (it may still lack
    /// a line break at the very end of the suggestion); a partial line is judged on what it has,
    /// and a cut found in it is final, because later characters cannot undo an earlier closer
    /// or indentation.
    pub(super) fn line(&mut self, cursor: &Cursor, line: &str, complete: bool) -> Verdict {
        let first_line = self.first_line;
        self.first_line = first_line && !complete;
        let starts_line = !first_line || cursor.line_prefix.trim().is_empty();
        // A line still arriving that may yet turn out to be the file's next line is not
        // judged by its brackets: `f(a,\n    b);` repeated would be cut after `b`.
        if starts_line && !complete && may_repeat_next_line(cursor, line) {
            return Verdict::Keep;
        }
        // A line the file has next is a repeat wherever it comes: inside a block the
        // suggestion opened (the file already has that block's body) or inside a string or
        // comment (a docstring's next line).
        let ends = if starts_line && complete && self.repeats_next_line(cursor, line) {
            Some(StopReason::RepeatsSuffix)
        } else if starts_line && self.own.is_empty() && self.lexer.in_code() {
            self.ends_before(cursor, line, first_line)
        } else {
            None
        };
        if let Some(reason) = ends {
            return Verdict::Cut {
                keep_bytes: 0,
                reason,
            };
        }
        if starts_line && complete && !line.trim().is_empty() {
            let indent = indent_width(line);
            self.min_indent = Some(self.min_indent.map_or(indent, |min| min.min(indent)));
        }
        let mut closed_outer = false;
        let mut cut = None;
        let (own, outer, openers) = (&mut self.own, &mut self.outer, &cursor.openers);
        self.lexer.line(line, |index, bracket| {
            let reason = match bracket {
                Bracket::Open(ch) => {
                    own.push(ch);
                    return true;
                }
                Bracket::Close(ch) => match own.last() {
                    Some(&open) if closer_of(open) == ch => {
                        own.pop();
                        return true;
                    }
                    Some(_) => StopReason::UnmatchedCloser,
                    None => match outer.checked_sub(1).map(|i| &openers[i]) {
                        None => StopReason::UnmatchedCloser,
                        Some(open) if closer_of(open.ch) != ch => StopReason::UnmatchedCloser,
                        Some(open) if open.closed_by_suffix => StopReason::SuffixCloses,
                        Some(_) => {
                            *outer -= 1;
                            closed_outer = true;
                            return true;
                        }
                    },
                },
            };
            cut = Some(Verdict::Cut {
                keep_bytes: index,
                reason,
            });
            false
        });
        if let Some(cut) = cut {
            return cut;
        }
        // The suggestion closed the scope the cursor is in (and nothing after the cursor
        // does): what follows belongs outside it.
        if complete && closed_outer && self.own.is_empty() {
            return Verdict::Cut {
                keep_bytes: line.len(),
                reason: StopReason::BlockEnd,
            };
        }
        Verdict::Keep
    }

    /// Whether a whole line of the suggestion is the file's next non-blank line. A closer is
    /// for the bracket rules to judge: a `}` equal to the file's next line may close a block
    /// that the file's does not. No bracket rule sees a closing keyword (`end`): it is the
    /// file's when it closes the cursor's block or one outside the suggestion (less indented
    /// than all the suggestion's lines), not one the suggestion opened.
    fn repeats_next_line(&self, cursor: &Cursor, line: &str) -> bool {
        let code = line.trim();
        let repeatable = match closer(code) {
            None => true,
            Some(Closer::Bracket) => false,
            Some(Closer::Keyword) => {
                let indent = indent_width(line);
                indent <= cursor.line_indent || self.min_indent.is_some_and(|min| indent < min)
            }
        };
        !code.is_empty() && repeatable && cursor.next_line.as_deref() == Some(code)
    }

    /// Whether the line, at the start of a line and outside the suggestion's own brackets,
    /// leaves the cursor's block.
    fn ends_before(&self, cursor: &Cursor, line: &str, first_line: bool) -> Option<StopReason> {
        let code = line.trim();
        if code.is_empty() || code.starts_with([')', ']', '}']) {
            return None;
        }
        // The first line's indentation is relative to the cursor, not the line start.
        if first_line {
            return None;
        }
        let indent = indent_width(line);
        if indent < cursor.block_indent {
            return Some(StopReason::BlockEnd);
        }
        let back_at_header = cursor.header && indent <= cursor.line_indent;
        (back_at_header && !continues_header(cursor.language, code)).then_some(StopReason::BlockEnd)
    }
}

/// Whether a partial line could still grow into the file's next line.
fn may_repeat_next_line(cursor: &Cursor, line: &str) -> bool {
    let code = line.trim_start();
    let next = cursor.next_line.as_deref().unwrap_or("");
    !code.trim().is_empty() && closer(next).is_none() && next.starts_with(code)
}

enum Closer {
    Bracket,
    Keyword,
}

/// Whether a line closes a block: with a closing bracket, or a closing keyword (Lua's `end`,
/// the shell's `fi`, `done`, `esac`). Such a line is the same in many places, so being equal
/// to the file's next line says little by itself.
fn closer(code: &str) -> Option<Closer> {
    let word = code.trim_end_matches([',', ';', ')', ']', '}']);
    if code.starts_with([')', ']', '}']) {
        Some(Closer::Bracket)
    } else if matches!(word, "end" | "fi" | "done" | "esac") {
        Some(Closer::Keyword)
    } else {
        None
    }
}

/// Python clauses that continue a compound statement at its own indentation.
fn continues_header(language: Option<Language>, code: &str) -> bool {
    language == Some(Language::Python)
        && ["elif ", "else:", "except", "finally:"]
            .iter()
            .any(|clause| code.starts_with(clause))
}
