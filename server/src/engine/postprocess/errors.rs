//! Whether inserting a suggestion makes the code around the cursor less parseable.
//!
//! The document is spliced in a copy of the rope (ropey clones share nodes, so the copy and the
//! insert are O(log n)) and reparsed incrementally from the old tree edited by one `InputEdit`:
//! tree-sitter re-lexes only around the insertion. The syntax errors are then counted in the
//! top-level item around the cursor (or a window of lines), before and after; errors elsewhere
//! in the file, which the user has and the suggestion did not cause, do not count.
//!
//! The cost is bounded: a broken suggestion makes tree-sitter's error recovery reparse far more
//! than the insertion (73 ms on a 9,000-line file), so in a document larger than
//! [`WHOLE_DOCUMENT_BYTES`] only the lines around the cursor are parsed, on their own, before
//! and after the insertion: the top-level items around it in the document's latest tree (which
//! needs no reparse: only positions matter here), at most [`MAX_WINDOW_BYTES`] of lines. Items
//! of a few hundred bytes made the check ~10x cheaper than the fixed 4 KiB of lines, which cost
//! ~0.8 ms per parse on the engine benchmark's 9,000-line file. Inside such an item, a long
//! block's complete statements before the cursor (all but the nearest few) and the blank lines
//! right before it are left out too ([`elided`]): every reparse re-shifted each statement of the
//! block and re-lexed the blank lines, so the check's cost grew with the block (the engine
//! benchmark's finished-suggestion parse: 62 → 35 µs after 300 statements, 40 → 25 µs after 300
//! blank lines). `tests_elide` shows on real code in seven languages that no verdict changes.
//!
//! The text as it is gets parsed while the model is still answering ([`SyntaxCheck::prepare`]),
//! so that a finished suggestion costs one incremental parse.

use std::ops::Range;
use std::sync::{Mutex, MutexGuard, OnceLock};

use ropey::Rope;
use tree_sitter::Tree;

use crate::context::changed_region;
use crate::documents::LatestTree;
use crate::syntax::{self, Language, ScopeKind};

/// Bytes either side of the cursor counted when no enclosing item is found.
const WINDOW_BYTES: usize = 4 * 1024;
/// Documents up to this size are checked with their tree.
const WHOLE_DOCUMENT_BYTES: usize = 16 * 1024;
/// The most text parsed on its own around the cursor in a larger document.
const MAX_WINDOW_BYTES: usize = 4 * 1024;

/// Whether inserting `suggestion` at `cursor_byte` raises the syntax-error count around it.
/// `old_tree` is the tree of `rope`, or the last parse's with the edits since described to it
/// (its root `has_changes()`); a small document is parsed here when there is no exact tree.
/// Offsets beyond the text are clamped; a failed parse counts as "does not raise", since the
/// check is a filter and must not drop suggestions on its own failure.
#[cfg(test)]
pub fn raises_errors(
    language: Language,
    old_tree: Option<&Tree>,
    rope: &Rope,
    cursor_byte: usize,
    suggestion: &str,
) -> bool {
    SyntaxCheck::new(language, old_tree.cloned(), rope.clone(), cursor_byte, None)
        .raises(suggestion)
}

/// [`raises_errors`] for one insertion point, in two halves: the text as it is, parsed (the
/// costly half, which [`SyntaxCheck::prepare`] does while the model is still answering, and
/// incrementally from the document's previous check when there is one), and the text with the
/// suggestion, parsed incrementally from it once the suggestion is known.
pub struct SyntaxCheck {
    language: Language,
    rope: Rope,
    /// The document's latest tree (see [`raises_errors`]), until the check is prepared.
    tree: Mutex<Option<LatestTree>>,
    /// On a character boundary.
    cursor_byte: usize,
    /// The previous check's parsed text, if it was prepared, until this one is.
    base: Mutex<Option<Parsed>>,
    /// `None` inside when the text could not be parsed: nothing is then dropped.
    before: OnceLock<Option<Parsed>>,
    /// Whether a window leaves out the lines [`elided`] says it may (always, but in tests
    /// that compare the check with and without).
    elide: bool,
}

/// The text around the insertion point as it is, parsed; also what the document's next check
/// reparses incrementally when its own text is this text edited (the user typed since).
#[derive(Clone)]
struct Parsed {
    /// Where `text` starts in the document: `None` for a small document's whole text, else the
    /// first byte of the lines of [`check_window`], parsed on their own less the lines
    /// [`elided`] (cutting the text may add errors at its edges, the same with the suggestion
    /// and without).
    window_start: Option<usize>,
    text: Rope,
    tree: Tree,
    /// The bytes of `text` whose errors count.
    counted: Range<usize>,
    /// Where the cursor is in `text`.
    cursor: usize,
}

impl std::fmt::Debug for SyntaxCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyntaxCheck")
            .field("language", &self.language)
            .field("cursor_byte", &self.cursor_byte)
            .field("prepared", &self.before.get().is_some())
            .finish_non_exhaustive()
    }
}

impl SyntaxCheck {
    /// The check at `cursor_byte` of `rope`; `previous` is the document's check before this one
    /// (its parse is reused if it was prepared).
    pub fn new(
        language: Language,
        tree: impl Into<LatestTree>,
        rope: Rope,
        cursor_byte: usize,
        previous: Option<&SyntaxCheck>,
    ) -> Self {
        let cursor_byte = rope.char_to_byte(rope.byte_to_char(cursor_byte.min(rope.len_bytes())));
        let base = previous
            .filter(|previous| previous.language == language)
            .and_then(|previous| previous.before.get()?.clone());
        Self {
            language,
            rope,
            tree: Mutex::new(Some(tree.into())),
            cursor_byte,
            base: Mutex::new(base),
            before: OnceLock::new(),
            elide: true,
        }
    }

    /// The check of a document of any size through a window of lines, with or without the
    /// lines [`elided`] from it.
    #[cfg(test)]
    pub(super) fn windowed(
        language: Language,
        tree: Tree,
        rope: Rope,
        cursor_byte: usize,
        elide: bool,
    ) -> Self {
        let check = Self {
            elide,
            ..Self::new(language, None, rope, cursor_byte, None)
        };
        let before = check.window(Some(&tree));
        let _ = check.before.set(before);
        check
    }

    /// `text` parsed: incrementally from the previous check's tree when that parsed the same
    /// place (`window_start`), else from scratch.
    fn parse(&self, text: &Rope, window_start: Option<usize>) -> Option<Tree> {
        let base = lock(&self.base)
            .take()
            .filter(|base| base.window_start == window_start);
        let Some(base) = base else {
            return syntax::parse(self.language, text, None);
        };
        let change = changed_region(&base.text, text);
        if change.is_empty() {
            return Some(base.tree);
        }
        let new_text = text.byte_slice(change.start..change.new_end).to_string();
        let mut edited = base.tree;
        edited.edit(&syntax::input_edit(
            &base.text,
            change.start,
            change.old_end,
            &new_text,
        ));
        syntax::parse(self.language, text, Some(&edited))
    }

    /// Parses the text as it is, if that is not done yet.
    pub fn prepare(&self) {
        self.before();
    }

    fn before(&self) -> Option<&Parsed> {
        self.before
            .get_or_init(|| {
                // Only the preparation needs the document's tree and the previous parse.
                let tree = lock(&self.tree).take().and_then(LatestTree::get);
                let before = if self.rope.len_bytes() > WHOLE_DOCUMENT_BYTES {
                    self.window(tree.as_ref())
                } else {
                    self.document(tree)
                };
                lock(&self.base).take();
                before
            })
            .as_ref()
    }

    fn document(&self, tree: Option<Tree>) -> Option<Parsed> {
        let (language, rope) = (self.language, &self.rope);
        // Error counts need the tree of exactly this text, not an edited one awaiting its reparse.
        let tree = match tree.filter(|tree| !tree.root_node().has_changes()) {
            Some(tree) => tree,
            None => self.parse(rope, None)?,
        };
        let counted = affected_range(&tree, language, rope, self.cursor_byte);
        Some(Parsed {
            window_start: None,
            text: rope.clone(),
            tree,
            counted,
            cursor: self.cursor_byte,
        })
    }

    /// A broken suggestion makes tree-sitter's error recovery reparse far more than the
    /// insertion (73 ms in a 9,000-line file), hence the window of lines; and a long block's
    /// statements cost its every reparse, hence the lines [`elided`] from it.
    fn window(&self, tree: Option<&Tree>) -> Option<Parsed> {
        let rope = &self.rope;
        let Range { start, end } = check_window(tree, rope, self.cursor_byte);
        let start = rope.line_to_byte(rope.byte_to_line(start));
        let end = rope.line_to_byte((rope.byte_to_line(end) + 1).min(rope.len_lines()));
        let left_out = match tree {
            Some(tree) if self.elide => elided(tree, self.language, rope, start, self.cursor_byte),
            _ => Vec::new(),
        };
        let mut text = Rope::new();
        let mut from = start;
        for gap in left_out.iter().chain([&(end..end)]) {
            text.append(Rope::from(rope.byte_slice(from..gap.start)));
            from = gap.end;
        }
        let cursor = self.cursor_byte - start - left_out.iter().map(|gap| gap.len()).sum::<usize>();
        let tree = self.parse(&text, Some(start))?;
        Some(Parsed {
            window_start: Some(start),
            counted: 0..text.len_bytes(),
            text,
            tree,
            cursor,
        })
    }

    /// Whether inserting `suggestion` raises the error count (parses the text as it is first,
    /// if [`SyntaxCheck::prepare`] did not).
    pub fn raises(&self, suggestion: &str) -> bool {
        let Some(Parsed {
            text,
            tree,
            counted,
            cursor: at,
            ..
        }) = self.before()
        else {
            return false;
        };
        let at = *at;
        // The insertion reparsed incrementally: tree-sitter re-lexes only around it.
        let mut new_text = text.clone();
        new_text.insert(text.byte_to_char(at), suggestion);
        let mut edited = tree.clone();
        edited.edit(&syntax::input_edit(text, at, at, suggestion));
        let Some(new_tree) = syntax::parse(self.language, &new_text, Some(&edited)) else {
            return false;
        };
        let after = counted.start..counted.end + suggestion.len();
        syntax::error_count(&new_tree, after) > syntax::error_count(tree, counted.clone())
    }
}

/// The bytes a large document's check parses: the top-level item holding the cursor, or the
/// items either side of it when it lies between two, within [`MAX_WINDOW_BYTES`] around it
/// (all of that without a tree). `tree` may be the last parse's with edits described to it:
/// any window makes a fair before/after comparison, the tree only makes it small.
pub(super) fn check_window(tree: Option<&Tree>, rope: &Rope, cursor_byte: usize) -> Range<usize> {
    let half = MAX_WINDOW_BYTES / 2;
    let lines = cursor_byte.saturating_sub(half)..(cursor_byte + half).min(rope.len_bytes());
    let Some(items) = tree.and_then(|tree| items_around(tree, cursor_byte)) else {
        return lines;
    };
    items.start.max(lines.start)..items.end.min(lines.end).max(cursor_byte)
}

/// The top-level item holding `byte`, or from the one before it to the one after it.
fn items_around(tree: &Tree, byte: usize) -> Option<Range<usize>> {
    let root = tree.root_node();
    // The first item ending after `byte`; none when `byte` is past the last one. (Not a tree
    // cursor's `goto_first_child_for_byte`: it was seen to find none before the last item, and
    // the window then ended before it started.)
    let Some(next) = root.first_child_for_byte(byte) else {
        let last = root.child(root.child_count().checked_sub(1)?)?;
        return Some(last.start_byte()..root.end_byte().max(byte));
    };
    if next.start_byte() < byte {
        return Some(next.start_byte()..next.end_byte());
    }
    let start = match next.prev_sibling() {
        Some(previous) => previous.start_byte(),
        None => root.start_byte().min(byte),
    };
    Some(start..next.end_byte())
}

/// The outermost function or class around the cursor, stretched to the window around it:
/// a broken suggestion may show up as an ERROR just past the item it was typed in.
fn affected_range(
    tree: &Tree,
    language: Language,
    rope: &Rope,
    cursor_byte: usize,
) -> Range<usize> {
    let window = cursor_byte.saturating_sub(WINDOW_BYTES)
        ..(cursor_byte + WINDOW_BYTES).min(rope.len_bytes());
    let outermost = syntax::enclosing_scopes(tree, language, rope, cursor_byte)
        .into_iter()
        .last()
        .or_else(|| syntax::enclosing_scope(tree, language, rope, cursor_byte, ScopeKind::Block));
    match outermost {
        Some(scope) => {
            scope.byte_range.start.min(window.start)..scope.byte_range.end.max(window.end)
        }
        None => window,
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Complete statements kept before the cursor's line, however long the block: the
/// suggestion's nearest context.
const KEPT_STATEMENTS: usize = 3;

/// The lines of a window starting at `window_start` that its check leaves out, in order: in the
/// block holding the cursor, the complete statements before the cursor's line but the last
/// [`KEPT_STATEMENTS`], and the blank lines right before the cursor's line. A block's statements
/// are a repetition, so whole, error-free ones left out change no parse after them; they only
/// cost every reparse (tree-sitter re-shifts each sibling of an edit, and re-lexes the
/// whitespace in front of the token an insertion lands in). `tree` may have edits described to
/// it: only statements without changes go, at their edited positions.
pub(super) fn elided(
    tree: &Tree,
    language: Language,
    rope: &Rope,
    window_start: usize,
    cursor_byte: usize,
) -> Vec<Range<usize>> {
    let line_of = |byte: usize| rope.byte_to_line(byte);
    let cursor_line = line_of(cursor_byte);
    let cursor_line_start = rope.line_to_byte(cursor_line);
    let kinds = syntax::scope_kinds(language, ScopeKind::Block);
    let mut block = tree
        .root_node()
        .descendant_for_byte_range(cursor_byte, cursor_byte);
    while let Some(node) = block {
        if kinds.contains(&node.kind()) && node.start_byte() < cursor_line_start {
            break;
        }
        block = node.parent();
    }
    // In a block with errors, error recovery may reach across statements: nothing goes.
    let Some(block) =
        block.filter(|block| !block.has_error() && block.end_byte() <= rope.len_bytes())
    else {
        return Vec::new();
    };
    // The block's first line stays (its opening, or in Python its first statement), and so
    // does every line a statement that cannot go shares.
    let mut barrier = line_of(block.start_byte());
    // Line spans of the statements that may go, in order, since the last that cannot.
    let mut run: Vec<(usize, usize)> = Vec::new();
    let mut last_line = barrier;
    let mut walk = block.walk();
    for child in block.children(&mut walk) {
        if child.end_byte() > cursor_line_start {
            if child.start_byte() < cursor_line_start {
                // A statement runs into the cursor's line: no blank lines before it.
                last_line = cursor_line;
            }
            break;
        }
        let lines = (
            line_of(child.start_byte()),
            line_of(child.end_byte().saturating_sub(1).max(child.start_byte())),
        );
        let whole = !child.has_error() && !child.has_changes() && !child.is_missing();
        if whole && lines.0 > barrier && child.start_byte() >= window_start {
            run.push(lines);
        } else {
            run.clear();
            barrier = lines.1;
        }
        last_line = lines.1;
    }
    let mut gaps = Vec::new();
    // The statements that go: all but the kept ones, on lines of their own.
    let mut kept = run.len().saturating_sub(KEPT_STATEMENTS);
    while kept > 0 && run[kept].0 <= run[kept - 1].1 {
        kept -= 1;
    }
    if kept > 0 {
        gaps.push(rope.line_to_byte(run[0].0)..rope.line_to_byte(run[kept].0));
    }
    // Blank lines between the last statement and the cursor's line, unless a line continuation
    // (`\`) would join the cursor's line to the statement without them, or indentation is
    // syntax: Python's scanner reads the blank lines before a dedent (a class typed after a
    // method was judged otherwise without them, in `tests_elide`).
    let blank_from = last_line + 1;
    if blank_from < cursor_line && language != Language::Python {
        let blanks = rope.line_to_byte(blank_from)..cursor_line_start;
        let line = rope.line(last_line).to_string();
        let continued = line.trim_end_matches(['\n', '\r']).ends_with('\\');
        let blank = rope
            .byte_slice(blanks.clone())
            .chars()
            .all(char::is_whitespace);
        if blank && !continued && blanks.start >= window_start {
            gaps.push(blanks);
        }
    }
    gaps
}
