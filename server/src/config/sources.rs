//! The configuration layers and where they come from: the `spark-lsp.toml` file on disk and the
//! JSON values the client sends.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{CONFIG_FILE_NAME, Config, ConfigIssue};

/// The layers above the defaults, lowest precedence first; [`ConfigSources::resolve`] merges them.
///
/// Each layer is a JSON object of the same schema. `None` and `null` mean "nothing set here".
#[derive(Clone, Debug, Default)]
pub struct ConfigSources {
    /// The parsed `spark-lsp.toml`, from [`ConfigSources::load_file`].
    pub file: Option<Value>,
    /// The `initializationOptions` of the `initialize` request.
    pub init_options: Option<Value>,
    /// The `settings` of the last `workspace/didChangeConfiguration`, raw or already passed
    /// through [`settings_section`] (it is applied again, which changes nothing).
    pub settings: Option<Value>,
}

impl ConfigSources {
    /// Finds and parses `spark-lsp.toml`: the workspace root's if it exists, else the one in
    /// [`user_config_dir`]. Returns `None` when there is no file or it cannot be used.
    pub fn load_file(workspace_root: Option<&Path>) -> (Option<Value>, Vec<ConfigIssue>) {
        Self::load_file_from(workspace_root, user_config_dir().as_deref())
    }

    /// [`ConfigSources::load_file`] with the user config directory (the one holding
    /// `spark-lsp.toml`) given explicitly, so tests do not depend on the environment.
    pub fn load_file_from(
        workspace_root: Option<&Path>,
        user_dir: Option<&Path>,
    ) -> (Option<Value>, Vec<ConfigIssue>) {
        // Only one file is read: a workspace file replaces the user's file, it does not merge.
        let candidates = [workspace_root, user_dir];
        let Some(path) = candidates
            .into_iter()
            .flatten()
            .map(|dir| dir.join(CONFIG_FILE_NAME))
            .find(|path| path.is_file())
        else {
            return (None, Vec::new());
        };
        match read_toml(&path) {
            Ok(value) => {
                tracing::debug!(path = %path.display(), "read configuration file");
                (Some(value), Vec::new())
            }
            Err(issue) => (None, vec![issue]),
        }
    }

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

fn read_toml(path: &Path) -> Result<Value, ConfigIssue> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|err| {
        ConfigIssue::error(
            "spark",
            format!("cannot read {shown}: {err}; fix its permissions or encoding (utf-8), it is ignored until then"),
        )
    })?;
    toml::from_str::<Value>(&text).map_err(|err| {
        let line = err.span().map(|span| line_of(text.as_bytes(), span.start));
        let at = line
            .map(|line| format!(" at line {line}"))
            .unwrap_or_default();
        let reason = err.message().trim_end().trim_end_matches('.');
        ConfigIssue::error(
            "spark",
            format!("cannot parse {shown}{at}: {reason}; fix the file, it is ignored until then"),
        )
    })
}

/// The 1-based line holding byte offset `byte`.
fn line_of(text: &[u8], byte: usize) -> usize {
    let before = &text[..byte.min(text.len())];
    before.iter().filter(|&&b| b == b'\n').count() + 1
}
