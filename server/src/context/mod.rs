//! Prompt context: what of a document snapshot the model sees, for a cursor, under a token
//! budget. Pure functions over a [`Snapshot`]: no I/O, no async, no LSP types.
//!
//! A prompt is gathered once ([`build`]) and rendered per provider family
//! ([`Prompt::to_request_parts`]): the text around the cursor cut on line boundaries, the
//! imports and enclosing scope headers that lie before that window, the user's recent edits,
//! and the most similar snippets of other open documents. Secret files never get a prompt and
//! are never used as related documents. Chat prompts split into a `context` that stays
//! byte-identical from one keystroke to the next (see [`Anchor`]) and a `query` that changes.

mod anchor;
mod edits;
mod format;
mod outline;
mod related;
mod secrets;
mod tokens;
mod window;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_chat;
#[cfg(test)]
mod tests_parts;
#[cfg(test)]
mod tests_props;

pub use anchor::{Anchor, Change, MAX_DRIFT_BYTES, change_since, changed_region};
pub use format::CHAT_INSTRUCTIONS;
pub use related::Snippet;
pub use secrets::{display_path, is_secret_path};
pub use tokens::estimate_tokens;

/// The user's recent edits as a compact diff that fits in `tokens` (see `edits`).
pub fn render_recent_edits(snapshot: &Snapshot, tokens: usize) -> String {
    edits::render(&snapshot.rope, &snapshot.recent_edits, tokens)
}

/// The snippets of `related` documents most like the code around `cursor` of `snapshot`, that
/// fit in `tokens` (see `related`); secret documents and the snapshot's own are skipped.
pub fn related_snippets(
    snapshot: &Snapshot,
    cursor: usize,
    related: &[RelatedDoc],
    secret_globs: &[String],
    tokens: usize,
) -> Vec<Snippet> {
    let path = display_path(&snapshot.uri);
    related::snippets(&snapshot.rope, cursor, related, &path, secret_globs, tokens)
}

use std::ops::Range;

use ropey::Rope;

use crate::documents::Snapshot;
use crate::providers::ModelInput;
use crate::syntax::Language;

/// Marks the cursor in chat prompts. The reference model server's corpus mode looks for exactly
/// this marker in the last user message and continues the text before it.
pub const CURSOR: &str = crate::providers::CURSOR_MARKER;

/// Tokens kept for the path comment that opens a FIM prefix.
const PATH_HEADER_TOKENS: usize = 16;

/// How large a prompt may be. Fast models decode quickly, but time to first token still grows
/// with prefill, so prompts stay small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    pub prompt_tokens: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            prompt_tokens: 2_000,
        }
    }
}

impl Budget {
    /// Caps for the parts besides the window, in tokens; the window gets what they leave.
    fn share(self, percent: usize) -> usize {
        self.prompt_tokens * percent / 100
    }
}

/// Another open document, offered for related snippets.
#[derive(Clone, Debug)]
pub struct RelatedDoc {
    /// A path or URI.
    pub path: String,
    pub rope: Rope,
}

/// Everything [`build`] looks at.
#[derive(Clone, Copy, Debug)]
pub struct ContextInput<'a> {
    pub snapshot: &'a Snapshot,
    pub cursor_byte: usize,
    pub related: &'a [RelatedDoc],
    pub budget: Budget,
    /// The user's secret globs (`secrets.extraGlobs`), on top of the built-in list.
    pub secret_globs: &'a [String],
    /// Where the window before the cursor starts.
    pub window_start: WindowStart,
}

/// Where the window before the cursor starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WindowStart {
    /// As far back as the budget allows: the most context, a new beginning every few lines.
    #[default]
    Fullest,
    /// Steady across keystrokes, so that the prompt's beginning (and a model's cache of it)
    /// stays the same: at the given line (where the last window started) while the text from
    /// there to the cursor fits the budget; else, or with `None`, at a line that leaves half of
    /// the budget for the user to type into before the start has to move again.
    Steady(Option<usize>),
}

impl<'a> ContextInput<'a> {
    /// An input with nothing but the document: no related documents, no secret globs, no
    /// anchor, the default budget.
    pub fn new(snapshot: &'a Snapshot, cursor_byte: usize) -> Self {
        Self {
            snapshot,
            cursor_byte,
            related: &[],
            budget: Budget::default(),
            secret_globs: &[],
            window_start: WindowStart::Fullest,
        }
    }
}

/// The prompt shapes providers take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptFamily {
    /// Fill-in-the-middle models: prefix, suffix and extra files.
    Fim,
    /// Instruction-following models (Responses, Chat Completions, Anthropic).
    Chat,
}

/// The gathered pieces of a prompt; render them with [`Prompt::to_request_parts`].
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// The path shown to the model (no `file://`).
    pub path: String,
    /// The language's name (`rust`), else the editor's language id.
    pub language: String,
    /// How a line comment starts in this language, if it has one.
    pub line_comment: Option<&'static str>,
    /// Imports and enclosing scope headers before the window, with elision lines; it goes
    /// right before `before`.
    pub outline: String,
    /// The document's bytes shown around the cursor.
    pub window: Range<usize>,
    pub cursor_byte: usize,
    /// `window.start..cursor_byte` and `cursor_byte..window.end` of the document.
    pub before: String,
    pub after: String,
    /// The recent edits as a diff, newest last.
    pub recent_edits: String,
    /// Snippets of related documents, most similar first.
    pub related: Vec<Snippet>,
    pub chat: ChatParts,
}

/// What the chat rendering needs beyond the shared pieces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatParts {
    /// The anchor's rendered context (or, without an anchor, this snapshot's).
    pub context: String,
    /// The diff from the anchor's text to this snapshot's; empty without an anchor.
    pub since_anchor: String,
    /// The recent edits up to the anchor (later ones are in `since_anchor`).
    pub recent_edits: String,
    /// About 15 lines before and 5 after the cursor.
    pub local_before: String,
    pub local_after: String,
}

/// Gathers the prompt for `input`: `None` for a secret or inactive document.
pub fn build(input: &ContextInput<'_>) -> Option<Prompt> {
    let snapshot = input.snapshot;
    if snapshot.inactive.is_some() || is_secret_path(&snapshot.uri, input.secret_globs) {
        return None;
    }
    let rope = &snapshot.rope;
    let cursor = window::floor_char(rope, input.cursor_byte);
    let path = display_path(&snapshot.uri);
    let budget = input.budget;
    let recent_edits = edits::render(rope, &snapshot.recent_edits, budget.share(10));
    let related = related::snippets(
        rope,
        cursor,
        input.related,
        &path,
        input.secret_globs,
        budget.share(20),
    );
    let related_tokens: usize = related
        .iter()
        .map(|s| estimate_tokens(&s.text) + estimate_tokens(&s.path) + 2)
        .sum();
    // Imports and scope headers may take 10% each; what they leave goes back to the window.
    let (import_tokens, scope_tokens) = (budget.share(10), budget.share(10));
    let window_tokens = budget
        .prompt_tokens
        .saturating_sub(estimate_tokens(&recent_edits) + related_tokens)
        .saturating_sub(import_tokens + scope_tokens + PATH_HEADER_TOKENS);
    let window_bytes = tokens::bytes_for_tokens(window_tokens);
    let before_bytes = window_bytes * 3 / 4;
    let after_bytes = window_bytes - before_bytes;
    // Scope headers and imports come from the latest tree: typing outruns the background
    // reparse on every keystroke, and reparsing a 9,000-line file here took ~0.9 ms of each
    // request. Its positions are exact; only the structure of what was typed since its parse
    // (usually one keystroke) is missing. With no tree at all (first parse running) it parses.
    let tree = snapshot.latest_tree().or_else(|| snapshot.tree_or_parse());
    let line_comment = snapshot.language.and_then(line_comment);
    let scopes = match (&tree, snapshot.language) {
        (Some(tree), Some(language)) => {
            crate::syntax::enclosing_scopes(tree, language, rope, cursor)
        }
        _ => Vec::new(),
    };
    let outline_at = |window_start| {
        outline::outline(&outline::OutlineInput {
            rope,
            tree: tree.as_ref(),
            language: snapshot.language,
            window_start,
            comment: line_comment,
            scopes: &scopes,
            import_tokens,
            scope_tokens,
        })
    };
    let mut range = window::window(rope, cursor, before_bytes, after_bytes);
    let mut outline = outline_at(range.start);
    // A wider window only leaves fewer imports and shorter headers outside it, so the outline
    // recomputed for it costs no more than the first.
    let unused = (import_tokens + scope_tokens).saturating_sub(estimate_tokens(&outline));
    if unused > 0 && range.start > 0 {
        let extra = tokens::bytes_for_tokens(unused);
        range = window::window(rope, cursor, before_bytes + extra, after_bytes);
        outline = outline_at(range.start);
    }
    if let WindowStart::Steady(previous) = input.window_start {
        let start = window::steady_start(rope, cursor, range.start, previous);
        if start != range.start {
            range.start = start;
            outline = outline_at(start);
        }
    }
    let local = window::local_window(rope, cursor);
    let mut prompt = Prompt {
        path,
        language: snapshot.language.map_or_else(
            || snapshot.language_id.to_lowercase(),
            |l| l.name().to_owned(),
        ),
        line_comment,
        outline,
        before: window::text(rope, range.start..cursor),
        after: window::text(rope, cursor..range.end),
        window: range,
        cursor_byte: cursor,
        recent_edits,
        related,
        chat: ChatParts {
            context: String::new(),
            since_anchor: String::new(),
            recent_edits: String::new(),
            local_before: window::text(rope, local.start..cursor),
            local_after: window::text(rope, cursor..local.end),
        },
    };
    prompt.chat.context = format::chat_context(&prompt);
    prompt.chat.recent_edits = prompt.recent_edits.clone();
    Some(prompt)
}

/// The chat request of `input` continuing from `anchor`, the document's own, with `change`
/// since it (see [`change_since`]): the anchored context as it is, then a query of the diff
/// since the anchor, the edits up to it and the lines around the cursor. Nothing else of the file is
/// gathered (no window, outline or tree): the anchored context already shows it. `None` for a
/// secret or inactive document.
pub fn continue_chat(
    input: &ContextInput<'_>,
    anchor: &Anchor,
    change: Change,
) -> Option<(String, ModelInput)> {
    let snapshot = input.snapshot;
    if snapshot.inactive.is_some() || is_secret_path(&snapshot.uri, input.secret_globs) {
        return None;
    }
    let rope = &snapshot.rope;
    let cursor = window::floor_char(rope, input.cursor_byte);
    let local = window::local_window(rope, cursor);
    let upto = snapshot
        .recent_edits
        .iter()
        .position(|e| e.version > anchor.version)
        .unwrap_or(snapshot.recent_edits.len());
    let chat = ChatParts {
        context: anchor.context.clone(),
        since_anchor: anchor::render_diff(&anchor.rope, rope, change),
        recent_edits: edits::render(rope, &snapshot.recent_edits[..upto], input.budget.share(10)),
        local_before: window::text(rope, local.start..cursor),
        local_after: window::text(rope, cursor..local.end),
    };
    let path = display_path(&snapshot.uri);
    Some((CHAT_INSTRUCTIONS.to_owned(), chat.input(&path)))
}

impl Anchor {
    /// Anchors the chat context at `input`'s snapshot and cursor; `None` when the document gets
    /// no prompt.
    pub fn new(input: &ContextInput<'_>) -> Option<Anchor> {
        let prompt = build(input)?;
        Some(Anchor {
            uri: input.snapshot.uri.clone(),
            version: input.snapshot.version,
            seq: input.snapshot.seq,
            rope: input.snapshot.rope.clone(),
            window: prompt.window,
            context: prompt.chat.context,
        })
    }
}

/// How a line comment starts, for the path header and elision lines.
fn line_comment(language: Language) -> Option<&'static str> {
    use Language as L;
    match language {
        L::Rust | L::TypeScript | L::Tsx | L::JavaScript | L::Go | L::C | L::Cpp | L::Java => {
            Some("//")
        }
        L::Python | L::Bash | L::Toml => Some("#"),
        L::Lua => Some("--"),
        L::Json => None,
    }
}
