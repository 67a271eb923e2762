//! Fill-in-the-middle endpoints (`provider.kind = "fim"`), one dialect per `provider.fimApi`
//! (PROTOCOLS.md §4). The expected `baseUrl` differs per dialect:
//!
//! | fimApi      | baseUrl                            | endpoint                  | stream          |
//! |-------------|------------------------------------|---------------------------|-----------------|
//! | `llama-cpp` | `http://127.0.0.1:8080` (root)     | `POST /infill`            | SSE `{content, stop}` |
//! | `ollama`    | `http://127.0.0.1:11434` (root)    | `POST /api/generate`      | NDJSON `{response, done}` |
//! | `codestral` | `https://codestral.mistral.ai/v1`  | `POST /fim/completions`   | SSE chat chunks + `[DONE]` |
//! | `deepseek`  | `https://api.deepseek.com/beta`    | `POST /completions`       | SSE `choices[0].text` + `[DONE]` |
//!
//! Other files (`ModelInput::Fim::extra`) go out only where the wire has a field for them
//! (llama.cpp's `input_extra`). Chat input completes after `context + query`.
//!
//! A raw-completion prompt (`ModelInput::Completion`, a next-edit model's own format) is
//! continued as it is: llama.cpp `POST /completion` (same SSE events as `/infill`), Ollama
//! `/api/generate` with `raw: true` (no template), DeepSeek `/completions` with no suffix;
//! Codestral has no raw endpoint and gets it as a prefix with an empty suffix.

use serde_json::{Value, json};

use super::http::Auth;
use super::http_stream::{self, Decode, HttpCore, Step};
use super::openai_chat::ChatDecoder;
use super::reasoning::Shape;
use super::sse::{Event, Framing};
use super::{ModelInput, ModelRequest, Provider, ProviderError, Settings, TextStream, prompt};
use crate::config::FimApi;

/// llama.cpp stops generating this long after the first token, at the next newline: a
/// completion that has not finished by then is too long to be useful while typing (llama.vim
/// uses 500 ms; multi-line suggestions are our point, so we allow more).
const T_MAX_PREDICT_MS: u64 = 1000;

pub struct Fim {
    core: HttpCore,
    api: FimApi,
}

impl Fim {
    pub fn new(settings: Settings, api: FimApi) -> Result<Self, ProviderError> {
        let (name, preconnect_path) = match api {
            FimApi::LlamaCpp => ("fim (llama-cpp)", "/health"),
            FimApi::Ollama => ("fim (ollama)", "/api/version"),
            FimApi::Codestral => ("fim (codestral)", "/models"),
            FimApi::Deepseek => ("fim (deepseek)", "/models"),
        };
        let preconnect = format!("{}{preconnect_path}", settings.base_url);
        let accept = match api {
            FimApi::Ollama => "application/x-ndjson",
            _ => "text/event-stream",
        };
        let core = HttpCore::new(
            name.into(),
            settings,
            Auth::Bearer,
            &[("accept", accept)],
            Some(preconnect),
            // Ollama applies a model's template, thinking included, unless told not to; the
            // other FIM endpoints complete raw text.
            if api == FimApi::Ollama {
                Shape::OllamaThink
            } else {
                Shape::Nothing
            },
        )?;
        Ok(Self { core, api })
    }
}

http_stream::introspection!(Fim);

impl Provider for Fim {
    fn name(&self) -> &str {
        &self.core.name
    }

    fn wants_fim(&self) -> bool {
        true
    }

    fn stream(&self, request: ModelRequest) -> TextStream {
        let model = &self.core.settings.model;
        let (path, body) = request_body(self.api, model, &request);
        let url = self.core.url(path);
        match self.api {
            FimApi::LlamaCpp => self.core.stream(url, body, Framing::Sse, LlamaDecoder),
            FimApi::Ollama => self.core.stream(url, body, Framing::Ndjson, OllamaDecoder),
            FimApi::Codestral => self
                .core
                .stream(url, body, Framing::Sse, ChatDecoder::default()),
            FimApi::Deepseek => {
                self.core
                    .stream(url, body, Framing::Sse, ChatDecoder::legacy_text())
            }
        }
    }

    /// llama.cpp only: the same request with `n_predict: 0` fills the slot's KV cache, so the
    /// next completion with this prefix only evaluates what changed.
    fn prewarm(&self, request: ModelRequest) {
        if self.api != FimApi::LlamaCpp {
            return;
        }
        let (path, mut body) = request_body(self.api, &self.core.settings.model, &request);
        body["n_predict"] = 0.into();
        body["stream"] = false.into();
        self.core.fire(self.core.url(path), body);
    }
}

/// The endpoint path and body of `request` in `api`'s dialect.
fn request_body(api: FimApi, model: &str, request: &ModelRequest) -> (&'static str, Value) {
    let (prefix, suffix, extra) = prompt::fim_parts(&request.input);
    let raw = matches!(request.input, ModelInput::Completion { .. });
    let (path, mut body) = match api {
        FimApi::LlamaCpp if raw => {
            let body = json!({
                "prompt": prefix,
                "n_predict": request.max_output_tokens,
                "stream": true,
                "stop": request.stop,
                "cache_prompt": true,
            });
            ("/completion", body)
        }
        FimApi::LlamaCpp => {
            let extra: Vec<Value> = extra
                .iter()
                .map(|f| json!({"filename": f.path, "text": f.text}))
                .collect();
            let body = json!({
                "input_prefix": prefix,
                "input_suffix": suffix,
                "input_extra": extra,
                "n_predict": request.max_output_tokens,
                "stream": true,
                "stop": request.stop,
                "cache_prompt": true,
                "t_max_predict_ms": T_MAX_PREDICT_MS,
            });
            ("/infill", body)
        }
        FimApi::Ollama => {
            let mut options = json!({"num_predict": request.max_output_tokens});
            if !request.stop.is_empty() {
                options["stop"] = json!(request.stop);
            }
            if let Some(temperature) = request.temperature {
                options["temperature"] = json!(temperature);
            }
            // `raw: false` lets Ollama apply the model's own FIM template to prompt + suffix;
            // a raw-completion prompt is already in the model's own format.
            let mut body = json!({
                "model": model, "prompt": prefix, "options": options,
                "stream": true, "raw": raw,
            });
            if !raw {
                body["suffix"] = json!(suffix);
            }
            ("/api/generate", body)
        }
        FimApi::Codestral | FimApi::Deepseek => {
            let mut body = json!({
                "model": model, "prompt": prefix, "suffix": suffix,
                "max_tokens": request.max_output_tokens, "stream": true,
            });
            if !request.stop.is_empty() {
                body["stop"] = json!(request.stop);
            }
            let path = if api == FimApi::Codestral {
                "/fim/completions"
            } else {
                "/completions"
            };
            (path, body)
        }
    };
    // Ollama takes it in `options`; llama.cpp, Codestral and DeepSeek at the top level.
    if api != FimApi::Ollama
        && let Some(temperature) = request.temperature
    {
        body["temperature"] = json!(temperature);
    }
    (path, body)
}

/// llama.cpp `/infill` SSE: `{content, stop}`; the event with `stop: true` is the last.
struct LlamaDecoder;

impl Decode for LlamaDecoder {
    fn event(&mut self, event: &Event) -> Result<Step, ProviderError> {
        let value = http_stream::parse_json(&event.data)?;
        if let Some(err) = http_stream::embedded_error(&value) {
            return Err(err);
        }
        Ok(Step {
            text: value["content"].as_str().map(str::to_owned),
            done: value["stop"].as_bool().unwrap_or(false),
        })
    }
}

/// Ollama `/api/generate` NDJSON: `{response, done}`; `{"error": ...}` mid-stream.
struct OllamaDecoder;

impl Decode for OllamaDecoder {
    fn event(&mut self, event: &Event) -> Result<Step, ProviderError> {
        let value = http_stream::parse_json(&event.data)?;
        if let Some(err) = http_stream::embedded_error(&value) {
            return Err(err);
        }
        Ok(Step {
            text: value["response"].as_str().map(str::to_owned),
            done: value["done"].as_bool().unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ExtraFile;

    fn request() -> ModelRequest {
        ModelRequest {
            input: ModelInput::Fim {
                prefix: "fn f() {".into(),
                suffix: "}".into(),
                extra: vec![ExtraFile {
                    path: "a.rs".into(),
                    text: "x".into(),
                }],
            },
            stop: vec!["\n\n".into()],
            max_output_tokens: 64,
            temperature: Some(0.0),
            ..ModelRequest::default()
        }
    }

    #[test]
    fn each_dialect_puts_the_fields_where_its_server_reads_them() {
        let (path, llama) = request_body(FimApi::LlamaCpp, "m", &request());
        assert_eq!(path, "/infill");
        assert_eq!(
            llama["input_extra"],
            json!([{"filename": "a.rs", "text": "x"}])
        );
        assert_eq!(
            (llama["n_predict"].clone(), llama["temperature"].clone()),
            (json!(64), json!(0.0))
        );
        let (path, ollama) = request_body(FimApi::Ollama, "m", &request());
        assert_eq!(path, "/api/generate");
        assert_eq!(
            ollama["options"],
            json!({"num_predict": 64, "stop": ["\n\n"], "temperature": 0.0})
        );
        assert_eq!(ollama.get("temperature"), None);
        let (path, deepseek) = request_body(FimApi::Deepseek, "m", &request());
        assert_eq!(path, "/completions");
        assert_eq!(
            (deepseek["prompt"].clone(), deepseek["suffix"].clone()),
            (json!("fn f() {"), json!("}"))
        );
    }

    #[test]
    fn a_raw_completion_prompt_goes_out_untemplated() {
        let raw = ModelRequest {
            input: ModelInput::Completion {
                prompt: "<|file_sep|>updated/a.rs\n".into(),
            },
            stop: vec!["<|file_sep|>".into()],
            max_output_tokens: 64,
            ..ModelRequest::default()
        };
        let (path, llama) = request_body(FimApi::LlamaCpp, "m", &raw);
        assert_eq!(path, "/completion");
        assert_eq!(llama["prompt"], json!("<|file_sep|>updated/a.rs\n"));
        assert_eq!(llama["stop"], json!(["<|file_sep|>"]));
        assert_eq!(llama.get("input_prefix"), None);
        let (path, ollama) = request_body(FimApi::Ollama, "m", &raw);
        assert_eq!(path, "/api/generate");
        assert_eq!(
            (ollama["raw"].clone(), ollama.get("suffix")),
            (json!(true), None)
        );
        assert_eq!(ollama["options"]["stop"], json!(["<|file_sep|>"]));
        let (path, deepseek) = request_body(FimApi::Deepseek, "m", &raw);
        assert_eq!(path, "/completions");
        assert_eq!(deepseek["suffix"], json!(""));
    }

    #[test]
    fn decoders_refuse_garbage_and_report_errors() {
        let ev = |data: &str| Event {
            name: String::new(),
            data: data.into(),
        };
        assert!(matches!(
            LlamaDecoder.event(&ev("{\"content\": ")),
            Err(ProviderError::Protocol(_))
        ));
        let last = LlamaDecoder.event(&ev(r#"{"content":"","stop":true}"#));
        assert_eq!(
            last,
            Ok(Step {
                text: Some(String::new()),
                done: true
            })
        );
        let error = OllamaDecoder.event(&ev(r#"{"error":"out of memory"}"#));
        assert_eq!(
            error,
            Err(ProviderError::Unavailable("out of memory".into()))
        );
    }
}
