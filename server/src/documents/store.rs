//! The document store: open, change, close, snapshot, and the syntax-tree memory budget.
//!
//! Each document lives in a `DashMap` shard; a change locks only its own document, applies every
//! edit to the rope in O(log n), describes it to the tree with a byte-accurate `InputEdit`, and
//! reparses incrementally once per notification. Trees are kept only for the `maxTrees` most
//! recently used documents, because trees, not text, dominate a language server's memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use ropey::Rope;
use tree_sitter::Tree;

use super::encoding::{LineCol, PositionEncoding, to_byte};
use super::tree_state::{ParseQueue, TreeState};
use super::{Inactive, Snapshot, classify};
use crate::syntax::{self, Language};

/// Limits from the configuration; they can change at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: usize,
    pub max_trees: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 4 * 1024 * 1024,
            max_trees: 32,
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

/// What applying a `didChange` did, for logging.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChangeOutcome {
    /// Positions that were out of range and were clamped.
    pub clamped: usize,
}

struct Document {
    language_id: Arc<str>,
    language: Option<Language>,
    rope: Rope,
    version: i32,
    inactive: Option<Inactive>,
    tree: TreeState,
    /// A logical clock reading of the last use, for evicting trees.
    last_used: AtomicU64,
}

pub(super) struct Inner {
    docs: DashMap<Arc<str>, Document>,
    limits: RwLock<Limits>,
    clock: AtomicU64,
    parser: std::sync::OnceLock<ParseQueue>,
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
        let inner = Arc::new(Inner {
            docs: DashMap::new(),
            limits: RwLock::new(limits),
            clock: AtomicU64::new(0),
            parser: std::sync::OnceLock::new(),
        });
        let _ = inner.parser.set(ParseQueue::start(Arc::downgrade(&inner)));
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
        let mut doc = Document {
            language_id: language_id.into(),
            language,
            rope: Rope::from_str(text),
            version,
            inactive,
            tree: TreeState::None,
            last_used: AtomicU64::new(self.inner.tick()),
        };
        self.inner.activate(&uri, &mut doc);
        if let Some(mut old) = self.inner.docs.insert(uri, doc) {
            old.tree.clear();
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
        let mut outcome = ChangeOutcome::default();
        let mut full_replace = false;
        let mut saw_nul = false;
        for change in changes {
            saw_nul |= change.text.contains('\0');
            match change.range {
                None => {
                    doc.rope = Rope::from_str(&change.text);
                    doc.tree.clear();
                    full_replace = true;
                }
                Some((start, end)) => {
                    outcome.clamped += apply_range(doc, start, end, &change.text, encoding);
                }
            }
        }
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
            return Ok(outcome);
        }
        if let (TreeState::Ready(tree), Some(language)) = (&doc.tree, doc.language) {
            doc.tree = match syntax::parse(language, &doc.rope, Some(tree)) {
                Some(tree) => TreeState::Ready(tree),
                None => TreeState::None,
            };
        } else if matches!(doc.tree, TreeState::None) {
            // An evicted, new or re-activated document: being edited makes it active again.
            let uri: Arc<str> = uri.into();
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
            rope: doc.rope.clone(),
            tree: doc.tree.tree().cloned(),
            inactive: doc.inactive,
        })
    }

    pub fn len(&self) -> usize {
        self.inner.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inner.docs.is_empty()
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
        if let Some(parser) = self.inner.parser.get() {
            parser.wait_idle();
        }
    }
}

/// Applies one ranged change; returns how many of its two positions were clamped.
fn apply_range(
    doc: &mut Document,
    start: LineCol,
    end: LineCol,
    text: &str,
    encoding: PositionEncoding,
) -> usize {
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
    if doc.tree.wants_edits() {
        let edit = syntax::input_edit(&doc.rope, start_byte, end_byte, text);
        doc.tree.edit(&edit);
    }
    let start_char = doc.rope.byte_to_char(start_byte);
    let end_char = doc.rope.byte_to_char(end_byte);
    doc.rope.remove(start_char..end_char);
    doc.rope.insert(start_char, text);
    clamped
}

impl Inner {
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts the background parse of a document that should have a tree.
    fn activate(&self, uri: &Arc<str>, doc: &mut Document) {
        if doc.inactive.is_some() || doc.language.is_none() {
            return;
        }
        if let Some(parser) = self.parser.get() {
            parser.schedule(uri, &mut doc.tree);
        }
    }

    /// The text and language for a background job, if the job is still the current one.
    pub(super) fn text_for_job(&self, uri: &str, job: u64) -> Option<(Rope, Language)> {
        let doc = self.docs.get(uri)?;
        match &doc.tree {
            TreeState::Parsing { job: current, .. } if *current == job => {
                Some((doc.rope.clone(), doc.language?))
            }
            _ => None,
        }
    }

    /// Installs a finished background parse: replays the edits that arrived meanwhile, reparses
    /// incrementally, then enforces the tree budget.
    pub(super) fn install_tree(&self, uri: &str, job: u64, mut tree: Tree) {
        {
            let Some(mut doc) = self.docs.get_mut(uri) else {
                return;
            };
            let doc = &mut *doc;
            let TreeState::Parsing {
                job: current,
                pending,
                ..
            } = &doc.tree
            else {
                return;
            };
            if *current != job {
                return;
            }
            let Some(language) = doc.language else {
                return;
            };
            if !pending.is_empty() {
                for edit in pending {
                    tree.edit(edit);
                }
                let Some(current) = syntax::parse(language, &doc.rope, Some(&tree)) else {
                    doc.tree = TreeState::None;
                    return;
                };
                tree = current;
            }
            doc.tree = TreeState::Ready(tree);
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
