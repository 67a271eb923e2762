//! End-to-end tests of the Responses WebSocket provider (`OpenAiWebSocket`) against the
//! reference model server over real loopback sockets: one warm socket, lanes, abandonment,
//! warm bases and continuations, faults, fallback, auth, logging and shutdown. They assert
//! behaviour and wait for effects with bounded loops, never timing.

#![allow(clippy::unwrap_used)]

mod faults;
mod support;
mod warm;

use std::collections::HashSet;

use spark_lsp::providers::openai_ws::{OpenAiWebSocket, WsOptions};
use spark_lsp::providers::{ModelInput, ModelRequest, Provider};
use spark_tests::model_server::{CostModel, Endpoint};

use crate::support::*;

#[tokio::test]
async fn sequential_requests_share_one_socket() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    for n in 0..3 {
        let answer = format!("let x{n} = {n};");
        server.push_answer(answer.clone());
        assert_eq!(
            collect(provider.stream(chat("", "complete"))).await,
            Ok(answer)
        );
    }
    assert_eq!(server.websocket_connections(), 1);
    assert_eq!(provider.connections_opened(), 1);
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    assert_eq!(frames.len(), 3);
    for frame in &frames {
        let body = &frame.body;
        assert_eq!(body["type"], "response.create");
        assert_eq!(body["model"], "spark");
        // Instructions lead the input as a developer message, so a warm base keeps them.
        assert!(body.get("instructions").is_none());
        assert_eq!(body["input"][0]["role"], "developer");
        assert_eq!(body["input"][0]["content"][0]["text"], "Complete the code.");
        assert_eq!(body["store"], false);
        assert_eq!(body["max_output_tokens"], 64);
        assert!(body.get("stream").is_none() && body.get("background").is_none());
        assert!(
            frame
                .stream_id
                .as_deref()
                .is_some_and(|s| s.starts_with("spark-"))
        );
        assert_eq!(input_texts(body), ["complete"]);
    }
}

#[tokio::test]
async fn fim_requests_put_the_cursor_marker_between_prefix_and_suffix() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("a + b");
    let request = ModelRequest {
        input: ModelInput::Fim {
            prefix: "let sum = ".into(),
            suffix: ";".into(),
            extra: Vec::new(),
        },
        ..chat("", "")
    };
    assert_eq!(collect(provider.stream(request)).await, Ok("a + b".into()));
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    // The instructions lead as a developer message; the FIM text is the one user message.
    let texts = input_texts(&frames[0].body);
    assert_eq!(
        texts.last().map(String::as_str),
        Some("let sum = <|cursor|>;")
    );
}

#[tokio::test]
async fn concurrent_requests_run_on_different_lanes() {
    // A real decode rate, so the two answers overlap on the socket.
    let server = start(with_cost(CostModel {
        decode_tps: 300.0,
        ..CostModel::instant()
    }))
    .await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    let (a, b) = ("alpha ".repeat(30), "beta ".repeat(30));
    server.push_answer(a.clone());
    server.push_answer(b.clone());
    let first = provider.stream(chat("", "one"));
    let second = provider.stream(chat("", "two"));
    let (first, second) = tokio::join!(collect(first), collect(second));
    let answers: HashSet<String> = [first.unwrap(), second.unwrap()].into();
    assert_eq!(answers, HashSet::from([a, b]));
    let lanes: HashSet<_> = server
        .requests_for(Endpoint::ResponsesWebSocket)
        .into_iter()
        .map(|r| r.stream_id)
        .collect();
    assert_eq!(lanes.len(), 2, "{lanes:?}");
    assert_eq!(server.websocket_connections(), 1);
}

#[tokio::test]
async fn an_abandoned_lane_is_not_reused_while_its_answer_runs() {
    // 20 tokens/s: the first answer takes seconds, so it is still running when the second
    // request is served.
    let server = start(with_cost(CostModel {
        decode_tps: 20.0,
        ..CostModel::instant()
    }))
    .await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("slow ".repeat(100));
    let mut abandoned = provider.stream(chat("", "first"));
    let first = tokio::time::timeout(GUARD, abandoned.next()).await.unwrap();
    assert_eq!(first, Some(Ok("slow".into())));
    drop(abandoned);
    server.push_answer("fast");
    assert_eq!(
        collect(provider.stream(chat("", "second"))).await,
        Ok("fast".into())
    );
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    assert_eq!(frames.len(), 2);
    assert_ne!(frames[0].stream_id, frames[1].stream_id);
    assert_eq!(server.websocket_connections(), 1);
}

#[tokio::test]
async fn more_requests_than_lanes_wait_for_a_free_lane() {
    let server = start(with_cost(CostModel {
        decode_tps: 500.0,
        ..CostModel::instant()
    }))
    .await;
    let options = WsOptions {
        lanes: 2,
        ..WsOptions::default()
    };
    let provider = OpenAiWebSocket::start_with(settings(&server, None), fallback(), options);
    let streams: Vec<_> = (0..5)
        .map(|n| {
            server.push_answer(format!("answer {n} ").repeat(5));
            provider.stream(chat("", &format!("q{n}")))
        })
        .collect();
    let results = futures_util::future::join_all(streams.into_iter().map(collect)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let lanes: HashSet<_> = server
        .requests_for(Endpoint::ResponsesWebSocket)
        .into_iter()
        .filter_map(|r| r.stream_id)
        .collect();
    assert_eq!(
        lanes,
        HashSet::from(["spark-0".to_owned(), "spark-1".to_owned()])
    );
}

#[tokio::test]
async fn a_bad_base_url_is_a_config_error() {
    let server = start(fast_config()).await;
    let mut settings = settings(&server, None);
    settings.base_url = "ftp://example.invalid".into();
    let provider = OpenAiWebSocket::start(settings, fallback());
    let result = collect(provider.stream(chat("", "q"))).await;
    assert!(
        matches!(result, Err(spark_lsp::providers::ProviderError::Config(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn rotation_opens_a_fresh_socket_and_keeps_serving() {
    let server = start(fast_config()).await;
    let options = WsOptions {
        rotate_after: std::time::Duration::from_millis(200),
        ..WsOptions::default()
    };
    let provider = OpenAiWebSocket::start_with(settings(&server, None), fallback(), options);
    server.push_answer("before");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("before".into())
    );
    eventually("a rotation", || provider.connections_opened() >= 2).await;
    server.push_answer("after");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("after".into())
    );
    assert!(server.websocket_connections() >= 2);
}

#[tokio::test]
async fn dropping_the_provider_ends_its_tasks() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("x");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("x".into())
    );
    let tasks = provider.tasks();
    assert!(tasks.live() >= 3, "supervisor, reader and writer run");
    drop(provider);
    eventually("every task to end", || tasks.live() == 0).await;
}
