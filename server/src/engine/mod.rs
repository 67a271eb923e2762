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

use std::sync::{Arc, RwLock};

use crate::context;
use crate::documents::Snapshot;
use crate::providers::{ModelRequest, Provider, ProviderError};

/// A suggestion to insert at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
}

pub struct Engine {
    provider: RwLock<Option<Arc<dyn Provider>>>,
    scheduler: Scheduler,
}

impl Engine {
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            provider: RwLock::new(None),
            scheduler: Scheduler::new(max_in_flight),
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

    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// A completion at `cursor_byte`: `Ok(None)` when there is nothing to suggest (no provider,
    /// an inactive document, an empty answer, or the request was superseded), `Err` when the
    /// provider failed, so that the caller can tell the user.
    pub async fn complete(
        &self,
        snapshot: Snapshot,
        cursor_byte: usize,
        max_output_tokens: u32,
    ) -> Result<Option<Suggestion>, ProviderError> {
        if snapshot.inactive.is_some() {
            return Ok(None);
        }
        let Some(provider) = self.provider() else {
            return Ok(None);
        };
        // Secret files get no prompt, so no suggestion.
        let Some(prompt) = context::build(&context::ContextInput::new(&snapshot, cursor_byte))
        else {
            return Ok(None);
        };
        let (instructions, input) = prompt.to_request_parts(context::PromptFamily::Fim);
        // Registered before the first await, so a newer request always sees this one.
        let ticket = self.scheduler.begin(&snapshot.uri);
        let request = ModelRequest {
            instructions,
            input,
            max_output_tokens,
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
        tokio::select! {
            () = ticket.superseded() => {
                tracing::debug!(uri = %snapshot.uri, "completion superseded");
                Ok(None)
            }
            text = collect => {
                let text: String = text.inspect_err(|err| {
                    tracing::warn!(provider = provider.name(), "completion failed: {err}");
                })?;
                Ok(Some(text).filter(|t| !t.trim().is_empty()).map(|text| Suggestion { text }))
            }
        }
    }
}
