//! What the circuit breaker costs a request, side by side in one run.
//!
//! `cargo bench -p spark-lsp --bench breaker` prints the median, over 51 batches of 200,000, of
//! the nanoseconds per request for: admitting a request and reporting its answer on a closed
//! breaker (every request while the provider is reachable: two atomic loads), deciding to answer
//! a request at once on an open breaker (the offline path: a short lock), and, for scale, one
//! `Instant::now()`.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use spark_lsp::providers::ProviderError;
use spark_lsp::providers::breaker::{Admission, Breaker, Mode, Policy};

const BATCHES: usize = 51;
const PER_BATCH: u32 = 200_000;

fn main() {
    let closed = Breaker::new(Policy::default(), Mode::Requests);
    let open = Breaker::new(Policy::default(), Mode::Requests);
    open.report(
        Admission::Pass { epoch: 0 },
        Err(&ProviderError::Unreachable("refused".into())),
    );
    assert!(matches!(open.admit(), Admission::Reject { .. }));

    println!("{:<52} {:>10}", "per request", "median");
    let rows: [(&str, &dyn Fn()); 3] = [
        ("closed: admit + report the answer", &|| {
            let admission = black_box(&closed).admit();
            closed.report(admission, Ok(()));
        }),
        ("open: admit (answered at once, no dial)", &|| {
            black_box(black_box(&open).admit());
        }),
        ("for scale: Instant::now()", &|| {
            black_box(Instant::now());
        }),
    ];
    for (name, op) in rows {
        println!("{name:<52} {:>8.1}ns", median_ns(op));
    }
}

/// Nanoseconds per call of `op`, the median of the batches.
fn median_ns(op: &dyn Fn()) -> f64 {
    let mut batches: Vec<f64> = (0..BATCHES)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..PER_BATCH {
                op();
            }
            started.elapsed().as_nanos() as f64 / f64::from(PER_BATCH)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    batches[BATCHES / 2]
}
