//! The engine: turns a document snapshot and a cursor into a suggestion from the model.
//!
//! It owns the provider in use and the [`Scheduler`] that supersedes stale requests. Everything
//! here works on byte offsets and snapshots; only `lsp/` converts to and from LSP types.

mod postprocess;
mod scheduler;

pub use postprocess::{
    Decision, PostContext, StopReason, StreamFilter, SyntaxInput, finish, raises_errors,
};
pub use scheduler::{Scheduler, Ticket};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::context::{self, Anchor, ContextInput, PromptFamily};
use crate::documents::Snapshot;
use crate::providers::{ModelRequest, Provider, ProviderError};

/// A suggestion to insert at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
}

/// Per-request settings the engine takes from the configuration.
#[derive(Clone, Debug, Default)]
pub struct RequestSettings {
    pub max_output_tokens: u32,
    /// File globs never sent to a model, beyond the built-in list.
    pub secret_globs: Vec<String>,
}

pub struct Engine {
    provider: RwLock<Option<Arc<dyn Provider>>>,
    scheduler: Scheduler,
    /// Per document, the text a chat prompt's cacheable context was built from; consecutive
    /// keystrokes reuse it byte for byte, so a warm session continues instead of resending.
    anchors: Mutex<HashMap<Arc<str>, Arc<Anchor>>>,
}

impl Engine {
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            provider: RwLock::new(None),
            scheduler: Scheduler::new(max_in_flight),
            anchors: Mutex::new(HashMap::new()),
        }
    }

    pub fn set_provider(&self, provider: Option<Arc<dyn Provider>>) {
        *self.provider.write().unwrap_or_else(|e| e.into_inner()) = provider;
    }

    pub fn provider(&self) -> Option<Arc<dyn Provider>> {
        self.provider
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets a closed document's anchor.
    pub fn forget(&self, uri: &str) {
        self.anchors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
    }

    /// A completion at `cursor_byte`: `Ok(None)` when there is nothing to suggest (no provider,
    /// an inactive or secret document, an empty or unusable answer, or the request was
    /// superseded), `Err` when the provider failed, so that the caller can tell the user.
    pub async fn complete(
        &self,
        snapshot: Snapshot,
        cursor_byte: usize,
        settings: &RequestSettings,
    ) -> Result<Option<Suggestion>, ProviderError> {
        if snapshot.inactive.is_some() {
            return Ok(None);
        }
        let Some(provider) = self.provider() else {
            return Ok(None);
        };
        let family = if provider.wants_fim() {
            PromptFamily::Fim
        } else {
            PromptFamily::Chat
        };
        let mut input = ContextInput::new(&snapshot, cursor_byte);
        input.secret_globs = &settings.secret_globs;
        let anchor = (family == PromptFamily::Chat)
            .then(|| self.anchor(&input))
            .flatten();
        input.anchor = anchor.as_deref();
        // Secret files get no prompt, so no suggestion.
        let Some(prompt) = context::build(&input) else {
            return Ok(None);
        };
        let (instructions, model_input) = prompt.to_request_parts(family);
        // Registered before the first await, so a newer request always sees this one.
        let ticket = self.scheduler.begin(&snapshot.uri);
        let request = ModelRequest {
            instructions,
            input: model_input,
            max_output_tokens: settings.max_output_tokens,
            session: Some(snapshot.uri.to_string()),
            ..ModelRequest::default()
        };
        let mut stream = provider.stream(request);
        let collect = async {
            let mut text = String::new();
            while let Some(delta) = stream.next().await {
                text.push_str(&delta?);
            }
            Ok(text)
        };
        let raw: String = tokio::select! {
            () = ticket.superseded() => {
                tracing::debug!(uri = %snapshot.uri, "completion superseded");
                return Ok(None);
            }
            text = collect => text.inspect_err(|err: &ProviderError| {
                tracing::warn!(provider = provider.name(), "completion failed: {err}");
            })?,
        };
        let mut post = PostContext::new(&prompt.before, &prompt.after, snapshot.language);
        post.is_chat_model = family == PromptFamily::Chat;
        let text = finish(&post, &raw);
        tracing::trace!(raw, cleaned = ?text, "completion");
        Ok(text.map(|text| Suggestion { text }))
    }

    /// The document's current anchor, replaced when the document moved on too far from it.
    fn anchor(&self, input: &ContextInput<'_>) -> Option<Arc<Anchor>> {
        let mut anchors = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        let uri = &input.snapshot.uri;
        let current = anchors.get(uri).cloned();
        if !context::should_reanchor(current.as_deref(), input.snapshot, input.cursor_byte) {
            return current;
        }
        let anchor = Arc::new(Anchor::new(input)?);
        anchors.insert(uri.clone(), anchor.clone());
        Some(anchor)
    }
}
