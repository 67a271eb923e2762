//! Behaviour every HTTP provider shares, checked for each one: it streams exactly the
//! scripted answer, maps injected faults and bad keys to typed errors, keeps one connection
//! alive across requests and lets go of the model when the caller drops the stream.

use std::time::Duration;

use spark_lsp::providers::ProviderError;
use spark_tests::model_server::{Fault, split_tokens};

use crate::support::{
    CASES, GUARD, KEY, after_first_delta, answer, chat_request, collect, decoding, error,
    fim_request, settings, start, start_with,
};

#[tokio::test]
async fn every_provider_streams_exactly_the_scripted_answer() {
    for case in CASES {
        let server = start(Some(KEY)).await;
        let provider = case.against(&server, GUARD);
        let scripted = "a + b // sum, café → 世界";
        server.push_answer_for(case.endpoint, scripted);
        assert_eq!(
            answer(&provider, fim_request()).await,
            scripted,
            "{}",
            case.name
        );
        server.push_answer_for(case.endpoint, "x\ny");
        assert_eq!(
            answer(&provider, chat_request()).await,
            "x\ny",
            "{}",
            case.name
        );
        // Deltas arrive one token at a time, not as one blob at the end.
        server.push_answer_for(case.endpoint, "let total = a + b;");
        let mut stream = provider.stream(fim_request());
        let mut deltas = Vec::new();
        while let Some(delta) = tokio::time::timeout(GUARD, stream.next()).await.unwrap() {
            deltas.push(delta.unwrap());
        }
        assert_eq!(deltas, split_tokens("let total = a + b;"), "{}", case.name);
    }
}

#[tokio::test]
async fn injected_faults_become_typed_errors() {
    for case in CASES {
        let server = start(Some(KEY)).await;
        let provider = case.against(&server, GUARD);
        let name = case.name;
        server.push_fault_for(
            case.endpoint,
            Fault::RateLimited {
                retry_after_secs: 7,
            },
        );
        assert_eq!(
            error(&provider, fim_request()).await,
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            },
            "{name}"
        );
        server.push_fault_for(case.endpoint, Fault::ServerError(500));
        let err = error(&provider, fim_request()).await;
        assert!(
            matches!(err, ProviderError::Unavailable(_)),
            "{name}: {err:?}"
        );
        server.push_fault_for(case.endpoint, Fault::ServerError(503));
        let err = error(&provider, fim_request()).await;
        assert!(
            matches!(err, ProviderError::Unavailable(_)),
            "{name}: {err:?}"
        );
        server.push_fault_for(case.endpoint, Fault::Malformed);
        let err = error(&provider, fim_request()).await;
        assert!(matches!(err, ProviderError::Protocol(_)), "{name}: {err:?}");
        server.push_answer_for(case.endpoint, "one two three four five");
        server.push_fault_for(case.endpoint, Fault::DropAfterTokens(2));
        let (text, err) = collect(provider.stream(fim_request())).await;
        assert_eq!(text, "one two", "{name}: the tokens before the drop arrive");
        assert!(
            err.is_some(),
            "{name}: a dropped connection is an error, not an answer"
        );
        server.push_answer_for(case.endpoint, "one two three");
        server.push_fault_for(case.endpoint, Fault::StreamError { after_tokens: 1 });
        let (text, err) = collect(provider.stream(fim_request())).await;
        assert_eq!(text, "one", "{name}");
        assert!(
            matches!(err, Some(ProviderError::Unavailable(_))),
            "{name}: {err:?}"
        );
        // The provider still works after all that.
        server.push_answer_for(case.endpoint, "ok");
        assert_eq!(answer(&provider, fim_request()).await, "ok", "{name}");
    }
}

#[tokio::test]
async fn a_stalled_server_times_out() {
    for case in CASES {
        let server = start(Some(KEY)).await;
        let provider = case.against(&server, Duration::from_millis(200));
        server.push_fault_for(case.endpoint, Fault::Stall(Duration::from_secs(30)));
        let err = error(&provider, fim_request()).await;
        assert_eq!(err, ProviderError::Timeout, "{}", case.name);
    }
}

#[tokio::test]
async fn a_stream_that_stalls_between_tokens_times_out() {
    // One token a second against a 300 ms stall timeout: the first token arrives at once,
    // then the silence before the second is too long.
    for case in CASES {
        let server = start_with(Some(KEY), decoding(1.0)).await;
        let provider = case.against(&server, Duration::from_millis(300));
        server.push_answer_for(case.endpoint, "one two three");
        let (text, err) = collect(provider.stream(fim_request())).await;
        assert_eq!(text, "one", "{}", case.name);
        assert_eq!(err, Some(ProviderError::Timeout), "{}", case.name);
    }
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_an_auth_error() {
    for case in CASES.iter().filter(|c| c.checks_key) {
        let server = start(Some(KEY)).await;
        let base = case.base_url(&server);
        for key in [None, Some("sk-wrong")] {
            let provider = case.provider(settings(&base, key));
            let err = error(&provider, fim_request()).await;
            assert!(
                matches!(err, ProviderError::Auth(_)),
                "{} {key:?}: {err:?}",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn sequential_requests_share_the_preconnected_connection() {
    for case in CASES {
        let server = start(Some(KEY)).await;
        let provider = case.against(&server, GUARD);
        provider.settled().await;
        assert_eq!(
            server.connections_accepted(),
            1,
            "{}: preconnected",
            case.name
        );
        for answer_text in ["first", "second"] {
            server.push_answer_for(case.endpoint, answer_text);
            assert_eq!(answer(&provider, fim_request()).await, answer_text);
            // The finished body is drained in the background; then the connection is idle.
            provider.settled().await;
        }
        assert_eq!(
            server.connections_accepted(),
            1,
            "{}: keep-alive",
            case.name
        );
        assert_eq!(server.requests_for(case.endpoint).len(), 2);
    }
}

#[tokio::test]
async fn dropping_the_stream_abandons_the_request() {
    // 2,000 tokens at 50 a second: the answer would take 40 s, four times the guard, so the
    // provider settling within the guard means it stopped reading, not that it finished.
    for case in CASES {
        let server = start_with(Some(KEY), decoding(50.0)).await;
        let provider = case.against(&server, GUARD);
        provider.settled().await;
        let stream = after_first_delta(&provider, &server, &case, 2000).await;
        assert_eq!(provider.in_flight(), 1);
        drop(stream);
        provider.settled().await;
        // A tail this long is over the drain cap: the abandoned connection was closed, not
        // reused; the next request needs a new one, and it is answered promptly.
        server.push_answer_for(case.endpoint, "next");
        assert_eq!(
            answer(&provider, fim_request()).await,
            "next",
            "{}",
            case.name
        );
        assert_eq!(server.connections_accepted(), 2, "{}", case.name);
    }
}

#[tokio::test]
async fn early_stops_keep_the_http1_connection() {
    // A suggestion complete after its first delta (block end, suffix reached, superseded):
    // the caller drops the stream while the model still has 200 tokens to go (20 ms at 10,000
    // tokens/s: the test waits for every tail, 100 requests by 7 providers). The tail is read in
    // the background, so all 100 requests share one connection.
    for case in CASES {
        let server = start_with(Some(KEY), decoding(10_000.0)).await;
        let provider = case.against(&server, GUARD);
        provider.settled().await;
        for _ in 0..100 {
            drop(after_first_delta(&provider, &server, &case, 200).await);
            provider.settled().await;
        }
        assert_eq!(server.connections_accepted(), 1, "{}", case.name);
    }
}

#[tokio::test]
async fn a_draining_tail_never_delays_the_next_request() {
    // 90 tokens at 50 a second: the abandoned tail takes ~1.8 s to drain (under the cap). The
    // next request is answered on another connection while it drains.
    for case in CASES {
        let server = start_with(Some(KEY), decoding(50.0)).await;
        let provider = case.against(&server, GUARD);
        provider.settled().await;
        drop(after_first_delta(&provider, &server, &case, 90).await);
        server.push_answer_for(case.endpoint, "next");
        assert_eq!(
            answer(&provider, fim_request()).await,
            "next",
            "{}",
            case.name
        );
        // The answer's own closing bytes may still be on their way (read in the background);
        // the abandoned tail has more than a second to go.
        let mut in_flight = provider.in_flight();
        for _ in 0..100 {
            if in_flight <= 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            in_flight = provider.in_flight();
        }
        assert_eq!(
            in_flight, 1,
            "{}: answered while the tail still drains",
            case.name
        );
        provider.settled().await;
        // Both connections went back to the pool: the next two requests open none.
        for _ in 0..2 {
            server.push_answer_for(case.endpoint, "again");
            assert_eq!(
                answer(&provider, fim_request()).await,
                "again",
                "{}",
                case.name
            );
        }
        assert_eq!(server.connections_accepted(), 2, "{}", case.name);
    }
}
