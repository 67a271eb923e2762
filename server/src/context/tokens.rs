//! Token estimates without a tokenizer.
//!
//! The budget only has to be roughly right: it bounds prefill time, not correctness. Byte-pair
//! tokenizers used by code models (OpenAI's cl100k/o200k, StarCoder's, Llama 3's) are commonly
//! reported at about 3 to 4 bytes of source code per token: identifiers and keywords merge into
//! one token each, while punctuation, operators and digits often stand alone, and runs of
//! indentation merge into one token. 3.5 sits in the middle; for deeply indented code it slightly
//! overestimates, which errs on the side of a smaller prompt. Text outside ASCII (accented
//! letters, CJK, emoji) is counted as one token per character, because merges across multi-byte
//! characters are rare in these vocabularies and an emoji alone often takes two or three tokens.
//! There is no tokenizer crate in the dependency graph to compare against offline, so these
//! numbers come from those published averages rather than a local measurement.

/// Bytes of ASCII code per token, times two (3.5 bytes per token).
const ASCII_BYTES_PER_TWO_TOKENS: usize = 7;

/// About how many tokens `text` costs a code model.
pub fn estimate_tokens(text: &str) -> usize {
    let bytes = text.as_bytes();
    let non_ascii_bytes = bytes.iter().filter(|&&b| b >= 0x80).count();
    // A character's first byte is never a continuation byte (0b10xx_xxxx).
    let non_ascii_chars = bytes.iter().filter(|&&b| b >= 0xC0).count();
    let ascii_bytes = bytes.len() - non_ascii_bytes;
    (ascii_bytes * 2).div_ceil(ASCII_BYTES_PER_TWO_TOKENS) + non_ascii_chars
}

/// About how many bytes of ASCII code fit in `tokens`: the inverse of [`estimate_tokens`], used
/// to size windows before any text is copied.
pub(super) fn bytes_for_tokens(tokens: usize) -> usize {
    tokens.saturating_mul(ASCII_BYTES_PER_TWO_TOKENS) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_follow_bytes_for_code_and_chars_beyond_ascii() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("fn main() {}"), 4);
        assert_eq!(estimate_tokens(&"x".repeat(3_500)), 1_000);
        // Two accented letters and an emoji: one token per character, plus the ASCII.
        assert_eq!(estimate_tokens("é😀è ab"), 3 + 1);
        assert_eq!(bytes_for_tokens(2_000), 7_000);
    }
}
