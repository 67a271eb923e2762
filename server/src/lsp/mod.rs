//! The LSP layer: tower-lsp-server handlers, capabilities and LSP ↔ core conversion.
//!
//! **Architecture invariant:** this is the only module that knows LSP types. Handlers are thin:
//! parse params, take a snapshot, call a plain function, convert, reply. Every handler mutates
//! shared state before its first `.await`, and work that waits on the model or on the client runs
//! in spawned tasks or is bounded by the engine's scheduler, so a slow request never holds back
//! `didChange`, `$/cancelRequest` or another request.

mod actions;
mod capabilities;
mod client_support;
mod convert;
mod diagnostics;
mod editor_process;
mod health;
mod next_edit;
mod server;
mod settings;
mod signals;
mod status;
mod suggest;
mod workspace_trust;

pub use capabilities::server_capabilities;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::{Client, LspService};

use crate::config::{Config, ConfigIssue, ConfigSources};
use crate::documents::{DocumentStore, PositionEncoding};
use crate::engine::Engine;
use crate::providers::{Provider, ProviderError};

/// How many handler futures the transport polls at once. tower-lsp-server's default of four lets
/// four pending requests starve every later message; the engine's scheduler bounds model requests
/// far below this, so the limit is never what delays a `didChange`.
const CONCURRENCY_LEVEL: usize = 256;

/// The embedding process's logging, which the `log.*` settings adjust at run time.
pub trait LogControl: Send + Sync {
    /// Applies a tracing filter such as `debug`, or says why it cannot.
    fn set_filter(&self, filter: &str) -> Result<(), String>;
    /// Sends the log to `path` (appending), or says why it cannot.
    fn set_file(&self, path: &std::path::Path) -> Result<(), String>;
}

/// Hooks into the process that embeds the server (the binary, tests, benchmarks).
#[derive(Default)]
pub struct ServerOptions {
    /// A provider to use instead of the configured one.
    pub provider: Option<Arc<dyn Provider>>,
    /// Applies the `log.level` and `log.file` settings.
    pub log: Option<Box<dyn LogControl>>,
}

/// The handlers' receiver: a cheap handle on the shared state, so that spawned tasks can keep
/// it alive.
#[derive(Clone)]
pub struct Backend(Arc<State>);

impl std::ops::Deref for Backend {
    type Target = State;
    fn deref(&self) -> &State {
        &self.0
    }
}

/// State shared by all handlers.
pub struct State {
    client: Client,
    documents: DocumentStore,
    /// The diagnostics the client knows per document: next-edit jump targets.
    diagnostics: diagnostics::DiagnosticStore,
    engine: Engine,
    encoding: OnceLock<PositionEncoding>,
    /// What the client supports for code actions, edits and progress; set by `initialize`.
    client_support: OnceLock<client_support::ClientSupport>,
    config: RwLock<Arc<Config>>,
    sources: Mutex<ConfigSources>,
    /// Settings problems found during `initialize`, shown after `initialized`.
    pending_issues: Mutex<Vec<ConfigIssue>>,
    /// Settings problems already shown, so each is shown once.
    shown_issues: Mutex<HashSet<String>>,
    /// The provider settings the current provider was built from.
    built_provider: Mutex<Option<crate::config::ProviderConfig>>,
    /// Provider failure classes shown since the provider last answered.
    reported_errors: Mutex<HashSet<std::mem::Discriminant<ProviderError>>>,
    /// What `spark/status` says.
    status: status::Status,
    /// The workspace root and whether the editor trusts it, for the workspace `spark-lsp.toml`.
    trust: workspace_trust::WorkspaceTrust,
    /// The client answers `workspace/configuration` requests.
    pulls_configuration: AtomicBool,
    shutdown: Arc<AtomicBool>,
    /// Cancelled when the editor process named by `initialize` is gone: serving stops.
    editor_gone: CancellationToken,
    options: ServerOptions,
}

impl Backend {
    fn new(
        client: Client,
        options: ServerOptions,
        shutdown: Arc<AtomicBool>,
        editor_gone: CancellationToken,
    ) -> Self {
        let documents = DocumentStore::default();
        let max_in_flight = crate::config::CompletionConfig::default().max_in_flight;
        let engine = Engine::new(max_in_flight, documents.clone());
        engine.set_provider(options.provider.clone());
        Self(Arc::new(State {
            client,
            documents,
            diagnostics: diagnostics::DiagnosticStore::default(),
            engine,
            encoding: OnceLock::new(),
            client_support: OnceLock::new(),
            config: RwLock::new(Arc::new(Config::default())),
            sources: Mutex::new(ConfigSources::default()),
            pending_issues: Mutex::new(Vec::new()),
            shown_issues: Mutex::new(HashSet::new()),
            reported_errors: Mutex::new(HashSet::new()),
            built_provider: Mutex::new(None),
            status: status::Status::default(),
            trust: workspace_trust::WorkspaceTrust::default(),
            pulls_configuration: AtomicBool::new(false),
            shutdown,
            editor_gone,
            options,
        }))
    }
}

impl State {
    /// The negotiated position encoding (UTF-16 until `initialize` picks one).
    fn encoding(&self) -> PositionEncoding {
        self.encoding
            .get()
            .copied()
            .unwrap_or(PositionEncoding::Utf16)
    }

    fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The document's snapshot, unless it is unknown (logged), inactive or secret: what every
    /// model-backed request starts from.
    fn usable_snapshot(&self, uri: &str) -> Option<crate::documents::Snapshot> {
        let Some(snapshot) = self.documents.snapshot(uri) else {
            tracing::warn!(uri, "request for a document that is not open");
            return None;
        };
        self.is_usable(&snapshot).then_some(snapshot)
    }

    /// Whether requests may use `snapshot`: an active document that is not a secret.
    fn is_usable(&self, snapshot: &crate::documents::Snapshot) -> bool {
        let secret_globs = &self.config().secrets.extra_globs;
        snapshot.inactive.is_none() && !crate::context::is_secret_path(&snapshot.uri, secret_globs)
    }
}

/// Serves LSP on `input`/`output` until `exit`, end of input, or the editor process named by
/// `initialize` is gone. Returns whether `shutdown` was received first, which decides the
/// process exit code (0 if so, 1 if not).
pub async fn serve<I, O>(input: I, output: O, options: ServerOptions) -> bool
where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
{
    let shutdown = Arc::new(AtomicBool::new(false));
    let backend_shutdown = shutdown.clone();
    let editor_gone = CancellationToken::new();
    let backend_editor_gone = editor_gone.clone();
    let (service, socket) = LspService::build(move |client| {
        Backend::new(client, options, backend_shutdown, backend_editor_gone)
    })
    .custom_method(
        spark_protocol::methods::INLINE_COMPLETION,
        Backend::inline_completion,
    )
    .custom_method(spark_protocol::methods::SET_TRACE, Backend::set_trace)
    .custom_method(spark_protocol::methods::DID_ACCEPT, Backend::did_accept)
    .custom_method(spark_protocol::methods::STATS, Backend::stats)
    .custom_method(spark_protocol::methods::NEXT_EDIT, Backend::next_edit)
    .custom_method(spark_protocol::methods::DID_SHOW, Backend::did_show)
    .custom_method(spark_protocol::methods::DID_REJECT, Backend::did_reject)
    .custom_method(
        spark_protocol::methods::DID_SHOW_COMPLETION,
        Backend::did_show_completion,
    )
    .custom_method(
        spark_protocol::methods::DID_PARTIALLY_ACCEPT_COMPLETION,
        Backend::did_partially_accept_completion,
    )
    .custom_method(
        spark_protocol::methods::DID_CHANGE_DIAGNOSTICS,
        Backend::did_change_diagnostics,
    )
    .finish();
    crate::transport::serve(
        input,
        output,
        service,
        socket,
        CONCURRENCY_LEVEL,
        editor_gone,
    )
    .await;
    shutdown.load(Ordering::SeqCst)
}
