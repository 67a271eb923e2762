//! A minimal HTTP/1.1 client for raw-socket tests: write a request, read the response head,
//! then the body (`Content-Length`, chunked, or to EOF), chunk by chunk if wanted. Keeps the
//! connection for keep-alive; parses SSE and NDJSON bodies.

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// A response head.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    pub status: u16,
    /// Lowercased names.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    }
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct Response {
    pub head: ResponseHead,
    pub body: String,
}

impl Response {
    pub fn status(&self) -> u16 {
        self.head.status
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.header(name)
    }

    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("body is not JSON: {}", self.body))
    }

    pub fn sse(&self) -> Vec<SseEvent> {
        parse_sse(&self.body)
    }

    /// One JSON value per non-empty line (Ollama).
    pub fn ndjson(&self) -> anyhow::Result<Vec<Value>> {
        self.body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Ok(serde_json::from_str(l)?))
            .collect()
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.data)
            .with_context(|| format!("event data is not JSON: {}", self.data))
    }
}

/// Splits an SSE body into events (`event:` and `data:` fields; blank line ends an event).
pub fn parse_sse(text: &str) -> Vec<SseEvent> {
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let mut event = None;
        let mut data: Vec<&str> = Vec::new();
        for line in block.lines() {
            if let Some(value) = line.strip_prefix("event:") {
                event = Some(value.trim().to_owned());
            } else if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            }
        }
        if event.is_some() || !data.is_empty() {
            events.push(SseEvent {
                event,
                data: data.join("\n"),
            });
        }
    }
    events
}

/// One client connection.
#[derive(Debug)]
pub struct HttpClient<S = TcpStream> {
    io: S,
    buf: Vec<u8>,
    host: String,
}

impl HttpClient<TcpStream> {
    pub async fn connect(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let io = TcpStream::connect(addr).await?;
        Ok(Self::new(io, addr.to_string()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> HttpClient<S> {
    pub fn new(io: S, host: impl Into<String>) -> Self {
        Self {
            io,
            buf: Vec::new(),
            host: host.into(),
        }
    }

    /// Writes a request; `body` is sent as JSON with `Content-Length`.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> anyhow::Result<()> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            head.push_str(&format!(
                "content-type: application/json\r\ncontent-length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        head.push_str(&body);
        self.io.write_all(head.as_bytes()).await?;
        Ok(self.io.flush().await?)
    }

    /// `send` then read the whole response.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> anyhow::Result<Response> {
        self.send(method, path, headers, body).await?;
        let head = self.read_head().await?;
        let body = self.read_body(&head).await?;
        Ok(Response {
            head,
            body: String::from_utf8(body)?,
        })
    }

    pub async fn post_json(&mut self, path: &str, body: &Value) -> anyhow::Result<Response> {
        self.request("POST", path, &[], Some(body)).await
    }

    async fn fill(&mut self) -> anyhow::Result<usize> {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    async fn read_line(&mut self) -> anyhow::Result<String> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8(self.buf[..at].to_vec())?;
                self.buf.drain(..at + 2);
                return Ok(line);
            }
            if self.fill().await? == 0 {
                bail!("connection closed before a full line");
            }
        }
    }

    pub async fn read_head(&mut self) -> anyhow::Result<ResponseHead> {
        let status_line = self.read_line().await?;
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line().await?;
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        Ok(ResponseHead { status, headers })
    }

    /// The next chunk of a chunked body; `None` after the last. Errors if the connection
    /// closes inside the body (a dropped stream).
    pub async fn next_chunk(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        let size_line = self.read_line().await?;
        let size =
            usize::from_str_radix(size_line.split(';').next().unwrap_or_default().trim(), 16)?;
        if size == 0 {
            self.read_line().await?;
            return Ok(None);
        }
        while self.buf.len() < size + 2 {
            if self.fill().await? == 0 {
                bail!("connection closed inside a chunk");
            }
        }
        let data = self.buf[..size].to_vec();
        self.buf.drain(..size + 2);
        Ok(Some(data))
    }

    pub async fn read_body(&mut self, head: &ResponseHead) -> anyhow::Result<Vec<u8>> {
        if head.is_chunked() {
            let mut body = Vec::new();
            while let Some(chunk) = self.next_chunk().await? {
                body.extend_from_slice(&chunk);
            }
            return Ok(body);
        }
        if let Some(length) = head.header("content-length") {
            let length: usize = length.parse()?;
            while self.buf.len() < length {
                if self.fill().await? == 0 {
                    bail!("connection closed inside the body");
                }
            }
            return Ok(self.buf.drain(..length).collect());
        }
        while self.fill().await? > 0 {}
        Ok(std::mem::take(&mut self.buf))
    }

    /// True once the server has closed the connection (reads return EOF).
    pub async fn is_closed(&mut self) -> bool {
        self.buf.clear();
        matches!(self.fill().await, Ok(0) | Err(_))
    }
}
