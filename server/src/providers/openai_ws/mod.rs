//! OpenAI Responses API in WebSocket mode (PROTOCOLS.md §1): one warm socket, opened at
//! start-up and kept open, with named `stream_id` lanes so concurrent requests do not queue,
//! `generate:false` warm-ups per session and `previous_response_id` continuations that send
//! only the per-request query.
//!
//! Code map: [`wire`] (frames and events), [`lanes`] (which lane may run what), [`conn`] (one
//! socket and its reader/writer), [`request`] (one request), [`warm`] (one warm-up), this file (the public
//! provider and the supervisor that connects, rotates and reconnects).
//!
//! *Invariant:* nothing here opens a socket per request; requests wait for the supervisor's
//! connection, but only until its dial in progress fails: an unreachable endpoint is the
//! breaker's business (`providers/breaker/`), which answers requests at once until its retry.

mod conn;
mod lanes;
mod request;
mod supervisor;
mod tasks;
mod warm;
mod wire;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::breaker::{Breaker, Mode, Policy};
use super::reasoning::Reasoning;
use super::{ModelRequest, Provider, ProviderError, Settings, TextStream};
use conn::Conn;

pub use tasks::TaskGauge;

/// Tunables; the defaults suit the real service.
#[derive(Debug, Clone)]
pub struct WsOptions {
    /// Named lanes per connection (`spark-0` …), at most 16: the server runs at most 16
    /// responses at once per connection and allows 32 lane names per connection lifetime.
    pub lanes: usize,
    /// Lanes that may hold a warm session base; the rest run requests.
    pub max_warm_sessions: usize,
    /// A connection is replaced after this long, before the server's 60-minute limit.
    pub rotate_after: Duration,
    /// When the supervisor dials again after a failure; the provider's breaker uses it too.
    pub reconnect: Policy,
}

impl Default for WsOptions {
    fn default() -> Self {
        Self {
            lanes: 10,
            max_warm_sessions: 4,
            rotate_after: Duration::from_secs(55 * 60),
            reconnect: Policy::default(),
        }
    }
}

/// What requests see of the supervisor.
#[derive(Clone, Default)]
struct Slot {
    conn: Option<Arc<Conn>>,
    /// Why the last connection attempt failed.
    error: Option<ProviderError>,
    /// The endpoint answered 426: every request goes to the fallback from now on.
    fallback: bool,
}

struct Inner {
    settings: Settings,
    /// The reasoning switch every `response.create` carries.
    reasoning: Reasoning,
    url: String,
    options: WsOptions,
    fallback: Arc<dyn Provider>,
    slot: watch::Sender<Slot>,
    /// Told of every dial; its retry time is the supervisor's.
    breaker: Breaker,
    connections_opened: AtomicUsize,
    /// Prompt tokens the server reported as served from its cache, summed over responses.
    cached_tokens: AtomicU64,
    fallback_active: AtomicBool,
    gauge: TaskGauge,
    cancel: CancellationToken,
}

/// Where a request goes.
enum Route {
    Conn(Arc<Conn>),
    Fallback,
}

impl Inner {
    /// The current connection, waiting for the supervisor until `deadline` or until its dial
    /// fails.
    async fn connection(&self, deadline: Instant) -> Result<Route, ProviderError> {
        let mut slot = self.slot.subscribe();
        let mut waited = false;
        loop {
            {
                let current = slot.borrow_and_update();
                if current.fallback {
                    return Ok(Route::Fallback);
                }
                if let Some(conn) = current.conn.as_ref().filter(|c| !c.is_closing()) {
                    return Ok(Route::Conn(conn.clone()));
                }
                // A refused key, a bad configuration or a rate-limited upgrade will not get better
                // by waiting.
                if let Some(
                    error @ (ProviderError::Auth(_)
                    | ProviderError::Config(_)
                    | ProviderError::RateLimited { .. }),
                ) = &current.error
                {
                    return Err(error.clone());
                }
                // A dial failed while this request waited: the breaker has the retry time, and
                // waiting on would hold the editor for nothing.
                if let Some(error) = current.error.as_ref().filter(|_| waited) {
                    return Err(error.clone());
                }
            }
            waited = true;
            match tokio::time::timeout_at(deadline, slot.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(ProviderError::Unavailable("shutting down".into())),
                Err(_) => {
                    let reason = match &slot.borrow().error {
                        Some(error) => error.to_string(),
                        None => "not connected yet".to_owned(),
                    };
                    return Err(ProviderError::Unavailable(format!(
                        "no websocket connection within the request timeout ({reason})"
                    )));
                }
            }
        }
    }
}

/// `provider.kind = "openai-responses"` over WebSocket mode, with an HTTP `fallback` used for
/// the rest of the run if the endpoint answers the upgrade with 426.
pub struct OpenAiWebSocket {
    inner: Arc<Inner>,
}

impl OpenAiWebSocket {
    /// Starts connecting in the background; call inside a tokio runtime.
    pub fn start(settings: Settings, fallback: Arc<dyn Provider>) -> Arc<Self> {
        Self::start_with(settings, fallback, WsOptions::default())
    }

    pub fn start_with(
        settings: Settings,
        fallback: Arc<dyn Provider>,
        mut options: WsOptions,
    ) -> Arc<Self> {
        options.lanes = options.lanes.clamp(2, 16);
        let (url, error) = match wire::ws_url(&settings.base_url) {
            Ok(url) => (url, None),
            Err(error) => (String::new(), Some(error)),
        };
        let (slot, _) = watch::channel(Slot {
            error: error.clone(),
            ..Slot::default()
        });
        let inner = Arc::new(Inner {
            reasoning: Reasoning::new(settings.reasoning, &settings.model),
            settings,
            url,
            fallback,
            slot,
            breaker: Breaker::new(options.reconnect, Mode::Supervised),
            connections_opened: AtomicUsize::new(0),
            cached_tokens: AtomicU64::new(0),
            fallback_active: AtomicBool::new(false),
            gauge: TaskGauge::default(),
            cancel: CancellationToken::new(),
            options,
        });
        if let Some(error) = error {
            tracing::warn!("websocket provider disabled: {error}");
        } else {
            inner.gauge.spawn(supervisor::run(inner.clone()));
        }
        Arc::new(Self { inner })
    }

    /// WebSocket connections opened so far (reconnections and rotations included).
    pub fn connections_opened(&self) -> usize {
        self.inner.connections_opened.load(Ordering::SeqCst)
    }

    /// True once a 426 switched this provider to its fallback for good.
    pub fn is_fallback(&self) -> bool {
        self.inner.fallback_active.load(Ordering::SeqCst)
    }

    /// True while a connection is open and accepting requests.
    pub fn is_connected(&self) -> bool {
        self.inner
            .slot
            .borrow()
            .conn
            .as_ref()
            .is_some_and(|c| !c.is_closing())
    }

    /// Prompt tokens the server reported as cached (`usage.input_tokens_details`), summed
    /// over every completed response: the saving warm bases bring.
    pub fn cached_tokens(&self) -> u64 {
        self.inner.cached_tokens.load(Ordering::SeqCst)
    }

    /// Test hook: makes `session`'s ready base point at response `id` (e.g. one the server
    /// never had), to exercise the `previous_response_not_found` path. False if not warm.
    #[doc(hidden)]
    pub fn replace_warm_base(&self, session: &str, id: &str) -> bool {
        let conn = self.inner.slot.borrow().conn.clone();
        conn.is_some_and(|c| c.pool().pool.replace_base(session, id))
    }

    /// The breaker the supervisor reports to: put it in front of this provider
    /// ([`crate::providers::breaker::Guarded`]) so that requests are answered at once while the
    /// endpoint is unreachable.
    pub fn breaker(&self) -> Breaker {
        self.inner.breaker.clone()
    }

    /// The provider's live tasks; after the provider is dropped this falls to zero.
    pub fn tasks(&self) -> TaskGauge {
        self.inner.gauge.clone()
    }
}

impl Drop for OpenAiWebSocket {
    fn drop(&mut self) {
        // Ends the supervisor, closes the sockets; request tasks end with their channels.
        self.inner.cancel.cancel();
    }
}

impl Provider for OpenAiWebSocket {
    fn name(&self) -> &str {
        "openai-responses (websocket)"
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        if self.is_fallback() {
            return self.inner.fallback.stream(request);
        }
        let (sink, stream) = TextStream::channel();
        let inner = self.inner.clone();
        self.inner.gauge.spawn(async move {
            let cancel = inner.cancel.clone();
            tokio::select! {
                () = request::serve(&inner, request, sink) => {}
                () = cancel.cancelled() => {}
            }
        });
        stream
    }

    fn prewarm(&self, request: ModelRequest) {
        if self.is_fallback() {
            self.inner.fallback.prewarm(request);
            return;
        }
        if warm::warm_key(&request).is_none() {
            return;
        }
        let inner = self.inner.clone();
        self.inner.gauge.spawn(async move {
            let cancel = inner.cancel.clone();
            tokio::select! {
                () = warm::prewarm(&inner, request) => {}
                () = cancel.cancelled() => {}
            }
        });
    }
}
