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
        let result = &response["result"];
        // An empty completion list: the answer was over the completion budget (it goes on into
        // the cache, and the editor asks again).
        let empty_list = result["items"].as_array().is_some_and(Vec::is_empty);
        if !result.is_null() && !empty_list {
            return Ok(result.clone());
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
    assert_eq!(
        server.connections_accepted(),
        1,
        "no HTTP connection beside the socket: the fallback connects only when needed"
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
    let server = slow_model("let sum = a + b;\n    let twice = sum * 2;\n    twice\n").await?;
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

/// A slow decoder (20 tokens/s) answering `answer` once.
async fn slow_model(answer: &str) -> anyhow::Result<ModelServer> {
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
    server.push_answer(answer);
    Ok(server)
}

#[tokio::test]
async fn a_client_with_a_partial_result_token_sees_the_suggestion_grow_line_by_line()
-> anyhow::Result<()> {
    let server = slow_model("let sum = a + b;\n    let twice = sum * 2;\n    twice\n").await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base()});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}});
    let mut client = spark(provider, capabilities).await?;
    let uri = "file:///p/add.rs";
    client
        .open(uri, "rust", 1, "fn add(a: u32, b: u32) -> u32 {\n    \n}\n")
        .await?;
    // Wait for the provider with a request the reference server answers with its default.
    let warm = json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}});
    let _ = first_answer(&mut client, "textDocument/inlineCompletion", warm).await;
    server.push_answer("let sum = a + b;\n    let twice = sum * 2;\n    twice\n");
    let params = json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}, "context": {"triggerKind": 2}, "partialResultToken": "p1"});
    let id = client
        .start_request("textDocument/inlineCompletion", params)
        .await?;
    let response = client.response(id).await?;
    // Automatic, yet the whole suggestion: the client sees it grow instead.
    assert_eq!(
        response["result"][0]["insertText"],
        "let sum = a + b;\n    let twice = sum * 2;\n    twice",
        "{response}"
    );
    let mut partials = Vec::new();
    while let Ok(Ok(progress)) = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        client.notification("$/progress"),
    )
    .await
    {
        assert_eq!(progress["token"], "p1", "{progress}");
        partials.push(progress["value"]["items"][0]["insertText"].clone());
    }
    // Line by line: each partial result is a settled prefix of the next and of the answer.
    let partials: Vec<&str> = partials.iter().filter_map(Value::as_str).collect();
    assert_eq!(
        partials.first(),
        Some(&"let sum = a + b;\n"),
        "{partials:?}"
    );
    assert!(partials.len() >= 2, "{partials:?}");
    for pair in partials.windows(2) {
        assert!(
            pair[1].starts_with(pair[0]) && pair[1].len() > pair[0].len(),
            "{partials:?}"
        );
    }
    let whole = response["result"][0]["insertText"]
        .as_str()
        .unwrap_or_default();
    assert!(
        partials.iter().all(|p| whole.starts_with(p.trim_end())),
        "{partials:?}"
    );
    Ok(())
}

#[tokio::test]
async fn status_follows_the_provider_busy_idle_and_errors() -> anyhow::Result<()> {
    // No key for a cloud provider: inactive, and how to fix it.
    let mut client = LspClient::spawn(&[], &[]).await?;
    let options = json!({"provider": {"apiKeyEnv": "SPARK_E2E_UNSET_KEY"}});
    client.initialize(json!({}), options).await?;
    let status = client.notification("spark/status").await?;
    assert_eq!(status["kind"], "Inactive", "{status}");
    assert_eq!(status["busy"], false);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("SPARK_E2E_UNSET_KEY"), "{message}");
    assert_eq!(client.shutdown_and_exit().await?, Some(0));

    // A working provider: named, busy while a request runs, idle with its latency after.
    let server = slow_model("a + b\n").await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base()});
    let mut client = spark(provider, json!({})).await?;
    let ready = client.notification("spark/status").await?;
    assert_eq!(ready["kind"], "Normal", "{ready}");
    assert_eq!(ready["provider"], "openai-chat", "{ready}");
    client
        .open(
            "file:///p/a.py",
            "python",
            1,
            "def add(a, b):\n    return \n",
        )
        .await?;
    let at = json!({"textDocument": {"uri": "file:///p/a.py"}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 1}});
    first_answer(&mut client, "textDocument/inlineCompletion", at.clone()).await?;
    let busy = client.notification("spark/status").await?;
    assert_eq!(busy["busy"], true, "{busy}");
    let idle = client.notification("spark/status").await?;
    assert_eq!(idle["busy"], false, "{idle}");
    assert!(idle["lastLatencyMs"].as_f64().is_some(), "{idle}");

    // The provider fails: an error with the reason.
    server.push_fault(spark_tests::model_server::Fault::ServerError(503));
    client
        .open(
            "file:///p/b.py",
            "python",
            1,
            "def sub(a, b):\n    return \n",
        )
        .await?;
    let at = json!({"textDocument": {"uri": "file:///p/b.py"}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 1}});
    client.request("textDocument/inlineCompletion", at).await?;
    let mut kinds = Vec::new();
    while let Ok(Ok(status)) = tokio::time::timeout(
        std::time::Duration::from_millis(500),
        client.notification("spark/status"),
    )
    .await
    {
        kinds.push(status["kind"].as_str().unwrap_or_default().to_owned());
    }
    assert!(kinds.iter().any(|k| k == "Error"), "{kinds:?}");
    Ok(())
}

#[tokio::test]
async fn helix_gets_an_empty_incomplete_list_past_the_budget_and_the_item_from_the_cache_next()
-> anyhow::Result<()> {
    let server = slow_model("a + b\n").await?;
    let capabilities = json!({"general": {"positionEncodings": ["utf-8"]}});
    let env = [("SPARK_E2E_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let options = json!({"provider": {"kind": "openai-chat", "baseUrl": server.http_base(), "apiKeyEnv": "SPARK_E2E_KEY", "model": "m"}, "completion": {"itemBudgetMs": 1}});
    client.initialize(capabilities, options).await?;
    client.notification("spark/status").await?;
    client
        .open(
            "file:///p/a.py",
            "python",
            1,
            "def add(a, b):\n    return \n",
        )
        .await?;
    let at = json!({"textDocument": {"uri": "file:///p/a.py"}, "position": {"line": 1, "character": 11}});
    // 20 tokens/s: far past a 1 ms budget. The editor's other servers are not held up.
    let first = client
        .request("textDocument/completion", at.clone())
        .await?;
    assert_eq!(
        first["result"],
        json!({"isIncomplete": true, "items": []}),
        "{first}"
    );
    // The call went on into the cache; Helix asks again (incomplete) and gets the item.
    let list = first_answer(&mut client, "textDocument/completion", at).await?;
    assert_eq!(list["items"][0]["textEdit"]["newText"], "a + b");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_next_edit_finishes_a_rename_through_the_binary() -> anyhow::Result<()> {
    let server = model_server().await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base()});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}});
    let mut client = spark(provider, capabilities).await?;
    client.notification("spark/status").await?;
    let uri = "file:///p/total.py";
    let text =
        "def total(items):\n    acc = 0\n    for i in items:\n        acc += i\n    return acc\n";
    client.open(uri, "python", 1, text).await?;
    // The user renames `acc` to `sum_` on line 1; the model finishes the rename.
    let rename = json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 7}}, "text": "sum_"}]});
    client.notify("textDocument/didChange", rename).await?;
    server.push_answer(
        "def total(items):\n    sum_ = 0\n    for i in items:\n        sum_ += i\n    return sum_\n",
    );
    let params = json!({"textDocument": {"uri": uri, "version": 2}, "position": {"line": 1, "character": 8}});
    let response = client.request("spark/nextEdit", params).await?;
    let edits = response["result"]["edits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let replaced: Vec<(u64, u64, &str)> = edits
        .iter()
        .map(|e| {
            (
                e["range"]["start"]["line"].as_u64().unwrap_or_default(),
                e["range"]["start"]["character"]
                    .as_u64()
                    .unwrap_or_default(),
                e["newText"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(replaced, [(3, 8, "sum_"), (4, 11, "sum_")], "{response}");
    // The model saw the rename in the recent edits and the cursor in the region.
    let requests = server.requests_for(Endpoint::ChatCompletions);
    let body = requests
        .last()
        .map(|r| r.body.to_string())
        .unwrap_or_default();
    assert!(
        body.contains("-    acc = 0") && body.contains("+    sum_ = 0"),
        "{body}"
    );
    assert!(body.contains("sum_<|cursor|> = 0"), "{body}");
    Ok(())
}

#[tokio::test]
async fn a_newer_request_supersedes_the_older_for_a_client_that_never_cancels() -> anyhow::Result<()>
{
    // Helix-like: utf-8, completion items, no `$/cancelRequest`. The first answer takes ~1 s.
    let server =
        slow_model("let one = 1;\nlet two = 2;\nlet three = 3;\nlet four = 4;\nlet five = 5;\n")
            .await?;
    let env = [("SPARK_E2E_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let options = json!({"provider": {"kind": "openai-chat", "baseUrl": server.http_base(), "apiKeyEnv": "SPARK_E2E_KEY", "model": "m"}, "completion": {"itemBudgetMs": 60000}});
    client
        .initialize(
            json!({"general": {"positionEncodings": ["utf-8"]}}),
            options,
        )
        .await?;
    client.notification("spark/status").await?;
    let uri = "file:///p/n.rs";
    client.open(uri, "rust", 1, "fn f() {\n    \n}\n").await?;
    let at = |character: u32| json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": character}});
    let first = client
        .start_request("textDocument/completion", at(4))
        .await?;
    // The user types something the pending suggestion does not start with, and Helix asks again.
    let typed = json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}, "text": "x"}]});
    while server.requests_for(Endpoint::ChatCompletions).is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    client.notify("textDocument/didChange", typed).await?;
    server.push_answer(" = 1;\n");
    let second = client
        .start_request("textDocument/completion", at(5))
        .await?;
    let older = client.response(first).await?;
    assert!(older["result"].is_null(), "answered empty: {older}");
    let newer = client.response(second).await?;
    assert_eq!(
        newer["result"]["items"][0]["textEdit"]["newText"], " = 1;",
        "{newer}"
    );
    let stats = client.request("spark/stats", Value::Null).await?;
    assert_eq!(
        stats["result"]["cancelled"], 1,
        "the first model call stopped: {stats}"
    );
    Ok(())
}

#[tokio::test]
async fn secret_files_never_reach_the_model() -> anyhow::Result<()> {
    let server = model_server().await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base()});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}});
    let mut client = spark(provider, capabilities).await?;
    client.notification("spark/status").await?;
    let secrets = [
        ("file:///p/.env", "API_TOKEN=sk-live-secret-1\n"),
        (
            "file:///p/deploy/server.pem",
            "-----BEGIN sk-live-secret-2\n",
        ),
        ("file:///home/u/.ssh/id_rsa", "sk-live-secret-3\n"),
    ];
    for (uri, text) in secrets {
        client.open(uri, "plaintext", 1, text).await?;
        let at = json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 3}, "context": {"triggerKind": 1}});
        let inline = client
            .request("textDocument/inlineCompletion", at.clone())
            .await?;
        assert!(inline["result"].is_null(), "{uri}: {inline}");
        let next = json!({"textDocument": {"uri": uri, "version": 1}, "position": {"line": 0, "character": 3}});
        let next = client.request("spark/nextEdit", next).await?;
        assert_eq!(next["result"]["edits"], json!([]), "{uri}: {next}");
        let range =
            json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 3}});
        let actions = client
            .request("textDocument/codeAction", json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}))
            .await?;
        let listed = actions["result"].as_array().map_or(0, Vec::len);
        assert_eq!(listed, 0, "{uri}: {actions}");
    }
    // An ordinary file open beside them is completed; its prompt holds none of their text.
    client
        .open(
            "file:///p/app.py",
            "python",
            1,
            "import os\ntoken = os.environ[\"API_TOKEN\"]\n",
        )
        .await?;
    let at = json!({"textDocument": {"uri": "file:///p/app.py"}, "position": {"line": 2, "character": 0}, "context": {"triggerKind": 1}});
    first_answer(&mut client, "textDocument/inlineCompletion", at).await?;
    let requests = server.requests();
    assert!(!requests.is_empty());
    for request in requests {
        let body = request.body.to_string();
        assert!(!body.contains("sk-live-secret"), "{body}");
    }
    Ok(())
}
