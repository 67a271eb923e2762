//! Splitting a small hunk into words for the fine-grained diff.
//!
//! Words rather than characters: a character diff of `count` → `amount` keeps the shared `ount`
//! and yields a fragment edit (`c` → `am`), which reads badly as ghost text and as a next-edit
//! suggestion. Identifier runs, whitespace runs and line breaks are whole tokens; any other
//! character is a token of its own, so punctuation changes stay small.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_alphanumeric() || c == '_' {
        Class::Word
    } else if c.is_whitespace() && c != '\n' && c != '\r' {
        Class::Space
    } else {
        Class::Other
    }
}

/// The tokens of `text`, in order; they concatenate back to `text`. A CRLF is one token, so no
/// edit boundary falls inside it.
pub(super) fn split(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        let end = match (class(c), c) {
            (Class::Other, '\r') if chars.peek().is_some_and(|&(_, next)| next == '\n') => {
                chars.next();
                index + 2
            }
            (Class::Other, _) => index + c.len_utf8(),
            (run, _) => {
                let mut end = index + c.len_utf8();
                while let Some(&(next_index, next)) = chars.peek() {
                    if class(next) != run {
                        break;
                    }
                    end = next_index + next.len_utf8();
                    chars.next();
                }
                end
            }
        };
        tokens.push(&text[start..end]);
        start = end;
    }
    tokens
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_words_spaces_and_line_breaks() {
        assert_eq!(
            super::split("let  x_1=é😀;\r\n\ty\r"),
            vec![
                "let", "  ", "x_1", "=", "é", "😀", ";", "\r\n", "\t", "y", "\r"
            ]
        );
    }
}
