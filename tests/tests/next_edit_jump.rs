//! Next edits that go where the next edit is, through the real binary against the reference
//! model server with scripted answers: a rename's remaining use, a forwarded diagnostic, the
//! model's own "next location" answer, nothing when there is no place (and no extra model
//! call), the Helix code action naming the line, and the chain after an accept that finds the
//! following edit before the editor asks.
//!
//! The scripted answers are regions: the unchanged region ("no edit", [`no_edit`]) or the
//! region with the fix, cut from the text by the server's own `editable_region`, so they stay
//! what the model is asked about.

use ropey::Rope;
use serde_json::{Value, json};
use spark_lsp::engine::editable_region;
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};

const KEY: &str = "sk-spark-jump-0123456789";
const URI: &str = "file:///p/jump.rs";

async fn model_server() -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await
}

/// The binary, configured for `server` with `next_edit` settings, once its provider is up.
async fn spark(server: &ModelServer, next_edit: Value) -> anyhow::Result<LspClient> {
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
fn source(lines: usize, uses: &[usize]) -> String {
    let body: String = (1..lines - 1)
        .map(|i| match i {
            1 => "    let value = 1;\n".to_owned(),
            i if uses.contains(&i) => "    g(value);\n".to_owned(),
            _ => "    h();\n".to_owned(),
        })
        .collect();
    format!("fn f() {{\n{body}}}\n")
}

/// The model's "no edit" for a cursor at (`line`, byte `column`): the region it is asked about,
/// unchanged.
fn no_edit(text: &str, line: usize, column: usize) -> String {
    let rope = Rope::from_str(text);
    let region = editable_region(&rope, rope.line_to_byte(line) + column);
    text[region].to_owned()
}

/// The region for a cursor at (`line`, byte `column`) of `text` as it reads in `fixed` (the
/// whole text after the model's fix, which lies inside the region).
fn fixed_region(text: &str, line: usize, column: usize, fixed: &str) -> String {
    let rope = Rope::from_str(text);
    let region = editable_region(&rope, rope.line_to_byte(line) + column);
    let end = (region.end + fixed.len()).saturating_sub(text.len());
    fixed[region.start..end].to_owned()
}

/// `text` with the first `old` on `line` replaced by `new`.
fn replaced_on(text: &str, line: usize, old: &str, new: &str) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
    lines[line] = lines[line].replacen(old, new, 1);
    lines.concat()
}

fn at(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

async fn change(
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

async fn next_edit(client: &mut LspClient, version: i32, position: Value) -> anyhow::Result<Value> {
    let params = json!({"textDocument": {"uri": URI, "version": version}, "position": position});
    let mut response = client.request("spark/nextEdit", params).await?;
    anyhow::ensure!(response.get("error").is_none(), "{response}");
    Ok(response["result"].take())
}

/// (line, start character, end character, new text) of each edit.
fn edits(result: &Value) -> Vec<(u64, u64, u64, String)> {
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

fn model_calls(server: &ModelServer) -> Vec<String> {
    server
        .requests_for(Endpoint::ChatCompletions)
        .iter()
        .map(|r| r.body.to_string())
        .collect()
}

async fn actions(client: &mut LspClient, position: Value) -> anyhow::Result<Vec<Value>> {
    let params = json!({"textDocument": {"uri": URI}, "range": {"start": position, "end": position},
        "context": {"diagnostics": []}});
    let response = client.request("textDocument/codeAction", params).await?;
    Ok(response["result"].as_array().cloned().unwrap_or_default())
}

fn next_edit_action(actions: &[Value]) -> Value {
    actions
        .iter()
        .find(|a| a["data"]["kind"] == "nextEdit")
        .cloned()
        .unwrap_or_else(|| panic!("no next-edit action in {actions:?}"))
}

#[tokio::test]
async fn a_rename_jumps_to_the_remaining_use_and_helix_sees_its_line() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = source(40, &[30]);
    client.open(URI, "rust", 1, &text).await?;
    // Before anything is known, the action does not name a line (and listing calls no model).
    let listed = actions(&mut client, at(1, 9)).await?;
    assert_eq!(next_edit_action(&listed)["title"], "Apply suggested edit");

    // The user renames `value` to `v` on line 1.
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");
    // Around the cursor nothing is left to do; at the use on line 30 the model finishes it.
    server.push_answer(no_edit(&text, 1, 9));
    let fixed = replaced_on(&text, 30, "value", "v");
    server.push_answer(fixed_region(&text, 30, 6, &fixed));
    let result = next_edit(&mut client, 2, at(1, 9)).await?;
    assert_eq!(edits(&result), [(30, 6, 11, "v".to_owned())], "{result}");
    assert_eq!(result["jump"], true);
    let location = json!({"uri": URI, "range": {"start": at(30, 6), "end": at(30, 11)}});
    assert_eq!(result["location"], location);
    let calls = model_calls(&server);
    assert_eq!(calls.len(), 2);
    assert!(calls[1].contains("g(<|cursor|>value);"), "{}", calls[1]);

    // Helix lists the action again at the cursor: the title names the line (1-based), and
    // resolving it gives the edit there and the accept command, from the same answer.
    let listed = actions(&mut client, at(1, 9)).await?;
    let action = next_edit_action(&listed);
    assert_eq!(action["title"], "Apply suggested edit at line 31");
    let resolved = client.request("codeAction/resolve", action).await?;
    let resolved = &resolved["result"];
    let edit = &resolved["edit"]["documentChanges"][0]["edits"][0];
    assert_eq!(
        edit["range"],
        json!({"start": at(30, 6), "end": at(30, 11)})
    );
    assert_eq!(edit["newText"], "v");
    assert_eq!(resolved["command"]["command"], "spark.didAcceptNextEdit");
    // Asking again at the same version and place joins the answer: no model call.
    let again = next_edit(&mut client, 2, at(2, 0)).await?;
    assert_eq!(edits(&again), edits(&result));
    assert_eq!(model_calls(&server).len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_forwarded_diagnostic_twelve_lines_down_gets_the_suggestion() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let broken = "    let s = \"😀\"; let n = undefined_name;\n";
    let mut lines: Vec<String> = source(40, &[])
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect();
    lines[17] = broken.to_owned();
    let text = lines.concat();
    client.open(URI, "rust", 1, &text).await?;
    // Another server's error on line 17, forwarded by the client in UTF-16 columns (the emoji
    // is two units): `undefined_name` starts at character 26.
    let diagnostic = json!({"range": {"start": at(17, 26), "end": at(17, 40)}, "severity": 1,
        "message": "cannot find value `undefined_name` in this scope"});
    let hint =
        json!({"range": {"start": at(8, 4), "end": at(8, 5)}, "severity": 4, "message": "hint"});
    let params =
        json!({"textDocument": {"uri": URI}, "diagnostics": [diagnostic, hint, {"bogus": 1}]});
    client.notify("spark/didChangeDiagnostics", params).await?;

    server.push_answer(no_edit(&text, 5, 4));
    let byte_column = "    let s = \"😀\"; let n = ".len();
    let fixed = replaced_on(&text, 17, "undefined_name", "s.len()");
    server.push_answer(fixed_region(&text, 17, byte_column, &fixed));
    let result = next_edit(&mut client, 1, at(5, 4)).await?;
    assert_eq!(
        edits(&result),
        [(17, 26, 40, "s.len()".to_owned())],
        "{result}"
    );
    assert_eq!(result["jump"], true);
    let calls = model_calls(&server);
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].contains("let n = <|cursor|>undefined_name;"),
        "{}",
        calls[1]
    );
    Ok(())
}

#[tokio::test]
async fn a_diagnostic_a_code_action_listed_is_a_place_too() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = replaced_on(&source(40, &[]), 17, "h();", "h(x);");
    client.open(URI, "rust", 1, &text).await?;
    // VS Code lists code actions on line 17 with the error there in the context.
    let error = json!({"range": {"start": at(17, 6), "end": at(17, 7)}, "severity": 1,
        "message": "cannot find value `x`"});
    let range = json!({"start": at(17, 6), "end": at(17, 6)});
    let params =
        json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": [error]}});
    client.request("textDocument/codeAction", params).await?;
    // Later, at line 5, the region holds nothing: the listed error is where the edit is.
    server.push_answer(no_edit(&text, 5, 4));
    let fixed = replaced_on(&text, 17, "h(x);", "h(1);");
    server.push_answer(fixed_region(&text, 17, 6, &fixed));
    let result = next_edit(&mut client, 1, at(5, 4)).await?;
    assert_eq!(edits(&result), [(17, 6, 7, "1".to_owned())], "{result}");
    assert_eq!(result["jump"], true);
    Ok(())
}

#[tokio::test]
async fn no_place_to_go_is_an_empty_answer_and_no_extra_model_call() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = source(40, &[30]);
    client.open(URI, "rust", 1, &text).await?;
    // Only a hint, far away: no place. The cursor's region is asked once.
    let hint =
        json!({"range": {"start": at(30, 4), "end": at(30, 5)}, "severity": 4, "message": "hint"});
    let params = json!({"textDocument": {"uri": URI}, "diagnostics": [hint]});
    client.notify("spark/didChangeDiagnostics", params).await?;
    server.push_answer(no_edit(&text, 1, 4));
    let result = next_edit(&mut client, 1, at(1, 4)).await?;
    assert_eq!(result, json!({"edits": []}));
    assert_eq!(model_calls(&server).len(), 1);
    let stats = client.request("spark/stats", Value::Null).await?;
    assert_eq!(stats["result"]["modelCalls"], 1, "{stats}");
    Ok(())
}

#[tokio::test]
async fn jumps_off_and_the_model_location_question() -> anyhow::Result<()> {
    // Jumps off: a rename's remaining use is not tried.
    let server = model_server().await?;
    let mut client = spark(&server, json!({"jumps": false})).await?;
    let text = source(40, &[30]);
    client.open(URI, "rust", 1, &text).await?;
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");
    server.push_answer(no_edit(&text, 1, 9));
    let result = next_edit(&mut client, 2, at(1, 9)).await?;
    assert_eq!(result, json!({"edits": []}));
    assert_eq!(model_calls(&server).len(), 1);

    // `modelJump`: nothing local to try, so the model is asked where; it names line 26
    // (1-based), and the next edit is asked there.
    let server = model_server().await?;
    let mut client = spark(&server, json!({"modelJump": true})).await?;
    let text = source(40, &[]);
    client.open(URI, "rust", 1, &text).await?;
    server.push_answer(no_edit(&text, 1, 4));
    server.push_answer("26");
    let fixed = replaced_on(&text, 25, "h();", "h(1);");
    server.push_answer(fixed_region(&text, 25, 4, &fixed));
    let result = next_edit(&mut client, 1, at(1, 4)).await?;
    assert_eq!(edits(&result), [(25, 6, 6, "1".to_owned())], "{result}");
    assert_eq!(result["jump"], true);
    let calls = model_calls(&server);
    assert_eq!(calls.len(), 3);
    assert!(calls[1].contains("Next edit location."), "{}", calls[1]);
    assert!(calls[1].contains("26:     h();"), "{}", calls[1]);
    Ok(())
}

#[tokio::test]
async fn after_an_accept_the_chain_finds_the_next_use_before_the_editor_asks() -> anyhow::Result<()>
{
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = source(60, &[30, 50]);
    client.open(URI, "rust", 1, &text).await?;
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");
    server.push_answer(no_edit(&text, 1, 9));
    let fixed = replaced_on(&text, 30, "value", "v");
    server.push_answer(fixed_region(&text, 30, 6, &fixed));
    let first = next_edit(&mut client, 2, at(1, 9)).await?;
    assert_eq!(edits(&first), [(30, 6, 11, "v".to_owned())], "{first}");

    // The editor applies the suggestion: a change that is exactly it, and no command (as Helix
    // applies a code action). Nothing is left around line 30; the chain jumps on to line 50.
    let text = replaced_on(&text, 30, "value", "v");
    server.push_answer(no_edit(&text, 30, 7));
    let fixed = replaced_on(&text, 50, "value", "v");
    server.push_answer(fixed_region(&text, 50, 6, &fixed));
    change(&mut client, 3, (at(30, 6), at(30, 11)), "v").await?;
    // The chain asks the model with no request from the editor.
    let calls = calls_once(&server, 4).await;
    assert!(calls[2].contains("g(v<|cursor|>);"), "{}", calls[2]);
    assert!(calls[3].contains("g(<|cursor|>value);"), "{}", calls[3]);
    // The command arriving late joins the chain: no call.
    client
        .request("workspace/executeCommand", accept_command())
        .await?;
    // The editor asks where its cursor is (after the accepted edit): the chain's answer, no
    // further call.
    let next = next_edit(&mut client, 3, at(30, 7)).await?;
    assert_eq!(edits(&next), [(50, 6, 11, "v".to_owned())], "{next}");
    assert_eq!(next["jump"], true);
    assert_eq!(model_calls(&server).len(), 4);
    // Helix, whose cursor stayed on line 1, is told where the chained edit is.
    let listed = actions(&mut client, at(1, 9)).await?;
    assert_eq!(
        next_edit_action(&listed)["title"],
        "Apply suggested edit at line 51"
    );

    // The second accept: the command first (its text not in the document yet, so it waits),
    // then the change. The chain asks once, after the accepted edit; nothing is left.
    let text = fixed;
    server.push_answer(no_edit(&text, 50, 7));
    client
        .request("workspace/executeCommand", accept_command())
        .await?;
    change(&mut client, 4, (at(50, 6), at(50, 11)), "v").await?;
    let calls = calls_once(&server, 5).await;
    assert!(calls[4].contains("g(v<|cursor|>);"), "{}", calls[4]);
    let last = next_edit(&mut client, 4, at(50, 7)).await?;
    assert_eq!(last, json!({"edits": []}));
    assert_eq!(model_calls(&server).len(), 5);
    Ok(())
}

fn accept_command() -> Value {
    json!({"command": "spark.didAcceptNextEdit", "arguments": [URI]})
}

/// The model calls once there are `count` of them (the chain runs in the background).
async fn calls_once(server: &ModelServer, count: usize) -> Vec<String> {
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

/// The binary started as Helix 25.07.1 starts it (its recorded `initialize`, utf-8 positions,
/// resolve support for `edit` and `command`), configured for `server`.
async fn helix(server: &ModelServer) -> anyhow::Result<LspClient> {
    let session = spark_tests::recorded_session("helix-25.07.1.jsonl")?;
    let mut initialize = session
        .into_iter()
        .find(|m| m["method"] == "initialize")
        .ok_or_else(|| anyhow::anyhow!("no initialize in the recording"))?;
    initialize["params"]["initializationOptions"] = json!({"provider": {"kind": "openai-chat",
        "baseUrl": server.http_base(), "apiKeyEnv": "SPARK_JUMP_KEY", "model": "m"}});
    let env = [("SPARK_JUMP_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let response = client
        .request("initialize", initialize["params"].take())
        .await?;
    assert_eq!(
        response["result"]["capabilities"]["positionEncoding"],
        "utf-8"
    );
    client.notify("initialized", json!({})).await?;
    client.notification("spark/status").await?;
    Ok(client)
}

/// Helix's way with a code action: resolve it, apply its `documentChanges` as one change, then
/// run its command.
async fn apply_action(
    client: &mut LspClient,
    action: Value,
    version: i32,
) -> anyhow::Result<Value> {
    let mut resolved = client.request("codeAction/resolve", action).await?;
    let resolved = resolved["result"].take();
    let edits = resolved["edit"]["documentChanges"][0]["edits"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let changes: Vec<Value> = edits
        .iter()
        .rev()
        .map(|e| json!({"range": e["range"], "text": e["newText"]}))
        .collect();
    let params =
        json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": changes});
    client.notify("textDocument/didChange", params).await?;
    let command = &resolved["command"];
    let params = json!({"command": command["command"], "arguments": command["arguments"]});
    client.request("workspace/executeCommand", params).await?;
    Ok(resolved)
}

#[tokio::test]
async fn helix_applies_jump_after_jump_by_code_action_each_title_naming_its_line()
-> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = helix(&server).await?;
    let text = source(60, &[30, 50]);
    client.open(URI, "rust", 1, &text).await?;
    change(&mut client, 2, (at(1, 8), at(1, 13)), "v").await?;
    let text = replaced_on(&text, 1, "value", "v");

    // `space a`: nothing is known yet, so the title cannot name a line; listing asks no model.
    let listed = actions(&mut client, at(1, 9)).await?;
    let action = next_edit_action(&listed);
    assert_eq!(action["title"], "Apply suggested edit");
    assert!(model_calls(&server).is_empty());
    // Choosing it: the cursor's region holds nothing, the use on line 30 does.
    server.push_answer(no_edit(&text, 1, 9));
    let after_first = replaced_on(&text, 30, "value", "v");
    server.push_answer(fixed_region(&text, 30, 6, &after_first));
    // The chain after it: nothing more on line 30, the use on line 50.
    server.push_answer(no_edit(&after_first, 30, 7));
    let after_second = replaced_on(&after_first, 50, "value", "v");
    server.push_answer(fixed_region(&after_first, 50, 6, &after_second));
    let resolved = apply_action(&mut client, action, 3).await?;
    let edit = &resolved["edit"]["documentChanges"][0]["edits"][0];
    assert_eq!(
        edit["range"],
        json!({"start": at(30, 6), "end": at(30, 11)})
    );
    calls_once(&server, 4).await;

    // `space a` again, the cursor still on line 1: the title names where the next edit is,
    // and choosing it applies it with no model call.
    let listed = actions(&mut client, at(1, 9)).await?;
    let action = next_edit_action(&listed);
    assert_eq!(action["title"], "Apply suggested edit at line 51");
    server.push_answer(no_edit(&after_second, 50, 7));
    let resolved = apply_action(&mut client, action, 4).await?;
    let edit = &resolved["edit"]["documentChanges"][0]["edits"][0];
    assert_eq!(
        edit["range"],
        json!({"start": at(50, 6), "end": at(50, 11)})
    );
    // The chain after the second asks once around line 50; no use of `value` is left.
    let calls = calls_once(&server, 5).await;
    assert!(calls[4].contains("g(v<|cursor|>);"), "{}", calls[4]);
    let listed = actions(&mut client, at(1, 9)).await?;
    assert_eq!(next_edit_action(&listed)["title"], "Apply suggested edit");
    Ok(())
}
