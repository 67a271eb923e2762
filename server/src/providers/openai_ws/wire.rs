//! The wire format of Responses API WebSocket mode (PROTOCOLS.md §1): the upgrade request,
//! `response.create` frames, and the few server events this provider acts on.
//!
//! Everything here is pure: no I/O, no state, so the exact shapes are unit-tested.

use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue, header};

use crate::providers::reasoning::{Reasoning, Shape};
use crate::providers::{ModelInput, ModelRequest, ProviderError, Settings, prompt};

pub(super) const PREVIOUS_NOT_FOUND: &str = "previous_response_not_found";
pub(super) const CONNECTION_LIMIT: &str = "websocket_connection_limit_reached";

/// `baseUrl` with `https`→`wss` (`http`→`ws`) and `/responses` appended, as the SDK does.
pub(super) fn ws_url(base_url: &str) -> Result<String, ProviderError> {
    let base = base_url.trim_end_matches('/');
    let url = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if base.starts_with("wss://") || base.starts_with("ws://") {
        base.to_owned()
    } else {
        return Err(ProviderError::Config(format!(
            "provider.baseUrl {base:?} must start with https:// or http://"
        )));
    };
    Ok(format!("{url}/responses"))
}

/// The upgrade request: the URL's own WebSocket headers plus `Authorization: Bearer` and the
/// configured extra headers, all marked sensitive. Errors never quote a header value.
pub(super) fn handshake_request(url: &str, settings: &Settings) -> Result<Request, ProviderError> {
    let mut request = url
        .into_client_request()
        .map_err(|err| ProviderError::Config(format!("websocket url {url}: {err}")))?;
    let headers = request.headers_mut();
    for (name, value) in &settings.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ProviderError::Config(format!("provider.headers: {name:?} is not a header name"))
        })?;
        let value = sensitive(value.expose()).ok_or_else(|| {
            ProviderError::Config(format!("provider.headers: bad value for {name}"))
        })?;
        headers.insert(name, value);
    }
    if let Some(key) = &settings.api_key {
        let value = sensitive(&format!("Bearer {}", key.expose())).ok_or_else(|| {
            ProviderError::Config("the API key holds characters a header cannot carry".into())
        })?;
        headers.insert(header::AUTHORIZATION, value);
    }
    Ok(request)
}

fn sensitive(value: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(value).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// What one `response.create` carries besides the shared request fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Create<'a> {
    pub stream_id: &'a str,
    pub previous_response_id: Option<&'a str>,
    /// `false` for a warm-up: prefill only, no output, an id to chain from.
    pub generate: bool,
    pub texts: Texts,
}

/// Which parts of the request go into `input`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Texts {
    /// Everything: context then query (or the FIM message).
    Full,
    /// Only the cacheable context: a warm-up.
    Context,
    /// Only the per-request query: a continuation of a warm context.
    Query,
}

/// One `response.create` frame. Never `stream` (implicit) nor `background` (unsupported).
pub(super) fn create_frame(
    model: &str,
    request: &ModelRequest,
    create: Create<'_>,
    reasoning: &Reasoning,
) -> String {
    let mut body = Map::new();
    body.insert("type".into(), json!("response.create"));
    body.insert("model".into(), json!(model));
    // The `instructions` field is not inherited through `previous_response_id`, but input
    // items are: the instructions travel as the first (developer) message of the cacheable
    // part, so a continuation carries only the query and the warm base keeps them.
    let mut input: Vec<Value> = Vec::new();
    let instructions = prompt::instructions(request);
    if create.texts != Texts::Query && !instructions.is_empty() {
        input.push(message("developer", instructions.into_owned()));
    }
    input.extend(
        input_texts(&request.input, create.texts)
            .into_iter()
            .map(|text| message("user", text)),
    );
    body.insert("input".into(), Value::Array(input));
    if create.generate && request.max_output_tokens > 0 {
        body.insert("max_output_tokens".into(), json!(request.max_output_tokens));
    }
    body.insert("store".into(), json!(false));
    body.insert("stream_id".into(), json!(create.stream_id));
    if let Some(previous) = create.previous_response_id {
        body.insert("previous_response_id".into(), json!(previous));
    }
    if !create.generate {
        body.insert("generate".into(), json!(false));
    }
    if let Some(temperature) = request.temperature.filter(|t| t.is_finite()) {
        body.insert("temperature".into(), json!(temperature));
    }
    reasoning.apply(Shape::Responses, &mut body);
    Value::Object(body).to_string()
}

/// The texts of the user messages; the context and the query are separate messages so that a
/// continuation (base = context, new input = query) equals the full request item for item.
/// A FIM request is one message: other files, then prefix `<|cursor|>` suffix.
fn input_texts(input: &ModelInput, texts: Texts) -> Vec<String> {
    match input {
        ModelInput::Chat { context, query } => {
            let parts = match texts {
                Texts::Full => vec![context, query],
                Texts::Context => vec![context],
                Texts::Query => vec![query],
            };
            let kept: Vec<String> = parts
                .into_iter()
                .filter(|t| !t.is_empty())
                .cloned()
                .collect();
            if kept.is_empty() {
                vec![String::new()]
            } else {
                kept
            }
        }
        // One FIM rendering for every chat-style wire.
        ModelInput::Fim { .. } | ModelInput::Completion { .. } => {
            vec![prompt::user_text(input)]
        }
    }
}

fn message(role: &str, text: String) -> Value {
    json!({"type": "message", "role": role, "content": [{"type": "input_text", "text": text}]})
}

/// A server event, reduced to what a request needs.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Event {
    /// `response.in_progress`: a fork has read its parent, so the parent's lane may move on.
    InProgress,
    Delta(String),
    /// `response.completed` or `response.incomplete` (hit `max_output_tokens`): the end.
    Done {
        id: Option<String>,
        cached_tokens: Option<u64>,
    },
    /// `response.failed`.
    Failed(String),
    Error(WsError),
    /// Everything else, including event types this client does not know.
    Other,
}

/// An `error` event: `{"type":"error","status":N,"error":{code,message,headers?},"headers"?}`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct WsError {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl WsError {
    pub fn to_provider_error(&self) -> ProviderError {
        let described = if self.code.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.code, self.message)
        };
        match self.status {
            Some(401 | 403) => ProviderError::Auth(described),
            Some(429) => ProviderError::RateLimited {
                retry_after: self.retry_after,
            },
            Some(status) if status >= 500 => ProviderError::Unavailable(described),
            _ => ProviderError::Protocol(described),
        }
    }
}

/// The lane an event belongs to; `None` for connection-level events.
pub(super) fn stream_id(event: &Value) -> Option<&str> {
    event.get("stream_id").and_then(Value::as_str)
}

pub(super) fn parse_event(event: &Value) -> Event {
    match event.get("type").and_then(Value::as_str).unwrap_or("") {
        "response.in_progress" => Event::InProgress,
        "response.output_text.delta" => match event.get("delta").and_then(Value::as_str) {
            Some(delta) => Event::Delta(delta.to_owned()),
            None => Event::Other,
        },
        "response.completed" | "response.incomplete" => {
            let response = event.get("response").unwrap_or(&Value::Null);
            Event::Done {
                id: response
                    .get("id")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                cached_tokens: response
                    .pointer("/usage/input_tokens_details/cached_tokens")
                    .and_then(Value::as_u64),
            }
        }
        "response.failed" => {
            let message = event
                .pointer("/response/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the response failed");
            Event::Failed(message.to_owned())
        }
        "error" => Event::Error(parse_error(event)),
        _ => Event::Other,
    }
}

fn parse_error(event: &Value) -> WsError {
    let error = event.get("error").unwrap_or(&Value::Null);
    let text = |key: &str| {
        error
            .get(key)
            .or_else(|| event.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let status = event
        .get("status")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok());
    let retry_after = [error.get("headers"), event.get("headers")]
        .into_iter()
        .flatten()
        .find_map(retry_after);
    let message = text("message");
    WsError {
        status,
        code: text("code"),
        message: if message.is_empty() {
            "no message".to_owned()
        } else {
            message
        },
        retry_after,
    }
}

/// `retry-after-ms` or `retry-after` (seconds; HTTP dates are not worth a date parser here).
fn retry_after(headers: &Value) -> Option<Duration> {
    let number = |key: &str| -> Option<f64> {
        let value = headers.get(key)?;
        let n = match value {
            Value::String(s) => s.trim().parse().ok()?,
            other => other.as_f64()?,
        };
        (n.is_finite() && n >= 0.0).then_some(n)
    };
    if let Some(ms) = number("retry-after-ms") {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    number("retry-after").map(Duration::from_secs_f64)
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
