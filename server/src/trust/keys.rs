//! Which configuration keys an untrusted `spark-lsp.toml` may set: every key of the schema is
//! classified here, and only here.
//!
//! A key is **sensitive** when a file that sets it could run a program, send the user's text or
//! credentials somewhere, read or write a file, or change what is logged where; the rest are
//! **safe**. A test walks the schema and fails on a key missing from [`KEYS`], so a new key
//! cannot be added without this decision.

use serde_json::{Map, Value};

/// Whether an untrusted workspace file may set a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Applies from any source: it only tunes timing, limits or sampling.
    Safe,
    /// Applies from an untrusted workspace file only after `spark-lsp trust`. The text says why.
    Sensitive(&'static str),
}

use Class::{Safe, Sensitive};

/// Every key of the schema (dotted, as in docs/configuration.md) and its class. The model name
/// and output limits are safe: they only shape requests to the provider the user chose (a
/// repository may know which model suits it); what could cost more is bounded by validation.
pub const KEYS: &[(&str, Class)] = &[
    (
        "provider.kind",
        Sensitive("chooses the protocol and so where text goes"),
    ),
    (
        "provider.transport",
        Sensitive("changes how and where text is sent"),
    ),
    (
        "provider.baseUrl",
        Sensitive("chooses the host that receives code and the key"),
    ),
    ("provider.model", Safe),
    (
        "provider.apiKeyEnv",
        Sensitive("chooses which secret is sent"),
    ),
    ("provider.apiKeyCommand", Sensitive("runs a program")),
    (
        "provider.headers",
        Sensitive("sends values, possibly credentials, with every request"),
    ),
    (
        "provider.fimApi",
        Sensitive("changes the endpoint path and request shape"),
    ),
    ("provider.timeoutMs", Safe),
    ("provider.connectTimeoutMs", Safe),
    ("provider.reconnectMinMs", Safe),
    ("provider.reconnectMaxMs", Safe),
    (
        "provider.caCertFile",
        Sensitive("reads a file and trusts its certificates"),
    ),
    ("provider.maxOutputTokens", Safe),
    ("provider.temperature", Safe),
    ("provider.reasoning", Safe),
    (
        "provider.modelPath",
        Sensitive("reads a file and runs it as a model"),
    ),
    ("provider.threads", Safe),
    ("documents.maxFileBytes", Safe),
    ("syntax.maxTrees", Safe),
    // Globs only add files that are never sent: more private, never less.
    ("secrets.extraGlobs", Safe),
    ("log.level", Sensitive("puts code and prompts into the log")),
    ("log.file", Sensitive("writes a file")),
    ("completion.maxInFlight", Safe),
    ("completion.itemBudgetMs", Safe),
    ("nextEdit.format", Safe),
    // Only decide which suggestions are shown and when.
    ("nextEdit.eagerness", Safe),
    ("nextEdit.cooldownMs", Safe),
    // Where a next edit is looked for, and one more short call to the provider the user chose.
    ("nextEdit.jumps", Safe),
    ("nextEdit.modelJump", Safe),
];

/// The class of the dotted `key`, `None` when it is not a key of the schema.
pub fn class_of(key: &str) -> Option<Class> {
    KEYS.iter()
        .find(|(known, _)| *known == key)
        .map(|(_, class)| *class)
}

/// The sensitive keys, in schema order.
pub fn sensitive_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(|(_, class)| matches!(class, Sensitive(_)))
        .map(|(key, _)| *key)
}

/// Removes every sensitive key from a configuration layer (an object of the schema, without the
/// `spark` wrapper) and returns their dotted names, sorted. Unknown keys stay: resolving reports
/// them and they apply to nothing.
pub fn strip_sensitive(layer: &mut Map<String, Value>) -> Vec<String> {
    let mut removed = Vec::new();
    strip(layer, "", &mut removed);
    removed.sort();
    removed
}

fn strip(object: &mut Map<String, Value>, prefix: &str, removed: &mut Vec<String>) {
    object.retain(|key, value| {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match class_of(&path) {
            // A `null` leaf sets nothing (see config::resolve), so it is not worth a warning.
            Some(Sensitive(_)) if value.is_null() => false,
            Some(Sensitive(_)) => {
                removed.push(path);
                false
            }
            Some(Safe) => true,
            None => {
                if let Some(child) = value.as_object_mut() {
                    strip(child, &path, removed);
                }
                true
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::Config;

    /// The leaves of the schema: what the serialized defaults list (free-form objects such as
    /// `provider.headers` serialize empty and are leaves too).
    fn schema_leaves(value: &Value, prefix: &str, out: &mut Vec<String>) {
        match value.as_object() {
            Some(object) if !object.is_empty() => {
                for (key, child) in object {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    schema_leaves(child, &path, out);
                }
            }
            _ => out.push(prefix.to_owned()),
        }
    }

    #[test]
    fn every_schema_key_is_classified_and_nothing_else() {
        let schema = serde_json::to_value(Config::default()).expect("schema serializes");
        let mut leaves = Vec::new();
        schema_leaves(&schema, "", &mut leaves);
        let unclassified: Vec<_> = leaves.iter().filter(|k| class_of(k).is_none()).collect();
        assert!(
            unclassified.is_empty(),
            "classify these keys as Safe or Sensitive in server/src/trust/keys.rs: {unclassified:?}"
        );
        let stale: Vec<_> = KEYS
            .iter()
            .filter(|(key, _)| !leaves.iter().any(|leaf| leaf == key))
            .collect();
        assert!(stale.is_empty(), "not keys of the schema: {stale:?}");
    }

    #[test]
    fn the_issue_s_keys_are_sensitive() {
        for key in [
            "provider.kind",
            "provider.baseUrl",
            "provider.transport",
            "provider.apiKeyEnv",
            "provider.apiKeyCommand",
            "provider.headers",
            "provider.caCertFile",
            "provider.modelPath",
            "provider.fimApi",
            "log.file",
        ] {
            assert!(matches!(class_of(key), Some(Sensitive(_))), "{key}");
        }
    }

    /// docs/configuration.md marks every key as the code classifies it.
    #[test]
    fn the_documentation_marks_each_key() {
        let doc = include_str!("../../../docs/configuration.md");
        let mut documented: Vec<(String, bool)> = doc
            .lines()
            .filter_map(|line| {
                let key = line.strip_prefix("| `")?.split_once('`')?.0;
                let trust = line.strip_suffix(" |")?.rsplit(" | ").next()?;
                Some((key.to_owned(), trust == "**sensitive**"))
            })
            .collect();
        let mut expected: Vec<(String, bool)> = KEYS
            .iter()
            .map(|(key, class)| ((*key).to_owned(), matches!(class, Sensitive(_))))
            .collect();
        documented.sort();
        expected.sort();
        assert_eq!(documented, expected);
    }

    /// VS Code's Restricted Mode keeps the same keys to the user's own settings, plus the
    /// extension's choice of binary and its arguments.
    #[test]
    fn vscode_restricts_the_sensitive_settings() {
        let manifest: Value =
            serde_json::from_str(include_str!("../../../editors/vscode/package.json"))
                .expect("package.json parses");
        let restricted = &manifest["capabilities"]["untrustedWorkspaces"];
        assert_eq!(restricted["supported"], "limited");
        let mut listed: Vec<&str> = restricted["restrictedConfigurations"]
            .as_array()
            .expect("restrictedConfigurations")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        listed.sort_unstable();
        let mut expected: Vec<String> = sensitive_keys()
            .map(|key| format!("spark.{key}"))
            .chain(["spark.server.path".into(), "spark.server.extraArgs".into()])
            .collect();
        expected.sort_unstable();
        assert_eq!(listed, expected);
    }

    #[test]
    fn stripping_keeps_safe_and_unknown_keys() {
        let mut layer = json!({
            "provider": {
                "apiKeyCommand": ["sh", "-c", "touch /tmp/x"],
                "baseUrl": "http://127.0.0.1:9/v1",
                "headers": {"X-Leak": "1"},
                "model": "m",
                "caCertFile": null,
                "apiKeyComand": ["typo"],
            },
            "log": {"file": "/tmp/evil.log"},
            "completion": {"maxInFlight": 2},
            "documents": "not an object",
        });
        let removed = strip_sensitive(layer.as_object_mut().expect("object"));
        assert_eq!(
            removed,
            [
                "log.file",
                "provider.apiKeyCommand",
                "provider.baseUrl",
                "provider.headers"
            ]
        );
        assert_eq!(
            layer,
            json!({
                "provider": {"model": "m", "apiKeyComand": ["typo"]},
                "log": {},
                "completion": {"maxInFlight": 2},
                "documents": "not an object",
            })
        );
    }
}
