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
    /// Request, client → server: the edit the user is likely to make next, anywhere near the
    /// cursor ([`super::NextEditParams`] → [`super::NextEditResult`]). Shaped like the Copilot
    /// language server's `textDocument/copilotInlineEdit`.
    pub const NEXT_EDIT: &str = "spark/nextEdit";
    /// Notification, client → server: the diagnostics other servers published for a document,
    /// forwarded by spark's own clients ([`super::DidChangeDiagnosticsParams`]): places a next
    /// edit may jump to.
    pub const DID_CHANGE_DIAGNOSTICS: &str = "spark/didChangeDiagnostics";
    /// Notification, server → client: busy/idle/error and the last latency
    /// ([`super::StatusParams`]), shaped like the Copilot language server's `didChangeStatus`.
    pub const STATUS: &str = "spark/status";
    /// Notification, client → server: a suggestion is on screen now ([`super::SignalParams`]).
    pub const DID_SHOW: &str = "spark/didShow";
    /// Notification, client → server: the user dismissed a suggestion ([`super::SignalParams`]).
    pub const DID_REJECT: &str = "spark/didReject";
    /// Notification, client → server (Copilot language server): an inline item is on screen
    /// ([`super::ShownCompletionParams`]).
    pub const DID_SHOW_COMPLETION: &str = "textDocument/didShowCompletion";
    /// Notification, client → server (Copilot language server): part of an inline item was
    /// accepted ([`super::PartialAcceptParams`]).
    pub const DID_PARTIALLY_ACCEPT_COMPLETION: &str = "textDocument/didPartiallyAcceptCompletion";
}

/// Commands the server executes through `workspace/executeCommand`.
pub mod commands {
    /// Put on every inline completion item; executed by the editor when the item is accepted.
    /// Arguments: `[uri]`, the document's URI as a string.
    pub const DID_ACCEPT: &str = "spark.didAccept";

    /// Rewrites a range of a document with the model and applies the minimal edit with
    /// `workspace/applyEdit`. Arguments: `[RewriteParams]` ([`super::RewriteParams`]).
    pub const REWRITE: &str = "spark.rewrite";

    /// Put on every next-edit suggestion; executed by the editor when the user applies it.
    /// Arguments: `[uri]`. The server then looks for the edit after it before the editor asks.
    pub const DID_ACCEPT_NEXT_EDIT: &str = "spark.didAcceptNextEdit";

    /// Trusts the workspace's `spark-lsp.toml` as it is now (like `spark-lsp trust`) and applies
    /// it in full at once. No arguments. Answers [`super::TrustedConfig`]; fails when there is no
    /// such file or the editor said the workspace is restricted.
    pub const TRUST_WORKSPACE_CONFIG: &str = "spark.trustWorkspaceConfig";

    /// Every command the server advertises, in a stable order.
    pub const ALL: &[&str] = &[
        DID_ACCEPT,
        REWRITE,
        DID_ACCEPT_NEXT_EDIT,
        TRUST_WORKSPACE_CONFIG,
    ];
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
    /// Which kind of suggestion; `inline` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<SuggestionKind>,
    /// The suggestion's id (`in-N`, `ne-N`); the latest of its kind in the document when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The two kinds of suggestion a client shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SuggestionKind {
    /// Ghost text at the cursor (`textDocument/inlineCompletion`, completion items).
    #[default]
    Inline,
    /// A next-edit suggestion (`spark/nextEdit`, its inline item, the code action).
    NextEdit,
}

/// Params of `spark/didShow` and `spark/didReject`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalParams {
    pub text_document: TextDocument,
    pub kind: SuggestionKind,
    /// The suggestion's id; the latest of its kind in the document when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// An inline item as Copilot's notifications send it back: only its text and command matter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EchoedItem {
    #[serde(default)]
    pub insert_text: Option<serde_json::Value>,
    /// The item's command as sent; read leniently (`command` and `arguments`).
    #[serde(default)]
    pub command: Option<serde_json::Value>,
}

/// Params of `textDocument/didShowCompletion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShownCompletionParams {
    pub item: EchoedItem,
}

/// Params of `textDocument/didPartiallyAcceptCompletion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartialAcceptParams {
    pub item: EchoedItem,
    /// How much of `insertText` was accepted, in UTF-16 code units from its start.
    pub accepted_length: u32,
}

/// A document at a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionedTextDocument {
    pub uri: String,
    pub version: i32,
}

/// Params of `spark/nextEdit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextEditParams {
    /// The document; when the server's copy is at another version the result is empty.
    pub text_document: VersionedTextDocument,
    pub position: Position,
}

/// One replacement of a next-edit suggestion, in the document's negotiated position encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextEdit {
    pub range: Range,
    pub new_text: String,
    /// The document and version the range refers to.
    pub text_document: VersionedTextDocument,
}

/// Result of `spark/nextEdit`: no edits when the model proposes none (or the document moved on).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextEditResult {
    /// Non-overlapping, in document order; apply them together.
    pub edits: Vec<NextEdit>,
    /// `spark.didAcceptNextEdit`, to execute when the user applies the edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// How sure the model is that the user wants the edit now: `low`, `medium` or `high`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// The suggestion's id (`ne-N`), for `spark/didShow`, `spark/didReject` and the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Where the edits are: from the first edit's start to the last edit's end. Absent when
    /// there are no edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The edits lie outside the editable region around the asked position: the client shows
    /// where the next edit is (and jumps there on request) rather than the edit inline.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub jump: bool,
}

/// A range in a document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub uri: String,
    pub range: Range,
}

/// Params of `spark/didChangeDiagnostics`: every diagnostic other servers published for the
/// document now (a full replacement; an empty list clears them). Each element is an LSP
/// `Diagnostic`, in the negotiated position encoding; the server keeps at most 1,000.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DidChangeDiagnosticsParams {
    pub text_document: TextDocument,
    pub diagnostics: Vec<serde_json::Value>,
}

/// An LSP `Command`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub title: String,
    pub command: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arguments: Vec<serde_json::Value>,
}

/// How the status bar should look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusKind {
    /// Ready, or working (`busy`).
    #[default]
    Normal,
    /// A transient problem: rate limited, a timeout, offline (see
    /// [`StatusParams::offline`]).
    Warning,
    /// The provider fails: authentication, misconfigured.
    Error,
    /// No provider is configured; nothing is suggested.
    Inactive,
}

/// Params of `spark/status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusParams {
    /// Model calls are in flight.
    pub busy: bool,
    pub kind: StatusKind,
    /// One line for a status bar or tooltip: what is wrong and what to do, or the provider.
    pub message: String,
    /// The provider's name, e.g. `openai-responses (websocket)`; absent when none is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Request → answer of the last suggestion, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_latency_ms: Option<f64>,
    /// The provider cannot be reached: suggestions are answered empty, without dialling, until
    /// `retry_at`. Absent (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    /// While offline: when the provider is tried next, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
    /// Settings of the workspace's `spark-lsp.toml` that are ignored until the user trusts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted_config: Option<UntrustedConfig>,
}

/// The sensitive settings a workspace `spark-lsp.toml` sets that do not apply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntrustedConfig {
    /// The file's canonical path.
    pub file: String,
    /// The ignored keys, dotted and sorted, e.g. `provider.baseUrl`.
    pub keys: Vec<String>,
    /// `untrusted` (never trusted), `changed` (edited since it was trusted) or `restricted`
    /// (the editor runs the workspace in restricted mode).
    pub reason: String,
    /// What the user sees, including how to trust the file.
    pub message: String,
}

/// The answer to `spark.trustWorkspaceConfig`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedConfig {
    /// The file's canonical path.
    pub file: String,
    /// The lowercase hex SHA-256 recorded.
    pub sha256: String,
}

/// A position as LSP sends it: a line and a character offset in the negotiated encoding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

/// A range as LSP sends it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// What a model-backed code action asks the model to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    /// "Fix this diagnostic": the diagnostic's message is in [`ActionData::message`].
    FixDiagnostic,
    /// "Add documentation".
    Document,
    /// "Complete this implementation".
    Complete,
    /// "Simplify".
    Simplify,
    /// "Apply suggested edit": the next-edit suggestion at the range's start.
    NextEdit,
}

/// The `data` of every code action spark-lsp lists: everything `codeAction/resolve` needs to
/// run the model later. Listing costs nothing; the model runs only on resolve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionData {
    pub uri: String,
    /// The document version the action was listed for; a resolve at another version returns
    /// the action without an edit.
    pub version: i32,
    /// The region the model rewrites (whole lines, or the enclosing scope).
    pub range: Range,
    pub kind: ActionKind,
    /// The diagnostic's message, for [`ActionKind::FixDiagnostic`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The argument of the `spark.rewrite` command.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RewriteParams {
    pub uri: String,
    /// The selection; an empty range means the enclosing function (or the cursor's line).
    pub range: Range,
    /// What to do with the code, in the user's words.
    pub instruction: String,
    /// When set, the command aborts if the document is at another version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
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
    /// Suggestions the user accepted (wholly or in part), each counted once however many
    /// signals the editor sent for it.
    #[serde(default)]
    pub accepts: u64,
    pub errors: u64,
    /// Model call start → first token.
    pub first_token_ms: Percentiles,
    /// Model call start → last token.
    pub model_total_ms: Percentiles,
    /// Request received → answer ready, cache hits included.
    pub answer_ms: Percentiles,
    /// Shown, accepted and rejected suggestions per kind.
    #[serde(default)]
    pub kinds: KindsStats,
    /// What the next-edit requests did.
    #[serde(default)]
    pub next_edit: NextEditStats,
}

/// [`KindStats`] for each [`SuggestionKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindsStats {
    pub inline: KindStats,
    pub next_edit: KindStats,
}

/// What became of the suggestions of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindStats {
    /// Suggestions on screen (by `spark/didShow`, or when answered for a client that sends none).
    pub shown: u64,
    /// Suggestions accepted, wholly or in part, each once.
    pub accepted: u64,
    /// Of `accepted`, those accepted in part.
    pub partially_accepted: u64,
    /// Suggestions dismissed, or left behind after being shown for at least a second.
    pub rejected: u64,
    /// `accepted / shown`; `null` before the first shown.
    pub acceptance_rate: Option<f64>,
}

/// Next-edit requests: how many, what they cost, and what was held back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NextEditStats {
    /// `spark/nextEdit` requests and code-action resolves.
    pub requests: u64,
    /// Model calls made for next edits.
    pub model_calls: u64,
    /// Model answers with no edit.
    pub no_edit: u64,
    /// Suggestions the controller held back: rejected before, under the eagerness, in a
    /// cooldown, or under ghost text.
    pub suppressed: u64,
    /// Suggestions shown while a rejection of them still applied; stays 0.
    pub rejected_reshown: u64,
    /// Suggestions found away from the asked position.
    pub jumps: u64,
    /// Request → first edit settled.
    pub first_edit_ms: Percentiles,
    /// Request → whole model answer.
    pub whole_answer_ms: Percentiles,
}
