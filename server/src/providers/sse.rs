//! Incremental framing of streamed HTTP bodies: Server-Sent Events (every provider but
//! Ollama) and newline-delimited JSON (Ollama's `/api/generate`).
//!
//! Both work on raw byte chunks as they arrive. Bytes are buffered until a whole line is
//! there, so a chunk boundary in the middle of a line or of a UTF-8 character is harmless:
//! a line is only decoded once it is complete.

use super::ProviderError;

/// Longer lines mean a broken or hostile server; refusing them bounds memory.
const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// One dispatched event. For NDJSON, `name` is empty and `data` is the line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Event {
    /// The `event:` field, empty when the event had none (the spec's default `message`).
    pub name: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// How a body is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    Sse,
    Ndjson,
}

/// Splits a byte stream into events of one [`Framing`].
#[derive(Debug)]
pub(crate) struct Decoder {
    framing: Framing,
    buf: Vec<u8>,
    name: String,
    data: String,
    has_data: bool,
}

impl Decoder {
    pub fn new(framing: Framing) -> Self {
        Self {
            framing,
            buf: Vec::new(),
            name: String::new(),
            data: String::new(),
            has_data: false,
        }
    }

    /// Feeds one chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, ProviderError> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(at) = self.buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + at;
            let line = strip_cr(&self.buf[start..end]);
            // Lossy: a line is complete here, so only truly invalid bytes are replaced.
            let line = String::from_utf8_lossy(line).into_owned();
            self.line(&line, &mut events);
            start = end + 1;
        }
        self.buf.drain(..start);
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(ProviderError::Protocol(format!(
                "a streamed line is longer than {MAX_LINE_BYTES} bytes"
            )));
        }
        Ok(events)
    }

    /// The end of the body: a last line without its newline and an event without its blank
    /// line are still delivered (the spec would drop them, but some servers end that way).
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = String::from_utf8_lossy(strip_cr(&rest)).into_owned();
            self.line(&line, &mut events);
        }
        self.dispatch(&mut events);
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<Event>) {
        match self.framing {
            Framing::Ndjson => {
                if !line.trim().is_empty() {
                    events.push(Event {
                        name: String::new(),
                        data: line.to_owned(),
                    });
                }
            }
            Framing::Sse => self.sse_line(line, events),
        }
    }

    /// One line of the SSE grammar (WHATWG HTML §9.2.6). `id` and `retry` are ignored: these
    /// streams are never resumed.
    fn sse_line(&mut self, line: &str, events: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => value.clone_into(&mut self.name),
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<Event>) {
        let name = std::mem::take(&mut self.name);
        if !std::mem::take(&mut self.has_data) {
            return;
        }
        events.push(Event {
            name,
            data: std::mem::take(&mut self.data),
        });
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, data: &str) -> Event {
        Event {
            name: name.into(),
            data: data.into(),
        }
    }

    /// Feeds `input` split at every possible single boundary and checks the events are the same.
    fn check_all_splits(framing: Framing, input: &str, expected: &[Event]) {
        let bytes = input.as_bytes();
        for split in 0..=bytes.len() {
            let mut decoder = Decoder::new(framing);
            let mut events = decoder.push(&bytes[..split]).expect("short lines");
            events.extend(decoder.push(&bytes[split..]).expect("short lines"));
            events.extend(decoder.finish());
            assert_eq!(events, expected, "split at byte {split}");
        }
    }

    #[test]
    fn sse_fields_comments_and_dispatch() {
        let input = ": keep-alive\n\
                     event: response.output_text.delta\n\
                     data: {\"delta\":\"a\"}\n\
                     \n\
                     data: first\n\
                     data:second\n\
                     id: 7\n\
                     \n\
                     event: lonely\n\
                     \n\
                     data: [DONE]\n\n";
        check_all_splits(
            Framing::Sse,
            input,
            &[
                ev("response.output_text.delta", "{\"delta\":\"a\"}"),
                ev("", "first\nsecond"),
                ev("", "[DONE]"),
            ],
        );
    }

    #[test]
    fn sse_crlf_and_utf8_split_inside_a_character() {
        let input = "event: content_block_delta\r\ndata: {\"text\":\"héllo → 世界\"}\r\n\r\n";
        check_all_splits(
            Framing::Sse,
            input,
            &[ev("content_block_delta", "{\"text\":\"héllo → 世界\"}")],
        );
    }

    #[test]
    fn sse_one_byte_at_a_time_and_unterminated_end() {
        let input = "data: a\n\ndata: tail";
        let mut decoder = Decoder::new(Framing::Sse);
        let mut events = Vec::new();
        for byte in input.as_bytes() {
            events.extend(decoder.push(&[*byte]).expect("short lines"));
        }
        events.extend(decoder.finish());
        assert_eq!(events, [ev("", "a"), ev("", "tail")]);
    }

    #[test]
    fn ndjson_lines() {
        let input = "{\"response\":\"é\",\"done\":false}\r\n\n{\"done\":true}";
        check_all_splits(
            Framing::Ndjson,
            input,
            &[
                ev("", "{\"response\":\"é\",\"done\":false}"),
                ev("", "{\"done\":true}"),
            ],
        );
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut decoder = Decoder::new(Framing::Sse);
        let chunk = vec![b'x'; MAX_LINE_BYTES + 1];
        assert!(matches!(
            decoder.push(&chunk),
            Err(ProviderError::Protocol(_))
        ));
    }
}
