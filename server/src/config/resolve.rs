//! Merging the layers and turning the merged JSON into a [`Config`], one bad key at a time.
//!
//! The merged value is deserialized with `serde_path_to_error`. When a key fails, it is reported,
//! removed from the merged value so its default applies, and deserialization is retried. Unknown
//! keys are found by walking the merged value against the serialized defaults, which list every
//! known key (`Option`s serialize as `null`), so the schema is written down only once.

use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use super::validate::validate;
use super::{Config, ConfigIssue, ConfigSources, settings_section};

pub(super) fn resolve(sources: &ConfigSources) -> (Config, Vec<ConfigIssue>) {
    let mut issues = Vec::new();
    let layers = [
        ("the user's spark-lsp.toml", &sources.user_file),
        ("the workspace's spark-lsp.toml", &sources.workspace_file),
        ("initializationOptions", &sources.init_options),
        ("settings", &sources.settings),
    ];
    let mut merged = Map::new();
    for (name, layer) in layers {
        let Some(layer) = layer else { continue };
        match layer_object(layer) {
            Ok(Some(object)) => merge(&mut merged, object),
            Ok(None) => {}
            Err(found) => issues.push(ConfigIssue::error(
                "spark",
                format!("expected an object in {name}, found {found}; that layer is ignored"),
            )),
        }
    }
    let schema = schema();
    if let Some(known) = schema.as_object() {
        check_keys(&mut merged, known, "spark", &mut issues);
    }
    let mut merged = Value::Object(merged);
    let mut config = deserialize(&mut merged, &schema, &mut issues);
    config.provider.kind_configured = merged.pointer("/provider/kind").is_some();
    validate(&mut config, &mut issues);
    (config, issues)
}

/// The object a layer contributes: `Ok(None)` for `null` or an empty object, `Err` with what was
/// found when it is not an object at all.
fn layer_object(layer: &Value) -> Result<Option<&Map<String, Value>>, String> {
    match layer {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(settings_section(layer).and_then(Value::as_object)),
        other => Err(describe(other)),
    }
}

/// Deep-merges `layer` into `base`. A `null` leaf means "not set in this layer", so a client that
/// sends every setting with `null` for the unset ones does not hide the lower layers.
fn merge(base: &mut Map<String, Value>, layer: &Map<String, Value>) {
    for (key, value) in layer {
        match (base.get_mut(key), value) {
            (_, Value::Null) => {}
            (Some(Value::Object(below)), Value::Object(above)) => merge(below, above),
            (_, Value::Object(above)) => {
                let mut fresh = Map::new();
                merge(&mut fresh, above);
                base.insert(key.clone(), Value::Object(fresh));
            }
            (_, other) => {
                base.insert(key.clone(), other.clone());
            }
        }
    }
}

/// Every known key, with the defaults as values. An empty object marks a free-form map.
fn schema() -> Value {
    serde_json::to_value(Config::default()).unwrap_or(Value::Null)
}

/// Warns about unknown keys and removes sections that are not objects. The latter is needed
/// because serde accepts an array for a struct (`"syntax": [5]` would set `maxTrees`).
fn check_keys(
    object: &mut Map<String, Value>,
    known: &Map<String, Value>,
    path: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    if known.is_empty() {
        return;
    }
    object.retain(|key, child| {
        let child_path = format!("{path}.{key}");
        let Some(child_known) = known.get(key) else {
            issues.push(unknown_key(child_path, key, known));
            return true;
        };
        let Some(child_known) = child_known.as_object() else {
            return true;
        };
        if let Some(child) = child.as_object_mut() {
            check_keys(child, child_known, &child_path, issues);
            return true;
        }
        let message = format!(
            "expected an object, found {}; using the default",
            describe(child)
        );
        issues.push(ConfigIssue::error(child_path, message));
        false
    });
}

fn unknown_key(path: String, key: &str, known: &Map<String, Value>) -> ConfigIssue {
    let folded = fold(key);
    if folded.contains("apikey") || folded == "key" || folded == "token" {
        return ConfigIssue::warning(
            path,
            "spark-lsp never reads keys from settings; remove it, put the key in an environment \
             variable and name that variable in spark.provider.apiKeyEnv",
        );
    }
    let parent = path.rsplit_once('.').map_or("spark", |(parent, _)| parent);
    let suggestion = known
        .keys()
        .map(|name| (edit_distance(&folded, &fold(name)), name))
        .filter(|(distance, _)| *distance <= 2)
        .min();
    let message = match suggestion {
        Some((_, name)) => format!("unknown key, ignored; did you mean {parent}.{name}"),
        None => "unknown key, ignored; see docs/configuration.md for the known keys".to_owned(),
    };
    ConfigIssue::warning(path, message)
}

/// Lowercase without `_` and `-`, so `max_file_bytes` matches `maxFileBytes`.
fn fold(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

fn deserialize(merged: &mut Value, schema: &Value, issues: &mut Vec<ConfigIssue>) -> Config {
    // Each failed attempt removes one value, so there are at most as many attempts as values;
    // the bound only guards against a bug turning this into an endless loop.
    for _ in 0..=count_values(merged) {
        let err = match serde_path_to_error::deserialize::<_, Config>(&*merged) {
            Ok(config) => return config,
            Err(err) => err,
        };
        // Stop at the first array index: removing one item of an argv would run another command.
        let mut keys = Vec::new();
        let mut item = None;
        for segment in err.path() {
            match segment {
                Segment::Map { key } => keys.push(key.clone()),
                Segment::Seq { index } => {
                    item = Some(*index);
                    break;
                }
                Segment::Enum { .. } | Segment::Unknown => break,
            }
        }
        let key = std::iter::once("spark")
            .chain(keys.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(".");
        let found = lookup(merged, &keys).and_then(|value| match item {
            Some(index) => value.get(index),
            None => Some(value),
        });
        let Some(found) = found else {
            break;
        };
        let mut message = explain(&err.inner().to_string(), found);
        if let Some(index) = item {
            message = format!("item {index}: {message}");
        }
        let fallback = match keys.split_last() {
            Some((_, parent)) if lookup(schema, parent).is_some_and(is_free_form) => "ignored",
            _ => "using the default",
        };
        issues.push(ConfigIssue::error(key, format!("{message}; {fallback}")));
        if !remove(merged, &keys) {
            break;
        }
    }
    issues.push(ConfigIssue::error(
        "spark",
        "the settings could not be read; using the defaults for all of them, please report this",
    ));
    Config::default()
}

fn count_values(value: &Value) -> usize {
    let children = match value {
        Value::Array(items) => items.iter().map(count_values).sum(),
        Value::Object(object) => object.values().map(count_values).sum(),
        _ => 0,
    };
    children + 1
}

fn is_free_form(schema: &Value) -> bool {
    schema.as_object().is_some_and(Map::is_empty)
}

fn lookup<'a>(value: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |value, key| value.get(key))
}

fn remove(value: &mut Value, keys: &[String]) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let parent = parents
        .iter()
        .try_fold(value, |value, key| value.get_mut(key));
    parent
        .and_then(Value::as_object_mut)
        .and_then(|object| object.remove(last))
        .is_some()
}

/// Rewrites a serde error as "expected X, found Y" in user terms. Values are not echoed except
/// for enum names and numbers: a string in the wrong place might be a pasted secret.
fn explain(error: &str, found: &Value) -> String {
    let error = error.replace('`', "");
    let Some((head, expected)) = error.split_once(", expected ") else {
        return error;
    };
    if head.starts_with("unknown variant") {
        return format!("expected {expected}, found {found}");
    }
    format!("expected {}, found {}", friendly(expected), describe(found))
}

fn friendly(expected: &str) -> &str {
    match expected {
        "u64" | "usize" => "a non-negative integer",
        "u32" => "an integer from 0 to 4294967295",
        "f32" | "f64" => "a number",
        "a sequence" => "an array",
        "a map" => "an object",
        other if other.starts_with("struct ") => "an object",
        other => other,
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(_) => "a boolean".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
