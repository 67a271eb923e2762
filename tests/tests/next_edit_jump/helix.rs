//! Helix drives next edits through code actions only: each title names where the edit is once
//! it is known, and applying one (edit, then command) chains to the next.

use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::ModelServer;

use super::support::{
    KEY, URI, actions, at, calls_once, change, fixed_region, model_calls, model_server,
    next_edit_action, no_edit, replaced_on, source,
};

/// The binary started as Helix 25.07.1 starts it (its recorded `initialize`, utf-8 positions,
/// resolve support for `edit` and `command`), configured for `server`.
async fn helix(server: &ModelServer) -> anyhow::Result<LspClient> {
    let session = spark_tests::recorded_session("helix-25.07.1.jsonl")?;
    let mut initialize = session
        .into_iter()
        .find(|m| m["method"] == "initialize")
        .ok_or_else(|| anyhow::anyhow!("no initialize in the recording"))?;
    initialize["params"]["initializationOptions"] = json!({"provider": {"kind": "openai-chat",
        "baseUrl": server.http_base(), "apiKeyEnv": "SPARK_JUMP_KEY", "model": "m"},
        // The jumps here are the rename's places; the model is not asked where.
        "nextEdit": {"modelJump": false}});
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
    // The model has the chain's last question; its answer may still be on its way.
    let mut action = next_edit_action(&actions(&mut client, at(1, 9)).await?);
    for _ in 0..500 {
        if action["title"] != "Apply suggested edit" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        action = next_edit_action(&actions(&mut client, at(1, 9)).await?);
    }
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
