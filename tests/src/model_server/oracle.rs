//! The next-edit oracle: an answer source that knows one document's true edits still to come
//! and answers next-edit questions from them as a perfect model would, so that a replay of real
//! edit histories measures the server (where it asks, what it shows, what it remembers) rather
//! than a model.
//!
//! It tells the questions apart by their markers (the issue-13 contract): the chat format's
//! editable region (`<|editable_region_start|>` … `<|editable_region_end|>`, `<|cursor|>`
//! inside), the Sweep format's open `<|file_sep|>updated/{path}` block after the
//! `current/{path}` window, the next-location question (instructions starting
//! `Next edit location.`), and the refactor-style prompt of servers that predate the contract
//! (`<region>` … `</region>` with the next-edit task). It finds the region in the current text
//! (the occurrence nearest the user's cursor), answers the region with the true next hunk
//! applied (and the hunks after it that also lie inside, as a model rewriting the whole region
//! would) when that hunk lies inside, else no edit. Every question is logged with its region,
//! verdict and token counts (the server's own estimates).

use std::ops::Range;
use std::sync::Mutex;
use std::time::Instant;

use super::state::lock;
use super::text::{Answer, CURSOR_MARKER, Limits, estimate_tokens, shape_answer};

const REGION_START: &str = "<|editable_region_start|>";
const REGION_END: &str = "<|editable_region_end|>";
const FILE_SEP: &str = "<|file_sep|>";
const SWEEP_CURRENT: &str = "<|file_sep|>current/";
const SWEEP_UPDATED: &str = "<|file_sep|>updated/";
const LOCATION: &str = "Next edit location.";
const LEGACY_START: &str = "<region>\n";
const LEGACY_END: &str = "</region>";
const LEGACY_TASK: &str = "Predict the user's next edit";

/// One true edit still to come: `start..end` of the current text becomes `new_text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hunk {
    pub start: usize,
    pub end: usize,
    pub new_text: String,
}

impl Hunk {
    pub fn within(&self, region: &Range<usize>) -> bool {
        region.start <= self.start && self.end <= region.end
    }
}

/// Which question the oracle recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuestionKind {
    Chat,
    Sweep,
    /// The refactor-style next-edit prompt of servers that predate the contract.
    Legacy,
    Location,
    /// Not a next-edit question: left to the other answer sources.
    Other,
}

/// One question the oracle was asked and what it found.
#[derive(Clone, Debug)]
pub struct Question {
    pub kind: QuestionKind,
    /// Where the region (or window) lies in the current text; `None` when it was not found.
    pub region: Option<Range<usize>>,
    /// Not found in the current text but in one the driver set before: a question that
    /// arrived after the user moved on (a call the server started earlier), not a text the
    /// server got wrong.
    pub late: bool,
    /// Whether the true next hunk lies inside the region (false when none is left).
    pub next_inside: bool,
    /// True hunks the answer made (0: no edit; a location answer counts 1).
    pub hunks: usize,
    pub prompt_tokens: u64,
    pub output_tokens: u64,
    pub at: Instant,
}

/// Texts kept after the driver moved on, to tell late questions from wrong ones.
const EARLIER_TEXTS: usize = 4;

#[derive(Debug, Default)]
struct State {
    text: String,
    /// The texts set before `text`, newest last.
    earlier: std::collections::VecDeque<String>,
    hunks: Vec<Hunk>,
    cursor: usize,
    log: Vec<Question>,
}

/// Shared between the replay driver (which keeps it current) and the model server.
#[derive(Debug, Default)]
pub struct Oracle {
    state: Mutex<State>,
}

impl Oracle {
    pub fn new() -> Self {
        Self::default()
    }

    /// The document as the server has it now, the true edits still to come (sorted,
    /// non-overlapping, at `text`'s byte offsets) and the user's cursor.
    pub fn set(&self, text: &str, hunks: &[Hunk], cursor: usize) {
        let mut state = lock(&self.state);
        if state.text != text {
            let previous = std::mem::replace(&mut state.text, text.to_owned());
            if state.earlier.len() == EARLIER_TEXTS {
                state.earlier.pop_front();
            }
            state.earlier.push_back(previous);
        }
        state.hunks = hunks.to_vec();
        state.cursor = cursor;
    }

    /// Every question so far, in arrival order.
    pub fn questions(&self) -> Vec<Question> {
        lock(&self.state).log.clone()
    }

    pub fn question_count(&self) -> usize {
        lock(&self.state).log.len()
    }

    /// The answer to `prompt` (everything the request said), shaped by `limits`; `None` for a
    /// question that is not about next edits.
    pub(crate) fn answer(&self, prompt: &str, limits: &Limits) -> Option<Answer> {
        let mut state = lock(&self.state);
        let kind = classify(prompt);
        let verdict = match kind {
            QuestionKind::Chat => between(prompt, REGION_START, REGION_END)
                .map(|shown| state.rewrite(shown))
                .map(|v| {
                    v.answer(
                        |region| format!("intent: high\n{region}"),
                        |_| "intent: no_edit".into(),
                    )
                }),
            QuestionKind::Sweep => sweep_window(prompt)
                .map(|window| state.rewrite(window))
                .map(|v| v.answer(|w| format!("{w}{FILE_SEP}"), |w| format!("{w}{FILE_SEP}"))),
            QuestionKind::Legacy => between(prompt, LEGACY_START, LEGACY_END)
                .map(|shown| state.rewrite(shown))
                .map(|v| v.answer(str::to_owned, str::to_owned)),
            QuestionKind::Location => Some(state.location(prompt)),
            QuestionKind::Other => None,
        };
        let (raw, region, next_inside, hunks, late) = match verdict {
            Some(verdict) => verdict,
            // A next-edit question whose region markers are broken: no edit.
            None if kind == QuestionKind::Chat => ("intent: no_edit".into(), None, false, 0, false),
            None => (String::new(), None, false, 0, false),
        };
        let answer = shape_answer(&raw, limits);
        state.log.push(Question {
            kind,
            region,
            late,
            next_inside,
            hunks,
            prompt_tokens: estimate_tokens(prompt),
            output_tokens: answer.output_tokens(),
            at: Instant::now(),
        });
        (kind != QuestionKind::Other).then_some(answer)
    }
}

/// The raw answer, the region found, whether the next hunk is inside, hunks answered, whether
/// the question was late (see [`Question::late`]).
type Verdict = (String, Option<Range<usize>>, bool, usize, bool);

/// A region looked up in the current text, and its rewrite when the next hunk lies inside.
struct Rewrite {
    /// The region as shown (cursor marker removed).
    shown: String,
    region: Option<Range<usize>>,
    /// The region with the true hunks applied, and how many.
    rewritten: Option<(String, usize)>,
    late: bool,
}

impl Rewrite {
    fn answer(self, edit: impl Fn(&str) -> String, no_edit: impl Fn(&str) -> String) -> Verdict {
        match self.rewritten {
            Some((text, hunks)) => (edit(&text), self.region, true, hunks, self.late),
            None => (no_edit(&self.shown), self.region, false, 0, self.late),
        }
    }
}

impl State {
    fn rewrite(&self, shown: &str) -> Rewrite {
        let shown = shown.replace(CURSOR_MARKER, "");
        let region = locate(&self.text, &shown, self.cursor);
        let rewritten = region.as_ref().and_then(|region| {
            let run: Vec<&Hunk> = self.hunks.iter().take_while(|h| h.within(region)).collect();
            if run.is_empty() {
                return None;
            }
            let mut text = self.text[region.clone()].to_owned();
            for hunk in run.iter().rev() {
                let span = hunk.start - region.start..hunk.end - region.start;
                text.replace_range(span, &hunk.new_text);
            }
            Some((text, run.len()))
        });
        let late = region.is_none()
            && self
                .earlier
                .iter()
                .any(|text| locate(text, &shown, self.cursor).is_some());
        Rewrite {
            shown,
            region,
            rewritten,
            late,
        }
    }

    /// The next hunk's line in the numbering the prompt uses (`{n}: {line}`), or `none`.
    fn location(&self, prompt: &str) -> Verdict {
        let Some(next) = self.hunks.first() else {
            return ("none".into(), None, false, 0, false);
        };
        let from_zero = prompt.starts_with("0: ") || prompt.contains("\n0: ");
        let line = self.text[..next.start.min(self.text.len())]
            .bytes()
            .filter(|b| *b == b'\n')
            .count();
        let named = if from_zero { line } else { line + 1 };
        (named.to_string(), None, false, 1, false)
    }
}

fn classify(prompt: &str) -> QuestionKind {
    if prompt.trim_start().starts_with(LOCATION) {
        QuestionKind::Location
    } else if prompt.contains(REGION_START) {
        QuestionKind::Chat
    } else if prompt.contains(SWEEP_UPDATED) {
        QuestionKind::Sweep
    } else if prompt.contains(LEGACY_START) && prompt.contains(LEGACY_TASK) {
        QuestionKind::Legacy
    } else {
        QuestionKind::Other
    }
}

/// The text between the line holding the last `start` and `end` (the first after it): the
/// instructions may name the markers before the query uses them.
fn between<'p>(prompt: &'p str, start: &str, end: &str) -> Option<&'p str> {
    let after = &prompt[prompt.rfind(start)? + start.len()..];
    let after = after
        .strip_prefix("\r\n")
        .or_else(|| after.strip_prefix('\n'))
        .unwrap_or(after);
    Some(&after[..after.find(end)?])
}

/// The `current/{path}` window right before the open `updated/{path}` block.
fn sweep_window(prompt: &str) -> Option<&str> {
    let updated = prompt.rfind(SWEEP_UPDATED)?;
    let before = &prompt[..updated];
    let current = &before[before.rfind(SWEEP_CURRENT)? + SWEEP_CURRENT.len()..];
    let (_path, window) = current.split_once('\n')?;
    Some(window)
}

/// Where `needle` occurs in `text`, nearest `cursor`; a needle whose final line break the
/// prompt added (the end of a file without one) is also tried without it.
fn locate(text: &str, needle: &str, cursor: usize) -> Option<Range<usize>> {
    let candidates = [Some(needle), needle.strip_suffix('\n')];
    candidates
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty())
        .find_map(|n| {
            text.match_indices(n)
                .map(|(at, _)| at..at + n.len())
                .min_by_key(|r| {
                    if r.contains(&cursor) || r.end == cursor {
                        0
                    } else {
                        r.start.abs_diff(cursor).min(r.end.abs_diff(cursor))
                    }
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle(text: &str, hunks: &[Hunk], cursor: usize) -> Oracle {
        let oracle = Oracle::new();
        oracle.set(text, hunks, cursor);
        oracle
    }

    /// The oracle's answer, or `(not answered)` when it leaves the question to others.
    fn ask(oracle: &Oracle, prompt: &str) -> String {
        oracle
            .answer(prompt, &Limits::default())
            .map_or_else(|| "(not answered)".into(), |a| a.text)
    }

    const TEXT: &str = "a\nb\nc\nd\ne\nf\ng\n";

    fn hunk(start: usize, end: usize, new_text: &str) -> Hunk {
        Hunk {
            start,
            end,
            new_text: new_text.into(),
        }
    }

    #[test]
    fn a_chat_region_holding_the_next_hunks_gets_them_all() {
        // `b` → `B` and `d` → `D` are inside `b..e`; `g` → `G` is not.
        let hunks = [hunk(2, 3, "B"), hunk(6, 7, "D"), hunk(12, 13, "G")];
        let oracle = oracle(TEXT, &hunks, 2);
        let prompt = format!("x\n{REGION_START}\nb<|cursor|>\nc\nd\ne\n{REGION_END}\n");
        assert_eq!(ask(&oracle, &prompt), "intent: high\nB\nc\nD\ne\n");
        let q = &oracle.questions()[0];
        assert_eq!(
            (q.kind, q.region.clone(), q.next_inside, q.hunks),
            (QuestionKind::Chat, Some(2..10), true, 2)
        );
        assert!(q.prompt_tokens > 0 && q.output_tokens > 0);
    }

    #[test]
    fn a_question_about_a_text_the_user_left_is_late_not_missing() {
        let oracle = oracle(TEXT, &[], 2);
        // The user typed on (the driver set the new text) before the question arrived.
        oracle.set(&TEXT.replace("b\nc", "bX\nc"), &[], 3);
        let stale = format!("{REGION_START}\nb<|cursor|>\nc\n{REGION_END}");
        assert_eq!(ask(&oracle, &stale), "intent: no_edit");
        let wrong = format!("{REGION_START}\nq<|cursor|>\nz\n{REGION_END}");
        assert_eq!(ask(&oracle, &wrong), "intent: no_edit");
        let found: Vec<_> = oracle
            .questions()
            .iter()
            .map(|q| (q.region.clone(), q.late))
            .collect();
        assert_eq!(found, [(None, true), (None, false)]);
    }

    #[test]
    fn a_region_without_the_next_hunk_gets_no_edit() {
        let oracle = oracle(TEXT, &[hunk(12, 13, "G")], 2);
        let prompt = format!("{REGION_START}\nb\nc<|cursor|>\n{REGION_END}");
        assert_eq!(ask(&oracle, &prompt), "intent: no_edit");
        assert!(!oracle.questions()[0].next_inside);
        // A later hunk inside does not count: the next one comes first.
        let oracle = self::oracle(TEXT, &[hunk(12, 13, "G"), hunk(2, 3, "B")], 2);
        assert_eq!(ask(&oracle, &prompt), "intent: no_edit");
    }

    #[test]
    fn a_repeated_region_is_the_one_nearest_the_cursor() {
        let text = "x\ny\nx\ny\n";
        let oracle = oracle(text, &[hunk(4, 5, "z")], 5);
        let prompt = format!("{REGION_START}\nx\ny\n{REGION_END}");
        assert_eq!(ask(&oracle, &prompt), "intent: high\nz\ny\n");
        assert_eq!(oracle.questions()[0].region, Some(4..8));
    }

    #[test]
    fn sweep_location_and_legacy_questions() {
        let oracle = oracle(TEXT, &[hunk(4, 5, "C")], 4);
        let sweep = "<|file_sep|>a.rs.diff\noriginal:\nq\nupdated:\nr\n<|file_sep|>original/a.rs\nb\nc\n<|file_sep|>current/a.rs\nb\nc\n<|file_sep|>updated/a.rs\n";
        assert_eq!(ask(&oracle, sweep), "b\nC\n<|file_sep|>");
        let stopped = oracle.answer(
            sweep,
            &Limits {
                max_tokens: None,
                stop: vec![FILE_SEP.into()],
            },
        );
        assert_eq!(stopped.map(|a| a.text).as_deref(), Some("b\nC\n"));
        let location = "Next edit location. Answer a line number.\n1: a\n2: b\n3: c\n";
        assert_eq!(ask(&oracle, location), "3");
        assert_eq!(
            ask(&oracle, &location.replace("1: a\n2: b", "0: a\n1: b")),
            "2"
        );
        let legacy = format!("{LEGACY_TASK}.\n<region>\nc<|cursor|>\nd\n</region>\n");
        assert_eq!(ask(&oracle, &legacy), "C\nd\n");
        assert_eq!(ask(&oracle, "complete this: fn main() {"), "(not answered)");
        let kinds: Vec<_> = oracle.questions().iter().map(|q| q.kind).collect();
        use QuestionKind::*;
        assert_eq!(kinds, [Sweep, Sweep, Location, Location, Legacy, Other]);
        // Nothing left to do: every question says so.
        oracle.set(TEXT, &[], 0);
        assert_eq!(ask(&oracle, location), "none");
        assert_eq!(ask(&oracle, sweep), "b\nc\n<|file_sep|>");
    }

    #[test]
    fn a_region_not_in_the_text_is_no_edit() {
        let oracle = oracle(TEXT, &[hunk(2, 3, "B")], 2);
        let prompt = format!("{REGION_START}\nnot here\n{REGION_END}");
        assert_eq!(ask(&oracle, &prompt), "intent: no_edit");
        assert_eq!(oracle.questions()[0].region, None);
        let broken = format!("{REGION_START}\nb\n");
        assert_eq!(ask(&oracle, &broken), "intent: no_edit");
    }
}
