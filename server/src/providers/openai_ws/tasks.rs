//! Counts the provider's live tasks, so tests and benchmarks can check that dropping the
//! provider really ends its connection, reader, writer and request tasks.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A shared count of running tasks; clones observe the same count.
#[derive(Debug, Clone, Default)]
pub struct TaskGauge(Arc<AtomicUsize>);

impl TaskGauge {
    /// Tasks spawned through this gauge that have not finished yet.
    pub fn live(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// Spawns `future` on the current runtime, counted until it finishes or is dropped.
    pub(super) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let guard = Live::new(self.0.clone());
        tokio::spawn(async move {
            let _guard = guard;
            future.await;
        });
    }
}

/// Decrements the count when dropped, so an aborted task is uncounted too.
struct Live(Arc<AtomicUsize>);

impl Live {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
