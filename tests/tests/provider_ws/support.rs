//! Shared helpers: a fast server, provider settings, requests, and bounded waits.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use spark_lsp::providers::{
    ModelInput, ModelRequest, ProviderError, Secret, Settings, TextStream, client_config,
};
use spark_tests::fake_provider::FakeProvider;
use spark_tests::model_server::{CostModel, ModelServer, ModelServerConfig};

/// Guards every wait so that a broken provider fails the test instead of hanging it.
pub const GUARD: Duration = Duration::from_secs(10);

pub fn fast_config() -> ModelServerConfig {
    with_cost(CostModel::instant())
}

pub fn with_cost(cost: CostModel) -> ModelServerConfig {
    ModelServerConfig {
        cost,
        ..ModelServerConfig::default()
    }
}

pub async fn start(config: ModelServerConfig) -> ModelServer {
    ModelServer::start(config).await.unwrap()
}

pub fn settings(server: &ModelServer, key: Option<&str>) -> Settings {
    Settings {
        base_url: server.http_base(),
        model: "spark".into(),
        api_key: key.map(Secret::new),
        headers: Vec::new(),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        tls: client_config(None).unwrap(),
        reasoning: spark_lsp::config::Reasoning::Least,
    }
}

pub fn fallback() -> Arc<FakeProvider> {
    FakeProvider::answering("from the fallback")
}

pub fn chat(context: &str, query: &str) -> ModelRequest {
    ModelRequest {
        instructions: "Complete the code.".into(),
        input: ModelInput::Chat {
            context: context.into(),
            query: query.into(),
        },
        max_output_tokens: 64,
        ..ModelRequest::default()
    }
}

pub fn in_session(mut request: ModelRequest, session: &str) -> ModelRequest {
    request.session = Some(session.into());
    request
}

/// The whole answer, or the first error.
pub async fn collect(mut stream: TextStream) -> Result<String, ProviderError> {
    let mut text = String::new();
    while let Some(item) = tokio::time::timeout(GUARD, stream.next())
        .await
        .expect("the stream neither ended nor answered")
    {
        text.push_str(&item?);
    }
    Ok(text)
}

/// The text of each input message of a recorded `response.create`.
/// The texts of the user messages (the developer message with the instructions is checked on
/// its own).
pub fn input_texts(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["role"] == "user")
        .map(|item| item["content"][0]["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `check` until it holds, failing the test after [`GUARD`].
pub async fn eventually(what: &str, check: impl Fn() -> bool) {
    let until = tokio::time::Instant::now() + GUARD;
    while !check() {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
