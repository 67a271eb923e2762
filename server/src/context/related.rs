//! Snippets of other open documents that look like the code around the cursor: the file the
//! user just copied a pattern from, the type being used, the test of the function being written.
//!
//! Similarity is a Jaccard index over identifier sets: the identifiers around the cursor
//! against those of every window of [`WINDOW_LINES`] lines in each related document. Windows
//! slide one line at a time with counts updated incrementally, so a document costs one pass
//! over its identifiers however many windows it has.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use ropey::Rope;

use super::RelatedDoc;
use super::secrets::{display_path, is_secret_path};
use super::tokens::{bytes_for_tokens, estimate_tokens};
use super::window::text;

/// Lines per candidate snippet.
const WINDOW_LINES: usize = 30;
/// Lines shown around the part of a window that shares identifiers with the cursor's.
const CONTEXT_LINES: usize = 4;
/// The text the snippets are compared with: lines before and after the cursor's line.
const QUERY_LINES_BEFORE: usize = 20;
const QUERY_LINES_AFTER: usize = 10;
/// Only the first lines of a long related document are compared.
const MAX_SCAN_LINES: usize = 5_000;
/// Bytes compared across all related documents, in the caller's order (most relevant first):
/// scanning costs about 3 ns a byte, so this keeps related snippets under about 0.4 ms.
const MAX_SCAN_BYTES: usize = 128 * 1024;
/// How many snippets a prompt holds at most.
const MAX_SNIPPETS: usize = 3;
/// Below this similarity a snippet is noise.
const MIN_SCORE: f32 = 0.05;

/// Keywords that appear everywhere and would make every window look alike.
const STOP_WORDS: &[&[u8]] = &[
    b"fn",
    b"let",
    b"mut",
    b"pub",
    b"self",
    b"Self",
    b"return",
    b"if",
    b"else",
    b"for",
    b"in",
    b"while",
    b"match",
    b"use",
    b"mod",
    b"impl",
    b"struct",
    b"enum",
    b"def",
    b"class",
    b"import",
    b"from",
    b"as",
    b"const",
    b"var",
    b"function",
    b"new",
    b"this",
    b"true",
    b"false",
    b"None",
    b"null",
    b"void",
    b"int",
    b"str",
    b"async",
    b"await",
    b"and",
    b"or",
    b"not",
    b"is",
    b"the",
    b"export",
    b"type",
    b"interface",
    b"string",
    b"number",
];

/// One snippet chosen for the prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct Snippet {
    pub path: String,
    /// The snippet's first line in its document, 1-based.
    pub first_line: usize,
    pub text: String,
    /// Jaccard similarity to the text around the cursor, 0 to 1.
    pub score: f32,
}

/// The identifier hashes are already hashes: the map uses them as they are.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdBuild = BuildHasherDefault<IdHasher>;

/// The best snippets of `related` for a cursor at `cursor` in `rope`, most similar first, that
/// fit in `tokens`. Documents at `current_path` or at a secret path are skipped.
pub(super) fn snippets(
    rope: &Rope,
    cursor: usize,
    related: &[RelatedDoc],
    current_path: &str,
    secret_globs: &[String],
    tokens: usize,
) -> Vec<Snippet> {
    if related.is_empty() || tokens == 0 {
        return Vec::new();
    }
    let line = rope.byte_to_line(cursor);
    let first = line.saturating_sub(QUERY_LINES_BEFORE);
    let last = (line + QUERY_LINES_AFTER).min(rope.len_lines());
    let query: HashSet<u64, IdBuild> = line_ids(rope, first, last).ids.into_iter().collect();
    if query.is_empty() {
        return Vec::new();
    }
    let mut scan_left = MAX_SCAN_BYTES;
    let mut found: Vec<Snippet> = related
        .iter()
        .filter(|doc| !is_secret_path(&doc.path, secret_globs))
        .filter_map(|doc| {
            let path = display_path(&doc.path);
            if path == current_path || scan_left == 0 {
                return None;
            }
            let rope = &doc.rope;
            let lines = rope
                .len_lines()
                .min(MAX_SCAN_LINES)
                .min(rope.byte_to_line(scan_left.min(rope.len_bytes())) + 1);
            scan_left = scan_left.saturating_sub(rope.line_to_byte(lines));
            best_window(path, rope, lines, &query, tokens / 2)
        })
        .filter(|snippet| snippet.score >= MIN_SCORE)
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut left = tokens;
    found.retain(|snippet| {
        let cost = estimate_tokens(&snippet.text) + estimate_tokens(&snippet.path) + 2;
        let keep = cost <= left;
        left -= if keep { cost } else { 0 };
        keep
    });
    found.truncate(MAX_SNIPPETS);
    found
}

/// The window of `rope`'s first `scan_lines` most similar to `query`, cut to `max_tokens`.
fn best_window(
    path: String,
    rope: &Rope,
    scan_lines: usize,
    query: &HashSet<u64, IdBuild>,
    max_tokens: usize,
) -> Option<Snippet> {
    let lines = line_ids(rope, 0, scan_lines);
    // Interned once: the window's counts are then plain array updates.
    let mut dense: HashMap<u64, u32, IdBuild> = HashMap::default();
    let mut in_query: Vec<bool> = Vec::new();
    let ids: Vec<u32> = lines
        .ids
        .iter()
        .map(|id| {
            *dense.entry(*id).or_insert_with(|| {
                in_query.push(query.contains(id));
                (in_query.len() - 1) as u32
            })
        })
        .collect();
    let line = |l: usize| &ids[lines.starts[l] as usize..lines.starts[l + 1] as usize];
    let line_count = lines.starts.len() - 1;
    let size = WINDOW_LINES.min(line_count);
    let mut counts = vec![0u32; in_query.len()];
    let (mut distinct, mut shared) = (0usize, 0usize);
    let mut best: Option<(f32, usize)> = None;
    for l in 0..line_count {
        for &id in line(l) {
            let count = &mut counts[id as usize];
            *count += 1;
            if *count == 1 {
                distinct += 1;
                shared += usize::from(in_query[id as usize]);
            }
        }
        if let Some(gone) = l.checked_sub(size) {
            for &id in line(gone) {
                let count = &mut counts[id as usize];
                *count -= 1;
                if *count == 0 {
                    distinct -= 1;
                    shared -= usize::from(in_query[id as usize]);
                }
            }
        }
        if l + 1 >= size && size > 0 {
            let union = distinct + query.len() - shared;
            let score = shared as f32 / union.max(1) as f32;
            if best.is_none_or(|(s, _)| score > s) {
                best = Some((score, l + 1 - size));
            }
        }
    }
    let (score, first) = best?;
    // Shown: the lines that share identifiers with the cursor's, and a few around them.
    let shares = |l: &usize| line(*l).iter().any(|&id| in_query[id as usize]);
    let core_first = (first..first + size).find(shares)?;
    let core_last = (first..first + size).rev().find(shares)?;
    let first = core_first.saturating_sub(CONTEXT_LINES);
    let last = (core_last + 1 + CONTEXT_LINES)
        .min(line_count)
        .min(first + WINDOW_LINES);
    let (text, skipped) = snippet_text(rope, first, last, max_tokens);
    (!text.is_empty()).then(|| Snippet {
        path,
        first_line: first + skipped + 1,
        text,
        score,
    })
}

/// Lines `first..last` of `rope` cut to whole lines within `max_tokens`, without leading and
/// trailing blank lines; and how many blank lines were dropped at the start.
fn snippet_text(rope: &Rope, first: usize, last: usize, max_tokens: usize) -> (String, usize) {
    let start = rope.line_to_byte(first);
    let max_end = start + bytes_for_tokens(max_tokens);
    let mut end = start;
    for line in first..last {
        let next = rope.line_to_byte(line + 1);
        if next > max_end {
            break;
        }
        end = next;
    }
    let snippet = text(rope, start..end);
    let trimmed = snippet.trim_end();
    let first_text = trimmed
        .find(|c: char| !c.is_whitespace())
        .unwrap_or(trimmed.len());
    let line_start = trimmed[..first_text].rfind('\n').map_or(0, |nl| nl + 1);
    let skipped = trimmed[..line_start].matches('\n').count();
    (trimmed[line_start..].to_owned(), skipped)
}

/// The identifier hashes of lines `first..last`, each line's deduplicated, in one flat list:
/// line `l`'s are `ids[starts[l]..starts[l + 1]]`.
struct LineIds {
    ids: Vec<u64>,
    starts: Vec<u32>,
}

/// Reads lines `first..last` chunk by chunk. Line breaks are ropey's (`\n`, `\r\n`, lone `\r`),
/// so line numbers agree with the rope's.
fn line_ids(rope: &Rope, first: usize, last: usize) -> LineIds {
    let mut out = LineIds {
        ids: Vec::new(),
        starts: vec![0],
    };
    if first >= last {
        return out;
    }
    let range = rope.line_to_byte(first)..rope.line_to_byte(last);
    let mut word = Word::default();
    let mut after_cr = false;
    let end_line = |out: &mut LineIds, word: &mut Word| {
        word.finish(&mut out.ids);
        let start = *out.starts.last().unwrap_or(&0) as usize;
        out.ids[start..].sort_unstable();
        let mut kept = start;
        for i in start..out.ids.len() {
            if i == start || out.ids[i] != out.ids[kept - 1] {
                out.ids[kept] = out.ids[i];
                kept += 1;
            }
        }
        out.ids.truncate(kept);
        out.starts.push(kept as u32);
    };
    for chunk in rope.byte_slice(range).chunks() {
        for &b in chunk.as_bytes() {
            match BYTE_CLASS[usize::from(b)] {
                IDENT => word.push(b),
                OTHER => word.finish(&mut out.ids),
                // `\n` after `\r` ends nothing: the `\r` ended the line.
                _ if b == b'\n' && after_cr => {}
                _ => end_line(&mut out, &mut word),
            }
            after_cr = b == b'\r';
        }
    }
    // The last line has no break when it is the document's last.
    if out.starts.len() - 1 < last - first {
        end_line(&mut out, &mut word);
    }
    out
}

const OTHER: u8 = 0;
const IDENT: u8 = 1;
const BREAK: u8 = 2;

/// What each byte is to the tokenizer: identifier bytes (ASCII letters, digits, `_`, and any
/// byte of a non-ASCII character), line breaks, or anything else.
const BYTE_CLASS: [u8; 256] = {
    let mut table = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80 {
            table[b] = IDENT;
        } else if byte == b'\n' || byte == b'\r' {
            table[b] = BREAK;
        }
        b += 1;
    }
    table
};

/// An identifier being read, hashed as it goes (FNV-1a), so it can span rope chunks.
#[derive(Default)]
struct Word {
    hash: u64,
    len: usize,
    starts_with_digit: bool,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl Word {
    fn push(&mut self, b: u8) {
        if self.len == 0 {
            self.hash = FNV_OFFSET;
            self.starts_with_digit = b.is_ascii_digit();
        }
        self.hash = (self.hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        self.len += 1;
    }

    fn finish(&mut self, ids: &mut Vec<u64>) {
        let word = std::mem::take(self);
        if word.len >= 2 && !word.starts_with_digit && !is_stop_word(word.hash) {
            ids.push(word.hash);
        }
    }
}

const fn fnv(bytes: &[u8]) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

fn is_stop_word(hash: u64) -> bool {
    // Most identifiers fail the one-load filter; only the rest are compared.
    STOP_FILTER[(hash & 0xff) as usize] && STOP_HASHES.contains(&hash)
}

/// Which low bytes of a hash belong to some stop word.
const STOP_FILTER: [bool; 256] = {
    let mut filter = [false; 256];
    let mut i = 0;
    while i < STOP_HASHES.len() {
        filter[(STOP_HASHES[i] & 0xff) as usize] = true;
        i += 1;
    }
    filter
};

/// [`STOP_WORDS`] hashed once, at compile time.
const STOP_HASHES: [u64; STOP_WORDS.len()] = {
    let mut out = [0; STOP_WORDS.len()];
    let mut i = 0;
    while i < STOP_WORDS.len() {
        out[i] = fnv(STOP_WORDS[i]);
        i += 1;
    }
    out
};
