//! HTTP/2, the path every cloud user takes: the reference server offers `h2` by ALPN over TLS
//! as cloud endpoints do. Every HTTP provider streams over it, a dropped stream is reset
//! without losing the connection (100 early stops, one connection, no drain), and the
//! WebSocket session still gets HTTP/1.1 for its upgrade from the same server.

use spark_lsp::providers::openai_ws::OpenAiWebSocket;
use spark_lsp::providers::{Provider, Settings, client_config};
use spark_tests::model_server::{CostModel, ModelServer, ModelServerConfig};

use crate::support::{
    CASES, Case, KEY, after_first_delta, answer, chat_request, collect, decoding, fim_request,
    settings,
};

async fn h2_server(cost: CostModel) -> ModelServer {
    ModelServer::start(ModelServerConfig {
        cost,
        api_key: Some(KEY.into()),
        tls: Some(spark_tests::tls::fixture_files()),
        http2: true,
        ..ModelServerConfig::default()
    })
    .await
    .unwrap()
}

/// The provider's settings for `base_url`, trusting the test CA.
fn tls_settings(base_url: &str) -> Settings {
    let mut settings = settings(base_url, Some(KEY));
    let ca = spark_tests::tls::fixture_files().cert_pem;
    settings.tls = client_config(Some(&ca)).unwrap();
    settings
}

fn provider(case: &Case, server: &ModelServer) -> crate::support::AnyProvider {
    case.provider(tls_settings(&case.base_url(server)))
}

#[tokio::test]
async fn every_provider_streams_over_http2() {
    for case in CASES {
        let server = h2_server(CostModel::instant()).await;
        assert!(server.http_base().starts_with("https://"));
        let provider = provider(&case, &server);
        provider.settled().await;
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
        assert_eq!(
            server.http2_connections(),
            1,
            "{}: negotiated h2",
            case.name
        );
        assert_eq!(server.connections_accepted(), 1, "{}", case.name);
    }
}

#[tokio::test]
async fn early_stops_reset_the_stream_and_keep_the_http2_connection() {
    // 1,000 tokens a second and 200 tokens to go when the caller drops the stream: the stream
    // is reset at once (nothing to drain), and all 100 requests share one connection.
    for case in CASES {
        let server = h2_server(decoding(1000.0)).await;
        let provider = provider(&case, &server);
        provider.settled().await;
        for _ in 0..100 {
            drop(after_first_delta(&provider, &server, &case, 200).await);
            provider.settled().await;
        }
        server.push_answer_for(case.endpoint, "after");
        assert_eq!(
            answer(&provider, fim_request()).await,
            "after",
            "{}",
            case.name
        );
        assert_eq!(server.connections_accepted(), 1, "{}", case.name);
    }
}

#[tokio::test]
async fn a_superseded_request_and_its_successor_share_the_http2_connection() {
    // 50 tokens a second: the first answer would take 40 s; the newer request is answered on
    // the same connection while the older one is abandoned.
    for case in CASES {
        let server = h2_server(decoding(50.0)).await;
        let provider = provider(&case, &server);
        provider.settled().await;
        let older = after_first_delta(&provider, &server, &case, 2000).await;
        server.push_answer_for(case.endpoint, "newer");
        let newer = provider.stream(fim_request());
        drop(older);
        assert_eq!(
            collect(newer).await,
            ("newer".to_owned(), None),
            "{}",
            case.name
        );
        provider.settled().await;
        assert_eq!(server.connections_accepted(), 1, "{}", case.name);
    }
}

#[tokio::test]
async fn the_websocket_session_upgrades_over_http1_on_an_http2_server() {
    let server = h2_server(CostModel::instant()).await;
    let settings = tls_settings(&server.http_base());
    let fallback = spark_tests::fake_provider::FakeProvider::answering("fallback");
    let ws = OpenAiWebSocket::start(settings, fallback);
    server.push_answer("over the socket");
    let (text, error) = collect(ws.stream(chat_request())).await;
    assert_eq!((text.as_str(), error), ("over the socket", None));
    assert_eq!(server.websocket_connections(), 1);
    assert_eq!(server.http2_connections(), 0);
}
