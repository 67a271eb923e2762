//! What an HTTP endpoint hands the connection loop: a [`Plan`] (streamed frames or a whole
//! JSON body, plus the prompt cost) or an [`HttpError`]; and the framing helpers they share.

use serde_json::{Value, json};

use super::config::Endpoint;
use super::responses::ApiError;
use super::state::Shared;
use super::stream::Script;
use super::text::{Answer, Finish, Limits, PromptText, choose_answer};

/// One HTTP response to play.
#[derive(Debug)]
pub(crate) struct Plan {
    pub stream: bool,
    /// Prompt tokens that must be prefilled (cached ones excluded).
    pub new_prompt_tokens: u64,
    /// Number of output tokens (for non-streaming timing).
    pub output_tokens: usize,
    pub script: Script<String>,
    pub content_type: &'static str,
    /// The non-streaming body.
    pub full: Value,
    /// The frame sent for a [`super::config::Fault::Malformed`].
    pub malformed: &'static str,
    /// Store the finished response under this id with this context size (Responses API).
    pub store_as: Option<(String, u64)>,
}

/// Per-request inputs an endpoint needs beyond the body.
pub(crate) struct PlanCtx<'a> {
    pub shared: &'a Shared,
    pub endpoint: Endpoint,
    /// The previous prompt on this connection (llama.cpp `cache_prompt`): its common prefix
    /// with the new prompt costs nothing.
    pub last_prompt: &'a mut String,
}

impl PlanCtx<'_> {
    pub fn answer(&self, prompt: &PromptText, limits: &Limits) -> Answer {
        choose_answer(self.shared, self.endpoint, prompt, limits)
    }

    pub fn model(&self, body: &Value) -> String {
        body["model"]
            .as_str()
            .unwrap_or(&self.shared.config.model)
            .to_owned()
    }

    pub fn max_tokens(&self, body: &Value, keys: &[&str]) -> Option<usize> {
        let given = keys.iter().find_map(|k| body[*k].as_i64());
        match given {
            Some(n) if n < 0 => None,
            Some(n) => Some(n as usize),
            None => Some(self.shared.config.default_max_tokens),
        }
    }

    /// Bytes of `prompt` shared with the previous prompt on this connection, as tokens; then
    /// remembers `prompt`.
    pub fn cached_prefix_tokens(&mut self, prompt: &str) -> u64 {
        let common = prompt
            .bytes()
            .zip(self.last_prompt.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        *self.last_prompt = prompt.to_owned();
        (common / 4) as u64
    }
}

/// An error reply before any streaming starts.
#[derive(Debug, Clone)]
pub(crate) struct HttpError {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Value,
}

impl HttpError {
    /// `error` in the error shape of `endpoint`'s API.
    pub fn new(endpoint: Endpoint, error: &ApiError) -> Self {
        let body = match endpoint {
            Endpoint::AnthropicMessages => {
                json!({"type": "error", "error": {"type": anthropic_error_type(error.status), "message": error.message}})
            }
            Endpoint::OllamaGenerate => json!({"error": error.message}),
            _ => error.http_body(),
        };
        Self {
            status: error.status,
            headers: error.headers.clone(),
            body,
        }
    }
}

fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

/// `data: <json>` SSE frame.
pub(crate) fn sse_data(value: &Value) -> String {
    format!("data: {value}\n\n")
}

/// `event: <type>` + `data: <json>` SSE frame, the event name taken from `type`.
pub(crate) fn sse_named(value: &Value) -> String {
    let name = value["type"].as_str().unwrap_or("message");
    format!("event: {name}\ndata: {value}\n\n")
}

pub(crate) const SSE_DONE: &str = "data: [DONE]\n\n";
pub(crate) const SSE_MALFORMED: &str = "data: {\"choices\": [{\"delta\": \n\n";

/// `stop` given as a string or a list.
pub(crate) fn stop_list(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// OpenAI-style finish reason.
pub(crate) fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "length",
        Finish::End | Finish::Stop(_) => "stop",
    }
}
