//! The workspace's `spark-lsp.toml` under trust: reading the files with the trust decision, telling
//! the user once which settings are ignored (`window/showMessage` and `spark/status`), and the
//! `spark.trustWorkspaceConfig` command that trusts the file and applies it at once.

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;
use spark_protocol::{TrustedConfig, UntrustedConfig};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::{LSPAny, MessageType};

use super::Backend;
use crate::config::{CONFIG_FILE_NAME, ConfigFiles, ConfigIssue, ConfigSources};
use crate::trust::{self, Distrust, TrustStore, WorkspaceFile, sha256_hex};

/// The `initializationOptions` member by which an editor says whether the user trusts the
/// workspace (VS Code's Workspace Trust). Anything but absent or `true` means restricted.
pub(super) const WORKSPACE_TRUSTED: &str = "workspaceTrusted";

/// The workspace root and the editor's word on it, set by `initialize`.
#[derive(Default)]
pub(super) struct WorkspaceTrust(Mutex<Workspace>);

#[derive(Clone, Default)]
struct Workspace {
    root: Option<PathBuf>,
    editor_trusts: bool,
}

/// Takes the editor's trust flag out of `initializationOptions` (it is not a setting), from the
/// top level or a `spark` section, and returns whether the editor trusts the workspace.
pub(super) fn take_trust_flag(options: &mut Option<Value>) -> bool {
    let Some(object) = options.as_mut().and_then(Value::as_object_mut) else {
        return true;
    };
    let nested = object
        .get_mut("spark")
        .and_then(Value::as_object_mut)
        .and_then(|section| section.remove(WORKSPACE_TRUSTED));
    let flags = [object.remove(WORKSPACE_TRUSTED), nested];
    flags
        .into_iter()
        .flatten()
        .all(|flag| flag == Value::Bool(true))
}

impl Backend {
    pub(super) fn set_workspace(&self, root: Option<PathBuf>, editor_trusts: bool) {
        *self.trust.0.lock().unwrap_or_else(|e| e.into_inner()) = Workspace {
            root,
            editor_trusts,
        };
    }

    fn workspace(&self) -> Workspace {
        self.trust
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reads the user's and the workspace's `spark-lsp.toml` into `sources`, the workspace's
    /// filtered by its trust, and records what was ignored for the status. Returns the files'
    /// problems.
    pub(super) fn read_config_files(&self, sources: &mut ConfigSources) -> Vec<ConfigIssue> {
        let workspace = self.workspace();
        let files = ConfigFiles::load(workspace.root.as_deref());
        sources.user_file = files.user.map(|file| file.value);
        let mut untrusted = None;
        sources.workspace_file = files.workspace.map(|file| {
            let file = WorkspaceFile {
                sha256: sha256_hex(&file.bytes),
                path: file.path,
                value: file.value,
            };
            let store = TrustStore::for_user();
            let verdict = trust::judge(&file, store.as_ref(), workspace.editor_trusts);
            if let Some(distrust) = verdict.distrust.filter(|_| !verdict.ignored.is_empty()) {
                untrusted = Some(UntrustedConfig {
                    file: file.path.display().to_string(),
                    message: trust::ignored_message(&file.path, &verdict.ignored, distrust),
                    keys: verdict.ignored,
                    reason: match distrust {
                        Distrust::Untrusted => "untrusted",
                        Distrust::Changed => "changed",
                        Distrust::Restricted => "restricted",
                    }
                    .to_owned(),
                });
            }
            verdict.layer
        });
        self.update_status(|status| status.untrusted_config = untrusted);
        files.issues
    }

    /// Names the ignored settings once (a warning) and puts them into `spark/status`.
    pub(super) async fn report_untrusted_config(&self) {
        let Some(untrusted) = self.current_status().untrusted_config else {
            return;
        };
        let first_time = self
            .shown_issues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(untrusted.message.clone());
        if first_time {
            tracing::warn!("{}", untrusted.message);
            self.client
                .show_message(MessageType::WARNING, untrusted.message)
                .await;
        }
        self.publish_status().await;
    }

    /// `spark.trustWorkspaceConfig`: trusts the workspace's file as it is now and applies it.
    pub(super) async fn trust_workspace_config(&self) -> Result<Option<LSPAny>> {
        let workspace = self.workspace();
        if !workspace.editor_trusts {
            return Err(refused(
                "the editor runs this workspace in restricted mode; trust the workspace in the \
                 editor first",
            ));
        }
        let Some(root) = workspace.root else {
            return Err(refused(
                "no workspace folder; open the folder that holds spark-lsp.toml",
            ));
        };
        let store = TrustStore::for_user().ok_or_else(|| {
            refused(
                "cannot find the state directory: set XDG_STATE_HOME or HOME to an absolute path",
            )
        })?;
        let trusted = trust::trust_file(&store, &root.join(CONFIG_FILE_NAME)).map_err(|err| {
            tracing::warn!("{err}");
            refused(err)
        })?;
        let trusted = TrustedConfig {
            file: trusted.path.display().to_string(),
            sha256: trusted.sha256,
        };
        tracing::info!(file = trusted.file, "workspace configuration trusted");
        let issues = {
            let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            let mut issues = self.read_config_files(&mut sources);
            issues.extend(self.apply(&sources));
            issues
        };
        self.show_issues(issues).await;
        self.report_untrusted_config().await;
        self.publish_status().await;
        let message = format!(
            "spark-lsp: trusted {}; all its settings apply",
            trusted.file
        );
        self.client.show_message(MessageType::INFO, message).await;
        Ok(serde_json::to_value(trusted).ok())
    }
}

/// The command cannot be done as things are; the message says what to do.
fn refused(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidRequest,
        message: message.into().into(),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::take_trust_flag;

    #[test]
    fn the_trust_flag_is_taken_out_of_the_options() {
        let cases = [
            (None, true, None),
            (
                Some(json!({"provider": {}})),
                true,
                Some(json!({"provider": {}})),
            ),
            (
                Some(json!({"workspaceTrusted": true})),
                true,
                Some(json!({})),
            ),
            (
                Some(json!({"workspaceTrusted": false, "log": {}})),
                false,
                Some(json!({"log": {}})),
            ),
            (
                Some(json!({"workspaceTrusted": "no"})),
                false,
                Some(json!({})),
            ),
            (
                Some(json!({"spark": {"workspaceTrusted": false}})),
                false,
                Some(json!({"spark": {}})),
            ),
        ];
        for (options, trusted, left) in cases {
            let mut options = options;
            assert_eq!(take_trust_flag(&mut options), trusted, "{options:?}");
            assert_eq!(options, left);
        }
    }
}
