//! Helix, replayed: the real `spark-lsp` binary over stdio driven the way Helix 25.07.1 drives a
//! language server (its recorded `initialize` from `tests/fixtures/clients/helix-25.07.1.jsonl`, the
//! config table as `initializationOptions` and as bare settings, utf-8 positions, `didChange`
//! per keystroke, `textDocument/completion` asked again while `isIncomplete`, pipelined and
//! never cancelled, code actions resolved and their `documentChanges` applied), against the
//! reference model server with scripted answers, and with zero configuration against the
//! embedded model. What Helix would show and apply is checked text for text.

use serde_json::{Value, json};
use spark_tests::lsp_client::{LspClient, cache_with_model};
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};
use spark_tests::recorded_session;
use spark_tests::text_edits::{self, Units};

const KEY: &str = "sk-spark-helix-0123456789";

/// Helix's recorded `initialize` params with `config` (the `languages.toml` table) as its
/// `initializationOptions`.
fn recorded_initialize(config: &Value) -> anyhow::Result<Value> {
    let session = recorded_session("helix-25.07.1.jsonl")?;
    let mut initialize = session
        .iter()
        .find(|m| m["method"] == "initialize")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no initialize in the recording"))?;
    // Helix never sends $/cancelRequest; the recording proves there is none to replay.
    assert!(session.iter().all(|m| m["method"] != "$/cancelRequest"));
    initialize["params"]["initializationOptions"] = config.clone();
    Ok(initialize["params"].take())
}

/// Helix's recorded `initialize` params, configured (as `languages.toml` would) for `server`.
fn helix_initialize(server: &ModelServer) -> anyhow::Result<(Value, Value)> {
    let config = json!({"provider": {"kind": "openai-chat", "baseUrl": server.http_base(),
        "model": "m", "apiKeyEnv": "SPARK_HELIX_KEY"}});
    Ok((recorded_initialize(&config)?, config))
}

/// Starts the binary and goes through Helix's start-up: `initialize`, `initialized`, then the
/// config table again as bare `workspace/didChangeConfiguration` settings.
async fn start_as_helix(server: &ModelServer) -> anyhow::Result<LspClient> {
    let (params, config) = helix_initialize(server)?;
    let mut client = LspClient::spawn(&[], &[("SPARK_HELIX_KEY", KEY)]).await?;
    let response = client.request("initialize", params).await?;
    let capabilities = &response["result"]["capabilities"];
    assert_eq!(
        capabilities["positionEncoding"], "utf-8",
        "Helix's first choice"
    );
    assert!(capabilities["completionProvider"].is_object());
    assert_eq!(capabilities["codeActionProvider"]["resolveProvider"], true);
    client.notify("initialized", json!({})).await?;
    client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": config}),
        )
        .await?;
    Ok(client)
}

/// One keystroke as Helix sends it: an insertion at `(line, character)`.
async fn type_char(
    client: &mut LspClient,
    uri: &str,
    text: &mut String,
    version: i32,
    (line, character): (u32, u32),
    typed: &str,
) -> anyhow::Result<()> {
    let at = json!({"line": line, "character": character});
    let range = json!({"start": at, "end": at});
    *text = apply_edits(text, &[json!({"range": range, "newText": typed})]);
    let change = json!({"range": range, "text": typed});
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}),
        )
        .await
}

fn completion(uri: &str, line: u32, character: u32, trigger_kind: u32) -> Value {
    json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character},
        "context": {"triggerKind": trigger_kind}})
}

async fn stats(client: &mut LspClient) -> anyhow::Result<Value> {
    Ok(client.request("spark/stats", Value::Null).await?["result"].take())
}

/// The completion item's edit, or `Null` when the list is empty.
fn item_edit(response: &Value) -> Value {
    response["result"]["items"][0]["textEdit"].clone()
}

#[tokio::test]
async fn helix_completes_retypes_from_the_cache_and_applies_the_item() -> anyhow::Result<()> {
    let server = ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await?;
    // The model answers the insertion at the cursor, after the `r` the user typed.
    server.push_answer("eturn a + b");
    let mut client = start_as_helix(&server).await?;
    let uri = "file:///project/probe.py";
    let mut text = "def add(a, b):\n    \n".to_owned();
    client.open(uri, "python", 0, &text).await?;

    // The user types `r`, then C-x: an invoked completion. The provider is built in the
    // background after `initialize`; until it is up the answer is empty, so ask again as a
    // user would.
    type_char(&mut client, uri, &mut text, 1, (1, 4), "r").await?;
    let mut edit = Value::Null;
    for _ in 0..200 {
        edit = item_edit(
            &client
                .request("textDocument/completion", completion(uri, 1, 5, 1))
                .await?,
        );
        if !edit.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(text, "def add(a, b):\n    r\n");
    assert_eq!(
        apply_edits(&text, std::slice::from_ref(&edit)),
        "def add(a, b):\n    return a + b\n",
        "the item completes the line: {edit}"
    );
    let before = stats(&mut client).await?;
    assert_eq!(before["modelCalls"], 1, "{before}");

    // The list is incomplete, so Helix asks again on each keystroke, without waiting for the
    // previous answer and without cancelling it.
    type_char(&mut client, uri, &mut text, 2, (1, 5), "e").await?;
    let first = client
        .start_request("textDocument/completion", completion(uri, 1, 6, 3))
        .await?;
    type_char(&mut client, uri, &mut text, 3, (1, 6), "t").await?;
    let second = client
        .start_request("textDocument/completion", completion(uri, 1, 7, 3))
        .await?;
    let first = client.response(first).await?;
    let second = client.response(second).await?;
    assert!(first.get("error").is_none(), "{first}");
    let edit = item_edit(&second);
    assert_eq!(second["result"]["isIncomplete"], true, "{second}");
    assert_eq!(
        apply_edits(&text, std::slice::from_ref(&edit)),
        "def add(a, b):\n    return a + b\n",
        "still the same suggestion after typing `ret`: {edit}"
    );
    let after = stats(&mut client).await?;
    assert_eq!(after["modelCalls"], 1, "no new model call: {after}");
    let hits = |s: &Value| s["cacheHits"].as_u64().unwrap_or_default();
    assert!(
        hits(&after) > hits(&before),
        "re-requests are cache hits: {before} → {after}"
    );

    // Accepting the item: Helix applies it as a plain didChange (its versions jump).
    let accept = json!({"range": edit["range"], "text": edit["newText"]});
    text = apply_edits(&text, std::slice::from_ref(&edit));
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [accept]}),
        )
        .await?;
    assert_eq!(text, "def add(a, b):\n    return a + b\n");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);
    assert!(
        !client
            .received
            .iter()
            .any(|m| m["method"] == "window/showMessage"),
        "no error shown: {:?}",
        client.received
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn helix_resolves_a_code_action_and_applies_its_utf8_edit() -> anyhow::Result<()> {
    let server = ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await?;
    let mut client = start_as_helix(&server).await?;
    let uri = "file:///project/accents.py";
    // Multi-byte characters before the edited words: the edit's columns are utf-8 bytes.
    let text = "def somme(a, b):\n    résultat = a + b\n    return résultat\n";
    client.open(uri, "python", 0, text).await?;
    let params = json!({"textDocument": {"uri": uri},
        "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}},
        "context": {"diagnostics": [], "triggerKind": 1}});
    let actions = client.request("textDocument/codeAction", params).await?["result"].clone();
    let titles: Vec<&str> = actions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["title"].as_str())
        .collect();
    assert!(titles.contains(&"Simplify"), "{titles:?}");
    assert!(
        !titles
            .iter()
            .any(|t| t.starts_with("Rewrite with instruction")),
        "Helix cannot prompt for an instruction: {titles:?}"
    );
    let simplify = actions
        .as_array()
        .and_then(|a| a.iter().find(|a| a["title"] == "Simplify"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no Simplify"))?;
    assert!(simplify.get("edit").is_none(), "listing is free");
    assert_eq!(
        server.requests_for(Endpoint::ChatCompletions).len(),
        0,
        "listing called no model"
    );

    // Helix resolves the chosen action for its edit; until the provider is up there is none.
    let mut resolved = Value::Null;
    for _ in 0..200 {
        server.push_answer("def somme(a, b):\n    return a + b\n");
        resolved = client
            .request("codeAction/resolve", simplify.clone())
            .await?["result"]
            .clone();
        if resolved.get("edit").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let change = &resolved["edit"]["documentChanges"][0];
    assert_eq!(
        change["textDocument"],
        json!({"uri": uri, "version": 0}),
        "versioned, as Helix declares documentChanges"
    );
    let edits = change["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        apply_edits(text, &edits),
        "def somme(a, b):\n    return a + b\n",
        "{edits:?}"
    );

    // Helix shows the model's work in its status line through $/progress on a token the server
    // created.
    assert!(
        client
            .received
            .iter()
            .any(|m| m["method"] == "window/workDoneProgress/create"),
        "{:?}",
        client.received
    );
    let mut kinds = Vec::new();
    while !kinds.contains(&"end".to_owned()) {
        let progress = client.notification("$/progress").await?;
        kinds.push(
            progress["value"]["kind"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert!(kinds.contains(&"begin".to_owned()), "{kinds:?}");
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}

/// Applies LSP text edits to `text` as the client does (Utf8 columns).
fn apply_edits(text: &str, edits: &[Value]) -> String {
    text_edits::apply(text, edits, Units::Utf8)
}

/// Zero configuration in Helix: `languages.toml` names the binary and nothing else, no key in
/// the environment, so the server runs its embedded model; the suggestion comes as a completion
/// item (within the item budget, or from the cache when Helix asks again) and applies.
#[tokio::test]
async fn with_zero_configuration_helix_gets_the_embedded_models_suggestion() -> anyhow::Result<()> {
    let cache = cache_with_model()?;
    let initialize = recorded_initialize(&json!({}))?;
    let mut client =
        LspClient::spawn(&[], &[("XDG_CACHE_HOME", &*cache.to_string_lossy())]).await?;
    client.request("initialize", initialize).await?;
    client.notify("initialized", json!({})).await?;
    let uri = "file:///project/add.py";
    let mut text =
        "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    retur\n".to_owned();
    client.open(uri, "python", 0, &text).await?;
    type_char(&mut client, uri, &mut text, 1, (2, 9), "n").await?;
    type_char(&mut client, uri, &mut text, 2, (2, 10), " ").await?;
    // Helix asks again while typing; here the user pauses and it asks again on a timer. The
    // model loads in the background: a deadline for a loaded machine, not a speed test.
    let mut response = Value::Null;
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 120 {
        response = client
            .request("textDocument/completion", completion(uri, 2, 11, 1))
            .await?;
        if !item_edit(&response).is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(response["result"]["isIncomplete"], true, "{response}");
    assert_eq!(
        apply_edits(&text, &[item_edit(&response)]),
        "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    return a + b\n",
        "{response}"
    );
    client.shutdown_and_exit().await?;
    Ok(())
}
