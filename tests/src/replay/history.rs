//! Real edit histories: the vendored commits under `tests/fixtures/next_edit/` (a file before
//! and after one commit), the line-diff hunks that turn one into the other, and the keystrokes
//! that type a hunk.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::model_server::Hunk;

/// One commit that changed one source file.
#[derive(Clone, Debug)]
pub struct Commit {
    /// The fixture directory's name, e.g. `fd-a4a4709`.
    pub name: String,
    pub repository: String,
    /// The file's path in its project.
    pub path: String,
    pub language: &'static str,
    pub before: String,
    pub after: String,
}

impl Commit {
    /// The document URI the replay opens it under.
    pub fn uri(&self) -> String {
        format!("file:///replay/{}/{}", self.name, self.path)
    }
}

/// `tests/fixtures/next_edit`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/next_edit")
}

/// Every commit `dir/commits.tsv` lists, in its order.
pub fn load_commits(dir: &Path) -> Result<Vec<Commit>> {
    let index = dir.join("commits.tsv");
    let listing =
        std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let mut commits = Vec::new();
    for line in listing
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split('\t').collect();
        let [name, repository, path, ..] = fields[..] else {
            bail!(
                "{}: a line needs directory, repository and path: {line}",
                index.display()
            );
        };
        let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
        let read = |side: &str| {
            let file = dir.join(name).join(format!("{side}.{ext}"));
            std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))
        };
        commits.push(Commit {
            name: name.to_owned(),
            repository: repository.to_owned(),
            path: path.to_owned(),
            language: language_id(ext),
            before: read("before")?,
            after: read("after")?,
        });
    }
    Ok(commits)
}

fn language_id(ext: &str) -> &'static str {
    match ext {
        "rs" => "rust",
        "py" => "python",
        "go" => "go",
        "ts" => "typescript",
        _ => "plaintext",
    }
}

/// The line-diff hunks from `before` to `after` (a longest common subsequence of lines), top
/// to bottom, at `before`'s byte offsets; two hunks always have an unchanged line between them.
pub fn hunks(before: &str, after: &str) -> Vec<Hunk> {
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let new: Vec<&str> = after.split_inclusive('\n').collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let width = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * width + j] = if a[i] == b[j] {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let line_start = |line: usize| -> usize { old[..line].iter().map(|l| l.len()).sum() };
    let mut hunks = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut open: Option<(usize, usize)> = None;
    let mut close = |open: &mut Option<(usize, usize)>, i: usize, j: usize| {
        if let Some((i0, j0)) = open.take() {
            hunks.push(Hunk {
                start: line_start(prefix + i0),
                end: line_start(prefix + i),
                new_text: b[j0..j].concat(),
            });
        }
    };
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            close(&mut open, i, j);
            i += 1;
            j += 1;
            continue;
        }
        open.get_or_insert((i, j));
        let take_old =
            j == b.len() || (i < a.len() && lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]);
        if take_old {
            i += 1;
        } else {
            j += 1;
        }
    }
    close(&mut open, i, j);
    hunks
}

/// The changes that type `hunk` into `text`, each at the text as the ones before left it: the
/// part of the old lines that differs selected and deleted at once (when there is one), then
/// the new part one character at a time.
pub fn keystrokes(text: &str, hunk: &Hunk) -> Vec<Hunk> {
    let old = &text[hunk.start..hunk.end];
    let new = hunk.new_text.as_str();
    let mut prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let room = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    let start = hunk.start + prefix;
    let mut changes = Vec::new();
    if old.len() - suffix > prefix {
        changes.push(Hunk {
            start,
            end: hunk.end - suffix,
            new_text: String::new(),
        });
    }
    let mut at = start;
    for c in new[prefix..new.len() - suffix].chars() {
        changes.push(Hunk {
            start: at,
            end: at,
            new_text: c.to_string(),
        });
        at += c.len_utf8();
    }
    changes
}

/// `text` with `change` made.
pub fn apply(text: &str, change: &Hunk) -> String {
    let mut out = text.to_owned();
    out.replace_range(change.start..change.end, &change.new_text);
    out
}
