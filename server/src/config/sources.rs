//! The configuration layers and where they come from: the `spark-lsp.toml` files on disk (the
//! user's and the workspace's) and the JSON values the client sends.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{CONFIG_FILE_NAME, Config, ConfigIssue};

/// The layers above the defaults, lowest precedence first; [`ConfigSources::resolve`] merges them.
///
/// Each layer is a JSON object of the same schema. `None` and `null` mean "nothing set here".
#[derive(Clone, Debug, Default)]
pub struct ConfigSources {
    /// The user's own `spark-lsp.toml` (in [`user_config_dir`]).
    pub user_file: Option<Value>,
    /// What the workspace's `spark-lsp.toml` may set: the whole file once the user trusted it,
    /// else its safe keys only (decided by `crate::trust`, not here).
    pub workspace_file: Option<Value>,
    /// The `initializationOptions` of the `initialize` request.
    pub init_options: Option<Value>,
    /// The `settings` of the last `workspace/didChangeConfiguration`, raw or already passed
    /// through [`settings_section`] (it is applied again, which changes nothing).
    pub settings: Option<Value>,
}

/// A `spark-lsp.toml` as read from disk: the bytes parsed are the bytes a trust decision hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigFile {
    /// The canonical path.
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    pub value: Value,
}

/// The two files: the user's and the workspace's, each parsed, with the problems found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigFiles {
    pub user: Option<ConfigFile>,
    pub workspace: Option<ConfigFile>,
    pub issues: Vec<ConfigIssue>,
}

impl ConfigFiles {
    /// Reads `spark-lsp.toml` from the workspace root and from [`user_config_dir`].
    pub fn load(workspace_root: Option<&Path>) -> Self {
        Self::load_from(workspace_root, user_config_dir().as_deref())
    }

    /// [`ConfigFiles::load`] with the user config directory given explicitly, so tests do not
    /// depend on the environment. A file that is missing is `None`; one that cannot be read or
    /// parsed is `None` with an issue naming it. When the workspace root is the user's config
    /// directory, the file is the user's.
    pub fn load_from(workspace_root: Option<&Path>, user_dir: Option<&Path>) -> Self {
        let mut issues = Vec::new();
        let mut read = |dir: Option<&Path>| {
            let path = std::fs::canonicalize(dir?.join(CONFIG_FILE_NAME)).ok()?;
            if !path.is_file() {
                return None;
            }
            match read_toml(&path) {
                Ok((bytes, value)) => {
                    tracing::debug!(path = %path.display(), "read configuration file");
                    Some(ConfigFile { path, bytes, value })
                }
                Err(issue) => {
                    issues.push(issue);
                    None
                }
            }
        };
        let user = read(user_dir);
        let workspace = read(workspace_root)
            .filter(|file| user.as_ref().is_none_or(|user| user.path != file.path));
        Self {
            user,
            workspace,
            issues,
        }
    }
}

impl ConfigSources {
    /// Merges the layers over the defaults and validates the result. Never fails: every rejected
    /// key is reported and replaced by its default.
    pub fn resolve(&self) -> (Config, Vec<ConfigIssue>) {
        super::resolve::resolve(self)
    }
}

/// Where the user's `spark-lsp.toml` lives: `$XDG_CONFIG_HOME/spark-lsp`, else
/// `$HOME/.config/spark-lsp`. `None` when neither variable is usable.
pub fn user_config_dir() -> Option<PathBuf> {
    // The XDG spec says relative values are invalid and must be ignored.
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    let base = absolute("XDG_CONFIG_HOME").or_else(|| Some(absolute("HOME")?.join(".config")))?;
    Some(base.join("spark-lsp"))
}

/// The spark-lsp part of `workspace/didChangeConfiguration` settings.
///
/// VS Code sends the section wrapped (`{"spark": {...}}`); Helix sends its `config` table bare.
/// Returns the `spark` member if it is an object, else the value itself if it is a non-empty
/// object, else `None`.
pub fn settings_section(settings: &Value) -> Option<&Value> {
    if let Some(section) = settings.get("spark").filter(|section| section.is_object()) {
        return Some(section);
    }
    settings
        .as_object()
        .filter(|object| !object.is_empty())
        .map(|_| settings)
}

/// A configuration file is a few hundred bytes; a repository's file larger than this is not read.
const MAX_FILE_BYTES: u64 = 1 << 20;

fn read_toml(path: &Path) -> Result<(Vec<u8>, Value), ConfigIssue> {
    let shown = path.display();
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
    if size > MAX_FILE_BYTES {
        return Err(ConfigIssue::error(
            "spark",
            format!(
                "{shown} is {size} bytes, more than a configuration file can be (1 MiB); it is ignored"
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|err| {
        ConfigIssue::error(
            "spark",
            format!("cannot read {shown}: {err}; fix its permissions or encoding (utf-8), it is ignored until then"),
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|err| {
        ConfigIssue::error(
            "spark",
            format!("cannot read {shown}: {err}; save it as utf-8, it is ignored until then"),
        )
    })?;
    let value = toml::from_str::<Value>(text).map_err(|err| {
        let line = err.span().map(|span| line_of(text.as_bytes(), span.start));
        let at = line
            .map(|line| format!(" at line {line}"))
            .unwrap_or_default();
        let reason = err.message().trim_end().trim_end_matches('.');
        ConfigIssue::error(
            "spark",
            format!("cannot parse {shown}{at}: {reason}; fix the file, it is ignored until then"),
        )
    })?;
    Ok((bytes, value))
}

/// The 1-based line holding byte offset `byte`.
fn line_of(text: &[u8], byte: usize) -> usize {
    let before = &text[..byte.min(text.len())];
    before.iter().filter(|&&b| b == b'\n').count() + 1
}
