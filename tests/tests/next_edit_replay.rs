//! The next-edit replay benchmark's parts checked fast: the vendored commits turn into hunks and
//! keystrokes that rebuild them, and the simulated user drives the real binary with the oracle
//! playing the model (asks, shows, accepts, rejects, and the oracle finds every region the
//! server asks about). The benchmark itself (`cargo bench -p spark-tests --bench next_edit`)
//! is not run here; no timing is asserted.

use proptest::prelude::*;
use serde_json::json;
use spark_tests::model_server::CostModel;
use spark_tests::replay::history::{self, Commit};
use spark_tests::replay::{Options, Replayer, fixtures_dir, load_commits};

/// Types `before` into `after` hunk by hunk, top to bottom, keystroke by keystroke.
fn type_commit(before: &str, after: &str) -> (String, usize) {
    let mut text = before.to_owned();
    let mut hunks = 0;
    while let Some(next) = history::hunks(&text, after).into_iter().next() {
        for key in history::keystrokes(&text, &next) {
            text = history::apply(&text, &key);
        }
        hunks += 1;
        assert!(hunks <= 1_000, "typing does not converge");
    }
    (text, hunks)
}

#[test]
fn every_vendored_commit_types_into_its_after_file() -> anyhow::Result<()> {
    let commits = load_commits(&fixtures_dir())?;
    assert!(commits.len() >= 20, "{} commits", commits.len());
    for commit in &commits {
        let hunks = history::hunks(&commit.before, &commit.after);
        assert!(
            (2..=8).contains(&hunks.len()),
            "{}: {} hunks",
            commit.name,
            hunks.len()
        );
        let (typed, typed_hunks) = type_commit(&commit.before, &commit.after);
        assert_eq!(typed, commit.after, "{}", commit.name);
        assert_eq!(
            typed_hunks,
            hunks.len(),
            "{}: one hunk at a time",
            commit.name
        );
        assert_ne!(commit.language, "plaintext", "{}", commit.name);
    }
    Ok(())
}

fn lines() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a\n", "b\n", "c\n", "dé\n", "\n", "e"]),
        0..20,
    )
    .prop_map(|lines| lines.concat())
}

proptest! {
    #[test]
    fn hunks_rebuild_after_and_never_touch(before in lines(), after in lines()) {
        let hunks = history::hunks(&before, &after);
        let mut text = before.clone();
        for hunk in hunks.iter().rev() {
            text = history::apply(&text, hunk);
        }
        prop_assert_eq!(&text, &after);
        for pair in hunks.windows(2) {
            prop_assert!(pair[0].end < pair[1].start, "an unchanged line between hunks: {:?}", hunks);
        }
        prop_assert_eq!(type_commit(&before, &after).0, after);
    }
}

fn commit(name: &str) -> anyhow::Result<Commit> {
    load_commits(&fixtures_dir())?
        .into_iter()
        .find(|c| c.name == name)
        .ok_or_else(|| anyhow::anyhow!("no fixture {name}"))
}

fn options() -> Options {
    Options {
        cost: CostModel::instant(),
        model: "m".into(),
        next_edit: json!({"eagerness": "high"}),
    }
}

#[tokio::test]
async fn the_simulated_user_replays_real_commits_through_the_binary() -> anyhow::Result<()> {
    let commits = [commit("uuid-cb32006")?, commit("uuid-8748089")?];
    let mut replayer = Replayer::start(&options()).await?;
    for commit in &commits {
        // Fails unless the user's text ends as the commit's.
        replayer.replay(commit).await?;
    }
    let (tally, _stats) = replayer.finish().await?;
    assert_eq!(tally.commits, 2);
    assert!(tally.hunks >= 4 && tally.keystrokes > 0, "{tally:?}");
    assert!(tally.asks > 0 && tally.model_calls > 0, "{tally:?}");
    assert!(
        tally.region_asks > 0,
        "the oracle saw the server's regions: {tally:?}"
    );
    assert_eq!(
        tally.region_missing, 0,
        "the server's text is the user's: {tally:?}"
    );
    assert!(
        tally.accepted > 0,
        "the oracle's true edits are shown and accepted: {tally:?}"
    );
    assert_eq!(tally.shown, tally.accepted + tally.rejected, "{tally:?}");
    assert_eq!(
        tally.region_asks,
        tally.covered + tally.outside,
        "{tally:?}"
    );
    assert!(
        tally.prompt_tokens > 0 && tally.output_tokens > 0,
        "{tally:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_wrong_suggestion_is_rejected_and_the_replay_still_ends_as_the_commit()
-> anyhow::Result<()> {
    let mut replayer = Replayer::start(&options()).await?;
    // The first model answer rewrites the region into nonsense, ahead of the oracle.
    replayer.model_server().push_answer("zzz\n");
    replayer.replay(&commit("uuid-cb32006")?).await?;
    assert_eq!(replayer.model_server().answers_left(), 0);
    let (tally, _stats) = replayer.finish().await?;
    assert!(tally.rejected >= 1, "{tally:?}");
    assert_eq!(tally.shown, tally.accepted + tally.rejected, "{tally:?}");
    Ok(())
}
