//! Position encodings: the one place where an editor's (line, column) becomes a byte offset.
//!
//! LSP positions count columns in the negotiated encoding's code units (UTF-8 bytes, UTF-16 code
//! units or UTF-32 code points). Everything inside the server is a byte offset into the rope; this
//! module converts in both directions in O(log n) using ropey's indexes, and clamps bad input the
//! way the specification asks instead of panicking.

use ropey::Rope;

/// A position encoding, ordered by our preference: UTF-8 needs no conversion at all, UTF-32 maps
/// straight onto ropey's char indexes, UTF-16 (the LSP default) needs a surrogate-aware lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PositionEncoding {
    Utf8,
    Utf32,
    Utf16,
}

impl PositionEncoding {
    /// Picks the most preferred encoding the client offers; UTF-16 when it offers none we know,
    /// because the specification makes UTF-16 mandatory for every client.
    pub fn negotiate<'a>(offered: impl IntoIterator<Item = &'a str>) -> Self {
        offered
            .into_iter()
            .filter_map(Self::from_name)
            .min()
            .unwrap_or(Self::Utf16)
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "utf-8" => Some(Self::Utf8),
            "utf-32" => Some(Self::Utf32),
            "utf-16" => Some(Self::Utf16),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf32 => "utf-32",
            Self::Utf16 => "utf-16",
        }
    }
}

/// An editor position: a zero-based line and a column counted in the negotiated encoding's units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

impl LineCol {
    pub fn new(line: u32, col: u32) -> Self {
        Self { line, col }
    }
}

/// A byte offset and whether the editor's position had to be clamped to reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub byte: usize,
    pub clamped: bool,
}

/// Converts an editor position to a byte offset.
///
/// The specification: "If the character value is greater than the line length it defaults back to
/// the line length." A line past the end resolves to the end of the document, and a column in the
/// middle of a character (inside a UTF-8 sequence or between two UTF-16 surrogates) snaps back to
/// the start of that character. The line length excludes the line terminator (`\n`, `\r\n`, `\r`).
pub fn to_byte(rope: &Rope, pos: LineCol, encoding: PositionEncoding) -> Resolved {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return Resolved {
            byte: rope.len_bytes(),
            clamped: true,
        };
    }
    let start_byte = rope.line_to_byte(line);
    let end_byte = line_content_end_byte(rope, line);
    let col = pos.col as usize;
    // Up to an ASCII column every encoding counts bytes: no character counting (most positions).
    let upto = start_byte + col.min(end_byte - start_byte);
    let ascii = rope.get_byte_slice(start_byte..upto);
    if ascii.is_some_and(|text| text.chunks().all(str::is_ascii)) {
        return Resolved {
            byte: upto,
            clamped: upto - start_byte < col,
        };
    }
    let (byte, clamped) = match encoding {
        PositionEncoding::Utf8 => {
            let wanted = start_byte.saturating_add(col);
            let byte = wanted.min(end_byte);
            // Snap into a character boundary: byte_to_char rounds down.
            let snapped = rope.char_to_byte(rope.byte_to_char(byte));
            (snapped, wanted > end_byte || snapped != byte)
        }
        PositionEncoding::Utf32 => {
            let start_char = rope.byte_to_char(start_byte);
            let end_char = rope.byte_to_char(end_byte);
            let wanted = start_char.saturating_add(col);
            (rope.char_to_byte(wanted.min(end_char)), wanted > end_char)
        }
        PositionEncoding::Utf16 => {
            let start_cu = rope.char_to_utf16_cu(rope.byte_to_char(start_byte));
            let end_cu = rope.char_to_utf16_cu(rope.byte_to_char(end_byte));
            let wanted = start_cu.saturating_add(col);
            let cu = wanted.min(end_cu);
            // utf16_cu_to_char returns the char a code unit belongs to, so a column between two
            // surrogates lands on the start of the astral character.
            let char_idx = rope.utf16_cu_to_char(cu);
            let snapped_cu = rope.char_to_utf16_cu(char_idx);
            (
                rope.char_to_byte(char_idx),
                wanted > end_cu || snapped_cu != cu,
            )
        }
    };
    Resolved { byte, clamped }
}

/// Converts a byte offset (clamped to the document and rounded down to a character boundary) to
/// an editor position in `encoding`.
pub fn to_line_col(rope: &Rope, byte: usize, encoding: PositionEncoding) -> LineCol {
    let char_idx = rope.byte_to_char(byte.min(rope.len_bytes()));
    let byte = rope.char_to_byte(char_idx);
    let line = rope.byte_to_line(byte);
    let start_byte = rope.line_to_byte(line);
    let col = match encoding {
        PositionEncoding::Utf8 => byte - start_byte,
        PositionEncoding::Utf32 => char_idx - rope.byte_to_char(start_byte),
        PositionEncoding::Utf16 => {
            rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(rope.byte_to_char(start_byte))
        }
    };
    LineCol::new(saturate(line), saturate(col))
}

/// The byte where `line`'s content ends, before its terminator.
fn line_content_end_byte(rope: &Rope, line: usize) -> usize {
    let next_start = rope.line_to_byte(line + 1);
    let slice = rope.line(line);
    let len = slice.len_bytes();
    let terminator = if len >= 2 && slice.byte(len - 2) == b'\r' && slice.byte(len - 1) == b'\n' {
        2
    } else if len >= 1 && matches!(slice.byte(len - 1), b'\n' | b'\r') {
        1
    } else {
        0
    };
    next_start - terminator
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PositionEncoding::{Utf8, Utf16, Utf32};

    #[test]
    fn negotiation_prefers_utf8_then_utf32_then_utf16() {
        assert_eq!(PositionEncoding::negotiate(["utf-16", "utf-32"]), Utf32);
        assert_eq!(
            PositionEncoding::negotiate(["utf-8", "utf-32", "utf-16"]),
            Utf8
        );
        assert_eq!(PositionEncoding::negotiate(["utf-16"]), Utf16);
        assert_eq!(PositionEncoding::negotiate(["latin-1"]), Utf16);
        assert_eq!(PositionEncoding::negotiate([]), Utf16);
    }

    /// (encoding, line, col) → byte, on a line holding `é` (2 bytes, 1 unit) and `😀` (4 bytes,
    /// 2 UTF-16 units, 1 char), with CRLF and lone-CR line ends.
    #[test]
    fn positions_resolve_per_encoding() {
        let rope = Rope::from_str("aé😀b\r\nx\ry");
        let cases = [
            (Utf8, 0, 3, 3, false),
            (Utf8, 0, 2, 1, true), // inside `é`: snaps back
            (Utf8, 0, 7, 7, false),
            (Utf8, 0, 99, 8, true), // past the line: the line's end, before \r\n
            (Utf16, 0, 2, 3, false),
            (Utf16, 0, 3, 3, true), // between surrogates: start of the emoji
            (Utf16, 0, 4, 7, false),
            (Utf32, 0, 3, 7, false),
            (Utf32, 1, 1, 11, false),
            (Utf16, 2, 0, 12, false), // after the lone \r
            (Utf16, 2, 5, 13, true),
            (Utf16, 9, 0, 13, true), // past the last line: end of document
        ];
        for (encoding, line, col, byte, clamped) in cases {
            let got = to_byte(&rope, LineCol::new(line, col), encoding);
            assert_eq!(got, Resolved { byte, clamped }, "{encoding:?} {line}:{col}");
        }
    }

    /// `to_byte` counted character by character over the line's text.
    fn counted(text: &str, pos: LineCol, encoding: PositionEncoding) -> Resolved {
        let mut start = 0;
        for _ in 0..pos.line {
            match text[start..].find(['\n', '\r']) {
                Some(at) if text[start + at..].starts_with("\r\n") => start += at + 2,
                Some(at) => start += at + 1,
                None => {
                    return Resolved {
                        byte: text.len(),
                        clamped: true,
                    };
                }
            }
        }
        let content = &text[start..];
        let content = &content[..content.find(['\n', '\r']).unwrap_or(content.len())];
        let mut units = 0;
        for (at, c) in content.char_indices() {
            let width = match encoding {
                Utf8 => c.len_utf8(),
                Utf16 => c.len_utf16(),
                Utf32 => 1,
            };
            if units + width > pos.col as usize {
                let inside = units != pos.col as usize;
                return Resolved {
                    byte: start + at,
                    clamped: inside,
                };
            }
            units += width;
        }
        Resolved {
            byte: start + content.len(),
            clamped: units < pos.col as usize,
        }
    }

    proptest::proptest! {
        #[test]
        fn positions_resolve_as_counting_characters_does(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["a", "bc", "é", "😀", "\n", "\r\n", "\r"]),
                0..40,
            ),
            line in 0u32..8,
            col in 0u32..12,
        ) {
            let text = pieces.concat();
            let rope = Rope::from_str(&text);
            for encoding in [Utf8, Utf16, Utf32] {
                let pos = LineCol::new(line, col);
                proptest::prop_assert_eq!(
                    to_byte(&rope, pos, encoding),
                    counted(&text, pos, encoding),
                    "{:?} {:?} in {:?}", encoding, pos, text
                );
            }
        }
    }

    #[test]
    fn byte_to_position_round_trips_on_boundaries() {
        let rope = Rope::from_str("aé😀b\r\nx\ry\n");
        for encoding in [Utf8, Utf16, Utf32] {
            for char_idx in 0..=rope.len_chars() {
                let byte = rope.char_to_byte(char_idx);
                // Between the \r and \n of a CRLF is not a position LSP can express.
                if char_idx > 0
                    && rope.char(char_idx - 1) == '\r'
                    && rope.get_char(char_idx) == Some('\n')
                {
                    continue;
                }
                let pos = to_line_col(&rope, byte, encoding);
                let back = to_byte(&rope, pos, encoding);
                assert_eq!(back.byte, byte, "{encoding:?} byte {byte} via {pos:?}");
            }
        }
    }
}
