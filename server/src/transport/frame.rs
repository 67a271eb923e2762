//! The client's byte stream cut into message bodies by their `Content-Length` headers.
//!
//! Whatever is malformed is logged and skipped, and reading resynchronises on the next header:
//! garbage between frames, a header block without a usable `Content-Length`, an unsupported
//! charset, an empty body, a body shorter than announced (the next frame's header turns up inside
//! it, see `marker.rs`) or longer (the excess is garbage before the next header). A length above
//! [`MAX_BODY_BYTES`] is skipped as it streams by, never buffered. The reader never returns an
//! error: only end of input ends it.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::header::{self, Headers};
use super::marker;

/// The largest body accepted; a longer one is skipped without being held in memory.
pub const MAX_BODY_BYTES: u64 = 64 << 20;
/// A header block longer than this is garbage.
const MAX_HEADER_BYTES: usize = 8 << 10;
/// How much to read at a time.
const READ_CHUNK: usize = 64 << 10;

/// Reads frames from `input`, keeping unread bytes in `buf[start..]`.
pub struct FrameReader<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    /// Bytes of the previous body, released on the next call.
    taken: usize,
    eof: bool,
}

/// What became of an announced body.
enum Body {
    /// The body is `buf[start..start + len]`.
    Complete(usize),
    /// The body was skipped (too long, or the charset is unsupported), or it broke off where the
    /// next frame starts; reading goes on from `start`.
    Skipped,
    /// Input ended inside the body.
    Eof,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buf: Vec::new(),
            start: 0,
            taken: 0,
            eof: false,
        }
    }

    /// The next message body, or `None` at end of input.
    pub async fn next(&mut self) -> Option<&[u8]> {
        self.start += std::mem::take(&mut self.taken);
        loop {
            let headers = self.headers().await?;
            let len = headers.content_length;
            if len == 0 {
                tracing::warn!("skipped a message with an empty body");
                continue;
            }
            let keep = match headers.charset {
                Err(charset) => {
                    tracing::warn!(charset, len, "skipped a message in an unsupported charset");
                    false
                }
                Ok(()) if len > MAX_BODY_BYTES => {
                    tracing::warn!(
                        len,
                        limit = MAX_BODY_BYTES,
                        "skipped a message longer than the limit"
                    );
                    false
                }
                Ok(()) => true,
            };
            match self.body(len, keep).await {
                Body::Complete(len) => {
                    self.taken = len;
                    return Some(&self.buf[self.start..self.start + len]);
                }
                Body::Skipped => {}
                Body::Eof => {
                    tracing::warn!(len, "input ended inside a message body");
                    return None;
                }
            }
        }
    }

    /// Parses the next header block, skipping garbage before it; `None` at end of input.
    async fn headers(&mut self) -> Option<Headers> {
        loop {
            let pending = &self.buf[self.start..];
            let blank = pending
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            self.start += blank;
            let pending = &self.buf[self.start..];
            if pending.is_empty() {
                if !self.fill().await {
                    return None;
                }
                continue;
            }
            let Some((block, len)) = header::block_end(pending, MAX_HEADER_BYTES) else {
                if pending.len() > MAX_HEADER_BYTES {
                    tracing::warn!("skipped bytes that are not a message header");
                    self.skip_garbage();
                } else if !self.fill().await {
                    tracing::warn!(
                        bytes = self.buf.len() - self.start,
                        "input ended inside a message header"
                    );
                    return None;
                }
                continue;
            };
            match header::parse(&pending[..block]) {
                Ok(headers) => {
                    self.start += len;
                    return Some(headers);
                }
                Err(problem) => {
                    tracing::warn!("skipped a malformed message header: {problem}");
                    self.skip_garbage();
                }
            }
        }
    }

    /// Drops unread bytes up to the next `Content-Length` header name after the first byte, or all
    /// but a tail that may be the start of one.
    fn skip_garbage(&mut self) {
        let pending = &self.buf[self.start..];
        self.start += match marker::find_name(pending, 1) {
            Some(at) => at,
            None => pending.len() - marker::name_tail(pending),
        };
    }

    /// Waits for `len` body bytes. Kept bodies are returned whole; skipped ones are dropped as
    /// they arrive. Either way, a header line inside the body means the body broke off there.
    async fn body(&mut self, len: u64, keep: bool) -> Body {
        let mut remaining = len;
        let mut scanned = 0;
        loop {
            let pending = &self.buf[self.start..];
            let window = pending
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            if let Some(at) = marker::find_line(&pending[..window], scanned) {
                tracing::warn!(len, "a message body was shorter than its Content-Length");
                self.start += at;
                return Body::Skipped;
            }
            scanned = window;
            if window as u64 == remaining {
                if let Some(at) = marker::find_partial_line(&pending[..window]) {
                    tracing::warn!(len, "a message body was shorter than its Content-Length");
                    self.start += at;
                    return Body::Skipped;
                }
                if keep {
                    return Body::Complete(window);
                }
                self.start += window;
                return Body::Skipped;
            }
            if !keep && window > marker::LOOKBACK {
                // Drop what was scanned, keeping enough to recognise a header line that straddles.
                let drop = window - marker::LOOKBACK;
                self.start += drop;
                remaining -= drop as u64;
                scanned -= drop;
            }
            if !self.fill().await {
                return Body::Eof;
            }
        }
    }

    /// How much memory the buffer holds (tests check a skipped body is not kept).
    #[cfg(test)]
    pub(super) fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Reads more input after compacting the buffer; false at end of input.
    async fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() > 4 * READ_CHUNK && self.buf.len() < READ_CHUNK {
            // Give back what a large message needed.
            self.buf.shrink_to(2 * READ_CHUNK);
        }
        self.buf.reserve(READ_CHUNK);
        match self.input.read_buf(&mut self.buf).await {
            Ok(0) => {
                self.eof = true;
                false
            }
            Ok(_) => true,
            Err(err) => {
                tracing::warn!("cannot read the client's input: {err}");
                self.eof = true;
                false
            }
        }
    }
}
