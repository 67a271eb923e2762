//! Holes cut from the vendored real source files (`tests/fixtures/quality/`): for each kind of
//! place a user asks for a completion, positions picked evenly through each file, with the
//! text that was there (the truth) taken out.

use std::path::Path;

use ropey::Rope;
use spark_lsp::syntax::{self, Language};

/// One fixture file.
pub struct Fixture {
    pub name: &'static str,
    /// The LSP language id.
    pub language_id: &'static str,
    /// The markdown fence tag a chat model would put on its code.
    pub fence_tag: &'static str,
    pub text: String,
}

pub const FIXTURES: [(&str, &str, &str); 7] = [
    ("dent.rs", "rust", "rust"),
    ("structures.py", "python", "python"),
    ("p-limit.js", "javascript", "js"),
    ("uuid.go", "go", "go"),
    ("log.c", "c", "c"),
    ("LazilyParsedNumber.java", "java", "java"),
    ("json.lua", "lua", "lua"),
];

pub fn fixtures() -> anyhow::Result<Vec<Fixture>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/quality");
    FIXTURES
        .iter()
        .map(|&(name, language_id, fence_tag)| {
            let text = std::fs::read_to_string(dir.join(name))
                .map_err(|e| anyhow::anyhow!("reading fixture {name}: {e}"))?;
            Ok(Fixture {
                name,
                language_id,
                fence_tag,
                text,
            })
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    RestOfLine,
    NextLine,
    BlockBody,
    InBrackets,
    MidIdentifier,
    LineStart,
    Crlf,
    Tabs,
    EofNoNewline,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::RestOfLine,
        Kind::NextLine,
        Kind::BlockBody,
        Kind::InBrackets,
        Kind::MidIdentifier,
        Kind::LineStart,
        Kind::Crlf,
        Kind::Tabs,
        Kind::EofNoNewline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::RestOfLine => "rest of a line",
            Kind::NextLine => "whole next line",
            Kind::BlockBody => "block body (cursor on the opening line)",
            Kind::InBrackets => "inside brackets the line closes",
            Kind::MidIdentifier => "mid-identifier",
            Kind::LineStart => "at a line start",
            Kind::Crlf => "in a CRLF file",
            Kind::Tabs => "in a tab-indented file",
            Kind::EofNoNewline => "at EOF without final newline",
        }
    }
}

/// A document with a hole: `before + truth + after` is the file.
pub struct Hole {
    pub fixture: usize,
    pub kind: Kind,
    pub before: String,
    pub truth: String,
    pub after: String,
    /// The truth ends with a closing bracket of code (not one in a string or comment).
    pub ends_with_code_closer: bool,
}

impl Hole {
    pub fn original(&self) -> String {
        format!("{}{}{}", self.before, self.truth, self.after)
    }
}

/// Up to `per_kind` holes of every kind in every fixture where the kind exists.
pub fn cut(fixtures: &[Fixture], per_kind: usize) -> Vec<Hole> {
    let mut holes = Vec::new();
    for (index, fixture) in fixtures.iter().enumerate() {
        let lf = fixture.text.as_str();
        let tabs = lf.lines().any(|l| l.starts_with('\t'));
        for kind in Kind::ALL {
            let text = match kind {
                Kind::Crlf => lf.replace('\n', "\r\n"),
                Kind::EofNoNewline => lf.trim_end().to_owned(),
                _ => lf.to_owned(),
            };
            let spots = match kind {
                Kind::RestOfLine => rest_of_line(&text, false),
                Kind::MidIdentifier => rest_of_line(&text, true),
                Kind::NextLine => next_line(&text),
                Kind::BlockBody => block_body(&text),
                Kind::InBrackets => in_brackets(&text),
                Kind::LineStart => line_start(&text),
                Kind::Crlf => [next_line(&text), block_body(&text)].concat(),
                Kind::Tabs if tabs => [block_body(&text), next_line(&text)].concat(),
                Kind::Tabs => Vec::new(),
                Kind::EofNoNewline => eof(&text),
            };
            let language = Language::from_language_id(fixture.language_id);
            let rope = Rope::from_str(&text);
            let tree = language.and_then(|l| syntax::parse(l, &rope, None));
            for (start, end) in spread(spots, per_kind) {
                let truth = &text[start..end];
                let last = start + truth.trim_end().len().max(1) - 1;
                let ends_with_code_closer = truth.trim_end().ends_with([')', ']', '}'])
                    && tree.as_ref().is_some_and(|tree| in_code(tree, last));
                holes.push(Hole {
                    fixture: index,
                    kind,
                    before: text[..start].to_owned(),
                    truth: truth.to_owned(),
                    after: text[end..].to_owned(),
                    ends_with_code_closer,
                });
            }
        }
    }
    holes
}

/// Whether the byte is code: not inside a string or comment node of the file's syntax tree.
fn in_code(tree: &tree_sitter::Tree, byte: usize) -> bool {
    let mut node = tree.root_node().descendant_for_byte_range(byte, byte + 1);
    while let Some(current) = node {
        let kind = current.kind();
        if kind.contains("comment") || kind.contains("string") {
            return false;
        }
        node = current.parent();
    }
    true
}

/// `count` of `spots`, evenly spread through the file.
fn spread(spots: Vec<(usize, usize)>, count: usize) -> Vec<(usize, usize)> {
    if spots.len() <= count {
        return spots;
    }
    (0..count)
        .map(|i| spots[(2 * i + 1) * spots.len() / (2 * count)])
        .collect()
}

/// A line of the text: where it starts, its content (without the line break) and where the
/// content ends.
struct Line<'t> {
    start: usize,
    content: &'t str,
    end: usize,
}

impl Line<'_> {
    fn indent(&self) -> usize {
        self.content.len() - self.content.trim_start().len()
    }

    fn code(&self) -> &str {
        self.content.trim()
    }

    /// A line of code worth a hole: not blank, not a comment, not a lone closer.
    fn is_code(&self) -> bool {
        let code = self.code();
        let comment = ["//", "/*", "*", "#", "--", "\"\"\""]
            .iter()
            .any(|c| code.starts_with(c));
        code.len() >= 4 && !comment && !code.starts_with(['}', ')', ']']) && code != "end"
    }
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let content = raw.trim_end_matches(['\n', '\r']);
        out.push(Line {
            start,
            content,
            end: start + content.len(),
        });
        start += raw.len();
    }
    out
}

/// Cuts from a token start (or, `mid_word`, from the middle of an identifier of 6+ characters)
/// to the end of the line.
fn rest_of_line(text: &str, mid_word: bool) -> Vec<(usize, usize)> {
    let mut spots = Vec::new();
    for line in lines(text).iter().filter(|l| l.is_code()) {
        let body = &line.content[line.indent()..];
        let offset = line.start + line.indent();
        let cut = if mid_word {
            identifier_middle(body)
        } else {
            // After the first space that starts a token, e.g. `let x = |foo(a);`.
            body.char_indices()
                .find(|&(i, c)| c == ' ' && body[i + 1..].starts_with(|n: char| n != ' '))
                .map(|(i, _)| i + 1)
        };
        if let Some(cut) = cut.filter(|&cut| body.len() - cut >= 3) {
            spots.push((offset + cut, line.end));
        }
    }
    spots
}

/// The middle of the first identifier of at least six characters.
fn identifier_middle(body: &str) -> Option<usize> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut start = None;
    for (i, c) in body.char_indices().chain([(body.len(), ' ')]) {
        match (start, is_word(c)) {
            (None, true) => start = Some(i),
            (Some(s), false) => {
                if i - s >= 6 {
                    return Some(s + (i - s) / 2);
                }
                start = None;
            }
            _ => {}
        }
    }
    None
}

/// The cursor at the end of a line of code, the truth the line break and the next line of code
/// at the same indentation.
fn next_line(text: &str) -> Vec<(usize, usize)> {
    let lines = lines(text);
    lines
        .windows(2)
        .filter(|pair| {
            let (this, next) = (&pair[0], &pair[1]);
            this.is_code()
                && next.is_code()
                && this.indent() == next.indent()
                && !opens_block(this.code())
        })
        .map(|pair| (pair[0].end, pair[1].end))
        .collect()
}

fn opens_block(code: &str) -> bool {
    code.ends_with(['{', ':', '(', '['])
        || code.ends_with(" then")
        || code.ends_with(" do")
        || (code.contains("function") && code.ends_with(')'))
}

/// The cursor at the end of a line that opens a block, the truth the line break and the body
/// (1 to 8 lines, indented deeper, starting with code, without trailing blank lines).
fn block_body(text: &str) -> Vec<(usize, usize)> {
    let lines = lines(text);
    let mut spots = Vec::new();
    for (i, header) in lines.iter().enumerate() {
        if !header.is_code() || !opens_block(header.code()) || header.code().ends_with(['(', '[']) {
            continue;
        }
        let body: Vec<&Line> = lines[i + 1..]
            .iter()
            .take_while(|l| l.code().is_empty() || l.indent() > header.indent())
            .collect();
        let Some(last) = body.iter().rposition(|l| !l.code().is_empty()) else {
            continue;
        };
        let closed = lines.get(i + 1 + body.len()).is_some();
        // A body that starts with a blank line is left out: whether a model's blank lines
        // before code are layout or meant cannot be told (they are taken as layout).
        let starts_with_code = !body[0].code().is_empty();
        if last < 8 && closed && starts_with_code {
            spots.push((header.end, body[last].end));
        }
    }
    spots
}

/// The cursor right after an opening `(` or `[` whose closer is on the same line, the truth what
/// is between them.
fn in_brackets(text: &str) -> Vec<(usize, usize)> {
    let mut spots = Vec::new();
    for line in lines(text).iter().filter(|l| l.is_code()) {
        let bytes = line.content.as_bytes();
        let Some(open) = bytes.iter().position(|&b| b == b'(' || b == b'[') else {
            continue;
        };
        let mut depth = 0usize;
        for (i, &b) in bytes.iter().enumerate().skip(open) {
            match b {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        if i - open > 3 {
                            spots.push((line.start + open + 1, line.start + i));
                        }
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    spots
}

/// The cursor at column 0 of a line of code that follows one, the truth the whole line.
fn line_start(text: &str) -> Vec<(usize, usize)> {
    lines(text)
        .windows(2)
        .filter(|pair| pair[0].is_code() && pair[1].is_code())
        .map(|pair| (pair[1].start, pair[1].end))
        .collect()
}

/// In a file without a final line break: the rest of its last line from its second token, or
/// the line break and the last line after the line before it.
fn eof(text: &str) -> Vec<(usize, usize)> {
    let lines = lines(text);
    let mut spots = Vec::new();
    let Some(last) = lines.last() else {
        return spots;
    };
    if let Some(space) = last.code().find(' ') {
        spots.push((last.start + last.indent() + space + 1, last.end));
    }
    if let Some(previous) = lines.len().checked_sub(2).map(|i| &lines[i])
        && !previous.code().is_empty()
    {
        spots.push((previous.end, last.end));
    }
    spots
}
