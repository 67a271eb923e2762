//! HTTP/2 without TLS (h2c with prior knowledge): the server tells it from HTTP/1.1 by the
//! connection preface and serves both on one port.

use bytes::Bytes;
use serde_json::json;
use spark_tests::http_client::HttpClient;
use spark_tests::model_server::{ModelServer, ModelServerConfig};

use crate::support::fast_config;

#[tokio::test]
async fn h2c_and_http1_are_served_on_one_port() {
    let server = ModelServer::start(ModelServerConfig {
        http2: true,
        ..fast_config()
    })
    .await
    .unwrap();
    server.push_answer("over h2c");
    let tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let body =
        json!({"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let request = http::Request::post(format!("{}/chat/completions", server.http_base()))
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    send.send_data(Bytes::from(body.to_string()), true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.unwrap();
        let _ = stream.flow_control().release_capacity(chunk.len());
        text.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(text).unwrap();
    let streamed: String = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<serde_json::Value>(data).ok())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(streamed, "over h2c", "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"), "{text}");
    assert_eq!(server.http2_connections(), 1);
    // An HTTP/1.1 client on the same port is still answered as before.
    server.push_answer("over http/1.1");
    let mut http1 = HttpClient::connect(server.addr()).await.unwrap();
    let response = http1
        .post_json("/v1/chat/completions", &body)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.http2_connections(), 1);
}
