//! The HTTP client every HTTP provider shares, and the one place that turns a POST into a
//! streaming response or a typed [`ProviderError`].
//!
//! Latency is the point of this server, so the client is tuned for it: `TCP_NODELAY`, a
//! keep-alive pool that holds idle connections for minutes, HTTP/2 where the server offers it
//! by ALPN, and a pre-connection made when a provider is created so that the first completion
//! does not pay for the TCP and TLS handshakes.
//!
//! Proxies: reqwest reads `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (and their
//! lowercase forms) from the environment by default; its `system-proxy` feature only adds the
//! macOS and Windows system settings. So nothing needs to be configured here
//! (`tests/tests/providers_http/proxy.rs` checks it).
//!
//! Logging: method, URL path, status and latency at `debug`; bodies only at `trace` (they hold
//! the user's code); header values never (they hold keys).

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{ProviderError, Settings};

/// Idle connections stay pooled this long; completions come in bursts minutes apart.
const POOL_IDLE: Duration = Duration::from_secs(300);
/// Error bodies are read up to this size for their message.
const MAX_ERROR_BODY: usize = 16 * 1024;

/// A client for `settings`: its TLS roots, connect timeout and a latency-tuned pool.
pub fn client(settings: &Settings) -> Result<reqwest::Client, ProviderError> {
    reqwest::Client::builder()
        // The config already asks for `h2` then `http/1.1` by ALPN; reqwest keeps it as is.
        .tls_backend_preconfigured((*settings.tls).clone())
        .connect_timeout(settings.connect_timeout)
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(30))
        .pool_idle_timeout(POOL_IDLE)
        // Pings keep an idle HTTP/2 connection (and any NAT on the way) open between bursts.
        .http2_keep_alive_interval(Duration::from_secs(30))
        .http2_keep_alive_while_idle(true)
        .user_agent(concat!("spark-lsp/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| ProviderError::Config(format!("HTTP client set-up: {}", chain(&err))))
}

/// Opens a pooled connection to `url`'s host with a cheap GET whose answer is ignored; the
/// body is read to its end so that the connection goes back to the pool.
pub async fn preconnect(client: &reqwest::Client, url: &str) {
    let started = Instant::now();
    let result = async {
        let mut response = client.get(url).send().await?;
        let status = response.status();
        let mut read = 0;
        while let Some(chunk) = response.chunk().await? {
            read += chunk.len();
            if read > MAX_ERROR_BODY {
                break;
            }
        }
        Ok::<_, reqwest::Error>(status)
    }
    .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(status) => tracing::debug!(path = url_path(url), %status, latency_ms, "preconnected"),
        Err(err) => tracing::debug!(
            path = url_path(url),
            latency_ms,
            "preconnect failed: {}",
            chain(&err.without_url())
        ),
    }
}

/// How a provider sends its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `Authorization: Bearer <key>` (OpenAI and everything compatible).
    Bearer,
    /// `x-api-key: <key>` (Anthropic).
    XApiKey,
}

/// The headers of every request: the key, protocol headers and the configured extra headers.
/// Built once so that a bad header fails at start-up, not on the first keystroke.
pub(crate) fn request_headers(
    settings: &Settings,
    auth: Auth,
    protocol: &[(&'static str, &'static str)],
) -> Result<HeaderMap, ProviderError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in protocol {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    if let Some(key) = &settings.api_key {
        let (name, value) = match auth {
            Auth::Bearer => ("authorization", format!("Bearer {}", key.expose())),
            Auth::XApiKey => ("x-api-key", key.expose().to_owned()),
        };
        headers.insert(name, sensitive(name, &value)?);
    }
    for (name, value) in &settings.headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ProviderError::Config(format!("provider.headers: {name:?} is not a header name"))
        })?;
        headers.insert(header, sensitive(name, value.expose())?);
    }
    Ok(headers)
}

/// A header value marked sensitive, so that even hyper's own debug output hides it.
fn sensitive(name: &str, value: &str) -> Result<HeaderValue, ProviderError> {
    let mut value = HeaderValue::from_str(value).map_err(|_| {
        ProviderError::Config(format!(
            "the value of header {name:?} holds characters a header cannot carry"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// The room a request body is serialized into at first: a completion's prompt is a few KiB.
const BODY_CAPACITY: usize = 16 * 1024;

/// POSTs `body` and waits for the response head; the caller bounds the wait (an answer's
/// [`Answer`](super::http_call) with the timer it keeps for the whole call). A 2xx response is
/// returned for streaming; anything else becomes a typed error.
pub(crate) async fn post_stream(
    client: &reqwest::Client,
    settings: &Settings,
    (url, parsed): (&str, Option<&reqwest::Url>),
    headers: &HeaderMap,
    body: &Value,
) -> Result<reqwest::Response, ProviderError> {
    let started = Instant::now();
    tracing::trace!(path = url_path(url), %body, "request body");
    // Bytes straight from the value, not through its `Display` formatter, into room for a
    // usual prompt (growing to it cost a dozen reallocations of every request).
    let mut bytes = Vec::with_capacity(BODY_CAPACITY);
    serde_json::to_writer(&mut bytes, body)
        .map_err(|err| ProviderError::Protocol(err.to_string()))?;
    let body = bytes;
    let builder = match parsed {
        Some(parsed) => client.post(parsed.clone()),
        None => client.post(url),
    };
    let request = builder.headers(headers.clone()).body(body).send();
    let response = request.await.map_err(|err| send_error(err, settings))?;
    let status = response.status();
    let latency_ms = started.elapsed().as_millis() as u64;
    tracing::debug!(method = "POST", path = url_path(url), %status, latency_ms, version = ?response.version(), "response head");
    if status.is_success() {
        return Ok(response);
    }
    Err(status_error(response, settings).await)
}

/// A failed send: cannot connect, TLS refused, connection reset before the answer's head. All
/// of these mean the provider cannot be reached ([`ProviderError::Unreachable`]), a connect
/// timeout included; only a head that does not come in time is a [`ProviderError::Timeout`].
fn send_error(err: reqwest::Error, settings: &Settings) -> ProviderError {
    if err.is_timeout() && !err.is_connect() {
        return ProviderError::Timeout;
    }
    // Without the URL: it may carry credentials (`https://user:pass@host`).
    let detail = chain(&err.without_url());
    let hint = if detail.contains("certificate") {
        "; if a proxy or a private CA signs this server's certificate, set provider.caCertFile"
    } else {
        ""
    };
    ProviderError::Unreachable(format!(
        "cannot reach {}: {detail}{hint}",
        origin(&settings.base_url)
    ))
}

/// A non-2xx answer as a typed error, with the message from its body.
async fn status_error(mut response: reqwest::Response, settings: &Settings) -> ProviderError {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ERROR_BODY {
                break;
            }
        }
    };
    // A server that sends an error head and then stalls must not hold the caller.
    let _ = tokio::time::timeout(settings.timeout, read).await;
    let message = redact(&error_message(&body, status), settings);
    tracing::debug!(status, "error answer: {message}");
    match status {
        401 | 403 => ProviderError::Auth(message),
        429 => ProviderError::RateLimited { retry_after },
        408 | 504 => ProviderError::Timeout,
        500..=599 => ProviderError::Unavailable(message),
        _ => ProviderError::Protocol(message),
    }
}

/// `retry-after-ms` (OpenAI) or `Retry-After` in seconds; an HTTP date is not worth parsing.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let number = |name: &str| -> Option<f64> {
        let value = headers
            .get(name)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()?;
        (value.is_finite() && value >= 0.0).then_some(value)
    };
    number("retry-after-ms")
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .or_else(|| number("retry-after").map(Duration::from_secs_f64))
}

/// The message of an error body in any provider's shape, else its start as text.
fn error_message(body: &[u8], status: u16) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|value| {
            let error = value.get("error").unwrap_or(&value);
            error
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| error.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| text.chars().take(300).collect());
    if message.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {}", message.trim())
    }
}

/// A body read failure mid-stream (the connection dropped, a reset).
pub(crate) fn body_error(err: reqwest::Error) -> ProviderError {
    if err.is_timeout() {
        return ProviderError::Timeout;
    }
    let detail = chain(&err.without_url());
    ProviderError::Unavailable(format!("the answer was cut off: {detail}"))
}

/// Never lets a key through in a message the server echoed back.
fn redact(message: &str, settings: &Settings) -> String {
    let mut message = message.to_owned();
    let secrets = settings
        .api_key
        .iter()
        .chain(settings.headers.iter().map(|(_, v)| v));
    for secret in secrets {
        if secret.expose().len() >= 4 {
            message = message.replace(secret.expose(), "<redacted>");
        }
    }
    message
}

/// The error and its sources, which is where reqwest keeps the useful part ("invalid peer
/// certificate: UnknownIssuer", "connection refused").
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let next = err.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = err.source();
    }
    text
}

/// `scheme://host:port` of `url`, without any `user:password@`, for messages.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

/// The path of `url`, for logs (never the query, which some gateways use for keys).
pub(crate) fn url_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("/", |at| &after_scheme[at..]);
    path.split('?').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_from_every_shape() {
        let openai = br#"{"error":{"message":"bad model","type":"invalid_request_error"}}"#;
        assert_eq!(error_message(openai, 400), "HTTP 400: bad model");
        let ollama = br#"{"error":"model not found"}"#;
        assert_eq!(error_message(ollama, 404), "HTTP 404: model not found");
        let anthropic = br#"{"type":"error","error":{"type":"x","message":"nope"}}"#;
        assert_eq!(error_message(anthropic, 400), "HTTP 400: nope");
        assert_eq!(
            error_message(b"<html>gateway</html>", 502),
            "HTTP 502: <html>gateway</html>"
        );
        assert_eq!(error_message(b"", 500), "HTTP 500");
    }

    #[test]
    fn retry_after_in_seconds_or_milliseconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(1500)));
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&date), None);
    }

    #[test]
    fn paths_for_logs() {
        assert_eq!(
            url_path("https://api.x.ai/v1/chat/completions?key=s"),
            "/v1/chat/completions"
        );
        assert_eq!(url_path("http://127.0.0.1:8080"), "/");
        assert_eq!(
            origin("https://me:sk-x@gw.example:8443/v1?k=1"),
            "https://gw.example:8443"
        );
    }
}
