//! Frame and event shapes of WebSocket mode.

use serde_json::{Value, json};

use super::*;
use crate::providers::{ExtraFile, Secret};

fn request(context: &str, query: &str) -> ModelRequest {
    ModelRequest {
        instructions: "complete".into(),
        input: ModelInput::Chat {
            context: context.into(),
            query: query.into(),
        },
        max_output_tokens: 64,
        temperature: Some(0.0),
        ..ModelRequest::default()
    }
}

fn frame(request: &ModelRequest, create: Create<'_>) -> Value {
    let reasoning = Reasoning::new(crate::config::Reasoning::ModelDefault, "spark");
    serde_json::from_str(&create_frame("spark", request, create, &reasoning)).expect("valid JSON")
}

#[test]
fn every_create_asks_for_the_least_reasoning_by_default() {
    let reasoning = Reasoning::new(crate::config::Reasoning::Least, "gpt-5.3-codex-spark");
    let frame = create_frame(
        "gpt-5.3-codex-spark",
        &request("c", "q"),
        create(Texts::Full),
        &reasoning,
    );
    let frame: Value = serde_json::from_str(&frame).expect("valid JSON");
    assert_eq!(frame["reasoning"], serde_json::json!({"effort": "none"}));
}

fn create(texts: Texts) -> Create<'static> {
    Create {
        stream_id: "spark-1",
        previous_response_id: None,
        generate: true,
        texts,
    }
}

/// The input messages as `role: text`.
fn texts(frame: &Value) -> Vec<String> {
    frame["input"]
        .as_array()
        .expect("input list")
        .iter()
        .map(|item| {
            assert_eq!(item["type"], "message");
            assert_eq!(item["content"][0]["type"], "input_text");
            let role = item["role"].as_str().expect("role");
            let text = item["content"][0]["text"].as_str().expect("text");
            if role == "user" {
                text.to_owned()
            } else {
                format!("{role}: {text}")
            }
        })
        .collect()
}

#[test]
fn urls_swap_the_scheme_and_add_responses() {
    assert_eq!(
        ws_url("https://api.openai.com/v1/").ok(),
        Some("wss://api.openai.com/v1/responses".to_owned())
    );
    assert_eq!(
        ws_url("http://127.0.0.1:9/v1").ok(),
        Some("ws://127.0.0.1:9/v1/responses".to_owned())
    );
    assert!(matches!(ws_url("ftp://x"), Err(ProviderError::Config(_))));
}

#[test]
fn a_full_request_carries_context_then_query() {
    let full = frame(&request("ctx", "q"), create(Texts::Full));
    // Instructions lead the cacheable input: the `instructions` field is not inherited by a
    // continuation, input items are.
    assert_eq!(texts(&full), ["developer: complete", "ctx", "q"]);
    assert_eq!(full["type"], "response.create");
    assert_eq!(full["model"], "spark");
    assert!(full.get("instructions").is_none());
    assert_eq!(full["store"], false);
    assert_eq!(full["stream_id"], "spark-1");
    assert_eq!(full["max_output_tokens"], 64);
    assert_eq!(full["temperature"], 0.0);
    for absent in ["stream", "background", "generate", "previous_response_id"] {
        assert!(full.get(absent).is_none(), "{absent} must not be sent");
    }
}

#[test]
fn warm_ups_send_the_context_and_continuations_only_the_query() {
    let warm = frame(
        &request("ctx", "q"),
        Create {
            generate: false,
            ..create(Texts::Context)
        },
    );
    assert_eq!(
        (texts(&warm), &warm["generate"]),
        (
            vec!["developer: complete".to_owned(), "ctx".to_owned()],
            &json!(false)
        )
    );
    assert!(warm.get("max_output_tokens").is_none());
    let fork = frame(
        &request("ctx", "q"),
        Create {
            previous_response_id: Some("resp_1"),
            ..create(Texts::Query)
        },
    );
    assert_eq!(
        (texts(&fork), &fork["previous_response_id"]),
        (vec!["q".to_owned()], &json!("resp_1"))
    );
}

#[test]
fn fim_is_one_message_with_the_cursor_marker() {
    let fim = ModelRequest {
        input: ModelInput::Fim {
            prefix: "fn a() {".into(),
            suffix: "}".into(),
            extra: vec![ExtraFile {
                path: "b.rs".into(),
                text: "fn b() {}".into(),
            }],
        },
        ..ModelRequest::default()
    };
    let frame = frame(&fim, create(Texts::Full));
    // The same rendering as the HTTP chat wires, after the default FIM instructions.
    let texts = texts(&frame);
    assert!(texts[0].starts_with("developer: "), "{texts:?}");
    assert_eq!(
        texts[1..],
        ["<file path=\"b.rs\">\nfn b() {}\n</file>\n\nfn a() {<|cursor|>}"]
    );
}

#[test]
fn events_reduce_to_what_a_request_needs() {
    let parse = |v: Value| parse_event(&v);
    assert_eq!(
        parse(json!({"type": "response.in_progress"})),
        Event::InProgress
    );
    assert_eq!(
        parse(json!({"type": "response.output_text.delta", "delta": "ab"})),
        Event::Delta("ab".into())
    );
    assert_eq!(
        parse(
            json!({"type": "response.completed", "response": {"id": "r", "usage": {"input_tokens_details": {"cached_tokens": 7}}}})
        ),
        Event::Done {
            id: Some("r".into()),
            cached_tokens: Some(7)
        }
    );
    assert_eq!(
        parse(json!({"type": "response.output_text.delta", "delta": 3})),
        Event::Other
    );
    assert_eq!(parse(json!({"type": "codex.rate_limits"})), Event::Other);
    assert_eq!(parse(json!([1, 2])), Event::Other);
    assert_eq!(stream_id(&json!({"stream_id": "spark-3"})), Some("spark-3"));
}

#[test]
fn errors_map_by_status() {
    let error = |v: Value| match parse_event(&v) {
        Event::Error(e) => e.to_provider_error(),
        other => panic!("not an error: {other:?}"),
    };
    assert!(matches!(
        error(json!({"type": "error", "status": 401, "error": {"message": "bad key"}})),
        ProviderError::Auth(_)
    ));
    assert_eq!(
        error(json!({"type": "error", "status": 429, "error": {"headers": {"retry-after": "3"}}})),
        ProviderError::RateLimited {
            retry_after: Some(std::time::Duration::from_secs(3))
        }
    );
    assert_eq!(
        error(json!({"type": "error", "status": 429, "headers": {"retry-after-ms": 1500}})),
        ProviderError::RateLimited {
            retry_after: Some(std::time::Duration::from_millis(1500))
        }
    );
    assert!(matches!(
        error(json!({"type": "error", "status": 503})),
        ProviderError::Unavailable(_)
    ));
    assert!(
        matches!(error(json!({"type": "error", "status": 400, "error": {"code": "x"}})), ProviderError::Protocol(m) if m.starts_with("x: "))
    );
    assert!(matches!(
        error(json!({"type": "error"})),
        ProviderError::Protocol(_)
    ));
}

#[test]
fn the_handshake_carries_the_key_and_headers_marked_sensitive() {
    let settings = Settings {
        base_url: "https://x/v1".into(),
        model: "m".into(),
        api_key: Some(Secret::new("sk-1")),
        headers: vec![("x-extra".into(), Secret::new("v"))],
        timeout: std::time::Duration::from_secs(1),
        connect_timeout: std::time::Duration::from_secs(1),
        tls: crate::providers::client_config(None).expect("tls"),
        reasoning: crate::config::Reasoning::Least,
    };
    let request = handshake_request("wss://x/v1/responses", &settings).expect("request");
    let auth = request.headers().get("authorization").expect("auth header");
    assert_eq!(auth.to_str().ok(), Some("Bearer sk-1"));
    assert!(auth.is_sensitive());
    assert!(
        request
            .headers()
            .get("x-extra")
            .is_some_and(|v| v.is_sensitive())
    );
    assert!(request.headers().get("sec-websocket-key").is_some());
    assert!(
        !format!("{request:?}").contains("sk-1"),
        "debug output hides the key"
    );
}
