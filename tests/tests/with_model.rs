//! End-to-end: the real `spark-lsp` binary, configured like a user would, against the reference
//! model server over real loopback sockets. The suggestion the editor gets is the model's answer,
//! the key reaches only the provider, and the WebSocket session is one warm socket.

use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};

const KEY: &str = "sk-spark-e2e-0123456789";

async fn model_server() -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        default_answer: "a + b".into(),
        ..ModelServerConfig::default()
    })
    .await
}

async fn spark(provider: Value, capabilities: Value) -> anyhow::Result<LspClient> {
    let env = [("SPARK_E2E_KEY", KEY), ("SPARK_LSP_LOG", "trace")];
    let mut client = LspClient::spawn(&[], &env).await?;
    let mut provider = provider;
    provider["apiKeyEnv"] = json!("SPARK_E2E_KEY");
    provider["model"] = json!("m");
    client
        .initialize(capabilities, json!({ "provider": provider }))
        .await?;
    Ok(client)
}

/// Asks until the provider, built in the background after `initialize`, answers.
async fn first_answer(
    client: &mut LspClient,
    method: &str,
    params: Value,
) -> anyhow::Result<Value> {
    for _ in 0..200 {
        let response = client.request(method, params.clone()).await?;
        if !response["result"].is_null() {
            return Ok(response["result"].clone());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    anyhow::bail!("no answer from {method}")
}

#[tokio::test]
async fn helix_gets_the_models_answer_as_a_completion_item_over_openai_chat() -> anyhow::Result<()>
{
    let server = model_server().await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base()});
    let capabilities = json!({"general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]}});
    let mut client = spark(provider, capabilities).await?;
    client
        .open(
            "file:///p/probe.py",
            "python",
            0,
            "def add(a, b):\n    return \n",
        )
        .await?;
    let params = json!({"textDocument": {"uri": "file:///p/probe.py"}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 1}});
    let list = first_answer(&mut client, "textDocument/completion", params).await?;
    assert_eq!(list["isIncomplete"], true);
    assert_eq!(list["items"][0]["textEdit"]["newText"], "a + b");

    // What reached the model: the document around the cursor, the key only as the bearer token.
    let requests = server.requests_for(Endpoint::ChatCompletions);
    let last = requests
        .last()
        .ok_or_else(|| anyhow::anyhow!("no chat request"))?;
    assert_eq!(
        last.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body = last.body.to_string();
    assert!(
        body.contains("def add(a, b):") && body.contains("<|cursor|>"),
        "{body}"
    );
    assert!(!body.contains(KEY));

    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn inline_completions_stream_over_one_warm_websocket() -> anyhow::Result<()> {
    let server = model_server().await?;
    let provider = json!({"kind": "openai-responses", "transport": "websocket", "baseUrl": server.http_base()});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}});
    let mut client = spark(provider, capabilities).await?;
    client
        .open(
            "file:///p/m.rs",
            "rust",
            1,
            "fn add(a: u32, b: u32) -> u32 {\n    \n}\n",
        )
        .await?;
    let params = json!({"textDocument": {"uri": "file:///p/m.rs"}, "position": {"line": 1, "character": 4}, "context": {"triggerKind": 2}});
    let items = first_answer(&mut client, "textDocument/inlineCompletion", params.clone()).await?;
    assert_eq!(items[0]["insertText"], "a + b");
    for version in 2..5 {
        let change = json!({"textDocument": {"uri": "file:///p/m.rs", "version": version},
            "contentChanges": [{"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}, "text": " "}]});
        client.notify("textDocument/didChange", change).await?;
        let response = client
            .request("textDocument/inlineCompletion", params.clone())
            .await?;
        assert_eq!(response["result"][0]["insertText"], "a + b", "{response}");
    }
    assert_eq!(
        server.websocket_connections(),
        1,
        "one warm socket for every request"
    );
    // The document's context was warmed once (`generate: false`) and later keystrokes continued
    // from it with only what changed.
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    assert!(
        frames.iter().any(|f| f.body["generate"] == false),
        "a warm-up"
    );
    let continued: Vec<_> = frames
        .iter()
        .filter(|f| f.body["previous_response_id"].is_string())
        .collect();
    assert!(!continued.is_empty(), "continuations: {frames:#?}");
    for frame in continued {
        // The anchored file (`<file path=...>`) stays in the warm base; only the query travels.
        let body = frame.body.to_string();
        assert!(
            !body.contains("<file path=") && body.contains("<|cursor|>"),
            "{body}"
        );
    }

    let mut stderr_client = client;
    stderr_client.request("shutdown", Value::Null).await?;
    stderr_client.notify("exit", Value::Null).await?;
    let log = stderr_client.take_stderr().await.unwrap_or_default();
    assert!(log.contains("provider ready"), "the trace log is on stderr");
    assert!(!log.contains(KEY), "the key never reaches the log");
    assert_eq!(stderr_client.finish().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn a_cloud_provider_without_a_key_is_explained_once_and_nothing_is_dialled()
-> anyhow::Result<()> {
    let mut client = LspClient::spawn(&[], &[]).await?;
    // `kind` set: a configured cloud provider (with nothing configured, the server would look
    // for the local model instead; tests/tests/local_model.rs covers that).
    let options =
        json!({"provider": {"kind": "openai-responses", "apiKeyEnv": "SPARK_E2E_UNSET_KEY"}});
    client.initialize(json!({}), options).await?;
    let message = client.notification("window/showMessage").await?;
    let text = message["message"].as_str().unwrap_or_default();
    assert!(
        text.contains("no API key") && text.contains("SPARK_E2E_UNSET_KEY"),
        "{text}"
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn an_automatic_trigger_gets_the_first_line_early_and_the_rest_from_the_cache()
-> anyhow::Result<()> {
    // A slow decoder (20 tokens/s), so the first line is shown long before the answer ends.
    let server = ModelServer::start(ModelServerConfig {
        cost: CostModel {
            base_latency: std::time::Duration::ZERO,
            prefill_tps: f64::INFINITY,
            decode_tps: 20.0,
        },
        api_key: Some(KEY.into()),
        default_answer: "unused".into(),
        ..ModelServerConfig::default()
    })
    .await?;
    server.push_answer("let sum = a + b;\n    let twice = sum * 2;\n    twice\n");
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base()});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}});
    let mut client = spark(provider, capabilities).await?;
    let uri = "file:///p/add.rs";
    client
        .open(uri, "rust", 1, "fn add(a: u32, b: u32) -> u32 {\n    \n}\n")
        .await?;
    let at = |character: u32, kind: u32| json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": character}, "context": {"triggerKind": kind}});
    let items = first_answer(&mut client, "textDocument/inlineCompletion", at(4, 2)).await?;
    assert_eq!(
        items[0]["insertText"], "let sum = a + b;",
        "only the first line"
    );
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);

    // The user accepts the line and the editor asks again at its end: the rest of the answer
    // streamed on into the cache.
    let change = json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}, "text": "let sum = a + b;"}]});
    client.notify("textDocument/didChange", change).await?;
    let next = client
        .request("textDocument/inlineCompletion", at(20, 2))
        .await?;
    let next = next["result"][0]["insertText"].as_str().unwrap_or_default();
    assert!(next.starts_with("\n    let twice = sum * 2;"), "{next:?}");
    // An invoked request waits for the whole rest.
    let whole = client
        .request("textDocument/inlineCompletion", at(20, 1))
        .await?;
    assert_eq!(
        whole["result"][0]["insertText"],
        "\n    let twice = sum * 2;\n    twice"
    );
    assert_eq!(
        server.requests_for(Endpoint::ChatCompletions).len(),
        1,
        "no new model request"
    );
    let stats = client.request("spark/stats", Value::Null).await?;
    assert_eq!(stats["result"]["cacheHits"], 2, "{stats}");
    assert_eq!(stats["result"]["modelCalls"], 1, "{stats}");
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}

/// A code action through the real binary: listed for free, resolved by the model over the
/// Responses WebSocket into a minimal versioned edit.
#[tokio::test]
async fn a_code_action_resolves_to_a_minimal_edit_from_the_model() -> anyhow::Result<()> {
    let server = model_server().await?;
    let provider = json!({"kind": "openai-responses", "transport": "websocket", "baseUrl": server.http_base()});
    let capabilities = json!({
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}},
        "workspace": {"workspaceEdit": {"documentChanges": true}},
    });
    let mut client = spark(provider, capabilities).await?;
    let text = "fn add(a: i32, b: i32) -> i32 {\n    todo!()\n}\n";
    client.open("file:///p/add.rs", "rust", 3, text).await?;
    let params = json!({"textDocument": {"uri": "file:///p/add.rs"},
        "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}},
        "context": {"diagnostics": []}});
    let actions = client.request("textDocument/codeAction", params).await?["result"].clone();
    let complete = actions
        .as_array()
        .and_then(|a| {
            a.iter().find(|a| {
                a["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Complete"))
            })
        })
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no Complete action in {actions}"))?;
    assert!(complete.get("edit").is_none(), "listing is free");
    let before = server.requests().len();
    // The model rewrites the function; wait until the provider is up, as a user would retry.
    let mut resolved = Value::Null;
    for _ in 0..200 {
        server.push_answer("```rust\nfn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n```");
        resolved = client
            .request("codeAction/resolve", complete.clone())
            .await?["result"]
            .clone();
        if resolved.get("edit").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(server.requests().len() > before, "resolve asked the model");
    let change = &resolved["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["version"], 3);
    let edits = change["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 1, "a minimal edit: {edits:?}");
    assert_eq!(edits[0]["newText"], "a + b");
    assert_eq!(
        edits[0]["range"],
        json!({"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 11}})
    );
    assert_eq!(client.shutdown_and_exit().await?, Some(0));
    Ok(())
}
