//! A problem found while reading the configuration, phrased for the user.

use std::fmt;

/// How bad a [`ConfigIssue`] is. Neither stops the server: the key falls back to its default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// A value was rejected and its default is used instead.
    Error,
    /// Something was ignored (an unknown key) but nothing was replaced.
    Warning,
}

/// One problem with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The dotted path of the key, prefixed `spark.`, e.g. `spark.provider.kind`; `spark` alone
    /// names a whole layer (a file that does not parse, settings that are not an object).
    pub key: String,
    /// Lowercase, no trailing period, says what to do.
    pub message: String,
    pub severity: Severity,
}

impl ConfigIssue {
    pub(crate) fn error(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            severity: Severity::Error,
        }
    }

    pub(crate) fn warning(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
            severity: Severity::Warning,
        }
    }

    /// One line for `window/showMessage` or the log, e.g. `spark-lsp: invalid setting
    /// spark.provider.kind: expected one of openai-responses, ...; using the default`.
    pub fn to_string_for_user(&self) -> String {
        let what = match self.severity {
            Severity::Error => "invalid setting",
            Severity::Warning => "setting",
        };
        format!("spark-lsp: {what} {}: {}", self.key, self.message)
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_for_user())
    }
}
