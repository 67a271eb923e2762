//! Next edits end to end: the real binary against the reference model server over loopback.
//! The chat format (an intent line, then the region), `no_edit`, an older model's answer
//! without an intent, Sweep's raw-completion format through llama.cpp, Ollama and an
//! OpenAI-compatible `/v1/completions`, and the first edit of a multi-hunk rewrite answered
//! while the model is provably still writing the rest (the server holds it), the rest served
//! after the accept without another model call.

use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{
    CostModel, Endpoint, Fault, Gate, ModelServer, ModelServerConfig, split_tokens,
};

const KEY: &str = "sk-spark-e2e-0123456789";
const URI: &str = "file:///p/lib.rs";
const TEXT: &str = "let a = 1;\nlet b = 2;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 6;\n";

async fn model_server() -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        ..ModelServerConfig::default()
    })
    .await
}

/// The binary with `provider` (and `model`, `nextEdit.format`), `TEXT` open at version 1.
async fn spark(provider: Value, model: &str, format: &str) -> anyhow::Result<LspClient> {
    let env = [("SPARK_E2E_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let mut provider = provider;
    provider["apiKeyEnv"] = json!("SPARK_E2E_KEY");
    provider["model"] = json!(model);
    let options = json!({"provider": provider, "nextEdit": {"format": format}});
    let capabilities = json!({"general": {"positionEncodings": ["utf-16"]}});
    client.initialize(capabilities, options).await?;
    client.notification("spark/status").await?;
    client.open(URI, "rust", 1, TEXT).await?;
    Ok(client)
}

fn chat_provider(server: &ModelServer) -> Value {
    json!({"kind": "openai-chat", "baseUrl": server.http_base()})
}

async fn ask(client: &mut LspClient, version: i32, line: u32) -> anyhow::Result<Value> {
    let params = json!({"textDocument": {"uri": URI, "version": version}, "position": {"line": line, "character": 0}});
    let response = client.request("spark/nextEdit", params).await?;
    Ok(response["result"].clone())
}

/// The edits as (line, character, end line, end character, new text).
fn edits(result: &Value) -> Vec<(u64, u64, u64, u64, String)> {
    let n = |v: &Value| v.as_u64().unwrap_or(u64::MAX);
    result["edits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let r = &e["range"];
            (
                n(&r["start"]["line"]),
                n(&r["start"]["character"]),
                n(&r["end"]["line"]),
                n(&r["end"]["character"]),
                e["newText"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn last_body(server: &ModelServer, endpoint: Endpoint) -> Value {
    server
        .requests_for(endpoint)
        .last()
        .map(|r| r.body.clone())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_chat_format_states_an_intent_and_shows_the_history_across_files() -> anyhow::Result<()>
{
    let server = model_server().await?;
    let mut client = spark(chat_provider(&server), "m", "auto").await?;
    // The user renamed `x` to `total` in another file first.
    client
        .open("file:///p/other.rs", "rust", 1, "let x = 0;\n")
        .await?;
    let rename = json!({"textDocument": {"uri": "file:///p/other.rs", "version": 2}, "contentChanges": [{"range": {"start": {"line": 0, "character": 4}, "end": {"line": 0, "character": 5}}, "text": "total"}]});
    client.notify("textDocument/didChange", rename).await?;
    server.push_answer(
        "intent: high\nlet a = 1;\nlet b = 20;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 6;\n",
    );
    let result = ask(&mut client, 1, 1).await?;
    assert_eq!(edits(&result), [(1, 8, 1, 9, "20".to_owned())], "{result}");
    assert_eq!(result["intent"], "high");
    let body = last_body(&server, Endpoint::ChatCompletions);
    let prompt = body["messages"].to_string();
    assert!(prompt.contains("--- p/other.rs"), "{prompt}");
    assert!(prompt.contains("-let x = 0;\\n+let total = 0;"), "{prompt}");
    assert!(
        prompt.contains("<|editable_region_start|>\\nlet a = 1;\\n<|cursor|>let b = 2;"),
        "{prompt}"
    );
    assert!(
        prompt.contains("intent: no_edit"),
        "the instructions name the intents"
    );
    // Not an OpenAI host: no predicted output goes out.
    assert_eq!(body.get("prediction"), None, "{body}");
    Ok(())
}

#[tokio::test]
async fn no_edit_gives_nothing_and_an_older_models_answer_is_medium() -> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(chat_provider(&server), "m", "chat").await?;
    server.push_answer("intent: no_edit\nlet a = 100;\n");
    let result = ask(&mut client, 1, 1).await?;
    assert_eq!(result["edits"], json!([]), "{result}");
    // A new version asks again; the answer has no intent line.
    let change = json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"range": {"start": {"line": 5, "character": 8}, "end": {"line": 5, "character": 9}}, "text": "7"}]});
    client.notify("textDocument/didChange", change).await?;
    // The region is lines 1 to 5 (two above the cursor's line 3).
    server.push_answer("let b = 2;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 70;\n");
    let result = ask(&mut client, 2, 3).await?;
    assert_eq!(edits(&result), [(5, 8, 5, 9, "70".to_owned())], "{result}");
    assert_eq!(result["intent"], "medium");
    Ok(())
}

/// The window Sweep gets for a cursor on line 1 of `TEXT`, and the model's update of it.
const UPDATED: &str = "let a = 1;\nlet b = 22;\nlet c = 3;\nlet d = 4;\nlet e = 5;\nlet f = 6;\n";

#[tokio::test]
async fn sweep_runs_as_a_raw_completion_on_llama_cpp_ollama_and_v1_completions()
-> anyhow::Result<()> {
    let server = model_server().await?;
    let cases = [
        (
            json!({"kind": "fim", "fimApi": "llama-cpp", "baseUrl": server.root_url()}),
            Endpoint::LlamaCompletion,
            "auto",
        ),
        (
            json!({"kind": "fim", "fimApi": "ollama", "baseUrl": server.root_url()}),
            Endpoint::OllamaGenerate,
            "sweep",
        ),
        (chat_provider(&server), Endpoint::Completions, "sweep"),
    ];
    for (provider, endpoint, format) in cases {
        let mut client = spark(provider, "sweep-next-edit-1.5b", format).await?;
        // The model writes the window and goes on past the separator: the stop ends it.
        server.push_answer(format!("{UPDATED}<|file_sep|>more/p/lib.rs\nlet z = 0;\n"));
        let result = ask(&mut client, 1, 1).await?;
        assert_eq!(
            edits(&result),
            [(1, 8, 1, 9, "22".to_owned())],
            "{endpoint:?}: {result}"
        );
        assert_eq!(result["intent"], "high");
        let body = last_body(&server, endpoint);
        let prompt = body["prompt"].as_str().unwrap_or_default();
        assert!(
            prompt.contains(&format!("<|file_sep|>current/p/lib.rs\n{TEXT}")),
            "{prompt}"
        );
        assert!(
            prompt.ends_with("<|file_sep|>updated/p/lib.rs\n"),
            "{prompt}"
        );
        let stop = match endpoint {
            Endpoint::OllamaGenerate => {
                assert_eq!(body["raw"], true);
                body["options"]["stop"].clone()
            }
            _ => body["stop"].clone(),
        };
        assert_eq!(stop, json!(["<|file_sep|>"]), "{endpoint:?}");
        // The model repeats the window: no edit.
        let change = json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": ""}]});
        client.notify("textDocument/didChange", change).await?;
        server.push_answer(format!("{TEXT}<|file_sep|>"));
        let result = ask(&mut client, 2, 1).await?;
        assert_eq!(result["edits"], json!([]), "{endpoint:?}: {result}");
    }
    Ok(())
}

#[tokio::test]
async fn the_first_edit_comes_while_the_model_still_writes_and_the_next_after_the_accept()
-> anyhow::Result<()> {
    let server = model_server().await?;
    let mut client = spark(chat_provider(&server), "m", "chat").await?;
    // Two changes far enough apart to be two hunks; the stream is held right after the lines
    // that settle the first.
    let settled = "intent: high\nlet a = 10;\nlet b = 2;\nlet c = 3;\n";
    let rest = "let d = 4;\nlet e = 50;\nlet f = 6;\n";
    server.push_answer(format!("{settled}{rest}"));
    let gate = Gate::new();
    server.push_fault(Fault::Hold {
        after_tokens: split_tokens(settled).len(),
        gate: gate.clone(),
    });
    let first = ask(&mut client, 1, 0).await?;
    // Answered while the model's answer is held: it cannot have waited for the whole answer.
    assert!(server.finished_at().is_empty(), "the answer finished first");
    assert_eq!(edits(&first), [(0, 8, 0, 9, "10".to_owned())], "{first}");
    gate.release();
    // The user takes it as the editor does: the edit, then the accept command.
    let apply = json!({"textDocument": {"uri": URI, "version": 2}, "contentChanges": [{"range": {"start": {"line": 0, "character": 8}, "end": {"line": 0, "character": 9}}, "text": "10"}]});
    client.notify("textDocument/didChange", apply).await?;
    let accept = json!({"command": "spark.didAcceptNextEdit", "arguments": [URI]});
    client.request("workspace/executeCommand", accept).await?;
    let second = ask(&mut client, 2, 0).await?;
    assert_eq!(edits(&second), [(4, 8, 4, 9, "50".to_owned())], "{second}");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);
    Ok(())
}
