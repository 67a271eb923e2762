//! An HTTP provider behind the breaker, over real sockets: repeated server errors make it
//! offline (no request reaches the server until the retry time), a lone one does not.

use std::sync::Arc;
use std::time::Duration;

use spark_lsp::providers::breaker::{Breaker, Guarded, Health, Mode, Policy};
use spark_lsp::providers::{OpenAiChat, Provider, ProviderError};
use spark_tests::model_server::{Endpoint, Fault};

use crate::support::*;

/// Retries an hour away: nothing in the test reaches the retry time.
fn far_retries() -> Policy {
    Policy {
        min: Duration::from_secs(3600),
        max: Duration::from_secs(3600),
        ..Policy::default()
    }
}

#[tokio::test]
async fn three_server_errors_in_a_row_make_the_provider_offline_without_further_requests() {
    let server = start(None).await;
    let chat = Arc::new(OpenAiChat::new(settings(&server.http_base(), None)).unwrap());
    let breaker = Breaker::new(far_retries(), Mode::Requests);
    let provider = Guarded::new(chat, breaker.clone());

    // One 503 between answers is a bad answer, not an outage.
    server.push_fault_for(Endpoint::ChatCompletions, Fault::ServerError(503));
    let (_, err) = collect(provider.stream(chat_request())).await;
    assert!(
        matches!(err, Some(ProviderError::Unavailable(_))),
        "{err:?}"
    );
    server.push_answer_for(Endpoint::ChatCompletions, "fine");
    assert_eq!(collect(provider.stream(chat_request())).await.0, "fine");
    assert_eq!(*breaker.health().borrow(), Health::Online);

    for _ in 0..3 {
        server.push_fault_for(Endpoint::ChatCompletions, Fault::ServerError(503));
        collect(provider.stream(chat_request())).await;
    }
    assert!(matches!(*breaker.health().borrow(), Health::Offline { .. }));
    let sent = server.requests_for(Endpoint::ChatCompletions).len();
    for _ in 0..5 {
        let (_, err) = collect(provider.stream(chat_request())).await;
        let Some(ProviderError::Unreachable(message)) = err else {
            panic!("answered at once while offline: {err:?}");
        };
        assert!(message.contains("HTTP 503"), "says why: {message}");
    }
    assert_eq!(
        server.requests_for(Endpoint::ChatCompletions).len(),
        sent,
        "nothing reached the server while offline"
    );
}
