//! The latency proxy: HTTP, WebSocket and TLS traffic pass through it byte-for-byte.

use std::time::Duration;

use serde_json::json;
use spark_tests::http_client::HttpClient;
use spark_tests::latency_proxy::LatencyProxy;
use spark_tests::model_server::{ModelServer, ModelServerConfig};
use spark_tests::tls;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::support::*;

const RTT: Duration = Duration::from_millis(10);

#[tokio::test]
async fn http_and_websocket_round_trip_through_proxy() {
    let server = start().await;
    let proxy = LatencyProxy::start(server.addr(), RTT).await.unwrap();
    let answer = "fn through_the_proxy() -> bool { true }\n".repeat(20);
    server.push_answer(answer.clone());
    let mut client = HttpClient::connect(proxy.addr()).await.unwrap();
    let body =
        json!({"stream": true, "max_tokens": 1000, "messages": [{"role": "user", "content": "x"}]});
    let response = client
        .post_json("/v1/chat/completions", &body)
        .await
        .unwrap();
    let text: String = response
        .sse()
        .iter()
        .filter(|e| e.data != "[DONE]")
        .filter_map(|e| {
            e.json().unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, answer);
    let tcp = TcpStream::connect(proxy.addr()).await.unwrap();
    let url = format!("ws://{}/v1/responses", proxy.addr());
    let mut ws = ws_handshake(&url, tcp, &[]).await.unwrap();
    server.push_answer("over ws");
    ws_send(&mut ws, create("x")).await;
    assert_eq!(delta_text(&ws_collect(&mut ws, 1).await), "over ws");
    assert_eq!(proxy.connections_accepted(), 2);
    assert_eq!(server.connections_accepted(), 2);
}

#[tokio::test]
async fn tls_through_proxy() {
    let files = tls::fixture_files();
    let config = ModelServerConfig {
        tls: Some(files.clone()),
        ..fast_config()
    };
    let server = ModelServer::start(config).await.unwrap();
    assert!(server.http_base().starts_with("https://"));
    let proxy = LatencyProxy::start(server.addr(), RTT).await.unwrap();
    let connector = TlsConnector::from(tls::client_config(&files.cert_pem).unwrap());
    for host in ["localhost", "127.0.0.1"] {
        let tcp = TcpStream::connect(proxy.addr()).await.unwrap();
        let name = ServerName::try_from(host.to_owned()).unwrap();
        let stream = connector.connect(name, tcp).await.unwrap();
        let mut client = HttpClient::new(stream, host);
        server.push_answer("secure answer");
        let body = json!({"messages": [{"role": "user", "content": "x"}]});
        let reply = client
            .post_json("/v1/chat/completions", &body)
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(reply["choices"][0]["message"]["content"], "secure answer");
    }
    let tcp = TcpStream::connect(proxy.addr()).await.unwrap();
    let stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let mut ws = ws_handshake(
        &server
            .ws_url()
            .replace(&server.addr().to_string(), "localhost"),
        stream,
        &[],
    )
    .await
    .unwrap();
    server.push_answer("wss works");
    ws_send(&mut ws, create("x")).await;
    assert_eq!(delta_text(&ws_collect(&mut ws, 1).await), "wss works");
}

/// The `spark-model-server` binary prints its URL first on stdout and serves scripted answers.
#[tokio::test]
async fn binary_prints_url_and_serves() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_spark-model-server"))
        .args([
            "--base-latency-ms",
            "0",
            "--answer",
            "from the binary",
            "--decode-tps",
            "100000",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(GUARD, BufReader::new(stdout).read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    let base = line.trim();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"),
        "{base}"
    );
    let addr = base
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .parse()
        .unwrap();
    let mut client = HttpClient::connect(addr).await.unwrap();
    let body = json!({"messages": [{"role": "user", "content": "x"}]});
    let reply = client
        .post_json("/v1/chat/completions", &body)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(reply["choices"][0]["message"]["content"], "from the binary");
    child.kill().await.unwrap();
}
