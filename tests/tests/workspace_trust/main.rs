//! A cloned repository's own `spark-lsp.toml` attacks the real binary: a command that would run,
//! a host that would receive the user's key, a log file outside the workspace. Each must do
//! nothing while the file is untrusted, apply once the user trusts it with the real
//! `spark-lsp trust` CLI, and do nothing again after the file changes. `XDG_CONFIG_HOME`,
//! `XDG_STATE_HOME` and `HOME` point into a temporary directory, so the real user's files are
//! never read or written.

mod support;

use anyhow::Context;
use serde_json::json;
use spark_tests::model_server::ModelServer;
use std::path::Path;
use support::{
    KEY_ENV, Sandbox, USER_KEY, assert_command_never_runs, assert_ignored, complete, last_status,
    model_server, wait_for_file, warnings,
};

#[tokio::test]
async fn api_key_command_runs_only_once_trusted() -> anyhow::Result<()> {
    let sandbox = Sandbox::new("command")?;
    let provider = model_server(Some(USER_KEY)).await?;
    sandbox.write_user_config(&provider)?;
    let marker = sandbox.outside("pwned");
    let hostile = |marker: &Path| {
        format!(
            "[provider]\napiKeyCommand = [\"sh\", \"-c\", \"touch '{}'; echo sk-x\"]\n",
            marker.display()
        )
    };
    sandbox.write_workspace_config(&hostile(&marker))?;

    // Untrusted: the user's provider answers, the command never ran.
    assert_command_never_runs(&sandbox, json!({}), &marker, "untrusted").await?;

    // Trusted with the real CLI: the command is the user's choice now and runs.
    let out = sandbox.trust(&[])?;
    assert!(out.contains("provider.apiKeyCommand"), "{out}");
    let client = sandbox.start(json!({})).await?;
    assert!(
        wait_for_file(&marker).await,
        "the trusted command did not run"
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));

    // Changed: untrusted again until trusted again.
    let marker2 = sandbox.outside("pwned-again");
    sandbox.write_workspace_config(&hostile(&marker2))?;
    assert_command_never_runs(&sandbox, json!({}), &marker2, "changed").await?;
    Ok(())
}

#[tokio::test]
async fn the_key_goes_to_a_workspace_host_only_once_trusted() -> anyhow::Result<()> {
    let sandbox = Sandbox::new("leak")?;
    let provider = model_server(Some(USER_KEY)).await?;
    let attacker = model_server(None).await?;
    sandbox.write_user_config(&provider)?;
    let hostile = format!(
        "[provider]\nbaseUrl = \"{}\"\napiKeyEnv = \"{KEY_ENV}\"\nheaders = {{ X-Repo = \"1\" }}\n",
        attacker.http_base()
    );
    sandbox.write_workspace_config(&hostile)?;
    let carries_key = |server: &ModelServer| {
        server
            .requests()
            .iter()
            .filter(|r| {
                r.header("authorization")
                    .is_some_and(|v| v.contains(USER_KEY))
            })
            .count()
    };

    let mut client = sandbox.start(json!({})).await?;
    complete(&mut client, &sandbox.doc_uri()).await?;
    assert_eq!(
        attacker.connections_accepted(),
        0,
        "the workspace host was contacted"
    );
    assert!(carries_key(&provider) >= 1, "the user's provider answered");
    assert_ignored(
        &client,
        &sandbox.workspace_file(),
        &["provider.apiKeyEnv", "provider.baseUrl", "provider.headers"],
        "untrusted",
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));

    sandbox.trust(&[sandbox.workspace().to_str().context("utf-8")?])?;
    let mut client = sandbox.start(json!({})).await?;
    complete(&mut client, &sandbox.doc_uri()).await?;
    assert!(warnings(&client).is_empty(), "{:?}", warnings(&client));
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    let leaked = carries_key(&attacker);
    assert!(leaked >= 1, "trusted, the file's host is the provider");

    sandbox.write_workspace_config(&format!("{hostile}# edited\n"))?;
    let mut client = sandbox.start(json!({})).await?;
    complete(&mut client, &sandbox.doc_uri()).await?;
    assert_eq!(
        carries_key(&attacker),
        leaked,
        "the changed file's host got a request"
    );
    assert_ignored(
        &client,
        &sandbox.workspace_file(),
        &["provider.apiKeyEnv", "provider.baseUrl", "provider.headers"],
        "changed",
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn a_log_file_outside_the_workspace_is_written_only_once_trusted() -> anyhow::Result<()> {
    let sandbox = Sandbox::new("log")?;
    let provider = model_server(Some(USER_KEY)).await?;
    sandbox.write_user_config(&provider)?;
    let log = sandbox.outside("evil.log");
    let hostile = format!("[log]\nfile = \"{}\"\nlevel = \"trace\"\n", log.display());
    sandbox.write_workspace_config(&hostile)?;

    let session = |expect_warning: bool| {
        let (sandbox, log) = (&sandbox, &log);
        async move {
            let mut client = sandbox.start(json!({})).await?;
            complete(&mut client, &sandbox.doc_uri()).await?;
            if expect_warning {
                assert!(!log.exists(), "the untrusted log file was written");
            }
            let warned = !warnings(&client).is_empty();
            assert_eq!(warned, expect_warning, "{:?}", warnings(&client));
            if warned {
                assert_ignored(
                    &client,
                    &sandbox.workspace_file(),
                    &["log.file", "log.level"],
                    "untrusted",
                );
            }
            client.shutdown_and_exit().await
        }
    };
    assert_eq!(session(true).await?, Some(0));
    assert!(!log.exists(), "the untrusted log file was written");

    sandbox.trust(&["spark-lsp.toml"])?;
    assert_eq!(session(false).await?, Some(0));
    let text = std::fs::read_to_string(&log).context("the trusted log file")?;
    assert!(text.contains("didOpen"), "trace logging applied: {text}");
    assert!(!text.contains(USER_KEY), "keys are never logged");

    std::fs::remove_file(&log)?;
    sandbox.write_workspace_config(&format!("# edited\n{hostile}"))?;
    let mut client = sandbox.start(json!({})).await?;
    complete(&mut client, &sandbox.doc_uri()).await?;
    assert!(!log.exists(), "the changed file's log was written");
    assert_ignored(
        &client,
        &sandbox.workspace_file(),
        &["log.file", "log.level"],
        "changed",
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    assert!(!log.exists(), "the changed file's log was written");
    Ok(())
}

/// A workspace file that only tunes safe keys merges with the user's file: their provider stays.
#[tokio::test]
async fn a_workspace_file_of_safe_keys_merges_with_the_user_file() -> anyhow::Result<()> {
    let sandbox = Sandbox::new("merge")?;
    let provider = model_server(Some(USER_KEY)).await?;
    sandbox.write_user_config(&provider)?;
    sandbox.write_workspace_config("[completion]\nitemBudgetMs = 500\nmaxInFlight = 2\n")?;
    let mut client = sandbox.start(json!({})).await?;
    let edit = complete(&mut client, &sandbox.doc_uri()).await?;
    assert_eq!(
        edit["newText"], "eturn a + b",
        "the user's provider answered: {edit}"
    );
    let shown: Vec<_> = client
        .received
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .collect();
    assert!(shown.is_empty(), "nothing to warn about: {shown:?}");
    assert!(last_status(&client).get("untrustedConfig").is_none());
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    assert!(!provider.requests().is_empty());
    Ok(())
}

/// `spark.trustWorkspaceConfig` trusts and applies at once; an editor in restricted mode keeps
/// even a recorded file untrusted and cannot trust it.
#[tokio::test]
async fn the_trust_command_applies_at_once_and_restricted_mode_wins() -> anyhow::Result<()> {
    let sandbox = Sandbox::new("command-live")?;
    let provider = model_server(Some(USER_KEY)).await?;
    sandbox.write_user_config(&provider)?;
    let marker = sandbox.outside("live");
    let hostile = format!(
        "[provider]\napiKeyCommand = [\"sh\", \"-c\", \"touch '{}'; echo {USER_KEY}\"]\n",
        marker.display()
    );
    sandbox.write_workspace_config(&hostile)?;

    let mut client = sandbox.start(json!({"workspaceTrusted": false})).await?;
    let trust = json!({"command": "spark.trustWorkspaceConfig", "arguments": []});
    let refused = client
        .request("workspace/executeCommand", trust.clone())
        .await?;
    assert!(
        refused["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("restricted mode")),
        "{refused}"
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));

    let mut client = sandbox.start(json!({})).await?;
    let answered = complete(&mut client, &sandbox.doc_uri()).await;
    assert!(!marker.exists(), "the command ran while untrusted");
    answered?;
    let answer = client.request("workspace/executeCommand", trust).await?;
    let file = sandbox.workspace_file().display().to_string();
    assert_eq!(answer["result"]["file"], file, "{answer}");
    assert!(
        wait_for_file(&marker).await,
        "trusted, the command runs at once"
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    assert!(
        sandbox
            .trust(&["--list"])?
            .contains(&format!("{file}\ttrusted"))
    );

    // Recorded as trusted, but the editor says the workspace is restricted.
    std::fs::remove_file(&marker)?;
    assert_command_never_runs(
        &sandbox,
        json!({"workspaceTrusted": false}),
        &marker,
        "restricted",
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn the_cli_lists_and_revokes() -> anyhow::Result<()> {
    let sandbox = Sandbox::new("cli")?;
    sandbox.write_workspace_config("[log]\nfile = \"/tmp/x.log\"\n")?;
    assert!(sandbox.trust(&["--list"])?.contains("no trusted"));
    let out = sandbox.trust(&[])?;
    assert!(out.contains("log.file"), "{out}");
    let file = sandbox.workspace_file().display().to_string();
    assert_eq!(sandbox.trust(&["--list"])?, format!("{file}\ttrusted\n"));
    let record = sandbox.root.join("state/spark-lsp/trusted.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&record)?.permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    sandbox.write_workspace_config("[log]\nfile = \"/tmp/y.log\"\n")?;
    assert!(
        sandbox
            .trust(&["--list"])?
            .contains("changed since trusted")
    );
    assert!(sandbox.trust(&["--revoke"])?.contains("revoked"));
    assert!(sandbox.trust(&["--list"])?.contains("no trusted"));
    assert!(sandbox.trust(&["--revoke"])?.contains("was not trusted"));
    // Nothing was written outside the sandbox's state directory.
    assert!(!sandbox.root.join("home/.local").exists());
    Ok(())
}
