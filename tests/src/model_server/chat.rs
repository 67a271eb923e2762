//! OpenAI-style SSE endpoints: Chat Completions (`/v1/chat/completions`), Mistral Codestral
//! FIM (`/v1/fim/completions`, chat-chunk shape) and DeepSeek FIM (`/beta/completions`,
//! legacy `choices[].text`). All end with `data: [DONE]`.

use serde_json::{Value, json};

use super::plan::{Plan, PlanCtx, SSE_DONE, SSE_MALFORMED, finish_reason, sse_data, stop_list};
use super::responses::content_text;
use super::stream::{Script, unix_now};
use super::text::{Answer, Limits, PromptText, estimate_tokens};

/// Token counts reported in `usage`.
struct Usage {
    prompt: u64,
    cached: u64,
    completion: u64,
    /// (accepted, rejected) Predicted Outputs tokens.
    prediction: (u64, u64),
}

impl Usage {
    fn json(&self) -> Value {
        json!({
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "total_tokens": self.prompt + self.completion,
            "prompt_tokens_details": {"cached_tokens": self.cached},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "accepted_prediction_tokens": self.prediction.0,
                "rejected_prediction_tokens": self.prediction.1,
            },
        })
    }
}

/// Where usage goes in a chat-chunk stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum UsageAt {
    Nowhere,
    /// OpenAI `stream_options.include_usage`: an extra chunk with `choices: []`.
    ExtraChunk,
    /// Mistral: on the chunk that carries `finish_reason`.
    FinalChunk,
}

/// `POST /v1/chat/completions`.
pub(crate) fn chat_completions(ctx: &mut PlanCtx<'_>, body: &Value) -> Plan {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let counted: String = messages
        .iter()
        .map(|m| content_text(&m["content"]))
        .collect();
    let last_user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default();
    let limits = Limits {
        max_tokens: ctx.max_tokens(body, &["max_completion_tokens", "max_tokens"]),
        stop: stop_list(&body["stop"]),
    };
    let prompt = PromptText::from_chat(&last_user).with_whole(counted.as_str());
    let answer = ctx.answer(&prompt, &limits);
    let prediction = content_text(&body["prediction"]["content"]);
    let usage = Usage {
        prompt: estimate_tokens(&counted),
        cached: ctx.shared.cached_chat_tokens(&counted),
        completion: answer.output_tokens(),
        prediction: prediction_tokens(&prediction, &answer.text),
    };
    let usage_at = if body["stream_options"]["include_usage"] == true {
        UsageAt::ExtraChunk
    } else {
        UsageAt::Nowhere
    };
    chunk_plan(ctx, body, answer, usage, usage_at)
}

/// `POST /v1/fim/completions` (Codestral): prompt is the prefix, `suffix` the rest.
pub(crate) fn codestral_fim(ctx: &mut PlanCtx<'_>, body: &Value) -> Plan {
    let prefix = body["prompt"].as_str().unwrap_or_default();
    let suffix = body["suffix"].as_str().map(str::to_owned);
    let limits = Limits {
        max_tokens: ctx.max_tokens(body, &["max_tokens"]),
        stop: stop_list(&body["stop"]),
    };
    let answer = ctx.answer(&PromptText::fim(prefix, suffix.clone()), &limits);
    let prompt_tokens =
        estimate_tokens(prefix) + estimate_tokens(suffix.as_deref().unwrap_or_default());
    let usage = Usage {
        prompt: prompt_tokens,
        cached: 0,
        completion: answer.output_tokens(),
        prediction: (0, 0),
    };
    chunk_plan(ctx, body, answer, usage, UsageAt::FinalChunk)
}

fn chunk_plan(
    ctx: &PlanCtx<'_>,
    body: &Value,
    answer: Answer,
    usage: Usage,
    usage_at: UsageAt,
) -> Plan {
    let id = ctx.shared.new_id("chatcmpl-");
    let model = ctx.model(body);
    let created = unix_now();
    let chunk = |delta: Value, finish: Value, usage: Option<Value>| {
        let mut chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if usage_at == UsageAt::ExtraChunk || usage.is_some() {
            chunk["usage"] = usage.unwrap_or(Value::Null);
        }
        sse_data(&chunk)
    };
    let finish = finish_reason(&answer.finish);
    let mut tail = vec![chunk(
        json!({}),
        finish.into(),
        (usage_at == UsageAt::FinalChunk).then(|| usage.json()),
    )];
    if usage_at == UsageAt::ExtraChunk {
        let extra = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": null, "choices": [], "usage": usage.json(),
        });
        tail.push(sse_data(&extra));
    }
    tail.push(SSE_DONE.to_owned());
    let script = Script {
        head: Vec::new(),
        first: vec![chunk(
            json!({"role": "assistant", "content": ""}),
            Value::Null,
            None,
        )],
        tokens: answer
            .pieces
            .iter()
            .map(|p| chunk(json!({"content": p}), Value::Null, None))
            .collect(),
        tail,
    };
    let full = json!({
        "id": id, "object": "chat.completion", "created": created, "model": model,
        "system_fingerprint": null,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": answer.text, "refusal": null},
            "logprobs": null, "finish_reason": finish,
        }],
        "usage": usage.json(),
    });
    Plan {
        stream: body["stream"].as_bool().unwrap_or(false),
        new_prompt_tokens: usage.prompt - usage.cached,
        output_tokens: answer.pieces.len(),
        script,
        content_type: "text/event-stream",
        full,
        malformed: SSE_MALFORMED,
        store_as: None,
    }
}

/// Predicted Outputs: the prediction's common prefix with the answer counts as accepted.
fn prediction_tokens(prediction: &str, answer: &str) -> (u64, u64) {
    if prediction.is_empty() {
        return (0, 0);
    }
    let common = prediction
        .bytes()
        .zip(answer.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let accepted = (common / 4) as u64;
    (
        accepted,
        estimate_tokens(prediction).saturating_sub(accepted),
    )
}

/// `POST /beta/completions` (DeepSeek FIM): legacy completion chunks.
pub(crate) fn deepseek_fim(ctx: &mut PlanCtx<'_>, body: &Value) -> Plan {
    let prefix = body["prompt"].as_str().unwrap_or_default();
    let suffix = body["suffix"].as_str().map(str::to_owned);
    let limits = Limits {
        max_tokens: ctx.max_tokens(body, &["max_tokens"]),
        stop: stop_list(&body["stop"]),
    };
    let answer = ctx.answer(&PromptText::fim(prefix, suffix.clone()), &limits);
    let prompt_tokens =
        estimate_tokens(prefix) + estimate_tokens(suffix.as_deref().unwrap_or_default());
    let usage = Usage {
        prompt: prompt_tokens,
        cached: 0,
        completion: answer.output_tokens(),
        prediction: (0, 0),
    };
    let id = ctx.shared.new_id("cmpl-");
    let model = ctx.model(body);
    let created = unix_now();
    let finish = finish_reason(&answer.finish);
    let chunk = |text: &str, finish: Value, usage: Option<Value>| {
        let mut chunk = json!({
            "id": id, "object": "text_completion", "created": created, "model": model,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}],
        });
        if let Some(usage) = usage {
            chunk["usage"] = usage;
        }
        sse_data(&chunk)
    };
    let script = Script {
        head: Vec::new(),
        first: Vec::new(),
        tokens: answer
            .pieces
            .iter()
            .map(|p| chunk(p, Value::Null, None))
            .collect(),
        tail: vec![
            chunk("", finish.into(), Some(usage.json())),
            SSE_DONE.to_owned(),
        ],
    };
    let full = json!({
        "id": id, "object": "text_completion", "created": created, "model": model,
        "choices": [{"text": answer.text, "index": 0, "logprobs": null, "finish_reason": finish}],
        "usage": usage.json(),
    });
    Plan {
        stream: body["stream"].as_bool().unwrap_or(false),
        new_prompt_tokens: usage.prompt,
        output_tokens: answer.pieces.len(),
        script,
        content_type: "text/event-stream",
        full,
        malformed: SSE_MALFORMED,
        store_as: None,
    }
}
