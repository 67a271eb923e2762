//! The OpenAI Responses API over HTTP + SSE (`provider.kind = "openai-responses"` with
//! `transport = "http"`, and what the WebSocket provider falls back to on a 426).
//!
//! `POST {baseUrl}/responses` (baseUrl `https://api.openai.com/v1`) with `stream: true`; the
//! answer is named SSE events: `response.output_text.delta` carries text, and the stream ends
//! with `response.completed`, `response.incomplete`, `response.failed` or a flat `error`
//! event. There is no `[DONE]` (PROTOCOLS.md §2).

use serde_json::{Value, json};

use super::http::Auth;
use super::http_stream::{self, Decode, HttpCore, Step};
use super::reasoning::Shape;
use super::sse::{Event, Framing};
use super::{ModelRequest, Provider, ProviderError, Settings, TextStream, prompt};

pub struct OpenAiResponsesHttp {
    core: HttpCore,
}

impl OpenAiResponsesHttp {
    /// The provider, connecting in the background so that the first request finds a warm
    /// connection.
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        let preconnect = format!("{}/models", settings.base_url);
        Self::with_preconnect(settings, Some(preconnect))
    }

    /// The provider without a connection up front: the WebSocket session's fallback, used
    /// only if the server refuses the upgrade. Connecting it early would cost a second TCP and
    /// TLS session to the same host for nothing in the common case.
    pub fn on_demand(settings: Settings) -> Result<Self, ProviderError> {
        Self::with_preconnect(settings, None)
    }

    fn with_preconnect(
        settings: Settings,
        preconnect: Option<String>,
    ) -> Result<Self, ProviderError> {
        let core = HttpCore::new(
            "openai-responses (http)".into(),
            settings,
            Auth::Bearer,
            &[("accept", "text/event-stream")],
            preconnect,
            Shape::Responses,
        )?;
        Ok(Self { core })
    }
}

http_stream::introspection!(OpenAiResponsesHttp);

impl Provider for OpenAiResponsesHttp {
    fn name(&self) -> &str {
        &self.core.name
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        let mut body = request_body(&self.core.settings.model, &request);
        body["stream"] = true.into();
        let url = self.core.url("/responses");
        self.core.stream(url, body, Framing::Sse, ResponsesDecoder)
    }
}

/// The fields shared by `POST /responses` and a WebSocket `response.create` (which adds its
/// `type` and must not carry `stream`). `prediction` and `stop` do not exist in this API.
pub(crate) fn request_body(model: &str, request: &ModelRequest) -> Value {
    let text = prompt::user_text(&request.input);
    let mut body = json!({
        "model": model,
        "input": [{
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }],
        "max_output_tokens": request.max_output_tokens,
        // Nothing is kept server-side: completions hold user code, and over WebSocket the
        // connection-local cache works without storage.
        "store": false,
    });
    let instructions = prompt::instructions(request);
    if !instructions.is_empty() {
        body["instructions"] = instructions.as_ref().into();
    }
    if let Some(session) = &request.session {
        body["prompt_cache_key"] = cache_key(session).into();
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    body
}

/// A stable, opaque stand-in for a session key (a document URI would reveal file paths):
/// 64-bit FNV-1a, which unlike `std`'s hasher is the same in every build, so the provider's
/// prompt cache stays warm across restarts.
pub(crate) fn cache_key(session: &str) -> String {
    let hash = session
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    format!("spark-{hash:016x}")
}

/// Responses API events, by `type` (the SSE event name is the same, so the payload's wins).
#[derive(Debug, Default)]
pub(crate) struct ResponsesDecoder;

impl Decode for ResponsesDecoder {
    fn event(&mut self, event: &Event) -> Result<Step, ProviderError> {
        let value = http_stream::parse_json(&event.data)?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&event.name);
        match kind {
            "response.output_text.delta" => Ok(match value.get("delta").and_then(Value::as_str) {
                Some(delta) => Step::text(delta),
                None => Step::SKIP,
            }),
            "response.completed" => Ok(Step::DONE),
            "response.incomplete" => {
                let reason = &value["response"]["incomplete_details"]["reason"];
                tracing::debug!(%reason, "response incomplete");
                Ok(Step::DONE)
            }
            "response.failed" => {
                let error = &value["response"]["error"];
                Err(http_stream::stream_error(
                    error["code"].as_str().unwrap_or("server_error"),
                    error["message"].as_str().unwrap_or("the response failed"),
                ))
            }
            // Flat over SSE; the WebSocket shape nests it under `error`.
            "error" => {
                let error = value
                    .get("error")
                    .filter(|e| e.is_object())
                    .unwrap_or(&value);
                let kind = ["code", "type"]
                    .iter()
                    .find_map(|k| error.get(*k).and_then(Value::as_str))
                    .unwrap_or("");
                Err(http_stream::stream_error(
                    kind,
                    error["message"].as_str().unwrap_or(""),
                ))
            }
            _ => Ok(Step::SKIP),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(data: Value) -> Event {
        Event {
            name: data["type"].as_str().unwrap_or_default().to_owned(),
            data: data.to_string(),
        }
    }

    #[test]
    fn cache_keys_are_stable_and_opaque() {
        let key = cache_key("file:///home/me/secret-project/main.rs");
        assert_eq!(key, cache_key("file:///home/me/secret-project/main.rs"));
        assert!(!key.contains("secret"));
        assert_ne!(key, cache_key("file:///other.rs"));
        // FNV-1a of the empty string is its offset basis.
        assert_eq!(cache_key(""), "spark-cbf29ce484222325");
    }

    #[test]
    fn terminal_events_and_errors() {
        let mut decoder = ResponsesDecoder;
        let delta = json!({"type": "response.output_text.delta", "delta": "x"});
        assert_eq!(decoder.event(&ev(delta)), Ok(Step::text("x")));
        assert_eq!(
            decoder.event(&ev(json!({"type": "response.created"}))),
            Ok(Step::SKIP)
        );
        let incomplete = json!({"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}});
        assert_eq!(decoder.event(&ev(incomplete)), Ok(Step::DONE));
        let failed = json!({"type": "response.failed", "response": {"error": {"code": "rate_limit_exceeded", "message": "m"}}});
        assert_eq!(
            decoder.event(&ev(failed)),
            Err(ProviderError::RateLimited { retry_after: None })
        );
        let flat = json!({"type": "error", "code": "server_error", "message": "boom"});
        assert_eq!(
            decoder.event(&ev(flat)),
            Err(ProviderError::Unavailable("boom".into()))
        );
        assert_eq!(decoder.eof(), Err(super::super::http_stream::cut_short()));
    }
}
