//! Open documents: a rope, a version, a language and a syntax tree per document.
//!
//! The store is the server's copy of what the editor shows. It applies `didChange` edits in any
//! position encoding, keeps the tree-sitter tree current with incremental reparses, and hands out
//! O(1) snapshots (a rope clone shares nodes; a tree clone is reference-counted) to request tasks.
//! Nothing here knows LSP types: positions arrive as [`LineCol`] plus a [`PositionEncoding`].

mod encoding;
mod history;
mod spans;
mod store;
mod timeline;
mod tree_state;

pub use encoding::{LineCol, PositionEncoding, Resolved, to_byte, to_line_col};
pub use history::RecentEdit;
pub use spans::Span;
pub use store::{ByteChange, ChangeError, ChangeOutcome, DocumentStore, Limits, TextChange};
pub use timeline::LineEdit;

use std::sync::{Arc, OnceLock};

use ropey::Rope;
use tree_sitter::Tree;

use crate::syntax::Language;
use tree_state::{PendingReparse, Reclaim};

/// Why a tracked document gets no syntax tree and no suggestions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inactive {
    /// Larger than `documents.maxFileBytes`.
    TooLarge { bytes: usize },
    /// Holds NUL bytes: not text a model should see.
    Binary,
}

/// An immutable view of one document at one version, cheap to take and to send to another task.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub uri: Arc<str>,
    pub language_id: Arc<str>,
    pub language: Option<Language>,
    pub version: i32,
    /// This text's place in the store's sequence of edits (see
    /// [`DocumentStore::changed_between`]).
    pub seq: u64,
    pub rope: Rope,
    /// The tree for exactly this text, when one is ready; see [`Snapshot::tree_or_parse`].
    pub tree: Option<Tree>,
    /// The last tree and this text's edits since, not reparsed yet.
    pending_reparse: Option<PendingReparse>,
    /// [`Snapshot::pending_reparse`]'s tree, described once when first asked for (a pure
    /// function of this immutable snapshot, so it cannot go stale).
    edited_tree: OnceLock<Option<Tree>>,
    pub inactive: Option<Inactive>,
    /// The latest edits, oldest first, typing coalesced.
    pub recent_edits: Vec<RecentEdit>,
    /// Where this snapshot's trees are freed: the store's parser thread.
    reclaim: Reclaim,
}

/// A snapshot's [`Snapshot::latest_tree`], not described yet.
pub struct LatestTree(Described);

enum Described {
    Ready(Tree),
    Pending(PendingReparse),
    None,
}

impl LatestTree {
    pub fn get(self) -> Option<Tree> {
        match self.0 {
            Described::Ready(tree) => Some(tree),
            Described::Pending(pending) => Some(pending.tree()),
            Described::None => None,
        }
    }
}

impl From<Option<Tree>> for LatestTree {
    fn from(tree: Option<Tree>) -> Self {
        LatestTree(tree.map_or(Described::None, Described::Ready))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        let trees = [
            self.tree.take(),
            self.edited_tree.take().flatten(),
            self.pending_reparse.take().map(PendingReparse::into_base),
        ];
        self.reclaim.free(trees.into_iter().flatten());
    }
}

impl Snapshot {
    /// A tree to read this text's structure from without parsing: the store's when it is
    /// current, else the last parse's with every edit since described to it (`Tree::edit`: its
    /// positions are this text's, and its root `has_changes()`; what was typed since that parse,
    /// a keystroke or a burst of them, is not parsed into it yet). `None` when the document has
    /// no tree yet (its first parse is running) or its tree was evicted.
    pub fn latest_tree(&self) -> Option<Tree> {
        self.tree.clone().or_else(|| self.edited_tree().cloned())
    }

    /// [`Snapshot::latest_tree`], described when [`LatestTree::get`] is called: describing the
    /// edits to a large file's tree copies its root's children (~5 µs on a 9,000-line file), so a
    /// request hands this to the work that runs after its model call is sent.
    pub fn latest_tree_later(&self) -> LatestTree {
        match (&self.tree, self.edited_tree.get(), &self.pending_reparse) {
            (Some(tree), _, _) | (None, Some(Some(tree)), _) => {
                LatestTree(Described::Ready(tree.clone()))
            }
            (None, None, Some(pending)) => LatestTree(Described::Pending(pending.clone())),
            _ => LatestTree(Described::None),
        }
    }

    /// This snapshot as a request sees it while typing outruns the background reparse: no
    /// current tree, `edited` as the last parse's with the edits since described to it.
    #[cfg(test)]
    pub(crate) fn awaiting_reparse(mut self, edited: Option<Tree>) -> Self {
        self.tree = None;
        self.pending_reparse = None;
        self.edited_tree = OnceLock::from(edited);
        self
    }

    fn edited_tree(&self) -> Option<&Tree> {
        self.edited_tree
            .get_or_init(|| self.pending_reparse.as_ref().map(PendingReparse::tree))
            .as_ref()
    }

    /// The tree for this snapshot's text: the store's when it is current, else an incremental
    /// reparse of the edited tree (typing outran the background reparse), else a parse from
    /// scratch (the document was evicted from the tree budget or its first parse is running).
    /// Call this from a request task, never from the keystroke path.
    pub fn tree_or_parse(&self) -> Option<Tree> {
        if self.tree.is_some() {
            return self.tree.clone();
        }
        if self.inactive.is_some() {
            return None;
        }
        crate::syntax::parse(self.language?, &self.rope, self.edited_tree())
    }
}

/// The inactive state a text of this size and content earns under `limits`.
fn classify(text_bytes: usize, has_nul: bool, limits: &Limits) -> Option<Inactive> {
    if text_bytes > limits.max_file_bytes {
        Some(Inactive::TooLarge { bytes: text_bytes })
    } else if has_nul {
        Some(Inactive::Binary)
    } else {
        None
    }
}
