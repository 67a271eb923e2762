//! What lies before the window that the model still needs: the file's imports and the header
//! lines of the functions and classes around the cursor, joined by elision comments, so that a
//! window starting in the middle of a function still shows its signature and the names in
//! scope.

use std::ops::Range;

use ropey::Rope;
use tree_sitter::{Node, Tree};

use super::tokens::estimate_tokens;
use super::window::{line_end, line_start, text};
use crate::syntax::{Language, Scope};

/// Header lines kept per scope: a long parameter list is cut rather than filling the budget.
const MAX_HEADER_LINES: usize = 6;
/// The line scan for imports (no tree) stops after this many lines.
const MAX_SCAN_LINES: usize = 400;
/// A gap between pieces up to this long is read to see whether anything was left out.
const MAX_GAP_SCAN_BYTES: usize = 512;

/// The outline's inputs: where the cursor and window are, and what each part may cost.
pub(super) struct OutlineInput<'a> {
    pub rope: &'a Rope,
    pub tree: Option<&'a Tree>,
    pub language: Option<Language>,
    pub window_start: usize,
    pub comment: Option<&'static str>,
    /// The enclosing scopes at the cursor, innermost first (they do not depend on the window).
    pub scopes: &'a [Scope],
    pub import_tokens: usize,
    pub scope_tokens: usize,
}

/// Top-level items after the last import that end the search for more: imports sit at the
/// top, and scanning every item of a long file would cost more than the rest of the prompt.
const MAX_ITEMS_AFTER_IMPORTS: usize = 32;

/// The imports and scope headers before the window, in document order, each piece on its own
/// lines, with an elision line wherever text was left out; empty when nothing is outside.
pub(super) fn outline(input: &OutlineInput<'_>) -> String {
    if input.window_start == 0 {
        return String::new();
    }
    let mut pieces = within(input.rope, imports(input), input.import_tokens);
    if let Some(tree) = input.tree {
        let headers = input
            .scopes
            .iter()
            .filter_map(|scope| header(input.rope, tree, scope, input.window_start));
        pieces.extend(within(input.rope, headers, input.scope_tokens));
    }
    render(input, pieces)
}

/// The node kinds that are imports (and package lines) at a file's top level.
fn import_kinds(language: Language) -> &'static [&'static str] {
    use Language as L;
    match language {
        L::Rust => &["use_declaration", "extern_crate_declaration"],
        L::Python => &[
            "import_statement",
            "import_from_statement",
            "future_import_statement",
        ],
        L::TypeScript | L::Tsx | L::JavaScript => &["import_statement"],
        L::Go => &["package_clause", "import_declaration"],
        L::C | L::Cpp => &["preproc_include"],
        L::Java => &["package_declaration", "import_declaration"],
        L::Lua | L::Json | L::Bash | L::Toml => &[],
    }
}

/// The line ranges of the imports that end before the window.
fn imports(input: &OutlineInput<'_>) -> Vec<Range<usize>> {
    let rope = input.rope;
    let (Some(tree), Some(language)) = (input.tree, input.language) else {
        return scanned_imports(rope, input.window_start);
    };
    let ts_language = language.ts_language();
    let kinds: Vec<u16> = import_kinds(language)
        .iter()
        .map(|kind| ts_language.id_for_node_kind(kind, true))
        .collect();
    let root = tree.root_node();
    let mut cursor = root.walk();
    let mut found = Vec::new();
    let mut since_import = 0;
    for node in root.children(&mut cursor) {
        if node.start_byte() >= input.window_start || since_import > MAX_ITEMS_AFTER_IMPORTS {
            break;
        }
        since_import += 1;
        if kinds.contains(&node.kind_id()) && node.end_byte() <= input.window_start {
            found.push(lines_of(rope, node.start_byte()..node.end_byte()));
            since_import = 0;
        }
    }
    found
}

/// Without a tree: lines near the top of the file that look like imports in common languages.
fn scanned_imports(rope: &Rope, window_start: usize) -> Vec<Range<usize>> {
    const STARTS: &[&str] = &[
        "use ",
        "pub use ",
        "extern crate ",
        "import ",
        "from ",
        "#include",
        "package ",
    ];
    let last_line = rope.byte_to_line(window_start).min(MAX_SCAN_LINES);
    (0..last_line)
        .filter_map(|line| {
            let start = rope.line_to_byte(line);
            let head = text(rope, start..line_end(rope, start).min(start + 64));
            let head = head.trim_start();
            STARTS
                .iter()
                .any(|s| head.starts_with(s))
                .then(|| start..line_end(rope, start))
        })
        .collect()
}

/// The whole lines `range` touches, without the last line break.
fn lines_of(rope: &Rope, range: Range<usize>) -> Range<usize> {
    let last = range.end.saturating_sub(1).max(range.start);
    line_start(rope, range.start)..line_end(rope, last)
}

/// A scope's header lines, from its first line to the line before its body (or the line where a
/// braced body opens), when the scope starts before the window.
fn header(rope: &Rope, tree: &Tree, scope: &Scope, window_start: usize) -> Option<Range<usize>> {
    let start = scope.byte_range.start;
    if start >= window_start {
        return None;
    }
    let first_line = rope.byte_to_line(start);
    let mut last_line = match scope_node(tree, scope).and_then(|n| n.child_by_field_name("body")) {
        Some(body) => {
            let body_line = rope.byte_to_line(body.start_byte());
            let indented = text(rope, line_start(rope, body.start_byte())..body.start_byte())
                .chars()
                .all(char::is_whitespace);
            // An indented body (Python) starts on its own line, which is not header.
            if indented && body_line > first_line {
                body_line - 1
            } else {
                body_line
            }
        }
        None => first_line,
    };
    last_line = last_line.min(first_line + MAX_HEADER_LINES - 1);
    // The header stops before the window's first line.
    let window_line = rope.byte_to_line(window_start);
    last_line = last_line.min(window_line.checked_sub(1)?);
    (last_line >= first_line)
        .then(|| rope.line_to_byte(first_line)..line_end(rope, rope.line_to_byte(last_line)))
}

/// The node a scope was made from: the smallest node with its range and kind.
fn scope_node<'t>(tree: &'t Tree, scope: &Scope) -> Option<Node<'t>> {
    let range = &scope.byte_range;
    let mut node = tree
        .root_node()
        .descendant_for_byte_range(range.start, range.end)?;
    while node.kind() != scope.node_kind {
        node = node.parent().filter(|p| p.byte_range() == *range)?;
    }
    Some(node)
}

/// The pieces, in order, that fit in `tokens`.
fn within(
    rope: &Rope,
    pieces: impl IntoIterator<Item = Range<usize>>,
    tokens: usize,
) -> Vec<Range<usize>> {
    let mut left = tokens;
    let mut kept = Vec::new();
    for piece in pieces {
        let cost = estimate_tokens(&text(rope, piece.clone())) + 1;
        if cost > left {
            break;
        }
        left -= cost;
        kept.push(piece);
    }
    kept
}

fn render(input: &OutlineInput<'_>, mut pieces: Vec<Range<usize>>) -> String {
    let rope = input.rope;
    pieces.sort_by_key(|piece| piece.start);
    let mut out = String::new();
    let mut last_end: Option<usize> = None;
    for piece in pieces {
        if last_end.is_some_and(|end| piece.start < end) {
            continue;
        }
        if let Some(end) = last_end {
            elide(input, &mut out, end..piece.start);
        }
        out.push_str(&text(rope, piece.clone()));
        out.push('\n');
        last_end = Some(piece.end);
    }
    if let Some(end) = last_end {
        elide(input, &mut out, end..input.window_start);
    }
    out
}

/// Writes an elision line (`// ...`, indented like the text after it) when `gap` holds more
/// than whitespace. Long gaps are assumed to hold something without being read.
fn elide(input: &OutlineInput<'_>, out: &mut String, gap: Range<usize>) {
    let rope = input.rope;
    let blank = gap.len() <= MAX_GAP_SCAN_BYTES
        && rope
            .get_byte_slice(gap.clone())
            .is_some_and(|g| g.chars().all(char::is_whitespace));
    if blank {
        return;
    }
    let indent: String = rope
        .get_byte_slice(gap.end..)
        .map(|rest| {
            rest.chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect()
        })
        .unwrap_or_default();
    out.push_str(&indent);
    if let Some(comment) = input.comment {
        out.push_str(comment);
        out.push(' ');
    }
    out.push_str("...\n");
}
