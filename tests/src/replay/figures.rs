//! What one replay counted, and the benchmark's figures: one line each.

use serde_json::Value;

/// Counts of one replay (or several, added up).
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub commits: usize,
    /// True hunks typed or accepted.
    pub hunks: usize,
    pub keystrokes: usize,
    /// `spark/nextEdit` requests: at the cursor after a hunk or an accept, and "stay" asks (the
    /// user stays where a rejected suggestion was shown and the editor asks again).
    pub asks: usize,
    pub stay_asks: usize,
    /// Asks the model server got no question for since the ask before (a chain's prefetch after
    /// an accept counts for the ask after it).
    pub without_model_call: usize,
    /// Cursor asks with a true next edit whose region the model was asked about.
    pub region_asks: usize,
    /// Of those, the true next edit lay inside the editable region.
    pub covered: usize,
    /// The rest (the next edit was outside), and how many of them the answer located.
    pub outside: usize,
    pub jump_hits: usize,
    /// Region questions whose region the oracle could not find in the user's text (a server
    /// out of step with the editor; should be 0).
    pub region_missing: usize,
    pub shown: usize,
    pub accepted: usize,
    /// True hunks that accepted suggestions made.
    pub hunks_accepted: usize,
    pub rejected: usize,
    pub rejected_reshown: usize,
    pub model_calls: usize,
    pub prompt_tokens: u64,
    pub output_tokens: u64,
    /// Of `prompt_tokens`, those a Chat Completions prompt cache held.
    pub cached_prompt_tokens: u64,
    /// Multi-hunk rewrites shown: time from the ask to the shown edit, and to the model's last
    /// byte, in ms.
    pub first_edit_ms: Vec<f64>,
    pub whole_answer_ms: Vec<f64>,
}

/// `part / whole` as a percentage, or `n/a`.
fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "n/a".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / whole as f64)
    }
}

/// The median of `samples` (0 when empty).
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

impl Tally {
    /// Adds `other`'s counts and samples to these (several replays as one).
    pub fn add(&mut self, other: &Tally) {
        let counts = [
            (&mut self.commits, other.commits),
            (&mut self.hunks, other.hunks),
            (&mut self.keystrokes, other.keystrokes),
            (&mut self.asks, other.asks),
            (&mut self.stay_asks, other.stay_asks),
            (&mut self.without_model_call, other.without_model_call),
            (&mut self.region_asks, other.region_asks),
            (&mut self.covered, other.covered),
            (&mut self.outside, other.outside),
            (&mut self.jump_hits, other.jump_hits),
            (&mut self.region_missing, other.region_missing),
            (&mut self.shown, other.shown),
            (&mut self.accepted, other.accepted),
            (&mut self.hunks_accepted, other.hunks_accepted),
            (&mut self.rejected, other.rejected),
            (&mut self.rejected_reshown, other.rejected_reshown),
            (&mut self.model_calls, other.model_calls),
        ];
        for (mine, theirs) in counts {
            *mine += theirs;
        }
        self.prompt_tokens += other.prompt_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_prompt_tokens += other.cached_prompt_tokens;
        self.first_edit_ms.extend_from_slice(&other.first_edit_ms);
        self.whole_answer_ms
            .extend_from_slice(&other.whole_answer_ms);
    }

    /// The benchmark's figure lines. `server_stats` is the server's `spark/stats` result (its
    /// own `nextEdit.rejectedReshown` is printed beside ours when it reports one).
    pub fn figures(&self, server_stats: &Value) -> Vec<String> {
        let tokens = self.prompt_tokens + self.output_tokens;
        let per_shown = if self.shown == 0 {
            "n/a".to_owned()
        } else {
            format!("{:.0}", tokens as f64 / self.shown as f64)
        };
        let (first, whole) = (median(&self.first_edit_ms), median(&self.whole_answer_ms));
        let ratio = if first > 0.0 {
            format!("{:.2}x", whole / first)
        } else {
            "n/a".into()
        };
        let server_reshown = &server_stats["nextEdit"]["rejectedReshown"];
        let server_reshown = if server_reshown.is_null() {
            "not reported".to_owned()
        } else {
            server_reshown.to_string()
        };
        let mut lines = vec![
            format!(
                "window coverage: {} ({} of {} next edits inside the editable region; {} regions not found)",
                percent(self.covered, self.region_asks),
                self.covered,
                self.region_asks,
                self.region_missing,
            ),
            format!(
                "jump hit rate: {} ({} of {} next edits outside the region located)",
                percent(self.jump_hits, self.outside),
                self.jump_hits,
                self.outside,
            ),
            format!(
                "first shown edit vs whole answer (multi-hunk rewrites, n={}): {first:.0} ms vs {whole:.0} ms median, whole/first {ratio}",
                self.first_edit_ms.len(),
            ),
            format!(
                "model tokens per shown edit: {per_shown} ({} prompt + {} output tokens, {} model calls, {} shown)",
                self.prompt_tokens, self.output_tokens, self.model_calls, self.shown,
            ),
            format!(
                "prompt tokens a Chat Completions prompt cache held: {} of {} ({})",
                self.cached_prompt_tokens,
                self.prompt_tokens,
                percent(
                    self.cached_prompt_tokens as usize,
                    self.prompt_tokens as usize
                ),
            ),
            format!(
                "requests without a model call: {} of {} ({})",
                self.without_model_call,
                self.asks,
                percent(self.without_model_call, self.asks),
            ),
            format!(
                "rejected re-shown: {} (server's count: {server_reshown})",
                self.rejected_reshown
            ),
            format!(
                "shown: {}, accepted: {} ({}; {} of {} true hunks), rejected: {}",
                self.shown,
                self.accepted,
                percent(self.accepted, self.shown),
                self.hunks_accepted,
                self.hunks,
                self.rejected,
            ),
        ];
        // The server's own view, once it reports one (the last replay's server).
        for (name, value) in [
            ("server's next-edit stats", &server_stats["nextEdit"]),
            (
                "server's next-edit signals",
                &server_stats["kinds"]["nextEdit"],
            ),
        ] {
            if !value.is_null() {
                lines.push(format!("{name}: {value}"));
            }
        }
        lines
    }
}
