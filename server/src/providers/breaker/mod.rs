//! The circuit breaker beside every remote provider: the one place that decides whether a
//! request may dial. A provider known to be unreachable answers at once with an error the
//! server turns into an empty result, without dialling, until its next retry time; the health
//! it publishes (online, or offline until when) is what `spark/status` shows.
//!
//! Two kinds of owner move it ([`Mode`]): for HTTP providers the requests themselves (the
//! first request after the retry time is the probe), for the WebSocket session its supervisor,
//! which dials at the retry time by itself and reports every dial, so the session's backoff
//! and the breaker are one state and cannot disagree.
//!
//! *Hot path:* while closed, admitting a request is one atomic load, and reporting its outcome
//! another; the lock is taken only when something is wrong.

mod guard;
mod machine;
#[cfg(test)]
mod tests;

pub use guard::Guarded;
pub(crate) use guard::Watch;
pub use machine::{Admission, Failure, Health, Mode, Policy};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::ProviderError;
use machine::{Machine, Reporter};

/// The time source; tests pass a hand-moved clock.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// A shared handle on one breaker.
#[derive(Clone)]
pub struct Breaker(Arc<Core>);

struct Core {
    /// Bit 0: not clean (open, probing, or strikes counted); the rest: the epoch. Read without
    /// the lock on every request.
    fast: AtomicU64,
    supervised: AtomicBool,
    machine: Mutex<Machine>,
    health: watch::Sender<Health>,
    clock: Clock,
}

impl std::fmt::Debug for Breaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("health", &*self.0.health.borrow())
            .finish_non_exhaustive()
    }
}

/// How a provider error counts: `None` means the provider was reached (an answer, a refused
/// key, a rate limit, a stall are all answers from a live provider).
pub fn classify(error: &ProviderError) -> Option<Failure> {
    match error {
        ProviderError::Unreachable(_) => Some(Failure::Hard),
        ProviderError::Unavailable(_) => Some(Failure::Soft),
        _ => None,
    }
}

impl Breaker {
    pub fn new(policy: Policy, mode: Mode) -> Self {
        Self::with_clock(policy, mode, Arc::new(Instant::now))
    }

    pub fn with_clock(policy: Policy, mode: Mode, clock: Clock) -> Self {
        let (health, _) = watch::channel(Health::Online);
        Self(Arc::new(Core {
            fast: AtomicU64::new(0),
            supervised: AtomicBool::new(mode == Mode::Supervised),
            machine: Mutex::new(Machine::new(policy)),
            health,
            clock,
        }))
    }

    pub fn mode(&self) -> Mode {
        if self.0.supervised.load(Ordering::Relaxed) {
            Mode::Supervised
        } else {
            Mode::Requests
        }
    }

    /// The WebSocket session switched to its HTTP fallback for good: requests decide from now.
    pub fn set_mode(&self, mode: Mode) {
        self.0
            .supervised
            .store(mode == Mode::Supervised, Ordering::Relaxed);
    }

    /// Whether a request may go ahead, and as what.
    pub fn admit(&self) -> Admission {
        let fast = self.0.fast.load(Ordering::Acquire);
        if fast & 1 == 0 {
            return Admission::Pass { epoch: fast >> 1 };
        }
        let mode = self.mode();
        self.update(|machine, now| machine.admit(now, mode))
    }

    /// Closed: a request would dial (a warm-up only goes out then).
    pub fn is_closed(&self) -> bool {
        self.0.fast.load(Ordering::Acquire) & 1 == 0
    }

    /// Health now and on every change.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.0.health.subscribe()
    }

    /// A request admitted as `admission` ended with `outcome` (its first item, or its end).
    pub fn report(&self, admission: Admission, outcome: Result<(), &ProviderError>) {
        let failure = outcome.err().and_then(|e| classify(e).map(|f| (f, e)));
        match failure {
            None if self.is_closed() => {}
            None => self.update(|machine, _| machine.succeed()),
            Some((failure, error)) => {
                let reason = reason_of(error);
                self.update(|machine, now| {
                    machine.fail(now, failure, Reporter::Request(admission), reason);
                });
            }
        }
    }

    /// A probe was dropped before it learned anything.
    pub fn abandon(&self) {
        self.update(|machine, now| machine.abandon(now));
    }

    /// The supervisor's dial failed or its socket closed too soon: when to dial again.
    pub fn failed(&self, failure: Failure, error: &ProviderError) -> Instant {
        let reason = reason_of(error);
        self.update(|machine, now| machine.fail(now, failure, Reporter::Supervisor, reason))
    }

    /// The supervisor's socket is open.
    pub fn connected(&self) {
        self.update(|machine, _| machine.connected());
    }

    /// The supervisor's socket lived long enough to count as healthy: the backoff starts over.
    pub fn stable(&self) {
        self.update(|machine, _| machine.succeed());
    }

    /// A jittered pause of the backoff's `n`-th step, for retries that do not make the provider
    /// unreachable (a refused key, a rate-limited upgrade).
    pub fn pause(&self, n: u32) -> Duration {
        self.update(|machine, _| machine.pause(n))
    }

    /// The error a rejected request gets: why the provider is offline and when it is retried.
    pub fn offline_error(&self, retry_at: Instant) -> ProviderError {
        let now = (self.0.clock)();
        let wait = retry_at.saturating_duration_since(now);
        let reason = match &*self.0.health.borrow() {
            Health::Offline { reason, .. } => reason.clone(),
            Health::Online => String::new(),
        };
        ProviderError::Unreachable(format!(
            "{reason} (offline; retrying in {:.1} s)",
            wait.as_secs_f64()
        ))
    }

    /// Runs `op` under the lock, then mirrors the machine into the fast word and publishes its
    /// health if it changed.
    fn update<R>(&self, op: impl FnOnce(&mut Machine, Instant) -> R) -> R {
        let now = (self.0.clock)();
        let mut machine = self.0.machine.lock().unwrap_or_else(|e| e.into_inner());
        let before = machine.health_key();
        let result = op(&mut machine, now);
        let dirty = u64::from(!machine.is_clean());
        self.0
            .fast
            .store((machine.epoch() << 1) | dirty, Ordering::Release);
        if machine.health_key() == before {
            return result;
        }
        let health = machine.health();
        // Published under the machine's lock, so two updates cannot publish out of order.
        self.0.health.send_if_modified(|current| {
            if *current == health {
                return false;
            }
            match (&*current, &health) {
                (Health::Online, Health::Offline { reason, retry_at }) => tracing::warn!(
                    retry_in_ms = retry_at.saturating_duration_since(now).as_millis() as u64,
                    "provider offline: {reason}"
                ),
                (_, Health::Offline { reason, retry_at }) => tracing::debug!(
                    retry_in_ms = retry_at.saturating_duration_since(now).as_millis() as u64,
                    "provider still offline: {reason}"
                ),
                (_, Health::Online) => tracing::info!("provider reachable again"),
            }
            *current = health;
            true
        });
        drop(machine);
        result
    }
}

/// The error's text without the variant's prefix, e.g. `cannot reach …: connection refused`.
fn reason_of(error: &ProviderError) -> &str {
    match error {
        ProviderError::Unreachable(reason) | ProviderError::Unavailable(reason) => reason,
        _ => "the provider failed",
    }
}
