//! What the next-edit jump tests share: the binary configured for the reference model server,
//! the document they edit, the model's scripted answers, and reading results.

use ropey::Rope;
use serde_json::{Value, json};
use spark_lsp::engine::editable_region;
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};

pub const KEY: &str = "sk-spark-jump-0123456789";
pub const URI: &str = "file:///p/jump.rs";

pub async fn model_server() -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await
}

/// The binary, configured for `server` with `next_edit` settings, once its provider is up.
pub async fn spark(server: &ModelServer, next_edit: Value) -> anyhow::Result<LspClient> {
    let env = [("SPARK_JUMP_KEY", KEY), ("SPARK_LSP_LOG", "debug")];
    let mut client = LspClient::spawn(&[], &env).await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base(),
        "apiKeyEnv": "SPARK_JUMP_KEY", "model": "m"});
    let capabilities = json!({
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"codeAction": {"dataSupport": true,
            "resolveSupport": {"properties": ["edit", "command"]}}},
        "workspace": {"workspaceEdit": {"documentChanges": true}},
    });
    let options = json!({"provider": provider, "nextEdit": next_edit});
    client.initialize(capabilities, options).await?;
    // The provider is built after `initialize`; its first status says it is up.
    client.notification("spark/status").await?;
    Ok(client)
}

/// A Rust function of `lines` lines: `let value = 1;` on line 1, `g(value);` on the lines in
/// `uses`, `h();` elsewhere.
pub fn source(lines: usize, uses: &[usize]) -> String {
    let body: String = (1..lines - 1)
        .map(|i| match i {
            1 => "    let value = 1;\n".to_owned(),
            i if uses.contains(&i) => "    g(value);\n".to_owned(),
            _ => "    h();\n".to_owned(),
        })
        .collect();
    format!("fn f() {{\n{body}}}\n")
}

/// The model's "no edit" for a cursor at (`line`, byte `column`): its intent line (the
/// cursor is kept in the signature so each answer names the place it is meant for).
pub fn no_edit(_text: &str, _line: usize, _column: usize) -> String {
    "intent: no_edit".to_owned()
}

/// The region for a cursor at (`line`, byte `column`) of `text` as it reads in `fixed` (the
/// whole text after the model's fix, which lies inside the region).
pub fn fixed_region(text: &str, line: usize, column: usize, fixed: &str) -> String {
    let rope = Rope::from_str(text);
    let region = editable_region(&rope, rope.line_to_byte(line) + column);
    let end = (region.end + fixed.len()).saturating_sub(text.len());
    fixed[region.start..end].to_owned()
}

/// `text` with the first `old` on `line` replaced by `new`.
pub fn replaced_on(text: &str, line: usize, old: &str, new: &str) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    lines[line] = lines[line].replacen(old, new, 1);
    lines.concat()
}

pub fn at(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

pub async fn change(
    client: &mut LspClient,
    version: i32,
    (start, end): (Value, Value),
    text: &str,
) -> anyhow::Result<()> {
    let change = json!({"range": {"start": start, "end": end}, "text": text});
    let params =
        json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": [change]});
    client.notify("textDocument/didChange", params).await
}

pub async fn next_edit(
    client: &mut LspClient,
    version: i32,
    position: Value,
) -> anyhow::Result<Value> {
    let params = json!({"textDocument": {"uri": URI, "version": version}, "position": position});
    let mut response = client.request("spark/nextEdit", params).await?;
    anyhow::ensure!(response.get("error").is_none(), "{response}");
    Ok(response["result"].take())
}

/// (line, start character, end character, new text) of each edit.
pub fn edits(result: &Value) -> Vec<(u64, u64, u64, String)> {
    let number = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    result["edits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let range = &e["range"];
            (
                number(&range["start"]["line"]),
                number(&range["start"]["character"]),
                number(&range["end"]["character"]),
                e["newText"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub fn model_calls(server: &ModelServer) -> Vec<String> {
    server
        .requests_for(Endpoint::ChatCompletions)
        .iter()
        .map(|r| r.body.to_string())
        .collect()
}

pub async fn actions(client: &mut LspClient, position: Value) -> anyhow::Result<Vec<Value>> {
    let params = json!({"textDocument": {"uri": URI}, "range": {"start": position, "end": position},
        "context": {"diagnostics": []}});
    let response = client.request("textDocument/codeAction", params).await?;
    Ok(response["result"].as_array().cloned().unwrap_or_default())
}

pub fn next_edit_action(actions: &[Value]) -> Value {
    actions
        .iter()
        .find(|a| a["data"]["kind"] == "nextEdit")
        .cloned()
        .unwrap_or_else(|| panic!("no next-edit action in {actions:?}"))
}

pub fn accept_command() -> Value {
    json!({"command": "spark.didAcceptNextEdit", "arguments": [URI]})
}

/// The model calls once there are `count` of them (the chain runs in the background).
pub async fn calls_once(server: &ModelServer, count: usize) -> Vec<String> {
    for _ in 0..500 {
        if model_calls(server).len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let calls = model_calls(server);
    assert_eq!(calls.len(), count);
    calls
}
