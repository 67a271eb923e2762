//! The syntax-tree state of one document and the background thread that parses.
//!
//! A keystroke never parses. It records its edit (an `InputEdit`, described to the tree by the
//! parser thread) and queues a background reparse; a burst of keystrokes coalesces into one
//! incremental reparse. A first parse of a large file runs on the same thread, so it never
//! stalls the keystroke path either. The job parses a snapshot of the text; edits that arrive
//! while it runs are recorded and applied to its result, and if there were any, the next
//! incremental reparse is queued.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak, mpsc};

use ropey::Rope;
use tree_sitter::{InputEdit, Tree};

use super::store::Inner;
use crate::syntax::{self, Language};

#[derive(Debug, Default)]
pub(super) enum TreeState {
    /// No tree in memory: never parsed, evicted from the tree budget, or inactive.
    #[default]
    None,
    /// A background parse is queued or running.
    Parsing(Box<Job>),
    /// The tree of exactly the current text.
    Ready(Tree),
}

/// A queued or running background parse.
#[derive(Debug)]
pub(super) struct Job {
    id: u64,
    cancel: Arc<AtomicBool>,
    /// What the parse starts from: the previous tree with every edit up to the job's snapshot
    /// described to it (an incremental reparse), or nothing (a first parse). Kept while the job
    /// runs (a tree clone shares its nodes), so that requests meanwhile still have a tree.
    base: Option<Tree>,
    /// Edits newer than what `base` knows: before the job takes its snapshot, edits to apply to
    /// `base`; after, edits to apply to the job's result.
    pending: Vec<InputEdit>,
    /// Whether the job has taken its snapshot of the text.
    started: bool,
}

impl Job {
    fn new(base: Option<Tree>) -> Self {
        Self {
            id: 0,
            cancel: Arc::new(AtomicBool::new(false)),
            base,
            pending: Vec::new(),
            started: false,
        }
    }
}

impl TreeState {
    pub(super) fn tree(&self) -> Option<&Tree> {
        match self {
            Self::Ready(tree) => Some(tree),
            _ => None,
        }
    }

    /// The last parse's tree and every edit since, queued or running reparse alike, so that a
    /// request reads the document's structure from it instead of parsing (see
    /// [`PendingReparse::tree`]). Cheap: the edits are described only when a request asks.
    pub(super) fn pending_reparse(&self) -> Option<PendingReparse> {
        match self {
            Self::Parsing(job) => Some(PendingReparse {
                base: job.base.clone()?,
                edits: job.pending.clone(),
            }),
            _ => None,
        }
    }

    /// Whether edits must be described to this state; when not, the keystroke path skips
    /// computing the `InputEdit` at all.
    pub(super) fn wants_edits(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// Records one text edit. Returns true when a reparse must be queued (the tree was ready).
    pub(super) fn edit(&mut self, edit: &InputEdit) -> bool {
        match std::mem::take(self) {
            Self::None => false,
            Self::Parsing(mut job) => {
                job.pending.push(*edit);
                *self = Self::Parsing(job);
                false
            }
            Self::Ready(tree) => {
                // Described to the tree by the job when it starts, on the parser thread:
                // describing an edit copies the path to it (in a 9,000-line file the root's
                // ~1,500 children), ~25 µs the keystroke does not wait for.
                let mut job = Job::new(Some(tree));
                job.pending.push(*edit);
                *self = Self::Parsing(Box::new(job));
                true
            }
        }
    }

    /// Drops the tree, stopping a running parse.
    pub(super) fn clear(&mut self) {
        if let Self::Parsing(job) = self {
            job.cancel.store(true, Ordering::Relaxed);
        }
        *self = Self::None;
    }

    /// The job's snapshot: the text, and the base tree with the edits so far applied. Marks the
    /// job started, so that later edits are kept for its result.
    pub(super) fn start_job(
        &mut self,
        id: u64,
        rope: &Rope,
    ) -> Option<(Rope, Option<Tree>, Arc<AtomicBool>)> {
        let Self::Parsing(job) = self else {
            return None;
        };
        if job.id != id || job.started {
            return None;
        }
        if let Some(base) = &mut job.base {
            job.pending.drain(..).for_each(|edit| base.edit(&edit));
        } else {
            job.pending.clear();
        }
        job.started = true;
        Some((rope.clone(), job.base.clone(), job.cancel.clone()))
    }

    /// Installs a job's result. Returns true when edits arrived during the job, so the result is
    /// only an edited base and another reparse must be queued.
    pub(super) fn finish_job(&mut self, id: u64, mut tree: Tree) -> bool {
        let Self::Parsing(job) = self else {
            return false;
        };
        if job.id != id || !job.started {
            return false;
        }
        if job.pending.is_empty() {
            *self = Self::Ready(tree);
            return false;
        }
        job.pending.iter().for_each(|edit| tree.edit(edit));
        job.pending.clear();
        job.base = Some(tree);
        job.started = false;
        true
    }
}

/// A tree that matches the current text by edits but is not reparsed yet.
#[derive(Clone, Debug)]
pub(super) struct PendingReparse {
    base: Tree,
    edits: Vec<InputEdit>,
}

impl PendingReparse {
    pub(super) fn into_base(self) -> Tree {
        self.base
    }

    /// The base with the edits described to it. (Describing an edit copies the path to it,
    /// the root's ~1,500 children in a 9,000-line file: done once per snapshot that needs it.)
    pub(super) fn tree(&self) -> Tree {
        let mut tree = self.base.clone();
        self.edits.iter().for_each(|edit| tree.edit(edit));
        tree
    }
}

pub(super) struct ParseJob {
    pub uri: Arc<str>,
    pub id: u64,
}

/// What the parser thread does, in order.
enum Work {
    Parse(ParseJob),
    /// Free what the snapshots left ([`Reclaim::free`]).
    Free,
}

/// Frees a snapshot's trees on the parser thread (see [`Snapshot`](super::Snapshot)'s `Drop`).
///
/// Freeing the last reference to a tree's root releases each of the root's children: ~1,500
/// reference counts in a 9,000-line file, one cache line each. A request frees its snapshot
/// while the parser thread is reparsing the keystroke before it, which touches those same
/// nodes on the other core: on the request's path that measured ~0.15 ms of each completion.
/// The parser thread frees them after its parse, with the nodes in its own cache.
///
/// The trees wait in a list until the parser thread's next job (the next keystroke's reparse):
/// waking it for them cost each request a thread wake-up or three (one per snapshot), and on
/// two cores a woken thread may take the core the request's own path runs on. Past
/// [`MAX_WAITING_TREES`] the parser thread is woken for them.
#[derive(Clone)]
pub(crate) struct Reclaim {
    tx: mpsc::Sender<Work>,
    pub(super) waiting: Arc<Mutex<Vec<Tree>>>,
}

/// Trees held for the parser thread before it is woken to free them: each is a reference to a
/// tree the store or a newer snapshot mostly still holds, so the list holds little memory.
pub(super) const MAX_WAITING_TREES: usize = 64;

impl std::fmt::Debug for Reclaim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reclaim").finish_non_exhaustive()
    }
}

impl Reclaim {
    /// Hands `trees` to the parser thread, to free after its next job; frees them here when
    /// the thread is gone.
    pub(crate) fn free(&self, trees: impl IntoIterator<Item = Tree>) {
        let mut waiting = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let before = waiting.len();
        waiting.extend(trees);
        if before < MAX_WAITING_TREES
            && waiting.len() >= MAX_WAITING_TREES
            && self.tx.send(Work::Free).is_err()
        {
            let trees = std::mem::take(&mut *waiting);
            drop(waiting);
            drop(trees);
        }
    }
}

/// The sending side of the background parser, owned by the store.
pub(super) struct ParseQueue {
    /// Its sender queues the parses too.
    reclaim: Reclaim,
    next_id: AtomicU64,
    /// Jobs queued and not yet finished, so that tests and benchmarks can wait for quiet.
    outstanding: Arc<(Mutex<usize>, Condvar)>,
    /// Jobs not sent to the parser thread yet (see [`ParseQueue::queue`]); `None` when the
    /// thread could not be started.
    deferred: Option<Arc<Deferred>>,
}

/// Parse jobs waiting for the round of tasks after the keystroke that queued them.
struct Deferred {
    jobs: Mutex<Vec<ParseJob>>,
    tx: mpsc::Sender<Work>,
    outstanding: Arc<(Mutex<usize>, Condvar)>,
}

impl Deferred {
    /// Sends the waiting jobs, in order; a job the gone parser thread cannot take is counted
    /// as finished (its document stays without a new tree, as with no parser at all).
    fn flush(&self) {
        let jobs = std::mem::take(&mut *self.jobs.lock().unwrap_or_else(|e| e.into_inner()));
        for job in jobs {
            let uri = job.uri.clone();
            if self.tx.send(Work::Parse(job)).is_err() {
                tracing::error!(%uri, "background parser is gone; the document keeps its tree");
                let (count, idle) = &*self.outstanding;
                *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                idle.notify_all();
            }
        }
    }
}

/// Sends the deferred jobs when dropped.
struct Flush(Arc<Deferred>);

impl Drop for Flush {
    fn drop(&mut self) {
        self.0.flush();
    }
}

impl ParseQueue {
    /// Starts the parser thread. It holds only a weak reference to the store, so it ends when
    /// the channel closes: the store is dropped, and the last snapshot (whose trees it frees).
    pub(super) fn start(store: Weak<Inner>) -> Self {
        let (tx, rx) = mpsc::channel::<Work>();
        let reclaim = Reclaim {
            tx,
            waiting: Arc::default(),
        };
        // Not a `Reclaim`: its sender would keep the channel, and so this thread, open.
        let waiting = reclaim.waiting.clone();
        let outstanding = Arc::new((Mutex::new(0usize), Condvar::new()));
        let worker_outstanding = outstanding.clone();
        let spawned = std::thread::Builder::new()
            .name("spark-parse".into())
            .spawn(move || {
                // Freed after the lock is let go: a snapshot's drop may be waiting for it.
                let free_waiting = || {
                    let trees =
                        std::mem::take(&mut *waiting.lock().unwrap_or_else(|e| e.into_inner()));
                    drop(trees);
                };
                while let Ok(work) = rx.recv() {
                    let job = match work {
                        Work::Parse(job) => job,
                        Work::Free => {
                            free_waiting();
                            continue;
                        }
                    };
                    if let Some(store) = store.upgrade() {
                        store.run_job(&job.uri, job.id);
                    }
                    free_waiting();
                    let (count, idle) = &*worker_outstanding;
                    let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
                    *count = count.saturating_sub(1);
                    idle.notify_all();
                }
            });
        let deferred = match spawned {
            Ok(_) => Some(Arc::new(Deferred {
                jobs: Mutex::default(),
                tx: reclaim.tx.clone(),
                outstanding: outstanding.clone(),
            })),
            Err(err) => {
                tracing::error!("cannot start the background parser thread: {err}");
                None
            }
        };
        Self {
            reclaim,
            next_id: AtomicU64::new(1),
            outstanding,
            deferred,
        }
    }

    /// Queues a first parse: puts `state` into `Parsing` with no base tree.
    pub(super) fn schedule_first_parse(&self, uri: &Arc<str>, state: &mut TreeState) {
        state.clear();
        *state = TreeState::Parsing(Box::new(Job::new(None)));
        self.queue(uri, state);
    }

    /// Queues the job that `state` (already `Parsing`, not started) describes.
    pub(super) fn queue(&self, uri: &Arc<str>, state: &mut TreeState) {
        let TreeState::Parsing(job) = state else {
            return;
        };
        job.id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (count, _) = &*self.outstanding;
        *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let job = ParseJob {
            uri: uri.clone(),
            id: job.id,
        };
        // On a runtime the parser thread is woken a round of tasks later: a keystroke's request
        // follows its `didChange`, and waking a thread (a system call, and a core taken) on the
        // way to its model call cost the request ~30 µs.
        if let (Some(deferred), Ok(runtime)) =
            (&self.deferred, tokio::runtime::Handle::try_current())
        {
            let mut jobs = deferred.jobs.lock().unwrap_or_else(|e| e.into_inner());
            jobs.push(job);
            if jobs.len() == 1 {
                // Sent when the task ends, or when it is dropped unrun (the runtime shut down).
                let flush = Flush(deferred.clone());
                runtime.spawn(async move {
                    tokio::task::yield_now().await;
                    drop(flush);
                });
            }
            return;
        }
        if self.reclaim.tx.send(Work::Parse(job)).is_err() {
            tracing::error!(%uri, "background parser is gone; the document stays without a tree");
            *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            *state = TreeState::None;
        }
    }

    pub(super) fn reclaim(&self) -> Reclaim {
        self.reclaim.clone()
    }

    /// Blocks until every queued parse has finished.
    pub(super) fn wait_idle(&self) {
        // Jobs still waiting for their round go now: a caller blocking a runtime's thread
        // could be the one that round needs.
        if let Some(deferred) = &self.deferred {
            deferred.flush();
        }
        let (count, idle) = &*self.outstanding;
        let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
        while *count > 0 {
            count = idle.wait(count).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Parses a job's snapshot without holding any document lock.
pub(super) fn parse_snapshot(
    language: Language,
    rope: &Rope,
    base: Option<&Tree>,
    cancel: &AtomicBool,
) -> Option<Tree> {
    let started = std::time::Instant::now();
    let tree = syntax::parse_with_cancel(language, rope, base, cancel);
    tracing::trace!(
        bytes = rope.len_bytes(),
        incremental = base.is_some(),
        elapsed_us = started.elapsed().as_micros() as u64,
        done = tree.is_some(),
        "parse"
    );
    tree
}
