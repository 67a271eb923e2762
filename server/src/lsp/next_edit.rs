//! Next-edit suggestions over LSP: the `spark/nextEdit` request (shaped like the Copilot language
//! server's `textDocument/copilotInlineEdit`; with its `location` and `jump` when the engine went
//! elsewhere), the "Apply suggested edit" code action (naming the line of a known jump), the
//! inline completion item with a `range` when the edit touches the cursor line, and the chain
//! after an accept (`spark.didAcceptNextEdit`, or a change that applies exactly the suggestion)
//! that looks for the edit after it before the editor asks.

use serde_json::Value;
use spark_protocol::{
    ActionData, ActionKind, Location, NextEdit, NextEditParams, NextEditResult, SuggestionKind,
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

/// `spark.didAcceptNextEdit` for the document `uri`: what the client runs after applying.
pub(super) fn accept_command(uri: &str, id: &str) -> spark_protocol::Command {
    spark_protocol::Command {
        title: "Accept next edit".into(),
        command: commands::DID_ACCEPT_NEXT_EDIT.into(),
        arguments: vec![Value::String(uri.to_owned()), Value::String(id.to_owned())],
    }
}

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
        let range = |start, end| {
            convert::protocol_range(convert::range_of(&snapshot.rope, start, end, encoding))
        };
        let location = match (edits.first(), edits.last()) {
            (Some(first), Some(last)) => Some(Location {
                uri: document.uri.clone(),
                range: range(first.start_byte, last.end_byte),
            }),
            _ => None,
        };
        Ok(NextEditResult {
            edits: edits
                .iter()
                .map(|edit| NextEdit {
                    range: range(edit.start_byte, edit.end_byte),
                    new_text: edit.new_text.clone(),
                    text_document: document.clone(),
                })
                .collect(),
            command: Some(accept_command(&document.uri, &shown.id)),
            intent: Some(shown.suggestion.intent.as_str().to_owned()),
            id: Some(shown.id),
            location,
            jump: crate::engine::is_jump(&snapshot.rope, edits, cursor),
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
            Gate::SameLine => self.engine.ready_next_edit_at(snapshot, cursor)?,
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
        let jumps = self.jump_settings(snapshot);
        let result = self
            .engine
            .next_edit_or_jump(snapshot, cursor, &settings, &jumps)
            .await;
        match result {
            Ok(edits) => {
                self.provider_recovered();
                busy.answered();
                if let Some(suggestion) = &edits {
                    self.engine.answered_next_edit(snapshot, &suggestion.edits);
                }
                edits
            }
            Err(err) => {
                tracing::warn!(uri = %snapshot.uri, "next edit failed: {err}");
                self.report_provider_error(&err).await;
                None
            }
        }
    }

    /// What a next-edit ask of `snapshot`'s document may look at beyond the cursor's region.
    pub(super) fn jump_settings(&self, snapshot: &Snapshot) -> crate::engine::JumpSettings {
        let config = self.config();
        let enabled = config.next_edit.jumps;
        crate::engine::JumpSettings {
            enabled,
            model_jump: config.next_edit.model_jump,
            diagnostics: if enabled {
                self.diagnostics.marks(&snapshot.uri, &snapshot.rope)
            } else {
                Vec::new()
            },
        }
    }

    /// The "Apply suggested edit" action for a cursor at `cursor` (resolved like the refactors).
    /// When the suggestion for this version is known already (asked by `spark/nextEdit`, an
    /// earlier resolve, or a chain after an accept) and lies elsewhere, the title names its
    /// line: Helix shows titles only, so that is where its users learn where the edit is.
    pub(super) fn next_edit_action(&self, snapshot: &Snapshot, cursor: usize) -> CodeAction {
        let range = convert::range_of(&snapshot.rope, cursor, cursor, self.encoding());
        let data = ActionData {
            uri: snapshot.uri.to_string(),
            version: snapshot.version,
            range: convert::protocol_range(range),
            kind: ActionKind::NextEdit,
            message: None,
        };
        let title = match self.engine.ready_next_edit_at(snapshot, cursor) {
            Some(suggestion)
                if crate::engine::is_jump(&snapshot.rope, &suggestion.edits, cursor) =>
            {
                let line = snapshot.rope.byte_to_line(suggestion.edits[0].start_byte) + 1;
                format!("{APPLY_TITLE} at line {line}")
            }
            _ => APPLY_TITLE.into(),
        };
        CodeAction {
            title,
            kind: Some(CodeActionKind::REFACTOR_REWRITE),
            data: serde_json::to_value(&data).ok(),
            ..CodeAction::default()
        }
    }

    /// `codeAction/resolve` of "Apply suggested edit": the next edit as a `WorkspaceEdit`.
    pub(super) async fn resolve_next_edit(
        &self,
        data: &ActionData,
    ) -> Option<(lsp::WorkspaceEdit, String)> {
        let snapshot = self.usable_snapshot(&data.uri)?;
        if snapshot.version != data.version {
            return None;
        }
        let position = convert::lsp_range(data.range).start;
        let cursor = convert::byte_of(&snapshot.rope, position, self.encoding());
        let shown = self.admitted_next_edit(&snapshot, cursor).await?;
        let current = self.documents.snapshot(&data.uri).map(|s| s.version);
        (current == Some(snapshot.version)).then(|| {
            (
                self.workspace_edit(&snapshot, &shown.suggestion.edits),
                shown.id,
            )
        })
    }

    /// `spark.didAcceptNextEdit`: the user applied the suggestion; the edit after it is looked
    /// for at once (a chain), so it is ready when the editor asks. When the suggestion's text
    /// is not in the document yet, the change that brings it starts the chain instead.
    pub(super) fn accepted_next_edit(&self, uri: &str) {
        let Some(snapshot) = self.usable_snapshot(uri) else {
            return;
        };
        if self.engine.awaits_next_edit_text(uri, snapshot.version) {
            tracing::debug!(uri, "next edit accepted before its text arrived");
            return;
        }
        let Some(last) = snapshot.recent_edits.last() else {
            return;
        };
        let cursor = (last.start_byte + last.new_text.len()).min(snapshot.rope.len_bytes());
        self.chain_next_edit(snapshot, cursor);
    }

    /// After a `didChange` of `uri`: when it applied exactly the next edit answered last, the
    /// chain starts from the end of that edit.
    pub(super) fn next_edit_changed(&self, uri: &str) {
        if !self.engine.awaits_next_edit_change(uri) {
            return;
        }
        let Some(snapshot) = self.usable_snapshot(uri) else {
            return;
        };
        if let Some(cursor) = self.engine.applied_next_edit(&snapshot) {
            tracing::debug!(uri, "the change applied the next edit; chaining");
            self.chain_next_edit(snapshot, cursor);
        }
    }

    /// Looks for the next edit after an accept in a task of its own.
    fn chain_next_edit(&self, snapshot: Snapshot, cursor: usize) {
        let backend = self.clone();
        tokio::spawn(async move {
            let settings = backend.request_settings();
            let jumps = backend.jump_settings(&snapshot);
            let engine = &backend.engine;
            match engine
                .chain_next_edit(&snapshot, cursor, &settings, &jumps)
                .await
            {
                Ok(Some(suggestion)) => engine.answered_next_edit(&snapshot, &suggestion.edits),
                Ok(None) => {}
                Err(err) => tracing::debug!(uri = %snapshot.uri, "chained next edit failed: {err}"),
            }
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
        self.engine.answered_next_edit(snapshot, &edits);
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
