//! The server's configuration: one schema, read from up to four layers and merged.
//!
//! Layers, lowest to highest precedence: the defaults below, the user's `spark-lsp.toml`, the
//! workspace's `spark-lsp.toml` (only its safe keys until the user trusts it, see `crate::trust`),
//! the LSP `initializationOptions`, then `workspace/didChangeConfiguration` settings. JSON
//! objects are deep-merged and the later layer wins per leaf. See `docs/configuration.md` for
//! every key.
//!
//! **Architecture Invariant:** this module knows nothing about LSP. It takes and returns plain
//! `serde_json::Value`s and structs, so the `lsp/` layer decides when to (re)load and how to tell
//! the user about the issues it reports.
//!
//! **Architecture Invariant:** resolving never fails. A bad key is reported as a [`ConfigIssue`]
//! naming its dotted path and falls back to its default; every other key still applies.
//!
//! The schema holds no secrets, only the *name* of the environment variable (or the command) that
//! yields the API key. Header values may carry credentials, so [`Headers`] redacts them in `Debug`.

mod issue;
mod resolve;
mod sources;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use issue::{ConfigIssue, Severity};
pub use sources::{ConfigFile, ConfigFiles, ConfigSources, settings_section, user_config_dir};

/// The file name looked up in the workspace root and in the user's config directory.
pub const CONFIG_FILE_NAME: &str = "spark-lsp.toml";

/// The whole resolved configuration; every field has a usable default.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Config {
    pub provider: ProviderConfig,
    pub documents: DocumentsConfig,
    pub syntax: SyntaxConfig,
    pub secrets: SecretsConfig,
    pub log: LogConfig,
    pub completion: CompletionConfig,
    pub next_edit: NextEditConfig,
}

/// Which model endpoint to talk to and how.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Only meaningful for [`ProviderKind::OpenaiResponses`].
    pub transport: Transport,
    pub base_url: String,
    pub model: String,
    /// The name of the environment variable holding the API key (never the key itself).
    pub api_key_env: String,
    /// A command (argv) whose trimmed stdout is the API key; wins over `api_key_env`.
    pub api_key_command: Option<Vec<String>>,
    /// Extra HTTP headers sent with every request.
    pub headers: Headers,
    /// The fill-in-the-middle dialect; resolved to `llama-cpp` when `kind` is `fim` and unset.
    pub fim_api: Option<FimApi>,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// The first wait before an unreachable provider is tried again; it doubles per failure.
    pub reconnect_min_ms: u64,
    /// The longest wait between two tries of an unreachable provider.
    pub reconnect_max_ms: u64,
    pub ca_cert_file: Option<PathBuf>,
    pub max_output_tokens: u32,
    pub temperature: Option<f32>,
    /// How much a reasoning model may think before it answers (`providers::reasoning`).
    pub reasoning: Reasoning,
    /// The GGUF file of provider `local`; unset means the default model in the user's cache
    /// directory (`scripts/fetch-model` puts it there).
    pub model_path: Option<PathBuf>,
    /// Threads provider `local` computes on; unset means the cores, at most 4.
    pub threads: Option<usize>,
    /// Whether any layer set `provider.kind`. When none did and the default cloud provider has
    /// no key, the embedded local model is used if it is present (zero configuration).
    #[serde(skip)]
    pub kind_configured: bool,
}

impl Default for ProviderConfig {
    fn default() -> Self {
        Self {
            kind: ProviderKind::default(),
            transport: Transport::default(),
            base_url: "https://api.openai.com/v1".to_owned(),
            model: "gpt-5.3-codex-spark".to_owned(),
            api_key_env: "OPENAI_API_KEY".to_owned(),
            api_key_command: None,
            headers: Headers::default(),
            fim_api: None,
            timeout_ms: 10_000,
            connect_timeout_ms: 3_000,
            reconnect_min_ms: 250,
            reconnect_max_ms: 30_000,
            ca_cert_file: None,
            max_output_tokens: 256,
            temperature: None,
            reasoning: Reasoning::default(),
            model_path: None,
            threads: None,
            kind_configured: false,
        }
    }
}

/// The wire protocol spoken to the model; one provider implementation each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    #[default]
    OpenaiResponses,
    OpenaiChat,
    Fim,
    Anthropic,
    Local,
}

/// How the OpenAI Responses API is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    #[default]
    Websocket,
    Http,
}

/// How much a reasoning model may think before its first visible token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reasoning {
    /// The least the endpoint supports (no thinking where it can be switched off): a
    /// completion is needed in tens of milliseconds, not after thousands of hidden tokens.
    #[default]
    Least,
    Low,
    Medium,
    High,
    /// Send no reasoning field: the model's own default.
    ModelDefault,
}

/// The request shape of a fill-in-the-middle completion endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FimApi {
    #[default]
    LlamaCpp,
    Ollama,
    Codestral,
    Deepseek,
}

/// Extra request headers. `Debug` prints the names only: values may be credentials.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Headers(pub BTreeMap<String, String>);

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|name| (name, "<redacted>")))
            .finish()
    }
}

/// Limits on the documents the server tracks.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct DocumentsConfig {
    /// Documents larger than this are tracked but inactive (no syntax tree, no requests).
    pub max_file_bytes: usize,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        Self {
            max_file_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Limits on syntax trees.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyntaxConfig {
    /// How many documents keep a syntax tree in memory; at least 1.
    pub max_trees: usize,
}

impl Default for SyntaxConfig {
    fn default() -> Self {
        Self { max_trees: 8 }
    }
}

/// How suggestions are scheduled.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CompletionConfig {
    /// Model calls in flight at once (over all documents); beyond it the oldest is cancelled.
    pub max_in_flight: usize,
    /// How long a `textDocument/completion` answer may wait for the model, in milliseconds.
    /// Editors such as Helix merge all servers' items, so a slow answer would hold up the
    /// others; past the budget the answer is empty (still incomplete) and the model call goes
    /// on into the cache, which answers the editor's next request as the user types. Unset:
    /// chosen per client (`lsp::client_support`), since a client that never asks again must
    /// wait for the item.
    pub item_budget_ms: Option<u64>,
}

impl Default for CompletionConfig {
    fn default() -> Self {
        Self {
            max_in_flight: 4,
            item_budget_ms: None,
        }
    }
}

/// How next-edit suggestions are asked for and when they are shown.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NextEditConfig {
    /// The prompt format (`engine::next_edit::format`).
    pub format: NextEditFormat,
    /// How sure a suggestion must be to be shown.
    pub eagerness: Eagerness,
    /// After a rejected next edit, how long none is asked for; and how long a request on the
    /// line asked about last (at the same document version) makes no new model call. 0 turns
    /// both off.
    pub cooldown_ms: u64,
    /// When the region around the cursor holds no edit, look for the next place: a forwarded
    /// diagnostic nearby, another use of a renamed identifier, another call of a changed call.
    pub jumps: bool,
    /// When those places hold nothing either, ask the model where the next edit is (one short
    /// extra call; skipped while the eagerness is low).
    pub model_jump: bool,
}

impl Default for NextEditConfig {
    fn default() -> Self {
        Self {
            format: NextEditFormat::default(),
            eagerness: Eagerness::default(),
            cooldown_ms: 5_000,
            jumps: true,
            model_jump: true,
        }
    }
}

/// The prompt format of next-edit requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextEditFormat {
    /// Sweep's own format for a model whose name contains `sweep`, else chat.
    #[default]
    Auto,
    /// The intent line and the rewritten editable region, for instruction models.
    Chat,
    /// Sweep next-edit's `<|file_sep|>` original/current/updated blocks, a raw completion.
    Sweep,
}

/// How sure a next-edit suggestion must be to be shown: `low` shows only high-intent ones,
/// `high` shows low-intent ones too; `auto` follows the user's recent accepts and rejects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Eagerness {
    #[default]
    Auto,
    Low,
    Medium,
    High,
}

/// Files whose contents are never sent to a model.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SecretsConfig {
    /// File globs added to the built-in list of secret files.
    pub extra_globs: Vec<String>,
}

/// Where and how much the server logs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogConfig {
    /// A `tracing` filter such as `debug` or `spark_lsp=trace`.
    pub level: Option<String>,
    /// A log file; stderr when unset.
    pub file: Option<PathBuf>,
}
