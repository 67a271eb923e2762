//! The edit history of a next-edit prompt: the user's latest edits over all files as unified
//! diff hunks without context lines, newest last.
//!
//! Entries come from the document store's timeline (one per place, merged as the user typed).
//! The newest are taken until [`MAX_HUNKS`] or the token budget; whitespace-only changes, edits
//! of secret files, binary bytes and hunks that changed nothing are left out.

use crate::context::{display_path, estimate_tokens, is_secret_path};
use crate::documents::LineEdit;

/// At most this many hunks are shown.
pub const MAX_HUNKS: usize = 25;
/// Lines kept per side of one hunk.
const MAX_LINES: usize = 20;

/// One change ready for a prompt: the file, 1-based first line, and the differing lines only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub line: usize,
    pub old: Vec<String>,
    pub new: Vec<String>,
}

/// The newest `edits` (oldest first) worth showing, at most `max` of them, oldest first.
pub fn changes(edits: &[LineEdit], secret_globs: &[String], max: usize) -> Vec<Change> {
    let mut out: Vec<Change> = edits
        .iter()
        .rev()
        .filter(|edit| !is_secret_path(&edit.uri, secret_globs))
        // A binary file's bytes are not text a model should see.
        .filter(|edit| !edit.old.contains('\0') && !edit.new.contains('\0'))
        .filter_map(change)
        .take(max)
        .collect();
    out.reverse();
    out
}

/// `edit` without the lines it did not change; `None` when only whitespace changed.
fn change(edit: &LineEdit) -> Option<Change> {
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    if squeeze(&edit.old) == squeeze(&edit.new) {
        return None;
    }
    let old: Vec<&str> = edit.old.lines().collect();
    let new: Vec<&str> = edit.new.lines().collect();
    let same_head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let rest = old.len().min(new.len()) - same_head;
    let same_tail = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(rest)
        .take_while(|(a, b)| a == b)
        .count();
    let owned = |lines: &[&str]| lines.iter().map(|l| (*l).to_owned()).collect();
    Some(Change {
        path: display_path(&edit.uri),
        line: edit.line + same_head + 1,
        old: owned(&old[same_head..old.len() - same_tail]),
        new: owned(&new[same_head..new.len() - same_tail]),
    })
}

/// The changes as diff hunks (`--- path` / `+++ path` when the file changes, `@@ -l,n +l,m @@`,
/// `-old`, `+new`), newest kept first under `tokens`, written oldest first.
pub fn render(changes: &[Change], tokens: usize) -> String {
    let mut blocks: Vec<(String, &str)> = Vec::new();
    let mut left = tokens;
    for change in changes.iter().rev() {
        let block = hunk(change);
        let cost = estimate_tokens(&block) + estimate_tokens(&change.path) + 2;
        if cost > left {
            break;
        }
        left -= cost;
        blocks.push((block, &change.path));
    }
    blocks.reverse();
    let mut out = String::new();
    let mut file = None;
    for (block, path) in blocks {
        if file != Some(path) {
            out.push_str(&format!("--- {path}\n+++ {path}\n"));
            file = Some(path);
        }
        out.push_str(&block);
    }
    out
}

fn hunk(change: &Change) -> String {
    let mut out = format!(
        "@@ -{},{} +{},{} @@\n",
        change.line,
        change.old.len(),
        change.line,
        change.new.len()
    );
    for (sign, lines) in [('-', &change.old), ('+', &change.new)] {
        for line in lines.iter().take(MAX_LINES) {
            out.push(sign);
            out.push_str(line);
            out.push('\n');
        }
        if lines.len() > MAX_LINES {
            out.push(sign);
            out.push_str("...\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentStore;
    use crate::documents::{LineCol, PositionEncoding, TextChange};

    fn at(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    /// The store's timeline after `edits` of (uri, line, from col, to col, text).
    fn timeline(edits: &[(&str, u32, u32, u32, &str)]) -> Vec<LineEdit> {
        let store = DocumentStore::default();
        for uri in [
            "file:///p/a.rs",
            "file:///p/b.rs",
            "file:///p/.env",
            "file:///p/c.rs",
        ] {
            store.open(uri, "rust", 1, "let acc = 0;\nacc += 1;\nreturn acc;\n");
        }
        for (version, &(uri, line, from, to, text)) in (2..).zip(edits) {
            let change = TextChange {
                range: Some((at(line, from), at(line, to))),
                text: text.into(),
            };
            let uri = format!("file:///p/{uri}");
            store
                .change(&uri, version, &[change], PositionEncoding::Utf8)
                .ok();
        }
        store.edit_timeline()
    }

    #[test]
    fn hunks_across_files_newest_last_without_whitespace_or_secrets() {
        let edits = [
            ("a.rs", 0, 4, 7, "sum"),
            ("b.rs", 2, 0, 0, "    "),
            (".env", 0, 0, 3, "KEY"),
            ("c.rs", 0, 0, 0, "\0\0"),
            ("b.rs", 1, 0, 3, "sum"),
            ("b.rs", 0, 4, 7, "sum"),
        ];
        let changes = changes(&timeline(&edits), &[], MAX_HUNKS);
        let text = render(&changes, 1_000);
        assert_eq!(
            text,
            "--- p/a.rs\n+++ p/a.rs\n@@ -1,1 +1,1 @@\n-let acc = 0;\n+let sum = 0;\n\
             --- p/b.rs\n+++ p/b.rs\n@@ -1,2 +1,2 @@\n-let acc = 0;\n-acc += 1;\n+let sum = 0;\n+sum += 1;\n"
        );
    }

    #[test]
    fn the_budget_keeps_the_newest() {
        let edits = [("a.rs", 0, 4, 7, "sum"), ("b.rs", 2, 7, 10, "total")];
        let changes = changes(&timeline(&edits), &[], MAX_HUNKS);
        let all = render(&changes, 1_000);
        let newest = render(&changes[1..], 1_000);
        assert_eq!(render(&changes, estimate_tokens(&newest) + 5), newest);
        assert!(all.ends_with(&newest) && all.len() > newest.len());
        assert_eq!(render(&changes, 0), "");
        assert_eq!(self::changes(&timeline(&edits), &[], 1).len(), 1);
    }
}
