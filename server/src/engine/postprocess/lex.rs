//! A small lexer that finds the brackets of code, skipping strings and comments.
//!
//! Post-processing must know which brackets a suggestion opens and closes while the text is
//! still streaming, and the text is rarely valid yet, so a tree-sitter parse would mostly answer
//! with ERROR nodes. Knowing the quote and comment syntax of each language is enough to not
//! count the `)` in `"a)"` or `// a)`. The lexer works line by line and carries its state across
//! lines, so streamed lines are lexed once each.

use crate::syntax::Language;

/// Where the lexer is between two characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Code,
    LineComment,
    BlockComment,
    /// Inside a string opened by `quote`; `triple` for Python's `"""` and `'''`.
    Str {
        quote: char,
        triple: bool,
    },
}

/// A bracket found in code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bracket {
    Open(char),
    Close(char),
}

/// The comment and string syntax of one language.
#[derive(Clone, Copy, Debug)]
struct Syntax {
    line_comment: &'static str,
    block_comments: bool,
    /// Single quotes delimit strings (not Rust, where `'a` is a lifetime).
    single_quote_strings: bool,
    /// Backticks delimit strings that may span lines (template literals, Go raw strings).
    backtick_strings: bool,
    triple_quotes: bool,
    rust_chars: bool,
}

impl Syntax {
    fn of(language: Option<Language>) -> Self {
        use Language as L;
        let c_like = Syntax {
            line_comment: "//",
            block_comments: true,
            single_quote_strings: true,
            backtick_strings: false,
            triple_quotes: false,
            rust_chars: false,
        };
        let hash = Syntax {
            line_comment: "#",
            block_comments: false,
            ..c_like
        };
        match language {
            Some(L::Rust) => Syntax {
                single_quote_strings: false,
                rust_chars: true,
                ..c_like
            },
            Some(L::TypeScript | L::Tsx | L::JavaScript | L::Go) => Syntax {
                backtick_strings: true,
                ..c_like
            },
            Some(L::C | L::Cpp | L::Java | L::Json) => c_like,
            Some(L::Python) => Syntax {
                triple_quotes: true,
                ..hash
            },
            Some(L::Bash) => Syntax {
                backtick_strings: true,
                ..hash
            },
            Some(L::Toml) => Syntax {
                triple_quotes: true,
                ..hash
            },
            Some(L::Lua) => Syntax {
                line_comment: "--",
                block_comments: false,
                ..c_like
            },
            None => Syntax {
                line_comment: "",
                block_comments: false,
                ..c_like
            },
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Lexer {
    syntax: Syntax,
    state: State,
    /// The bytes that may change the state or be a bracket in code: every other byte (all of a
    /// non-ASCII character's) is stepped over without a look.
    code_bytes: ByteSet,
    /// Whether runs of bytes that change nothing are skipped at once (tests compare with not).
    skip: bool,
}

/// A set of bytes, one lookup per byte (a scan over 16 KiB of code tests every byte).
#[derive(Clone)]
struct ByteSet([bool; 256]);

impl ByteSet {
    fn of(bytes: impl IntoIterator<Item = u8>) -> Self {
        let mut set = [false; 256];
        bytes.into_iter().for_each(|b| set[usize::from(b)] = true);
        Self(set)
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b)]
    }
}

impl std::fmt::Debug for ByteSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: Vec<u8> = (0..=u8::MAX).filter(|&b| self.contains(b)).collect();
        f.debug_tuple("ByteSet")
            .field(&String::from_utf8_lossy(&bytes))
            .finish()
    }
}

pub(super) fn closer_of(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

impl Lexer {
    pub(super) fn new(language: Option<Language>) -> Self {
        let syntax = Syntax::of(language);
        let comment = syntax.line_comment.bytes().next();
        Self {
            syntax,
            state: State::Code,
            code_bytes: ByteSet::of(b"()[]{}/\"'`".iter().copied().chain(comment)),
            skip: true,
        }
    }

    /// Whether the lexer is in code, not inside a string or comment that continues.
    pub(super) fn in_code(&self) -> bool {
        self.state == State::Code
    }

    /// Whether the lexer is inside a line comment (the line it lexed last had no line break).
    pub(super) fn in_line_comment(&self) -> bool {
        self.state == State::LineComment
    }

    /// Lexes one line (with or without its line break) and calls `on` with the byte offset of
    /// each bracket in code. `on` returns `false` to stop early; then so does this, and the
    /// state is left mid-line (the caller stops using the lexer then). A line comment and a
    /// one-line string end at the line's end.
    pub(super) fn line(&mut self, line: &str, mut on: impl FnMut(usize, Bracket) -> bool) -> bool {
        let bytes = line.as_bytes();
        let mut index = 0;
        while index < bytes.len() {
            if self.skip {
                // Straight to the next byte that can matter in this state.
                let next = match self.state {
                    State::Code => bytes[index..]
                        .iter()
                        .position(|&b| self.code_bytes.contains(b)),
                    // The rest of the line is the comment's.
                    State::LineComment => None,
                    State::BlockComment => memchr::memchr(b'*', &bytes[index..]),
                    State::Str { quote, .. } => {
                        memchr::memchr2(b'\\', quote as u8, &bytes[index..])
                    }
                };
                match next {
                    Some(skipped) => index += skipped,
                    None => break,
                }
                // A bracket, the commonest of those bytes in code, needs no second look.
                if let (State::Code, Some(bracket)) =
                    (self.state, bracket(char::from(bytes[index])))
                {
                    if !on(index, bracket) {
                        return false;
                    }
                    index += 1;
                    continue;
                }
            }
            let rest = &line[index..];
            let Some(c) = rest.chars().next() else { break };
            let mut step = c.len_utf8();
            match self.state {
                State::Code => {
                    if let Some(bracket) = bracket(c) {
                        if !on(index, bracket) {
                            return false;
                        }
                    } else if !self.syntax.line_comment.is_empty()
                        && rest.starts_with(self.syntax.line_comment)
                    {
                        self.state = State::LineComment;
                    } else if self.syntax.block_comments && rest.starts_with("/*") {
                        self.state = State::BlockComment;
                        step = 2;
                    } else if self.syntax.triple_quotes
                        && (rest.starts_with("\"\"\"") || rest.starts_with("'''"))
                    {
                        self.state = State::Str {
                            quote: c,
                            triple: true,
                        };
                        step = 3;
                    } else if self.syntax.rust_chars && c == '\'' {
                        step = rust_char_len(rest);
                    } else if c == '"'
                        || (c == '\'' && self.syntax.single_quote_strings)
                        || (c == '`' && self.syntax.backtick_strings)
                    {
                        self.state = State::Str {
                            quote: c,
                            triple: false,
                        };
                    }
                }
                State::LineComment => {}
                State::BlockComment => {
                    if rest.starts_with("*/") {
                        self.state = State::Code;
                        step = 2;
                    }
                }
                State::Str { quote, triple } => {
                    if c == '\\' {
                        // Skip the escaped character, whatever its width.
                        step += rest[1..].chars().next().map_or(0, char::len_utf8);
                    } else if triple && rest.starts_with(&String::from(quote).repeat(3)) {
                        self.state = State::Code;
                        step = 3;
                    } else if !triple && c == quote {
                        self.state = State::Code;
                    }
                }
            }
            index += step;
        }
        if line.ends_with('\n') || line.ends_with('\r') {
            self.end_line();
        }
        true
    }

    /// What a line break ends: line comments, and strings that cannot span lines (an
    /// unterminated one is more likely an apostrophe in a comment we misread than a string).
    fn end_line(&mut self) {
        match self.state {
            State::LineComment => self.state = State::Code,
            State::Str {
                quote,
                triple: false,
            } if quote != '`' => self.state = State::Code,
            _ => {}
        }
    }
}

fn bracket(c: char) -> Option<Bracket> {
    match c {
        '(' | '[' | '{' => Some(Bracket::Open(c)),
        ')' | ']' | '}' => Some(Bracket::Close(c)),
        _ => None,
    }
}

/// Bytes to skip at a `'` in Rust: a whole char literal (`'x'`, `'\n'`, `'\u{1F600}'`), or
/// just the quote of a lifetime or label.
fn rust_char_len(rest: &str) -> usize {
    let mut chars = rest.char_indices().skip(1);
    match chars.next() {
        Some((_, '\\')) => rest[1..]
            .find('\'')
            .filter(|&end| end <= 10)
            .map_or(1, |end| end + 2),
        Some(_) => match chars.next() {
            Some((close, '\'')) => close + 1,
            _ => 1,
        },
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Every bracket found (its offset in the text, and which), and the state after each line.
    fn lex(
        language: Option<Language>,
        text: &str,
        skip: bool,
    ) -> (Vec<(usize, Bracket)>, Vec<State>) {
        let mut lexer = Lexer::new(language);
        lexer.skip = skip;
        let (mut found, mut states, mut start) = (Vec::new(), Vec::new(), 0);
        for line in text.split_inclusive('\n') {
            lexer.line(line, |at, bracket| {
                found.push((start + at, bracket));
                true
            });
            states.push(lexer.state);
            start += line.len();
        }
        (found, states)
    }

    /// Pieces that open and close every kind of string and comment, and some that don't.
    const PIECES: &[&str] = &[
        "a", " ", "é", "😀", "(", ")", "[", "]", "{", "}", "\"", "'", "`", "\\", "/", "*", "//",
        "/*", "*/", "#", "--", "\"\"\"", "'''", "'a'", "'\\n'", "${", "\n", "\r\n",
    ];

    proptest! {
        #[test]
        fn skipping_what_cannot_matter_finds_what_lexing_every_character_finds(
            pieces in prop::collection::vec(prop::sample::select(PIECES), 0..80),
            language in prop::sample::select(vec![
                None,
                Some(Language::Rust),
                Some(Language::Python),
                Some(Language::TypeScript),
                Some(Language::Lua),
                Some(Language::Bash),
                Some(Language::Toml),
                Some(Language::C),
            ]),
        ) {
            let text = pieces.concat();
            prop_assert_eq!(lex(language, &text, true), lex(language, &text, false));
        }
    }

    fn brackets(language: Language, lines: &[&str]) -> String {
        let mut lexer = Lexer::new(Some(language));
        let mut found = String::new();
        for line in lines {
            lexer.line(line, |_, bracket| {
                found.push(match bracket {
                    Bracket::Open(c) | Bracket::Close(c) => c,
                });
                true
            });
        }
        found
    }

    #[test]
    fn skips_strings_and_comments() {
        assert_eq!(
            brackets(Language::Rust, &["f(\"(\", '(', 'a) // )\n", "/* ( */ }\n"]),
            "()}"
        );
        assert_eq!(
            brackets(Language::Rust, &["fn f<'a>(x: &'a [u8]) {}\n"]),
            "([]){}"
        );
        assert_eq!(
            brackets(
                Language::Python,
                &["x = \"\"\"(\n", ")\"\"\" # (\n", "f()\n"]
            ),
            "()"
        );
        assert_eq!(
            brackets(Language::TypeScript, &["`${a}(\n", "`; g('[')\n"]),
            "()"
        );
    }
}
