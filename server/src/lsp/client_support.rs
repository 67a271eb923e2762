//! What the client can do with the server's edits and progress, learnt once at `initialize`, and
//! the two things that depend on it: how an edit is sent (`documentChanges` carrying the version,
//! or plain `changes`) and whether the server may create a `$/progress` token.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
    /// The client asks for completions again as the user types when a list is incomplete, so
    /// a completion item may answer early without the model's suggestion (see
    /// [`ClientSupport::item_budget`]).
    pub reasks_incomplete: bool,
}

/// Clients (by `clientInfo.name`) known to ask again for an incomplete completion list as the
/// user types. Eglot 1.9 asks once and ignores `isIncomplete`; so may any client not listed.
const REASKING_CLIENTS: &[&str] = &["helix", "Neovim", "Visual Studio Code", "code-server"];

/// How long a completion item waits for the model when the client re-asks incomplete lists and
/// `completion.itemBudgetMs` is unset: short, so other servers' items are never held up.
const REASKING_ITEM_BUDGET: Duration = Duration::from_millis(80);

impl ClientSupport {
    pub fn of(capabilities: &ClientCapabilities, client_name: Option<&str>) -> Self {
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
            reasks_incomplete: client_name.is_some_and(|name| REASKING_CLIENTS.contains(&name)),
        }
    }

    /// How long a `textDocument/completion` answer may wait for the model: the configured
    /// `completion.itemBudgetMs`, else a short budget for clients that ask again (the call goes
    /// on into the cache, which answers their next request), else the request's own deadline,
    /// since a client that never asks again would otherwise never get the item.
    pub fn item_budget(&self, configured_ms: Option<u64>, request_timeout: Duration) -> Duration {
        match configured_ms {
            Some(ms) => Duration::from_millis(ms),
            None if self.reasks_incomplete => REASKING_ITEM_BUDGET,
            None => request_timeout,
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
