//! The request each provider puts on the wire, as the reference server recorded it: the
//! endpoint, the auth header and the body fields the real services read.

use serde_json::{Value, json};
use spark_lsp::providers::ModelRequest;
use spark_tests::model_server::{Endpoint, ModelServer, RecordedRequest};

use crate::support::{AnyProvider, GUARD, KEY, answer, case, chat_request, fim_request, start};

/// Sends `request` through the named provider and returns what the server recorded.
async fn recorded(name: &str, request: ModelRequest) -> (RecordedRequest, ModelServer) {
    let server = start(Some(KEY)).await;
    let case = case(name);
    let provider: AnyProvider = case.against(&server, GUARD);
    server.push_answer_for(case.endpoint, "done");
    assert_eq!(answer(&provider, request).await, "done");
    let mut requests = server.requests_for(case.endpoint);
    assert_eq!(requests.len(), 1, "{name}");
    (requests.remove(0), server)
}

fn bearer(request: &RecordedRequest) -> Option<&str> {
    request.header("authorization")
}

#[tokio::test]
async fn openai_chat_body() {
    let (request, _server) = recorded("openai-chat", chat_request()).await;
    assert_eq!(bearer(&request), Some(format!("Bearer {KEY}").as_str()));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = &request.body;
    assert_eq!(body["model"], "spark-test-model");
    assert_eq!(
        (body["stream"].clone(), body["stream_options"].clone()),
        (json!(true), json!({"include_usage": true}))
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Complete the code at <|cursor|>."},
            {"role": "user", "content": "// file: add.rs\nfn add(a: i32, b: i32) -> i32 { <|cursor|> }"},
        ])
    );
    // Both cap fields on a non-OpenAI host; see openai_chat.rs for why.
    assert_eq!(
        (
            body["max_completion_tokens"].clone(),
            body["max_tokens"].clone()
        ),
        (json!(64), json!(64))
    );
    assert_eq!(body["stop"], json!(["\n\n\n"]));
    assert_eq!(body["temperature"], json!(0.0));
    // Predicted Outputs go only to hosts and models that take them (openai_chat.rs); a local
    // server gets no `prediction` field.
    assert_eq!(body.get("prediction"), None);
}

#[tokio::test]
async fn openai_chat_turns_fim_input_into_one_marked_message() {
    let mut request = fim_request();
    request.prediction = None;
    let (request, _server) = recorded("openai-chat", request).await;
    let messages = request.body["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        2,
        "default FIM instructions, then the user message"
    );
    assert_eq!(messages[0]["role"], "system");
    assert!(
        messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("<|cursor|>")
    );
    let user = messages[1]["content"].as_str().unwrap();
    assert!(user.contains("<file path=\"src/lib.rs\">\npub mod add;\n</file>"));
    assert!(user.ends_with("fn add(a: i32, b: i32) -> i32 {\n    <|cursor|>\n}\n"));
    assert_eq!(request.body.get("prediction"), None);
}

#[tokio::test]
async fn responses_http_body() {
    let (request, _server) = recorded("openai-responses (http)", chat_request()).await;
    assert_eq!(bearer(&request), Some(format!("Bearer {KEY}").as_str()));
    let body = &request.body;
    assert_eq!(body["model"], "spark-test-model");
    assert_eq!(
        (body["stream"].clone(), body["store"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(body["instructions"], "Complete the code at <|cursor|>.");
    assert_eq!(
        body["input"],
        json!([{"type": "message", "role": "user", "content": [{"type": "input_text",
            "text": "// file: add.rs\nfn add(a: i32, b: i32) -> i32 { <|cursor|> }"}]}])
    );
    assert_eq!(body["max_output_tokens"], 64);
    let cache_key = body["prompt_cache_key"].as_str().unwrap();
    assert!(
        cache_key.starts_with("spark-") && !cache_key.contains("add.rs"),
        "hashed: {cache_key}"
    );
    // Chat Completions-only fields do not exist in this API.
    for absent in ["prediction", "stop", "max_tokens", "messages"] {
        assert_eq!(body.get(absent), None, "{absent}");
    }
}

#[tokio::test]
async fn llama_infill_body_and_prewarm() {
    let (request, server) = recorded("fim (llama-cpp)", fim_request()).await;
    assert_eq!(bearer(&request), Some(format!("Bearer {KEY}").as_str()));
    let body = &request.body;
    assert_eq!(
        body["input_prefix"],
        "fn add(a: i32, b: i32) -> i32 {\n    "
    );
    assert_eq!(body["input_suffix"], "\n}\n");
    assert_eq!(
        body["input_extra"],
        json!([{"filename": "src/lib.rs", "text": "pub mod add;"}])
    );
    assert_eq!(
        (body["n_predict"].clone(), body["stream"].clone()),
        (json!(64), json!(true))
    );
    assert_eq!(
        (body["cache_prompt"].clone(), body["stop"].clone()),
        (json!(true), json!(["\n\n\n"]))
    );
    assert!(body["t_max_predict_ms"].as_u64().is_some());
    // Prewarm: the same request with n_predict 0, and nothing generated.
    let provider = case("fim (llama-cpp)").against(&server, GUARD);
    provider.prewarm(fim_request());
    provider.settled().await;
    let requests = server.requests_for(Endpoint::LlamaInfill);
    let warm = &requests.last().unwrap().body;
    assert_eq!(warm["n_predict"], 0);
    assert_eq!(warm["input_prefix"], body["input_prefix"]);
}

#[tokio::test]
async fn prewarm_is_a_no_op_where_it_means_nothing() {
    for name in ["openai-chat", "fim (ollama)", "anthropic"] {
        let server = start(Some(KEY)).await;
        let case = case(name);
        let provider = case.against(&server, GUARD);
        provider.prewarm(fim_request());
        provider.settled().await;
        assert!(server.requests_for(case.endpoint).is_empty(), "{name}");
    }
}

#[tokio::test]
async fn ollama_generate_body() {
    let (request, _server) = recorded("fim (ollama)", fim_request()).await;
    let body = &request.body;
    assert_eq!(body["model"], "spark-test-model");
    assert_eq!(
        (body["prompt"].clone(), body["suffix"].clone()),
        (
            json!("fn add(a: i32, b: i32) -> i32 {\n    "),
            json!("\n}\n")
        )
    );
    assert_eq!(
        body["options"],
        json!({"num_predict": 64, "stop": ["\n\n\n"], "temperature": 0.0})
    );
    assert_eq!(
        (body["stream"].clone(), body["raw"].clone()),
        (json!(true), json!(false))
    );
}

#[tokio::test]
async fn codestral_and_deepseek_bodies() {
    for name in ["fim (codestral)", "fim (deepseek)"] {
        let (request, _server) = recorded(name, fim_request()).await;
        assert_eq!(
            bearer(&request),
            Some(format!("Bearer {KEY}").as_str()),
            "{name}"
        );
        let body = &request.body;
        let expected = json!({
            "model": "spark-test-model", "prompt": "fn add(a: i32, b: i32) -> i32 {\n    ",
            "suffix": "\n}\n", "max_tokens": 64, "stream": true, "stop": ["\n\n\n"], "temperature": 0.0,
        });
        assert_eq!(body, &expected, "{name}");
    }
}

#[tokio::test]
async fn chat_input_to_a_fim_endpoint_completes_after_the_text() {
    let (request, _server) = recorded("fim (codestral)", chat_request()).await;
    assert_eq!(
        (
            request.body["prompt"].clone(),
            request.body["suffix"].clone()
        ),
        (
            json!("// file: add.rs\nfn add(a: i32, b: i32) -> i32 { <|cursor|> }"),
            json!("")
        )
    );
}

#[tokio::test]
async fn anthropic_body_and_headers() {
    let (request, _server) = recorded("anthropic", chat_request()).await;
    assert_eq!(request.header("x-api-key"), Some(KEY));
    assert_eq!(bearer(&request), None, "the key goes only in x-api-key");
    assert_eq!(request.header("anthropic-version"), Some("2023-06-01"));
    let body = &request.body;
    let expected: Value = json!({
        "model": "spark-test-model", "max_tokens": 64, "stream": true,
        "system": "Complete the code at <|cursor|>.",
        "messages": [{"role": "user", "content": "// file: add.rs\nfn add(a: i32, b: i32) -> i32 { <|cursor|> }"}],
        "stop_sequences": ["\n\n\n"], "temperature": 0.0,
    });
    assert_eq!(body, &expected);
}
