//! What a warm session saves, measured side by side in one run.
//!
//! `cargo bench -p spark-tests --bench session` puts the reference model server behind TLS and a
//! latency proxy (40 ms round trip, the server decoding 1,000 tokens/s, prefill free so that the
//! model's own time is exactly the decode of a 32-token answer) and sends 50 sequential requests
//! three ways: over the warm Responses WebSocket, over HTTP on a fresh connection each time, and
//! over a reused keep-alive HTTP connection. Then it types 200 characters of a real file through
//! the context builder and counts the prompt bytes sent with incremental continuation (WebSocket,
//! `previous_response_id`) against full resends (HTTP). Last, early stops: 100 requests whose
//! caller takes the first delta and drops the stream (the suggestion was complete, or a newer
//! keystroke superseded it) 150 ms apart, on one pooled HTTP/1.1 provider (the abandoned tail is
//! drained, the connection kept) against a new connection per request (what an early stop cost
//! when dropping the response closed the connection): connections opened and time to first token.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use spark_lsp::config::ProviderConfig;
use spark_lsp::context::{self, Anchor, ContextInput};
use spark_lsp::documents::{DocumentStore, LineCol, PositionEncoding, TextChange};
use spark_lsp::providers::openai_ws::OpenAiWebSocket;
use spark_lsp::providers::{ModelInput, ModelRequest, OpenAiResponsesHttp, Provider, Settings};
use spark_tests::latency_proxy::LatencyProxy;
use spark_tests::model_server::{CostModel, Endpoint, ModelServer, ModelServerConfig};

const RTT: Duration = Duration::from_millis(40);
const REQUESTS: usize = 50;
const ANSWER_TOKENS: u32 = 32;
const KEY: &str = "sk-bench";

#[tokio::main]
async fn main() {
    // Transport alone: prefill free and a small prompt, so the model's time is the decode.
    let transport = CostModel {
        base_latency: Duration::ZERO,
        prefill_tps: 1e12,
        decode_tps: 1_000.0,
    };
    latency(
        "transport only: prefill free, a 200-token prompt",
        transport,
        20,
    )
    .await;
    // The reference server's default cost model and a 2,000-token context: a warm session's
    // cached context is not prefilled again.
    let title =
        "default cost model: 20 ms base latency, 20,000 tokens/s prefill, a 2,000-token context";
    latency(title, CostModel::default(), 200).await;
    prompt_bytes().await;
    early_stops(transport).await;
}

async fn latency(title: &str, cost: CostModel, context_repeats: usize) {
    let server = start_server(cost, true).await;
    let proxy = LatencyProxy::start(server.addr(), RTT).await.unwrap();
    let base_url = format!("https://127.0.0.1:{}/v1", proxy.addr().port());
    let settings = settings_for(&base_url, true);
    let model_ms = cost.token_offset(ANSWER_TOKENS as usize - 1).as_secs_f64() * 1e3;

    let ws = OpenAiWebSocket::start(settings.clone(), Arc::new(http_provider(&settings)));
    while !ws.is_connected() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let warm = run(REQUESTS, context_repeats, |_| {
        ws.clone() as Arc<dyn Provider>
    })
    .await;
    // A provider built outside the runtime skips its preconnect: every request dials anew.
    let fresh = run(REQUESTS, context_repeats, |_| {
        let settings = settings.clone();
        Arc::new(
            std::thread::spawn(move || http_provider(&settings))
                .join()
                .unwrap(),
        ) as Arc<dyn Provider>
    })
    .await;
    let pooled = Arc::new(http_provider(&settings));
    pooled.settled().await;
    let keep_alive = run(REQUESTS, context_repeats, |_| {
        pooled.clone() as Arc<dyn Provider>
    })
    .await;
    // The same, from a server that offers HTTP/2 (the path to every cloud endpoint).
    let h2_server = start_server_with(cost, true, true).await;
    let h2_proxy = LatencyProxy::start(h2_server.addr(), RTT).await.unwrap();
    let h2_url = format!("https://127.0.0.1:{}/v1", h2_proxy.addr().port());
    let h2_pooled = Arc::new(http_provider(&settings_for(&h2_url, true)));
    h2_pooled.settled().await;
    let http2 = run(REQUESTS, context_repeats, |_| {
        h2_pooled.clone() as Arc<dyn Provider>
    })
    .await;
    assert_eq!(
        h2_server.http2_connections(),
        1,
        "the bench ran over HTTP/2"
    );

    println!("{title}");
    println!(
        "{REQUESTS} sequential requests, {} ms RTT, TLS, {ANSWER_TOKENS}-token answers at 1,000 tokens/s (decode {model_ms:.0} ms)",
        RTT.as_millis()
    );
    println!(
        "{:<28} {:>9} {:>9} {:>10} {:>10} {:>13}",
        "transport", "TTFT p50", "TTFT p95", "total p50", "total p95", "overhead p50"
    );
    for (name, samples) in [
        ("warm WebSocket", &warm),
        ("HTTP, fresh connection", &fresh),
        ("HTTP/1.1, keep-alive", &keep_alive),
        ("HTTP/2, keep-alive", &http2),
    ] {
        let (ttft, total): (Vec<f64>, Vec<f64>) = samples.iter().copied().unzip();
        println!(
            "{name:<28} {:>7.1}ms {:>7.1}ms {:>8.1}ms {:>8.1}ms {:>11.1}ms",
            pct(&ttft, 0.5),
            pct(&ttft, 0.95),
            pct(&total, 0.5),
            pct(&total, 0.95),
            pct(&total, 0.5) - model_ms
        );
    }
    let overhead =
        |s: &[(f64, f64)]| pct(&s.iter().map(|x| x.1).collect::<Vec<_>>(), 0.5) - model_ms;
    let ttft = |s: &[(f64, f64)]| pct(&s.iter().map(|x| x.0).collect::<Vec<_>>(), 0.5);
    println!(
        "warm WebSocket vs fresh connection: overhead {:.0}% lower, TTFT {:.0}% lower",
        100.0 * (1.0 - overhead(&warm) / overhead(&fresh)),
        100.0 * (1.0 - ttft(&warm) / ttft(&fresh))
    );
    println!(
        "warm WebSocket vs keep-alive HTTP: overhead {:.0}% lower, TTFT {:.0}% lower",
        100.0 * (1.0 - overhead(&warm) / overhead(&keep_alive)),
        100.0 * (1.0 - ttft(&warm) / ttft(&keep_alive))
    );
    println!();
}

/// Sequential early stops; see the module docs.
async fn early_stops(cost: CostModel) {
    const STOPS: usize = 100;
    const GAP: Duration = Duration::from_millis(150);
    let mut rows = Vec::new();
    for (name, http2, kept) in [
        ("HTTP/1.1 pooled, tail drained (now)", false, true),
        ("HTTP/1.1 new connection each (before)", false, false),
        ("HTTP/2 pooled, stream reset", true, true),
    ] {
        let server = start_server_with(cost, true, http2).await;
        let proxy = LatencyProxy::start(server.addr(), RTT).await.unwrap();
        let base_url = format!("https://127.0.0.1:{}/v1", proxy.addr().port());
        let settings = settings_for(&base_url, true);
        let pooled = Arc::new(http_provider(&settings));
        pooled.settled().await;
        let mut ttft = Vec::with_capacity(STOPS);
        for i in 0..STOPS {
            let provider: Arc<dyn Provider> = if kept {
                pooled.clone()
            } else {
                let settings = settings.clone();
                Arc::new(
                    std::thread::spawn(move || http_provider(&settings))
                        .join()
                        .unwrap(),
                )
            };
            let request = ModelRequest {
                input: ModelInput::Chat {
                    context: String::new(),
                    query: format!("early stop {i}"),
                },
                max_output_tokens: 256,
                ..ModelRequest::default()
            };
            let started = Instant::now();
            let mut stream = provider.stream(request);
            stream.next().await.expect("a delta").unwrap();
            ttft.push(started.elapsed().as_secs_f64() * 1e3);
            drop(stream);
            tokio::time::sleep(GAP).await;
        }
        let opened = server.connections_accepted();
        rows.push((name, opened, pct(&ttft, 0.5), pct(&ttft, 0.95)));
    }
    println!(
        "early stops: {STOPS} requests 150 ms apart, the first delta taken and ~100 tokens abandoned, {} ms RTT, TLS",
        RTT.as_millis()
    );
    println!(
        "{:<40} {:>11} {:>9} {:>9}",
        "", "connections", "TTFT p50", "TTFT p95"
    );
    for (name, opened, p50, p95) in rows {
        println!("{name:<40} {opened:>11} {p50:>7.1}ms {p95:>7.1}ms");
    }
    println!();
}

/// Sends `count` requests for one document one after another (the same context, a new query
/// each time); returns (time to first token, total) in ms. A first, uncounted request opens
/// the way: it is where a warm session caches the document's context.
async fn run(
    count: usize,
    context_repeats: usize,
    provider: impl Fn(usize) -> Arc<dyn Provider>,
) -> Vec<(f64, f64)> {
    let mut samples = Vec::with_capacity(count);
    let context = "fn main() {\n    let total = ".repeat(context_repeats);
    for i in 0..=count {
        let provider = provider(i);
        let request = ModelRequest {
            input: ModelInput::Chat {
                context: context.clone(),
                query: format!("request {i}"),
            },
            max_output_tokens: ANSWER_TOKENS,
            session: Some("file:///bench.rs".into()),
            ..ModelRequest::default()
        };
        let started = Instant::now();
        let mut stream = provider.stream(request);
        let mut first = None;
        while let Some(delta) = stream.next().await {
            delta.unwrap();
            first.get_or_insert_with(|| started.elapsed());
        }
        let first = first.expect("an answer");
        if i == 0 {
            // Let the warm-up the first request started finish before measuring.
            tokio::time::sleep(RTT * 4).await;
            continue;
        }
        samples.push((
            first.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3,
        ));
    }
    samples
}

/// Types 200 characters of a real source file and counts the request bytes the model server
/// received, with warm incremental continuation and with full resends.
async fn prompt_bytes() {
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../server/src/documents/store.rs"
    ))
    .unwrap();
    let cut = source.find("pub fn change(").unwrap();
    let typed: String = source[cut..].chars().take(200).collect();
    let mut totals = Vec::new();
    for incremental in [true, false] {
        let server = start_server(CostModel::instant(), false).await;
        let settings = settings_for(&server.http_base(), false);
        let provider: Arc<dyn Provider> = if incremental {
            let ws = OpenAiWebSocket::start(settings.clone(), Arc::new(http_provider(&settings)));
            while !ws.is_connected() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            ws
        } else {
            Arc::new(http_provider(&settings))
        };
        let store = DocumentStore::default();
        let uri = "file:///w/store.rs";
        store.open(uri, "rust", 1, &source[..cut]);
        store.wait_for_parses();
        let mut anchor: Option<Anchor> = None;
        for (i, ch) in typed.chars().enumerate() {
            let snapshot = store.snapshot(uri).unwrap();
            let end = snapshot.rope.len_bytes();
            let at = spark_lsp::documents::to_line_col(&snapshot.rope, end, PositionEncoding::Utf8);
            let change = TextChange {
                range: Some((at, LineCol::new(at.line, at.col))),
                text: ch.to_string(),
            };
            store
                .change(
                    uri,
                    i32::try_from(i).unwrap() + 2,
                    &[change],
                    PositionEncoding::Utf8,
                )
                .unwrap();
            let snapshot = store.snapshot(uri).unwrap();
            let cursor = snapshot.rope.len_bytes();
            let input = ContextInput::new(&snapshot, cursor);
            let since = (anchor.as_ref()).and_then(|a| {
                let edits = store.changed_between(uri, a.seq, snapshot.seq);
                context::change_since(a, &snapshot, cursor, edits)
            });
            let change = match since {
                Some(change) => change,
                None => {
                    anchor = Anchor::new(&input);
                    context::Change::default()
                }
            };
            let (instructions, input) =
                context::continue_chat(&input, anchor.as_ref().unwrap(), change).unwrap();
            let request = ModelRequest {
                instructions,
                input,
                max_output_tokens: 16,
                session: Some(uri.into()),
                ..ModelRequest::default()
            };
            let mut stream = provider.stream(request);
            while let Some(delta) = stream.next().await {
                delta.unwrap();
            }
        }
        let endpoint = if incremental {
            Endpoint::ResponsesWebSocket
        } else {
            Endpoint::ResponsesHttp
        };
        let requests = server.requests_for(endpoint);
        let bytes: usize = requests.iter().map(|r| r.body.to_string().len()).sum();
        totals.push((requests.len(), bytes));
    }
    let [(ws_count, ws_bytes), (http_count, http_bytes)] = totals[..] else {
        unreachable!()
    };
    println!(
        "prompt bytes over a 200-keystroke typing session (a real file, the context builder's chat format):"
    );
    println!(
        "  incremental (warm WebSocket, previous_response_id): {ws_bytes} bytes in {ws_count} frames ({} per keystroke)",
        ws_bytes / 200
    );
    println!(
        "  full resends (HTTP):                                {http_bytes} bytes in {http_count} requests ({} per keystroke)",
        http_bytes / 200
    );
    println!(
        "  {:.0}% fewer bytes",
        100.0 * (1.0 - ws_bytes as f64 / http_bytes as f64)
    );
}

async fn start_server(cost: CostModel, tls: bool) -> ModelServer {
    start_server_with(cost, tls, false).await
}

/// `http2`: the server offers `h2` by ALPN, as cloud endpoints do.
async fn start_server_with(cost: CostModel, tls: bool, http2: bool) -> ModelServer {
    ModelServer::start(ModelServerConfig {
        cost,
        api_key: Some(KEY.into()),
        default_answer: "let x = compute(a, b) + other(c) * 2; ".repeat(8),
        tls: tls.then(spark_tests::tls::fixture_files),
        http2,
        ..ModelServerConfig::default()
    })
    .await
    .unwrap()
}

fn settings_for(base_url: &str, tls: bool) -> Settings {
    // The key comes from a command, so the bench needs no environment variable.
    let config = ProviderConfig {
        base_url: base_url.into(),
        model: "m".into(),
        api_key_command: Some(vec!["printf".into(), KEY.into()]),
        ca_cert_file: tls.then(|| spark_tests::tls::fixture_files().cert_pem),
        ..ProviderConfig::default()
    };
    Settings::resolve(&config).unwrap()
}

fn http_provider(settings: &Settings) -> OpenAiResponsesHttp {
    OpenAiResponsesHttp::new(settings.clone()).unwrap()
}

fn pct(samples: &[f64], q: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}
