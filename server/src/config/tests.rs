//! Data-driven tests: each case is the layers as JSON and a snapshot of what differs from the
//! defaults plus the issues, one per line. Update snapshots with `UPDATE_EXPECT=1`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use expect_test::{Expect, expect};
use serde_json::{Value, json};

use super::{CONFIG_FILE_NAME, Config, ConfigFiles, ConfigSources, Headers, settings_section};

fn check(file: Value, init_options: Value, settings: Value, expect: Expect) {
    expect.assert_eq(&render(file, init_options, settings));
}

fn render(file: Value, init_options: Value, settings: Value) -> String {
    let sources = ConfigSources {
        user_file: Some(file),
        workspace_file: None,
        init_options: Some(init_options),
        settings: Some(settings),
    };
    let (config, issues) = sources.resolve();
    let mut out = render_diff(&config);
    for issue in issues {
        out.push_str(&format!(
            "{:?}: {}\n",
            issue.severity,
            issue.to_string_for_user()
        ));
    }
    out
}

/// The leaves of `config` that differ from the defaults, as `dotted.key = json`.
fn render_diff(config: &Config) -> String {
    fn walk(path: &str, value: &Value, default: &Value, out: &mut String) {
        match (value, default) {
            (Value::Object(value), Value::Object(default)) if !default.is_empty() => {
                for (key, child) in value {
                    let child_default = default.get(key).unwrap_or(&Value::Null);
                    walk(&format!("{path}.{key}"), child, child_default, out);
                }
            }
            _ if value != default => out.push_str(&format!("{path} = {value}\n")),
            _ => {}
        }
    }
    let to_json = |config: &Config| serde_json::to_value(config).unwrap_or_default();
    let mut out = String::new();
    walk(
        "spark",
        &to_json(config),
        &to_json(&Config::default()),
        &mut out,
    );
    out
}

#[test]
fn defaults() {
    let (config, issues) = ConfigSources::default().resolve();
    assert_eq!(config, Config::default());
    assert!(issues.is_empty());
    let json = serde_json::to_string_pretty(&config).unwrap_or_default();
    expect![[r#"
        {
          "provider": {
            "kind": "openai-responses",
            "transport": "websocket",
            "baseUrl": "https://api.openai.com/v1",
            "model": "gpt-5.3-codex-spark",
            "apiKeyEnv": "OPENAI_API_KEY",
            "apiKeyCommand": null,
            "headers": {},
            "fimApi": null,
            "timeoutMs": 10000,
            "connectTimeoutMs": 3000,
            "reconnectMinMs": 250,
            "reconnectMaxMs": 30000,
            "caCertFile": null,
            "maxOutputTokens": 256,
            "temperature": null,
            "reasoning": "least",
            "modelPath": null,
            "threads": null
          },
          "documents": {
            "maxFileBytes": 4194304
          },
          "syntax": {
            "maxTrees": 8
          },
          "secrets": {
            "extraGlobs": []
          },
          "log": {
            "level": null,
            "file": null
          },
          "completion": {
            "maxInFlight": 4,
            "itemBudgetMs": null
          },
          "nextEdit": {
            "format": "auto",
            "eagerness": "auto",
            "cooldownMs": 5000,
            "jumps": true,
            "modelJump": true
          }
        }"#]]
    .assert_eq(&json);
}

#[test]
fn later_layers_win_per_leaf() {
    check(
        json!({"provider": {"model": "file", "timeoutMs": 1, "headers": {"A": "1"}},
               "syntax": {"maxTrees": 2}}),
        json!({"provider": {"model": "init", "timeoutMs": 2, "headers": {"B": "2"}}}),
        json!({"spark": {"provider": {"model": "settings", "temperature": null}}}),
        expect![[r#"
            spark.provider.headers = {"A":"1","B":"2"}
            spark.provider.model = "settings"
            spark.provider.timeoutMs = 2
            spark.syntax.maxTrees = 2
        "#]],
    );
}

#[test]
fn null_leaves_do_not_hide_lower_layers() {
    check(
        json!({"provider": {"temperature": 0.5, "model": "file"}}),
        Value::Null,
        json!({"provider": {"temperature": null, "model": null, "apiKeyCommand": null}}),
        expect![[r#"
            spark.provider.model = "file"
            spark.provider.temperature = 0.5
        "#]],
    );
}

#[test]
fn section_wrapper_and_bare_settings_agree() {
    let inner = json!({"provider": {"kind": "fim", "baseUrl": "http://localhost:8012"}});
    let wrapped = render(Value::Null, Value::Null, json!({"spark": inner.clone()}));
    assert_eq!(wrapped, render(Value::Null, Value::Null, inner));
    expect![[r#"
        spark.provider.baseUrl = "http://localhost:8012"
        spark.provider.fimApi = "llama-cpp"
        spark.provider.kind = "fim"
    "#]]
    .assert_eq(&wrapped);
}

#[test]
fn settings_section_cases() {
    let cases = [
        (json!({"spark": {"a": 1}}), Some(json!({"a": 1}))),
        (json!({"provider": {}}), Some(json!({"provider": {}}))),
        (json!({"spark": 1}), Some(json!({"spark": 1}))),
        (json!({"spark": {}}), Some(json!({}))),
        (json!({}), None),
        (Value::Null, None),
        (json!("spark"), None),
        (json!([{"spark": {}}]), None),
    ];
    for (settings, expected) in cases {
        assert_eq!(settings_section(&settings), expected.as_ref(), "{settings}");
    }
}

#[test]
fn helix_initialization_options() {
    check(
        Value::Null,
        json!({"provider": {"apiKeyEnv": "SPARK_TEST_KEY", "baseUrl": "http://127.0.0.1:8080/v1",
                            "kind": "openai-chat", "model": "m"}}),
        Value::Null,
        expect![[r#"
            spark.provider.apiKeyEnv = "SPARK_TEST_KEY"
            spark.provider.baseUrl = "http://127.0.0.1:8080/v1"
            spark.provider.kind = "openai-chat"
            spark.provider.model = "m"
        "#]],
    );
}

#[test]
fn bad_enum_value_keeps_its_siblings() {
    check(
        Value::Null,
        json!({"provider": {"kind": "opnai", "model": "m", "transport": "grpc", "fimApi": "x"}}),
        Value::Null,
        expect![[r#"
            spark.provider.model = "m"
            Error: spark-lsp: invalid setting spark.provider.fimApi: expected one of llama-cpp, ollama, codestral, deepseek, found "x"; using the default
            Error: spark-lsp: invalid setting spark.provider.kind: expected one of openai-responses, openai-chat, fim, anthropic, local, found "opnai"; using the default
            Error: spark-lsp: invalid setting spark.provider.transport: expected websocket or http, found "grpc"; using the default
        "#]],
    );
}

#[test]
fn the_next_edit_format_is_read_and_a_bad_one_reset() {
    check(
        json!({"nextEdit": {"format": "sweep"}}),
        Value::Null,
        Value::Null,
        expect![[r#"
            spark.nextEdit.format = "sweep"
        "#]],
    );
    check(
        Value::Null,
        json!({"nextEdit": {"format": "zeta"}}),
        Value::Null,
        expect![[r#"
            Error: spark-lsp: invalid setting spark.nextEdit.format: expected one of auto, chat, sweep, found "zeta"; using the default
        "#]],
    );
}

#[test]
fn wrong_types() {
    check(
        json!({"provider": {"timeoutMs": "10", "model": "m", "headers": {"X-A": 5, "X-B": "ok"},
                            "apiKeyCommand": ["pass", 3], "temperature": "hot"},
               "documents": {"maxFileBytes": -1}, "syntax": [], "secrets": {"extraGlobs": "*.pem"},
               "log": {"level": true, "file": "/tmp/spark.log"}}),
        Value::Null,
        Value::Null,
        expect![[r#"
            spark.log.file = "/tmp/spark.log"
            spark.provider.headers = {"X-B":"ok"}
            spark.provider.model = "m"
            Error: spark-lsp: invalid setting spark.syntax: expected an object, found an array; using the default
            Error: spark-lsp: invalid setting spark.documents.maxFileBytes: expected a non-negative integer, found -1; using the default
            Error: spark-lsp: invalid setting spark.log.level: expected a string, found a boolean; using the default
            Error: spark-lsp: invalid setting spark.provider.apiKeyCommand: item 1: expected a string, found 3; using the default
            Error: spark-lsp: invalid setting spark.provider.headers.X-A: expected a string, found 5; ignored
            Error: spark-lsp: invalid setting spark.provider.temperature: expected a number, found a string; using the default
            Error: spark-lsp: invalid setting spark.provider.timeoutMs: expected a non-negative integer, found a string; using the default
            Error: spark-lsp: invalid setting spark.secrets.extraGlobs: expected an array, found a string; using the default
        "#]],
    );
}

#[test]
fn many_bad_keys_are_each_dropped() {
    let headers: serde_json::Map<String, Value> =
        (0..200).map(|i| (format!("X-{i}"), json!(i))).collect();
    let init_options = json!({"provider": {"headers": headers, "model": "m"}});
    let sources = ConfigSources {
        init_options: Some(init_options),
        ..ConfigSources::default()
    };
    let (config, issues) = sources.resolve();
    assert_eq!(config.provider.model, "m");
    assert_eq!(issues.len(), 200);
}

#[test]
fn out_of_range_and_malformed_values() {
    check(
        Value::Null,
        json!({"provider": {"baseUrl": "ftp://example.com", "model": " ", "apiKeyEnv": "sk-abc123",
                            "apiKeyCommand": [], "timeoutMs": 0, "connectTimeoutMs": 0,
                            "maxOutputTokens": 40000, "temperature": 2.5,
                            "headers": {"Bad Name": "x", "X-Ok": "y", "X-Split": "a\r\nb"}},
               "syntax": {"maxTrees": 0}, "log": {"level": "debug,[[["},
               "documents": {"maxFileBytes": 0}}),
        Value::Null,
        expect![[r#"
            spark.documents.maxFileBytes = 0
            spark.provider.headers = {"X-Ok":"y"}
            Error: spark-lsp: invalid setting spark.provider.baseUrl: expected an http(s) or ws(s) url with a host, such as https://api.openai.com/v1; using the default
            Error: spark-lsp: invalid setting spark.provider.model: must not be empty; using the default
            Error: spark-lsp: invalid setting spark.provider.apiKeyEnv: expected the name of an environment variable (letters, digits and _), not the key itself; using the default
            Error: spark-lsp: invalid setting spark.provider.apiKeyCommand: expected a non-empty array: the program, then its arguments; using the default
            Error: spark-lsp: invalid setting spark.provider.timeoutMs: must be greater than 0; using the default
            Error: spark-lsp: invalid setting spark.provider.connectTimeoutMs: must be greater than 0; using the default
            Error: spark-lsp: invalid setting spark.provider.maxOutputTokens: must be from 1 to 32768; using the default
            Error: spark-lsp: invalid setting spark.provider.temperature: must be from 0 to 2; using the default
            Error: spark-lsp: invalid setting spark.provider.headers.Bad Name: expected a header name made of letters, digits and -; ignored
            Error: spark-lsp: invalid setting spark.provider.headers.X-Split: expected a header value without line breaks or control characters; ignored
            Error: spark-lsp: invalid setting spark.syntax.maxTrees: must be at least 1; using the default
            Error: spark-lsp: invalid setting spark.log.level: expected a tracing filter such as info, debug or spark_lsp=trace; using the default
        "#]],
    );
}

#[test]
fn local_model_settings_are_checked() {
    check(
        Value::Null,
        json!({"provider": {"kind": "local", "threads": 0, "modelPath": ""}}),
        Value::Null,
        expect![[r#"
            spark.provider.kind = "local"
            Error: spark-lsp: invalid setting spark.provider.threads: must be from 1 to 64; using the default
            Error: spark-lsp: invalid setting spark.provider.modelPath: expected the path of a GGUF file; using the default
        "#]],
    );
}

#[test]
fn whether_the_provider_kind_was_configured_is_known() {
    let (config, _) = ConfigSources::default().resolve();
    assert!(!config.provider.kind_configured);
    let (config, _) = ConfigSources {
        init_options: Some(json!({"provider": {"kind": "openai-responses"}})),
        ..ConfigSources::default()
    }
    .resolve();
    assert!(config.provider.kind_configured);
    // A bad kind falls back to the default and counts as not configured.
    let (config, _) = ConfigSources {
        init_options: Some(json!({"provider": {"kind": "carrier-pigeon"}})),
        ..ConfigSources::default()
    }
    .resolve();
    assert!(!config.provider.kind_configured);
}

#[test]
fn base_url_shapes() {
    let cases = [
        ("https://api.openai.com/v1", true),
        ("HTTP://127.0.0.1:8080", true),
        ("ws://[::1]:9000/v1", true),
        ("wss://user:pw@host/x?y#z", true),
        ("https://", false),
        ("https://:8080/v1", false),
        ("http:/host", false),
        ("api.openai.com/v1", false),
        ("https://host name", false),
    ];
    for (url, ok) in cases {
        let settings = json!({"provider": {"baseUrl": url}});
        let (config, issues) = ConfigSources {
            settings: Some(settings),
            ..ConfigSources::default()
        }
        .resolve();
        assert_eq!(issues.is_empty(), ok, "{url}: {issues:?}");
        assert_eq!(config.provider.base_url == url, ok, "{url}");
    }
}

#[test]
fn unknown_keys_warn_with_the_full_path() {
    check(
        Value::Null,
        json!({"provider": {"modle": "m", "apiKey": "sk-secret", "headers": {"Anything": "x"}},
               "documents": {"max_file_bytes": 1}, "telemetry": true}),
        Value::Null,
        expect![[r#"
            spark.provider.headers = {"Anything":"x"}
            Warning: spark-lsp: setting spark.documents.max_file_bytes: unknown key, ignored; did you mean spark.documents.maxFileBytes
            Warning: spark-lsp: setting spark.provider.apiKey: spark-lsp never reads keys from settings; remove it, put the key in an environment variable and name that variable in spark.provider.apiKeyEnv
            Warning: spark-lsp: setting spark.provider.modle: unknown key, ignored; did you mean spark.provider.model
            Warning: spark-lsp: setting spark.telemetry: unknown key, ignored; see docs/configuration.md for the known keys
        "#]],
    );
}

#[test]
fn non_object_layers_are_ignored_with_an_issue() {
    check(
        json!(["provider"]),
        json!("gpt"),
        json!({"provider": {"model": "m"}}),
        expect![[r#"
            spark.provider.model = "m"
            Error: spark-lsp: invalid setting spark: expected an object in the user's spark-lsp.toml, found an array; that layer is ignored
            Error: spark-lsp: invalid setting spark: expected an object in initializationOptions, found a string; that layer is ignored
        "#]],
    );
}

#[test]
fn headers_debug_redacts_values() {
    let headers = Headers([("Authorization".to_owned(), "Bearer sk-1".to_owned())].into());
    let debug = format!("{:?}", Config::default().provider.headers) + &format!("{headers:?}");
    assert_eq!(debug, r#"{}{"Authorization": "<redacted>"}"#);
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("spark-lsp-config-{}-{tag}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn write_config(&self, text: &str) -> &Path {
        std::fs::write(self.0.join(CONFIG_FILE_NAME), text).expect("write config");
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn both_files_are_read_and_the_workspace_file_merges_over_the_user_file() {
    let (workspace, user, empty) = (TempDir::new("ws"), TempDir::new("user"), TempDir::new("e"));
    let workspace =
        workspace.write_config("[completion]\nitemBudgetMs = 50\n[provider]\nmodel = \"ws\"\n");
    let user = user.write_config("[provider]\nmodel = \"user\"\nkind = \"fim\"\n");

    let files = ConfigFiles::load_from(Some(workspace), Some(user));
    assert!(files.issues.is_empty(), "{:?}", files.issues);
    let value = |file: Option<super::ConfigFile>| file.map(|file| file.value);
    let sources = ConfigSources {
        user_file: value(files.user.clone()),
        workspace_file: value(files.workspace.clone()),
        ..ConfigSources::default()
    };
    let (config, issues) = sources.resolve();
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(config.provider.kind, super::ProviderKind::Fim);
    assert_eq!(config.provider.model, "ws");
    assert_eq!(config.completion.item_budget_ms, Some(50));
    let workspace_file = files.workspace.expect("workspace file");
    assert!(workspace_file.path.is_absolute());
    assert_eq!(
        std::fs::read(&workspace_file.path).ok(),
        Some(workspace_file.bytes)
    );

    let files = ConfigFiles::load_from(Some(&empty.0), Some(user));
    assert_eq!(files.workspace, None);
    assert_eq!(
        value(files.user),
        Some(json!({"provider": {"model": "user", "kind": "fim"}}))
    );
    // The user's own directory opened as the workspace: one file, the user's (trusted).
    let files = ConfigFiles::load_from(Some(user), Some(user));
    assert!(files.user.is_some() && files.workspace.is_none());
    assert_eq!(
        ConfigFiles::load_from(Some(&empty.0), None),
        ConfigFiles::default()
    );
}

#[test]
fn toml_parse_error_names_the_file_and_line() {
    let dir = TempDir::new("bad");
    let root = dir.write_config("[provider]\nmodel = \"m\"\ntimeoutMs = = 5\n");
    let files = ConfigFiles::load_from(Some(root), None);
    assert_eq!(files.workspace, None);
    let issues = files.issues;
    let shown = std::fs::canonicalize(root.join(CONFIG_FILE_NAME))
        .expect("canonical")
        .display()
        .to_string();
    let lines: Vec<String> = issues
        .iter()
        .map(|issue| issue.to_string_for_user().replace(&shown, "$FILE"))
        .collect();
    expect![[r#"
        [
            "spark-lsp: invalid setting spark: cannot parse $FILE at line 3: extra `=`, expected nothing; fix the file, it is ignored until then",
        ]
    "#]]
    .assert_debug_eq(&lines);
}

#[test]
fn an_oversized_file_is_not_read() {
    let dir = TempDir::new("big");
    let text = format!("# {}\n", "x".repeat(1 << 20));
    let files = ConfigFiles::load_from(Some(dir.write_config(&text)), None);
    assert_eq!(files.workspace, None);
    assert_eq!(files.issues.len(), 1, "{:?}", files.issues);
    assert!(
        files.issues[0]
            .message
            .contains("more than a configuration file can be")
    );
}

#[test]
fn toml_values_go_through_the_same_checks() {
    let dir = TempDir::new("typed");
    let text = "[provider]\ntimeoutMs = -5\nmodel = \"m\"\n[syntax]\nmaxTrees = 9\n";
    let files = ConfigFiles::load_from(Some(dir.write_config(text)), None);
    check(
        files.workspace.map(|file| file.value).unwrap_or_default(),
        Value::Null,
        Value::Null,
        expect![[r#"
            spark.provider.model = "m"
            spark.syntax.maxTrees = 9
            Error: spark-lsp: invalid setting spark.provider.timeoutMs: expected a non-negative integer, found -5; using the default
        "#]],
    );
}

/// The examples in docs/configuration.md resolve without issues, so the docs stay true.
#[test]
fn documented_examples_are_valid() {
    let doc = include_str!("../../../docs/configuration.md");
    let blocks = |lang: &str| -> Vec<String> {
        let fence = format!("```{lang}\n");
        doc.split(fence.as_str())
            .skip(1)
            .filter_map(|rest| rest.split_once("```").map(|(block, _)| block.to_owned()))
            .collect()
    };
    let mut layers: Vec<Value> = blocks("toml")
        .iter()
        .map(|text| toml::from_str(text).expect("toml example parses"))
        .collect();
    for text in blocks("json") {
        let value: Value = serde_json::from_str(&text).expect("json example parses");
        layers.push(unflatten_vscode_settings(value));
    }
    assert_eq!(layers.len(), 4);
    for layer in layers {
        let (_, issues) = ConfigSources {
            settings: Some(layer.clone()),
            ..ConfigSources::default()
        }
        .resolve();
        assert!(issues.is_empty(), "{layer}: {issues:?}");
    }
}

/// Turns VS Code's `"spark.provider.kind": x` into `{"spark": {"provider": {"kind": x}}}`, as
/// the client's configuration API does.
fn unflatten_vscode_settings(value: Value) -> Value {
    let Value::Object(flat) = value else {
        return value;
    };
    let mut nested = Value::Object(serde_json::Map::new());
    for (dotted, leaf) in flat {
        let mut slot = &mut nested;
        for key in dotted.split('.') {
            slot = &mut slot[key];
        }
        *slot = leaf;
    }
    nested
}

#[test]
fn next_edit_settings_and_their_bad_values() {
    check(
        Value::Null,
        json!({"nextEdit": {"eagerness": "low", "cooldownMs": 0}}),
        Value::Null,
        expect![[r#"
            spark.nextEdit.cooldownMs = 0
            spark.nextEdit.eagerness = "low"
        "#]],
    );
    check(
        Value::Null,
        json!({"nextEdit": {"eagerness": "sometimes", "cooldownMs": 9_999_999}}),
        Value::Null,
        expect![[r#"
            Error: spark-lsp: invalid setting spark.nextEdit.eagerness: expected one of auto, low, medium, high, found "sometimes"; using the default
            Error: spark-lsp: invalid setting spark.nextEdit.cooldownMs: must be from 0 to 600000; using the default
        "#]],
    );
}
