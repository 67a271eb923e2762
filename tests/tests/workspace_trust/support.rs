//! The sandbox the attacks run in: a temporary home with the user's config and state
//! directories and a workspace, the binary started on it, and what the tests check.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};
use spark_tests::lsp_client::{LspClient, server_binary};
use spark_tests::model_server::{CostModel, ModelServer, ModelServerConfig};

pub const USER_KEY: &str = "sk-spark-trust-user-0123456789";
pub const KEY_ENV: &str = "SPARK_TEST_USER_KEY";
const DOC_URI_NAME: &str = "probe.py";
const DOC: &str = "def add(a, b):\n    r\n";

/// A temporary home: the user's config and state directories and a workspace.
pub struct Sandbox {
    pub root: PathBuf,
}

impl Sandbox {
    pub fn new(tag: &str) -> anyhow::Result<Self> {
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

    pub fn workspace(&self) -> PathBuf {
        self.root.join("workspace")
    }

    pub fn outside(&self, name: &str) -> PathBuf {
        self.root.join("outside").join(name)
    }

    pub fn workspace_file(&self) -> PathBuf {
        self.workspace().join("spark-lsp.toml")
    }

    /// The user's own file: the reference model server, their key in `KEY_ENV`.
    pub fn write_user_config(&self, provider: &ModelServer) -> anyhow::Result<()> {
        let text = format!(
            "[provider]\nkind = \"openai-chat\"\nbaseUrl = \"{}\"\nmodel = \"m\"\napiKeyEnv = \"{KEY_ENV}\"\n",
            provider.http_base()
        );
        std::fs::write(self.root.join("config/spark-lsp/spark-lsp.toml"), text)?;
        Ok(())
    }

    pub fn write_workspace_config(&self, text: &str) -> anyhow::Result<()> {
        std::fs::write(self.workspace_file(), text)?;
        Ok(())
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let path = |dir: &str| self.root.join(dir).display().to_string();
        vec![
            ("XDG_CONFIG_HOME", path("config")),
            ("XDG_STATE_HOME", path("state")),
            ("HOME", path("home")),
            (KEY_ENV, USER_KEY.to_owned()),
        ]
    }

    /// Runs `spark-lsp trust ARGS` as the user would; returns stdout, failing on a bad exit.
    pub fn trust(&self, args: &[&str]) -> anyhow::Result<String> {
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
    pub async fn start(&self, init_options: Value) -> anyhow::Result<LspClient> {
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

    pub fn doc_uri(&self) -> String {
        format!("file://{}", self.workspace().join(DOC_URI_NAME).display())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub async fn model_server(api_key: Option<&str>) -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: api_key.map(str::to_owned),
        default_answer: "eturn a + b".to_owned(),
        ..ModelServerConfig::default()
    })
    .await
}

/// Asks for completion items until the provider (built in the background) answers one.
pub async fn complete(client: &mut LspClient, uri: &str) -> anyhow::Result<Value> {
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
pub async fn wait_for_file(path: &Path) -> bool {
    for _ in 0..400 {
        if path.exists() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

/// The `window/showMessage` warnings seen so far.
pub fn warnings(client: &LspClient) -> Vec<String> {
    client
        .received
        .iter()
        .filter(|m| m["method"] == "window/showMessage" && m["params"]["type"] == 2)
        .filter_map(|m| m["params"]["message"].as_str().map(str::to_owned))
        .collect()
}

/// The last `spark/status` seen so far.
pub fn last_status(client: &LspClient) -> Value {
    client
        .received
        .iter()
        .rev()
        .find(|m| m["method"] == "spark/status")
        .map(|m| m["params"].clone())
        .unwrap_or(Value::Null)
}

/// Checks the one warning and the status of an untrusted file setting exactly `keys`.
pub fn assert_ignored(client: &LspClient, file: &Path, keys: &[&str], reason: &str) {
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

/// A whole session in which the workspace file's `apiKeyCommand` must not run: the user's
/// provider answers a completion, the marker the command would create stays absent, and the
/// warning names the key for `reason`.
pub async fn assert_command_never_runs(
    sandbox: &Sandbox,
    init_options: Value,
    marker: &Path,
    reason: &str,
) -> anyhow::Result<()> {
    let mut client = sandbox.start(init_options).await?;
    let answered = complete(&mut client, &sandbox.doc_uri()).await;
    assert!(!marker.exists(), "the command ran ({reason})");
    answered?;
    let file = sandbox.workspace_file();
    assert_ignored(&client, &file, &["provider.apiKeyCommand"], reason);
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    assert!(!marker.exists(), "the command ran ({reason})");
    Ok(())
}
