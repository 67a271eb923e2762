//! A cloned repository's own `spark-lsp.toml` attacks the real binary: a command that would run,
//! a host that would receive the user's key, a log file outside the workspace. Each must do
//! nothing while the file is untrusted, apply once the user trusts it with the real
//! `spark-lsp trust` CLI, and do nothing again after the file changes. `XDG_CONFIG_HOME`,
//! `XDG_STATE_HOME` and `HOME` point into a temporary directory, so the real user's files are
//! never read or written.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use spark_tests::lsp_client::{LspClient, server_binary};
use spark_tests::model_server::{CostModel, ModelServer, ModelServerConfig};

const USER_KEY: &str = "sk-spark-trust-user-0123456789";
const KEY_ENV: &str = "SPARK_TEST_USER_KEY";
const DOC_URI_NAME: &str = "probe.py";
const DOC: &str = "def add(a, b):\n    r\n";

/// A temporary home: the user's config and state directories and a workspace.
struct Sandbox {
    root: PathBuf,
}

impl Sandbox {
    fn new(tag: &str) -> anyhow::Result<Self> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let root = std::env::temp_dir().join(format!(
            "spark-trust-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&root);
        for dir in ["config/spark-lsp", "state", "home", "workspace", "outside"] {
            std::fs::create_dir_all(root.join(dir))?;
        }
        let root = std::fs::canonicalize(root)?;
        Ok(Self { root })
    }

    fn workspace(&self) -> PathBuf {
        self.root.join("workspace")
    }

    fn outside(&self, name: &str) -> PathBuf {
        self.root.join("outside").join(name)
    }

    fn workspace_file(&self) -> PathBuf {
        self.workspace().join("spark-lsp.toml")
    }

    /// The user's own file: the reference model server, their key in `KEY_ENV`.
    fn write_user_config(&self, provider: &ModelServer) -> anyhow::Result<()> {
        let text = format!(
            "[provider]\nkind = \"openai-chat\"\nbaseUrl = \"{}\"\nmodel = \"m\"\napiKeyEnv = \"{KEY_ENV}\"\n",
            provider.http_base()
        );
        std::fs::write(self.root.join("config/spark-lsp/spark-lsp.toml"), text)?;
        Ok(())
    }

    fn write_workspace_config(&self, text: &str) -> anyhow::Result<()> {
        std::fs::write(self.workspace_file(), text)?;
        Ok(())
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let path = |dir: &str| self.root.join(dir).display().to_string();
        vec![
            ("XDG_CONFIG_HOME", path("config")),
            ("XDG_STATE_HOME", path("state")),
            ("HOME", path("home")),
            (KEY_ENV, USER_KEY.to_owned()),
        ]
    }

    /// Runs `spark-lsp trust ARGS` as the user would; returns stdout, failing on a bad exit.
    fn trust(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = std::process::Command::new(server_binary()?)
            .arg("trust")
            .args(args)
            .current_dir(self.workspace())
            .envs(self.env())
            .output()
            .context("running spark-lsp trust")?;
        if !output.status.success() {
            bail!(
                "spark-lsp trust {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    /// Starts the binary on the workspace and goes through `initialize`.
    async fn start(&self, init_options: Value) -> anyhow::Result<LspClient> {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut client = LspClient::spawn(&[], &env).await?;
        let root = format!("file://{}", self.workspace().display());
        let params = json!({
            "processId": null,
            "rootUri": root,
            "workspaceFolders": [{"uri": root, "name": "workspace"}],
            "capabilities": {"window": {"showMessage": {}}},
            "initializationOptions": init_options,
        });
        let response = client.request("initialize", params).await?;
        if response.get("error").is_some() {
            bail!("initialize failed: {response}");
        }
        client.notify("initialized", json!({})).await?;
        let uri = self.doc_uri();
        client.open(&uri, "python", 1, DOC).await?;
        Ok(client)
    }

    fn doc_uri(&self) -> String {
        format!("file://{}", self.workspace().join(DOC_URI_NAME).display())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

async fn model_server(api_key: Option<&str>) -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: api_key.map(str::to_owned),
        default_answer: "eturn a + b".to_owned(),
        ..ModelServerConfig::default()
    })
    .await
}

/// Asks for completion items until the provider (built in the background) answers one.
async fn complete(client: &mut LspClient, uri: &str) -> anyhow::Result<Value> {
    let params = json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 5},
        "context": {"triggerKind": 1}});
    for _ in 0..400 {
        let response = client
            .request("textDocument/completion", params.clone())
            .await?;
        let edit = &response["result"]["items"][0]["textEdit"];
        if !edit.is_null() {
            return Ok(edit.clone());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    bail!("no completion item; messages: {:?}", client.received)
}

/// Waits (bounded) for `path` to exist; a command runs on a blocking thread after `initialize`.
async fn wait_for_file(path: &Path) -> bool {
    for _ in 0..400 {
        if path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// The `window/showMessage` warnings seen so far.
fn warnings(client: &LspClient) -> Vec<String> {
    client
        .received
        .iter()
        .filter(|m| m["method"] == "window/showMessage" && m["params"]["type"] == 2)
        .filter_map(|m| m["params"]["message"].as_str().map(str::to_owned))
        .collect()
}

/// The last `spark/status` seen so far.
fn last_status(client: &LspClient) -> Value {
    client
        .received
        .iter()
        .rev()
        .find(|m| m["method"] == "spark/status")
        .map(|m| m["params"].clone())
        .unwrap_or(Value::Null)
}

/// Checks the one warning and the status of an untrusted file setting exactly `keys`.
fn assert_ignored(client: &LspClient, file: &Path, keys: &[&str], reason: &str) {
    let warnings = warnings(client);
    let named: Vec<_> = warnings
        .iter()
        .filter(|w| w.contains(&file.display().to_string()))
        .collect();
    assert_eq!(named.len(), 1, "one warning about the file: {warnings:?}");
    assert!(named[0].contains(&keys.join(", ")), "{}", named[0]);
    let how = if reason == "restricted" {
        "trust the workspace in the editor"
    } else {
        "spark-lsp trust"
    };
    assert!(named[0].contains(how), "{}", named[0]);
    let status = last_status(client);
    assert_eq!(status["untrustedConfig"]["keys"], json!(keys), "{status}");
    assert_eq!(status["untrustedConfig"]["reason"], reason, "{status}");
}

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
    let mut client = sandbox.start(json!({})).await?;
    let answered = complete(&mut client, &sandbox.doc_uri()).await;
    assert!(!marker.exists(), "the command ran while untrusted");
    answered?;
    assert_ignored(
        &client,
        &sandbox.workspace_file(),
        &["provider.apiKeyCommand"],
        "untrusted",
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    assert!(!marker.exists(), "the command ran while untrusted");

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
    let mut client = sandbox.start(json!({})).await?;
    let answered = complete(&mut client, &sandbox.doc_uri()).await;
    assert!(!marker2.exists(), "the changed file's command ran");
    answered?;
    assert_ignored(
        &client,
        &sandbox.workspace_file(),
        &["provider.apiKeyCommand"],
        "changed",
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
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
    let mut client = sandbox.start(json!({"workspaceTrusted": false})).await?;
    let answered = complete(&mut client, &sandbox.doc_uri()).await;
    assert!(!marker.exists(), "the command ran in restricted mode");
    answered?;
    assert_ignored(
        &client,
        &sandbox.workspace_file(),
        &["provider.apiKeyCommand"],
        "restricted",
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    assert!(!marker.exists(), "the command ran in restricted mode");
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
