//! The document store: open, change, close, snapshot, and the syntax-tree memory budget.
//!
//! Each document lives in a `DashMap` shard; a change locks only its own document, applies every
//! edit to the rope in O(log n), describes it to the tree with a byte-accurate `InputEdit`, and
//! reparses incrementally once per notification. Trees are kept only for the `maxTrees` most
//! recently used documents, because trees, not text, dominate a language server's memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use dashmap::DashMap;
use ropey::Rope;

use super::encoding::{LineCol, PositionEncoding, to_byte};
use super::history::History;
use super::spans::{EditSpans, Span};
use super::timeline::{LineEdit, Timeline};
use super::tree_state::{ParseQueue, TreeState, parse_snapshot};
use super::{Inactive, Snapshot, classify};
use crate::syntax::{self, Language};

/// Limits from the configuration; they can change at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: usize,
    pub max_trees: usize,
}

impl Default for Limits {
    /// The configuration's defaults, so the two never disagree.
    fn default() -> Self {
        let config = crate::config::Config::default();
        Self {
            max_file_bytes: config.documents.max_file_bytes,
            max_trees: config.syntax.max_trees,
        }
    }
}

/// One `TextDocumentContentChangeEvent`: a range in the negotiated encoding, or the whole text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextChange {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChangeError {
    #[error("change for a document that is not open")]
    UnknownDocument,
    #[error("stale change: document is at version {current}, change is for version {got}")]
    StaleVersion { current: i32, got: i32 },
}

/// What applying a `didChange` did: for logging, and the byte edits for whoever keeps offsets
/// into the text (the next-edit controller rebases suggestions through them).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// Positions that were out of range and were clamped.
    pub clamped: usize,
    /// The changes as applied, in order, each at byte offsets of the text the previous one left.
    pub changes: Vec<ByteChange>,
}

/// One applied change: `old_text` at `start_byte..end_byte` became `new_text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteChange {
    pub start_byte: usize,
    pub end_byte: usize,
    pub old_text: String,
    pub new_text: String,
}

struct Document {
    language_id: Arc<str>,
    language: Option<Language>,
    rope: Rope,
    version: i32,
    inactive: Option<Inactive>,
    tree: TreeState,
    history: History,
    /// The store's sequence number of this text, and the spans of the edits that made it.
    seq: u64,
    spans: EditSpans,
    /// A logical clock reading of the last use, for evicting trees.
    last_used: AtomicU64,
}

pub(super) struct Inner {
    docs: DashMap<Arc<str>, Document>,
    limits: RwLock<Limits>,
    clock: AtomicU64,
    parser: ParseQueue,
    /// Every document's edits in order; locked after a document's shard, never before.
    timeline: Mutex<Timeline>,
}

/// The server's documents. Cloning is cheap and shares the store.
#[derive(Clone)]
pub struct DocumentStore {
    inner: Arc<Inner>,
}

impl Default for DocumentStore {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl DocumentStore {
    pub fn new(limits: Limits) -> Self {
        // The parser thread holds a weak reference, so dropping the store ends it.
        let inner = Arc::new_cyclic(|store| Inner {
            docs: DashMap::new(),
            limits: RwLock::new(limits),
            clock: AtomicU64::new(0),
            parser: ParseQueue::start(store.clone()),
            timeline: Mutex::default(),
        });
        Self { inner }
    }

    pub fn set_limits(&self, limits: Limits) {
        *self.inner.limits.write().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    pub fn limits(&self) -> Limits {
        *self.inner.limits.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens (or re-opens) a document. The first parse runs in the background.
    pub fn open(&self, uri: &str, language_id: &str, version: i32, text: &str) {
        let uri: Arc<str> = uri.into();
        let language = Language::detect(language_id, &uri);
        let inactive = classify(text.len(), text.contains('\0'), &self.limits());
        if let Some(reason) = inactive {
            tracing::info!(%uri, ?reason, "document tracked but inactive");
        }
        let seq = self.inner.tick();
        let doc = Document {
            language_id: language_id.into(),
            language,
            rope: Rope::from_str(text),
            version,
            inactive,
            tree: TreeState::None,
            history: History::default(),
            seq,
            spans: EditSpans::new(seq),
            last_used: AtomicU64::new(seq),
        };
        if let Some(mut old) = self.inner.docs.insert(uri.clone(), doc) {
            old.tree.clear();
        }
        self.inner.timeline().seal(&uri);
        // Queued only once the document is in the map, where the parser thread looks for it.
        if let Some(mut doc) = self.inner.docs.get_mut(&uri) {
            self.inner.activate(&uri, &mut doc);
        }
    }

    pub fn close(&self, uri: &str) -> bool {
        match self.inner.docs.remove(uri) {
            Some((_, mut doc)) => {
                doc.tree.clear();
                true
            }
            None => false,
        }
    }

    /// Applies one `didChange`: its changes in order, each relative to the text the previous one
    /// left, then one incremental reparse. Versions must increase; a stale or unknown change is
    /// rejected and leaves the document untouched.
    pub fn change(
        &self,
        uri: &str,
        version: i32,
        changes: &[TextChange],
        encoding: PositionEncoding,
    ) -> Result<ChangeOutcome, ChangeError> {
        let limits = self.limits();
        let mut doc = self
            .inner
            .docs
            .get_mut(uri)
            .ok_or(ChangeError::UnknownDocument)?;
        if version <= doc.version {
            return Err(ChangeError::StaleVersion {
                current: doc.version,
                got: version,
            });
        }
        let doc = &mut *doc;
        let uri: Arc<str> = uri.into();
        let mut timeline = self.inner.timeline();
        let mut outcome = ChangeOutcome::default();
        let mut full_replace = false;
        let mut saw_nul = false;
        let mut reparse = false;
        for change in changes {
            saw_nul |= change.text.contains('\0');
            let applied = match change.range {
                None => {
                    let replaced = ByteChange {
                        start_byte: 0,
                        end_byte: doc.rope.len_bytes(),
                        old_text: doc.rope.to_string(),
                        new_text: change.text.clone(),
                    };
                    doc.rope = Rope::from_str(&change.text);
                    doc.tree.clear();
                    timeline.seal(&uri);
                    full_replace = true;
                    replaced
                }
                Some((start, end)) => {
                    let change = Change {
                        range: (start, end),
                        text: &change.text,
                        encoding,
                    };
                    let applied = apply_range(doc, version, change, (&uri, &mut timeline));
                    outcome.clamped += applied.clamped;
                    reparse |= applied.reparse;
                    applied.change
                }
            };
            doc.seq = self.inner.tick();
            let span = Span {
                start: applied.start_byte,
                old_end: applied.end_byte,
                new_end: applied.start_byte + applied.new_text.len(),
            };
            doc.spans.record(doc.seq, span);
            outcome.changes.push(applied);
        }
        drop(timeline);
        doc.version = version;
        doc.last_used.store(self.inner.tick(), Ordering::Relaxed);
        let has_nul = saw_nul || (full_replace && doc.rope.chunks().any(|c| c.contains('\0')));
        let was_binary = doc.inactive == Some(Inactive::Binary);
        doc.inactive = classify(
            doc.rope.len_bytes(),
            has_nul || (was_binary && !full_replace),
            &limits,
        );
        if doc.inactive.is_some() {
            doc.tree.clear();
        } else if reparse {
            // The tree was current: queue one incremental reparse for this burst of edits.
            self.inner.parser.queue(&uri, &mut doc.tree);
        } else if !doc.tree.wants_edits() {
            // An evicted, new or re-activated document: being edited makes it active again.
            self.inner.activate(&uri, doc);
        }
        Ok(outcome)
    }

    /// A snapshot of the document as it is now; marks it as in use.
    pub fn snapshot(&self, uri: &str) -> Option<Snapshot> {
        let entry = self.inner.docs.get(uri)?;
        let (key, doc) = entry.pair();
        doc.last_used.store(self.inner.tick(), Ordering::Relaxed);
        Some(Snapshot {
            uri: key.clone(),
            language_id: doc.language_id.clone(),
            language: doc.language,
            version: doc.version,
            seq: doc.seq,
            rope: doc.rope.clone(),
            tree: doc.tree.tree().cloned(),
            pending_reparse: doc.tree.pending_reparse(),
            edited_tree: std::sync::OnceLock::new(),
            recent_edits: doc.history.edits(),
            inactive: doc.inactive,
            reclaim: self.inner.parser.reclaim(),
        })
    }

    /// A span holding every difference between `uri`'s texts number `from` and `to` (see
    /// [`Snapshot::seq`]); `Some(None)` when they are the same text, `None` when the document
    /// no longer remembers its edits since `from` (or was reopened since).
    pub fn changed_between(&self, uri: &str, from: u64, to: u64) -> Option<Option<Span>> {
        self.inner.docs.get(uri)?.spans.between(from, to)
    }

    /// The user's edits over all documents, oldest first (see [`LineEdit`]).
    pub fn edit_timeline(&self) -> Vec<LineEdit> {
        self.inner.timeline().entries()
    }

    /// Up to `limit` active documents other than `except`, most recently used (viewed or
    /// edited) first, with their text.
    pub fn recent_documents(&self, except: &str, limit: usize) -> Vec<(Arc<str>, Rope)> {
        let mut docs: Vec<_> = (self.inner.docs.iter())
            .filter(|d| d.key().as_ref() != except && d.inactive.is_none())
            .map(|d| {
                (
                    d.last_used.load(Ordering::Relaxed),
                    d.key().clone(),
                    d.rope.clone(),
                )
            })
            .collect();
        docs.sort_unstable_by_key(|(used, _, _)| std::cmp::Reverse(*used));
        docs.into_iter()
            .take(limit)
            .map(|(_, uri, rope)| (uri, rope))
            .collect()
    }

    /// How many documents hold a syntax tree right now.
    pub fn trees_in_memory(&self) -> usize {
        self.inner
            .docs
            .iter()
            .filter(|d| d.tree.tree().is_some())
            .count()
    }

    /// Waits until every background parse has finished (tests and benchmarks).
    pub fn wait_for_parses(&self) {
        self.inner.parser.wait_idle();
    }
}

struct Applied {
    /// How many of the change's two positions were clamped.
    clamped: usize,
    /// The edit made a current tree stale.
    reparse: bool,
    change: ByteChange,
}

/// One ranged change of a `didChange`.
struct Change<'a> {
    range: (LineCol, LineCol),
    text: &'a str,
    encoding: PositionEncoding,
}

/// Applies one ranged change to the rope, describes it to the tree and records it in the
/// document's history and the store's timeline.
fn apply_range(
    doc: &mut Document,
    version: i32,
    Change {
        range: (start, end),
        text,
        encoding,
    }: Change<'_>,
    (uri, timeline): (&Arc<str>, &mut Timeline),
) -> Applied {
    let start = to_byte(&doc.rope, start, encoding);
    let end = to_byte(&doc.rope, end, encoding);
    let clamped = usize::from(start.clamped) + usize::from(end.clamped);
    // A reversed range is an editor bug; treat it as the range it spans rather than panic.
    let (start_byte, end_byte) = if start.byte <= end.byte {
        (start.byte, end.byte)
    } else {
        tracing::warn!(start = start.byte, end = end.byte, "reversed change range");
        (end.byte, start.byte)
    };
    let mut reparse = false;
    if doc.tree.wants_edits() {
        let edit = syntax::input_edit(&doc.rope, start_byte, end_byte, text);
        reparse = doc.tree.edit(&edit);
    }
    doc.history
        .record(version, &doc.rope, start_byte, end_byte, text);
    timeline.record(uri, &doc.rope, start_byte, end_byte, text);
    let change = ByteChange {
        start_byte,
        end_byte,
        old_text: doc.rope.byte_slice(start_byte..end_byte).to_string(),
        new_text: text.to_owned(),
    };
    let start_char = doc.rope.byte_to_char(start_byte);
    let end_char = doc.rope.byte_to_char(end_byte);
    doc.rope.remove(start_char..end_char);
    doc.rope.insert(start_char, text);
    Applied {
        clamped,
        reparse,
        change,
    }
}

impl Inner {
    fn timeline(&self) -> std::sync::MutexGuard<'_, Timeline> {
        self.timeline.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts the first parse of a document that should have a tree.
    fn activate(&self, uri: &Arc<str>, doc: &mut Document) {
        if doc.inactive.is_some() || doc.language.is_none() {
            return;
        }
        self.parser.schedule_first_parse(uri, &mut doc.tree);
    }

    /// Runs background job `id` for `uri` on the parser thread: takes the snapshot under the
    /// document's lock, parses without it, installs the result under it again.
    pub(super) fn run_job(&self, uri: &str, id: u64) {
        let (language, (rope, base, cancel)) = {
            let Some(mut doc) = self.docs.get_mut(uri) else {
                return;
            };
            let doc = &mut *doc;
            let Some(language) = doc.language else { return };
            let Some(job) = doc.tree.start_job(id, &doc.rope) else {
                return;
            };
            (language, job)
        };
        let tree = parse_snapshot(language, &rope, base.as_ref(), &cancel);
        {
            let Some(mut doc) = self.docs.get_mut(uri) else {
                return;
            };
            let Some(tree) = tree else {
                // Cancelled (the state was cleared) or tree-sitter gave up: no tree.
                if !cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    tracing::warn!(%uri, "parse failed; the document stays without a tree");
                    doc.tree.clear();
                }
                return;
            };
            if doc.tree.finish_job(id, tree) {
                let uri: Arc<str> = uri.into();
                self.parser.queue(&uri, &mut doc.tree);
                return;
            }
        }
        self.enforce_tree_budget(uri);
    }

    /// Drops the trees of the least recently used documents beyond `maxTrees`. Holds no
    /// document lock while it scans (a DashMap scan under a shard guard would deadlock).
    fn enforce_tree_budget(&self, keep: &str) {
        let max_trees = self
            .limits
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .max_trees;
        let mut with_trees: Vec<(u64, Arc<str>)> = self
            .docs
            .iter()
            .filter(|d| !matches!(d.tree, TreeState::None) && d.key().as_ref() != keep)
            .map(|d| (d.last_used.load(Ordering::Relaxed), d.key().clone()))
            .collect();
        let budget = max_trees.max(1) - 1; // `keep` holds one
        if with_trees.len() <= budget {
            return;
        }
        with_trees.sort_unstable();
        let excess = with_trees.len() - budget;
        for (_, uri) in with_trees.into_iter().take(excess) {
            if let Some(mut doc) = self.docs.get_mut(&uri) {
                doc.tree.clear();
                tracing::trace!(%uri, "syntax tree evicted");
            }
        }
    }
}

#[cfg(test)]
mod tests;
