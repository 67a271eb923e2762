//! Provider-specific endpoints: llama.cpp `/infill`, Ollama `/api/generate`, Codestral and
//! DeepSeek FIM, Anthropic Messages; corpus mode and stop sequences through them.

use serde_json::{Value, json};
use spark_tests::http_client::HttpClient;
use spark_tests::model_server::{Endpoint, Fault, ModelServer, ModelServerConfig};

use crate::support::{fast_config, start};

const CORPUS: &str = "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\nfn sub(a: i32, b: i32) -> i32 {\n    a - b\n}\n";

#[tokio::test]
async fn llama_infill_corpus_mode_and_cache() {
    let server = start().await;
    server.set_corpus(Some(CORPUS.to_owned()));
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = json!({"input_prefix": "// mine\nfn sub(a: i32, b: i32) -> i32 {\n", "input_suffix": "\n}\n", "prompt": "    ", "stream": true, "n_predict": 64});
    let events = client.post_json("/infill", &body).await.unwrap().sse();
    let values: Vec<Value> = events.iter().map(|e| e.json().unwrap()).collect();
    let (last, tokens) = values.split_last().unwrap();
    assert!(tokens.iter().all(|v| v["stop"] == false));
    let text: String = tokens
        .iter()
        .map(|v| v["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        text, "a - b",
        "continues the corpus and stops where the suffix begins"
    );
    assert_eq!(
        (last["stop"].clone(), last["stop_type"].clone()),
        (json!(true), json!("eos"))
    );
    assert!(last["timings"]["predicted_n"].as_u64() == Some(tokens.len() as u64));
    // Warm-up: n_predict 0 answers nothing; the same prompt again is then mostly cached.
    let warm = json!({"input_prefix": "fn add(", "input_suffix": "", "n_predict": 0});
    let warm = client
        .post_json("/infill", &warm)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (warm["content"].clone(), warm["stop_type"].clone()),
        (json!(""), json!("limit"))
    );
    let again = json!({"input_prefix": "fn add(", "input_suffix": "", "stop": [")"]});
    let again = client
        .post_json("/infill", &again)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(again["content"], "a: i32, b: i32");
    assert_eq!(
        (again["stop_type"].clone(), again["stopping_word"].clone()),
        (json!("word"), json!(")"))
    );
    assert!(again["tokens_cached"].as_u64().unwrap() > 0);
    assert_eq!(
        server.connections_accepted(),
        1,
        "keep-alive: one connection for three requests"
    );
}

#[tokio::test]
async fn ollama_generate_ndjson() {
    let server = start().await;
    server.push_answer_for(Endpoint::OllamaGenerate, "x + 1");
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = json!({"model": "codellama:code", "prompt": "fn f(x: u8) -> u8 {", "suffix": "}", "options": {"num_predict": 16}});
    let response = client.post_json("/api/generate", &body).await.unwrap();
    assert_eq!(
        response.header("content-type"),
        Some("application/x-ndjson")
    );
    let lines = response.ndjson().unwrap();
    let (last, tokens) = lines.split_last().unwrap();
    assert!(
        tokens
            .iter()
            .all(|l| l["done"] == false && l["model"] == "codellama:code")
    );
    assert_eq!(
        tokens
            .iter()
            .map(|l| l["response"].as_str().unwrap())
            .collect::<String>(),
        "x + 1"
    );
    assert_eq!(
        (last["done"].clone(), last["done_reason"].clone()),
        (json!(true), json!("stop"))
    );
    assert_eq!(last["eval_count"], tokens.len());
    assert!(last["created_at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn codestral_and_deepseek_fim() {
    let server = start().await;
    server.push_answer_for(Endpoint::CodestralFim, "left + right");
    server.push_answer_for(Endpoint::DeepSeekFim, "left - right");
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = json!({"model": "codestral-latest", "prompt": "fn f() {", "suffix": "}", "stream": true, "max_tokens": 32});
    let events = client
        .post_json("/v1/fim/completions", &body)
        .await
        .unwrap()
        .sse();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json().unwrap())
        .collect();
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "left + right");
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
    assert!(
        chunks.last().unwrap()["usage"]["completion_tokens"]
            .as_u64()
            .is_some()
    );
    let events = client
        .post_json("/beta/completions", &body)
        .await
        .unwrap()
        .sse();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json().unwrap())
        .collect();
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    let text: String = chunks
        .iter()
        .map(|c| c["choices"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "left - right");
    let recorded = server.requests_for(Endpoint::CodestralFim);
    assert_eq!(recorded[0].body["suffix"], "}");
}

#[tokio::test]
async fn anthropic_messages_stream_and_auth() {
    let config = ModelServerConfig {
        api_key: Some("sk-ant".into()),
        ..fast_config()
    };
    let server = ModelServer::start(config).await.unwrap();
    server.set_corpus(Some(CORPUS.to_owned()));
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = json!({"model": "claude", "max_tokens": 64, "stream": true, "stop_sequences": ["\n}"],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "fn add(a: i32, b: i32) -> i32 {<|cursor|>"}]}]});
    let denied = client
        .request(
            "POST",
            "/v1/messages",
            &[("authorization", "Bearer sk-ant")],
            Some(&body),
        )
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(
        denied.json().unwrap()["error"]["type"],
        "authentication_error"
    );
    let headers = [("x-api-key", "sk-ant"), ("anthropic-version", "2023-06-01")];
    let events = client
        .request("POST", "/v1/messages", &headers, Some(&body))
        .await
        .unwrap()
        .sse();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    let n = names
        .iter()
        .filter(|n| **n == "content_block_delta")
        .count();
    let mut expected = vec!["message_start", "ping", "content_block_start"];
    expected.extend(std::iter::repeat_n("content_block_delta", n));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);
    let values: Vec<Value> = events.iter().map(|e| e.json().unwrap()).collect();
    let text: String = values
        .iter()
        .filter_map(|v| v["delta"]["text"].as_str())
        .collect();
    assert_eq!(text, "\n    a + b");
    let delta = &values[values.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "stop_sequence");
    assert_eq!(delta["delta"]["stop_sequence"], "\n}");
    assert_eq!(delta["usage"]["output_tokens"], n);
    let recorded = server.requests_for(Endpoint::AnthropicMessages);
    assert_eq!(
        recorded[0].header("authorization"),
        Some("Bearer sk-ant"),
        "recorded as sent"
    );
    assert_eq!(recorded[1].header("x-api-key"), Some("sk-ant"));
    assert_eq!(recorded[1].header("authorization"), None);
}

#[tokio::test]
async fn mid_stream_error_events() {
    let server = start().await;
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    server.push_answer("one two three four");
    server.push_fault(Fault::StreamError { after_tokens: 1 });
    let body = json!({"model": "m", "stream": true, "input": "x"});
    let events = client
        .post_json("/v1/responses", &body)
        .await
        .unwrap()
        .sse();
    let last = events.last().unwrap();
    assert_eq!(last.event.as_deref(), Some("error"));
    let error = last.json().unwrap();
    assert_eq!(error["code"], "server_error");
    assert!(error.get("error").is_none(), "the SSE error event is flat");
    assert_eq!(error["sequence_number"], events.len() - 1);
    let deltas = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("response.output_text.delta"));
    assert_eq!(deltas.count(), 1);
    server.push_fault_for(
        Endpoint::AnthropicMessages,
        Fault::StreamError { after_tokens: 0 },
    );
    let body =
        json!({"max_tokens": 8, "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let events = client.post_json("/v1/messages", &body).await.unwrap().sse();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        ["message_start", "ping", "content_block_start", "error"]
    );
    assert_eq!(
        events[3].json().unwrap()["error"]["type"],
        "overloaded_error"
    );
    assert_eq!(
        server.connections_accepted(),
        1,
        "the connection survives the error"
    );
}
