//! The byte-level BPE tokenizer (`tokenizer.ggml.model = gpt2`) read from the GGUF itself:
//! vocabulary, merge ranks, token types and the pre-tokenizer named by `tokenizer.ggml.pre`.
//! Special tokens (`<|im_start|>` and friends) are matched whole where the prompt template
//! puts them; user text is never parsed for them.

use std::collections::HashMap;

use crate::gguf::{Header, Value};
use crate::pretokenize::{Pre, split};

/// GGUF token types.
const TYPE_NORMAL: i64 = 1;
const TYPE_BYTE: i64 = 6;

pub type TokenId = u32;

#[derive(Debug)]
pub struct Tokenizer {
    tokens: Vec<String>,
    ids: HashMap<String, TokenId>,
    /// (left, right) → (rank, merged id).
    merges: HashMap<(TokenId, TokenId), (u32, TokenId)>,
    special: Vec<bool>,
    pre: Pre,
    byte_to_char: [char; 256],
    char_to_byte: HashMap<char, u8>,
    pub bos: Option<TokenId>,
    pub eos: Option<TokenId>,
}

impl Tokenizer {
    pub fn from_gguf(h: &Header) -> Result<Self, String> {
        match h.str("tokenizer.ggml.model") {
            Some("gpt2") => {}
            Some(other) => {
                return Err(format!(
                    "tokenizer \"{other}\" is not supported (only byte-level BPE, \"gpt2\")"
                ));
            }
            None => return Err("the file has no tokenizer (tokenizer.ggml.model)".into()),
        }
        let tokens: Vec<String> = strings(h, "tokenizer.ggml.tokens")?;
        let ids: HashMap<String, TokenId> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as TokenId))
            .collect();
        let types = h.array("tokenizer.ggml.token_type").unwrap_or(&[]);
        let special = (0..tokens.len())
            .map(|i| match types.get(i) {
                Some(Value::Int(t)) => *t != TYPE_NORMAL && *t != TYPE_BYTE,
                _ => false,
            })
            .collect();
        let mut merges = HashMap::new();
        for (rank, merge) in strings(h, "tokenizer.ggml.merges")?.iter().enumerate() {
            let Some((a, b)) = merge.split_once(' ') else {
                continue;
            };
            let (Some(&a_id), Some(&b_id), Some(&ab)) =
                (ids.get(a), ids.get(b), ids.get(&format!("{a}{b}")))
            else {
                continue;
            };
            merges.entry((a_id, b_id)).or_insert((rank as u32, ab));
        }
        let byte_to_char = byte_chars();
        let char_to_byte = byte_to_char
            .iter()
            .enumerate()
            .map(|(b, &c)| (c, b as u8))
            .collect();
        let id = |key: &str| {
            h.int(key)
                .and_then(|v| TokenId::try_from(v).ok())
                .filter(|&v| (v as usize) < tokens.len())
        };
        Ok(Self {
            bos: id("tokenizer.ggml.bos_token_id"),
            eos: id("tokenizer.ggml.eos_token_id"),
            pre: Pre::from_name(h.str("tokenizer.ggml.pre").unwrap_or("gpt2")),
            tokens,
            ids,
            merges,
            special,
            byte_to_char,
            char_to_byte,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a token spelled exactly `text` (a special token such as `<|im_end|>`).
    pub fn token(&self, text: &str) -> Option<TokenId> {
        self.ids.get(text).copied()
    }

    /// Whether `id` is a control or user-defined token: generation stops on these.
    pub fn is_special(&self, id: TokenId) -> bool {
        self.special.get(id as usize).copied().unwrap_or(false)
    }

    /// Encodes plain text; special-token spellings in it are ordinary text.
    pub fn encode(&self, text: &str) -> Vec<TokenId> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        for piece in split(self.pre, text) {
            self.bpe(piece, &mut out);
        }
        out
    }

    /// The bytes of token `id` (special tokens as their spelling).
    pub fn bytes(&self, id: TokenId) -> Vec<u8> {
        let Some(token) = self.tokens.get(id as usize) else {
            return Vec::new();
        };
        if self.is_special(id) {
            return token.as_bytes().to_vec();
        }
        token
            .chars()
            .flat_map(|c| {
                self.char_to_byte
                    .get(&c)
                    .copied()
                    .map_or_else(|| c.to_string().into_bytes(), |b| vec![b])
            })
            .collect()
    }

    /// Decodes ids to text (lossy only where the ids cut a character in two).
    pub fn decode(&self, ids: &[TokenId]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.bytes(id)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn bpe(&self, piece: &str, out: &mut Vec<TokenId>) {
        let mapped: String = piece
            .bytes()
            .map(|b| self.byte_to_char[b as usize])
            .collect();
        if let Some(&id) = self.ids.get(&mapped) {
            out.push(id);
            return;
        }
        let mut symbols: Vec<TokenId> = Vec::with_capacity(mapped.len());
        let mut buf = [0u8; 4];
        for c in mapped.chars() {
            // Every byte's character is in a byte-level vocabulary; skip one that is not rather
            // than emit an out-of-range id.
            if let Some(&id) = self.ids.get(c.encode_utf8(&mut buf) as &str) {
                symbols.push(id);
            }
        }
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| self.merges.get(&(w[0], w[1])).map(|&(r, id)| (r, i, id)))
                .min();
            let Some((_, i, id)) = best else { break };
            symbols[i] = id;
            symbols.remove(i + 1);
        }
        out.extend(symbols);
    }
}

/// Bytes already decoded but not yet a whole UTF-8 character; streaming decode keeps them
/// until the next token completes the character.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Adds `bytes` and returns the text that is now complete.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.pending) {
            Ok(_) => self.pending.len(),
            Err(e) if e.error_len().is_some() => {
                // Invalid, not merely incomplete: give it up lossily rather than stall.
                let text = String::from_utf8_lossy(&self.pending).into_owned();
                self.pending.clear();
                return text;
            }
            Err(e) => e.valid_up_to(),
        };
        let rest = self.pending.split_off(valid);
        String::from_utf8(std::mem::replace(&mut self.pending, rest)).unwrap_or_default()
    }
}

fn strings(h: &Header, key: &str) -> Result<Vec<String>, String> {
    let items = h
        .array(key)
        .ok_or_else(|| format!("the file has no {key}"))?;
    Ok(items
        .iter()
        .map(|v| match v {
            Value::Str(s) => s.clone(),
            _ => String::new(),
        })
        .collect())
}

/// GPT-2's byte ↔ printable character table: printable Latin-1 bytes map to themselves, the
/// rest to code points from U+0100 up.
fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let printable = (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || b >= 0xae;
        let c = if printable {
            b
        } else {
            next += 1;
            next - 1
        };
        table[b as usize] = char::from_u32(c).unwrap_or('\0');
    }
    table
}
