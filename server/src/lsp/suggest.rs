//! `textDocument/inlineCompletion` (ghost text) and `textDocument/completion` (the same
//! suggestion as a completion item, for editors without ghost text such as Helix).

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CompletionItem, CompletionItemKind, CompletionList, CompletionParams, CompletionResponse,
    CompletionTextEdit, Documentation, InlineCompletionItem, InlineCompletionParams,
    InlineCompletionResponse, MarkupContent, MarkupKind, TextDocumentPositionParams, TextEdit,
};

use super::{Backend, convert};
use crate::engine::{RequestSettings, Suggestion};

/// The longest label a completion item shows before it is cut.
const LABEL_CHARS: usize = 40;

impl Backend {
    pub(super) async fn inline_completion(
        &self,
        params: InlineCompletionParams,
    ) -> Result<Option<InlineCompletionResponse>> {
        let Some((suggestion, range)) = self.suggest(params.text_document_position).await else {
            return Ok(None);
        };
        Ok(Some(InlineCompletionResponse::Array(vec![
            InlineCompletionItem {
                insert_text: suggestion.text,
                filter_text: None,
                range: Some(range),
                command: None,
                insert_text_format: None,
            },
        ])))
    }

    pub(super) async fn completion_items(
        &self,
        params: CompletionParams,
    ) -> Option<CompletionResponse> {
        let (suggestion, range) = self.suggest(params.text_document_position).await?;
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
        let config = self.config();
        let settings = RequestSettings {
            max_output_tokens: config.provider.max_output_tokens,
            secret_globs: config.secrets.extra_globs.clone(),
        };
        match self.engine.complete(snapshot, cursor, &settings).await {
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
