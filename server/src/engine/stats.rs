//! Counters and latency samples for `spark/stats`.
//!
//! Counters are atomics; latencies go into bounded rings (the latest [`RING`] samples), so the
//! numbers describe recent behaviour and memory stays fixed however long the server runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use spark_protocol::{
    KindStats, KindsStats, NextEditStats, Percentiles, Stats as Report, SuggestionKind,
};

/// Samples kept per latency.
const RING: usize = 1024;

#[derive(Default)]
pub struct Stats {
    requests: AtomicU64,
    model_calls: AtomicU64,
    cache_hits: AtomicU64,
    cache_misses: AtomicU64,
    superseded: AtomicU64,
    cancelled: AtomicU64,
    speculations: AtomicU64,
    accepts: AtomicU64,
    errors: AtomicU64,
    inline: Outcomes,
    next_edit: Outcomes,
    next_edits: NextEdits,
    samples: Mutex<Samples>,
}

/// What became of the suggestions of one kind.
#[derive(Default)]
struct Outcomes {
    shown: AtomicU64,
    accepted: AtomicU64,
    partially_accepted: AtomicU64,
    rejected: AtomicU64,
}

impl Outcomes {
    fn report(&self) -> KindStats {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (shown, accepted) = (load(&self.shown), load(&self.accepted));
        KindStats {
            shown,
            accepted,
            partially_accepted: load(&self.partially_accepted),
            rejected: load(&self.rejected),
            acceptance_rate: (shown > 0).then(|| accepted as f64 / shown as f64),
        }
    }
}

/// Next-edit request counters.
#[derive(Default)]
struct NextEdits {
    requests: AtomicU64,
    model_calls: AtomicU64,
    no_edit: AtomicU64,
    suppressed: AtomicU64,
    rejected_reshown: AtomicU64,
    jumps: AtomicU64,
}

#[derive(Default)]
struct Samples {
    first_token_ms: Ring,
    model_total_ms: Ring,
    answer_ms: Ring,
    /// Next-edit call start → its first hunk settled, and → its whole answer read.
    next_edit_first_edit_ms: Ring,
    next_edit_whole_ms: Ring,
}

#[derive(Default)]
struct Ring {
    values: Vec<f64>,
    next: usize,
}

impl Ring {
    fn push(&mut self, value: f64) {
        if self.values.len() < RING {
            self.values.push(value);
        } else {
            self.values[self.next] = value;
        }
        self.next = (self.next + 1) % RING;
    }

    fn percentiles(&self) -> Percentiles {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let last = sorted.len().checked_sub(1)?;
            sorted.get((last as f64 * q).round() as usize).copied()
        };
        Percentiles {
            samples: sorted.len(),
            p50: at(0.5),
            p95: at(0.95),
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    pub fn request(&self) {
        bump(&self.requests);
    }
    pub fn model_call(&self, speculative: bool) {
        bump(&self.model_calls);
        if speculative {
            bump(&self.speculations);
        }
    }
    pub fn hit(&self) {
        bump(&self.cache_hits);
    }
    pub fn miss(&self) {
        bump(&self.cache_misses);
    }
    pub fn superseded(&self) {
        bump(&self.superseded);
    }
    pub fn cancelled(&self) {
        bump(&self.cancelled);
    }
    pub fn accepted(&self) {
        bump(&self.accepts);
    }
    pub fn error(&self) {
        bump(&self.errors);
    }

    pub fn model_call_ended(&self, first_token: Option<Duration>, total: Duration) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(first) = first_token {
            samples.first_token_ms.push(ms(first));
        }
        samples.model_total_ms.push(ms(total));
    }

    pub fn answered(&self, latency: Duration) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.answer_ms.push(ms(latency));
    }

    fn outcomes(&self, kind: SuggestionKind) -> &Outcomes {
        match kind {
            SuggestionKind::Inline => &self.inline,
            SuggestionKind::NextEdit => &self.next_edit,
        }
    }

    /// A suggestion of `kind` is on screen.
    pub fn shown(&self, kind: SuggestionKind) {
        bump(&self.outcomes(kind).shown);
    }

    /// A suggestion of `kind` was accepted, in part when `partial`.
    pub fn kind_accepted(&self, kind: SuggestionKind, partial: bool) {
        let outcomes = self.outcomes(kind);
        bump(&outcomes.accepted);
        if partial {
            bump(&outcomes.partially_accepted);
        }
    }

    pub fn kind_rejected(&self, kind: SuggestionKind) {
        bump(&self.outcomes(kind).rejected);
    }

    pub fn next_edit_request(&self) {
        bump(&self.next_edits.requests);
    }

    pub fn next_edit_model_call(&self) {
        bump(&self.next_edits.model_calls);
    }

    /// A next-edit model call answered that there is nothing to do.
    pub fn next_edit_no_edit(&self) {
        bump(&self.next_edits.no_edit);
    }

    /// A next-edit call settled its first hunk this long after it started.
    pub fn next_edit_first_edit(&self, latency: Duration) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.next_edit_first_edit_ms.push(ms(latency));
    }

    /// A next-edit call read its whole answer this long after it started.
    pub fn next_edit_whole(&self, latency: Duration) {
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples.next_edit_whole_ms.push(ms(latency));
    }

    /// The controller held a suggestion back (or a request in a cooldown).
    pub fn next_edit_suppressed(&self) {
        bump(&self.next_edits.suppressed);
    }

    /// A suggestion was shown again while its rejection still applied.
    pub fn rejected_reshown(&self) {
        bump(&self.next_edits.rejected_reshown);
    }

    /// A suggestion was found away from the asked position.
    pub fn next_edit_jump(&self) {
        bump(&self.next_edits.jumps);
    }

    /// The counters and percentiles now, in the `spark/stats` wire shape.
    pub fn snapshot(&self) -> Report {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let next = &self.next_edits;
        Report {
            requests: load(&self.requests),
            model_calls: load(&self.model_calls),
            cache_hits: load(&self.cache_hits),
            cache_misses: load(&self.cache_misses),
            superseded: load(&self.superseded),
            cancelled: load(&self.cancelled),
            speculations: load(&self.speculations),
            accepts: load(&self.accepts),
            errors: load(&self.errors),
            first_token_ms: samples.first_token_ms.percentiles(),
            model_total_ms: samples.model_total_ms.percentiles(),
            answer_ms: samples.answer_ms.percentiles(),
            kinds: KindsStats {
                inline: self.inline.report(),
                next_edit: self.next_edit.report(),
            },
            next_edit: NextEditStats {
                requests: load(&next.requests),
                model_calls: load(&next.model_calls),
                no_edit: load(&next.no_edit),
                suppressed: load(&next.suppressed),
                rejected_reshown: load(&next.rejected_reshown),
                jumps: load(&next.jumps),
                first_edit_ms: samples.next_edit_first_edit_ms.percentiles(),
                whole_answer_ms: samples.next_edit_whole_ms.percentiles(),
            },
        }
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_latest_samples_and_reports_percentiles() {
        let mut ring = Ring::default();
        assert_eq!(ring.percentiles().p50, None);
        for value in 0..(RING + 100) {
            ring.push(value as f64);
        }
        let p = ring.percentiles();
        assert_eq!(p.samples, RING);
        assert_eq!(
            p.p50,
            Some(612.0),
            "the middle of the samples kept, 100..1124"
        );
        assert!(p.p95.is_some_and(|p95| p95 > 1000.0));
    }
}
