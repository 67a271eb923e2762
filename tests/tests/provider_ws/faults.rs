//! Faults: drops, rate limits, the connection lifetime limit, 426 fallback, a wrong key, a
//! slow handshake, a stalled answer; and no key in the logs, even at TRACE.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spark_lsp::providers::breaker::Health;
use spark_lsp::providers::openai_ws::OpenAiWebSocket;
use spark_lsp::providers::{Provider, ProviderError, Secret};
use spark_tests::model_server::{CostModel, Endpoint, Fault, ModelServerConfig};

use crate::support::*;

#[tokio::test]
async fn a_drop_fails_that_request_then_the_provider_reconnects() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("one two three four");
    server.push_fault(Fault::DropAfterTokens(2));
    let result = collect(provider.stream(chat("", "q"))).await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
    server.push_answer("back");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("back".into())
    );
    assert_eq!(server.websocket_connections(), 2);
}

#[tokio::test]
async fn rate_limits_carry_retry_after_and_keep_the_socket() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_fault(Fault::RateLimited {
        retry_after_secs: 3,
    });
    let result = collect(provider.stream(chat("", "q"))).await;
    let retry_after = Some(Duration::from_secs(3));
    assert_eq!(result, Err(ProviderError::RateLimited { retry_after }));
    server.push_fault(Fault::ServerError(503));
    let result = collect(provider.stream(chat("", "q"))).await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
    server.push_answer("ok");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("ok".into())
    );
    assert_eq!(server.websocket_connections(), 1);
}

#[tokio::test]
async fn the_connection_limit_reconnects_and_retries_in_full() {
    let server = start(fast_config()).await;
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("after the limit");
    server.push_fault(Fault::ConnectionLimitReached);
    let result = collect(provider.stream(chat("", "q"))).await;
    assert_eq!(result, Ok("after the limit".into()));
    assert_eq!(server.websocket_connections(), 2);
    let frames = server.requests_for(Endpoint::ResponsesWebSocket);
    assert_eq!(frames.len(), 2);
    assert_ne!(frames[0].connection_id, frames[1].connection_id);
}

#[tokio::test]
async fn upgrade_required_switches_to_the_fallback_for_good() {
    let server = start(fast_config()).await;
    server.push_fault(Fault::UpgradeRequired);
    let fake = fallback();
    let provider = OpenAiWebSocket::start(settings(&server, None), fake.clone());
    let result = collect(provider.stream(chat("", "q"))).await;
    assert_eq!(result, Ok("from the fallback".into()));
    assert!(provider.is_fallback());
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("from the fallback".into())
    );
    assert_eq!(fake.requests.lock().unwrap().len(), 2);
    assert_eq!(server.websocket_connections(), 0);
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error() {
    let config = ModelServerConfig {
        api_key: Some("sk-right".into()),
        ..fast_config()
    };
    let server = start(config).await;
    let provider = OpenAiWebSocket::start(settings(&server, Some("sk-wrong")), fallback());
    let result = collect(provider.stream(chat("", "q"))).await;
    assert!(matches!(result, Err(ProviderError::Auth(_))), "{result:?}");
    assert_eq!(server.websocket_connections(), 0);
    let good = OpenAiWebSocket::start(settings(&server, Some("sk-right")), fallback());
    server.push_answer("welcome");
    assert_eq!(
        collect(good.stream(chat("", "q"))).await,
        Ok("welcome".into())
    );
}

#[tokio::test]
async fn a_slow_handshake_still_connects() {
    let server = start(fast_config()).await;
    server.push_fault_for(
        Endpoint::ResponsesWebSocket,
        Fault::SlowHandshake(Duration::from_millis(300)),
    );
    let provider = OpenAiWebSocket::start(settings(&server, None), fallback());
    server.push_answer("eventually");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("eventually".into())
    );
    assert_eq!(provider.connections_opened(), 1);
}

#[tokio::test]
async fn a_stalled_answer_times_out() {
    let server = start(fast_config()).await;
    let mut settings = settings(&server, None);
    settings.timeout = Duration::from_millis(300);
    let provider = OpenAiWebSocket::start(settings, fallback());
    server.push_fault(Fault::Stall(Duration::from_secs(2)));
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Err(ProviderError::Timeout)
    );
    server.push_answer("later");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("later".into())
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn keys_and_header_values_never_reach_the_logs() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("spark_lsp=trace"))
        .with_writer(move || writer.clone())
        .finish();
    // The test runtime is single-threaded, so every task logs to this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);
    let config = ModelServerConfig {
        api_key: Some("sk-secret-right-1234".into()),
        ..fast_config()
    };
    let server = start(config).await;
    let mut good = settings(&server, Some("sk-secret-right-1234"));
    good.headers = vec![("x-team".into(), Secret::new("hdr-secret-5678"))];
    let provider = OpenAiWebSocket::start(good, fallback());
    server.push_answer("logged output");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("logged output".into())
    );
    let wrong = OpenAiWebSocket::start(settings(&server, Some("sk-secret-wrong-999")), fallback());
    assert!(collect(wrong.stream(chat("", "q"))).await.is_err());
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("response.create"),
        "trace logging is on:\n{logs}"
    );
    for secret in [
        "sk-secret-right-1234",
        "hdr-secret-5678",
        "sk-secret-wrong-999",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    let upgrade = &server.requests_for(Endpoint::WebSocketHandshake)[0];
    assert_eq!(
        upgrade.header("x-team"),
        Some("hdr-secret-5678"),
        "headers are sent"
    );
}

#[tokio::test]
async fn wss_uses_the_configured_ca_and_http_1_1() {
    let files = spark_tests::tls::fixture_files();
    let config = ModelServerConfig {
        tls: Some(files.clone()),
        ..fast_config()
    };
    let server = start(config).await;
    let mut settings = settings(&server, None);
    assert!(settings.base_url.starts_with("https://"));
    // The shared TLS config offers h2 too; the provider offers only HTTP/1.1 for the upgrade.
    settings.tls = spark_lsp::providers::client_config(Some(&files.cert_pem)).unwrap();
    let provider = OpenAiWebSocket::start(settings, fallback());
    server.push_answer("over tls");
    assert_eq!(
        collect(provider.stream(chat("", "q"))).await,
        Ok("over tls".into())
    );
    assert_eq!(server.websocket_connections(), 1);
}

#[tokio::test]
async fn a_model_that_stalls_mid_answer_times_out_and_stays_reachable() {
    // One token a second against a 300 ms request timeout: the first token comes at once, then
    // the silence before the second is a stall.
    let slow = CostModel {
        base_latency: Duration::ZERO,
        prefill_tps: f64::INFINITY,
        decode_tps: 1.0,
    };
    let server = start(with_cost(slow)).await;
    let mut settings = settings(&server, None);
    settings.timeout = Duration::from_millis(300);
    let provider = OpenAiWebSocket::start(settings, fallback());
    server.push_answer("one two three");
    let mut stream = provider.stream(chat("", "q"));
    assert_eq!(stream.next().await, Some(Ok("one".into())));
    assert_eq!(stream.next().await, Some(Err(ProviderError::Timeout)));
    // A stall is not unreachability: the breaker stays closed and the socket stays.
    assert_eq!(*provider.breaker().health().borrow(), Health::Online);
    assert!(provider.breaker().is_closed());
    assert_eq!(provider.connections_opened(), 1);
}
