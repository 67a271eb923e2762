//! Pre-tokenizers: the regular expressions byte-level BPE models split text with before merging,
//! written out by hand as llama.cpp does (they use look-ahead, which the `regex` crate lacks).
//! `\p{L}` is approximated by `char::is_alphabetic` and `\p{N}` by `char::is_numeric`.

/// Which split a model was trained with (`tokenizer.ggml.pre`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pre {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    Gpt2,
    /// StarCoder and SmolLM: every digit alone first, then GPT-2.
    Digits,
    /// Llama 3 and Qwen 2: case-insensitive contractions, a letter run with one leading
    /// non-letter, digits in runs of up to `max_digits`, punctuation runs with their newlines.
    Llama3 { max_digits: usize },
}

impl Pre {
    pub fn from_name(name: &str) -> Self {
        match name {
            "smollm" | "starcoder" | "refact" | "codeshell" | "command-r" | "exaone" => {
                Self::Digits
            }
            "qwen2" | "deepseek-r1-qwen" | "stablelm2" => Self::Llama3 { max_digits: 1 },
            "llama3" | "llama-bpe" | "llama-v3" | "dbrx" | "smaug-bpe" => {
                Self::Llama3 { max_digits: 3 }
            }
            _ => Self::Gpt2,
        }
    }
}

/// Splits `text` into the pieces BPE merges within.
pub fn split(pre: Pre, text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    match pre {
        Pre::Gpt2 => split_with(text, gpt2_len, &mut out),
        Pre::Digits => {
            let mut start = 0;
            for (i, c) in text.char_indices() {
                if c.is_numeric() {
                    split_with(&text[start..i], gpt2_len, &mut out);
                    out.push(&text[i..i + c.len_utf8()]);
                    start = i + c.len_utf8();
                }
            }
            split_with(&text[start..], gpt2_len, &mut out);
        }
        Pre::Llama3 { max_digits } => {
            split_with(text, |chars| llama3_len(chars, max_digits), &mut out);
        }
    }
    out
}

fn split_with<'a>(text: &'a str, piece_len: impl Fn(&[char]) -> usize, out: &mut Vec<&'a str>) {
    let chars: Vec<char> = text.chars().collect();
    let (mut at, mut byte) = (0, 0);
    while at < chars.len() {
        let n = piece_len(&chars[at..]).max(1);
        let len: usize = chars[at..at + n].iter().map(|c| c.len_utf8()).sum();
        out.push(&text[byte..byte + len]);
        at += n;
        byte += len;
    }
}

fn is_l(c: char) -> bool {
    c.is_alphabetic()
}

fn is_n(c: char) -> bool {
    c.is_numeric()
}

fn is_other(c: char) -> bool {
    !c.is_whitespace() && !is_l(c) && !is_n(c)
}

fn run(chars: &[char], from: usize, f: impl Fn(char) -> bool) -> usize {
    chars[from..].iter().take_while(|&&c| f(c)).count()
}

/// `'s|'t|'re|'ve|'m|'ll|'d`, optionally ignoring case.
fn contraction(chars: &[char], any_case: bool) -> usize {
    if chars.first() != Some(&'\'') {
        return 0;
    }
    let lower = |i: usize| {
        chars
            .get(i)
            .map(|&c| if any_case { c.to_ascii_lowercase() } else { c })
    };
    match (lower(1), lower(2)) {
        (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l')) => 3,
        (Some('s' | 't' | 'm' | 'd'), _) => 2,
        _ => 0,
    }
}

/// `\s+(?!\S)|\s+` at a whitespace character: a run followed by text leaves its last
/// character to lead the next piece.
fn whitespace(chars: &[char]) -> usize {
    let n = run(chars, 0, char::is_whitespace);
    if n < chars.len() && n > 1 { n - 1 } else { n }
}

fn gpt2_len(chars: &[char]) -> usize {
    let c = contraction(chars, false);
    if c > 0 {
        return c;
    }
    let lead = usize::from(chars[0] == ' ' && chars.len() > 1 && !chars[1].is_whitespace());
    let first = chars[lead];
    if is_l(first) {
        return lead + run(chars, lead, is_l);
    }
    if is_n(first) {
        return lead + run(chars, lead, is_n);
    }
    if is_other(first) {
        return lead + run(chars, lead, is_other);
    }
    whitespace(chars)
}

fn llama3_len(chars: &[char], max_digits: usize) -> usize {
    let c = contraction(chars, true);
    if c > 0 {
        return c;
    }
    let first = chars[0];
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    if is_l(first) {
        return run(chars, 0, is_l);
    }
    if first != '\r' && first != '\n' && !is_n(first) && chars.get(1).is_some_and(|&c| is_l(c)) {
        return 1 + run(chars, 1, is_l);
    }
    // `\p{N}{1,max}`
    if is_n(first) {
        return run(chars, 0, is_n).min(max_digits);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let lead = usize::from(first == ' ' && chars.get(1).is_some_and(|&c| is_other(c)));
    if is_other(chars[lead]) {
        let n = lead + run(chars, lead, is_other);
        return n + run(chars, n, |c| c == '\r' || c == '\n');
    }
    // `\s*[\r\n]+`: the whitespace run up to its last line break.
    let ws = run(chars, 0, char::is_whitespace);
    if let Some(last) = chars[..ws].iter().rposition(|&c| c == '\r' || c == '\n') {
        return last + 1;
    }
    whitespace(chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_splits_words_spaces_and_punctuation() {
        assert_eq!(
            split(Pre::Gpt2, "Hello world's  fn(x) 42\n\tend"),
            [
                "Hello", " world", "'s", " ", " fn", "(", "x", ")", " 42", "\n", "\t", "end"
            ]
        );
    }

    #[test]
    fn smollm_splits_every_digit() {
        assert_eq!(
            split(Pre::Digits, "x = 123;"),
            ["x", " =", " ", "1", "2", "3", ";"]
        );
    }

    #[test]
    fn llama3_keeps_newlines_with_punctuation_and_groups_digits() {
        assert_eq!(
            split(Pre::Llama3 { max_digits: 3 }, "a = 12345;\n\n  b"),
            ["a", " =", " ", "123", "45", ";\n\n", " ", " b"]
        );
    }
}
