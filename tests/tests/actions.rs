//! Code-action refactors over an in-process server with a fake provider: listing is free and
//! carries no edit, resolve and `spark.rewrite` return minimal edits that give the expected
//! document, a stale version gets no edit, and positions are right in UTF-16 with non-ASCII text.

use std::sync::Arc;

use serde_json::{Value, json};
use spark_lsp::lsp::ServerOptions;
use spark_lsp::providers::ModelInput;
use spark_tests::fake_provider::FakeProvider;
use spark_tests::lsp_client::LspClient;
use spark_tests::text_edits::{self, Units};

const URI: &str = "file:///w/add.rs";
const ADD: &str = "fn add(a: i32, b: i32) -> i32 {\n    todo!()\n}\n\nfn main() {}\n";

/// A VS Code-like client: resolves edits, takes versioned document changes, shows progress.
fn full_client() -> Value {
    json!({
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}},
        "workspace": {"workspaceEdit": {"documentChanges": true}},
        "window": {"workDoneProgress": true},
    })
}

async fn started(provider: Arc<FakeProvider>, capabilities: Value) -> anyhow::Result<LspClient> {
    let mut client = LspClient::in_process(ServerOptions {
        provider: Some(provider),
        ..ServerOptions::default()
    });
    client.initialize(capabilities, Value::Null).await?;
    Ok(client)
}

fn range(l0: u32, c0: u32, l1: u32, c1: u32) -> Value {
    json!({"start": {"line": l0, "character": c0}, "end": {"line": l1, "character": c1}})
}

async fn list(
    client: &mut LspClient,
    uri: &str,
    range: Value,
    diagnostics: Value,
) -> anyhow::Result<Vec<Value>> {
    let params = json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": diagnostics}});
    let response = client.request("textDocument/codeAction", params).await?;
    anyhow::ensure!(response.get("error").is_none(), "{response}");
    Ok(response["result"].as_array().cloned().unwrap_or_default())
}

fn titled<'a>(actions: &'a [Value], prefix: &str) -> &'a Value {
    actions
        .iter()
        .find(|a| a["title"].as_str().is_some_and(|t| t.starts_with(prefix)))
        .unwrap_or_else(|| panic!("no action {prefix:?} in {actions:?}"))
}

/// The edits of a `WorkspaceEdit` for `uri`, from `documentChanges` (checking the version) or
/// `changes`.
fn edits_of(edit: &Value, uri: &str, version: i32) -> Vec<Value> {
    if let Some(changes) = edit["documentChanges"].as_array() {
        assert_eq!(changes.len(), 1, "{edit}");
        assert_eq!(changes[0]["textDocument"]["uri"], uri);
        assert_eq!(changes[0]["textDocument"]["version"], version);
        return changes[0]["edits"].as_array().cloned().unwrap_or_default();
    }
    edit["changes"][uri].as_array().cloned().unwrap_or_default()
}

/// The context and query of the model request number `index`, which must be a chat request.
fn chat(provider: &FakeProvider, index: usize) -> anyhow::Result<(String, String)> {
    let requests = provider
        .requests
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    match requests.get(index).map(|r| &r.input) {
        Some(ModelInput::Chat { context, query }) => Ok((context.clone(), query.clone())),
        other => anyhow::bail!("not a chat request: {other:?}"),
    }
}

async fn resolve(client: &mut LspClient, action: &Value) -> anyhow::Result<Value> {
    let response = client.request("codeAction/resolve", action.clone()).await?;
    anyhow::ensure!(response.get("error").is_none(), "{response}");
    Ok(response["result"].clone())
}

#[tokio::test]
async fn each_action_is_listed_free_and_resolves_to_a_minimal_edit() -> anyhow::Result<()> {
    let provider = FakeProvider::scripted(&[
        "/// Adds two numbers.\nfn add(a: i32, b: i32) -> i32 {\n    todo!()\n}\n",
        "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}",
        "```rust\nfn add(a: i32, b: i32) -> i32 {\n    b + a\n}\n```\n",
        "fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n",
    ]);
    let mut client = started(provider.clone(), full_client()).await?;
    client.open(URI, "rust", 1, ADD).await?;
    let diagnostic =
        json!({"range": range(1, 4, 1, 11), "message": "not yet implemented", "severity": 2});
    let actions = list(&mut client, URI, range(1, 6, 1, 6), json!([diagnostic])).await?;
    assert_eq!(provider.request_count(), 0, "listing calls no model");
    let titles: Vec<&str> = actions.iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(
        titles,
        [
            "Fix this diagnostic: not yet implemented",
            "Apply suggested edit",
            "Add documentation",
            "Complete this implementation",
            "Simplify"
        ]
    );
    for action in &actions {
        assert!(action.get("edit").is_none(), "{action}");
        assert!(action.get("command").is_none(), "{action}");
        assert_eq!(action["data"]["uri"], URI);
        assert_eq!(action["data"]["version"], 1);
        // The empty selection took the function around the cursor; the next edit is looked for
        // at the cursor.
        let want = if action["title"] == "Apply suggested edit" {
            range(1, 6, 1, 6)
        } else {
            range(0, 0, 3, 0)
        };
        assert_eq!(action["data"]["range"], want, "{action}");
    }
    assert_eq!(titled(&actions, "Fix")["kind"], "quickfix");
    assert_eq!(
        titled(&actions, "Fix")["diagnostics"][0]["message"],
        "not yet implemented"
    );
    assert_eq!(titled(&actions, "Simplify")["kind"], "refactor.rewrite");

    let expected = [
        ("Add documentation", "/// Adds two numbers.\n"),
        ("Complete", "a + b"),
        // The fenced answer is unwrapped.
        ("Simplify", "b + a"),
        ("Fix", "a - b"),
    ];
    for (prefix, new_text) in expected {
        let resolved = resolve(&mut client, titled(&actions, prefix)).await?;
        let edits = edits_of(&resolved["edit"], URI, 1);
        assert_eq!(edits.len(), 1, "{prefix}: one minimal edit, got {edits:?}");
        assert_eq!(edits[0]["newText"], new_text, "{prefix}");
        let want = if prefix == "Add documentation" {
            format!("/// Adds two numbers.\n{ADD}")
        } else {
            ADD.replace("todo!()", new_text)
        };
        assert_eq!(apply_edits(ADD, &edits), want, "{prefix}");
    }
    assert_eq!(provider.request_count(), 4);

    // The model got a chat request naming the task and holding the region.
    let (context, query) = chat(&provider, 3)?;
    assert!(query.contains("not yet implemented"), "{query}");
    assert!(query.contains("    todo!()\n"), "{query}");
    assert!(context.contains("<region>\nfn add"), "{context}");

    // Progress was shown on a token the server created.
    let begin = client.notification("$/progress").await?;
    assert_eq!(begin["value"]["kind"], "begin", "{begin}");
    let end = client.notification("$/progress").await?;
    assert_eq!(end["value"]["kind"], "end", "{end}");
    Ok(())
}

#[tokio::test]
async fn a_stale_version_gets_no_edit_and_no_model_call() -> anyhow::Result<()> {
    let provider = FakeProvider::answering("fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n");
    let mut client = started(provider.clone(), full_client()).await?;
    client.open(URI, "rust", 1, ADD).await?;
    let actions = list(&mut client, URI, range(1, 0, 2, 0), json!([])).await?;
    let change = json!({"textDocument": {"uri": URI, "version": 2},
        "contentChanges": [{"range": range(4, 0, 4, 0), "text": "// moved on\n"}]});
    client.notify("textDocument/didChange", change).await?;
    let resolved = resolve(&mut client, titled(&actions, "Complete")).await?;
    assert!(resolved.get("edit").is_none(), "{resolved}");
    assert_eq!(resolved["title"], "Complete this implementation");
    assert_eq!(provider.request_count(), 0);

    // The command with a stale version aborts too, without asking the client to apply anything.
    let args = json!({"uri": URI, "range": range(1, 0, 2, 0), "instruction": "sum", "version": 1});
    let response = client
        .request(
            "workspace/executeCommand",
            json!({"command": "spark.rewrite", "arguments": [args]}),
        )
        .await?;
    assert_eq!(response["result"], Value::Null, "{response}");
    assert!(
        !client
            .received
            .iter()
            .any(|m| m["method"] == "workspace/applyEdit")
    );
    assert_eq!(provider.request_count(), 0);
    Ok(())
}

#[tokio::test]
async fn spark_rewrite_applies_the_minimal_edit_with_apply_edit() -> anyhow::Result<()> {
    let provider = FakeProvider::answering("    a + b\n");
    // A Helix-like client: no resolve, no document changes, no progress.
    let mut client = started(provider.clone(), json!({})).await?;
    client.open(URI, "rust", 1, ADD).await?;
    let actions = list(&mut client, URI, range(1, 2, 1, 5), json!([])).await?;
    let complete = titled(&actions, "Complete");
    assert_eq!(
        complete["command"]["command"], "spark.rewrite",
        "{complete}"
    );
    assert!(complete.get("edit").is_none());
    assert_eq!(provider.request_count(), 0);

    let args = json!({"uri": URI, "range": range(1, 2, 1, 5), "instruction": "implement it"});
    let params = json!({"command": "spark.rewrite", "arguments": [args], "workDoneToken": "t1"});
    let response = client.request("workspace/executeCommand", params).await?;
    assert_eq!(response["result"], Value::Null, "{response}");
    let apply_edit = client
        .received
        .iter()
        .find(|m| m["method"] == "workspace/applyEdit")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no workspace/applyEdit in {:?}", client.received))?;
    let edits = edits_of(&apply_edit["params"]["edit"], URI, 1);
    assert_eq!(
        edits,
        [json!({"range": range(1, 4, 1, 11), "newText": "a + b"})]
    );
    assert_eq!(apply_edits(ADD, &edits), ADD.replace("todo!()", "a + b"));
    let (_, query) = chat(&provider, 0)?;
    assert!(query.starts_with("Task: implement it\n"), "{query}");
    // Progress went to the client's token.
    let begin = client.notification("$/progress").await?;
    assert_eq!(begin["token"], "t1");

    // An instruction is required.
    let args = json!({"uri": URI, "range": range(1, 2, 1, 5), "instruction": " "});
    let response = client
        .request(
            "workspace/executeCommand",
            json!({"command": "spark.rewrite", "arguments": [args]}),
        )
        .await?;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    Ok(())
}

#[tokio::test]
async fn non_ascii_regions_map_to_utf16_positions() -> anyhow::Result<()> {
    let text = "fn greet() {\n    let s = \"café 😀 bonjour\"; let n = 1;\n}\n";
    let provider = FakeProvider::answering("    let s = \"café 😀 salut\"; let n = 1;\n");
    let mut client = started(provider.clone(), full_client()).await?;
    client.open("file:///w/g.rs", "rust", 3, text).await?;
    // A selection inside the line, ending after the emoji (UTF-16: 😀 is two units).
    let actions = list(
        &mut client,
        "file:///w/g.rs",
        range(1, 17, 1, 21),
        json!([]),
    )
    .await?;
    assert_eq!(
        titled(&actions, "Simplify")["data"]["range"],
        range(1, 0, 2, 0)
    );
    let resolved = resolve(&mut client, titled(&actions, "Simplify")).await?;
    let edits = edits_of(&resolved["edit"], "file:///w/g.rs", 3);
    // `    let s = "café 😀 ` is 21 UTF-16 units.
    assert_eq!(
        edits,
        [json!({"range": range(1, 21, 1, 28), "newText": "salut"})]
    );
    assert_eq!(apply_edits(text, &edits), text.replace("bonjour", "salut"));
    Ok(())
}

#[tokio::test]
async fn secret_documents_get_no_actions_and_prompting_clients_get_rewrite() -> anyhow::Result<()> {
    let provider = FakeProvider::answering("x");
    let mut capabilities = full_client();
    capabilities["experimental"] = json!({"spark": {"rewriteInstruction": true}});
    let mut client = started(provider.clone(), capabilities).await?;
    client
        .open("file:///w/.env", "plaintext", 1, "KEY=secret\n")
        .await?;
    let actions = list(&mut client, "file:///w/.env", range(0, 0, 0, 3), json!([])).await?;
    assert!(actions.is_empty(), "{actions:?}");

    client.open(URI, "rust", 1, ADD).await?;
    let actions = list(&mut client, URI, range(1, 0, 2, 0), json!([])).await?;
    let rewrite = titled(&actions, "Rewrite with instruction");
    assert_eq!(rewrite["kind"], "refactor.rewrite");
    assert_eq!(rewrite["command"]["command"], "spark.rewrite");
    assert_eq!(rewrite["command"]["arguments"][0]["uri"], URI);
    assert_eq!(
        rewrite["command"]["arguments"][0]["range"],
        range(1, 0, 2, 0)
    );

    // `only` filters by kind.
    let params = json!({"textDocument": {"uri": URI}, "range": range(1, 0, 2, 0),
        "context": {"diagnostics": [], "only": ["quickfix"]}});
    let response = client.request("textDocument/codeAction", params).await?;
    assert_eq!(response["result"], Value::Null, "{response}");
    assert_eq!(provider.request_count(), 0);
    Ok(())
}

#[tokio::test]
async fn a_next_edit_comes_by_request_code_action_and_inline_item_from_one_model_call()
-> anyhow::Result<()> {
    // The model rewrites the editable region (echoing the cursor marker, which is dropped).
    let provider = FakeProvider::scripted(&[
        "fn add(a: i32, b: i32) -> i32 {\n    a + b<|cursor|>\n}\n\nfn main() {}\n",
        "completion",
    ]);
    let mut client = started(provider.clone(), full_client()).await?;
    client.open(URI, "rust", 1, ADD).await?;
    let at = json!({"textDocument": {"uri": URI, "version": 1}, "position": {"line": 1, "character": 6}});
    let response = client.request("spark/nextEdit", at.clone()).await?;
    let result = &response["result"];
    let edits = result["edits"].as_array().cloned().unwrap_or_default();
    assert_eq!(edits.len(), 1, "{response}");
    assert_eq!(edits[0]["range"], range(1, 4, 1, 11), "{response}");
    assert_eq!(edits[0]["newText"], "a + b");
    assert_eq!(edits[0]["textDocument"], json!({"uri": URI, "version": 1}));
    assert_eq!(result["command"]["command"], "spark.didAcceptNextEdit");
    assert_eq!(result["command"]["arguments"], json!([URI, "ne-1"]));
    assert_eq!(result["id"], "ne-1");
    assert_eq!(result["intent"], "medium");
    let (context, query) = chat(&provider, 0)?;
    assert!(query.contains("    to<|cursor|>do!()"), "{query}");
    assert!(
        query.contains("<|editable_region_start|>\nfn add"),
        "{query}"
    );
    // No other file is open: no snippets in the context.
    assert_eq!(context, "");
    // An answer without an intent line (an older model's) counts as `medium`.
    assert_eq!(result["intent"], "medium");

    // The code action and the inline item reuse the suggestion made for this version.
    let actions = list(&mut client, URI, range(1, 6, 1, 6), json!([])).await?;
    let resolved = resolve(&mut client, titled(&actions, "Apply suggested edit")).await?;
    let edits = edits_of(&resolved["edit"], URI, 1);
    assert_eq!(apply_edits(ADD, &edits), ADD.replace("todo!()", "a + b"));
    let inline = client
        .request(
            "textDocument/inlineCompletion",
            json!({"textDocument": {"uri": URI}, "position": {"line": 1, "character": 6}, "context": {"triggerKind": 1}}),
        )
        .await?;
    // Beside the completion at the cursor, an item with a range replaces `todo!()`.
    let items = inline["result"].as_array().cloned().unwrap_or_default();
    assert!(
        items
            .iter()
            .any(|item| item["range"] == range(1, 4, 1, 11) && item["insertText"] == "a + b"),
        "{inline}"
    );
    // A request at another version gets nothing and asks nothing.
    let calls = provider.request_count();
    let stale = json!({"textDocument": {"uri": URI, "version": 7}, "position": {"line": 1, "character": 6}});
    let response = client.request("spark/nextEdit", stale).await?;
    assert_eq!(response["result"]["edits"], json!([]), "{response}");
    assert_eq!(provider.request_count(), calls);
    Ok(())
}

/// Applies LSP text edits to `text` as the client does (Utf16 columns).
fn apply_edits(text: &str, edits: &[Value]) -> String {
    text_edits::apply(text, edits, Units::Utf16)
}
