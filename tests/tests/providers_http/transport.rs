//! Transport concerns: TLS with a private CA (`provider.caCertFile`), extra headers, and keys
//! that never reach a log, even at `trace`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use spark_lsp::config::ProviderConfig;
use spark_lsp::providers::{OpenAiChat, Provider, ProviderError, Secret, Settings};
use spark_tests::model_server::{Endpoint, Fault, ModelServer, ModelServerConfig};
use tracing_subscriber::fmt::MakeWriter;

use crate::support::{
    AnyProvider, CASES, GUARD, KEY, answer, case, collect, fim_request, run_child, settings, start,
};

async fn tls_server() -> ModelServer {
    let config = ModelServerConfig {
        tls: Some(spark_tests::tls::fixture_files()),
        ..ModelServerConfig::default()
    };
    ModelServer::start(config).await.unwrap()
}

/// Settings resolved from configuration, as the server would build them.
fn resolved(base_url: String, ca_cert_file: Option<std::path::PathBuf>) -> Settings {
    let config = ProviderConfig {
        base_url,
        model: "spark-test-model".into(),
        // Unset on purpose: the TLS server checks no key.
        api_key_env: "SPARK_TEST_PROVIDERS_HTTP_NO_SUCH_KEY".into(),
        ca_cert_file,
        ..ProviderConfig::default()
    };
    Settings::resolve(&config).unwrap()
}

#[tokio::test]
async fn tls_works_with_the_private_ca_and_fails_clearly_without_it() {
    let server = tls_server().await;
    assert!(server.http_base().starts_with("https://"));
    let cert = spark_tests::tls::fixture_files().cert_pem;
    let trusted = OpenAiChat::new(resolved(server.http_base(), Some(cert))).unwrap();
    server.push_answer_for(Endpoint::ChatCompletions, "over tls");
    let (text, err) = collect(trusted.stream(fim_request())).await;
    assert_eq!((text.as_str(), err), ("over tls", None));

    let untrusted = OpenAiChat::new(resolved(server.http_base(), None)).unwrap();
    let (_, err) = collect(untrusted.stream(fim_request())).await;
    let Some(ProviderError::Unreachable(message)) = err else {
        panic!("expected Unreachable, got {err:?}");
    };
    assert!(message.contains("certificate"), "{message}");
    assert!(
        message.contains("provider.caCertFile"),
        "says what to do: {message}"
    );
}

#[tokio::test]
async fn extra_headers_are_sent_with_every_request() {
    let server = start(None).await;
    let mut settings = settings(&server.http_base(), None);
    settings.headers = vec![("x-gateway-token".into(), Secret::new("gw-123"))];
    let provider = OpenAiChat::new(settings).unwrap();
    server.push_answer_for(Endpoint::ChatCompletions, "ok");
    assert_eq!(collect(provider.stream(fim_request())).await.0, "ok");
    let recorded = server.requests_for(Endpoint::ChatCompletions);
    assert_eq!(recorded[0].header("x-gateway-token"), Some("gw-123"));
}

#[test]
fn a_header_value_that_cannot_be_sent_is_a_config_error() {
    let mut settings = settings("http://127.0.0.1:9", None);
    settings.headers = vec![("x-bad".into(), Secret::new("line\nbreak"))];
    let Err(ProviderError::Config(message)) = OpenAiChat::new(settings) else {
        panic!("expected a config error");
    };
    assert!(
        message.contains("x-bad") && !message.contains("line\nbreak"),
        "{message}"
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

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// In its own process: `tracing` caches per call site whether anyone listens, and in a shared
/// test process another thread can fix that cache to "no" while this test's subscriber is
/// being installed, losing events.
#[tokio::test]
async fn keys_never_reach_the_logs_even_at_trace() {
    run_child("transport::keys_in_logs_child", "", &[]).await;
}

/// Runs every provider (success, an error the server answers, a rejected key) under a
/// global `trace` subscriber and checks the logs are there but hold no key.
#[tokio::test]
#[ignore = "run by keys_never_reach_the_logs_even_at_trace in a child process"]
async fn keys_in_logs_child() {
    if std::env::var_os("SPARK_CHILD_BASE").is_none() {
        return;
    }
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let gateway = "gw-secret-header-value-31415";
    for case in CASES {
        let server = start(Some(KEY)).await;
        let mut settings = settings(&case.base_url(&server), Some(KEY));
        settings.headers = vec![("x-gateway-token".into(), Secret::new(gateway))];
        let provider: AnyProvider = case.provider(settings);
        server.push_answer_for(case.endpoint, "fine");
        assert_eq!(
            answer(&provider, fim_request()).await,
            "fine",
            "{}",
            case.name
        );
        server.push_fault_for(case.endpoint, Fault::ServerError(500));
        assert!(collect(provider.stream(fim_request())).await.1.is_some());
        provider.settled().await;
    }
    // A rejected key, whose error message could echo it back.
    let server = start(Some("sk-the-right-one")).await;
    let provider = case("openai-chat").against(&server, GUARD);
    assert!(matches!(
        collect(provider.stream(fim_request())).await.1,
        Some(ProviderError::Auth(_))
    ));
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request body"), "trace logs were captured");
    assert!(logs.contains("stream event"), "trace logs were captured");
    assert!(!logs.contains(KEY), "the API key leaked into the logs");
    assert!(
        !logs.contains(gateway),
        "a header value leaked into the logs"
    );
}

#[tokio::test]
async fn names_say_which_protocol() {
    let server = start(None).await;
    let names: Vec<String> = CASES
        .iter()
        .map(|c| c.against(&server, GUARD).name())
        .collect();
    assert_eq!(
        names,
        [
            "openai-chat",
            "openai-responses (http)",
            "fim (llama-cpp)",
            "fim (ollama)",
            "fim (codestral)",
            "fim (deepseek)",
            "anthropic"
        ]
    );
    let provider = OpenAiChat::new(settings(&server.http_base(), None)).unwrap();
    assert_eq!(Provider::name(&provider), "openai-chat");
}
