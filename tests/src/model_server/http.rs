//! Hand-rolled HTTP/1.1 for the model server: read a request (request line, headers,
//! `Content-Length` body) from a buffered connection, and write fixed-length or chunked
//! responses. Enough for keep-alive, streaming and the WebSocket upgrade; nothing more.

use std::io;

use anyhow::{Context, bail};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Any byte stream the server can talk over (plain TCP or TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

const MAX_HEAD_BYTES: usize = 64 * 1024;
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// A connection with its read buffer; bytes past the current request stay buffered.
pub struct Conn {
    pub io: Box<dyn Io>,
    pub buf: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Lowercased names, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub keep_alive: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_websocket_upgrade(&self) -> bool {
        self.method == "GET"
            && self
                .header("upgrade")
                .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
    }
}

impl Conn {
    pub fn new(io: Box<dyn Io>) -> Self {
        Self {
            io,
            buf: Vec::new(),
        }
    }

    /// Reads one request; `Ok(None)` on a clean EOF between requests.
    pub async fn read_request(&mut self) -> anyhow::Result<Option<Request>> {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                bail!("request head too large");
            }
            if self.fill().await? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                bail!("connection closed inside a request head");
            }
        };
        let head = String::from_utf8(self.buf[..head_end].to_vec()).context("non-UTF-8 head")?;
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            bail!("bad request line {request_line:?}");
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let connection = headers
            .iter()
            .find(|(n, _)| n == "connection")
            .map(|(_, v)| v.as_str());
        let keep_alive = match connection {
            Some(v) if v.eq_ignore_ascii_case("close") => false,
            Some(v) if v.to_ascii_lowercase().contains("keep-alive") => true,
            _ => version == "HTTP/1.1",
        };
        let length: usize = match headers.iter().find(|(n, _)| n == "content-length") {
            Some((_, v)) => v.parse().context("bad content-length")?,
            None => 0,
        };
        if length > MAX_BODY_BYTES {
            bail!("request body too large");
        }
        // curl sends `Expect: 100-continue` for larger bodies and waits for this line.
        let expects_continue = headers
            .iter()
            .any(|(n, v)| n == "expect" && v.eq_ignore_ascii_case("100-continue"));
        if expects_continue && self.buf.len() < length {
            self.io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
            self.io.flush().await?;
        }
        while self.buf.len() < length {
            if self.fill().await? == 0 {
                bail!("connection closed inside a request body");
            }
        }
        let body = self.buf.drain(..length).collect();
        let path = target.split('?').next().unwrap_or_default().to_owned();
        Ok(Some(Request {
            method: method.to_owned(),
            path,
            headers,
            body,
            keep_alive,
        }))
    }

    async fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

fn status_line(status: u16) -> String {
    format!("HTTP/1.1 {status} {}\r\n", reason(status))
}

fn push_headers(head: &mut String, headers: &[(&str, String)]) {
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
}

fn connection_header(keep_alive: bool) -> &'static str {
    if keep_alive {
        "connection: keep-alive\r\n"
    } else {
        "connection: close\r\n"
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where one response goes: an HTTP/1.1 connection ([`Conn`]) or an HTTP/2 stream
/// (`super::h2`). `keep_alive` only matters to HTTP/1.1.
pub(crate) trait Respond: Send {
    fn write_full(
        &mut self,
        status: u16,
        headers: &[(&str, String)],
        content_type: &str,
        body: &[u8],
        keep_alive: bool,
    ) -> impl Future<Output = io::Result<()>> + Send;

    fn write_json(
        &mut self,
        status: u16,
        headers: &[(&str, String)],
        body: &serde_json::Value,
        keep_alive: bool,
    ) -> impl Future<Output = io::Result<()>> + Send {
        let bytes = body.to_string().into_bytes();
        async move {
            self.write_full(status, headers, "application/json", &bytes, keep_alive)
                .await
        }
    }

    /// Starts a streamed response; follow with `write_chunk` and `end_chunks`.
    fn start_chunked(
        &mut self,
        content_type: &str,
        keep_alive: bool,
    ) -> impl Future<Output = io::Result<()>> + Send;

    fn write_chunk(&mut self, data: &[u8]) -> impl Future<Output = io::Result<()>> + Send;

    fn end_chunks(&mut self) -> impl Future<Output = io::Result<()>> + Send;
}

/// HTTP/1.1: `Content-Length` or `Transfer-Encoding: chunked` bodies.
impl Respond for Conn {
    /// Writes a complete response with a `Content-Length` body.
    async fn write_full(
        &mut self,
        status: u16,
        headers: &[(&str, String)],
        content_type: &str,
        body: &[u8],
        keep_alive: bool,
    ) -> io::Result<()> {
        let mut head = status_line(status);
        push_headers(&mut head, headers);
        head.push_str(&format!(
            "content-type: {content_type}\r\ncontent-length: {}\r\n",
            body.len()
        ));
        head.push_str(connection_header(keep_alive));
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.io.write_all(&bytes).await?;
        self.io.flush().await
    }

    /// Starts a `Transfer-Encoding: chunked` response; follow with `write_chunk` and `end_chunks`.
    async fn start_chunked(&mut self, content_type: &str, keep_alive: bool) -> io::Result<()> {
        let mut head = status_line(200);
        head.push_str(&format!(
            "content-type: {content_type}\r\ncache-control: no-cache\r\n"
        ));
        head.push_str("transfer-encoding: chunked\r\n");
        head.push_str(connection_header(keep_alive));
        head.push_str("\r\n");
        self.io.write_all(head.as_bytes()).await?;
        self.io.flush().await
    }

    async fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"\r\n");
        self.io.write_all(&bytes).await?;
        self.io.flush().await
    }

    async fn end_chunks(&mut self) -> io::Result<()> {
        self.io.write_all(b"0\r\n\r\n").await?;
        self.io.flush().await
    }
}
