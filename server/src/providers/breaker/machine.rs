//! The breaker's state machine, pure: every operation takes the time it happens at, so the unit
//! and property tests drive it with made-up instants and never sleep.
//!
//! States: `Closed` (requests go through), `Open` until `retry_at` (requests are answered at
//! once without dialling), and `Probing` (one request, the probe, is finding out whether the
//! provider is back; the others are still answered at once). A hard failure (cannot connect)
//! opens at once; soft ones (5xx, a socket that keeps closing) open after `Policy::strikes`
//! in a row. Each opening waits longer (exponential backoff with jitter, capped); any answer
//! from the provider closes it and forgets the count.

use std::hash::BuildHasher;
use std::time::{Duration, Instant};

/// How the breaker backs off. Built from `provider.reconnectMinMs` and `provider.reconnectMaxMs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The backoff's first step; each later one doubles, up to `max`.
    pub min: Duration,
    pub max: Duration,
    /// Soft failures in a row that open the breaker.
    pub strikes: u32,
    /// How long a probe may stay unanswered before another request may probe (a safety net:
    /// a probe's outcome or its cancellation normally ends probing at once).
    pub probe_lease: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(250),
            max: Duration::from_secs(30),
            strikes: 3,
            probe_lease: Duration::from_secs(30),
        }
    }
}

impl Policy {
    /// The backoff step after `n` (≥ 1) consecutive failures: `min · 2ⁿ⁻¹`, at most `max`.
    pub fn step(&self, n: u32) -> Duration {
        let doublings = n.saturating_sub(1).min(30);
        self.min
            .saturating_mul(1 << doublings)
            .min(self.max.max(self.min))
    }
}

/// Who decides when the provider is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The requests themselves (HTTP providers): the first request after the retry time is the
    /// probe, and outcomes of requests move the breaker.
    Requests,
    /// A supervisor that owns the connection (the WebSocket session): it reports its dials,
    /// and retries by itself at the retry time; requests after it wait for that dial.
    Supervised,
}

/// How a failure counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The provider cannot be reached at all: connection refused, DNS, TLS, no socket.
    Hard,
    /// The provider answered but could not serve: a 5xx, a socket closed soon after opening.
    Soft,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    Open { retry_at: Instant },
    Probing { lease_until: Instant },
}

/// What a request may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead; `epoch` tells later whether the breaker opened meanwhile.
    Pass { epoch: u64 },
    /// Go ahead as the probe: its outcome closes or reopens the breaker.
    Probe,
    /// Answer at once, without dialling.
    Reject { retry_at: Instant },
}

/// Whose outcome is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reporter {
    Request(Admission),
    Supervisor,
}

#[derive(Debug)]
pub struct Machine {
    policy: Policy,
    state: State,
    /// Why it last opened.
    reason: String,
    /// The last retry time announced, kept while probing.
    retry_at: Option<Instant>,
    /// Openings since the provider last answered: the backoff's exponent.
    failures: u32,
    /// Soft failures in a row while closed.
    strikes: u32,
    /// Incremented at every opening, so that a request admitted before it cannot count twice.
    epoch: u64,
    seed: u64,
}

/// What the user sees of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Online,
    /// Unreachable; requests are answered empty until `retry_at`.
    Offline {
        reason: String,
        retry_at: Instant,
    },
}

impl Machine {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            state: State::Closed,
            reason: String::new(),
            retry_at: None,
            failures: 0,
            strikes: 0,
            epoch: 0,
            // Never zero: xorshift would stay there.
            seed: std::collections::hash_map::RandomState::new().hash_one(0u8) | 1,
        }
    }

    #[cfg(test)]
    pub fn state(&self) -> State {
        self.state
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Closed with no strikes: the request path needs nothing but the epoch.
    pub fn is_clean(&self) -> bool {
        self.state == State::Closed && self.strikes == 0
    }

    /// What [`Machine::health`] depends on, without cloning the reason: the reason only changes
    /// with the retry time.
    pub fn health_key(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            _ => self.retry_at,
        }
    }

    pub fn health(&self) -> Health {
        match (self.state, self.retry_at) {
            (State::Closed, _) | (_, None) => Health::Online,
            // While probing (or after an abandoned probe) the announced retry time stands.
            (_, Some(retry_at)) => Health::Offline {
                reason: self.reason.clone(),
                retry_at,
            },
        }
    }

    pub fn admit(&mut self, now: Instant, mode: Mode) -> Admission {
        match self.state {
            State::Closed => Admission::Pass { epoch: self.epoch },
            State::Open { retry_at }
            | State::Probing {
                lease_until: retry_at,
            } if now < retry_at => Admission::Reject {
                retry_at: self.retry_at.unwrap_or(retry_at),
            },
            // The supervisor is dialling at the retry time; the request waits for that dial.
            _ if mode == Mode::Supervised => Admission::Pass { epoch: self.epoch },
            _ => {
                self.state = State::Probing {
                    lease_until: now + self.policy.probe_lease,
                };
                Admission::Probe
            }
        }
    }

    /// The provider could not serve. Returns when to try again: the retry time once open; after
    /// a soft failure that did not open it, a short jittered pause (for a supervisor's redial).
    pub fn fail(&mut self, now: Instant, failure: Failure, by: Reporter, reason: &str) -> Instant {
        let probe = by == Reporter::Request(Admission::Probe)
            && matches!(self.state, State::Probing { .. });
        let stale = match by {
            Reporter::Request(Admission::Pass { epoch }) => {
                epoch != self.epoch || self.state != State::Closed
            }
            Reporter::Request(Admission::Probe) => !probe && self.state != State::Closed,
            Reporter::Request(Admission::Reject { .. }) => true,
            Reporter::Supervisor => false,
        };
        if stale {
            return self.retry_at.unwrap_or(now).max(now);
        }
        let opens = probe
            || by == Reporter::Supervisor && self.state != State::Closed
            || failure == Failure::Hard
            || self.strikes + 1 >= self.policy.strikes;
        if !opens {
            self.strikes += 1;
            return now + self.jitter(self.policy.step(self.strikes));
        }
        self.failures = self.failures.saturating_add(1);
        self.epoch += 1;
        let retry_at = now + self.jitter(self.policy.step(self.failures));
        self.state = State::Open { retry_at };
        self.retry_at = Some(retry_at);
        reason.clone_into(&mut self.reason);
        retry_at
    }

    /// The provider answered (or connected): closed, and the backoff starts over.
    pub fn succeed(&mut self) {
        self.connected();
        self.failures = 0;
        self.strikes = 0;
    }

    /// A supervisor's socket is open: closed, but the counts stay until the socket proves
    /// stable ([`Machine::succeed`]), so a socket that keeps closing still backs off.
    pub fn connected(&mut self) {
        self.state = State::Closed;
        self.retry_at = None;
    }

    /// The probe was cancelled before it learned anything: the next request probes.
    pub fn abandon(&mut self, now: Instant) {
        if matches!(self.state, State::Probing { .. }) {
            self.state = State::Open { retry_at: now };
        }
    }

    /// A jittered pause of the `n`-th backoff step that changes no state.
    pub fn pause(&mut self, n: u32) -> Duration {
        self.jitter(self.policy.step(n))
    }

    /// `step` less up to half of it, so that many clients do not retry in step.
    fn jitter(&mut self, step: Duration) -> Duration {
        // xorshift64: cheap, and seeded per breaker from the process's random state.
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let fraction = 0.5 + (self.seed % 1001) as f64 / 2000.0;
        step.mul_f64(fraction)
    }
}
