//! State shared by every connection of one server: scripted answers, faults, recordings,
//! counters and the store of `store:true` responses.
//!
//! Locks are `std` mutexes held only for a push or a pop, never across an `.await`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::config::{Endpoint, Fault, ModelServerConfig, RecordedRequest};
use super::oracle::Oracle;
use super::text::estimate_tokens;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug)]
struct Scripted<T> {
    endpoint: Option<Endpoint>,
    item: T,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: ModelServerConfig,
    corpus: Mutex<Option<Arc<str>>>,
    /// Answers next-edit questions from the true edits, when set.
    oracle: Mutex<Option<Arc<Oracle>>>,
    answers: Mutex<VecDeque<Scripted<String>>>,
    faults: Mutex<VecDeque<Scripted<Fault>>>,
    requests: Mutex<Vec<RecordedRequest>>,
    /// When each HTTP response that played to the end wrote its last byte, in order.
    finished: Mutex<Vec<Instant>>,
    /// Context size in tokens of every finished `store:true` response, by id.
    stored: Mutex<HashMap<String, u64>>,
    /// The latest Chat Completions prompts, newest last, for the prompt cache.
    prompt_cache: Mutex<VecDeque<String>>,
    /// Chat Completions prompt tokens the prompt cache held, over all requests.
    pub cached_chat_tokens: AtomicU64,
    pub connections: AtomicUsize,
    pub ws_connections: AtomicUsize,
    /// Connections that spoke HTTP/2.
    pub http2_connections: AtomicUsize,
    /// Hidden tokens spent thinking, over all answers.
    pub thinking_tokens: AtomicU64,
    next_id: AtomicU64,
}

/// Prompts the Chat Completions prompt cache compares with.
const PROMPT_CACHE_ENTRIES: usize = 32;
/// Shorter prompts are never cached.
const CACHE_MIN_TOKENS: u64 = 1_024;
/// Cached prefixes count in whole blocks.
const CACHE_BLOCK_TOKENS: u64 = 128;

impl Shared {
    /// Counts an answer's hidden thinking tokens.
    pub fn thought(&self, hidden: u64) {
        self.thinking_tokens.fetch_add(hidden, Ordering::Relaxed);
    }

    pub fn new(config: ModelServerConfig) -> Self {
        let corpus = config.corpus.as_deref().map(Arc::from);
        Self {
            config,
            corpus: Mutex::new(corpus),
            oracle: Mutex::default(),
            answers: Mutex::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
            finished: Mutex::default(),
            stored: Mutex::default(),
            prompt_cache: Mutex::default(),
            cached_chat_tokens: AtomicU64::new(0),
            connections: AtomicUsize::new(0),
            ws_connections: AtomicUsize::new(0),
            http2_connections: AtomicUsize::new(0),
            thinking_tokens: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Prompt tokens of `prompt` a Chat Completions prompt cache holds, as OpenAI's automatic
    /// caching counts them: the longest exact prefix shared with a recent prompt, in blocks of
    /// 128 tokens, for prompts of 1,024 tokens or more; then remembers `prompt`.
    /// <https://developers.openai.com/api/docs/guides/prompt-caching>
    pub fn cached_chat_tokens(&self, prompt: &str) -> u64 {
        let mut recent = lock(&self.prompt_cache);
        let common = recent
            .iter()
            .map(|p| spark_lsp::edits::common_prefix_len(p.as_bytes(), prompt.as_bytes()))
            .max()
            .unwrap_or(0);
        if recent.len() == PROMPT_CACHE_ENTRIES {
            recent.pop_front();
        }
        recent.push_back(prompt.to_owned());
        if estimate_tokens(prompt) < CACHE_MIN_TOKENS {
            return 0;
        }
        // Whole tokens only (about four bytes each), in whole blocks.
        let cached = (common as u64 / 4) / CACHE_BLOCK_TOKENS * CACHE_BLOCK_TOKENS;
        self.cached_chat_tokens.fetch_add(cached, Ordering::Relaxed);
        cached
    }

    /// A fresh id such as `resp_0000000000000007` (the prefix includes its separator), unique within this server.
    pub fn new_id(&self, prefix: &str) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{prefix}{n:016x}")
    }

    pub fn corpus(&self) -> Option<Arc<str>> {
        lock(&self.corpus).clone()
    }

    pub fn set_corpus(&self, text: Option<String>) {
        *lock(&self.corpus) = text.map(Arc::from);
    }

    pub fn oracle(&self) -> Option<Arc<Oracle>> {
        lock(&self.oracle).clone()
    }

    pub fn set_oracle(&self, oracle: Option<Arc<Oracle>>) {
        *lock(&self.oracle) = oracle;
    }

    pub fn push_answer(&self, endpoint: Option<Endpoint>, text: String) {
        lock(&self.answers).push_back(Scripted {
            endpoint,
            item: text,
        });
    }

    pub fn answers_left(&self) -> usize {
        lock(&self.answers).len()
    }

    /// The next scripted answer meant for `endpoint` (or for any endpoint).
    pub fn take_answer(&self, endpoint: Endpoint) -> Option<String> {
        let mut answers = lock(&self.answers);
        let index = answers
            .iter()
            .position(|a| a.endpoint.is_none_or(|e| e == endpoint))?;
        answers.remove(index).map(|a| a.item)
    }

    /// Drops every queued answer and fault.
    pub fn clear_scripts(&self) {
        lock(&self.answers).clear();
        lock(&self.faults).clear();
    }

    pub fn push_fault(&self, endpoint: Option<Endpoint>, fault: Fault) {
        lock(&self.faults).push_back(Scripted {
            endpoint,
            item: fault,
        });
    }

    /// The next queued fault that `accept` admits for a request to `endpoint`.
    pub fn take_fault(&self, endpoint: Endpoint, accept: impl Fn(&Fault) -> bool) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|f| {
            let endpoint_ok = f
                .endpoint
                .is_none_or(|e| endpoint_matches(e, endpoint, &f.item));
            endpoint_ok && accept(&f.item)
        })?;
        faults.remove(index).map(|f| f.item)
    }

    /// The next fault for a response (not a handshake) on `endpoint`.
    pub fn take_request_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        self.take_fault(endpoint, |f| match f {
            Fault::ConnectionLimitReached => endpoint == Endpoint::ResponsesWebSocket,
            other => !other.is_handshake(),
        })
    }

    pub fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
    }

    pub fn request_count(&self) -> usize {
        lock(&self.requests).len()
    }

    pub fn received_at(&self, index: usize) -> Option<Instant> {
        lock(&self.requests).get(index).map(|r| r.received_at)
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    pub fn finished(&self, at: Instant) {
        lock(&self.finished).push(at);
    }

    pub fn finished_at(&self) -> Vec<Instant> {
        lock(&self.finished).clone()
    }

    pub fn store_response(&self, id: &str, context_tokens: u64) {
        lock(&self.stored).insert(id.to_owned(), context_tokens);
    }

    pub fn stored_response(&self, id: &str) -> Option<u64> {
        lock(&self.stored).get(id).copied()
    }
}

/// A fault aimed at the WebSocket endpoint also applies to its upgrade request.
fn endpoint_matches(wanted: Endpoint, actual: Endpoint, fault: &Fault) -> bool {
    wanted == actual
        || (fault.is_handshake()
            && wanted == Endpoint::ResponsesWebSocket
            && actual == Endpoint::WebSocketHandshake)
}
