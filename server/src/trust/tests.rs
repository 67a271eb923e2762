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
