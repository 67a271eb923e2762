//! Proxies from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`) are honoured.
//!
//! The environment is read when a client is built, and changing it inside a running test
//! process is unsound, so each case runs the child test below in a fresh copy of this test
//! binary ([`run_child`]) with the variables set, against a fake proxy that records request
//! lines.

use std::sync::{Arc, Mutex};

use spark_lsp::providers::OpenAiChat;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{GUARD, collect, fim_request, run_child, settings};

/// Accepts connections, records each request's first line and answers 502.
async fn fake_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let first = head.lines().next().unwrap_or_default().to_owned();
                seen.lock().unwrap().push(first);
                let reply =
                    "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    (url, lines)
}

/// The child: one completion against `SPARK_CHILD_BASE`; it must fail (the fake proxy
/// answers 502, and the host does not exist), but not hang.
#[tokio::test]
#[ignore = "run by the proxy tests in a child process"]
async fn proxy_child() {
    let Ok(base) = std::env::var("SPARK_CHILD_BASE") else {
        return;
    };
    let provider = OpenAiChat::new(settings(&base, Some("sk-proxy"))).unwrap();
    let (_, err) = tokio::time::timeout(
        GUARD,
        collect(spark_lsp::providers::Provider::stream(
            &provider,
            fim_request(),
        )),
    )
    .await
    .unwrap();
    assert!(err.is_some());
}

#[tokio::test]
async fn environment_proxies_are_used_and_no_proxy_is_honoured() {
    let (proxy, lines) = fake_proxy().await;
    // Plain HTTP goes through the proxy as an absolute-form request.
    run_child(
        "proxy::proxy_child",
        "http://spark-proxy-test.invalid:9/v1",
        &[("HTTP_PROXY", &proxy)],
    )
    .await;
    // HTTPS tunnels with CONNECT.
    run_child(
        "proxy::proxy_child",
        "https://spark-proxy-test.invalid/v1",
        &[("HTTPS_PROXY", &proxy)],
    )
    .await;
    let seen = lines.lock().unwrap().clone();
    assert!(
        seen.contains(
            &"POST http://spark-proxy-test.invalid:9/v1/chat/completions HTTP/1.1".to_owned()
        ),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT spark-proxy-test.invalid:443 ")),
        "{seen:?}"
    );
    // NO_PROXY wins: the proxy sees nothing more.
    let before = seen.len();
    run_child(
        "proxy::proxy_child",
        "http://spark-proxy-test.invalid:9/v1",
        &[
            ("HTTP_PROXY", &proxy),
            ("NO_PROXY", "spark-proxy-test.invalid"),
        ],
    )
    .await;
    assert_eq!(lines.lock().unwrap().len(), before, "NO_PROXY was ignored");
}
