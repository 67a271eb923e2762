//! The next-edit replay: real commits ([`history`]) typed through the real server by a simulated
//! user ([`user`]) while the reference model server's [`crate::model_server::Oracle`] plays a
//! perfect model, and the figures it yields ([`figures`]). The benchmark
//! (`tests/benches/next_edit.rs`) and its correctness test (`tests/tests/next_edit_replay.rs`)
//! drive it.

pub mod figures;
pub mod history;
pub mod memory;
pub mod user;

pub use figures::Tally;
pub use history::{Commit, fixtures_dir, load_commits};
pub use user::{Options, Replayer};

/// Replays `commits` in one server session; the counts and the server's `spark/stats`.
pub async fn replay_all(
    options: &Options,
    commits: &[Commit],
) -> anyhow::Result<(Tally, serde_json::Value)> {
    let mut replayer = Replayer::start(options).await?;
    for commit in commits {
        replayer.replay(commit).await?;
    }
    replayer.finish().await
}
