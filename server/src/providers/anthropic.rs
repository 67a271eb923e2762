//! Anthropic Messages streaming (`provider.kind = "anthropic"`, PROTOCOLS.md §5).
//!
//! `POST {baseUrl}/messages` (baseUrl `https://api.anthropic.com/v1`) with `x-api-key` and
//! `anthropic-version: 2023-06-01`. The answer is named SSE events: text arrives in
//! `content_block_delta` events whose `delta` is a `text_delta`, `message_stop` ends it, an
//! `error` event may come mid-stream, `ping` and unknown events are ignored.

use serde_json::{Value, json};

use super::http::Auth;
use super::http_stream::{self, Decode, HttpCore, Step};
use super::reasoning::Shape;
use super::sse::{Event, Framing};
use super::{ModelRequest, Provider, ProviderError, Settings, TextStream, prompt};

pub struct Anthropic {
    core: HttpCore,
}

impl Anthropic {
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        let preconnect = format!("{}/models", settings.base_url);
        let core = HttpCore::new(
            "anthropic".into(),
            settings,
            Auth::XApiKey,
            &[
                ("anthropic-version", "2023-06-01"),
                ("accept", "text/event-stream"),
            ],
            Some(preconnect),
            // Extended thinking is off unless a request asks for it.
            Shape::Nothing,
        )?;
        Ok(Self { core })
    }
}

http_stream::introspection!(Anthropic);

impl Provider for Anthropic {
    fn name(&self) -> &str {
        &self.core.name
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        let body = request_body(&self.core.settings.model, &request);
        let url = self.core.url("/messages");
        self.core.stream(url, body, Framing::Sse, MessagesDecoder)
    }
}

fn request_body(model: &str, request: &ModelRequest) -> Value {
    let mut body = json!({
        "model": model,
        // Required by the API, unlike OpenAI's caps.
        "max_tokens": request.max_output_tokens,
        "messages": [{"role": "user", "content": prompt::user_text(&request.input)}],
        "stream": true,
    });
    let system = prompt::instructions(request);
    if !system.is_empty() {
        body["system"] = system.as_ref().into();
    }
    if !request.stop.is_empty() {
        body["stop_sequences"] = json!(request.stop);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    body
}

/// Messages events, by the `type` in the payload (the same as the SSE event name).
struct MessagesDecoder;

impl Decode for MessagesDecoder {
    fn event(&mut self, event: &Event) -> Result<Step, ProviderError> {
        let value = http_stream::parse_json(&event.data)?;
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(&event.name);
        match kind {
            "content_block_delta" => {
                let delta = &value["delta"];
                Ok(match (delta["type"].as_str(), delta["text"].as_str()) {
                    // Thinking and tool-input deltas are not part of the completion.
                    (Some("text_delta"), Some(text)) => Step::text(text),
                    _ => Step::SKIP,
                })
            }
            "message_stop" => Ok(Step::DONE),
            // `overloaded_error` (HTTP 529 equivalent) and `api_error` map to Unavailable,
            // `rate_limit_error` to RateLimited.
            "error" => {
                let error = &value["error"];
                Err(http_stream::stream_error(
                    error["type"].as_str().unwrap_or("api_error"),
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
    use crate::providers::ModelInput;

    #[test]
    fn body_has_the_messages_shape() {
        let request = ModelRequest {
            instructions: "be brief".into(),
            input: ModelInput::Chat {
                context: "c".into(),
                query: "q".into(),
            },
            stop: vec!["END".into()],
            max_output_tokens: 32,
            ..ModelRequest::default()
        };
        let body = request_body("claude", &request);
        assert_eq!(
            body,
            json!({
                "model": "claude", "max_tokens": 32, "stream": true, "system": "be brief",
                "messages": [{"role": "user", "content": "cq"}], "stop_sequences": ["END"],
            })
        );
    }

    #[test]
    fn events_map_to_steps_and_errors() {
        let ev = |v: Value| Event {
            name: v["type"].as_str().unwrap_or_default().to_owned(),
            data: v.to_string(),
        };
        let mut d = MessagesDecoder;
        let text =
            json!({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "hi"}});
        assert_eq!(d.event(&ev(text)), Ok(Step::text("hi")));
        let thinking = json!({"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "x"}});
        assert_eq!(d.event(&ev(thinking)), Ok(Step::SKIP));
        assert_eq!(d.event(&ev(json!({"type": "ping"}))), Ok(Step::SKIP));
        assert_eq!(
            d.event(&ev(json!({"type": "message_stop"}))),
            Ok(Step::DONE)
        );
        let overloaded =
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}});
        assert_eq!(
            d.event(&ev(overloaded)),
            Err(ProviderError::Unavailable("busy".into()))
        );
        let limited =
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "x"}});
        assert_eq!(
            d.event(&ev(limited)),
            Err(ProviderError::RateLimited { retry_after: None })
        );
    }
}
