//! End-to-end: the first ask is answered. A completion that arrives while the provider is still
//! being built waits for it (bounded by the request's deadline) instead of getting nothing, and a
//! completion item waits for the model's answer in a client that never asks again (eglot),
//! while a client that re-asks incomplete lists (Helix) is answered within a short budget.

use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};

const KEY: &str = "sk-spark-first-0123456789";

async fn model_server(cost: CostModel) -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost,
        api_key: Some(KEY.into()),
        default_answer: "a + b".into(),
        ..ModelServerConfig::default()
    })
    .await
}

/// `initialize` as `client_name` would send it, then `initialized`, and the document open.
async fn start(client_name: &str, provider: Value) -> anyhow::Result<LspClient> {
    let env = [("SPARK_FIRST_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let params = json!({
        "processId": null,
        "rootUri": null,
        "clientInfo": {"name": client_name, "version": "1"},
        "capabilities": {"general": {"positionEncodings": ["utf-8"]}},
        "initializationOptions": {"provider": provider},
    });
    client.request("initialize", params).await?;
    client.notify("initialized", json!({})).await?;
    client
        .open(
            "file:///p/a.py",
            "python",
            1,
            "def add(a, b):\n    return \n",
        )
        .await?;
    Ok(client)
}

fn at_return() -> Value {
    json!({"textDocument": {"uri": "file:///p/a.py"}, "position": {"line": 1, "character": 11}})
}

fn item_text(response: &Value) -> Option<&str> {
    response["result"]["items"][0]["textEdit"]["newText"].as_str()
}

#[tokio::test]
async fn a_completion_sent_while_the_provider_is_being_built_gets_the_models_answer()
-> anyhow::Result<()> {
    let server = model_server(CostModel::instant()).await?;
    // The key command takes a while, as `pass` or a password manager prompt would: the
    // provider is not built yet when the editor asks, right after `initialized`.
    let key_command = format!("sleep 1; echo {KEY}");
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m",
                          "apiKeyCommand": ["sh", "-c", key_command]});
    let mut client = start("Eglot", provider).await?;
    let inline = json!({"textDocument": {"uri": "file:///p/a.py"}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 1}});
    let inline = client
        .request("textDocument/inlineCompletion", inline)
        .await?;
    assert_eq!(
        inline["result"][0]["insertText"], "a + b",
        "the first ask is answered by the model: {inline}"
    );
    let item = client
        .request("textDocument/completion", at_return())
        .await?;
    assert_eq!(item_text(&item), Some("a + b"), "{item}");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);
    Ok(())
}

/// 20 tokens/s: the answer takes far longer than the 80 ms a re-asking client's item waits.
fn slow() -> CostModel {
    CostModel {
        base_latency: std::time::Duration::ZERO,
        prefill_tps: f64::INFINITY,
        decode_tps: 20.0,
    }
}

#[tokio::test]
async fn eglot_gets_a_slow_models_item_in_its_only_answer() -> anyhow::Result<()> {
    let server = model_server(slow()).await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m",
                          "apiKeyEnv": "SPARK_FIRST_KEY"});
    let mut client = start("Eglot", provider).await?;
    server.push_answer("a + b\n");
    let item = client
        .request("textDocument/completion", at_return())
        .await?;
    assert_eq!(item_text(&item), Some("a + b"), "{item}");
    Ok(())
}

#[tokio::test]
async fn helix_gets_an_empty_incomplete_list_first_from_a_slow_model_by_default()
-> anyhow::Result<()> {
    let server = model_server(slow()).await?;
    let provider = json!({"kind": "openai-chat", "baseUrl": server.http_base(), "model": "m",
                          "apiKeyEnv": "SPARK_FIRST_KEY"});
    let mut client = start("helix", provider).await?;
    client.notification("spark/status").await?;
    server.push_answer("a + b\n");
    let first = client
        .request("textDocument/completion", at_return())
        .await?;
    assert_eq!(
        first["result"],
        json!({"isIncomplete": true, "items": []}),
        "{first}"
    );
    // Helix asks again as the user types; the call went on into the cache meanwhile.
    let mut again = Value::Null;
    for _ in 0..200 {
        again = client
            .request("textDocument/completion", at_return())
            .await?;
        if item_text(&again).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(item_text(&again), Some("a + b"), "{again}");
    assert_eq!(server.requests_for(Endpoint::ChatCompletions).len(), 1);
    Ok(())
}
