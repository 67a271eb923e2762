//! `textDocument/inlineCompletion` (ghost text) and `textDocument/completion` (the same
//! suggestion as a completion item, for editors without ghost text such as Helix), and the
//! accept signal (`spark/didAccept`, or the `spark.didAccept` command on every inline item) that
//! starts the next suggestion before the editor asks.

use std::task::Poll;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::notification::Notification;
use tower_lsp_server::ls_types::{
    Command, CompletionItem, CompletionItemKind, CompletionList, CompletionParams,
    CompletionResponse, CompletionTextEdit, Documentation, InlineCompletionContext,
    InlineCompletionItem, InlineCompletionResponse, InlineCompletionTriggerKind, MarkupContent,
    MarkupKind, Position, ProgressToken, TextDocumentIdentifier, TextDocumentPositionParams,
    TextEdit, Uri,
};

use serde_json::Value;
use spark_protocol::SuggestionKind;

use super::{Backend, convert};
use crate::documents::Snapshot;
use crate::engine::{AcceptSignal, Intent, Offer, RequestSettings, Suggestion, Trigger};

/// The longest label a completion item shows before it is cut.
const LABEL_CHARS: usize = 40;

impl Backend {
    pub(super) async fn inline_completion(
        &self,
        params: InlineParams,
    ) -> Result<Option<InlineCompletionResponse>> {
        let InlineParams {
            text_document,
            position,
            context,
            partial_result_token,
        } = params;
        let trigger = if context.trigger_kind == InlineCompletionTriggerKind::AUTOMATIC {
            Trigger::Automatic
        } else {
            Trigger::Invoked
        };
        let uri = text_document.uri.clone();
        let at = TextDocumentPositionParams {
            text_document,
            position,
        };
        let Some((snapshot, cursor)) = self.open_at(&at) else {
            return Ok(None);
        };
        let partial = partial_result_token.map(|token| self.partial_results(token, uri.clone()));
        let suggestion = self
            .suggest(
                &snapshot,
                cursor,
                trigger,
                partial.as_ref().map(|p| &p.send as &(dyn Fn(&str) + Sync)),
            )
            .await;
        if let Some(partial) = partial {
            partial.flush().await;
        }
        // One suggestion at a time at the cursor: ghost text wins (the user is typing there),
        // and a next-edit suggestion made for this version that touches the cursor line follows
        // it as an alternative the editor shows when the user cycles (never a model call here).
        let mut items = Vec::new();
        // Ghost text the controller holds back (rejected before) is not answered.
        let ghost = suggestion.and_then(|answered| {
            let id = self.offer_inline(&answered)?;
            Some((answered, id))
        });
        let ghost_text = ghost.is_some();
        if let Some((answered, id)) = ghost {
            let mut command = accept_command(&uri);
            command
                .arguments
                .get_or_insert_default()
                .push(Value::String(id));
            items.push(InlineCompletionItem {
                insert_text: answered.suggestion.text,
                filter_text: None,
                range: Some(answered.range),
                command: Some(command),
                insert_text_format: None,
            });
        }
        // The request's own snapshot: its position is in that version.
        let next_edit = self
            .is_usable(&snapshot)
            .then(|| self.next_edit_item(&snapshot, cursor, !ghost_text))
            .flatten();
        items.extend(next_edit);
        Ok((!items.is_empty()).then_some(InlineCompletionResponse::Array(items)))
    }

    pub(super) async fn completion_items(
        &self,
        params: CompletionParams,
    ) -> Option<CompletionResponse> {
        // Past the budget the model call goes on into the cache, which answers the editor's next
        // request (it asks again as the user types, the list being incomplete).
        let config = self.config();
        let request_timeout = std::time::Duration::from_millis(config.provider.timeout_ms);
        let budget = self
            .client_support()
            .item_budget(config.completion.item_budget_ms, request_timeout);
        let (snapshot, cursor) = self.open_at(&params.text_document_position)?;
        let suggest = self.suggest(&snapshot, cursor, Trigger::Invoked, None);
        let Ok(suggestion) = tokio::time::timeout(budget, suggest).await else {
            tracing::debug!("completion item over budget; answering without it");
            return Some(CompletionResponse::List(CompletionList {
                is_incomplete: true,
                items: Vec::new(),
            }));
        };
        let answered = suggestion?;
        if self.offer_inline(&answered).is_none() {
            return Some(CompletionResponse::List(CompletionList {
                is_incomplete: true,
                items: Vec::new(),
            }));
        }
        let Answered {
            suggestion, range, ..
        } = answered;
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

    /// Ghost text about to be answered, to the next-edit controller: its id (the one answered
    /// before when it continues it: typed through, or the rest of it), or `None` when it is not
    /// to be shown (it repeats a rejected one, or the document has moved on).
    fn offer_inline(&self, answered: &Answered) -> Option<String> {
        let edit = crate::edits::TextEdit {
            start_byte: answered.cursor,
            end_byte: answered.cursor,
            new_text: answered.suggestion.text.clone(),
        };
        self.engine.controller().offer(&Offer {
            uri: &answered.uri,
            version: answered.version,
            rope: &answered.rope,
            kind: SuggestionKind::Inline,
            edits: &[edit],
            intent: Intent::High,
            displayed: true,
        })
    }

    /// The document a suggestion is asked in, and the cursor's byte in it.
    fn open_at(&self, at: &TextDocumentPositionParams) -> Option<(Snapshot, usize)> {
        let uri = at.text_document.uri.as_str();
        let Some(snapshot) = self.documents.snapshot(uri) else {
            tracing::warn!(uri, "suggestion requested for a document that is not open");
            return None;
        };
        let cursor = convert::byte_of(&snapshot.rope, at.position, self.encoding());
        Some((snapshot, cursor))
    }

    /// The engine's suggestion at `cursor`, with the (empty) range it is inserted at.
    async fn suggest(
        &self,
        snapshot: &Snapshot,
        cursor: usize,
        trigger: Trigger,
        partial: Option<&(dyn Fn(&str) + Sync)>,
    ) -> Option<Answered> {
        let range = convert::range_of(&snapshot.rope, cursor, cursor, self.encoding());
        let settings = self.request_settings();
        let answer = self
            .engine
            .complete_streaming(snapshot, cursor, trigger, &settings, partial);
        let mut answer = std::pin::pin!(answer);
        // Answered at once (from the cache): no busy status. Otherwise busy until it ends.
        let (answer, busy) =
            match std::future::poll_fn(|cx| Poll::Ready(answer.as_mut().poll(cx))).await {
                Poll::Ready(answer) => (answer, None),
                Poll::Pending => {
                    let busy = self.busy();
                    (answer.await, Some(busy))
                }
            };
        match answer {
            Ok(suggestion) => {
                self.provider_recovered();
                let suggestion = suggestion?;
                if let Some(busy) = busy {
                    busy.answered();
                }
                Some(Answered {
                    suggestion,
                    range,
                    uri: snapshot.uri.clone(),
                    version: snapshot.version,
                    rope: snapshot.rope.clone(),
                    cursor,
                })
            }
            Err(err) => {
                self.report_provider_error(&err).await;
                None
            }
        }
    }
}

/// Ghost text the engine answered, and where.
struct Answered {
    suggestion: Suggestion,
    /// The (empty) range it is inserted at.
    range: tower_lsp_server::ls_types::Range,
    /// The document it was made for.
    uri: std::sync::Arc<str>,
    version: i32,
    rope: ropey::Rope,
    cursor: usize,
}

/// Put on every inline item: editors that run an accepted item's command (Neovim, VS Code) tell
/// the server about the accept this way. The final answer's item adds its id (`[uri, "in-N"]`).
fn accept_command(uri: &Uri) -> Command {
    Command::new(
        "Accept suggestion".into(),
        spark_protocol::commands::DID_ACCEPT.into(),
        Some(vec![serde_json::Value::String(uri.as_str().to_owned())]),
    )
}

/// `textDocument/inlineCompletion` params with the partial result token that the LSP 3.18 types
/// leave out. Field by field, not the types' params `flatten`ed: serde buffers a flattened
/// struct's every field first (~6 µs of each request).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InlineParams {
    text_document: TextDocumentIdentifier,
    position: Position,
    context: InlineCompletionContext,
    #[serde(default)]
    partial_result_token: Option<ProgressToken>,
}

/// `$/progress` carrying a partial result.
enum PartialResult {}

impl Notification for PartialResult {
    type Params = serde_json::Value;
    const METHOD: &'static str = "$/progress";
}

/// Streams a suggestion's text as partial results, in order, through one forwarding task.
struct Partials {
    send: Box<dyn Fn(&str) + Send + Sync>,
    forwarder: tokio::task::JoinHandle<()>,
}

impl Partials {
    /// Waits until every partial result went out, so that they all precede the response.
    async fn flush(self) {
        drop(self.send);
        let _ = self.forwarder.await;
    }
}

impl Backend {
    /// Partial results for `token`: each `$/progress` value is the whole inline completion list
    /// so far (an item at the cursor with the settled text), replacing the previous one.
    fn partial_results(&self, token: ProgressToken, uri: Uri) -> Partials {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let client = self.client.clone();
        let forwarder = tokio::spawn(async move {
            let command = accept_command(&uri);
            while let Some(text) = rx.recv().await {
                let value = serde_json::json!({
                    "token": token,
                    "value": {"items": [{"insertText": text, "command": command}]},
                });
                client.send_notification::<PartialResult>(value).await;
            }
        });
        Partials {
            send: Box::new(move |text: &str| {
                let _ = tx.send(text.to_owned());
            }),
            forwarder,
        }
    }

    /// Shared by `spark/didAccept`, the `spark.didAccept` command and a `didChange` inserting
    /// the shown suggestion; the engine counts one accept per suggestion. Never awaits: the
    /// next suggestion's model call runs in its own task.
    pub(super) fn accepted(&self, uri: &str, signal: AcceptSignal, insert_text: Option<&str>) {
        let Some(snapshot) = self.documents.snapshot(uri) else {
            tracing::warn!(uri, "accept for a document that is not open");
            return;
        };
        tracing::debug!(uri, "suggestion accepted");
        let settings = self.request_settings();
        self.engine
            .accepted(&snapshot, signal, insert_text, &settings);
    }

    pub(super) fn request_settings(&self) -> RequestSettings {
        let config = self.config();
        RequestSettings {
            max_output_tokens: config.provider.max_output_tokens,
            provider_wait: std::time::Duration::from_millis(config.provider.timeout_ms),
            secret_globs: config.secrets.extra_globs.clone(),
            next_edit_format: next_edit_format(&config),
        }
    }
}

/// The next-edit prompt format for the configured model; the embedded model's name is its
/// file's.
fn next_edit_format(config: &crate::config::Config) -> crate::engine::next_edit::format::Format {
    let provider = &config.provider;
    let mut model = provider.model.clone();
    if provider.kind == crate::config::ProviderKind::Local
        && let Some(path) = &provider.model_path
    {
        model = path.to_string_lossy().into_owned();
    }
    crate::engine::next_edit::format::Format::resolve(config.next_edit.format, &model)
}
