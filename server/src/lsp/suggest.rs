//! `textDocument/inlineCompletion` (ghost text) and `textDocument/completion` (the same
//! suggestion as a completion item, for editors without ghost text such as Helix), and the
//! accept signal (`spark/didAccept`, or the `spark.didAccept` command on every inline item) that
//! starts the next suggestion before the editor asks.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Command, CompletionItem, CompletionItemKind, CompletionList, CompletionParams,
    CompletionResponse, CompletionTextEdit, Documentation, InlineCompletionItem,
    InlineCompletionParams, InlineCompletionResponse, InlineCompletionTriggerKind, MarkupContent,
    MarkupKind, TextDocumentPositionParams, TextEdit,
};

use super::{Backend, convert};
use crate::engine::{RequestSettings, Suggestion, Trigger};

/// The longest label a completion item shows before it is cut.
const LABEL_CHARS: usize = 40;

impl Backend {
    pub(super) async fn inline_completion(
        &self,
        params: InlineCompletionParams,
    ) -> Result<Option<InlineCompletionResponse>> {
        let trigger = if params.context.trigger_kind == InlineCompletionTriggerKind::AUTOMATIC {
            Trigger::Automatic
        } else {
            Trigger::Invoked
        };
        let uri = params.text_document_position.text_document.uri.clone();
        let Some((suggestion, range)) = self.suggest(params.text_document_position, trigger).await
        else {
            return Ok(None);
        };
        // Editors that run an accepted item's command (Neovim, VS Code) tell the server this way.
        let command = Command::new(
            "Accept suggestion".into(),
            spark_protocol::commands::DID_ACCEPT.into(),
            Some(vec![serde_json::Value::String(uri.as_str().to_owned())]),
        );
        Ok(Some(InlineCompletionResponse::Array(vec![
            InlineCompletionItem {
                insert_text: suggestion.text,
                filter_text: None,
                range: Some(range),
                command: Some(command),
                insert_text_format: None,
            },
        ])))
    }

    pub(super) async fn completion_items(
        &self,
        params: CompletionParams,
    ) -> Option<CompletionResponse> {
        let (suggestion, range) = self
            .suggest(params.text_document_position, Trigger::Invoked)
            .await?;
        let first_line = suggestion
            .text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim();
        let mut label: String = first_line.chars().take(LABEL_CHARS).collect();
        if first_line.chars().count() > LABEL_CHARS || suggestion.text.trim().lines().count() > 1 {
            label.push('…');
        }
        let item = CompletionItem {
            label,
            kind: Some(CompletionItemKind::TEXT),
            detail: Some("spark".into()),
            documentation: Some(Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value: format!("```\n{}\n```", suggestion.text),
            })),
            filter_text: Some(first_line.to_owned()),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
                range,
                suggestion.text,
            ))),
            ..CompletionItem::default()
        };
        // Incomplete, so the editor asks again as the user types instead of filtering stale text.
        Some(CompletionResponse::List(CompletionList {
            is_incomplete: true,
            items: vec![item],
        }))
    }

    /// The engine's suggestion at a position, with the (empty) range it is inserted at.
    async fn suggest(
        &self,
        at: TextDocumentPositionParams,
        trigger: Trigger,
    ) -> Option<(Suggestion, tower_lsp_server::ls_types::Range)> {
        let uri = at.text_document.uri;
        let Some(snapshot) = self.documents.snapshot(uri.as_str()) else {
            tracing::warn!(
                uri = uri.as_str(),
                "suggestion requested for a document that is not open"
            );
            return None;
        };
        let encoding = self.encoding();
        let cursor = convert::byte_of(&snapshot.rope, at.position, encoding);
        let range = convert::range_of(&snapshot.rope, cursor, cursor, encoding);
        let settings = self.request_settings();
        match self
            .engine
            .complete(snapshot, cursor, trigger, &settings)
            .await
        {
            Ok(suggestion) => {
                self.provider_recovered();
                Some((suggestion?, range))
            }
            Err(err) => {
                self.report_provider_error(&err).await;
                None
            }
        }
    }
}

impl Backend {
    /// `spark/didAccept`: the user accepted the suggestion shown last.
    pub(super) async fn did_accept(&self, params: spark_protocol::DidAcceptParams) {
        self.accepted(&params.text_document.uri, params.insert_text.as_deref());
    }

    /// Shared by `spark/didAccept` and the `spark.didAccept` command. Never awaits: the next
    /// suggestion's model call runs in its own task.
    pub(super) fn accepted(&self, uri: &str, insert_text: Option<&str>) {
        let Some(snapshot) = self.documents.snapshot(uri) else {
            tracing::warn!(uri, "accept for a document that is not open");
            return;
        };
        tracing::debug!(uri, "suggestion accepted");
        let settings = self.request_settings();
        self.engine.accepted(&snapshot, insert_text, &settings);
    }

    pub(super) fn request_settings(&self) -> RequestSettings {
        let config = self.config();
        RequestSettings {
            max_output_tokens: config.provider.max_output_tokens,
            secret_globs: config.secrets.extra_globs.clone(),
        }
    }
}
