//! Configuration from the `spark-lsp.toml` files (read in `workspace_trust.rs`),
//! `initializationOptions` and `workspace/didChangeConfiguration` (pushed, or pulled with
//! `workspace/configuration`).
//!
//! Every source goes through [`ConfigSources::resolve`], which never fails: bad keys are named
//! to the user once through `window/showMessage` and replaced by their defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use tower_lsp_server::ls_types::{ConfigurationItem, InitializeParams, MessageType};

use super::Backend;
use crate::config::{self, ConfigIssue, ConfigSources, ProviderConfig, Severity};
use crate::documents::Limits;
use crate::providers;

impl Backend {
    /// Reads `initializationOptions` and the config files during `initialize`; issues are
    /// reported after `initialized`.
    pub(super) fn load_initial_settings(&self, params: &InitializeParams) {
        let mut init_options = params
            .initialization_options
            .clone()
            .filter(|v| !v.is_null());
        let editor_trusts = super::workspace_trust::take_trust_flag(&mut init_options);
        self.set_workspace(workspace_root(params), editor_trusts);
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let mut issues = self.read_config_files(&mut sources);
        sources.init_options = init_options;
        issues.extend(self.apply(&sources));
        *self
            .pending_issues
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = issues;
    }

    pub(super) async fn report_settings_issues(&self) {
        let issues = std::mem::take(
            &mut *self
                .pending_issues
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        self.show_issues(issues).await;
        self.report_untrusted_config().await;
    }

    /// A `workspace/didChangeConfiguration`. Clients either push the settings (VS Code wraps
    /// them in a `spark` section; Helix sends them bare) or send nothing and expect the server
    /// to pull the `spark` section.
    pub(super) async fn settings_changed(&self, settings: Value) {
        if let Some(section) = config::settings_section(&settings) {
            let issues = self.replace_settings(section.clone());
            self.show_issues(issues).await;
            return;
        }
        if !self.pulls_configuration.load(Ordering::Relaxed) {
            return;
        }
        // The pull waits on the client, so it runs in its own task: a client that never
        // answers must not hold a handler slot.
        let backend = self.clone();
        tokio::spawn(async move {
            let items = vec![ConfigurationItem {
                scope_uri: None,
                section: Some("spark".into()),
            }];
            let pulled = match backend.client.configuration(items).await {
                Ok(mut values) if !values.is_empty() => values.swap_remove(0),
                Ok(_) => return,
                Err(err) => {
                    tracing::warn!("workspace/configuration failed: {err}");
                    return;
                }
            };
            if pulled.is_object() {
                let issues = backend.replace_settings(pulled);
                backend.show_issues(issues).await;
            }
        });
    }

    fn replace_settings(&self, settings: Value) -> Vec<ConfigIssue> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        sources.settings = Some(settings);
        self.apply(&sources)
    }

    /// Resolves the sources and puts the result into effect.
    pub(super) fn apply(&self, sources: &ConfigSources) -> Vec<ConfigIssue> {
        let (config, issues) = sources.resolve();
        self.documents.set_limits(Limits {
            max_file_bytes: config.documents.max_file_bytes,
            max_trees: config.syntax.max_trees,
        });
        if let Some(log) = &self.options.log {
            if let Some(level) = &config.log.level {
                if let Err(err) = log.set_filter(level) {
                    tracing::warn!("log.level {level:?} not applied: {err}");
                }
            }
            if let Some(file) = &config.log.file {
                if let Err(err) = log.set_file(file) {
                    tracing::warn!("log.file {} not applied: {err}", file.display());
                }
            }
        }
        tracing::info!(provider = ?config.provider.kind, model = config.provider.model, "configuration applied");
        self.rebuild_provider_if_changed(&config.provider);
        self.engine
            .set_max_in_flight(config.completion.max_in_flight);
        self.engine.controller().configure(
            config.next_edit.eagerness,
            std::time::Duration::from_millis(config.next_edit.cooldown_ms),
        );
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        issues
    }

    /// Builds a new provider when its settings changed. Building may run `apiKeyCommand` and
    /// read certificates, so it happens on a blocking thread; until it is done the previous
    /// provider keeps serving. An embedder's provider (tests, benchmarks) is never replaced.
    fn rebuild_provider_if_changed(&self, config: &ProviderConfig) {
        if self.options.provider.is_some() {
            return;
        }
        {
            let mut built = self
                .built_provider
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if built.as_ref() == Some(config) {
                return;
            }
            *built = Some(config.clone());
        }
        // Requests that find no provider wait for this one instead of answering nothing.
        self.engine.provider_building();
        let backend = self.clone();
        let config = config.clone();
        tokio::spawn(async move {
            let result = tokio::task::spawn_blocking(move || providers::build(&config)).await;
            match result {
                Ok(Ok(provider)) => {
                    let name = provider.name().to_owned();
                    backend.engine.set_provider(Some(provider));
                    backend.provider_recovered();
                    backend.provider_ready(&name).await;
                }
                Ok(Err(err)) => {
                    tracing::warn!("no provider: {err}");
                    backend.engine.set_provider(None);
                    backend.no_provider(&err).await;
                }
                Err(err) => {
                    tracing::error!("building the provider panicked: {err}");
                    backend.engine.set_provider(None);
                }
            }
        });
    }

    /// Tells the user about each problem once: re-resolving after a settings change finds the
    /// unchanged bad keys of other layers again, and repeating them would be noise.
    pub(super) async fn show_issues(&self, issues: Vec<ConfigIssue>) {
        for issue in issues {
            let message = issue.to_string_for_user();
            let first_time = self
                .shown_issues
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(message.clone());
            if !first_time {
                continue;
            }
            let typ = match issue.severity {
                Severity::Error => MessageType::ERROR,
                Severity::Warning => MessageType::WARNING,
            };
            tracing::warn!("{message}");
            self.client.show_message(typ, message).await;
        }
    }
}

/// The first workspace folder, else the deprecated `rootUri`, else `rootPath`.
fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    let folder = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| &f.uri);
    #[allow(deprecated)]
    let uri = folder.or(params.root_uri.as_ref());
    if let Some(path) = uri.and_then(|uri| uri.to_file_path()) {
        return Some(path.into_owned());
    }
    #[allow(deprecated)]
    params.root_path.as_ref().map(PathBuf::from)
}
