//! Counters and latency samples for `spark/stats`.
//!
//! Counters are atomics; latencies go into bounded rings (the latest [`RING`] samples), so the
//! numbers describe recent behaviour and memory stays fixed however long the server runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use spark_protocol::{Percentiles, Stats as Report};

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
    samples: Mutex<Samples>,
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

    /// The counters and percentiles now, in the `spark/stats` wire shape.
    pub fn snapshot(&self) -> Report {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
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
        }
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

    /// Next-edit call start → first hunk, and → whole answer (for `spark/stats`' `nextEdit`).
    // Read by the `nextEdit` section of `spark/stats`, which its report's owner wires.
    #[allow(dead_code)]
    pub fn next_edit_latencies(&self) -> (Percentiles, Percentiles) {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        (
            samples.next_edit_first_edit_ms.percentiles(),
            samples.next_edit_whole_ms.percentiles(),
        )
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
