//! A frame's header block: `Name: value` lines, ended by an empty line.
//!
//! As the LSP specification says, `Content-Length` is required and `Content-Type` optional
//! (`application/vscode-jsonrpc; charset=utf-8`, the only charset; `utf8` is accepted as a
//! synonym). Names are matched without regard to case, as in HTTP; other headers are ignored.
//! Lines may end in CRLF or, leniently, in a bare LF.

/// What a header block says about its body.
#[derive(Debug, PartialEq)]
pub struct Headers {
    pub content_length: u64,
    /// The charset named by `Content-Type` when it is not UTF-8.
    pub charset: Result<(), String>,
}

/// The length of the header block at the start of `bytes` (without the empty line) and the
/// length including it, if the empty line is within the first `max` bytes.
pub fn block_end(bytes: &[u8], max: usize) -> Option<(usize, usize)> {
    let bytes = &bytes[..bytes.len().min(max)];
    memchr::memchr_iter(b'\n', bytes).find_map(|newline| match &bytes[newline + 1..] {
        [b'\n', ..] => Some((newline, newline + 2)),
        [b'\r', b'\n', ..] => Some((newline, newline + 3)),
        _ => None,
    })
}

/// Parses a header block; the error says what is wrong with it.
pub fn parse(block: &[u8]) -> Result<Headers, String> {
    let mut content_length = None;
    let mut charset = Ok(());
    for line in block.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(format!(
                "a header line without a colon ({} bytes)",
                line.len()
            ));
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err("a header name that is not a token".into());
        }
        // Garbage glued to the next frame's header (`#Content-Length: 48`, `X: yContent-Length`)
        // would otherwise pass for an unknown header and take that frame's length away.
        let is_length = name.eq_ignore_ascii_case(b"content-length");
        if super::marker::find_name(line, usize::from(is_length)).is_some() {
            return Err("a header line that runs into another".into());
        }
        if is_length {
            let length = parse_length(value)?;
            if content_length.is_some_and(|previous| previous != length) {
                return Err("two different Content-Length headers".into());
            }
            content_length = Some(length);
        } else if name.eq_ignore_ascii_case(b"content-type") {
            charset = check_charset(value);
        } else {
            tracing::debug!(
                name = %String::from_utf8_lossy(name),
                "ignored an unknown message header"
            );
        }
    }
    let content_length = content_length.ok_or("a header block without Content-Length")?;
    Ok(Headers {
        content_length,
        charset,
    })
}

fn parse_length(value: &[u8]) -> Result<u64, String> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err("a Content-Length that is not a number".into());
    }
    // A number too large for u64 is certainly above the limit: it is skipped like one.
    Ok(std::str::from_utf8(value)
        .ok()
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(u64::MAX))
}

/// Accepts `utf-8`, `utf8` (in any case, quoted or not) or no charset parameter at all.
fn check_charset(value: &[u8]) -> Result<(), String> {
    let value = String::from_utf8_lossy(value);
    let charset = value.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    });
    match charset {
        None => Ok(()),
        Some(charset)
            if charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8") =>
        {
            Ok(())
        }
        Some(other) => Err(other.to_owned()),
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let is_blank = |b: &u8| matches!(b, b' ' | b'\t');
    let start = bytes
        .iter()
        .position(|b| !is_blank(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_blank(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// An HTTP token character (RFC 9110), what a header name is made of.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
