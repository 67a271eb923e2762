//! OpenAI-style HTTP endpoints: chat and Responses stream shapes, stop sequences, keep-alive,
//! auth, recording and the HTTP faults.

use serde_json::{Value, json};
use spark_tests::http_client::HttpClient;
use spark_tests::model_server::{Endpoint, Fault, ModelServer, ModelServerConfig, split_tokens};

use crate::support::{fast_config, start};

const ANSWER: &str = "fn main() {\n    println!(\"hi\");\n}\n";

fn chat_body(extra: Value) -> Value {
    let mut body = json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "write main"}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn chat_completions_stream_shape() {
    let server = start().await;
    server.push_answer(ANSWER);
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = chat_body(json!({"stream_options": {"include_usage": true}}));
    let response = client
        .post_json("/v1/chat/completions", &body)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    let events = response.sse();
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json().unwrap())
        .collect();
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == chunks[0]["id"])
    );
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let n = split_tokens(ANSWER).len();
    assert_eq!(chunks.len(), 1 + n + 2, "role, tokens, finish, usage");
    let text: String = chunks[1..=n]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, ANSWER);
    assert_eq!(chunks[n + 1]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[n + 1]["usage"], Value::Null);
    let usage = &chunks[n + 2];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], n);
}

#[tokio::test]
async fn chat_completions_cache_long_shared_prefixes_in_blocks_as_openai_does() {
    let server = start().await;
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let shared = "fn f() {}\n".repeat(600); // 6,000 bytes: about 1,500 tokens
    let mut cached = Vec::new();
    for tail in ["first", "second", "short"] {
        let content = if tail == "short" {
            "write main".to_owned()
        } else {
            format!("{shared}{tail}")
        };
        server.push_answer("ok");
        let body = json!({"model": "m", "stream": false,
            "messages": [{"role": "user", "content": content}]});
        let response = client
            .post_json("/v1/chat/completions", &body)
            .await
            .unwrap();
        let usage = response.json().unwrap()["usage"].clone();
        cached.push(
            usage["prompt_tokens_details"]["cached_tokens"]
                .as_u64()
                .unwrap(),
        );
    }
    // Nothing before the first; then the shared 6,000 bytes (1,500 tokens) in whole 128-token
    // blocks; a prompt under 1,024 tokens is never cached.
    assert_eq!(cached, [0, 1_408, 0]);
}

#[tokio::test]
async fn chat_stop_sequences_and_token_cap() {
    let server = start().await;
    server.push_answer("let x = 1;\nlet y = 2;\n");
    server.push_answer("aaaa bbbb cccc dddd");
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let stopped = client
        .post_json(
            "/v1/chat/completions",
            &chat_body(json!({"stream": false, "stop": ["\n"]})),
        )
        .await
        .unwrap();
    let stopped = stopped.json().unwrap();
    assert_eq!(stopped["object"], "chat.completion");
    assert_eq!(stopped["choices"][0]["message"]["content"], "let x = 1;");
    assert_eq!(stopped["choices"][0]["finish_reason"], "stop");
    let capped = client
        .post_json(
            "/v1/chat/completions",
            &chat_body(json!({"max_completion_tokens": 2})),
        )
        .await
        .unwrap();
    let chunks = capped.sse();
    let finish = chunks[chunks.len() - 2].json().unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    assert_eq!(
        chunks.len(),
        1 + 2 + 1 + 1,
        "role, two tokens, finish, [DONE]"
    );
}

#[tokio::test]
async fn responses_sse_shape_and_store() {
    let server = start().await;
    server.push_answer(ANSWER);
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = json!({"model": "m", "stream": true, "input": "hi", "store": true});
    let response = client.post_json("/v1/responses", &body).await.unwrap();
    let events = response.sse();
    let values: Vec<Value> = events.iter().map(|e| e.json().unwrap()).collect();
    for (index, (event, value)) in events.iter().zip(&values).enumerate() {
        assert_eq!(
            event.event.as_deref(),
            value["type"].as_str(),
            "event name equals data.type"
        );
        assert_eq!(value["sequence_number"], index);
    }
    let types: Vec<&str> = values.iter().map(|v| v["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        crate::support::response_sequence(split_tokens(ANSWER).len())
    );
    assert_eq!(crate::support::delta_text(&values), ANSWER);
    let completed = &values.last().unwrap()["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"][0]["content"][0]["text"], ANSWER);
    assert!(completed["usage"]["input_tokens"].as_u64().unwrap() > 0);
    // A stored response can be continued over HTTP; an unknown one cannot.
    let id = completed["id"].as_str().unwrap();
    let next = json!({"model": "m", "input": "more", "previous_response_id": id});
    let next = client
        .post_json("/v1/responses", &next)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert!(
        next["usage"]["input_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    let missing =
        json!({"model": "m", "input": "x", "previous_response_id": "resp_nope", "store": false});
    let missing = client.post_json("/v1/responses", &missing).await.unwrap();
    assert_eq!(missing.status(), 400);
    let error = missing.json().unwrap();
    assert_eq!(error["error"]["code"], "previous_response_not_found");
    assert_eq!(error["error"]["param"], "previous_response_id");
}

#[tokio::test]
async fn bearer_auth_and_recording() {
    let config = ModelServerConfig {
        api_key: Some("sk-test".into()),
        ..fast_config()
    };
    let server = ModelServer::start(config).await.unwrap();
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = chat_body(json!({"stream": false}));
    let denied = client
        .request("POST", "/v1/chat/completions", &[], Some(&body))
        .await
        .unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.json().unwrap()["error"]["code"], "invalid_api_key");
    let headers = [("Authorization", "Bearer sk-test"), ("X-Custom", "Yes")];
    let ok = client
        .request("POST", "/v1/chat/completions", &headers, Some(&body))
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let recorded = server.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].endpoint, Endpoint::ChatCompletions);
    assert_eq!(recorded[1].connection_id, recorded[0].connection_id);
    assert!(
        recorded[1]
            .headers
            .contains(&("authorization".into(), "Bearer sk-test".into()))
    );
    assert!(
        recorded[1]
            .headers
            .contains(&("x-custom".into(), "Yes".into()))
    );
    assert_eq!(recorded[1].body, body);
    assert!(recorded[1].received_at >= recorded[0].received_at);
}

#[tokio::test]
async fn http_faults() {
    let server = start().await;
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let body = chat_body(json!({}));
    server.push_fault(Fault::RateLimited {
        retry_after_secs: 7,
    });
    let limited = client
        .post_json("/v1/chat/completions", &body)
        .await
        .unwrap();
    assert_eq!(
        (limited.status(), limited.header("retry-after")),
        (429, Some("7"))
    );
    assert_eq!(limited.json().unwrap()["error"]["type"], "rate_limit_error");
    server.push_fault_for(Endpoint::ChatCompletions, Fault::ServerError(503));
    assert_eq!(
        client
            .post_json("/v1/chat/completions", &body)
            .await
            .unwrap()
            .status(),
        503
    );
    server.push_answer("one two three four");
    server.push_fault(Fault::Malformed);
    let malformed = client
        .post_json("/v1/chat/completions", &body)
        .await
        .unwrap()
        .sse();
    assert_eq!(
        malformed
            .iter()
            .filter(|e| e.data != "[DONE]" && e.json().is_err())
            .count(),
        1
    );
    server.push_fault(Fault::Stall(std::time::Duration::from_millis(20)));
    assert_eq!(
        client
            .post_json("/v1/chat/completions", &body)
            .await
            .unwrap()
            .status(),
        200
    );
    // Drop after two tokens: the chunked body ends without its last chunk.
    server.push_answer("one two three four");
    server.push_fault(Fault::DropAfterTokens(2));
    client
        .send("POST", "/v1/chat/completions", &[], Some(&body))
        .await
        .unwrap();
    let head = client.read_head().await.unwrap();
    assert_eq!(head.status, 200);
    let mut received = Vec::new();
    let ended = loop {
        match client.next_chunk().await {
            Ok(Some(chunk)) => received.push(String::from_utf8(chunk).unwrap()),
            Ok(None) => break "finished",
            Err(_) => break "dropped",
        }
    };
    assert_eq!(ended, "dropped");
    assert_eq!(received.len(), 1 + 2, "role chunk and two tokens");
    assert_eq!(server.connections_accepted(), 1);
    // A slow first request on a new connection still gets its answer.
    server.push_fault(Fault::SlowHandshake(std::time::Duration::from_millis(20)));
    let mut fresh = HttpClient::connect(server.addr()).await.unwrap();
    assert_eq!(
        fresh
            .post_json("/v1/chat/completions", &body)
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(server.connections_accepted(), 2);
}

#[tokio::test]
async fn helper_routes() {
    let server = start().await;
    let mut client = HttpClient::connect(server.addr()).await.unwrap();
    let models = client
        .request("GET", "/v1/models", &[], None)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(models["data"][0]["id"], "spark-reference");
    assert_eq!(
        client
            .request("GET", "/nope", &[], None)
            .await
            .unwrap()
            .status(),
        404
    );
    assert!(
        server.http_base().ends_with("/v1") && server.http_base().starts_with("http://127.0.0.1:")
    );
}
