//! The JSON-RPC transport on the client's byte streams, in place of tower-lsp-server's `Server`.
//!
//! tower-lsp-server's own reader ends the whole stream on its first decoding error (the server
//! exits on a float id, a batch, bad UTF-8, a charset-less `Content-Type`...), and waits for more
//! input after an empty body. So the server keeps tower-lsp-server's `LspService` (routing,
//! lifecycle, the client handle) and drives it from this module:
//!
//! ```text
//! input ─▶ frame::FrameReader ─body─▶ message::decode ─Request──▶ service.call ─▶ handlers ─┐
//!          (resync on garbage)          │   └─Response─▶ client socket (pending requests)    │
//!                                       └─Invalid─▶ error response ─┐    server requests ─┐ │
//!                                                                   ▼                     ▼ ▼
//!                                              writer::write_frames (the only writer) ─▶ output
//! ```
//!
//! Each body is decoded once, straight into the message (a `didChange` is not copied again), and
//! every handler future runs under `catch_unwind`: a panic answers its request with -32603
//! (Internal error) and the server goes on. Serving ends at `exit`, at end of input, or when
//! `stop` is cancelled (the editor process is gone).

mod frame;
mod header;
mod marker;
mod message;
mod writer;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_frames;

pub use frame::MAX_BODY_BYTES;

use frame::FrameReader;
use message::{Decoded, decode};

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;

use futures_util::{FutureExt, SinkExt, StreamExt, stream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower::Service;
use tower_lsp_server::ClientSocket;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};

use writer::Outgoing;

/// Handler futures waiting for a slot (tower-lsp-server's own queue size).
const HANDLER_QUEUE: usize = 100;
/// Messages waiting for the writer.
const OUTPUT_QUEUE: usize = 64;

/// Serves `service` on `input`/`output` until `exit`, end of input, or `stop`. At most
/// `concurrency` handler futures are polled at once.
pub async fn serve<I, O, S>(
    input: I,
    output: O,
    mut service: S,
    socket: ClientSocket,
    concurrency: usize,
    stop: CancellationToken,
) where
    I: AsyncRead + Unpin,
    O: AsyncWrite,
    S: Service<Request, Response = Option<Response>>,
{
    let (client_requests, mut client_responses) = socket.split();
    let (out_tx, out_rx) = mpsc::channel::<Outgoing>(OUTPUT_QUEUE);
    let (task_tx, task_rx) = mpsc::channel(HANDLER_QUEUE);
    let handled = CancellationToken::new();

    let errors_tx = out_tx.clone();
    let reading = async move {
        let mut frames = FrameReader::new(input);
        while let Some(body) = frames.next().await {
            // Bodies are not logged: settings sent by the editor may hold header values.
            let bytes = body.len();
            match decode(body) {
                Decoded::Request(request) => {
                    tracing::trace!(method = request.method(), id = ?request.id(), bytes, "<-");
                    // Not ready means the service has exited (after `exit`).
                    if poll_fn(|cx| service.poll_ready(cx)).await.is_err() {
                        break;
                    }
                    let exit = request.method() == "exit";
                    let id = request.id().cloned();
                    let method = request.method().to_owned();
                    let task = guarded(service.call(request), id, method);
                    if task_tx.send(task).await.is_err() || exit {
                        break;
                    }
                }
                Decoded::Response(response) => {
                    if client_responses.send(response).await.is_err() {
                        break;
                    }
                }
                Decoded::Invalid(error) => {
                    if let Some(e) = error.error() {
                        let code = e.code.code();
                        tracing::warn!(code, bytes, "answered an invalid message: {}", e.message);
                    }
                    if errors_tx.send(Outgoing::Response(error)).await.is_err() {
                        break;
                    }
                }
            }
        }
    };

    let responses_tx = out_tx.clone();
    let handling = async move {
        let tasks = stream::unfold(task_rx, |mut rx| async move {
            rx.recv().await.map(|task| (task, rx))
        });
        let mut responses = std::pin::pin!(tasks.buffer_unordered(concurrency));
        while let Some(response) = responses.next().await {
            if let Some(response) = response {
                // A closed output means the client is gone; the handlers still finish.
                let _ = responses_tx.send(Outgoing::Response(response)).await;
            }
        }
    };

    let handlers_done = handled.clone();
    let forwarding = async move {
        // The client handle lives as long as the server, so its request stream only ends at
        // `exit`; after end of input it ends once the handlers that might still use it are done.
        let requests = client_requests.take_until(handlers_done.cancelled());
        let mut requests = std::pin::pin!(requests);
        while let Some(request) = requests.next().await {
            if out_tx.send(Outgoing::Request(request)).await.is_err() {
                break;
            }
        }
    };

    let pipeline = async move {
        tokio::join!(reading, handling);
        handled.cancel();
    };
    // Serving ends at `exit`, end of input or `stop`. Then the frames already queued are written
    // whole (a frame cut off by the exit would be garbage on the client's side), but never
    // waiting long on a client that stopped reading.
    let served = CancellationToken::new();
    let serving = async {
        tokio::select! {
            _ = async { tokio::join!(pipeline, forwarding) } => {}
            () = stop.cancelled() => tracing::info!("stopped serving"),
        }
        // The senders went with the pipeline: the writer ends once the queue is empty.
        served.cancel();
    };
    let writing = async {
        let frames = writer::write_frames(output, out_rx);
        let mut frames = std::pin::pin!(frames);
        tokio::select! {
            () = &mut frames => {}
            () = served.cancelled() => {
                if tokio::time::timeout(FLUSH_GRACE, frames).await.is_err() {
                    tracing::warn!("the client did not read the last frames; exiting without them");
                }
            }
        }
    };
    // One task polls everything, as in tower-lsp-server: handlers need no spawning (nor
    // 'static I/O), and the reader's `poll_ready` is polled again whenever a handler progresses.
    tokio::join!(serving, writing);
}

/// How long the frames queued when serving ends may take to write.
const FLUSH_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs a handler future, turning a panic into an Internal error for its request.
fn guarded<F, E>(
    handler: F,
    id: Option<Id>,
    method: String,
) -> impl Future<Output = Option<Response>>
where
    F: Future<Output = Result<Option<Response>, E>>,
{
    AssertUnwindSafe(handler)
        .catch_unwind()
        .map(move |outcome| match outcome {
            Ok(Ok(response)) => response,
            // The service has exited; there is nobody left to answer.
            Ok(Err(_)) => None,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .copied()
                    .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a non-string payload");
                tracing::error!(method, "a handler panicked: {what}");
                let error = Error {
                    code: ErrorCode::InternalError,
                    message: format!("internal error in {method}; see the server log").into(),
                    data: None,
                };
                id.map(|id| Response::from_error(id, error))
            }
        })
}
