//! Non-OpenAI wire formats: llama.cpp `POST /infill` and `POST /completion` (SSE
//! `{content, stop}`), Ollama `POST /api/generate` (NDJSON) and Anthropic `POST /v1/messages`
//! (named SSE events).

use serde_json::{Value, json};

use super::config::Endpoint;
use super::plan::{Plan, PlanCtx, sse_data, sse_named, stop_list};
use super::responses::content_text;
use super::stream::{Script, rfc3339_now};
use super::text::{Answer, Finish, Limits, PromptText, estimate_tokens};

/// `POST /infill`: prefix = `input_prefix` + `prompt` (the start of the middle already typed);
/// `POST /completion`: `prompt` alone.
pub(crate) fn llama_infill(ctx: &mut PlanCtx<'_>, body: &Value) -> Plan {
    let input_prefix = body["input_prefix"].as_str().unwrap_or_default();
    let typed = body["prompt"].as_str().unwrap_or_default();
    let suffix = body["input_suffix"].as_str().unwrap_or_default();
    let extra: String = body["input_extra"]
        .as_array()
        .map(|chunks| {
            chunks
                .iter()
                .map(|c| {
                    format!(
                        "{}\n{}",
                        c["filename"].as_str().unwrap_or_default(),
                        c["text"].as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    // The order llama.cpp lays the prompt out in, so the connection's prefix cache behaves
    // like its KV cache: extra context first, the middle last. `/completion` continues its
    // `prompt` as it is.
    let raw = ctx.endpoint == Endpoint::LlamaCompletion;
    let full_prompt = if raw {
        typed.to_owned()
    } else {
        format!("{extra}<PRE>{input_prefix}<SUF>{suffix}<MID>{typed}")
    };
    let prompt_tokens = estimate_tokens(&full_prompt);
    let cached = if body["cache_prompt"].as_bool().unwrap_or(true) {
        ctx.cached_prefix_tokens(&full_prompt).min(prompt_tokens)
    } else {
        0
    };
    let n_predict = body["n_predict"].as_i64();
    let limits = Limits {
        max_tokens: ctx.max_tokens(body, &["n_predict"]),
        stop: stop_list(&body["stop"]),
    };
    let answer = if n_predict == Some(0) {
        // Cache warm-up: no scripted answer is consumed.
        Answer {
            pieces: Vec::new(),
            text: String::new(),
            finish: Finish::Length,
        }
    } else {
        let suffix = (!raw).then(|| suffix.to_owned());
        ctx.answer(
            &PromptText::fim(format!("{input_prefix}{typed}"), suffix),
            &limits,
        )
    };
    let new_tokens = prompt_tokens - cached;
    let cost = ctx.shared.config.cost;
    let prompt_ms = cost.time_to_first_token(new_tokens).as_secs_f64() * 1000.0;
    let predicted_ms = cost.token_offset(answer.pieces.len()).as_secs_f64() * 1000.0;
    let (stop_type, stopping_word) = match &answer.finish {
        Finish::End => ("eos", String::new()),
        Finish::Length => ("limit", String::new()),
        Finish::Stop(word) => ("word", word.clone()),
    };
    let model = ctx.model(body);
    let last = |content: &str| {
        json!({
            "content": content, "stop": true, "id_slot": 0, "index": 0, "tokens": [], "model": model,
            "stop_type": stop_type, "stopping_word": stopping_word, "tokens_cached": cached,
            "tokens_evaluated": prompt_tokens, "tokens_predicted": answer.pieces.len(), "truncated": false,
            "timings": {
                "cache_n": cached, "prompt_n": new_tokens, "prompt_ms": prompt_ms,
                "prompt_per_second": per_second(new_tokens as f64, prompt_ms),
                "predicted_n": answer.pieces.len(), "predicted_ms": predicted_ms,
                "predicted_per_second": per_second(answer.pieces.len() as f64, predicted_ms),
            },
        })
    };
    let script = Script {
        head: Vec::new(),
        first: Vec::new(),
        tokens: answer
            .pieces
            .iter()
            .map(|p| {
                sse_data(
                    &json!({"content": p, "stop": false, "id_slot": 0, "index": 0, "tokens": []}),
                )
            })
            .collect(),
        tail: vec![sse_data(&last(""))],
    };
    Plan {
        stream: body["stream"].as_bool().unwrap_or(false),
        new_prompt_tokens: new_tokens,
        output_tokens: answer.pieces.len(),
        script,
        content_type: "text/event-stream",
        full: last(&answer.text),
        malformed: "data: {\"content\": \n\n",
        store_as: None,
    }
}

fn per_second(count: f64, ms: f64) -> f64 {
    if ms > 0.0 { count * 1000.0 / ms } else { 0.0 }
}

/// `POST /api/generate` (Ollama): NDJSON, one object per line; streams unless `stream:false`.
pub(crate) fn ollama_generate(ctx: &mut PlanCtx<'_>, body: &Value) -> Plan {
    let prompt = body["prompt"].as_str().unwrap_or_default();
    let suffix = body["suffix"].as_str().map(str::to_owned);
    let options = &body["options"];
    let limits = Limits {
        max_tokens: ctx.max_tokens(options, &["num_predict"]),
        stop: stop_list(&options["stop"]),
    };
    let answer = ctx.answer(&PromptText::fim(prompt, suffix.clone()), &limits);
    let prompt_tokens =
        estimate_tokens(prompt) + estimate_tokens(suffix.as_deref().unwrap_or_default());
    let cost = ctx.shared.config.cost;
    let prompt_ns = cost.time_to_first_token(prompt_tokens).as_nanos() as u64;
    let eval_ns = cost.token_offset(answer.pieces.len()).as_nanos() as u64;
    let model = ctx.model(body);
    let done_reason = if answer.finish == Finish::Length {
        "length"
    } else {
        "stop"
    };
    let last = |response: &str| {
        json!({
            "model": model, "created_at": rfc3339_now(), "response": response, "done": true,
            "done_reason": done_reason, "context": [], "total_duration": prompt_ns + eval_ns,
            "load_duration": 0, "prompt_eval_count": prompt_tokens, "prompt_eval_duration": prompt_ns,
            "eval_count": answer.pieces.len(), "eval_duration": eval_ns,
        })
    };
    let line = |v: Value| format!("{v}\n");
    let script = Script {
        head: Vec::new(),
        first: Vec::new(),
        tokens: answer
            .pieces
            .iter()
            .map(|p| line(json!({"model": model, "created_at": rfc3339_now(), "response": p, "done": false})))
            .collect(),
        tail: vec![line(last(""))],
    };
    Plan {
        stream: body["stream"].as_bool().unwrap_or(true),
        new_prompt_tokens: prompt_tokens,
        output_tokens: answer.pieces.len(),
        script,
        content_type: "application/x-ndjson",
        full: last(&answer.text),
        malformed: "{\"response\": \n",
        store_as: None,
    }
}

/// `POST /v1/messages` (Anthropic): `message_start`, a `ping`, one text block, `message_delta`
/// with the stop reason and usage, `message_stop`.
pub(crate) fn anthropic_messages(ctx: &mut PlanCtx<'_>, body: &Value) -> Plan {
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    let system = content_text(&body["system"]);
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
        max_tokens: ctx.max_tokens(body, &["max_tokens"]),
        stop: stop_list(&body["stop_sequences"]),
    };
    let prompt = PromptText::from_chat(&last_user).with_whole(format!("{system}{counted}"));
    let answer = ctx.answer(&prompt, &limits);
    let input_tokens = estimate_tokens(&system) + estimate_tokens(&counted);
    let (stop_reason, stop_sequence) = match &answer.finish {
        Finish::End => ("end_turn", Value::Null),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::Stop(s) => ("stop_sequence", Value::from(s.clone())),
    };
    let id = ctx.shared.new_id("msg_");
    let model = ctx.model(body);
    let usage = |output: u64| json!({"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": output});
    let message = |content: Value, stop_reason: Value, stop_sequence: Value, output: u64| {
        json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": stop_reason, "stop_sequence": stop_sequence, "usage": usage(output),
        })
    };
    let named = |v: Value| sse_named(&v);
    let script = Script {
        head: vec![
            named(json!({"type": "message_start", "message": message(json!([]), Value::Null, Value::Null, 1)})),
            named(json!({"type": "ping"})),
        ],
        first: vec![named(json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))],
        tokens: answer
            .pieces
            .iter()
            .map(|p| named(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})))
            .collect(),
        tail: vec![
            named(json!({"type": "content_block_stop", "index": 0})),
            named(json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
                "usage": {"output_tokens": answer.output_tokens()},
            })),
            named(json!({"type": "message_stop"})),
        ],
    };
    let full = message(
        json!([{"type": "text", "text": answer.text}]),
        stop_reason.into(),
        stop_sequence.clone(),
        answer.output_tokens(),
    );
    Plan {
        stream: body["stream"].as_bool().unwrap_or(false),
        new_prompt_tokens: input_tokens,
        output_tokens: answer.pieces.len(),
        script,
        content_type: "text/event-stream",
        full,
        malformed: "event: content_block_delta\ndata: {\"type\": \n\n",
        store_as: None,
    }
}
