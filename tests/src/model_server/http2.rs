//! HTTP/2 for the model server, as cloud endpoints serve it: negotiated by ALPN over TLS, or
//! spoken from the first byte (h2c with prior knowledge) on a plain socket. Each stream is one
//! request, answered by the same [`Exchange`] as HTTP/1.1 through [`Respond`]; a client that
//! drops a streamed answer resets its stream and the connection carries on. WebSocket over
//! HTTP/2 (RFC 8441) is not served: WebSocket clients negotiate HTTP/1.1.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use http::{HeaderName, HeaderValue, Response};

use super::http::{Io, Request, Respond};
use super::responses::ApiError;
use super::routes::{Exchange, Next};
use super::state::Shared;

/// What an h2c client sends first (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// Serves one HTTP/2 connection until the client closes it.
pub(crate) async fn serve_connection(shared: Arc<Shared>, conn_id: u64, io: Box<dyn Io>) {
    let mut connection = match h2::server::handshake(io).await {
        Ok(connection) => connection,
        Err(error) => {
            tracing::debug!(conn_id, "h2 handshake failed: {error}");
            return;
        }
    };
    shared
        .http2_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut first = true;
    while let Some(accepted) = connection.accept().await {
        let Ok((request, respond)) = accepted else {
            break;
        };
        let shared = shared.clone();
        let first = std::mem::take(&mut first);
        tokio::spawn(async move {
            if let Err(error) = serve_stream(&shared, conn_id, first, request, respond).await {
                tracing::debug!(conn_id, "h2 stream ended: {error:#}");
            }
        });
    }
}

async fn serve_stream(
    shared: &Arc<Shared>,
    conn_id: u64,
    first: bool,
    request: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
) -> anyhow::Result<()> {
    let (parts, mut body) = request.into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk?;
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
        anyhow::ensure!(bytes.len() <= MAX_BODY_BYTES, "request body too large");
    }
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let request = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers,
        body: bytes,
        keep_alive: true,
    };
    let mut out = H2Response {
        respond,
        body: None,
    };
    let mut last_prompt = String::new();
    let mut exchange = Exchange {
        shared,
        conn_id,
        first,
        last_prompt: &mut last_prompt,
    };
    match exchange.handle(&mut out, &request).await? {
        Next::Continue => {}
        Next::Close => out.reset(),
        Next::Upgrade => {
            let error = ApiError {
                status: 426,
                ..ApiError::invalid("upgrade_required", "websocket mode needs HTTP/1.1", None)
            };
            out.write_json(error.status, &[], &error.http_body(), true)
                .await?;
        }
    }
    Ok(())
}

/// One stream's response.
struct H2Response {
    respond: SendResponse<Bytes>,
    body: Option<SendStream<Bytes>>,
}

impl H2Response {
    fn head(
        status: u16,
        headers: &[(&str, String)],
        content_type: &str,
    ) -> io::Result<Response<()>> {
        let mut response = Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(())
            .map_err(io::Error::other)?;
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(io::Error::other)?;
            let value = HeaderValue::from_str(value).map_err(io::Error::other)?;
            response.headers_mut().insert(name, value);
        }
        Ok(response)
    }

    /// A drop fault: the stream ends without finishing (the connection stays).
    fn reset(&mut self) {
        match &mut self.body {
            Some(body) => body.send_reset(Reason::INTERNAL_ERROR),
            None => self.respond.send_reset(Reason::INTERNAL_ERROR),
        }
    }
}

impl Respond for H2Response {
    async fn write_full(
        &mut self,
        status: u16,
        headers: &[(&str, String)],
        content_type: &str,
        body: &[u8],
        _keep_alive: bool,
    ) -> io::Result<()> {
        let head = Self::head(status, headers, content_type)?;
        let mut stream = self
            .respond
            .send_response(head, body.is_empty())
            .map_err(io::Error::other)?;
        if !body.is_empty() {
            stream
                .send_data(Bytes::copy_from_slice(body), true)
                .map_err(io::Error::other)?;
        }
        Ok(())
    }

    async fn start_chunked(&mut self, content_type: &str, _keep_alive: bool) -> io::Result<()> {
        let no_cache = [("cache-control", "no-cache".to_owned())];
        let head = Self::head(200, &no_cache, content_type)?;
        let stream = self
            .respond
            .send_response(head, false)
            .map_err(io::Error::other)?;
        self.body = Some(stream);
        Ok(())
    }

    async fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        let Some(body) = &mut self.body else {
            return Err(io::Error::other("no streamed response started"));
        };
        if data.is_empty() {
            return Ok(());
        }
        // A client that dropped the answer reset the stream: sending fails, and the caller
        // stops playing this answer.
        body.send_data(Bytes::copy_from_slice(data), false)
            .map_err(io::Error::other)
    }

    async fn end_chunks(&mut self) -> io::Result<()> {
        match &mut self.body {
            Some(body) => body.send_data(Bytes::new(), true).map_err(io::Error::other),
            None => Ok(()),
        }
    }
}
