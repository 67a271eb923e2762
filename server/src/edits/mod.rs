//! Minimal text edits between two versions of a text.
//!
//! A model that rewrites a region (a refactor, a next-edit suggestion) answers with the whole new
//! region; the editor should see only what changed, so that the cursor, folds and undo history
//! stay put and a one-word rename reads as a one-word edit. [`diff`] computes those edits and
//! [`apply`] applies them.
//!
//! The diff goes coarse to fine: the common prefix and suffix are cut off first (most rewrites
//! change little), then the middle is diffed by lines (Myers), then every small changed hunk is
//! diffed again by words, so a renamed identifier is one edit of that identifier.
//!
//! **Architecture invariant:** no LSP types. Offsets are bytes into the old text, always on
//! character boundaries and never between the `\r` and `\n` of a CRLF, which the editor counts as
//! one line break (lines keep their `\n`, and a CRLF is one word).

mod myers;
mod tokens;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use myers::Hunk;

/// Replace `old[start_byte..end_byte]` with `new_text`. Offsets are into the OLD text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub start_byte: usize,
    pub end_byte: usize,
    pub new_text: String,
}

/// Line-level edit scripts costlier than this many inserted plus deleted lines become one
/// replacement of the changed region: the O(D²) trace would otherwise grow to megabytes.
const MAX_LINE_COST: usize = 1_024;
/// Hunks with at most this many lines on each side are refined to words.
const MAX_REFINE_LINES: usize = 3;
/// ... and at most this many bytes on each side (a minified line is one huge "line").
const MAX_REFINE_BYTES: usize = 4_096;
const MAX_WORD_COST: usize = 512;

/// The edits turning `old` into `new`: sorted, non-overlapping, separated by unchanged text, on
/// character boundaries. Empty when the texts are equal.
pub fn diff(old: &str, new: &str) -> Vec<TextEdit> {
    let prefix_bytes = common_prefix_bytes(old, new);
    let suffix_bytes = common_suffix_bytes(&old[prefix_bytes..], &new[prefix_bytes..]);
    let old_middle = &old[prefix_bytes..old.len() - suffix_bytes];
    let new_middle = &new[prefix_bytes..new.len() - suffix_bytes];
    if old_middle.is_empty() && new_middle.is_empty() {
        return Vec::new();
    }
    let mut edits = Vec::new();
    for (old_range, new_range) in line_hunks(old_middle, new_middle) {
        let old_hunk = &old_middle[old_range.clone()];
        let new_hunk = &new_middle[new_range.clone()];
        let base = prefix_bytes + old_range.start;
        refine(old_hunk, new_hunk, base, &mut edits);
    }
    edits
}

/// Applies sorted, non-overlapping `edits` (offsets into `old`) and returns the new text.
///
/// Bad input does not panic: an edit starting before the previous one's end is moved after it,
/// offsets beyond the text are clamped, and offsets inside a character move back to its start.
pub fn apply(old: &str, edits: &[TextEdit]) -> String {
    let extra: usize = edits.iter().map(|edit| edit.new_text.len()).sum();
    let mut out = String::with_capacity(old.len() + extra);
    let mut copied_to = 0;
    for edit in edits {
        let start = floor_char_boundary(old, edit.start_byte.max(copied_to));
        let start = start.max(copied_to);
        let end = floor_char_boundary(old, edit.end_byte).max(start);
        out.push_str(&old[copied_to..start]);
        out.push_str(&edit.new_text);
        copied_to = end;
    }
    out.push_str(&old[copied_to..]);
    out
}

/// The largest character boundary at or below `byte`, clamped to the text.
fn floor_char_boundary(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// Compared at once by [`common_prefix_len`] and [`common_suffix_len`] (a `memcmp` each).
const SAME_BLOCK: usize = 32;

/// How many bytes `a` and `b` have in common from the front: whole blocks compared at once,
/// then the last one byte by byte (on long texts ~10× faster than comparing every byte alone).
pub fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut same = 0;
    while same + SAME_BLOCK <= n && a[same..same + SAME_BLOCK] == b[same..same + SAME_BLOCK] {
        same += SAME_BLOCK;
    }
    same + (a[same..n].iter().zip(&b[same..n]))
        .take_while(|(x, y)| x == y)
        .count()
}

/// How many bytes `a` and `b` have in common from the back (see [`common_prefix_len`]).
pub fn common_suffix_len(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut same = 0;
    while same + SAME_BLOCK <= n
        && a[n - same - SAME_BLOCK..n - same] == b[n - same - SAME_BLOCK..n - same]
    {
        same += SAME_BLOCK;
    }
    same + (a[..n - same].iter().rev().zip(b[..n - same].iter().rev()))
        .take_while(|(x, y)| x == y)
        .count()
}

/// Bytes of the longest common prefix made of whole lines. Cutting mid-line would cut mid-word
/// too (`count` → `amount` share `ount`); the word diff inside the hunk does the fine work.
fn common_prefix_bytes(old: &str, new: &str) -> usize {
    let bytes = old
        .char_indices()
        .zip(new.chars())
        .find(|((_, a), b)| a != b)
        .map_or(old.len().min(new.len()), |((index, _), _)| index);
    old[..bytes].rfind('\n').map_or(0, |newline| newline + 1)
}

/// Bytes of the longest common suffix made of whole lines: it starts at a line start in both
/// texts, or is empty.
fn common_suffix_bytes(old: &str, new: &str) -> usize {
    let bytes = old
        .chars()
        .rev()
        .zip(new.chars().rev())
        .take_while(|(a, b)| a == b)
        .map(|(c, _)| c.len_utf8())
        .sum::<usize>();
    let at_line_start = |text: &str, bytes: usize| {
        let start = text.len() - bytes;
        start == 0 || text[..start].ends_with('\n')
    };
    if at_line_start(old, bytes) && at_line_start(new, bytes) {
        return bytes;
    }
    // The common suffix starts mid-line: keep it from its first line start on.
    let suffix = &old[old.len() - bytes..];
    suffix.find('\n').map_or(0, |newline| bytes - newline - 1)
}

/// Changed regions between two texts as byte ranges `(old, new)`, by whole lines (each line
/// keeps its `\n`, so a CRLF is never split). One region covering everything when the line
/// script is too costly.
fn line_hunks(old: &str, new: &str) -> Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    // Interning makes a line comparison one integer comparison.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let old_ids = intern(&old_lines, &mut ids);
    let new_ids = intern(&new_lines, &mut ids);
    let Some(hunks) = myers::diff(&old_ids, &new_ids, MAX_LINE_COST) else {
        return vec![(0..old.len(), 0..new.len())];
    };
    let old_starts = line_starts(&old_lines);
    let new_starts = line_starts(&new_lines);
    hunks
        .into_iter()
        .map(|Hunk { old, new }| {
            (
                old_starts[old.start]..old_starts[old.end],
                new_starts[new.start]..new_starts[new.end],
            )
        })
        .collect()
}

/// Maps each line to a small integer, equal lines to equal integers.
fn intern<'text>(lines: &[&'text str], ids: &mut HashMap<&'text str, u32>) -> Vec<u32> {
    lines
        .iter()
        .map(|line| {
            let next = ids.len() as u32;
            *ids.entry(line).or_insert(next)
        })
        .collect()
}

/// The byte offset of each line's start, plus the total length.
fn line_starts(lines: &[&str]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut byte = 0;
    starts.push(0);
    for line in lines {
        byte += line.len();
        starts.push(byte);
    }
    starts
}

/// Pushes the edits for one changed hunk starting at `base` in the old text: word by word when
/// the hunk is small, else the hunk whole.
fn refine(old: &str, new: &str, base: usize, edits: &mut Vec<TextEdit>) {
    let small = |text: &str| {
        text.len() <= MAX_REFINE_BYTES && text.split_inclusive('\n').count() <= MAX_REFINE_LINES
    };
    let whole = TextEdit {
        start_byte: base,
        end_byte: base + old.len(),
        new_text: new.to_owned(),
    };
    if !(small(old) && small(new)) {
        edits.push(whole);
        return;
    }
    let old_tokens = tokens::split(old);
    let new_tokens = tokens::split(new);
    let Some(hunks) = myers::diff(&old_tokens, &new_tokens, MAX_WORD_COST) else {
        edits.push(whole);
        return;
    };
    let old_starts = line_starts(&old_tokens);
    let new_starts = line_starts(&new_tokens);
    for Hunk { old: o, new: n } in hunks {
        edits.push(TextEdit {
            start_byte: base + old_starts[o.start],
            end_byte: base + old_starts[o.end],
            new_text: new[new_starts[n.start]..new_starts[n.end]].to_owned(),
        });
    }
}
