//! The next-edit controller through the real binary and the reference model server: ids on
//! every suggestion, the show/accept/reject signals (ours and Copilot's), the rejection memory
//! across the user's later edits, eagerness, and what `spark/stats` reports about them.

use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};
use spark_tests::text_edits::{self, Units};

const KEY: &str = "sk-spark-e2e-0123456789";
const URI: &str = "file:///p/total.py";
const TEXT: &str =
    "def total(items):\n    acc = 0\n    for i in items:\n        acc += i\n    return acc\n";

async fn model_server() -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await
}

/// The binary against `server`, with `next_edit` as the `nextEdit` settings, the provider ready.
async fn spark(server: &ModelServer, next_edit: Value) -> anyhow::Result<LspClient> {
    let env = [("SPARK_E2E_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base(),
        "apiKeyEnv": "SPARK_E2E_KEY", "model": "m"});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}});
    client
        .initialize(
            capabilities,
            json!({"provider": provider, "nextEdit": next_edit}),
        )
        .await?;
    client.notification("spark/status").await?;
    Ok(client)
}

/// The user renamed `acc` to `sum_` on line 1 (version 2).
async fn renamed(client: &mut LspClient) -> anyhow::Result<String> {
    client.open(URI, "python", 1, TEXT).await?;
    let range = json!({"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 7}});
    change(client, 2, json!([{"range": range, "text": "sum_"}])).await?;
    Ok(TEXT.replacen("acc", "sum_", 1))
}

async fn change(client: &mut LspClient, version: i32, changes: Value) -> anyhow::Result<()> {
    let params =
        json!({"textDocument": {"uri": URI, "version": version}, "contentChanges": changes});
    client.notify("textDocument/didChange", params).await
}

async fn next_edit(client: &mut LspClient, version: i32, line: u32) -> anyhow::Result<Value> {
    let params = json!({"textDocument": {"uri": URI, "version": version},
        "position": {"line": line, "character": 8}});
    let response = client.request("spark/nextEdit", params).await?;
    anyhow::ensure!(response.get("error").is_none(), "{response}");
    Ok(response["result"].clone())
}

async fn signal(
    client: &mut LspClient,
    method: &str,
    kind: &str,
    id: &Value,
) -> anyhow::Result<()> {
    let params = json!({"textDocument": {"uri": URI}, "kind": kind, "id": id});
    client.notify(method, params).await
}

async fn stats(client: &mut LspClient) -> anyhow::Result<Value> {
    let response = client.request("spark/stats", Value::Null).await?;
    Ok(response["result"].clone())
}

/// The rename finished everywhere: the model's rewrite of the whole (short) file.
fn rename_everywhere(text: &str) -> String {
    text.replace("acc", "sum_")
}

#[tokio::test]
async fn a_rejected_next_edit_is_not_shown_again_after_edits_elsewhere() -> anyhow::Result<()> {
    let server = model_server().await?;
    // No cooldown: what holds the suggestion back below is the rejection memory alone.
    let mut client = spark(&server, json!({"cooldownMs": 0})).await?;
    let text = renamed(&mut client).await?;
    server.push_answer(rename_everywhere(&text));
    let result = next_edit(&mut client, 2, 1).await?;
    assert_eq!(
        result["edits"].as_array().map(Vec::len),
        Some(2),
        "{result}"
    );
    assert_eq!(result["id"], "ne-1");
    assert_eq!(result["command"]["arguments"], json!([URI, "ne-1"]));
    signal(&mut client, "spark/didShow", "nextEdit", &result["id"]).await?;
    signal(&mut client, "spark/didReject", "nextEdit", &result["id"]).await?;

    // The user adds a docstring above and edits the loop header: neither touches the rename.
    let top = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}});
    change(
        &mut client,
        3,
        json!([{"range": top, "text": "# totals\n"}]),
    )
    .await?;
    let items = json!({"start": {"line": 3, "character": 13}, "end": {"line": 3, "character": 18}});
    change(&mut client, 4, json!([{"range": items, "text": "values"}])).await?;
    let text = format!("# totals\n{}", text.replace("in items", "in values"));
    // The model proposes the same rename again, at its new place: not shown.
    server.push_answer(rename_everywhere(&text));
    let again = next_edit(&mut client, 4, 2).await?;
    assert_eq!(again["edits"], json!([]), "{again}");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 2);

    // After another edit, something else is shown.
    let top = json!({"start": {"line": 0, "character": 2}, "end": {"line": 0, "character": 8}});
    change(&mut client, 5, json!([{"range": top, "text": "sums"}])).await?;
    let text = text.replace("# totals", "# sums");
    server.push_answer(text.replace("values", "values or []"));
    let other = next_edit(&mut client, 5, 3).await?;
    assert_eq!(other["id"], "ne-2", "{other}");
    signal(&mut client, "spark/didShow", "nextEdit", &other["id"]).await?;

    let stats = stats(&mut client).await?;
    let kind = &stats["kinds"]["nextEdit"];
    assert_eq!(
        (&kind["shown"], &kind["rejected"]),
        (&json!(2), &json!(1)),
        "{stats}"
    );
    assert_eq!(stats["nextEdit"]["suppressed"], 1, "{stats}");
    assert_eq!(stats["nextEdit"]["rejectedReshown"], 0, "{stats}");
    assert_eq!(stats["nextEdit"]["requests"], 3, "{stats}");
    assert_eq!(stats["nextEdit"]["modelCalls"], 3, "{stats}");
    Ok(())
}

#[tokio::test]
async fn an_accepted_next_edit_and_copilots_signals_are_counted() -> anyhow::Result<()> {
    let server = model_server().await?;
    // The chain after the accept asks its region only: the model's location question would
    // take the ghost text's scripted answer.
    let mut client = spark(&server, json!({"modelJump": false})).await?;
    let text = renamed(&mut client).await?;
    server.push_answer(rename_everywhere(&text));
    let result = next_edit(&mut client, 2, 1).await?;
    let id = result["id"].clone();
    signal(&mut client, "spark/didShow", "nextEdit", &id).await?;
    // The editor applies the edits, then runs the command with the id.
    let edits = result["edits"].as_array().cloned().unwrap_or_default();
    let mut changes: Vec<Value> = edits
        .iter()
        .map(|e| json!({"range": e["range"], "text": e["newText"]}))
        .collect();
    changes.reverse();
    change(&mut client, 3, Value::Array(changes)).await?;
    assert_eq!(
        text_edits::apply(&text, &edits, Units::Utf16),
        rename_everywhere(&text)
    );
    let command = json!({"command": "spark.didAcceptNextEdit", "arguments": [URI, id]});
    let response = client.request("workspace/executeCommand", command).await?;
    assert!(response.get("error").is_none(), "{response}");

    // The accept asked for the edit after it at once; its (empty) answer is the default one.
    while server.requests_for(Endpoint::ChatCompletions).len() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // Ghost text, shown and partly accepted as Copilot's language server reports it.
    server.push_answer("    # done\n");
    let at = json!({"textDocument": {"uri": URI}, "position": {"line": 5, "character": 0},
        "context": {"triggerKind": 1}});
    let inline = client.request("textDocument/inlineCompletion", at).await?;
    let item = inline["result"][0].clone();
    assert_eq!(
        item["command"]["arguments"],
        json!([URI, "in-1"]),
        "{inline}"
    );
    client
        .notify("textDocument/didShowCompletion", json!({"item": item}))
        .await?;
    let partial = json!({"item": item, "acceptedLength": 5});
    client
        .notify("textDocument/didPartiallyAcceptCompletion", partial)
        .await?;

    let stats = stats(&mut client).await?;
    let next = &stats["kinds"]["nextEdit"];
    assert_eq!(
        (&next["shown"], &next["accepted"], &next["rejected"]),
        (&json!(1), &json!(1), &json!(0)),
        "{stats}"
    );
    assert_eq!(next["acceptanceRate"], 1.0, "{stats}");
    let inline = &stats["kinds"]["inline"];
    assert_eq!(
        (
            &inline["shown"],
            &inline["accepted"],
            &inline["partiallyAccepted"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{stats}"
    );
    Ok(())
}

#[tokio::test]
async fn helix_has_an_answered_next_edit_shown_and_its_applied_edit_accepted() -> anyhow::Result<()>
{
    // Helix sends no show signal and runs no command: the code action's edit, applied, is the
    // accept.
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let text = renamed(&mut client).await?;
    server.push_answer(rename_everywhere(&text));
    let range = json!({"start": {"line": 1, "character": 8}, "end": {"line": 1, "character": 8}});
    let list = client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": URI}, "range": range, "context": {"diagnostics": []}}),
        )
        .await?;
    let action = list["result"]
        .as_array()
        .and_then(|actions| {
            actions.iter().find(|a| {
                a["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Apply suggested edit"))
            })
        })
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no next-edit action: {list}"))?;
    let resolved = client.request("codeAction/resolve", action).await?;
    let edits = resolved["result"]["edit"]["changes"][URI]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(edits.len(), 2, "{resolved}");
    let changes: Vec<Value> = edits
        .iter()
        .rev()
        .map(|e| json!({"range": e["range"], "text": e["newText"]}))
        .collect();
    change(&mut client, 3, Value::Array(changes)).await?;
    let stats = stats(&mut client).await?;
    let next = &stats["kinds"]["nextEdit"];
    assert_eq!(
        (&next["shown"], &next["accepted"]),
        (&json!(1), &json!(1)),
        "{stats}"
    );
    Ok(())
}

#[tokio::test]
async fn the_eagerness_setting_decides_what_is_sure_enough_to_show() -> anyhow::Result<()> {
    // An answer without an intent line is of medium intent: low eagerness holds it back.
    let server = model_server().await?;
    let mut client = spark(&server, json!({"eagerness": "low"})).await?;
    let text = renamed(&mut client).await?;
    server.push_answer(rename_everywhere(&text));
    let held = next_edit(&mut client, 2, 1).await?;
    assert_eq!(held["edits"], json!([]), "{held}");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);
    // Medium eagerness, set while the server runs, shows it.
    let settings = json!({"settings": {"spark": {"nextEdit": {"eagerness": "medium"}}}});
    client
        .notify("workspace/didChangeConfiguration", settings)
        .await?;
    let range = json!({"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 0}});
    change(&mut client, 3, json!([{"range": range, "text": "\n"}])).await?;
    let text = text.replacen("    return", "\n    return", 1);
    server.push_answer(rename_everywhere(&text));
    let shown = next_edit(&mut client, 3, 1).await?;
    assert_eq!(shown["intent"], "medium", "{shown}");
    assert_eq!(shown["edits"].as_array().map(Vec::len), Some(2), "{shown}");
    let stats = stats(&mut client).await?;
    assert_eq!(stats["nextEdit"]["suppressed"], 1, "{stats}");
    assert_eq!(stats["kinds"]["nextEdit"]["shown"], 1, "{stats}");
    Ok(())
}

#[tokio::test]
async fn low_eagerness_holds_back_a_low_intent_answer() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({"eagerness": "low"})).await?;
    let text = renamed(&mut client).await?;
    server.push_answer(format!("intent: low\n{}", rename_everywhere(&text)));
    let low = next_edit(&mut client, 2, 1).await?;
    assert_eq!(low["edits"], json!([]), "{low}");
    // The same edit stated with high intent is shown, with its intent.
    let range = json!({"start": {"line": 4, "character": 0}, "end": {"line": 4, "character": 0}});
    change(&mut client, 3, json!([{"range": range, "text": "\n"}])).await?;
    let text = text.replacen("    return", "\n    return", 1);
    server.push_answer(format!("intent: high\n{}", rename_everywhere(&text)));
    let high = next_edit(&mut client, 3, 1).await?;
    assert_eq!(high["intent"], "high", "{high}");
    assert_eq!(high["edits"].as_array().map(Vec::len), Some(2), "{high}");
    let stats = stats(&mut client).await?;
    assert_eq!(stats["nextEdit"]["suppressed"], 1, "{stats}");
    Ok(())
}

#[tokio::test]
async fn dismissed_ghost_text_is_not_answered_again_at_its_place() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(&server, json!({})).await?;
    let uri = "file:///p/double.py";
    client
        .open(uri, "python", 1, "def double(x):\n    \n")
        .await?;
    let ask = json!({"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4},
        "context": {"triggerKind": 1}});
    server.push_answer("return x * 2");
    let first = client
        .request("textDocument/inlineCompletion", ask.clone())
        .await?;
    let item = &first["result"][0];
    assert_eq!(item["insertText"], "return x * 2", "{first}");
    let id = item["command"]["arguments"][1].clone();
    assert_eq!(id, "in-1", "{first}");
    let params = json!({"textDocument": {"uri": uri}, "kind": "inline", "id": id});
    client.notify("spark/didReject", params).await?;

    // Asked again at the same place (the editor re-triggers): the same answer, held back.
    server.push_answer("return x * 2");
    let again = client.request("textDocument/inlineCompletion", ask).await?;
    assert!(again.get("error").is_none(), "{again}");
    assert!(
        again["result"].is_null() || again["result"] == json!([]),
        "{again}"
    );
    let stats = stats(&mut client).await?;
    let inline = &stats["kinds"]["inline"];
    assert_eq!(
        (&inline["shown"], &inline["rejected"]),
        (&json!(1), &json!(1)),
        "{stats}"
    );
    assert_eq!(stats["nextEdit"]["rejectedReshown"], 0, "{stats}");
    Ok(())
}
