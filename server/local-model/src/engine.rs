//! Generation: the prompt's tokens in, text deltas out. Keeps the KV cache of the last prompt
//! and its answer, so that a prompt sharing a prefix with it prefills only the new suffix.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::kernels::Pool;
use crate::model::{Cache, Model};
use crate::tokenizer::{TokenId, Tokenizer, Utf8Stream};

/// Prompt tokens are run through the model this many at a time: one weight row read serves
/// them all, which is what makes prefill faster than decoding.
const PREFILL_BATCH: usize = 32;

/// Counters for tests, benchmarks and logs.
#[derive(Debug, Default)]
pub struct Stats {
    /// Prompt tokens run through the model (not counting reused ones).
    pub prefilled: AtomicU64,
    /// Prompt tokens whose keys and values were reused from the previous request.
    pub reused: AtomicU64,
    /// Tokens generated (each one sampled from logits).
    pub generated: AtomicU64,
    /// Requests served.
    pub requests: AtomicU64,
}

/// What to generate.
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub max_tokens: usize,
    pub stop: Vec<String>,
    pub temperature: Option<f32>,
    /// Token healing: bytes the answer must begin with, which are not emitted. A caller that
    /// takes the prompt's last token back (it may be a word or a run of spaces cut short at
    /// the cursor) passes its bytes here, so the model chooses how that text goes on, with
    /// the tokens it would have used, instead of continuing from a boundary it would never
    /// have picked (after `return␣` a model expects ` value`, not `value`).
    pub heal: Vec<u8>,
}

/// What the caller says after each piece of text (or before each prefill batch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

pub struct Engine {
    pub model: Model,
    pub tokenizer: Arc<Tokenizer>,
    pool: Pool,
    cache: Cache,
    /// The tokens whose keys and values are in `cache`, in order.
    tokens: Vec<TokenId>,
    stats: Arc<Stats>,
    rng: u64,
    /// Every token's bytes, for token healing; built on first use.
    token_bytes: Vec<Vec<u8>>,
}

impl Engine {
    pub fn new(model: Model, tokenizer: Arc<Tokenizer>, threads: usize, stats: Arc<Stats>) -> Self {
        let cache = Cache::new(&model.config);
        Self {
            model,
            tokenizer,
            pool: Pool::new(threads),
            cache,
            tokens: Vec::new(),
            stats,
            rng: 0x2545_f491_4f6c_dd1d,
            token_bytes: Vec::new(),
        }
    }

    /// Forgets the cached context: the next prompt is prefilled from scratch.
    pub fn reset(&mut self) {
        self.cache.truncate(0, &self.model.config);
        self.tokens.clear();
    }

    /// The counters this engine updates.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Generates an answer to `prompt`, passing each new piece of text to `emit`; `emit` with
    /// an empty string is a check-in before a prefill batch. Stops at a special token, a stop
    /// string (which is not emitted), `max_tokens`, or when `emit` says so.
    pub fn generate(
        &mut self,
        prompt: &[TokenId],
        params: &Params,
        emit: &mut dyn FnMut(&str) -> Flow,
    ) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let Some(mut logits) = self.prefill(prompt, params.max_tokens, emit) else {
            return;
        };
        let mut utf8 = Utf8Stream::default();
        let mut held = String::new();
        let mut heal = params.heal.as_slice();
        for step in 0..params.max_tokens {
            if !heal.is_empty() {
                self.mask_for_healing(&mut logits, heal);
            }
            let next = self.sample(&logits, params.temperature);
            self.stats.generated.fetch_add(1, Ordering::Relaxed);
            if self.tokenizer.is_special(next) || Some(next) == self.tokenizer.eos {
                break;
            }
            let mut bytes = self.tokenizer.bytes(next);
            let healed = heal.len().min(bytes.len());
            heal = &heal[healed..];
            bytes.drain(..healed);
            held.push_str(&utf8.push(&bytes));
            if let Some(at) = params
                .stop
                .iter()
                .filter_map(|s| held.find(s.as_str()))
                .min()
            {
                if at > 0 {
                    emit(&held[..at]);
                }
                return;
            }
            let ready = held.len() - partial_stop_len(&held, &params.stop);
            if ready > 0 {
                let text: String = held.drain(..ready).collect();
                if emit(&text) == Flow::Stop {
                    return;
                }
            }
            if step + 1 == params.max_tokens {
                break;
            }
            logits = self.step(&[next]);
        }
        if !held.is_empty() {
            emit(&held);
        }
    }

    /// Fills the cache with `prompt`, reusing the longest prefix already there; the logits of
    /// the last prompt token, or `None` when `emit` stopped it. The prompt is cut from the front
    /// if it and the answer would not fit the context.
    fn prefill(
        &mut self,
        prompt: &[TokenId],
        max_tokens: usize,
        emit: &mut dyn FnMut(&str) -> Flow,
    ) -> Option<Vec<f32>> {
        let room = self.model.config.context.saturating_sub(max_tokens).max(1);
        let prompt = if prompt.is_empty() {
            &[self.tokenizer.bos.unwrap_or(0)][..]
        } else {
            &prompt[prompt.len().saturating_sub(room)..]
        };
        let common = self
            .tokens
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count();
        // At least the last prompt token runs again: its logits are not kept.
        let keep = common.min(prompt.len() - 1);
        self.cache.truncate(keep, &self.model.config);
        self.tokens.truncate(keep);
        self.stats.reused.fetch_add(keep as u64, Ordering::Relaxed);
        let mut logits = Vec::new();
        for batch in prompt[keep..].chunks(PREFILL_BATCH) {
            if emit("") == Flow::Stop {
                return None;
            }
            logits = self.step(batch);
            self.stats
                .prefilled
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
        }
        Some(logits)
    }

    fn step(&mut self, tokens: &[TokenId]) -> Vec<f32> {
        if self.cache.len() + tokens.len() > self.model.config.context {
            self.cache.truncate(0, &self.model.config);
            self.tokens.clear();
        }
        self.tokens.extend_from_slice(tokens);
        self.model.forward(&self.pool, &mut self.cache, tokens)
    }

    /// Rules out every token that does not go on with `heal` (whose bytes are neither a
    /// beginning of it nor begin with it), and special tokens.
    fn mask_for_healing(&mut self, logits: &mut [f32], heal: &[u8]) {
        if self.token_bytes.is_empty() {
            self.token_bytes = (0..logits.len() as TokenId)
                .map(|id| self.tokenizer.bytes(id))
                .collect();
        }
        for (id, logit) in logits.iter_mut().enumerate() {
            let bytes = self.token_bytes.get(id).map_or(&[][..], Vec::as_slice);
            let fits = !bytes.is_empty()
                && (heal.starts_with(bytes) || bytes.starts_with(heal))
                && !self.tokenizer.is_special(id as TokenId);
            if !fits {
                *logit = f32::NEG_INFINITY;
            }
        }
    }

    /// Greedy without a temperature (or at 0); otherwise sampling among the 40 likeliest.
    fn sample(&mut self, logits: &[f32], temperature: Option<f32>) -> TokenId {
        let argmax = || {
            logits
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &l)| {
                    if l > best.1 { (i, l) } else { best }
                })
                .0 as TokenId
        };
        let Some(t) = temperature.filter(|t| *t > 0.0) else {
            return argmax();
        };
        let mut top: Vec<(usize, f32)> = logits.iter().copied().enumerate().collect();
        let k = 40.min(top.len());
        top.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        top.truncate(k);
        let max = top.iter().fold(f32::NEG_INFINITY, |m, p| m.max(p.1));
        let weights: Vec<f32> = top.iter().map(|p| ((p.1 - max) / t).exp()).collect();
        let total: f32 = weights.iter().sum();
        // xorshift64: sampling needs no cryptographic randomness.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let mut r = (self.rng >> 11) as f32 / (1u64 << 53) as f32 * total;
        for (p, w) in top.iter().zip(&weights) {
            r -= w;
            if r <= 0.0 {
                return p.0 as TokenId;
            }
        }
        argmax()
    }
}

/// The length of the longest end of `text` that begins one of `stops`: text held back until
/// the next token says whether the stop string completes.
fn partial_stop_len(text: &str, stops: &[String]) -> usize {
    stops
        .iter()
        .flat_map(|stop| {
            (1..stop.len().min(text.len() + 1))
                .rev()
                .filter(|&n| stop.is_char_boundary(n) && text.ends_with(&stop[..n]))
                .take(1)
        })
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::partial_stop_len;

    #[test]
    fn holds_back_what_could_start_a_stop_string() {
        let stops = vec!["\n\n".to_owned(), "```".to_owned()];
        assert_eq!(partial_stop_len("let x = 1;\n", &stops), 1);
        assert_eq!(partial_stop_len("a ``", &stops), 2);
        assert_eq!(partial_stop_len("done", &stops), 0);
        assert_eq!(partial_stop_len("", &stops), 0);
    }
}
