//! The only writer of the server's output: whole frames, one message at a time, in the order
//! they were queued. Nothing else may hold the output, so frames never interleave.

use serde::Serialize;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tower_lsp_server::jsonrpc::{Request, Response};

/// A message for the client.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Outgoing {
    /// An answer to the client's request, or the error for an invalid message.
    Response(Response),
    /// A request or notification from the server.
    Request(Request),
}

/// Writes every queued message until all senders are gone, flushing whenever the queue is empty.
/// A failed write (the client closed its end) stops writing; senders then see a closed channel.
pub async fn write_frames<O: AsyncWrite>(output: O, mut queue: mpsc::Receiver<Outgoing>) {
    let output = std::pin::pin!(output);
    let mut output = BufWriter::new(output);
    let mut body = Vec::new();
    while let Some(message) = queue.recv().await {
        body.clear();
        if let Err(err) = serde_json::to_writer(&mut body, &message) {
            tracing::error!("cannot encode a message for the client: {err}");
            continue;
        }
        tracing::trace!(bytes = body.len(), "->");
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        let written = async {
            output.write_all(header.as_bytes()).await?;
            output.write_all(&body).await?;
            if queue.is_empty() {
                output.flush().await?;
            }
            std::io::Result::Ok(())
        };
        if let Err(err) = written.await {
            tracing::warn!("cannot write to the client; no more output: {err}");
            return;
        }
    }
    if let Err(err) = output.flush().await {
        tracing::warn!("cannot write to the client: {err}");
    }
}
