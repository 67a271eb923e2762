//! What the client can do with the server's edits and progress, learnt once at `initialize`, and
//! the two things that depend on it: how an edit is sent (`documentChanges` carrying the version,
//! or plain `changes`) and whether the server may create a `$/progress` token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tower_lsp_server::ls_types::{
    ClientCapabilities, DocumentChanges, OneOf, OptionalVersionedTextDocumentIdentifier,
    ProgressToken, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};
use tower_lsp_server::{NotCancellable, OngoingProgress, Unbounded};

use super::{Backend, convert};
use crate::documents::Snapshot;
use crate::edits;

/// What the client told `initialize` about code actions, edits and progress.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientSupport {
    /// `codeAction/resolve` can fill in `edit`.
    pub resolves_edit: bool,
    /// `WorkspaceEdit.documentChanges`, which carry the document version.
    pub document_changes: bool,
    /// `window/workDoneProgress/create`.
    pub work_done_progress: bool,
    /// `experimental.spark.rewriteInstruction`: the client prompts for the instruction of a
    /// `spark.rewrite` command before executing it.
    pub prompts_instruction: bool,
}

impl ClientSupport {
    pub fn of(capabilities: &ClientCapabilities) -> Self {
        let resolves_edit = capabilities
            .text_document
            .as_ref()
            .and_then(|doc| doc.code_action.as_ref())
            .and_then(|action| action.resolve_support.as_ref())
            .is_some_and(|support| support.properties.iter().any(|p| p == "edit"));
        let document_changes = capabilities
            .workspace
            .as_ref()
            .and_then(|ws| ws.workspace_edit.as_ref())
            .and_then(|edit| edit.document_changes)
            .unwrap_or(false);
        let work_done_progress = capabilities
            .window
            .as_ref()
            .and_then(|window| window.work_done_progress)
            .unwrap_or(false);
        let prompts_instruction = capabilities
            .experimental
            .as_ref()
            .and_then(|e| e.pointer("/spark/rewriteInstruction"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Self {
            resolves_edit,
            document_changes,
            work_done_progress,
            prompts_instruction,
        }
    }
}

impl Backend {
    /// The edits as a `WorkspaceEdit`: versioned `documentChanges` when the client takes them
    /// (so the client too refuses a stale edit), else `changes`.
    pub(super) fn workspace_edit(
        &self,
        snapshot: &Snapshot,
        edits: &[edits::TextEdit],
    ) -> WorkspaceEdit {
        let encoding = self.encoding();
        let text_edits: Vec<TextEdit> = edits
            .iter()
            .map(|edit| {
                let range =
                    convert::range_of(&snapshot.rope, edit.start_byte, edit.end_byte, encoding);
                TextEdit::new(range, edit.new_text.clone())
            })
            .collect();
        let Ok(uri) = snapshot.uri.parse::<Uri>() else {
            tracing::warn!(uri = %snapshot.uri, "cannot parse the document URI");
            return WorkspaceEdit::default();
        };
        if self.client_support().document_changes {
            return WorkspaceEdit {
                document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                    text_document: OptionalVersionedTextDocumentIdentifier {
                        uri,
                        version: Some(snapshot.version),
                    },
                    edits: text_edits.into_iter().map(OneOf::Left).collect(),
                }])),
                ..WorkspaceEdit::default()
            };
        }
        WorkspaceEdit {
            changes: Some(HashMap::from([(uri, text_edits)])),
            ..WorkspaceEdit::default()
        }
    }

    /// `$/progress` begin for the model call, on the client's token or on one the server
    /// creates when the client supports `window/workDoneProgress`.
    pub(super) async fn begin_progress(
        &self,
        token: Option<ProgressToken>,
    ) -> Option<OngoingProgress<Unbounded, NotCancellable>> {
        static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);
        let token = match token {
            Some(token) => token,
            None if self.client_support().work_done_progress => {
                let n = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
                let token = ProgressToken::String(format!("spark-rewrite-{n}"));
                if let Err(err) = self.client.create_work_done_progress(token.clone()).await {
                    tracing::debug!("window/workDoneProgress/create failed: {err}");
                    return None;
                }
                token
            }
            None => return None,
        };
        Some(
            self.client
                .progress(token, "spark: rewriting")
                .begin()
                .await,
        )
    }

    pub(super) fn client_support(&self) -> ClientSupport {
        self.client_support.get().copied().unwrap_or_default()
    }
}
