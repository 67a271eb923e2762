//! Finding where the next frame starts inside bytes that were supposed to be a body.
//!
//! A header line `Content-Length: 42` ended by a raw line break can never occur inside valid JSON:
//! outside a string, `Content` is not a token, and inside a string a raw CR or LF is not allowed
//! (JSON escapes them as `\r`, `\n`). So when such a line shows up in an announced body, the body
//! was shorter than its `Content-Length` said and the next frame starts there. The same holds for a
//! body that *ends* in the first bytes of such a line: a JSON-RPC message ends with `}`.

/// The header name that starts every frame, matched without regard to case.
const NAME: &[u8] = b"content-length";

/// The longest marker line a scan looks back over (name, colon, blanks, 20 digits, CR).
pub(crate) const LOOKBACK: usize = 64;

/// Where a `Content-Length` header line whose line break is at `bytes[newline]` starts, if the
/// line is one.
fn line_start(bytes: &[u8], newline: usize) -> Option<usize> {
    let lower = newline.saturating_sub(LOOKBACK);
    let mut i = newline;
    if i > lower && bytes[i - 1] == b'\r' {
        i -= 1;
    }
    while i > lower && matches!(bytes[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    let digits_end = i;
    while i > lower && bytes[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i == digits_end {
        return None;
    }
    while i > lower && matches!(bytes[i - 1], b' ' | b'\t') {
        i -= 1;
    }
    if i == lower || bytes[i - 1] != b':' {
        return None;
    }
    i -= 1;
    let start = i.checked_sub(NAME.len())?;
    (start >= lower && bytes[start..i].eq_ignore_ascii_case(NAME)).then_some(start)
}

/// The first `Content-Length` line in `bytes` whose line break is at or after `from`.
pub(crate) fn find_line(bytes: &[u8], from: usize) -> Option<usize> {
    let from = from.min(bytes.len());
    memchr::memchr_iter(b'\n', &bytes[from..]).find_map(|offset| line_start(bytes, from + offset))
}

/// Where `bytes` ends in the beginning of a `Content-Length` line (without its line break), if it
/// does: `Conte`, `content-length: 4`, `Content-Length: 42\r`.
pub(crate) fn find_partial_line(bytes: &[u8]) -> Option<usize> {
    let lower = bytes.len().saturating_sub(LOOKBACK);
    (lower..bytes.len())
        .filter(|&i| matches!(bytes[i], b'c' | b'C'))
        .find(|&i| is_line_prefix(&bytes[i..]))
}

/// Whether `bytes` is a non-empty prefix of `Content-Length:[ \t]*[0-9]*[ \t]*\r?`.
fn is_line_prefix(bytes: &[u8]) -> bool {
    let name = bytes.len().min(NAME.len());
    if !bytes[..name].eq_ignore_ascii_case(&NAME[..name]) {
        return false;
    }
    let mut rest = &bytes[name..];
    if name < NAME.len() || rest.is_empty() {
        return true;
    }
    if rest[0] != b':' {
        return false;
    }
    rest = &rest[1..];
    let skip = |rest: &mut &[u8], pred: fn(u8) -> bool| {
        let n = rest.iter().take_while(|&&b| pred(b)).count();
        *rest = &rest[n..];
    };
    skip(&mut rest, |b| matches!(b, b' ' | b'\t'));
    skip(&mut rest, |b| b.is_ascii_digit());
    skip(&mut rest, |b| matches!(b, b' ' | b'\t'));
    matches!(rest, [] | [b'\r'])
}

/// The first occurrence of the header name in `bytes` at or after `from`, for skipping garbage.
pub(crate) fn find_name(bytes: &[u8], from: usize) -> Option<usize> {
    let from = from.min(bytes.len());
    memchr::memchr2_iter(b'c', b'C', &bytes[from..])
        .map(|offset| from + offset)
        .find(|&i| {
            bytes
                .get(i..i + NAME.len())
                .is_some_and(|name| name.eq_ignore_ascii_case(NAME))
        })
}

/// How many bytes at the end of `bytes` could be the start of the header name, to keep when the
/// rest is dropped as garbage.
pub(crate) fn name_tail(bytes: &[u8]) -> usize {
    (1..NAME.len().min(bytes.len() + 1))
        .rev()
        .find(|&n| bytes[bytes.len() - n..].eq_ignore_ascii_case(&NAME[..n]))
        .unwrap_or(0)
}
