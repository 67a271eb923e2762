//! spark-lsp's own LSP surface: custom method names, command ids and their payloads.
//!
//! Serde types only, no I/O, so that editor clients and tests can share the exact wire shapes.
//! Every custom method is documented with a JSON example in `docs/protocol.md`.

use serde::{Deserialize, Serialize};

/// Standard LSP 3.18 methods that the `ls-types` version in use does not route natively, and
/// spark-lsp's own methods.
pub mod methods {
    /// LSP 3.18 `textDocument/inlineCompletion`.
    pub const INLINE_COMPLETION: &str = "textDocument/inlineCompletion";
    /// `$/setTrace`: the client changes the trace level.
    pub const SET_TRACE: &str = "$/setTrace";
    /// Notification, client → server: the user accepted the suggestion shown last
    /// ([`super::DidAcceptParams`]); the server asks for the next one before the editor does.
    pub const DID_ACCEPT: &str = "spark/didAccept";
    /// Request, client → server: counters and latency percentiles ([`super::Stats`]).
    pub const STATS: &str = "spark/stats";
}

/// Commands the server executes through `workspace/executeCommand`.
pub mod commands {
    /// Put on every inline completion item; executed by the editor when the item is accepted.
    /// Arguments: `[uri]`, the document's URI as a string.
    pub const DID_ACCEPT: &str = "spark.didAccept";

    /// Every command the server advertises, in a stable order.
    pub const ALL: &[&str] = &[DID_ACCEPT];
}

/// A document named by its URI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextDocument {
    pub uri: String,
}

/// Params of `spark/didAccept`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidAcceptParams {
    pub text_document: TextDocument,
    /// The text the editor inserted; all of the suggestion shown last when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insert_text: Option<String>,
}

/// p50 and p95 of a latency in milliseconds, over the latest samples; `null` before any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub samples: usize,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
}

/// Result of `spark/stats`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Completion requests (inline and completion items) that reached the engine.
    pub requests: u64,
    /// Model calls started, speculative ones included.
    pub model_calls: u64,
    /// Requests answered from the typing-through cache or attached to a call in flight.
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Requests answered empty because a newer one for the same document arrived.
    pub superseded: u64,
    /// Model calls stopped early because nobody could use their answer.
    pub cancelled: u64,
    /// Model calls started after an accept, before the editor asked.
    pub speculations: u64,
    pub errors: u64,
    /// Model call start → first token.
    pub first_token_ms: Percentiles,
    /// Model call start → last token.
    pub model_total_ms: Percentiles,
    /// Request received → answer ready, cache hits included.
    pub answer_ms: Percentiles,
}
