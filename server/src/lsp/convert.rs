//! LSP ↔ core conversions. The only place that maps LSP positions and changes onto the
//! documents module's [`LineCol`]; the negotiated encoding is passed explicitly.

use tower_lsp_server::ls_types::{Position, Range, TextDocumentContentChangeEvent};

use crate::documents::{LineCol, PositionEncoding, TextChange, to_byte, to_line_col};

pub fn line_col(position: Position) -> LineCol {
    LineCol::new(position.line, position.character)
}

pub fn position(line_col: LineCol) -> Position {
    Position::new(line_col.line, line_col.col)
}

pub fn text_change(event: TextDocumentContentChangeEvent) -> TextChange {
    TextChange {
        range: event.range.map(|r| (line_col(r.start), line_col(r.end))),
        text: event.text,
    }
}

/// The byte offset of an LSP position, clamped as the specification says; logs clamping.
pub fn byte_of(rope: &ropey::Rope, position: Position, encoding: PositionEncoding) -> usize {
    let resolved = to_byte(rope, line_col(position), encoding);
    if resolved.clamped {
        tracing::debug!(
            ?position,
            byte = resolved.byte,
            "position out of range; clamped"
        );
    }
    resolved.byte
}

/// The LSP range covering `start_byte..end_byte`.
pub fn range_of(
    rope: &ropey::Rope,
    start_byte: usize,
    end_byte: usize,
    encoding: PositionEncoding,
) -> Range {
    Range::new(
        position(to_line_col(rope, start_byte, encoding)),
        position(to_line_col(rope, end_byte, encoding)),
    )
}

/// The protocol crate's copy of an LSP range (carried in code action data and commands).
pub fn protocol_range(range: Range) -> spark_protocol::Range {
    let position = |p: Position| spark_protocol::Position {
        line: p.line,
        character: p.character,
    };
    spark_protocol::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

pub fn lsp_position(position: spark_protocol::Position) -> Position {
    Position::new(position.line, position.character)
}

pub fn lsp_range(range: spark_protocol::Range) -> Range {
    Range::new(lsp_position(range.start), lsp_position(range.end))
}
