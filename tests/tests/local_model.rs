//! End-to-end over the real `spark-lsp` binary with the embedded local model (SmolLM2-135M,
//! fetched into the user's cache by `scripts/fetch-model`, which `scripts/test` runs): with no
//! provider configured and no key the server finds the model and answers inline completions
//! from it; without the model it says how to configure a provider and keeps serving.

use serde_json::{Value, json};
use spark_tests::lsp_client::{LspClient, cache_with_model};

fn capabilities() -> Value {
    json!({"general": {"positionEncodings": ["utf-16"]}, "textDocument": {"inlineCompletion": {}}})
}

#[tokio::test]
async fn with_nothing_configured_the_local_model_answers_inline_completions() -> anyhow::Result<()>
{
    let cache = cache_with_model()?;
    let cache = cache.to_string_lossy();
    let env = [("XDG_CACHE_HOME", &*cache), ("SPARK_LSP_LOG", "debug")];
    let mut client = LspClient::spawn(&[], &env).await?;
    // Short answers keep the unoptimized server of `cargo test` quick.
    let options = json!({"provider": {"maxOutputTokens": 16, "threads": 2}});
    client.initialize(capabilities(), options).await?;
    client
        .open(
            "file:///p/add.py",
            "python",
            1,
            "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n    return \n",
        )
        .await?;
    let params = json!({"textDocument": {"uri": "file:///p/add.py"}, "position": {"line": 2, "character": 11}, "context": {"triggerKind": 1}});
    let mut answer = Value::Null;
    // The model loads in the background after `initialize`; until then there is no provider.
    // A deadline, not an assertion on speed: a loaded CI machine may need all of it.
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 300 {
        let response = client
            .request("textDocument/inlineCompletion", params.clone())
            .await?;
        let items = &response["result"];
        let items = items.get("items").unwrap_or(items);
        if items.as_array().is_some_and(|a| !a.is_empty()) {
            answer = items[0].clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The first ask waited for the model to load, busy meanwhile; then the status names it.
    let mut status = client.notification("spark/status").await?;
    for _ in 0..10 {
        if status["provider"].is_string() {
            break;
        }
        status = client.notification("spark/status").await?;
    }
    assert_eq!(status["kind"], "Normal", "{status}");
    assert!(
        status["provider"]
            .as_str()
            .is_some_and(|p| p.starts_with("local")),
        "{status}"
    );
    client.request("shutdown", Value::Null).await?;
    client.notify("exit", Value::Null).await?;
    let log = client.take_stderr().await.unwrap_or_default();
    let text = answer["insertText"].as_str().unwrap_or("");
    assert_eq!(
        text, "a + b",
        "the local model's suggestion: {answer}\n{log}"
    );
    assert!(log.contains("using the local model"), "{log}");
    assert_eq!(client.finish().await?, Some(0));
    Ok(())
}

#[tokio::test]
async fn without_a_model_or_a_key_the_user_is_told_how_to_configure_one() -> anyhow::Result<()> {
    // The harness points XDG_CACHE_HOME at an empty directory: no model there.
    let mut client = LspClient::spawn(&[], &[]).await?;
    client.initialize(capabilities(), Value::Null).await?;
    let message = client.notification("window/showMessage").await?;
    let text = message["message"].as_str().unwrap_or("");
    assert!(
        text.contains("no provider configured") && text.contains("scripts/fetch-model"),
        "{message}"
    );
    // ... and the status bar says so too.
    let status = client.notification("spark/status").await?;
    assert_eq!(status["kind"], "Inactive", "{status}");
    let text = status["message"].as_str().unwrap_or("");
    assert!(text.contains("no provider configured"), "{status}");
    // Everything else keeps working: documents, and requests answered with nothing.
    client
        .open("file:///p/a.rs", "rust", 1, "fn main() {}\n")
        .await?;
    let params = json!({"textDocument": {"uri": "file:///p/a.rs"}, "position": {"line": 0, "character": 11}, "context": {"triggerKind": 1}});
    let response = client
        .request("textDocument/inlineCompletion", params)
        .await?;
    assert!(response.get("error").is_none(), "{response}");
    client.shutdown_and_exit().await?;
    Ok(())
}
