//! End-to-end: the real binary asks a reasoning model for the least reasoning it supports, on
//! every wire (Chat Completions, Responses over HTTP and WebSocket). The reference server plays a
//! model that thinks 2,000 hidden tokens before answering unless told not to, and one that
//! refuses the effort `none` (as GPT-5 does) to show the ladder.

use serde_json::{Value, json};
use spark_tests::lsp_client::LspClient;
use spark_tests::model_server::{
    CostModel, Endpoint, ModelServer, ModelServerConfig, ReasoningModel,
};

const KEY: &str = "sk-spark-reasoning-0123456789";
const HIDDEN: u64 = 2000;

async fn reasoning_server(model: ReasoningModel) -> anyhow::Result<ModelServer> {
    ModelServer::start(ModelServerConfig {
        cost: CostModel::instant(),
        api_key: Some(KEY.into()),
        default_answer: "a + b".into(),
        reasoning: Some(model),
        ..ModelServerConfig::default()
    })
    .await
}

/// The wires under test: provider settings and the endpoint their completions hit.
fn wires(server: &ModelServer) -> [(Value, Endpoint); 3] {
    let base = server.http_base();
    [
        (
            json!({"kind": "openai-chat", "baseUrl": base}),
            Endpoint::ChatCompletions,
        ),
        (
            json!({"kind": "openai-responses", "transport": "http", "baseUrl": base}),
            Endpoint::ResponsesHttp,
        ),
        (
            json!({"kind": "openai-responses", "transport": "websocket", "baseUrl": base}),
            Endpoint::ResponsesWebSocket,
        ),
    ]
}

/// A completion at `return ` through the binary with `provider`; the suggestion's text.
async fn complete(mut provider: Value, reasoning: Option<&str>) -> anyhow::Result<String> {
    provider["apiKeyEnv"] = json!("SPARK_REASONING_KEY");
    provider["model"] = json!("m");
    if let Some(reasoning) = reasoning {
        provider["reasoning"] = json!(reasoning);
    }
    let env = [("SPARK_REASONING_KEY", KEY)];
    let mut client = LspClient::spawn(&[], &env).await?;
    let capabilities = json!({"general": {"positionEncodings": ["utf-8"]}});
    client
        .initialize(capabilities, json!({ "provider": provider }))
        .await?;
    client
        .open(
            "file:///p/a.py",
            "python",
            1,
            "def add(a, b):\n    return \n",
        )
        .await?;
    let at = json!({"textDocument": {"uri": "file:///p/a.py"}, "position": {"line": 1, "character": 11}, "context": {"triggerKind": 1}});
    let response = client.request("textDocument/inlineCompletion", at).await?;
    Ok(response["result"][0]["insertText"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// The effort each request to `endpoint` that asked for an answer carried (warm-ups aside).
fn efforts(server: &ModelServer, endpoint: Endpoint) -> Vec<Value> {
    server
        .requests_for(endpoint)
        .iter()
        .filter(|r| r.body["generate"] != false)
        .map(|r| {
            let body = &r.body;
            if body["reasoning_effort"].is_null() {
                body["reasoning"]["effort"].clone()
            } else {
                body["reasoning_effort"].clone()
            }
        })
        .collect()
}

#[tokio::test]
async fn every_wire_asks_a_reasoning_model_not_to_think() -> anyhow::Result<()> {
    let server = reasoning_server(ReasoningModel::switchable(HIDDEN)).await?;
    for (provider, endpoint) in wires(&server) {
        assert_eq!(complete(provider, None).await?, "a + b", "{endpoint:?}");
        assert_eq!(efforts(&server, endpoint), [json!("none")], "{endpoint:?}");
    }
    assert_eq!(
        server.thinking_tokens(),
        0,
        "no answer spent a hidden token"
    );
    // Off OpenAI's hosts the chat request also carries the chat template's switch.
    let chat = server.requests_for(Endpoint::ChatCompletions);
    assert_eq!(
        chat[0].body["chat_template_kwargs"],
        json!({"enable_thinking": false})
    );
    Ok(())
}

#[tokio::test]
async fn the_model_default_thinks_as_the_setting_says() -> anyhow::Result<()> {
    let server = reasoning_server(ReasoningModel::switchable(HIDDEN)).await?;
    for (provider, endpoint) in wires(&server) {
        assert_eq!(
            complete(provider, Some("model-default")).await?,
            "a + b",
            "{endpoint:?}"
        );
        assert_eq!(efforts(&server, endpoint), [Value::Null], "{endpoint:?}");
    }
    assert_eq!(server.thinking_tokens(), 3 * HIDDEN);
    Ok(())
}

#[tokio::test]
async fn a_model_that_refuses_none_is_asked_again_with_minimal_at_once() -> anyhow::Result<()> {
    // GPT-5 takes `minimal` but not `none`.
    let gpt5 = ReasoningModel {
        hidden_tokens: HIDDEN,
        efforts: ["minimal", "low", "medium", "high"]
            .map(str::to_owned)
            .to_vec(),
    };
    let server = reasoning_server(gpt5).await?;
    for (provider, endpoint) in wires(&server) {
        assert_eq!(complete(provider, None).await?, "a + b", "{endpoint:?}");
        assert_eq!(
            efforts(&server, endpoint),
            [json!("none"), json!("minimal")],
            "{endpoint:?}: refused once, then answered"
        );
    }
    assert_eq!(server.thinking_tokens(), 0);
    Ok(())
}
