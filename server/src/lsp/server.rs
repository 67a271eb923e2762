//! The `LanguageServer` implementation: lifecycle and text synchronisation, each a few lines
//! that delegate to the documents store, the settings handling or the suggestion handlers.

use std::sync::atomic::Ordering;

use tower_lsp_server::LanguageServer;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionParams, CodeActionResponse, CompletionParams, CompletionResponse,
    CreateFilesParams, DeleteFilesParams, DidChangeConfigurationParams,
    DidChangeNotebookDocumentParams, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWorkspaceFoldersParams, DidCloseNotebookDocumentParams, DidCloseTextDocumentParams,
    DidOpenNotebookDocumentParams, DidOpenTextDocumentParams, DidSaveNotebookDocumentParams,
    DidSaveTextDocumentParams, ExecuteCommandParams, InitializeParams, InitializeResult,
    InitializedParams, LSPAny, RenameFilesParams, ServerInfo, SetTraceParams,
    WillSaveTextDocumentParams,
};

use spark_protocol::SuggestionKind;

use super::{Backend, capabilities, client_support, convert, editor_process};
use crate::documents::{ChangeError, PositionEncoding};
use crate::engine::AcceptSignal;

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let offered = params
            .capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_ref());
        let encoding =
            PositionEncoding::negotiate(offered.into_iter().flatten().map(|kind| kind.as_str()));
        let _ = self.encoding.set(encoding);
        let pulls = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|workspace| workspace.configuration)
            .unwrap_or(false);
        self.pulls_configuration.store(pulls, Ordering::Relaxed);
        let client = params
            .client_info
            .as_ref()
            .map(|info| info.name.as_str())
            .unwrap_or("unknown");
        let support = client_support::ClientSupport::of(&params.capabilities, Some(client));
        let _ = self.client_support.set(support);
        tracing::info!(client, encoding = encoding.name(), "initialize");
        if let Some(pid) = params.process_id {
            editor_process::watch(pid, self.editor_gone.clone());
        }
        self.load_initial_settings(&params);
        Ok(InitializeResult {
            capabilities: capabilities::server_capabilities(encoding),
            server_info: Some(ServerInfo {
                name: "spark-lsp".into(),
                version: Some(env!("CARGO_PKG_VERSION").into()),
            }),
            ..InitializeResult::default()
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        self.report_settings_issues().await;
        if let Some(provider) = &self.options.provider {
            self.provider_ready(provider.name()).await;
        }
    }

    async fn shutdown(&self) -> Result<()> {
        tracing::info!("shutdown");
        self.shutdown.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        tracing::debug!(
            uri = doc.uri.as_str(),
            version = doc.version,
            bytes = doc.text.len(),
            "didOpen"
        );
        self.documents
            .open(doc.uri.as_str(), &doc.language_id, doc.version, &doc.text);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let changes: Vec<_> = params
            .content_changes
            .into_iter()
            .map(convert::text_change)
            .collect();
        // An editor that inserts the suggestion shown and sends no accept signal still shows the
        // accept in its text: the whole suggestion arriving in one change.
        let accepted = match changes.as_slice() {
            [only] if self.engine.is_shown(uri.as_str(), &only.text) => Some(only.text.clone()),
            _ => None,
        };
        let applied = match self
            .documents
            .change(uri.as_str(), version, &changes, self.encoding())
        {
            Ok(outcome) => {
                if outcome.clamped > 0 {
                    tracing::warn!(
                        uri = uri.as_str(),
                        version,
                        clamped = outcome.clamped,
                        "didChange had out-of-range positions; clamped"
                    );
                }
                tracing::trace!(uri = uri.as_str(), version, "didChange");
                // Suggestions (and remembered rejections) move with the text.
                self.engine
                    .controller()
                    .document_changed(uri.as_str(), version, &outcome.changes);
                true
            }
            Err(err @ ChangeError::UnknownDocument)
            | Err(err @ ChangeError::StaleVersion { .. }) => {
                tracing::warn!(uri = uri.as_str(), version, "didChange rejected: {err}");
                false
            }
        };
        if applied {
            // Forwarded diagnostics move with the text; an applied next edit starts a chain.
            self.diagnostics.changed(uri.as_str(), &changes);
            self.next_edit_changed(uri.as_str());
        }
        if let Some(text) = accepted {
            self.accepted(uri.as_str(), AcceptSignal::Text, Some(&text));
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.engine.forget(uri.as_str());
        self.diagnostics.close(uri.as_str());
        if !self.documents.close(uri.as_str()) {
            tracing::warn!(
                uri = uri.as_str(),
                "didClose for a document that is not open"
            );
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        self.settings_changed(params.settings).await;
    }

    // Notifications clients send whether or not the server asked for them (eglot sends didSave
    // on every save): nothing to do, and nothing worth a warning each time.
    async fn did_save(&self, _: DidSaveTextDocumentParams) {
        unused("textDocument/didSave");
    }

    async fn will_save(&self, _: WillSaveTextDocumentParams) {
        unused("textDocument/willSave");
    }

    async fn did_change_workspace_folders(&self, _: DidChangeWorkspaceFoldersParams) {
        unused("workspace/didChangeWorkspaceFolders");
    }

    async fn did_change_watched_files(&self, _: DidChangeWatchedFilesParams) {
        unused("workspace/didChangeWatchedFiles");
    }

    async fn did_create_files(&self, _: CreateFilesParams) {
        unused("workspace/didCreateFiles");
    }

    async fn did_rename_files(&self, _: RenameFilesParams) {
        unused("workspace/didRenameFiles");
    }

    async fn did_delete_files(&self, _: DeleteFilesParams) {
        unused("workspace/didDeleteFiles");
    }

    async fn notebook_did_open(&self, _: DidOpenNotebookDocumentParams) {
        unused("notebookDocument/didOpen");
    }

    async fn notebook_did_change(&self, _: DidChangeNotebookDocumentParams) {
        unused("notebookDocument/didChange");
    }

    async fn notebook_did_save(&self, _: DidSaveNotebookDocumentParams) {
        unused("notebookDocument/didSave");
    }

    async fn notebook_did_close(&self, _: DidCloseNotebookDocumentParams) {
        unused("notebookDocument/didClose");
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        Ok(self.completion_items(params).await)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let actions = self.list_actions(params);
        Ok((!actions.is_empty()).then_some(actions))
    }

    async fn code_action_resolve(&self, action: CodeAction) -> Result<CodeAction> {
        Ok(self.resolve_action(action).await)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        let accept_kind = match params.command.as_str() {
            spark_protocol::commands::DID_ACCEPT => Some(SuggestionKind::Inline),
            spark_protocol::commands::DID_ACCEPT_NEXT_EDIT => Some(SuggestionKind::NextEdit),
            _ => None,
        };
        if let Some(kind) = accept_kind {
            if !self.accept_command(kind, &params.arguments) {
                return Err(Error::invalid_params(format!(
                    "{} takes the document URI (and the suggestion's id) as its arguments",
                    params.command
                )));
            }
            return Ok(None);
        }
        if params.command == spark_protocol::commands::REWRITE {
            let token = params.work_done_progress_params.work_done_token;
            return self.rewrite_command(params.arguments, token).await;
        }
        if params.command == spark_protocol::commands::TRUST_WORKSPACE_CONFIG {
            return self.trust_workspace_config().await;
        }
        tracing::warn!(command = params.command, "unknown command");
        Err(Error::invalid_params(format!(
            "unknown command {}",
            params.command
        )))
    }
}

fn unused(method: &str) {
    tracing::debug!(method, "ignored a notification the server does not use");
}

impl Backend {
    /// `spark/stats`: the engine's counters and latency percentiles.
    pub(super) async fn stats(&self) -> Result<spark_protocol::Stats> {
        Ok(self.engine.stats())
    }

    /// `$/setTrace`: recorded in the log; the server's own log filter is `SPARK_LSP_LOG`.
    pub(super) async fn set_trace(&self, params: SetTraceParams) {
        tracing::info!(value = ?params.value, "$/setTrace");
    }
}
