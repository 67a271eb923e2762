//! Myers' O((N+M)·D) shortest edit script over two token sequences.
//!
//! Tokens are whatever the caller compares: interned lines, or words inside
//! a small hunk. The greedy forward pass keeps one snapshot of the frontier
//! per cost `d` (`2d + 1` entries), so memory is O(D²); the caller passes a
//! cost bound and falls back to one coarse replacement beyond it, which keeps
//! a pathological pair of inputs from costing more than a few megabytes.

use std::ops::Range;

/// One changed region: `old[old]` is replaced by `new[new]`. Either side may
/// be empty (a pure insertion or deletion), never both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Hunk {
    pub old: Range<usize>,
    pub new: Range<usize>,
}

/// The hunks turning `old` into `new`, in order, separated by at least one
/// equal token; `None` when the edit script would cost more than `max_cost`
/// insertions plus deletions.
pub(super) fn diff<T: PartialEq>(old: &[T], new: &[T], max_cost: usize) -> Option<Vec<Hunk>> {
    let snakes = snakes(old, new, max_cost)?;
    let mut hunks = Vec::new();
    let (mut x, mut y) = (0, 0);
    // Equal runs are in order; whatever lies between two of them changed.
    for (start_x, start_y, len) in
        snakes
            .into_iter()
            .chain(std::iter::once((old.len(), new.len(), 0)))
    {
        if start_x > x || start_y > y {
            hunks.push(Hunk {
                old: x..start_x,
                new: y..start_y,
            });
        }
        x = start_x + len;
        y = start_y + len;
    }
    Some(hunks)
}

/// The equal runs `(old_start, new_start, len)` of a shortest edit script,
/// in order, empty runs left out.
fn snakes<T: PartialEq>(
    old: &[T],
    new: &[T],
    max_cost: usize,
) -> Option<Vec<(usize, usize, usize)>> {
    let (n, m) = (old.len() as isize, new.len() as isize);
    let max = (n + m) as usize;
    let offset = max as isize + 1;
    // `frontier[k + offset]` is the furthest x reached on diagonal k = x - y.
    let mut frontier = vec![0isize; 2 * max + 3];
    // `trace[d][k + d]` is the frontier after step d, for k in -d..=d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=(max.min(max_cost) as isize) {
        for k in (-d..=d).step_by(2) {
            let at = |k: isize| (k + offset) as usize;
            let down = k == -d || (k != d && frontier[at(k - 1)] < frontier[at(k + 1)]);
            let mut x = if down {
                frontier[at(k + 1)]
            } else {
                frontier[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && old[x as usize] == new[y as usize] {
                x += 1;
                y += 1;
            }
            frontier[at(k)] = x;
            if x >= n && y >= m {
                trace.push(frontier[at(-d)..=at(d)].to_vec());
                return Some(backtrack(&trace, n, m));
            }
        }
        trace.push(frontier[(offset - d) as usize..=(offset + d) as usize].to_vec());
    }
    None
}

/// Walks the trace back from `(n, m)` to the origin, collecting the diagonal
/// runs. Each step repeats the forward pass's choice between a move down
/// (an insertion) and a move right (a deletion) from the previous frontier.
fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<(usize, usize, usize)> {
    let mut runs = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..trace.len() as isize).rev() {
        let previous = &trace[d as usize - 1];
        let at = |k: isize| (k + d - 1) as usize;
        let k = x - y;
        let down = k == -d || (k != d && previous[at(k - 1)] < previous[at(k + 1)]);
        let previous_k = if down { k + 1 } else { k - 1 };
        let previous_x = previous[at(previous_k)];
        let previous_y = previous_x - previous_k;
        let (start_x, start_y) = if down {
            (previous_x, previous_y + 1)
        } else {
            (previous_x + 1, previous_y)
        };
        if x > start_x {
            runs.push((start_x as usize, start_y as usize, (x - start_x) as usize));
        }
        (x, y) = (previous_x, previous_y);
    }
    // Step 0 is one run from the origin.
    if x > 0 {
        runs.push((0, 0, x as usize));
    }
    runs.reverse();
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hunks(old: &str, new: &str) -> Vec<(Range<usize>, Range<usize>)> {
        let old: Vec<char> = old.chars().collect();
        let new: Vec<char> = new.chars().collect();
        diff(&old, &new, 100)
            .unwrap_or_default()
            .into_iter()
            .map(|hunk| (hunk.old, hunk.new))
            .collect()
    }

    #[test]
    fn finds_a_shortest_script() {
        assert_eq!(hunks("abc", "abc"), vec![]);
        assert_eq!(hunks("", "ab"), vec![(0..0, 0..2)]);
        assert_eq!(hunks("ab", ""), vec![(0..2, 0..0)]);
        assert_eq!(hunks("abcd", "axcd"), vec![(1..2, 1..2)]);
        // The classic example: ABCABBA → CBABAC costs 5.
        let cost: usize = hunks("ABCABBA", "CBABAC")
            .iter()
            .map(|(old, new)| old.len() + new.len())
            .sum();
        assert_eq!(cost, 5);
    }

    #[test]
    fn gives_up_beyond_the_cost_bound() {
        let old: Vec<u32> = (0..50).collect();
        let new: Vec<u32> = (100..150).collect();
        assert!(diff(&old, &new, 10).is_none());
        assert!(diff(&old, &new, 100).is_some());
    }
}
