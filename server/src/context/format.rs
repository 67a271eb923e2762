//! Rendering a [`Prompt`] for a provider family.
//!
//! FIM models get the window as prefix and suffix, the prefix opened (when the window starts
//! mid-file) by a path comment and the outline (imports, scope headers), and related snippets
//! and recent edits as extra files.
//! Chat models get a strict system prompt, a `context` that only changes when the document is
//! re-anchored, and a `query` with what changed since and the lines around [`CURSOR`].

use super::{CURSOR, ChatParts, Prompt, PromptFamily};
use crate::providers::{ExtraFile, ModelInput};

/// The system prompt for chat models.
pub const CHAT_INSTRUCTIONS: &str = "\
You are a code completion engine inside a code editor. The last message shows the code around \
the user's cursor, marked <|cursor|>; earlier text shows the file and related code. Reply with \
only the text to insert at <|cursor|>: raw code, no Markdown fences, no explanations. Never \
repeat text that is already before or after the cursor. Complete the current statement or \
block, then stop. If nothing should be inserted, reply with nothing.";

/// The pseudo-file that carries recent edits to FIM models.
const EDIT_HISTORY_PATH: &str = "edit history";

impl Prompt {
    /// The system instructions and the model input for `family`.
    pub fn to_request_parts(&self, family: PromptFamily) -> (String, ModelInput) {
        match family {
            PromptFamily::Fim => (String::new(), self.fim()),
            PromptFamily::Chat => (CHAT_INSTRUCTIONS.to_owned(), self.chat()),
        }
    }

    fn fim(&self) -> ModelInput {
        let mut prefix = String::with_capacity(self.outline.len() + self.before.len() + 64);
        // A window that starts mid-file has lost the file's own first lines; a path comment
        // (common at the top of files FIM models were trained on) and the outline give the
        // orientation back. A window from the file's start shows the real first lines instead.
        if let Some(comment) = self.line_comment.filter(|_| self.window.start > 0) {
            prefix.push_str(&format!("{comment} Path: {}\n", self.path));
        }
        prefix.push_str(&self.outline);
        prefix.push_str(&self.before);
        let mut extra: Vec<ExtraFile> = self
            .related
            .iter()
            .map(|s| ExtraFile {
                path: s.path.clone(),
                text: s.text.clone(),
            })
            .collect();
        if !self.recent_edits.is_empty() {
            extra.push(ExtraFile {
                path: EDIT_HISTORY_PATH.to_owned(),
                text: self.recent_edits.clone(),
            });
        }
        ModelInput::Fim {
            prefix,
            suffix: self.after.clone(),
            extra,
        }
    }

    fn chat(&self) -> ModelInput {
        self.chat.input(&self.path)
    }
}

impl ChatParts {
    /// The chat input: the context, and a query of the diff since the anchor, the recent edits
    /// and the lines around the cursor of the document at `path`.
    pub(super) fn input(&self, path: &str) -> ModelInput {
        let mut query = String::new();
        if !self.since_anchor.is_empty() {
            let diff = defuse(&self.since_anchor);
            query.push_str(&format!(
                "<changes_since_file path=\"{path}\">\n{diff}</changes_since_file>\n"
            ));
        }
        if !self.recent_edits.is_empty() {
            let edits = defuse(&self.recent_edits);
            query.push_str(&format!("<recent_edits>\n{edits}</recent_edits>\n"));
        }
        // The closing tag follows the text directly: a line break added here would tell the
        // model of one the document does not have (at the end of a file without a final line
        // break, after a lone CR, or where the window cuts a line).
        query.push_str(&format!(
            "<cursor path=\"{path}\">\n{}{CURSOR}{}</cursor>\n",
            defuse(&self.local_before),
            defuse(&self.local_after),
        ));
        ModelInput::Chat {
            context: self.context.clone(),
            query,
        }
    }
}

/// The chat context for this prompt's own snapshot: related snippets, then the file's outline
/// and window. Must depend only on the anchored text (never on the query's parts) so it stays
/// byte-identical while the anchor does.
pub(super) fn chat_context(prompt: &Prompt) -> String {
    let mut out = String::new();
    for snippet in &prompt.related {
        out.push_str(&format!(
            "<related path=\"{}\" first_line=\"{}\">\n{}\n</related>\n",
            snippet.path,
            snippet.first_line,
            defuse(&snippet.text)
        ));
    }
    let mut body = String::with_capacity(prompt.outline.len() + prompt.window.len() + 1);
    body.push_str(&prompt.outline);
    body.push_str(&prompt.before);
    body.push_str(&prompt.after);
    // As in the query, nothing is added after the text: the closing tag ends it.
    out.push_str(&format!(
        "<file path=\"{}\" language=\"{}\">\n{}</file>\n",
        prompt.path,
        prompt.language,
        defuse(&body)
    ));
    out
}

/// The text with any literal cursor marker broken up, so the only marker a model (or the
/// reference server) sees is the real one.
fn defuse(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(CURSOR) {
        text.replace(CURSOR, "<|cursor |>").into()
    } else {
        text.into()
    }
}
