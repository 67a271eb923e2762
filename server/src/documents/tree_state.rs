//! The syntax-tree state of one document and the background thread that does first parses.
//!
//! A first parse of a large file can take tens of milliseconds, so it never runs on the keystroke
//! path: the document enters `Parsing`, records the `InputEdit`s of every change that arrives in
//! the meantime, and when the background parse of the older text finishes, those edits are applied
//! to the new tree and one incremental reparse brings it up to the current text. Keystrokes on a
//! document with a `Ready` tree edit it and reparse incrementally in place.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak, mpsc};

use tree_sitter::{InputEdit, Tree};

use super::store::Inner;
use crate::syntax;

#[derive(Debug, Default)]
pub(super) enum TreeState {
    /// No tree in memory: never parsed, evicted from the tree budget, or inactive.
    #[default]
    None,
    /// A background parse of an earlier text is running; `pending` turns its tree into the
    /// current text's tree.
    Parsing {
        job: u64,
        cancel: Arc<AtomicBool>,
        pending: Vec<InputEdit>,
    },
    Ready(Tree),
}

impl TreeState {
    pub(super) fn tree(&self) -> Option<&Tree> {
        match self {
            Self::Ready(tree) => Some(tree),
            _ => None,
        }
    }

    /// Records one text edit: the tree (or the tree to come) must learn about it.
    pub(super) fn edit(&mut self, edit: &InputEdit) {
        match self {
            Self::None => {}
            Self::Parsing { pending, .. } => pending.push(*edit),
            Self::Ready(tree) => tree.edit(edit),
        }
    }

    /// Whether edits must be described to this state; when not, the keystroke path skips
    /// computing the `InputEdit` at all.
    pub(super) fn wants_edits(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// Drops the tree, stopping a running parse.
    pub(super) fn clear(&mut self) {
        if let Self::Parsing { cancel, .. } = self {
            cancel.store(true, Ordering::Relaxed);
        }
        *self = Self::None;
    }
}

pub(super) struct ParseJob {
    pub uri: Arc<str>,
    pub job: u64,
    pub cancel: Arc<AtomicBool>,
}

/// The sending side of the background parser, owned by the store.
pub(super) struct ParseQueue {
    tx: Mutex<mpsc::Sender<ParseJob>>,
    next_job: AtomicU64,
    /// Jobs sent and not yet finished, so that tests and benchmarks can wait for quiet.
    outstanding: Arc<(Mutex<usize>, Condvar)>,
}

impl ParseQueue {
    /// Starts the parser thread. It holds only a weak reference to the store, so it ends when
    /// the store is dropped and the channel closes.
    pub(super) fn start(store: Weak<Inner>) -> Self {
        let (tx, rx) = mpsc::channel::<ParseJob>();
        let outstanding = Arc::new((Mutex::new(0usize), Condvar::new()));
        let worker_outstanding = outstanding.clone();
        let spawned = std::thread::Builder::new()
            .name("spark-parse".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    if let Some(store) = store.upgrade() {
                        run_job(&store, &job);
                    }
                    let (count, idle) = &*worker_outstanding;
                    let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
                    *count = count.saturating_sub(1);
                    idle.notify_all();
                }
            });
        if let Err(err) = spawned {
            tracing::error!("cannot start the background parser thread: {err}");
        }
        Self {
            tx: Mutex::new(tx),
            next_job: AtomicU64::new(1),
            outstanding,
        }
    }

    /// Puts `state` into `Parsing` and queues the background parse.
    pub(super) fn schedule(&self, uri: &Arc<str>, state: &mut TreeState) {
        state.clear();
        let job = self.next_job.fetch_add(1, Ordering::Relaxed);
        let cancel = Arc::new(AtomicBool::new(false));
        *state = TreeState::Parsing {
            job,
            cancel: cancel.clone(),
            pending: Vec::new(),
        };
        let (count, _) = &*self.outstanding;
        *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(ParseJob {
                uri: uri.clone(),
                job,
                cancel,
            });
        if sent.is_err() {
            tracing::error!(%uri, "background parser is gone; the document stays without a tree");
            *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
            *state = TreeState::None;
        }
    }

    /// Blocks until every queued parse has finished.
    pub(super) fn wait_idle(&self) {
        let (count, idle) = &*self.outstanding;
        let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
        while *count > 0 {
            count = idle.wait(count).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn run_job(store: &Inner, job: &ParseJob) {
    // Take the text without holding the document's lock during the parse.
    let Some((rope, language)) = store.text_for_job(&job.uri, job.job) else {
        return;
    };
    let started = std::time::Instant::now();
    let Some(tree) = syntax::parse_with_cancel(language, &rope, None, &job.cancel) else {
        tracing::debug!(uri = %job.uri, "background parse cancelled");
        return;
    };
    tracing::debug!(uri = %job.uri, bytes = rope.len_bytes(), elapsed_us = started.elapsed().as_micros() as u64, "first parse done");
    store.install_tree(&job.uri, job.job, tree);
}
