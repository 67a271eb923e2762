//! The verdict on a workspace file: what applies when untrusted, changed, restricted or trusted.

use std::path::PathBuf;

use serde_json::json;

use super::*;

fn hostile() -> WorkspaceFile {
    WorkspaceFile {
        path: PathBuf::from("/w/spark-lsp.toml"),
        sha256: "aa".to_owned(),
        value: json!({
            "provider": {"apiKeyCommand": ["sh", "-c", "touch /tmp/pwned"], "model": "m"},
            "completion": {"itemBudgetMs": 50},
        }),
    }
}

fn store(tag: &str) -> TrustStore {
    let dir = std::env::temp_dir().join(format!("spark-lsp-verdict-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    TrustStore::in_dir(dir)
}

#[test]
fn untrusted_changed_restricted_and_trusted() {
    let file = hostile();
    let safe = json!({"spark": {"provider": {"model": "m"}, "completion": {"itemBudgetMs": 50}}});

    let verdict = judge(&file, None, true);
    assert_eq!(verdict.layer, safe);
    assert_eq!(verdict.ignored, ["provider.apiKeyCommand"]);
    assert_eq!(verdict.distrust, Some(Distrust::Untrusted));

    let store = store("cycle");
    store.trust(&file.path, "aa").expect("trust");
    let verdict = judge(&file, Some(&store), true);
    assert_eq!(verdict.layer, file.value);
    assert!(verdict.ignored.is_empty());
    assert_eq!(verdict.distrust, None);

    let verdict = judge(&file, Some(&store), false);
    assert_eq!(verdict.layer, safe);
    assert_eq!(verdict.distrust, Some(Distrust::Restricted));

    let edited = WorkspaceFile {
        sha256: "bb".to_owned(),
        ..file
    };
    let verdict = judge(&edited, Some(&store), true);
    assert_eq!(verdict.ignored, ["provider.apiKeyCommand"]);
    assert_eq!(verdict.distrust, Some(Distrust::Changed));
    let _ = std::fs::remove_dir_all(store.path().parent().expect("dir"));
}

/// However the file nests the `spark` section, what resolving applies was filtered.
#[test]
fn nested_spark_sections_cannot_smuggle_keys() {
    let command = json!(["sh", "-c", "touch /tmp/pwned"]);
    for value in [
        json!({"spark": {"provider": {"apiKeyCommand": command}}}),
        json!({"spark": {"spark": {"provider": {"apiKeyCommand": command}}}}),
        json!({"provider": {"apiKeyCommand": command}, "spark": {"log": {"file": "/tmp/x"}}}),
    ] {
        let (layer, _) = untrusted_layer(&value);
        let sources = crate::config::ConfigSources {
            workspace_file: Some(layer),
            ..Default::default()
        };
        let (config, _) = sources.resolve();
        assert_eq!(config.provider.api_key_command, None, "{value}");
        assert_eq!(config.log.file, None, "{value}");
    }
}

#[test]
fn the_message_names_the_keys_and_the_way_to_trust() {
    let message = ignored_message(
        std::path::Path::new("/w/spark-lsp.toml"),
        &["log.file".to_owned(), "provider.baseUrl".to_owned()],
        Distrust::Untrusted,
    );
    assert!(message.contains("log.file, provider.baseUrl"), "{message}");
    assert!(message.contains("spark-lsp trust /w"), "{message}");
    assert!(message.contains(":Spark trust"), "{message}");
}

/// Arbitrary layers: schema keys (or sections) under any number of `spark` wrappers, with
/// values of every JSON type, hostile ones of the right type included.
fn layer() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    let mut targets: Vec<String> = keys::KEYS
        .iter()
        .map(|(key, _)| (*key).to_owned())
        .collect();
    targets.extend(["provider", "log", "spark", "provider.headers.X-Leak"].map(str::to_owned));
    let value = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        (0u32..100).prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "fim",
            "local",
            "http",
            "http://127.0.0.1:9/v1",
            "/tmp/x",
            "K"
        ])
        .prop_map(serde_json::Value::from),
        Just(json!(["sh", "-c", "touch /tmp/pwned"])),
        Just(json!({"X-Leak": "1", "file": "/tmp/x"})),
    ];
    let entry = (0usize..4, prop::sample::select(targets), value);
    prop::collection::vec(entry, 1..6).prop_map(|entries| {
        let mut layer = json!({});
        for (wrappers, key, value) in entries {
            let path = std::iter::repeat_n("spark", wrappers).chain(key.split('.'));
            let mut slot = &mut layer;
            for name in path {
                if !slot.is_object() {
                    *slot = json!({});
                }
                slot = &mut slot[name];
            }
            *slot = value;
        }
        layer
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

    /// The law: whatever an untrusted file holds, every sensitive key resolves to what the layers
    /// below it said (here: the defaults).
    #[test]
    fn an_untrusted_layer_never_sets_a_sensitive_key(value in layer()) {
        let (filtered, _) = untrusted_layer(&value);
        let sources = crate::config::ConfigSources {
            workspace_file: Some(filtered),
            ..Default::default()
        };
        let (config, _) = sources.resolve();
        let resolved = serde_json::to_value(&config).expect("serializes");
        let defaults = serde_json::to_value(crate::config::Config::default()).expect("serializes");
        for key in keys::sensitive_keys() {
            let pointer = format!("/{}", key.replace('.', "/"));
            proptest::prop_assert_eq!(resolved.pointer(&pointer), defaults.pointer(&pointer), "{}", key);
        }
    }
}
