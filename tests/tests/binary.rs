//! End-to-end over the real `spark-lsp` binary on stdio: the lifecycle, the pinned `initialize`
//! response, exit codes, and a stdout that holds nothing but framed JSON-RPC even at `trace`.

use expect_test::expect;
use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;

const TRACE: &[(&str, &str)] = &[("SPARK_LSP_LOG", "trace")];

fn vscode_like_capabilities() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"inlineCompletion": {"dynamicRegistration": false}},
        "workspace": {"configuration": true},
    })
}

#[tokio::test]
async fn initialize_is_pinned_and_a_session_leaves_stdout_clean() -> anyhow::Result<()> {
    let mut client = LspClient::spawn(&[], TRACE).await?;
    let response = client
        .initialize(vscode_like_capabilities(), Value::Null)
        .await?;
    let mut result = response["result"].clone();
    assert_eq!(result["serverInfo"]["version"], env!("CARGO_PKG_VERSION"));
    result["serverInfo"]["version"] = json!("<version>");
    expect![[r#"
        {
          "capabilities": {
            "codeActionProvider": {
              "codeActionKinds": [
                "quickfix",
                "refactor.rewrite"
              ],
              "resolveProvider": true
            },
            "completionProvider": {
              "resolveProvider": false
            },
            "executeCommandProvider": {
              "commands": [
                "spark.didAccept",
                "spark.rewrite",
                "spark.didAcceptNextEdit",
                "spark.trustWorkspaceConfig"
              ]
            },
            "inlineCompletionProvider": true,
            "positionEncoding": "utf-16",
            "textDocumentSync": {
              "change": 2,
              "openClose": true
            }
          },
          "serverInfo": {
            "name": "spark-lsp",
            "version": "<version>"
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&result)?);

    client
        .open("file:///w/a.rs", "rust", 1, "fn main() {}\n")
        .await?;
    let change = json!({
        "textDocument": {"uri": "file:///w/a.rs", "version": 2},
        "contentChanges": [{"range": {"start": {"line": 0, "character": 11}, "end": {"line": 0, "character": 11}}, "text": " let é = 1; "}],
    });
    client.notify("textDocument/didChange", change).await?;
    // No provider is configured: an empty answer, not an error.
    let completion = client
        .request(
            "textDocument/inlineCompletion",
            json!({
                "textDocument": {"uri": "file:///w/a.rs"}, "position": {"line": 0, "character": 12},
                "context": {"triggerKind": 2},
            }),
        )
        .await?;
    assert_eq!(completion["result"], Value::Null, "{completion}");
    client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": "file:///w/a.rs"}}),
        )
        .await?;
    let code = client.shutdown_and_exit().await?;
    assert_eq!(code, Some(0));
    Ok(())
}

#[tokio::test]
async fn logs_go_to_stderr_at_trace() -> anyhow::Result<()> {
    let mut client = LspClient::spawn(&[], TRACE).await?;
    client
        .initialize(vscode_like_capabilities(), Value::Null)
        .await?;
    client.request("shutdown", Value::Null).await?;
    client.notify("exit", Value::Null).await?;
    let stderr = client.take_stderr().await.unwrap_or_default();
    assert!(stderr.contains("initialize"), "stderr: {stderr}");
    assert_eq!(client.finish().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn exit_without_shutdown_exits_with_1() -> anyhow::Result<()> {
    let mut client = LspClient::spawn(&[], &[]).await?;
    client
        .initialize(vscode_like_capabilities(), Value::Null)
        .await?;
    client.notify("exit", Value::Null).await?;
    assert_eq!(client.finish().await?, Some(1));
    Ok(())
}

#[tokio::test]
async fn log_file_receives_the_logs() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("spark-lsp-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("server.log");
    let log_arg = log.to_string_lossy().into_owned();
    let mut client = LspClient::spawn(&["--log-file", &log_arg], TRACE).await?;
    client
        .initialize(vscode_like_capabilities(), Value::Null)
        .await?;
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    let text = std::fs::read_to_string(&log)?;
    assert!(text.contains("initialize"), "log file: {text}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
async fn version_and_help_print_and_exit() -> anyhow::Result<()> {
    let bin = spark_tests::lsp_client::server_binary()?;
    let version = std::process::Command::new(&bin).arg("--version").output()?;
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8(version.stdout)?,
        format!("spark-lsp {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = std::process::Command::new(&bin).arg("--help").output()?;
    assert!(String::from_utf8(help.stdout)?.contains("--log-file PATH"));
    let bad = std::process::Command::new(&bin).arg("--bogus").output()?;
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8(bad.stderr)?.contains("unknown argument"));
    Ok(())
}

/// Replays what real Helix and Neovim sent (tests/fixtures/clients) through the binary: every request
/// gets a response without an error, and the session ends cleanly.
#[tokio::test]
async fn recorded_editor_sessions_replay_cleanly() -> anyhow::Result<()> {
    for name in ["helix-25.07.1.jsonl", "neovim-0.11.4.jsonl"] {
        let mut client = LspClient::spawn(&[], TRACE).await?;
        let mut exit_code = None;
        for message in spark_tests::recorded_session(name)? {
            let is_request = message.get("id").is_some();
            client.send(&message).await?;
            if message["method"] == "initialize" {
                let response = client.response(message["id"].as_i64().unwrap_or(0)).await?;
                let negotiated = &response["result"]["capabilities"]["positionEncoding"];
                assert_eq!(negotiated, "utf-8", "{name} offers utf-8 first");
            } else if is_request {
                let response = client.response(message["id"].as_i64().unwrap_or(0)).await?;
                assert!(
                    response.get("error").is_none(),
                    "{name}: {message} → {response}"
                );
            }
            if message["method"] == "exit" {
                exit_code = Some(());
            }
        }
        assert!(exit_code.is_some());
        assert_eq!(client.finish().await?, Some(0), "{name}");
    }
    Ok(())
}

#[tokio::test]
async fn log_settings_move_the_log_to_a_file() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("spark-lsp-logset-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("from-settings.log");
    let mut client = LspClient::spawn(&[], &[]).await?;
    let options = json!({"log": {"file": log, "level": "debug"}});
    client
        .initialize(vscode_like_capabilities(), options)
        .await?;
    client
        .open("file:///w/b.py", "python", 1, "x = 1\n")
        .await?;
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    let text = std::fs::read_to_string(&log)?;
    // `didOpen` is logged at debug: both settings took effect.
    assert!(text.contains("didOpen"), "log file: {text}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
