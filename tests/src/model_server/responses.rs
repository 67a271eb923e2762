//! The OpenAI Responses API shapes shared by WebSocket mode and HTTP+SSE: request parsing,
//! the event sequence of one response (PROTOCOLS.md §1.3, §2) and the error objects.

use serde_json::{Value, json};

use super::plan::{HttpError, Plan, PlanCtx, sse_named};
use super::stream::{Script, unix_now};
use super::text::{Answer, Finish, Limits, PromptText, estimate_tokens};

/// The fields of a `response.create` / `POST /v1/responses` body the server acts on.
#[derive(Debug, Clone)]
pub(crate) struct ResponsesRequest {
    pub model: String,
    pub prompt: PromptText,
    /// Tokens of the instructions and input items of this request alone.
    pub new_input_tokens: u64,
    pub max_output_tokens: Option<usize>,
    pub previous_response_id: Option<String>,
    pub store: bool,
    pub generate: bool,
    pub stream: bool,
    pub instructions: Value,
}

impl ResponsesRequest {
    pub fn parse(body: &Value, default_model: &str) -> Self {
        let model = body["model"].as_str().unwrap_or(default_model).to_owned();
        let input = &body["input"];
        let mut counted = body["instructions"].as_str().unwrap_or_default().to_owned();
        let mut last_user = String::new();
        match input {
            Value::String(text) => {
                counted.push_str(text);
                last_user = text.clone();
            }
            Value::Array(items) => {
                for item in items {
                    let text = content_text(&item["content"]);
                    if item["role"] == "user" {
                        last_user = text.clone();
                    }
                    if text.is_empty() {
                        counted.push_str(&item.to_string());
                    } else {
                        counted.push_str(&text);
                    }
                }
            }
            _ => {}
        }
        let prewarm = body["prompt_cache_options"]["prewarm"] == true;
        Self {
            model,
            prompt: PromptText::from_chat(&last_user).with_whole(counted.as_str()),
            new_input_tokens: estimate_tokens(&counted),
            max_output_tokens: body["max_output_tokens"].as_u64().map(|n| n as usize),
            previous_response_id: body["previous_response_id"].as_str().map(str::to_owned),
            store: body["store"].as_bool().unwrap_or(true),
            generate: body["generate"].as_bool().unwrap_or(true) && !prewarm,
            stream: body["stream"].as_bool().unwrap_or(false),
            instructions: body["instructions"].clone(),
        }
    }

    /// The Responses API has no stop sequences; only the output cap applies.
    pub fn limits(&self, default_max: usize) -> Limits {
        Limits {
            max_tokens: Some(self.max_output_tokens.unwrap_or(default_max)),
            stop: Vec::new(),
        }
    }
}

/// Text of a message `content`: a string, or the `text` of each part.
pub(crate) fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        _ => String::new(),
    }
}

/// Identity and usage of one response.
#[derive(Debug, Clone)]
pub(crate) struct ResponseMeta {
    pub id: String,
    pub item_id: String,
    pub request: ResponsesRequest,
    /// Whole context of this turn: the parent's context plus this request's input.
    pub input_tokens: u64,
    /// The part of `input_tokens` served from the connection-local cache.
    pub cached_tokens: u64,
}

impl ResponseMeta {
    fn object(&self, status: &str, output: Vec<Value>, usage: Option<(u64, u64)>) -> Value {
        let usage = usage.map(|(input, output)| {
            json!({
                "input_tokens": input,
                "input_tokens_details": {"cached_tokens": self.cached_tokens},
                "output_tokens": output,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input + output,
            })
        });
        let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
        json!({
            "id": self.id, "object": "response", "created_at": unix_now(), "status": status,
            "background": false, "error": null, "incomplete_details": incomplete,
            "instructions": self.request.instructions, "max_output_tokens": self.request.max_output_tokens,
            "model": self.request.model, "output": output, "parallel_tool_calls": true,
            "previous_response_id": self.request.previous_response_id,
            "reasoning": {"effort": null, "summary": null}, "store": self.request.store,
            "temperature": 1.0, "text": {"format": {"type": "text"}}, "tool_choice": "auto",
            "tools": [], "top_p": 1.0, "truncation": "disabled", "usage": usage, "metadata": {},
        })
    }

    fn part(text: &str) -> Value {
        json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
    }

    fn item(&self, status: &str, content: Vec<Value>) -> Value {
        json!({"id": self.item_id, "type": "message", "status": status, "role": "assistant", "content": content})
    }

    /// The full event sequence; `None` is a `generate:false` warm-up (no output items).
    pub fn script(&self, answer: Option<&Answer>) -> Script<Value> {
        let mut script = Script {
            head: vec![
                json!({"type": "response.created", "response": self.object("in_progress", vec![], None)}),
                json!({"type": "response.in_progress", "response": self.object("in_progress", vec![], None)}),
            ],
            first: Vec::new(),
            tokens: Vec::new(),
            tail: Vec::new(),
        };
        let Some(answer) = answer else {
            let done = self.object("completed", vec![], Some((self.input_tokens, 0)));
            script
                .tail
                .push(json!({"type": "response.completed", "response": done}));
            return number(script);
        };
        let ids = json!({"item_id": self.item_id, "output_index": 0, "content_index": 0});
        let with_ids = |mut v: Value| {
            merge(&mut v, &ids);
            v
        };
        script.first = vec![
            json!({"type": "response.output_item.added", "output_index": 0, "item": self.item("in_progress", vec![])}),
            with_ids(json!({"type": "response.content_part.added", "part": Self::part("")})),
        ];
        script.tokens = answer
            .pieces
            .iter()
            .map(|piece| {
                with_ids(
                    json!({"type": "response.output_text.delta", "delta": piece, "logprobs": []}),
                )
            })
            .collect();
        let (status, kind) = match answer.finish {
            Finish::Length => ("incomplete", "response.incomplete"),
            _ => ("completed", "response.completed"),
        };
        let item = self.item(status, vec![Self::part(&answer.text)]);
        let usage = Some((self.input_tokens, answer.output_tokens()));
        script.tail = vec![
            with_ids(
                json!({"type": "response.output_text.done", "text": answer.text, "logprobs": []}),
            ),
            with_ids(
                json!({"type": "response.content_part.done", "part": Self::part(&answer.text)}),
            ),
            json!({"type": "response.output_item.done", "output_index": 0, "item": item.clone()}),
            json!({"type": kind, "response": self.object(status, vec![item], usage)}),
        ];
        number(script)
    }

    /// The non-streaming reply: the final response object.
    pub fn full(&self, answer: &Answer) -> Value {
        let status = if answer.finish == Finish::Length {
            "incomplete"
        } else {
            "completed"
        };
        let item = self.item(status, vec![Self::part(&answer.text)]);
        self.object(
            status,
            vec![item],
            Some((self.input_tokens, answer.output_tokens())),
        )
    }
}

fn merge(target: &mut Value, extra: &Value) {
    if let (Some(target), Some(extra)) = (target.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            target.insert(k.clone(), v.clone());
        }
    }
}

/// Gives every event its `sequence_number`, in sending order.
fn number(script: Script<Value>) -> Script<Value> {
    let mut next = 0u64;
    script.map(|mut event| {
        merge(&mut event, &json!({"sequence_number": next}));
        next += 1;
        event
    })
}

/// An error as WebSocket mode sends it: nested `error` plus the HTTP `status`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<&'static str>,
    /// Response headers a real server would have sent (e.g. `retry-after`).
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn invalid(
        code: &'static str,
        message: impl Into<String>,
        param: Option<&'static str>,
    ) -> Self {
        let message = message.into();
        Self {
            status: 400,
            kind: "invalid_request_error",
            code,
            message,
            param,
            headers: Vec::new(),
        }
    }

    /// The end of a WebSocket connection's lifetime (60 minutes on the real API).
    pub fn connection_limit_reached() -> Self {
        let message = "websocket connection reached its 60 minute limit; open a new connection";
        Self::invalid("websocket_connection_limit_reached", message, None)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self {
            status: 429,
            kind: "rate_limit_error",
            code: "rate_limit_exceeded",
            message: format!("rate limit reached; retry after {retry_after_secs} s"),
            param: None,
            headers: vec![("retry-after", retry_after_secs.to_string())],
        }
    }

    pub fn server(status: u16) -> Self {
        let message = format!("the server had an error (injected {status})");
        Self {
            status,
            kind: "server_error",
            code: "server_error",
            message,
            param: None,
            headers: Vec::new(),
        }
    }

    fn headers_json(&self) -> Value {
        self.headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(v.clone())))
            .collect()
    }

    /// `{"type":"error","status":N,"error":{type,code,message,param,headers?},"headers"?}`.
    pub fn ws_event(&self) -> Value {
        let mut error = json!({"type": self.kind, "code": self.code, "message": self.message, "param": self.param});
        let mut event = json!({"type": "error", "status": self.status});
        if !self.headers.is_empty() {
            error["headers"] = self.headers_json();
            event["headers"] = self.headers_json();
        }
        event["error"] = error;
        event
    }

    /// The flat SSE `error` event.
    pub fn sse_event(&self, sequence_number: u64) -> Value {
        json!({"type": "error", "code": self.code, "message": self.message, "param": self.param, "sequence_number": sequence_number})
    }

    /// The OpenAI HTTP error body `{"error":{message,type,param,code}}`.
    pub fn http_body(&self) -> Value {
        json!({"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}})
    }
}

/// `POST /v1/responses`: the same events as WebSocket mode, as named SSE events. Over HTTP
/// there is no connection-local cache, so `previous_response_id` must name a stored response.
pub(crate) fn responses_http(ctx: &mut PlanCtx<'_>, body: &Value) -> Result<Plan, HttpError> {
    let request = ResponsesRequest::parse(body, &ctx.shared.config.model);
    let mut cached = 0;
    if let Some(previous) = &request.previous_response_id {
        let Some(context_tokens) = ctx.shared.stored_response(previous) else {
            let message = format!("previous response with id '{previous}' not found");
            let error = ApiError::invalid(
                "previous_response_not_found",
                message,
                Some("previous_response_id"),
            );
            return Err(HttpError::new(ctx.endpoint, &error));
        };
        cached = context_tokens;
    }
    let limits = request.limits(ctx.shared.config.default_max_tokens);
    let answer = ctx.answer(&request.prompt, &limits);
    let new_tokens = request.new_input_tokens;
    let meta = ResponseMeta {
        id: ctx.shared.new_id("resp_"),
        item_id: ctx.shared.new_id("msg_"),
        input_tokens: cached + new_tokens,
        cached_tokens: cached,
        request,
    };
    let store_as = meta
        .request
        .store
        .then(|| (meta.id.clone(), meta.input_tokens + answer.output_tokens()));
    Ok(Plan {
        stream: meta.request.stream,
        new_prompt_tokens: new_tokens,
        output_tokens: answer.pieces.len(),
        script: meta.script(Some(&answer)).map(|event| sse_named(&event)),
        content_type: "text/event-stream",
        full: meta.full(&answer),
        malformed: "event: response.output_text.delta\ndata: {\"type\": \n\n",
        store_as,
    })
}
