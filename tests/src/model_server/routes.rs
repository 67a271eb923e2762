//! One connection's HTTP loop: read requests (keep-alive), record them, apply handshake and
//! request faults, check the key, route to an endpoint and play its plan; hand the socket to
//! [`super::ws`] on a WebSocket upgrade.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tokio::time::{sleep, sleep_until};

use super::config::{Endpoint, Fault, RecordedRequest};
use super::http::{Conn, Io, Request, Respond};
use super::plan::{HttpError, Plan, PlanCtx, sse_data, sse_named};
use super::reasoning;
use super::responses::{ApiError, responses_http};
use super::state::Shared;
use super::stream::{FrameSink, Played, Schedule, StreamFaults, play};
use super::{chat, native, ws};

pub(crate) async fn serve_connection(shared: Arc<Shared>, conn_id: u64, io: Box<dyn Io>) {
    if let Err(error) = serve(shared, conn_id, Conn::new(io)).await {
        tracing::debug!(conn_id, "model server connection ended: {error:#}");
    }
}

fn route(request: &Request) -> Endpoint {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v1/responses") if request.is_websocket_upgrade() => Endpoint::WebSocketHandshake,
        ("POST", "/v1/responses") => Endpoint::ResponsesHttp,
        ("POST", "/v1/chat/completions") => Endpoint::ChatCompletions,
        ("POST", "/infill") => Endpoint::LlamaInfill,
        ("POST", "/completion") => Endpoint::LlamaCompletion,
        ("POST", "/v1/completions") => Endpoint::Completions,
        ("POST", "/api/generate") => Endpoint::OllamaGenerate,
        ("POST", "/v1/fim/completions") => Endpoint::CodestralFim,
        ("POST", "/beta/completions") => Endpoint::DeepSeekFim,
        ("POST", "/v1/messages") => Endpoint::AnthropicMessages,
        _ => Endpoint::Other,
    }
}

async fn serve(shared: Arc<Shared>, conn_id: u64, mut conn: Conn) -> anyhow::Result<()> {
    let mut first = true;
    let mut last_prompt = String::new();
    while let Some(request) = conn.read_request().await? {
        let keep_alive = request.keep_alive;
        let mut exchange = Exchange {
            shared: &shared,
            conn_id,
            first: std::mem::take(&mut first),
            last_prompt: &mut last_prompt,
        };
        match exchange.handle(&mut conn, &request).await? {
            Next::Upgrade => return ws::serve(shared, conn_id, conn, request).await,
            Next::Close => return Ok(()),
            Next::Continue if !keep_alive => return Ok(()),
            Next::Continue => {}
        }
    }
    Ok(())
}

/// What the connection does after one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    Continue,
    /// A drop fault fired: close without finishing.
    Close,
    /// Hand the connection to the WebSocket server.
    Upgrade,
}

/// One request on a connection (HTTP/1.1) or stream (HTTP/2).
pub(crate) struct Exchange<'a> {
    pub shared: &'a Arc<Shared>,
    pub conn_id: u64,
    /// The connection's first request (a slow-handshake fault applies to it).
    pub first: bool,
    pub last_prompt: &'a mut String,
}

impl Exchange<'_> {
    /// Records `request`, applies the handshake fault, checks the key and answers it through
    /// `conn`, except a WebSocket upgrade, which the caller performs.
    pub async fn handle(&mut self, conn: &mut impl Respond, request: &Request) -> io::Result<Next> {
        let shared = self.shared;
        let received_at = Instant::now();
        let endpoint = route(request);
        let body: Option<Value> = if request.body.is_empty() {
            Some(Value::Null)
        } else {
            serde_json::from_slice(&request.body).ok()
        };
        shared.record(RecordedRequest {
            endpoint,
            connection_id: self.conn_id,
            stream_id: None,
            headers: request.headers.clone(),
            body: body.clone().unwrap_or(Value::Null),
            received_at,
        });
        if self.first
            && let Some(Fault::SlowHandshake(delay)) =
                shared.take_fault(endpoint, |f| matches!(f, Fault::SlowHandshake(_)))
        {
            sleep(delay).await;
        }
        let keep_alive = request.keep_alive;
        if !authorized(shared, endpoint, request) {
            let error = ApiError {
                status: 401,
                kind: "invalid_request_error",
                code: "invalid_api_key",
                message: "incorrect API key provided".to_owned(),
                param: None,
                headers: Vec::new(),
            };
            write_error(conn, &HttpError::new(endpoint, &error), keep_alive).await?;
            return Ok(Next::Continue);
        }
        if endpoint == Endpoint::WebSocketHandshake {
            if shared
                .take_fault(endpoint, |f| *f == Fault::UpgradeRequired)
                .is_none()
            {
                return Ok(Next::Upgrade);
            }
            let error = ApiError {
                status: 426,
                ..ApiError::invalid(
                    "upgrade_required",
                    "websocket mode is not available; use HTTP",
                    None,
                )
            };
            write_error(conn, &HttpError::new(endpoint, &error), keep_alive).await?;
            return Ok(Next::Continue);
        }
        let Some(body) = body else {
            let error = ApiError::invalid("invalid_json", "request body is not valid JSON", None);
            write_error(conn, &HttpError::new(endpoint, &error), keep_alive).await?;
            return Ok(Next::Continue);
        };
        let mut ctx = PlanCtx {
            shared,
            endpoint,
            last_prompt: self.last_prompt,
        };
        Ok(
            match respond(conn, &mut ctx, request, &body, received_at).await? {
                Played::Dropped => Next::Close,
                _ => Next::Continue,
            },
        )
    }
}

fn authorized(shared: &Shared, endpoint: Endpoint, request: &Request) -> bool {
    let Some(key) = &shared.config.api_key else {
        return true;
    };
    match endpoint {
        Endpoint::AnthropicMessages => request.header("x-api-key") == Some(key.as_str()),
        // Ollama has no keys; helper routes are open.
        Endpoint::OllamaGenerate | Endpoint::Other => true,
        _ => request.header("authorization") == Some(format!("Bearer {key}").as_str()),
    }
}

async fn write_error(
    conn: &mut impl Respond,
    error: &HttpError,
    keep_alive: bool,
) -> io::Result<()> {
    conn.write_json(error.status, &error.headers, &error.body, keep_alive)
        .await
}

async fn respond(
    conn: &mut impl Respond,
    ctx: &mut PlanCtx<'_>,
    request: &Request,
    body: &Value,
    received_at: Instant,
) -> io::Result<Played> {
    let keep_alive = request.keep_alive;
    if matches!(
        ctx.endpoint,
        Endpoint::WebSocketHandshake | Endpoint::ResponsesWebSocket | Endpoint::Other
    ) {
        // Helper routes (`/v1/models`, `/health`) never consume faults.
        return helper_route(conn, ctx, request)
            .await
            .map(|()| Played::Complete);
    }
    let fault = ctx.shared.take_request_fault(ctx.endpoint);
    let fault_error = match &fault {
        Some(Fault::Stall(delay)) => {
            sleep(*delay).await;
            None
        }
        Some(Fault::RateLimited { retry_after_secs }) => {
            Some(ApiError::rate_limited(*retry_after_secs))
        }
        Some(Fault::ServerError(status)) => Some(ApiError::server(*status)),
        _ => None,
    };
    let reasoning_model = ctx.shared.config.reasoning.as_ref();
    let hidden = match (
        fault_error,
        reasoning::thinking_tokens(reasoning_model, ctx.endpoint, body),
    ) {
        (None, Ok(hidden)) => hidden,
        (Some(error), _) | (None, Err(error)) => {
            write_error(conn, &HttpError::new(ctx.endpoint, &error), keep_alive).await?;
            return Ok(Played::Complete);
        }
    };
    ctx.shared.thought(hidden);
    let plan = match ctx.endpoint {
        Endpoint::ResponsesHttp => responses_http(ctx, body),
        Endpoint::ChatCompletions => Ok(chat::chat_completions(ctx, body)),
        Endpoint::CodestralFim => Ok(chat::codestral_fim(ctx, body)),
        Endpoint::DeepSeekFim | Endpoint::Completions => Ok(chat::deepseek_fim(ctx, body)),
        Endpoint::LlamaInfill | Endpoint::LlamaCompletion => Ok(native::llama_infill(ctx, body)),
        Endpoint::OllamaGenerate => Ok(native::ollama_generate(ctx, body)),
        Endpoint::AnthropicMessages => Ok(native::anthropic_messages(ctx, body)),
        // Handled above; answered 404 if that ever changes.
        Endpoint::WebSocketHandshake | Endpoint::ResponsesWebSocket | Endpoint::Other => {
            let error = ApiError::invalid("not_found", "no such route", None);
            Err(HttpError::new(
                ctx.endpoint,
                &ApiError {
                    status: 404,
                    ..error
                },
            ))
        }
    };
    let plan = match plan {
        Ok(plan) => plan,
        Err(error) => {
            write_error(conn, &error, keep_alive).await?;
            return Ok(Played::Complete);
        }
    };
    let mut faults = StreamFaults::from_fault(fault.as_ref());
    if let Some(Fault::StreamError { after_tokens }) = fault {
        let script = &plan.script;
        let at = after_tokens.min(script.tokens.len());
        let sequence_number = (script.head.len() + script.first.len() + at) as u64;
        faults.error_after = Some((at, stream_error_frame(ctx.endpoint, sequence_number)));
    }
    let schedule = Schedule::new(ctx.shared.config.cost, received_at, plan.new_prompt_tokens)
        .after_thinking(hidden);
    let played = play_plan(conn, ctx.endpoint, &plan, schedule, &faults, keep_alive).await?;
    if played == Played::Complete {
        ctx.shared.finished(Instant::now());
    }
    if played == Played::Complete
        && let Some((id, context_tokens)) = &plan.store_as
    {
        ctx.shared.store_response(id, *context_tokens);
    }
    Ok(played)
}

struct ChunkSink<'a, R> {
    conn: &'a mut R,
}

impl<R: Respond> FrameSink for ChunkSink<'_, R> {
    async fn send(&mut self, frame: String) -> io::Result<()> {
        self.conn.write_chunk(frame.as_bytes()).await
    }
}

async fn play_plan(
    conn: &mut impl Respond,
    endpoint: Endpoint,
    plan: &Plan,
    schedule: Schedule,
    faults: &StreamFaults,
    keep_alive: bool,
) -> io::Result<Played> {
    if plan.stream {
        conn.start_chunked(plan.content_type, keep_alive).await?;
        let script = plan.script.clone();
        let played = play(
            &mut ChunkSink { conn },
            script,
            schedule,
            faults,
            plan.malformed,
        )
        .await?;
        if played != Played::Dropped {
            conn.end_chunks().await?;
        }
        return Ok(played);
    }
    sleep_until(schedule.done_at(plan.output_tokens).into()).await;
    if faults.error_after.is_some() {
        let error = HttpError::new(endpoint, &ApiError::server(500));
        write_error(conn, &error, keep_alive).await?;
        return Ok(Played::Errored);
    }
    if faults.drop_after.is_some() {
        return Ok(Played::Dropped);
    }
    if faults.malformed {
        let body = plan.malformed.as_bytes();
        conn.write_full(200, &[], "application/json", body, keep_alive)
            .await?;
        return Ok(Played::Complete);
    }
    conn.write_json(200, &[], &plan.full, keep_alive).await?;
    Ok(Played::Complete)
}

/// `GET /v1/models`, llama.cpp's `GET /health`, and 404 for everything else.
async fn helper_route(
    conn: &mut impl Respond,
    ctx: &PlanCtx<'_>,
    request: &Request,
) -> io::Result<()> {
    let keep_alive = request.keep_alive;
    let model = &ctx.shared.config.model;
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v1/models") => {
            let body = json!({"object": "list", "data": [{"id": model, "object": "model", "created": 0, "owned_by": "spark"}]});
            conn.write_json(200, &[], &body, keep_alive).await
        }
        ("GET", "/health") => {
            conn.write_json(200, &[], &json!({"status": "ok"}), keep_alive)
                .await
        }
        (method, path) => {
            let message = format!("no route for {method} {path}");
            let error = ApiError {
                status: 404,
                ..ApiError::invalid("not_found", message, None)
            };
            write_error(conn, &HttpError::new(Endpoint::Other, &error), keep_alive).await
        }
    }
}

/// The in-stream error event of `endpoint`'s protocol.
fn stream_error_frame(endpoint: Endpoint, sequence_number: u64) -> String {
    let error = ApiError::server(500);
    match endpoint {
        Endpoint::ResponsesHttp => sse_named(&error.sse_event(sequence_number)),
        Endpoint::AnthropicMessages => sse_named(&json!({
            "type": "error",
            "error": {"type": "overloaded_error", "message": "overloaded (injected)"},
        })),
        Endpoint::OllamaGenerate => format!("{}\n", json!({"error": error.message})),
        _ => sse_data(&error.http_body()),
    }
}
