//! The breaker's state machine under made-up instants (no sleeps), its laws as properties, and
//! [`Guarded`] in front of a counting provider.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::machine::{Machine, Reporter, State};
use super::*;
use crate::providers::{ModelRequest, Provider, ProviderError, TextStream};

const SECOND: Duration = Duration::from_secs(1);

fn policy() -> Policy {
    Policy {
        min: SECOND,
        max: Duration::from_secs(8),
        strikes: 3,
        probe_lease: Duration::from_secs(30),
    }
}

fn request(admission: Admission) -> Reporter {
    Reporter::Request(admission)
}

#[test]
fn a_hard_failure_opens_at_once_and_rejects_until_the_retry_time() {
    let t0 = Instant::now();
    let mut m = Machine::new(policy());
    let pass = m.admit(t0, Mode::Requests);
    assert_eq!(pass, Admission::Pass { epoch: 0 });
    let retry_at = m.fail(t0, Failure::Hard, request(pass), "refused");
    let wait = retry_at - t0;
    assert!(wait >= SECOND / 2 && wait <= SECOND, "{wait:?}");
    assert_eq!(
        m.health(),
        Health::Offline {
            reason: "refused".into(),
            retry_at
        }
    );
    for at in [t0, t0 + wait / 2, retry_at - Duration::from_nanos(1)] {
        assert_eq!(m.admit(at, Mode::Requests), Admission::Reject { retry_at });
    }
    // At the retry time one request probes; the others are still answered at once.
    assert_eq!(m.admit(retry_at, Mode::Requests), Admission::Probe);
    assert_eq!(
        m.admit(retry_at, Mode::Requests),
        Admission::Reject { retry_at }
    );
    m.succeed();
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.health(), Health::Online);
    assert!(m.is_clean());
}

#[test]
fn a_failed_probe_reopens_for_longer_up_to_the_cap() {
    let t0 = Instant::now();
    let mut m = Machine::new(policy());
    let mut now = t0;
    let mut retry_at = m.fail(now, Failure::Hard, Reporter::Supervisor, "refused");
    for n in 2..=6 {
        now = retry_at;
        assert_eq!(m.admit(now, Mode::Requests), Admission::Probe);
        retry_at = m.fail(now, Failure::Soft, request(Admission::Probe), "503");
        let step = policy().step(n);
        let wait = retry_at - now;
        assert!(
            wait >= step / 2 && wait <= step,
            "{n}: {wait:?} of {step:?}"
        );
        assert!(wait <= policy().max);
    }
}

#[test]
fn soft_failures_open_only_when_repeated() {
    let t0 = Instant::now();
    let mut m = Machine::new(policy());
    for _ in 0..2 {
        let pass = m.admit(t0, Mode::Requests);
        m.fail(t0, Failure::Soft, request(pass), "HTTP 503");
        assert_eq!(m.state(), State::Closed);
    }
    // An answer in between forgets them.
    m.succeed();
    for _ in 0..2 {
        let pass = m.admit(t0, Mode::Requests);
        m.fail(t0, Failure::Soft, request(pass), "HTTP 503");
    }
    assert_eq!(m.state(), State::Closed);
    let pass = m.admit(t0, Mode::Requests);
    m.fail(t0, Failure::Soft, request(pass), "HTTP 503");
    assert!(matches!(m.state(), State::Open { .. }));
}

#[test]
fn a_request_admitted_before_an_opening_does_not_count_again() {
    let t0 = Instant::now();
    let mut m = Machine::new(policy());
    let early = m.admit(t0, Mode::Requests);
    let retry_at = m.fail(t0, Failure::Hard, request(early), "refused");
    assert_eq!(m.admit(retry_at, Mode::Requests), Admission::Probe);
    m.succeed();
    // The early request's own failure arrives late: the provider answered since.
    m.fail(retry_at, Failure::Hard, request(early), "refused");
    assert_eq!(m.state(), State::Closed);
}

#[test]
fn an_abandoned_probe_lets_the_next_request_probe() {
    let t0 = Instant::now();
    let mut m = Machine::new(policy());
    let retry_at = m.fail(t0, Failure::Hard, Reporter::Supervisor, "refused");
    assert_eq!(m.admit(retry_at, Mode::Requests), Admission::Probe);
    m.abandon(retry_at);
    assert_eq!(m.admit(retry_at, Mode::Requests), Admission::Probe);
    // The announced retry time stands while probing.
    assert!(matches!(m.health(), Health::Offline { retry_at: at, .. } if at == retry_at));
}

#[test]
fn supervised_requests_after_the_retry_time_wait_for_the_supervisors_dial() {
    let t0 = Instant::now();
    let mut m = Machine::new(policy());
    let retry_at = m.fail(t0, Failure::Hard, Reporter::Supervisor, "refused");
    assert!(matches!(
        m.admit(t0, Mode::Supervised),
        Admission::Reject { .. }
    ));
    assert!(matches!(
        m.admit(retry_at, Mode::Supervised),
        Admission::Pass { .. }
    ));
    // Its dial failed again: open, for longer.
    let next = m.fail(retry_at, Failure::Hard, Reporter::Supervisor, "refused");
    assert!(next - retry_at >= policy().step(2) / 2);
    // A socket that opens and closes at once counts towards opening again.
    m.connected();
    assert_eq!(m.health(), Health::Online);
    let pause = m.fail(next, Failure::Soft, Reporter::Supervisor, "closed");
    assert_eq!(m.state(), State::Closed);
    assert!(pause > next);
    m.succeed();
    assert!(m.is_clean());
}

#[derive(Debug, Clone)]
enum Op {
    Admit,
    /// Reports the outcome of the `n`-th admitted request still outstanding.
    Outcome(usize, Option<Failure>),
    Abandon(usize),
    Advance(u64),
}

fn is_reject(admission: Admission) -> bool {
    matches!(admission, Admission::Reject { .. })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Admit),
        3 => (any::<usize>(), prop_oneof![Just(None), Just(Some(Failure::Hard)), Just(Some(Failure::Soft))])
            .prop_map(|(n, f)| Op::Outcome(n, f)),
        1 => any::<usize>().prop_map(Op::Abandon),
        2 => (0u64..20_000).prop_map(Op::Advance),
    ]
}

proptest! {
    /// Laws, for any interleaving of requests, outcomes, cancellations and time: while open, no
    /// request is let through before the retry time; while a probe is out, no other request is
    /// let through; every wait is at least half the first step and never over the cap; an
    /// answer always closes.
    #[test]
    fn never_dials_while_open_before_the_retry_time(ops in proptest::collection::vec(op(), 1..200)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut m = Machine::new(policy());
        let mut outstanding: Vec<Admission> = Vec::new();
        for op in ops {
            match op {
                Op::Admit => {
                    let before = m.state();
                    let admission = m.admit(now, Mode::Requests);
                    match before {
                        State::Open { retry_at } if now < retry_at => {
                            prop_assert!(is_reject(admission), "{admission:?}");
                        }
                        State::Probing { lease_until } if now < lease_until => {
                            prop_assert!(is_reject(admission), "{admission:?}");
                        }
                        _ => {}
                    }
                    if !matches!(admission, Admission::Reject { .. }) {
                        outstanding.push(admission);
                    }
                }
                Op::Outcome(n, failure) if !outstanding.is_empty() => {
                    let admission = outstanding.remove(n % outstanding.len());
                    match failure {
                        None => {
                            m.succeed();
                            prop_assert_eq!(m.state(), State::Closed);
                        }
                        Some(failure) => {
                            let before = m.state();
                            let retry_at = m.fail(now, failure, request(admission), "x");
                            if let State::Open { retry_at: at } = m.state() {
                                if before != m.state() {
                                    prop_assert_eq!(at, retry_at);
                                    let wait = retry_at - now;
                                    prop_assert!(wait <= policy().max && wait >= policy().min / 2);
                                }
                            }
                        }
                    }
                }
                Op::Abandon(n) if !outstanding.is_empty() => {
                    let admission = outstanding.remove(n % outstanding.len());
                    if admission == Admission::Probe {
                        m.abandon(now);
                    }
                }
                Op::Advance(ms) => now += Duration::from_millis(ms),
                _ => {}
            }
        }
    }
}

/// A provider that counts its calls and answers with what it is told.
struct Counting {
    calls: AtomicUsize,
    answer: Mutex<Result<String, ProviderError>>,
}

impl Counting {
    fn new(answer: Result<String, ProviderError>) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            answer: Mutex::new(answer),
        })
    }

    fn answer(&self, answer: Result<String, ProviderError>) {
        *lock(&self.answer) = answer;
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A clock the test moves by hand, and a breaker that reads it.
fn manual_breaker() -> (Arc<Mutex<Instant>>, Breaker) {
    let clock = Arc::new(Mutex::new(Instant::now()));
    let now = clock.clone();
    let breaker = Breaker::with_clock(policy(), Mode::Requests, Arc::new(move || *lock(&now)));
    (clock, breaker)
}

impl Provider for Counting {
    fn name(&self) -> &str {
        "counting"
    }

    fn stream(&self, _: ModelRequest) -> TextStream {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = lock(&self.answer).clone();
        let (sink, stream) = TextStream::channel();
        let _ = sink.try_send(answer);
        stream
    }
}

async fn first(provider: &dyn Provider) -> Option<Result<String, ProviderError>> {
    provider.stream(ModelRequest::default()).next().await
}

#[tokio::test]
async fn guarded_answers_at_once_without_calling_the_provider_until_the_retry_time() {
    let (clock, breaker) = manual_breaker();
    let inner = Counting::new(Err(ProviderError::Unreachable(
        "cannot reach x: refused".into(),
    )));
    let guarded = Guarded::new(inner.clone(), breaker.clone());
    let Some(mut health) = guarded.health() else {
        panic!("a guarded provider has a health");
    };
    assert_eq!(*health.borrow_and_update(), Health::Online);

    assert!(matches!(
        first(&*guarded).await,
        Some(Err(ProviderError::Unreachable(_)))
    ));
    assert_eq!(inner.calls(), 1);
    let Health::Offline { retry_at, reason } = health.borrow_and_update().clone() else {
        panic!("offline after a refused connection");
    };
    assert_eq!(reason, "cannot reach x: refused");
    for _ in 0..5 {
        let answer = first(&*guarded).await;
        let Some(Err(ProviderError::Unreachable(message))) = answer else {
            panic!("{answer:?}");
        };
        assert!(message.contains("offline; retrying in"), "{message}");
    }
    assert_eq!(inner.calls(), 1, "no call before the retry time");
    assert_eq!(health.has_changed().ok(), Some(false));

    // The provider is back; the first request after the retry time is answered by it.
    inner.answer(Ok("back".into()));
    *lock(&clock) = retry_at;
    assert_eq!(first(&*guarded).await, Some(Ok("back".into())));
    assert_eq!(*health.borrow_and_update(), Health::Online);
    assert!(breaker.is_closed());
    assert_eq!(first(&*guarded).await, Some(Ok("back".into())));
    assert_eq!(inner.calls(), 3);
}

#[tokio::test]
async fn a_dropped_probe_does_not_leave_the_breaker_probing() {
    let (clock, breaker) = manual_breaker();
    let inner = Counting::new(Err(ProviderError::Unreachable("refused".into())));
    let guarded = Guarded::new(inner.clone(), breaker.clone());
    first(&*guarded).await;
    let Health::Offline { retry_at, .. } = breaker.health().borrow().clone() else {
        panic!("offline");
    };
    *lock(&clock) = retry_at;
    // The editor cancels the probe (a keystroke) before it is answered.
    drop(guarded.stream(ModelRequest::default()));
    inner.answer(Ok("back".into()));
    assert_eq!(first(&*guarded).await, Some(Ok("back".into())));
    assert_eq!(inner.calls(), 3);
}

#[test]
fn a_closed_breaker_admits_with_one_atomic_load() {
    let breaker = Breaker::new(policy(), Mode::Requests);
    assert_eq!(breaker.admit(), Admission::Pass { epoch: 0 });
    // An answer from a live provider (a refused key) is no failure of reachability.
    breaker.report(
        Admission::Pass { epoch: 0 },
        Err(&ProviderError::Auth("401".into())),
    );
    assert!(breaker.is_closed());
    breaker.report(
        Admission::Pass { epoch: 0 },
        Err(&ProviderError::Unreachable("refused".into())),
    );
    assert!(!breaker.is_closed());
    assert!(matches!(breaker.admit(), Admission::Reject { .. }));
}
