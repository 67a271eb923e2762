//! The suggestion-quality benchmark: does post-processing leave a correct answer exactly as the
//! model gave it, and repair the ways models get it wrong?
//!
//! Holes are cut from real source files in seven languages (`tests/fixtures/quality/`, each
//! with its origin and licence). For each hole the reference model server answers the truth
//! (the text cut out) and the truth dressed in a model's usual mistakes; the answer goes
//! through the real server (in process, real JSON-RPC framing, the real provider over loopback
//! HTTP, the real engine and post-processing), for both prompt families (chat and FIM) and
//! both delivery paths (the inline item and the completion item's `textEdit`). The editor's
//! side splices the item into the document by its range and compares the result with the
//! original file byte for byte. Deterministic: no timing anywhere.
//!
//! `cargo test -p spark-tests --test quality -- --nocapture` prints the tables (the README's);
//! `SPARK_QUALITY_HOLES=N` cuts up to N holes of each kind per file (default 1);
//! `SPARK_QUALITY_MISSES=N` lists up to N answers that did not come out exact (default 40).

// The tables are the benchmark's output (the test harness captures them unless `--nocapture`).
#![allow(clippy::print_stdout)]

mod holes;
mod report;
mod run;
mod variants;

use holes::Kind;
use report::{Case, Judge};
use run::{Bench, Delivery, Family};
use variants::Variant;

/// Holes of each kind per file in CI: 58 holes, ~1,800 requests, ~20 s of CPU in a debug build.
const DEFAULT_HOLES_PER_KIND: usize = 1;
/// Every way of getting it wrong must still come out exact this often.
const MIN_EXACT_PCT: f64 = 95.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggestions_never_damage_a_correct_answer() -> anyhow::Result<()> {
    let per_kind = std::env::var("SPARK_QUALITY_HOLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_HOLES_PER_KIND);
    let fixtures = holes::fixtures()?;
    let holes = holes::cut(&fixtures, per_kind);
    for hole in &holes {
        assert_eq!(
            hole.original().len(),
            hole.before.len() + hole.truth.len() + hole.after.len()
        );
    }
    assert_eq!(
        report::kinds_present(&holes),
        Kind::ALL,
        "every hole kind is cut"
    );
    // The two prompt families run side by side, each with its own server and model server.
    let (chat, fim) = tokio::join!(
        run_family(Family::Chat, &fixtures, &holes),
        run_family(Family::Fim, &fixtures, &holes),
    );
    let mut judge = Judge::new(&fixtures, &holes);
    let mut cases = Vec::new();
    for (family, answers) in [(Family::Chat, chat?), (Family::Fim, fim?)] {
        for answer in answers {
            let inserted = answer
                .document
                .as_deref()
                .map(|d| inserted_text(&holes[answer.hole], d));
            cases.push(Case {
                hole: answer.hole,
                variant: answer.variant,
                family,
                delivery: answer.delivery,
                outcome: judge.judge(answer.hole, answer.document.as_deref()),
                raw_exact: answer.raw_exact,
                inserted,
            });
        }
    }
    println!("{} holes from {} files\n", holes.len(), fixtures.len());
    println!("{}", report::tables(&cases, &holes));
    let misses = std::env::var("SPARK_QUALITY_MISSES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    println!("{}", report::misses(&cases, &holes, &fixtures, misses));
    report::check(&cases, MIN_EXACT_PCT).map_err(|failures| anyhow::anyhow!("{failures}"))
}

/// One answer through the server: the document the editor ends up with (`None`: nothing was
/// suggested).
struct Answer {
    hole: usize,
    variant: Variant,
    delivery: Delivery,
    /// Whether inserting the model's answer as given would have been exact.
    raw_exact: bool,
    document: Option<String>,
}

/// Every hole and answer variant through one prompt family's server, on both delivery paths.
async fn run_family(
    family: Family,
    fixtures: &[holes::Fixture],
    holes: &[holes::Hole],
) -> anyhow::Result<Vec<Answer>> {
    let mut bench = Bench::start(family).await?;
    let mut answers = Vec::new();
    for (index, hole) in holes.iter().enumerate() {
        let fixture = &fixtures[hole.fixture];
        for variant in Variant::ALL {
            let chat = family == Family::Chat;
            let Some(raw) = variants::answer(hole, variant, chat, fixture.fence_tag) else {
                continue;
            };
            let raw_exact = raw == hole.truth;
            for delivery in Delivery::ALL {
                answers.push(Answer {
                    hole: index,
                    variant,
                    delivery,
                    raw_exact,
                    document: bench.suggest(fixture, hole, &raw, delivery).await?,
                });
            }
        }
    }
    Ok(answers)
}

/// What the editor inserted at the hole, read back from the document.
fn inserted_text(hole: &holes::Hole, document: &str) -> String {
    document
        .strip_prefix(hole.before.as_str())
        .and_then(|rest| rest.strip_suffix(hole.after.as_str()))
        .map_or_else(
            || format!("<edit away from the cursor: {document:?}>"),
            str::to_owned,
        )
}
