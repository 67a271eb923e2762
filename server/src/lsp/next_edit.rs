//! Next-edit suggestions over LSP: the `spark/nextEdit` request (shaped like the Copilot language
//! server's `textDocument/copilotInlineEdit`), the "Apply suggested edit" code action, the inline
//! completion item with a `range` when the edit touches the cursor line, and the
//! `spark.didAcceptNextEdit` command that looks for the edit after it before the editor asks.

use serde_json::Value;
use spark_protocol::{
    ActionData, ActionKind, NextEdit, NextEditParams, NextEditResult, SuggestionKind,
    VersionedTextDocument, commands,
};
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{self as lsp, CodeAction, CodeActionKind};

use super::{Backend, convert};
use crate::documents::Snapshot;
use crate::engine::next_edit::Suggestion;
use crate::engine::{Gate, Offer};

/// A next edit the controller let through.
struct Admitted {
    suggestion: Suggestion,
    id: String,
}

/// The code action's title.
pub(super) const APPLY_TITLE: &str = "Apply suggested edit";

impl Backend {
    /// `spark/nextEdit`: the edits, or none when the document is at another version than the
    /// request's, the model proposes nothing, or the provider failed (shown to the user).
    pub(super) async fn next_edit(&self, params: NextEditParams) -> Result<NextEditResult> {
        let uri = params.text_document.uri.as_str();
        let Some(snapshot) = self.usable_snapshot(uri) else {
            return Ok(NextEditResult::default());
        };
        if snapshot.version != params.text_document.version {
            tracing::debug!(
                uri,
                asked = params.text_document.version,
                current = snapshot.version,
                "next edit for another version; none"
            );
            return Ok(NextEditResult::default());
        }
        let position = convert::lsp_position(params.position);
        let cursor = convert::byte_of(&snapshot.rope, position, self.encoding());
        let Some(shown) = self.admitted_next_edit(&snapshot, cursor).await else {
            return Ok(NextEditResult::default());
        };
        let edits = &shown.suggestion.edits;
        let encoding = self.encoding();
        let document = VersionedTextDocument {
            uri: snapshot.uri.to_string(),
            version: snapshot.version,
        };
        Ok(NextEditResult {
            edits: edits
                .iter()
                .map(|edit| NextEdit {
                    range: convert::protocol_range(convert::range_of(
                        &snapshot.rope,
                        edit.start_byte,
                        edit.end_byte,
                        encoding,
                    )),
                    new_text: edit.new_text.clone(),
                    text_document: document.clone(),
                })
                .collect(),
            command: Some(spark_protocol::Command {
                title: "Accept next edit".into(),
                command: commands::DID_ACCEPT_NEXT_EDIT.into(),
                arguments: vec![Value::String(document.uri), Value::String(shown.id.clone())],
            }),
            intent: Some(shown.suggestion.intent.as_str().to_owned()),
            id: Some(shown.id),
        })
    }

    /// A next edit at `cursor` of `snapshot` that the controller lets through (cooldowns,
    /// rejection memory, eagerness, ghost text on its line), with its id: what `spark/nextEdit`
    /// and the code action show.
    async fn admitted_next_edit(&self, snapshot: &Snapshot, cursor: usize) -> Option<Admitted> {
        let controller = self.engine.controller();
        self.engine.count_next_edit_request();
        let line = snapshot
            .rope
            .byte_to_line(cursor.min(snapshot.rope.len_bytes()));
        let suggestion = match controller.gate(&snapshot.uri, snapshot.version, line) {
            Gate::Open => {
                let suggestion = self.next_edits_at(snapshot, cursor).await;
                controller.answered(&snapshot.uri, snapshot.version, line);
                suggestion?
            }
            // Answered here at this version moments ago: what the engine found, or nothing.
            Gate::SameLine => self.engine.ready_next_edit(snapshot)?,
            Gate::Cooling => return None,
        };
        let id = controller.offer(&Offer {
            uri: &snapshot.uri,
            version: snapshot.version,
            rope: &snapshot.rope,
            kind: SuggestionKind::NextEdit,
            edits: &suggestion.edits,
            intent: suggestion.intent,
            displayed: true,
        })?;
        Some(Admitted { suggestion, id })
    }

    /// The engine's next edit at `cursor` of `snapshot`, telling the user about provider
    /// failures.
    pub(super) async fn next_edits_at(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
    ) -> Option<Suggestion> {
        let busy = self.busy();
        let settings = self.request_settings();
        match self.engine.next_edit(snapshot, cursor, &settings).await {
            Ok(edits) => {
                self.provider_recovered();
                busy.answered();
                edits
            }
            Err(err) => {
                tracing::warn!(uri = %snapshot.uri, "next edit failed: {err}");
                self.report_provider_error(&err).await;
                None
            }
        }
    }

    /// The "Apply suggested edit" action for a cursor at `cursor` (resolved like the refactors).
    pub(super) fn next_edit_action(&self, snapshot: &Snapshot, cursor: usize) -> CodeAction {
        let range = convert::range_of(&snapshot.rope, cursor, cursor, self.encoding());
        let data = ActionData {
            uri: snapshot.uri.to_string(),
            version: snapshot.version,
            range: convert::protocol_range(range),
            kind: ActionKind::NextEdit,
            message: None,
        };
        CodeAction {
            title: APPLY_TITLE.into(),
            kind: Some(CodeActionKind::REFACTOR_REWRITE),
            data: serde_json::to_value(&data).ok(),
            ..CodeAction::default()
        }
    }

    /// `codeAction/resolve` of "Apply suggested edit": the next edit as a `WorkspaceEdit`.
    pub(super) async fn resolve_next_edit(&self, data: &ActionData) -> Option<lsp::WorkspaceEdit> {
        let snapshot = self.usable_snapshot(&data.uri)?;
        if snapshot.version != data.version {
            return None;
        }
        let position = convert::lsp_range(data.range).start;
        let cursor = convert::byte_of(&snapshot.rope, position, self.encoding());
        let suggestion = self.admitted_next_edit(&snapshot, cursor).await?.suggestion;
        let current = self.documents.snapshot(&data.uri).map(|s| s.version);
        (current == Some(snapshot.version))
            .then(|| self.workspace_edit(&snapshot, &suggestion.edits))
    }

    /// `spark.didAcceptNextEdit`: the user applied the suggestion; the edit after it is looked
    /// for at once, at the end of the user's last edit, so it is ready when the editor asks.
    pub(super) fn accepted_next_edit(&self, uri: &str) {
        let Some(snapshot) = self.usable_snapshot(uri) else {
            return;
        };
        let Some(last) = snapshot.recent_edits.last() else {
            return;
        };
        let cursor = (last.start_byte + last.new_text.len()).min(snapshot.rope.len_bytes());
        let backend = self.clone();
        tokio::spawn(async move {
            backend.next_edits_at(&snapshot, cursor).await;
        });
    }

    /// The next edit as an inline completion item, when one is ready for this version (made by
    /// `spark/nextEdit`, the code action or after an accept; never a model call here), it
    /// touches the cursor line and the controller lets it through: the item replaces the span
    /// the edits cover. `displayed`: it is the list's first item, not an alternative.
    pub(super) fn next_edit_item(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        displayed: bool,
    ) -> Option<lsp::InlineCompletionItem> {
        let Suggestion { edits, intent, .. } = self.engine.ready_next_edit(snapshot)?;
        if !crate::engine::touches_line(&snapshot.rope, &edits, cursor) {
            return None;
        }
        let id = self.engine.controller().offer(&Offer {
            uri: &snapshot.uri,
            version: snapshot.version,
            rope: &snapshot.rope,
            kind: SuggestionKind::NextEdit,
            edits: &edits,
            intent,
            displayed,
        })?;
        let edit = crate::engine::as_one_edit(&snapshot.rope, &edits)?;
        let range = convert::range_of(
            &snapshot.rope,
            edit.start_byte,
            edit.end_byte,
            self.encoding(),
        );
        Some(lsp::InlineCompletionItem {
            insert_text: edit.new_text,
            filter_text: None,
            range: Some(range),
            command: Some(lsp::Command::new(
                "Accept next edit".into(),
                commands::DID_ACCEPT_NEXT_EDIT.into(),
                Some(vec![
                    Value::String(snapshot.uri.to_string()),
                    Value::String(id),
                ]),
            )),
            insert_text_format: None,
        })
    }
}
