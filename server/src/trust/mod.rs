//! Workspace trust: a repository's own `spark-lsp.toml` is input, not the user's choice.
//!
//! Until the user trusts it with `spark-lsp trust`, a workspace file applies only its safe keys
//! ([`keys`] classifies every key of the schema); its sensitive keys (programs, hosts,
//! credentials, files) are ignored and named to the user. Trust is recorded per file by canonical
//! path and SHA-256 ([`TrustStore`]), so an edited file is untrusted again. An editor that runs
//! the workspace in a restricted mode (VS Code's Workspace Trust) says so in
//! `initializationOptions.workspaceTrusted`, and then no record makes the file trusted.
//!
//! **Architecture invariant:** this module knows nothing about LSP; `lsp/workspace_trust.rs`
//! tells the user and `main.rs` hands the `trust` subcommand to [`cli::run`].

pub mod cli;
pub mod keys;
mod store;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use store::{Entry, TrustState, TrustStore, sha256_hex};

use crate::config::{CONFIG_FILE_NAME, settings_section};

/// A workspace `spark-lsp.toml` as it was read: the bytes that were parsed are the bytes hashed.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceFile {
    /// The canonical path.
    pub path: PathBuf,
    /// The lowercase hex SHA-256 of the bytes read.
    pub sha256: String,
    /// The parsed file.
    pub value: Value,
}

/// Why the sensitive keys of a workspace file do not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distrust {
    /// The user never trusted this file.
    Untrusted,
    /// The file changed since the user trusted it.
    Changed,
    /// The editor runs the workspace in a restricted mode.
    Restricted,
}

/// What a workspace file contributes and what it was denied.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The layer to merge: the whole file when trusted, else its safe keys.
    pub layer: Value,
    /// The sensitive keys the file sets that were left out, sorted; empty when trusted.
    pub ignored: Vec<String>,
    /// Why they were left out; `None` when the file is trusted.
    pub distrust: Option<Distrust>,
}

/// Decides what `file` may set. `editor_trusts` is false when the editor said the workspace is
/// restricted; `store` is `None` when the user has no state directory (nothing is trusted).
pub fn judge(file: &WorkspaceFile, store: Option<&TrustStore>, editor_trusts: bool) -> Verdict {
    let distrust = if editor_trusts {
        match store.map(|store| store.state(&file.path, &file.sha256)) {
            Some(TrustState::Trusted) => None,
            Some(TrustState::Changed) => Some(Distrust::Changed),
            Some(TrustState::Untrusted) | None => Some(Distrust::Untrusted),
        }
    } else {
        Some(Distrust::Restricted)
    };
    if distrust.is_none() {
        return Verdict {
            layer: file.value.clone(),
            ignored: Vec::new(),
            distrust,
        };
    }
    let (layer, ignored) = untrusted_layer(&file.value);
    Verdict {
        layer,
        ignored,
        distrust,
    }
}

/// The safe part of a configuration layer and the sensitive keys it set. The result is wrapped
/// in a `spark` section so that resolving unwraps exactly the object that was filtered (a file
/// of `[spark.spark.provider]` must not smuggle keys past the filter).
pub fn untrusted_layer(value: &Value) -> (Value, Vec<String>) {
    let Some(section) = settings_section(value).and_then(Value::as_object) else {
        // Not an object (or empty): nothing to filter, resolving reports it.
        return (value.clone(), Vec::new());
    };
    let mut section = section.clone();
    let ignored = keys::strip_sensitive(&mut section);
    let mut wrapped = Map::new();
    wrapped.insert("spark".to_owned(), Value::Object(section));
    (Value::Object(wrapped), ignored)
}

/// The one-line warning naming the ignored keys and how to trust the file.
pub fn ignored_message(file: &Path, ignored: &[String], distrust: Distrust) -> String {
    let keys = ignored.join(", ");
    let shown = file.display();
    let dir = file.parent().unwrap_or(file).display();
    let how = format!(
        "run `spark-lsp trust {dir}` (VS Code: \"Spark: Trust Workspace Configuration\"; \
         Neovim: :Spark trust) after reviewing it"
    );
    match distrust {
        Distrust::Untrusted => format!(
            "spark-lsp: the workspace file {shown} is not trusted, so its settings {keys} are \
             ignored; to apply them, {how}"
        ),
        Distrust::Changed => format!(
            "spark-lsp: the workspace file {shown} changed since it was trusted, so its settings \
             {keys} are ignored; to apply them, {how}"
        ),
        Distrust::Restricted => format!(
            "spark-lsp: the editor runs this workspace in restricted mode, so the settings {keys} \
             of {shown} are ignored; trust the workspace in the editor, then run \"Spark: Trust \
             Workspace Configuration\""
        ),
    }
}

/// A file as it was trusted: the bytes hashed are the bytes read.
#[derive(Clone, Debug)]
pub struct TrustedFile {
    /// The canonical path.
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: Vec<u8>,
}

/// Records `file` (a path, made canonical) as trusted with the SHA-256 of its bytes now: what
/// `spark-lsp trust` and `spark.trustWorkspaceConfig` do. The error says what went wrong.
pub fn trust_file(store: &TrustStore, file: &Path) -> Result<TrustedFile, String> {
    let cannot = |err: std::io::Error| format!("cannot trust {}: {err}", file.display());
    let path = std::fs::canonicalize(file).map_err(cannot)?;
    let bytes = std::fs::read(&path).map_err(cannot)?;
    let sha256 = sha256_hex(&bytes);
    store.trust(&path, &sha256)?;
    Ok(TrustedFile {
        path,
        sha256,
        bytes,
    })
}

/// The `spark-lsp.toml` that `target` names: the file itself, or the one in that directory.
pub fn config_file_in(target: &Path) -> PathBuf {
    if target.is_dir() {
        target.join(CONFIG_FILE_NAME)
    } else {
        target.to_owned()
    }
}

#[cfg(test)]
mod tests;
