//! The engine: turns a document snapshot and a cursor into a suggestion from the model.
//!
//! It owns the provider in use, the [`Scheduler`]s that supersede stale requests and model calls,
//! the typing-through cache (`cache`), the streaming model calls (`generation`) and the counters
//! (`stats`). A request is answered from the cache when the user typed (or accepted) part of the
//! suggestion in it; otherwise it starts a model call, whose task keeps streaming into the cache
//! after an automatic trigger got its early answer. Everything here works on byte offsets and
//! snapshots; only `lsp/` converts to and from LSP types.

mod accept;
mod cache;
mod generation;
pub mod next_edit;
mod postprocess;
pub mod refactor;
mod scheduler;
mod stats;

pub use accept::AcceptSignal;
pub use cache::CachePoint;
pub use generation::first_line;
pub use next_edit::{
    Clock, Controller, DiagnosticMark, Gate, Intent, JumpSettings, LOCATION_INSTRUCTIONS,
    NextEditResult, Offer, SystemClock, as_one_edit, editable_region, is_jump, jump_places,
    touches_line,
};
pub use scheduler::{Scheduler, Ticket};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use accept::Accepts;
use cache::SuggestionCache;
use generation::{Job, PostJob, Progress, Want};
use postprocess::SyntaxCheck;
use stats::Stats;

use crate::context::{self, Anchor, Change, ContextInput, PromptFamily, WindowStart};
use crate::documents::{DocumentStore, Snapshot};
use crate::providers::{ModelRequest, Provider, ProviderError};

/// Requests that may wait at once. Only supersession per document matters for them: the model
/// calls they wait on are bounded by the engine's `max_in_flight`.
const MAX_WAITING: usize = 256;

/// How the editor asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// While typing (`InlineCompletionTriggerKind::Automatic`): answer with the first complete
    /// line as soon as it exists.
    Automatic,
    /// On demand, or a completion item: answer with the whole suggestion.
    Invoked,
}

/// A suggestion to insert at the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
}

/// Per-request settings the engine takes from the configuration.
#[derive(Clone, Debug, Default)]
pub struct RequestSettings {
    pub max_output_tokens: u32,
    /// How long a request may wait for a provider that is still being built (the request's own
    /// deadline: `provider.timeoutMs`).
    pub provider_wait: Duration,
    /// File globs never sent to a model, beyond the built-in list.
    pub secret_globs: Vec<String>,
    /// The prompt format of next edits (`nextEdit.format`, resolved for the model).
    pub next_edit_format: next_edit::format::Format,
}

pub struct Engine {
    provider: RwLock<Option<Arc<dyn Provider>>>,
    /// Whether a provider is being built (right after start-up, or after its settings changed
    /// while none was in use): a request then waits for it instead of getting nothing.
    building: watch::Sender<bool>,
    /// Supersedes a document's waiting request with its next one.
    requests: Scheduler,
    /// Supersedes a document's model call with its next one, and caps the calls in flight.
    scheduler: Scheduler,
    cache: SuggestionCache,
    /// Per document, the accept counted last, until its second signal (see `accept`).
    accepts: Accepts,
    stats: Arc<Stats>,
    /// Per document, the text a chat prompt's cacheable context was built from; consecutive
    /// keystrokes reuse it byte for byte, so a warm session continues instead of resending.
    anchors: Mutex<HashMap<Arc<str>, Arc<Anchor>>>,
    /// Per document, the syntax check of its latest model call: the next one reparses its text
    /// incrementally.
    checks: Mutex<HashMap<Arc<str>, Arc<SyntaxCheck>>>,
    /// Per document, the line a FIM prompt's window started at last; kept while it fits, so
    /// the prompt's beginning stays the same and a model's KV or prompt cache of it stays warm.
    window_starts: Mutex<HashMap<Arc<str>, usize>>,
    /// Per document, the latest next-edit suggestion (or the call making it).
    next_edits: Mutex<HashMap<Arc<str>, next_edit::Entry>>,
    /// The open documents, for what a next-edit prompt shows of other files.
    documents: DocumentStore,
    /// Which suggestions are shown, and what became of them.
    controller: Controller,
    /// Per document, the latest next-edit ask: its region's edit or the jump (`next_edit::jump`).
    asks: Mutex<HashMap<Arc<str>, next_edit::jump::Ask>>,
    /// Per document, the next edit answered last, until the change that applies it (chains).
    answered: next_edit::AnsweredEdits,
}

impl Engine {
    pub fn new(max_in_flight: usize, documents: DocumentStore) -> Self {
        Self::with_clock(max_in_flight, documents, Arc::new(SystemClock))
    }

    /// An engine whose suggestion controller reads the time from `clock` (tests step it).
    pub fn with_clock(
        max_in_flight: usize,
        documents: DocumentStore,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let stats = Arc::new(Stats::default());
        Self {
            provider: RwLock::new(None),
            building: watch::Sender::new(false),
            requests: Scheduler::new(MAX_WAITING),
            scheduler: Scheduler::new(max_in_flight),
            cache: SuggestionCache::default(),
            accepts: Accepts::default(),
            controller: Controller::new(stats.clone(), clock),
            stats,
            anchors: Mutex::new(HashMap::new()),
            window_starts: Mutex::new(HashMap::new()),
            checks: Mutex::new(HashMap::new()),
            next_edits: Mutex::new(HashMap::new()),
            documents,
            asks: Mutex::new(HashMap::new()),
            answered: next_edit::AnsweredEdits::default(),
        }
    }

    /// Caps the model calls in flight (`completion.maxInFlight`).
    pub fn set_max_in_flight(&self, max_in_flight: usize) {
        self.scheduler.set_max_in_flight(max_in_flight);
    }

    pub fn set_provider(&self, provider: Option<Arc<dyn Provider>>) {
        *self.provider.write().unwrap_or_else(|e| e.into_inner()) = provider;
        self.cache.clear();
        self.accepts.clear();
        self.building.send_replace(false);
    }

    /// A provider is being built; requests that find none wait for [`Engine::set_provider`].
    pub fn provider_building(&self) {
        self.building.send_replace(true);
    }

    /// The provider in use; when there is none yet but one is being built, waits for it, at
    /// most `wait`. An editor that asks right after `initialized` (eglot does within ~5 ms;
    /// building takes 7-15 ms, longer with a slow `apiKeyCommand`) gets the model's answer.
    async fn ready_provider(&self, wait: Duration) -> Option<Arc<dyn Provider>> {
        if let Some(provider) = self.provider() {
            return Some(provider);
        }
        let mut building = self.building.subscribe();
        let built = building.wait_for(|building| !building);
        if tokio::time::timeout(wait, built).await.is_err() {
            tracing::debug!("no provider within the request's deadline");
            return None;
        }
        self.provider()
    }

    pub fn provider(&self) -> Option<Arc<dyn Provider>> {
        self.provider
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn stats(&self) -> spark_protocol::Stats {
        self.stats.snapshot()
    }

    /// Counts a next-edit request (`spark/nextEdit` or the code action's resolve).
    pub fn count_next_edit_request(&self) {
        self.stats.next_edit_request();
    }

    /// The next-edit controller: what is shown, and the signals about it.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Forgets a closed document's anchor, window start and cached suggestion (which stops its
    /// model call).
    pub fn forget(&self, uri: &str) {
        self.anchors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
        self.window_starts().remove(uri);
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
        self.next_edits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
        self.cache.remove(uri);
        self.accepts.forget(uri);
        self.controller.closed(uri);
        self.asks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uri);
        self.answered.forget(uri);
    }

    /// A completion at `cursor_byte`: `Ok(None)` when there is nothing to suggest (no provider,
    /// an inactive or secret document, an empty or unusable answer, or the request was
    /// superseded), `Err` when the provider failed, so that the caller can tell the user.
    ///
    /// Served from the cache when the document continues the suggestion shown last; an
    /// automatic trigger gets the first complete line as soon as it exists.
    pub async fn complete(
        &self,
        snapshot: &Snapshot,
        cursor_byte: usize,
        trigger: Trigger,
        settings: &RequestSettings,
    ) -> Result<Option<Suggestion>, ProviderError> {
        self.complete_streaming(snapshot, cursor_byte, trigger, settings, None)
            .await
    }

    /// [`Engine::complete`] for a client that takes partial results: it waits for the whole
    /// suggestion whatever the trigger, and `partial` gets the settled text as it grows.
    pub async fn complete_streaming(
        &self,
        snapshot: &Snapshot,
        cursor_byte: usize,
        trigger: Trigger,
        settings: &RequestSettings,
        partial: Option<&(dyn Fn(&str) + Sync)>,
    ) -> Result<Option<Suggestion>, ProviderError> {
        let received = Instant::now();
        if snapshot.inactive.is_some() {
            return Ok(None);
        }
        // Registered before the first await, so a newer request always sees this one.
        let request = self.requests.begin(&snapshot.uri);
        let provider = tokio::select! {
            () = request.superseded() => return Ok(None),
            provider = self.ready_provider(settings.provider_wait) => provider,
        };
        let Some(provider) = provider else {
            return Ok(None);
        };
        self.stats.request();
        let Some((mut progress, typed)) =
            self.progress_at(&provider, snapshot, cursor_byte, settings)
        else {
            return Ok(None);
        };
        let want = match trigger {
            Trigger::Automatic if partial.is_none() => Want::FirstLine,
            _ => Want::Whole,
        };
        let answer = tokio::select! {
            () = request.superseded() => {
                tracing::debug!(uri = %snapshot.uri, "completion superseded");
                self.stats.superseded();
                return Ok(None);
            }
            answer = generation::wait(&mut progress, typed, want, partial) => answer,
        };
        self.stats.answered(received.elapsed());
        let text = answer?;
        if let Some(text) = &text {
            self.cache.set_shown(&snapshot.uri, cursor_byte, text);
            self.accepts.forget(&snapshot.uri);
        }
        Ok(text.map(|text| Suggestion { text }))
    }

    /// What a request at `cursor_byte` waits on, and how much of it the user already has: the
    /// cached suggestion the document continues, else a new model call.
    fn progress_at(
        &self,
        provider: &Arc<dyn Provider>,
        snapshot: &Snapshot,
        cursor_byte: usize,
        settings: &RequestSettings,
    ) -> Option<(watch::Receiver<Progress>, usize)> {
        if let Some(hit) = self
            .cache
            .lookup(&snapshot.uri, &snapshot.rope, cursor_byte)
        {
            self.stats.hit();
            return Some((hit.progress, hit.typed));
        }
        self.stats.miss();
        let progress = self.start(provider, snapshot, cursor_byte, settings, false)?;
        Some((progress, 0))
    }

    /// Starts a model call at `cursor_byte` streaming into the cache; `None` for a secret file.
    fn start(
        &self,
        provider: &Arc<dyn Provider>,
        snapshot: &Snapshot,
        cursor_byte: usize,
        settings: &RequestSettings,
        speculative: bool,
    ) -> Option<watch::Receiver<Progress>> {
        let started = Instant::now();
        let family = if provider.wants_fim() {
            PromptFamily::Fim
        } else {
            PromptFamily::Chat
        };
        let mut input = ContextInput::new(snapshot, cursor_byte);
        input.secret_globs = &settings.secret_globs;
        if let Some(tokens) = provider.prompt_tokens() {
            input.budget.prompt_tokens = input.budget.prompt_tokens.min(tokens);
        }
        // Secret files get no prompt, so no suggestion.
        let (instructions, model_input) = match family {
            // A chat prompt continues from the document's anchor (made here when there is none
            // or it is too far behind).
            PromptFamily::Chat => {
                let (anchor, change) = self.anchor(&input)?;
                context::continue_chat(&input, &anchor, change)?
            }
            PromptFamily::Fim => {
                let previous = self.window_starts().get(&snapshot.uri).copied();
                input.window_start = WindowStart::Steady(previous);
                let prompt = context::build(&input)?;
                let line = snapshot.rope.byte_to_line(prompt.window.start);
                self.window_starts().insert(snapshot.uri.clone(), line);
                prompt.to_request_parts(family)
            }
        };
        // Supersedes the document's previous call, which nobody can use any more.
        let ticket = self.scheduler.begin(&snapshot.uri);
        let request = ModelRequest {
            instructions,
            input: model_input,
            max_output_tokens: settings.max_output_tokens,
            session: Some(snapshot.uri.to_string()),
            ..ModelRequest::default()
        };
        self.stats.model_call(speculative);
        let job = Job {
            provider: provider.clone(),
            request,
            post: PostJob {
                ticket,
                rope: snapshot.rope.clone(),
                cursor_byte,
                language: snapshot.language,
                is_chat_model: family == PromptFamily::Chat,
                check: self.syntax_check(snapshot, cursor_byte),
                started,
            },
        };
        let progress = generation::spawn(job, self.stats.clone());
        let point = CachePoint::at(&snapshot.rope, cursor_byte);
        self.cache
            .insert(snapshot.uri.clone(), point, progress.clone());
        Some(progress)
    }

    /// The syntax check of a suggestion at `cursor_byte` (see `generation`), made from the
    /// document's previous one, which it replaces.
    fn syntax_check(&self, snapshot: &Snapshot, cursor_byte: usize) -> Option<Arc<SyntaxCheck>> {
        let language = snapshot.language?;
        // Described on the blocking pool, when the check is prepared.
        let tree = snapshot.latest_tree_later();
        let mut checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        let previous = checks.remove(&snapshot.uri);
        let check = Arc::new(SyntaxCheck::new(
            language,
            tree,
            snapshot.rope.clone(),
            cursor_byte,
            previous.as_deref(),
        ));
        checks.insert(snapshot.uri.clone(), check.clone());
        Some(check)
    }

    fn window_starts(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, usize>> {
        self.window_starts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The document's current anchor and the change since it, replaced (with no change since)
    /// when the document moved on too far from it.
    fn anchor(&self, input: &ContextInput<'_>) -> Option<(Arc<Anchor>, Change)> {
        let mut anchors = self.anchors.lock().unwrap_or_else(|e| e.into_inner());
        let uri = &input.snapshot.uri;
        if let Some(current) = anchors.get(uri) {
            let edits = self
                .documents
                .changed_between(uri, current.seq, input.snapshot.seq);
            let since = context::change_since(current, input.snapshot, input.cursor_byte, edits);
            if let Some(change) = since {
                return Some((current.clone(), change));
            }
        }
        let anchor = Arc::new(Anchor::new(input)?);
        anchors.insert(uri.clone(), anchor.clone());
        Some((anchor, Change::default()))
    }
}
