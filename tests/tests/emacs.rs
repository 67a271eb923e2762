//! End-to-end in a real editor: Emacs with eglot (Debian's emacs-nox 28 and elpa-eglot 1.9),
//! configured as the README says, the real `spark-lsp` binary and the reference model server.
//! Each test runs `tests/emacs/eglot-test.el` in `emacs --batch` with one test named, which
//! drives eglot's own commands and writes "OK" or the failure to a result file.
//!
//! Emacs comes from `scripts/setup-emacs`; `SPARK_EMACS` overrides it. Without an Emacs the
//! tests are skipped with a message, unless `SPARK_REQUIRE_EMACS` is set (as `scripts/test`
//! does), when they fail.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use spark_tests::editors;
use spark_tests::lsp_client::server_binary;
use spark_tests::model_server::{Endpoint, ModelServer};
use tokio::process::Command;

const KEY: &str = "sk-spark-emacs-0123456789";
/// Generous: a loaded 2-core machine runs several editors and servers at once.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

/// The Emacs to drive, or `None` (with a message) when there is none and none is required.
fn emacs() -> Option<PathBuf> {
    let candidates = ["/usr/bin/emacs", "/usr/local/bin/emacs"].map(PathBuf::from);
    let hint = "no Emacs with eglot (run scripts/setup-emacs, or set SPARK_EMACS)";
    editors::find("SPARK_EMACS", "SPARK_REQUIRE_EMACS", candidates, hint)
}

async fn model_server(answers: &[&str]) -> anyhow::Result<ModelServer> {
    editors::scripted_model(KEY, answers).await
}

/// Runs the named test of `tests/emacs/eglot-test.el` against `server`; fails with the
/// script's error and Emacs's output (eglot's events buffer is not kept in batch mode).
async fn run_test(emacs: &Path, test: &str, server: &ModelServer) -> anyhow::Result<()> {
    let dir = editors::scratch_dir("emacs", test)?;
    let result = dir.join("result");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("emacs/eglot-test.el");
    let output = Command::new(emacs)
        .args(["--batch", "-q", "-l"])
        .arg(&script)
        .current_dir(&dir)
        .env_remove("OPENAI_API_KEY")
        .env("HOME", &dir)
        .env("SPARK_LSP_BIN", server_binary()?)
        .env("SPARK_MODEL_URL", server.http_base())
        .env("SPARK_E2E_KEY", KEY)
        .env("SPARK_TEST_DIR", &dir)
        .env("SPARK_TEST_RESULT", &result)
        .env("SPARK_EMACS_TEST", test)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, output)
        .await
        .context("emacs timed out")?
        .with_context(|| format!("starting {}", emacs.display()))?;
    let outcome = std::fs::read_to_string(&result).unwrap_or_default();
    if outcome.trim() == "OK" && output.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    bail!(
        "{test}: {outcome}\n--- emacs ({}) ---\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn eglot_offers_the_models_completion_and_applies_it() -> anyhow::Result<()> {
    let Some(emacs) = emacs() else { return Ok(()) };
    let server = model_server(&["a + b"]).await?;
    run_test(&emacs, "completion", &server).await?;
    // The prompt said the file is Python (one eglot entry per language).
    let calls = server.requests_for(Endpoint::ChatCompletions);
    let first = calls.first().context("no model call")?.body.to_string();
    assert!(first.contains("python"), "{first}");
    Ok(())
}

#[tokio::test]
async fn eglot_runs_a_code_action_and_the_servers_edit_lands() -> anyhow::Result<()> {
    let Some(emacs) = emacs() else { return Ok(()) };
    let server = model_server(&["def add(a, b):\n    return a + b\n"]).await?;
    run_test(&emacs, "code-action", &server).await
}
