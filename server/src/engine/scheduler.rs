//! Request scheduling: supersession per document and a cap on requests in flight.
//!
//! Helix never sends `$/cancelRequest`, and tower-lsp-server keeps a handler's slot busy while its
//! future is pending, so the server retires stale work itself: a newer request for the same
//! document cancels the older one, and when more than `max_in_flight` requests wait on the model,
//! the oldest is cancelled. A cancelled request answers at once with an empty result.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

struct Entry {
    id: u64,
    key: Arc<str>,
    token: CancellationToken,
}

#[derive(Default)]
struct Queue {
    /// Oldest first.
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// Hands out [`Ticket`]s; cheap to share.
pub struct Scheduler {
    queue: Arc<Mutex<Queue>>,
    max_in_flight: AtomicUsize,
}

/// A request's right to run. Dropping it (the request finished or its future was dropped by a
/// `$/cancelRequest`) removes it from the queue.
pub struct Ticket {
    id: u64,
    token: CancellationToken,
    queue: Arc<Mutex<Queue>>,
}

impl Scheduler {
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            queue: Arc::default(),
            max_in_flight: AtomicUsize::new(max_in_flight.max(1)),
        }
    }

    /// Changes the cap for the requests that begin from now on.
    pub fn set_max_in_flight(&self, max_in_flight: usize) {
        self.max_in_flight
            .store(max_in_flight.max(1), Ordering::Relaxed);
    }

    /// Registers a request for `key` (a document), superseding the older request for that key
    /// and the oldest requests beyond the in-flight cap. Runs synchronously: state changes before
    /// any `.await`.
    pub fn begin(&self, key: &Arc<str>) -> Ticket {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.entries.retain(|entry| {
            let superseded = entry.key == *key;
            if superseded {
                entry.token.cancel();
            }
            !superseded
        });
        let max_in_flight = self.max_in_flight.load(Ordering::Relaxed);
        while queue.entries.len() >= max_in_flight {
            if let Some(oldest) = queue.entries.pop_front() {
                oldest.token.cancel();
            }
        }
        queue.next_id += 1;
        let id = queue.next_id;
        let token = CancellationToken::new();
        queue.entries.push_back(Entry {
            id,
            key: key.clone(),
            token: token.clone(),
        });
        Ticket {
            id,
            token,
            queue: self.queue.clone(),
        }
    }

    pub fn in_flight(&self) -> usize {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .len()
    }
}

impl Ticket {
    /// Completes when this request has been superseded.
    pub async fn superseded(&self) {
        self.token.cancelled().await;
    }

    pub fn is_superseded(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.entries.retain(|entry| entry.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_request_for_the_same_document_supersedes_the_older() {
        let scheduler = Scheduler::new(4);
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let first = scheduler.begin(&a);
        let other = scheduler.begin(&b);
        let second = scheduler.begin(&a);
        assert!(first.is_superseded());
        assert!(!other.is_superseded() && !second.is_superseded());
        assert_eq!(scheduler.in_flight(), 2);
    }

    #[test]
    fn the_oldest_request_beyond_the_cap_is_cancelled_and_drops_free_slots() {
        let scheduler = Scheduler::new(2);
        let keys: Vec<Arc<str>> = ["a", "b", "c"].map(Arc::from).to_vec();
        let t0 = scheduler.begin(&keys[0]);
        let t1 = scheduler.begin(&keys[1]);
        let t2 = scheduler.begin(&keys[2]);
        assert!(t0.is_superseded());
        assert!(!t1.is_superseded() && !t2.is_superseded());
        drop(t1);
        drop(t2);
        assert_eq!(scheduler.in_flight(), 0);
    }
}
