//! Warm bases: `generate:false` warm-ups, `previous_response_id` continuations with only the
//! query, background warming after a cold request, and stale bases resent in full.

use serde_json::json;
use spark_lsp::providers::Provider;
use spark_lsp::providers::openai_ws::OpenAiWebSocket;
use spark_tests::model_server::Endpoint;

use crate::support::*;

const CONTEXT: &str = "fn helper_context_marker() {}\n";

fn context() -> String {
    CONTEXT.repeat(40)
}

#[tokio::test]
async fn prewarm_then_stream_sends_only_the_query() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    provider.prewarm(in_session(chat(&context(), "ignored"), "doc.rs"));
    eventually("the warm-up frame", || {
        server.requests_for(Endpoint::ResponsesWebSocket).len() == 1
    })
    .await;
    server.push_answer("warm answer");
    let request = in_session(chat(&context(), "complete at line 3"), "doc.rs");
    assert_eq!(
        collect(provider.stream(request)).await,
        Ok("warm answer".into())
    );
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    assert_eq!(frames.len(), 2, "one warm-up, one continuation");
    let (warm, fork) = (&frames[0].body, &frames[1].body);
    assert_eq!(warm["generate"], false);
    assert_eq!(input_texts(warm), [context()]);
    // The warm base holds the instructions as its first input item; the fork repeats nothing.
    assert_eq!(warm["input"][0]["role"], "developer");
    assert_eq!(warm["input"][0]["content"][0]["text"], "Complete the code.");
    assert!(fork.get("instructions").is_none());
    assert!(!fork.to_string().contains("Complete the code."));
    assert!(
        fork["previous_response_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(input_texts(fork), ["complete at line 3"]);
    assert!(!fork.to_string().contains("helper_context_marker"));
    assert_ne!(
        frames[0].stream_id, frames[1].stream_id,
        "the base lane stays idle"
    );
    assert!(
        provider.cached_tokens() > 0,
        "the server served the context from its cache"
    );
}

#[tokio::test]
async fn a_cold_request_goes_in_full_and_warms_the_next_one() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("first");
    let first = in_session(chat(&context(), "q1"), "doc.rs");
    assert_eq!(collect(provider.stream(first)).await, Ok("first".into()));
    eventually("the background warm-up", || {
        server
            .requests_for(Endpoint::ResponsesWebSocket)
            .iter()
            .any(|r| r.body["generate"] == false)
    })
    .await;
    server.push_answer("second");
    let second = in_session(chat(&context(), "q2"), "doc.rs");
    assert_eq!(collect(provider.stream(second)).await, Ok("second".into()));
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    assert_eq!(input_texts(&frames[0].body), [context(), "q1".to_owned()]);
    assert!(frames[0].body.get("previous_response_id").is_none());
    let last = &frames.last().unwrap().body;
    assert_eq!(input_texts(last), ["q2"]);
    // A continuation carries neither the context nor the instructions: the base holds both.
    assert_eq!(last["input"].as_array().map(Vec::len), Some(1));
    assert!(last["previous_response_id"].is_string());
    // A changed context is not continued from the old base.
    server.push_answer("third");
    let changed = in_session(chat("fn other() {}", "q3"), "doc.rs");
    assert_eq!(collect(provider.stream(changed)).await, Ok("third".into()));
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    let third = frames
        .iter()
        .rev()
        .find(|r| r.body["generate"] != false)
        .unwrap();
    assert_eq!(input_texts(&third.body), ["fn other() {}", "q3"]);
    assert!(third.body.get("previous_response_id").is_none());
}

#[tokio::test]
async fn a_stale_base_is_resent_in_full() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    provider.prewarm(in_session(chat(&context(), ""), "doc.rs"));
    eventually("the warm base", || {
        provider.replace_warm_base("doc.rs", "resp_bogus")
    })
    .await;
    server.push_answer("still answered");
    let request = in_session(chat(&context(), "q"), "doc.rs");
    assert_eq!(
        collect(provider.stream(request)).await,
        Ok("still answered".into())
    );
    let frames: Vec<_> = server
        .requests_for(Endpoint::ResponsesWebSocket)
        .into_iter()
        .filter(|r| r.body["generate"] != false)
        .collect();
    assert_eq!(frames.len(), 2, "the continuation, then the full resend");
    assert_eq!(frames[0].body["previous_response_id"], json!("resp_bogus"));
    assert_eq!(input_texts(&frames[1].body), [context(), "q".to_owned()]);
    assert!(frames[1].body.get("previous_response_id").is_none());
}
