//! OpenAI-compatible Chat Completions streaming (`provider.kind = "openai-chat"`): Cerebras,
//! Groq, vLLM, the llama.cpp server, Ollama, LM Studio, OpenRouter, OpenAI itself.
//!
//! `POST {baseUrl}/chat/completions` with `stream: true`; the answer is SSE `data:` chunks
//! (`choices[0].delta.content`) ending with `data: [DONE]` (PROTOCOLS.md §3). baseUrl includes
//! the version, e.g. `https://api.cerebras.ai/v1`, `http://127.0.0.1:11434/v1`.

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::http::Auth;
use super::http_stream::{self, Decode, HttpCore, Step, cut_short};
use super::reasoning::Shape;
use super::sse::{Event, Framing};
use super::{ModelInput, ModelRequest, Provider, ProviderError, Settings, TextStream, prompt};

pub struct OpenAiChat {
    core: HttpCore,
}

impl OpenAiChat {
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        let preconnect = format!("{}/models", settings.base_url);
        // Off OpenAI's hosts the server may be llama.cpp or vLLM, whose chat templates take a
        // thinking switch; OpenAI rejects the unknown field.
        let template_switch = !is_openai_host(&settings.base_url);
        let core = HttpCore::new(
            "openai-chat".into(),
            settings,
            Auth::Bearer,
            &[("accept", "text/event-stream")],
            Some(preconnect),
            Shape::Chat { template_switch },
        )?;
        Ok(Self { core })
    }
}

http_stream::introspection!(OpenAiChat);

impl Provider for OpenAiChat {
    fn name(&self) -> &str {
        &self.core.name
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        if let ModelInput::Completion { prompt } = &request.input {
            // A next-edit model's own prompt must not go through a chat template: the legacy
            // completions endpoint continues it as it is (llama.cpp, Ollama, vLLM serve it).
            let body = completion_body(&self.core.settings, &request, prompt);
            let url = self.core.url("/completions");
            return self
                .core
                .stream(url, body, Framing::Sse, ChatDecoder::legacy_text());
        }
        let body = request_body(&self.core.settings, &request);
        let url = self.core.url("/chat/completions");
        self.core
            .stream(url, body, Framing::Sse, ChatDecoder::default())
    }
}

/// The request body. The output cap goes out as both `max_completion_tokens` (OpenAI's
/// current name; llama.cpp since 2026-02, vLLM, Groq, Cerebras, OpenRouter) and `max_tokens`
/// (the only name Ollama and LM Studio honour: they silently ignore the new one, leaving the
/// answer unbounded; ollama/ollama#7125). OpenAI itself rejects `max_tokens` for reasoning
/// models, so on OpenAI's own hosts only the new name is sent.
fn request_body(settings: &Settings, request: &ModelRequest) -> Value {
    let mut messages = Vec::new();
    let system = prompt::instructions(request);
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system}));
    }
    messages.push(json!({"role": "user", "content": prompt::user_text(&request.input)}));
    let mut body = json!({
        "model": settings.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_completion_tokens": request.max_output_tokens,
    });
    if !is_openai_host(&settings.base_url) {
        body["max_tokens"] = request.max_output_tokens.into();
    }
    if !request.stop.is_empty() {
        body["stop"] = json!(request.stop);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    if let Some(prediction) = &request.prediction
        && supports_prediction(&settings.base_url, &settings.model)
    {
        body["prediction"] = json!({"type": "content", "content": prediction});
    }
    body
}

/// A legacy `POST /completions` body for a raw-completion prompt.
fn completion_body(settings: &Settings, request: &ModelRequest, prompt: &str) -> Value {
    let mut body = json!({
        "model": settings.model,
        "prompt": prompt,
        "stream": true,
        "max_tokens": request.max_output_tokens,
    });
    if !request.stop.is_empty() {
        body["stop"] = json!(request.stop);
    }
    if let Some(temperature) = request.temperature {
        body["temperature"] = json!(temperature);
    }
    body
}

/// Whether the endpoint takes Predicted Outputs (PROTOCOLS.md §3): OpenAI's own hosts for the
/// GPT-4o and GPT-4.1 families, Cerebras for the models in its preview. Everyone else either
/// rejects the unknown field or ignores it, and OpenAI rejects it for other models, so it is
/// sent nowhere else.
fn supports_prediction(base_url: &str, model: &str) -> bool {
    let host = host_of(base_url);
    if is_openai_host(base_url) {
        return model.starts_with("gpt-4o") || model.starts_with("gpt-4.1");
    }
    host == "api.cerebras.ai" && matches!(model, "gpt-oss-120b" | "zai-glm-4.7")
}

fn host_of(base_url: &str) -> &str {
    base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .split(['/', ':'])
        .next()
        .unwrap_or("")
}

fn is_openai_host(base_url: &str) -> bool {
    let host = host_of(base_url);
    host == "api.openai.com" || host.ends_with(".openai.azure.com")
}

/// The parts of a chat chunk the decoder reads.
#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    choices: Vec<ChunkChoice<'a>>,
    #[serde(default)]
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ChunkChoice<'a> {
    #[serde(borrow, default)]
    delta: Option<ChunkDelta<'a>>,
    /// Legacy completions' text.
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    finish_reason: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct ChunkDelta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
}

/// Chat-chunk streams: `choices[0].delta.content` until `[DONE]`. Codestral FIM uses the same
/// shape; DeepSeek FIM puts the text in `choices[0].text` (`text_field`).
#[derive(Debug, Default)]
pub(crate) struct ChatDecoder {
    /// A chunk carried a `finish_reason`: the answer is complete even if `[DONE]` never comes.
    finished: bool,
    /// Read `choices[0].text` (legacy completions) instead of `choices[0].delta.content`.
    text_field: bool,
}

impl ChatDecoder {
    /// A chunk's step: its text, and the end of the answer at its `finish_reason` (one choice
    /// is asked for; what follows is the usage chunk and `[DONE]`, read after the answer).
    fn step(&mut self, text: Option<String>, finished: bool) -> Step {
        self.finished |= finished;
        Step {
            text,
            done: finished,
        }
    }

    /// For legacy completion chunks (`choices[0].text`), e.g. DeepSeek FIM.
    pub(crate) fn legacy_text() -> Self {
        Self {
            finished: false,
            text_field: true,
        }
    }
}

impl Decode for ChatDecoder {
    fn event(&mut self, event: &Event) -> Result<Step, ProviderError> {
        if event.data.trim() == "[DONE]" {
            return Ok(Step::DONE);
        }
        // Most chunks are read without building them (ids, usage and logprobs skipped, the text
        // borrowed); an error, or a chunk of another shape, as a whole value.
        if let Ok(chunk) = serde_json::from_str::<Chunk<'_>>(&event.data)
            && chunk.error.is_none()
        {
            let Some(choice) = chunk.choices.into_iter().next() else {
                return Ok(Step::SKIP);
            };
            let text = if self.text_field {
                choice.text
            } else {
                choice.delta.and_then(|delta| delta.content)
            };
            return Ok(self.step(text.map(Cow::into_owned), choice.finish_reason.is_some()));
        }
        let value = http_stream::parse_json(&event.data)?;
        if let Some(err) = http_stream::embedded_error(&value) {
            return Err(err);
        }
        // The usage chunk has `choices: []`.
        let Some(choice) = value.get("choices").and_then(|c| c.get(0)) else {
            return Ok(Step::SKIP);
        };
        let finished = choice.get("finish_reason").is_some_and(|f| !f.is_null());
        let text = if self.text_field {
            choice.get("text")
        } else {
            choice.get("delta").and_then(|d| d.get("content"))
        };
        Ok(self.step(text.and_then(Value::as_str).map(str::to_owned), finished))
    }

    fn eof(&mut self) -> Result<(), ProviderError> {
        if self.finished {
            Ok(())
        } else {
            Err(cut_short())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_hosts_get_only_the_new_token_field() {
        assert!(is_openai_host("https://api.openai.com/v1"));
        assert!(is_openai_host("https://x.openai.azure.com/openai"));
        assert!(!is_openai_host("https://api.cerebras.ai/v1"));
        assert!(!is_openai_host("http://127.0.0.1:11434/v1"));
    }

    #[test]
    fn predictions_go_only_where_the_model_takes_them() {
        let openai = "https://api.openai.com/v1";
        assert!(supports_prediction(openai, "gpt-4.1-mini"));
        assert!(supports_prediction(openai, "gpt-4o"));
        assert!(!supports_prediction(openai, "gpt-5.3-codex-spark"));
        assert!(supports_prediction(
            "https://api.cerebras.ai/v1",
            "gpt-oss-120b"
        ));
        assert!(!supports_prediction(
            "https://api.groq.com/openai/v1",
            "gpt-4o"
        ));
        assert!(!supports_prediction("http://127.0.0.1:8080/v1", "gpt-4o"));
    }

    /// An unnamed event carrying `data`.
    fn ev(data: &str) -> Event {
        Event {
            name: String::new(),
            data: data.into(),
        }
    }

    #[test]
    fn decoder_reads_escapes_errors_odd_shapes_and_text_on_the_finishing_chunk() {
        let mut decoder = ChatDecoder::default();
        let escaped = r#"{"id":"c","choices":[{"index":0,"delta":{"content":"a\n\"b\u00e9"},"logprobs":null,"finish_reason":null}],"usage":null}"#;
        assert_eq!(decoder.event(&ev(escaped)), Ok(Step::text("a\n\"bé")));
        // Mistral puts the last text on the chunk that finishes.
        let last = r#"{"choices":[{"delta":{"content":"c"},"finish_reason":"stop"}]}"#;
        assert_eq!(
            decoder.event(&ev(last)),
            Ok(Step {
                text: Some("c".into()),
                done: true
            })
        );
        let error = r#"{"error":{"type":"overloaded","message":"busy"}}"#;
        assert_eq!(
            decoder.event(&ev(error)),
            Err(ProviderError::Unavailable("busy".into()))
        );
        // Shapes the typed read refuses are read leniently, as before.
        for odd in [
            r#"{"choices":null}"#,
            r#"{"choices":{"0":1}}"#,
            r#"{"choices":[{"delta":{"content":["x"]}}]}"#,
        ] {
            assert_eq!(decoder.event(&ev(odd)), Ok(Step::SKIP), "{odd}");
        }
    }

    #[test]
    fn decoder_reads_deltas_and_tolerates_missing_done_after_a_finish() {
        let mut decoder = ChatDecoder::default();
        let role = r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#;
        assert_eq!(decoder.event(&ev(role)), Ok(Step::text("")));
        let delta = r#"{"choices":[{"delta":{"content":"ab"},"finish_reason":null}]}"#;
        assert_eq!(decoder.event(&ev(delta)), Ok(Step::text("ab")));
        assert_eq!(decoder.eof(), Err(cut_short()));
        let usage = r#"{"choices":[],"usage":{"completion_tokens":1}}"#;
        assert_eq!(decoder.event(&ev(usage)), Ok(Step::SKIP));
        let finish = r#"{"choices":[{"delta":{},"finish_reason":"stop"}]}"#;
        assert_eq!(decoder.event(&ev(finish)), Ok(Step::DONE));
        assert_eq!(decoder.eof(), Ok(()));
        assert_eq!(decoder.event(&ev("[DONE]")), Ok(Step::DONE));
        assert!(matches!(
            decoder.event(&ev("{\"choices\": [")),
            Err(ProviderError::Protocol(_))
        ));
        assert!(matches!(
            decoder.event(&ev("[1, 2]")),
            Ok(Step {
                text: None,
                done: false
            })
        ));
    }
}
