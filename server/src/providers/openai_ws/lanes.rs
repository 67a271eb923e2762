//! Lane bookkeeping of one connection: which named `stream_id` lanes are free, running a
//! response (possibly an abandoned one) or holding a warm base, and which sessions are warm.
//!
//! Rules this encodes (PROTOCOLS.md §1.4, §1.6):
//! - a lane runs one response at a time server-side (FIFO), so a lane is handed out only when
//!   its last response reached a terminal event: an abandoned answer never delays a new one;
//! - a warm base lives in its lane's cache until that lane runs something else, so a base lane
//!   stays idle and continuations fork onto another lane;
//! - a fork must be `in_progress` before its parent's lane may move on (`store:false`): the
//!   parent lane is pinned until then and cannot be handed out.
//!
//! Plain data under the connection's mutex; no I/O, no `.await`.

use std::collections::HashMap;

use tokio::sync::watch;

pub(super) type LaneIdx = usize;

#[derive(Debug, Clone, PartialEq, Eq)]
enum LaneState {
    Free,
    /// A response is in flight (or abandoned and not yet terminal).
    Busy,
    /// Idle, holding the warm base of `session`.
    Base {
        session: String,
    },
}

#[derive(Debug)]
struct Lane {
    state: LaneState,
    /// Forks of this lane's base that are not yet `in_progress`.
    pins: usize,
    /// When the lane was last used, for least-recently-used eviction of bases.
    used_at: u64,
}

/// How far a session's warm-up has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum BaseState {
    Pending,
    Ready(String),
    /// The warm-up failed or was replaced; the waiter sends the request in full.
    Gone,
}

#[derive(Debug)]
struct Warm {
    hash: u64,
    lane: LaneIdx,
    token: u64,
    state: watch::Sender<BaseState>,
}

/// What a request finds for its session.
#[derive(Debug)]
pub(super) enum Lookup {
    Ready { id: String, lane: LaneIdx },
    Pending(watch::Receiver<BaseState>),
    Cold,
}

/// A warm-up that may start: its lane and the token that identifies it later.
#[derive(Debug)]
pub(super) struct WarmTicket {
    pub lane: LaneIdx,
    pub token: u64,
}

#[derive(Debug)]
pub(super) struct Pool {
    lanes: Vec<Lane>,
    sessions: HashMap<String, Warm>,
    max_bases: usize,
    clock: u64,
}

impl Pool {
    pub fn new(lanes: usize, max_bases: usize) -> Self {
        Self {
            lanes: (0..lanes)
                .map(|_| Lane {
                    state: LaneState::Free,
                    pins: 0,
                    used_at: 0,
                })
                .collect(),
            sessions: HashMap::new(),
            max_bases: max_bases.min(lanes.saturating_sub(1)),
            clock: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A lane for a new response. Prefers a free lane; else takes the least recently used idle
    /// base (that session goes cold) other than `keep`; `None` when every lane is busy.
    pub fn acquire(&mut self, keep: Option<LaneIdx>) -> Option<LaneIdx> {
        let free = self
            .lanes
            .iter()
            .position(|l| l.state == LaneState::Free && l.pins == 0);
        let lane = match free {
            Some(lane) => lane,
            None => {
                let lane = self.lru_base(keep)?;
                self.evict_base(lane);
                lane
            }
        };
        let now = self.tick();
        let slot = &mut self.lanes[lane];
        slot.state = LaneState::Busy;
        slot.used_at = now;
        Some(lane)
    }

    fn lru_base(&self, keep: Option<LaneIdx>) -> Option<LaneIdx> {
        self.lanes
            .iter()
            .enumerate()
            .filter(|(i, l)| {
                Some(*i) != keep && l.pins == 0 && matches!(l.state, LaneState::Base { .. })
            })
            .min_by_key(|(_, l)| l.used_at)
            .map(|(i, _)| i)
    }

    /// Forgets the base on `lane` and frees it (a pinned lane stays unavailable until unpinned).
    fn evict_base(&mut self, lane: LaneIdx) {
        if let LaneState::Base { session } = &self.lanes[lane].state {
            let session = session.clone();
            self.sessions.remove(&session);
            self.lanes[lane].state = LaneState::Free;
        }
    }

    /// The response on `lane` ended: the lane may run something else.
    pub fn release(&mut self, lane: LaneIdx) {
        if let Some(slot) = self.lanes.get_mut(lane)
            && slot.state == LaneState::Busy
        {
            slot.state = LaneState::Free;
        }
    }

    pub fn pin(&mut self, lane: LaneIdx) {
        if let Some(slot) = self.lanes.get_mut(lane) {
            slot.pins += 1;
        }
    }

    pub fn unpin(&mut self, lane: LaneIdx) {
        if let Some(slot) = self.lanes.get_mut(lane) {
            slot.pins = slot.pins.saturating_sub(1);
        }
    }

    /// Lanes with a response in flight (abandoned ones included).
    pub fn busy(&self) -> usize {
        self.lanes
            .iter()
            .filter(|l| l.state == LaneState::Busy)
            .count()
    }

    pub fn lookup(&mut self, session: &str, hash: u64) -> Lookup {
        let Some(warm) = self.sessions.get(session) else {
            return Lookup::Cold;
        };
        if warm.hash != hash {
            return Lookup::Cold;
        }
        let lane = warm.lane;
        let state = warm.state.borrow().clone();
        match state {
            BaseState::Ready(id) => {
                let now = self.tick();
                self.lanes[lane].used_at = now;
                Lookup::Ready { id, lane }
            }
            BaseState::Pending => Lookup::Pending(warm.state.subscribe()),
            BaseState::Gone => Lookup::Cold,
        }
    }

    /// Starts warming `session` with a context of `hash`, unless it is warm (or warming) with
    /// that context already. A base with another context is dropped; the oldest other base
    /// is evicted when `max_bases` are held. `None` when nothing should (or can) be sent.
    pub fn begin_warm(&mut self, session: &str, hash: u64) -> Option<WarmTicket> {
        if self.max_bases == 0 {
            return None;
        }
        if let Some(warm) = self.sessions.get(session) {
            if warm.hash == hash && *warm.state.borrow() != BaseState::Gone {
                return None;
            }
            self.forget(session);
        }
        while self.sessions.len() >= self.max_bases {
            let lane = self.lru_base(None)?;
            self.evict_base(lane);
        }
        let lane = self.acquire(None)?;
        let token = self.tick();
        let (state, _) = watch::channel(BaseState::Pending);
        self.sessions.insert(
            session.to_owned(),
            Warm {
                hash,
                lane,
                token,
                state,
            },
        );
        Some(WarmTicket { lane, token })
    }

    /// The warm-up `ticket` completed with response `id`: its lane now holds the base. If
    /// the session moved on meanwhile, the lane is simply freed.
    pub fn warm_ready(&mut self, session: &str, ticket: &WarmTicket, id: String) {
        let current = self
            .sessions
            .get(session)
            .is_some_and(|w| w.token == ticket.token);
        if !current {
            self.release(ticket.lane);
            return;
        }
        if let Some(warm) = self.sessions.get(session) {
            warm.state.send_replace(BaseState::Ready(id));
        }
        self.lanes[ticket.lane].state = LaneState::Base {
            session: session.to_owned(),
        };
    }

    /// The warm-up `ticket` failed: forget it (if still current) and free its lane.
    pub fn warm_failed(&mut self, session: &str, ticket: &WarmTicket) {
        if self
            .sessions
            .get(session)
            .is_some_and(|w| w.token == ticket.token)
        {
            self.forget(session);
        }
        self.release(ticket.lane);
    }

    /// A warm-up that takes too long: waiters go ahead in full. Its lane stays busy until the
    /// warm-up ends, and then is freed because the ticket is no longer current.
    pub fn forget_warm(&mut self, session: &str, ticket: &WarmTicket) {
        if self
            .sessions
            .get(session)
            .is_some_and(|w| w.token == ticket.token)
        {
            self.forget(session);
        }
    }

    /// Points `session`'s ready base at `id` (a test hook); false if it is not ready.
    pub fn replace_base(&mut self, session: &str, id: &str) -> bool {
        let Some(warm) = self.sessions.get(session) else {
            return false;
        };
        if !matches!(*warm.state.borrow(), BaseState::Ready(_)) {
            return false;
        }
        warm.state.send_replace(BaseState::Ready(id.to_owned()));
        true
    }

    /// The server no longer knows base `id` (`previous_response_not_found`): drop it.
    pub fn drop_base(&mut self, session: &str, id: &str) {
        let stale = self
            .sessions
            .get(session)
            .is_some_and(|w| *w.state.borrow() == BaseState::Ready(id.to_owned()));
        if stale {
            self.forget(session);
        }
    }

    /// Removes `session`'s entry; waiters see `Gone`; an idle base lane becomes free.
    fn forget(&mut self, session: &str) {
        let Some(warm) = self.sessions.remove(session) else {
            return;
        };
        warm.state.send_replace(BaseState::Gone);
        if matches!(&self.lanes[warm.lane].state, LaneState::Base { session: s } if s == session) {
            self.lanes[warm.lane].state = LaneState::Free;
        }
    }
}

#[cfg(test)]
#[path = "lanes_tests.rs"]
mod tests;
