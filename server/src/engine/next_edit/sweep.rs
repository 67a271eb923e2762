//! Sweep next-edit's own format (Qwen2.5-Coder `<|file_sep|>` blocks), for a next-edit model
//! served by llama.cpp, Ollama or the embedded engine: a raw completion, never a chat template.
//!
//! Blocks, in order: snippets of recently viewed files (`<|file_sep|>{path}`), the latest
//! changes as `<|file_sep|>{path}.diff` with `original:` and `updated:` parts (at most
//! [`MAX_CHANGES`] of at most [`MAX_CHANGE_LINES`] lines), the window around the cursor as it
//! was before the user's latest edits (`original/{path}`) and as it is (`current/{path}`), and
//! an open `updated/{path}` block the model completes with the window as it will be, stopping
//! at the next `<|file_sep|>` (sent as a stop sequence).

use std::ops::Range;

use super::format::FILE_SEP;
use super::history::Change;
use super::prompt::Workspace;
use crate::context::{display_path, estimate_tokens};
use crate::documents::Snapshot;
use crate::providers::{ModelInput, ModelRequest};

/// Lines above and below the cursor in the window: Sweep's 21-line window.
pub const WINDOW_LINES_AROUND: usize = 10;
/// Changes shown, and their size cap per side.
const MAX_CHANGES: usize = 3;
const MAX_CHANGE_LINES: usize = 40;

/// The raw-completion request for the next edit in `window` of `snapshot`.
pub fn request(
    snapshot: &Snapshot,
    window: Range<usize>,
    workspace: &Workspace,
    max_output_tokens: u32,
) -> ModelRequest {
    let path = display_path(&snapshot.uri);
    let mut text = String::new();
    for snippet in &workspace.snippets {
        let body = snippet.text.trim_end_matches('\n');
        text.push_str(&format!(
            "{FILE_SEP}{}\n{body}\n",
            display_path(&snippet.path)
        ));
    }
    let changes = &workspace.changes;
    for change in changes
        .iter()
        .skip(changes.len().saturating_sub(MAX_CHANGES))
    {
        text.push_str(&diff_block(change));
    }
    let current = snapshot.rope.byte_slice(window.clone()).to_string();
    let original = original_window(snapshot, &window).unwrap_or_else(|| current.clone());
    for (kind, body) in [("original", &original), ("current", &current)] {
        text.push_str(&format!("{FILE_SEP}{kind}/{path}\n{body}"));
        if !body.ends_with('\n') {
            text.push('\n');
        }
    }
    text.push_str(&format!("{FILE_SEP}updated/{path}\n"));
    ModelRequest {
        input: ModelInput::Completion { prompt: text },
        stop: vec![FILE_SEP.into()],
        max_output_tokens: max_output_tokens.max(estimate_tokens(&current) as u32 * 2 + 64),
        temperature: Some(0.0),
        ..ModelRequest::default()
    }
}

fn diff_block(change: &Change) -> String {
    let side = |lines: &[String]| -> String {
        lines
            .iter()
            .take(MAX_CHANGE_LINES)
            .map(|l| format!("{l}\n"))
            .collect()
    };
    format!(
        "{FILE_SEP}{}.diff\noriginal:\n{}updated:\n{}",
        change.path,
        side(&change.old),
        side(&change.new)
    )
}

/// The window as it was before the document's recent edits (undone newest first), as whole
/// lines; `None` when the edits cannot be undone exactly (one was cut short in the history).
fn original_window(snapshot: &Snapshot, window: &Range<usize>) -> Option<String> {
    if snapshot.recent_edits.is_empty() {
        return None;
    }
    let mut text = snapshot.rope.to_string();
    let (mut start, mut end) = (window.start, window.end);
    for edit in snapshot.recent_edits.iter().rev() {
        let new_end = edit.start_byte + edit.new_text.len();
        if text.get(edit.start_byte..new_end) != Some(edit.new_text.as_str()) {
            return None;
        }
        text.replace_range(edit.start_byte..new_end, &edit.old_text);
        let map = |at: usize| {
            if at >= new_end {
                at - edit.new_text.len() + edit.old_text.len()
            } else {
                at.min(edit.start_byte)
            }
        };
        // An edit overlapping the window's end takes all of its old text into the window.
        end = if end > edit.start_byte && end < new_end {
            edit.start_byte + edit.old_text.len()
        } else {
            map(end)
        };
        start = map(start);
    }
    let start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let end = if end == 0 || text[..end].ends_with('\n') {
        end
    } else {
        text[end..].find('\n').map_or(text.len(), |i| end + i + 1)
    };
    Some(text[start..end.max(start)].to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::prompt;
    use super::*;
    use crate::documents::{DocumentStore, LineCol, PositionEncoding, TextChange};

    #[test]
    fn the_prompt_has_the_diff_the_original_and_current_window_and_an_open_update() {
        let store = DocumentStore::default();
        let uri = "file:///p/m.py";
        store.open(
            uri,
            "python",
            1,
            "def f(acc):\n    acc += 1\n    return acc\n",
        );
        let rename = TextChange {
            range: Some((LineCol { line: 0, col: 6 }, LineCol { line: 0, col: 9 })),
            text: "total".into(),
        };
        store.change(uri, 2, &[rename], PositionEncoding::Utf8).ok();
        let snapshot = store.snapshot(uri).expect("open");
        let window = prompt::region(&snapshot.rope, 8, WINDOW_LINES_AROUND, WINDOW_LINES_AROUND);
        let changes = super::super::history::changes(&store.edit_timeline(), &[], 25);
        let workspace = Workspace {
            changes,
            snippets: Vec::new(),
        };
        let request = request(&snapshot, window, &workspace, 32);
        let ModelInput::Completion { prompt } = &request.input else {
            panic!("raw completion");
        };
        assert_eq!(
            prompt,
            "<|file_sep|>p/m.py.diff\noriginal:\ndef f(acc):\nupdated:\ndef f(total):\n\
             <|file_sep|>original/p/m.py\ndef f(acc):\n    acc += 1\n    return acc\n\
             <|file_sep|>current/p/m.py\ndef f(total):\n    acc += 1\n    return acc\n\
             <|file_sep|>updated/p/m.py\n"
        );
        assert_eq!(request.stop, ["<|file_sep|>"]);
    }
}
