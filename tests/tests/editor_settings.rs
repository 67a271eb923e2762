//! The VS Code extension's `spark.*` settings mirror the server's configuration schema: one
//! setting per key of `Config`, with the server's default (`null` where the server has none).
//! A key added to the server without its setting (or a default that drifts) fails here.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use spark_lsp::config::Config;

/// The extension's own settings, which the server never sees.
const CLIENT_KEYS: &[&str] = &["enable", "server.path", "server.extraArgs"];

#[test]
fn vscode_settings_mirror_every_server_key_with_its_default() -> anyhow::Result<()> {
    let schema = serde_json::to_value(Config::default())?;
    let mut server = BTreeMap::new();
    for (section, fields) in schema.as_object().into_iter().flatten() {
        for (field, default) in fields.as_object().into_iter().flatten() {
            server.insert(format!("{section}.{field}"), default.clone());
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/vscode/package.json");
    let package: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let properties = package["contributes"]["configuration"]["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let settings: BTreeMap<String, Value> = properties
        .iter()
        .filter_map(|(key, schema)| {
            let key = key.strip_prefix("spark.")?;
            (!CLIENT_KEYS.contains(&key)).then(|| (key.to_owned(), schema["default"].clone()))
        })
        .collect();
    assert_eq!(settings, server);
    Ok(())
}
