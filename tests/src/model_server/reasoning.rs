//! The reference server as a reasoning model: with `ModelServerConfig::reasoning`, an answer
//! spends hidden thinking tokens (decoded at the model's rate, never shown) before its first
//! visible token, unless the request switches thinking off in its wire's words:
//! Responses `reasoning.effort` `none`/`minimal`; Chat Completions `reasoning_effort`
//! `none`/`minimal` or `chat_template_kwargs.enable_thinking: false` (llama.cpp, vLLM); Ollama
//! `think: false`. Efforts a model does not take are refused with OpenAI's 400.

use serde_json::Value;

use super::config::{Endpoint, ReasoningModel};
use super::responses::ApiError;

/// The hidden tokens a request costs, or the 400 for an effort the model does not take.
pub(crate) fn thinking_tokens(
    model: Option<&ReasoningModel>,
    endpoint: Endpoint,
    body: &Value,
) -> Result<u64, ApiError> {
    let Some(model) = model else {
        return Ok(0);
    };
    let effort = match endpoint {
        Endpoint::ResponsesHttp | Endpoint::ResponsesWebSocket => {
            body["reasoning"]["effort"].as_str()
        }
        Endpoint::ChatCompletions => body["reasoning_effort"].as_str(),
        _ => None,
    };
    if let Some(effort) = effort
        && !model.efforts.iter().any(|e| e == effort)
    {
        let supported = model.efforts.join("', '");
        let message = format!(
            "Unsupported value: 'reasoning.effort' does not support '{effort}' with this model. Supported values are: '{supported}'."
        );
        return Err(ApiError::invalid(
            "unsupported_value",
            message,
            Some("reasoning.effort"),
        ));
    }
    let switched_off = matches!(effort, Some("none" | "minimal"))
        || body["chat_template_kwargs"]["enable_thinking"] == false
        || (endpoint == Endpoint::OllamaGenerate && body["think"] == false);
    let thinks = matches!(
        endpoint,
        Endpoint::ResponsesHttp
            | Endpoint::ResponsesWebSocket
            | Endpoint::ChatCompletions
            | Endpoint::OllamaGenerate
    );
    Ok(if thinks && !switched_off {
        model.hidden_tokens
    } else {
        0
    })
}
