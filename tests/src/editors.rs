//! Finding the real editors the end-to-end tests drive (Neovim, Emacs): an override variable,
//! then the places the set-up scripts install them. Without one the tests skip with a message,
//! unless the `required` variable is set (as `scripts/test` does), when they fail.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::model_server::{CostModel, ModelServer, ModelServerConfig};

/// The first of `$override_var` and `candidates` that is a file, or `None` after telling how to
/// get one (`hint`); panics when `$required_var` is set and none is found.
#[allow(clippy::print_stderr)]
pub fn find(
    override_var: &str,
    required_var: &str,
    candidates: impl IntoIterator<Item = PathBuf>,
    hint: &str,
) -> Option<PathBuf> {
    let required = std::env::var_os(required_var).is_some_and(|v| !v.is_empty());
    let found = std::env::var_os(override_var)
        .map(PathBuf::from)
        .into_iter()
        .chain(candidates)
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            !required,
            "{required_var} is set but none was found: {hint}"
        );
        eprintln!("skipped: {hint}");
    }
    found
}

/// An instant reference model server checking `key`, with `answers` queued in order.
pub async fn scripted_model(key: &str, answers: &[&str]) -> anyhow::Result<ModelServer> {
    let server = ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(key.into()),
        ..ModelServerConfig::default()
    })
    .await?;
    for answer in answers {
        server.push_answer(*answer);
    }
    Ok(server)
}

/// A new, empty scratch directory for one editor run (kept on failure for a look).
pub fn scratch_dir(editor: &str, name: &str) -> std::io::Result<PathBuf> {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "spark-{editor}-{}-{}-{name}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed),
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
