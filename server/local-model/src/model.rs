//! The transformer: a llama-family decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU)
//! built from a GGUF's tensors, and the forward pass over a [`Cache`] of keys and values.
//! Architectures: `llama` (and `mistral`) with adjacent-pair RoPE, `qwen2` with NeoX RoPE and
//! Q/K/V biases. The output projection falls back to the token embedding when absent (tied).

use std::path::Path;
use std::sync::Mutex;

use crate::gguf::{Header, TensorInfo};
use crate::kernels::{self, DType, Isa, Pool, Q8Acts};
use crate::tokenizer::TokenId;

/// The most positions a cache holds, whatever the model was trained for: 4,096 positions of
/// SmolLM2-135M cost 180 MB of f32 keys and values.
pub const MAX_CONTEXT: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rope {
    /// Rotates adjacent pairs (x0, x1), (x2, x3)… as GGUF's permuted llama weights expect.
    Normal,
    /// Rotates (x_i, x_{i + n/2}), as Qwen 2 and GPT-NeoX do.
    Neox,
}

/// Hyper-parameters from the GGUF metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub arch: String,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub vocab: usize,
    pub eps: f32,
    pub rope: Rope,
    pub n_rot: usize,
    pub rope_base: f32,
    pub context: usize,
}

impl Config {
    pub fn from_header(h: &Header) -> Result<Self, String> {
        let arch = h.str("general.architecture").unwrap_or("").to_owned();
        let rope = match arch.as_str() {
            "llama" | "mistral" => Rope::Normal,
            "qwen2" => Rope::Neox,
            "" => return Err("the file names no architecture (general.architecture)".into()),
            other => {
                return Err(format!(
                    "architecture \"{other}\" is not supported (llama, mistral or qwen2)"
                ));
            }
        };
        let int = |key: &str| -> Result<usize, String> {
            h.int(&format!("{arch}.{key}"))
                .and_then(|v| usize::try_from(v).ok())
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("the file has no {arch}.{key}"))
        };
        let n_embd = int("embedding_length")?;
        let n_head = int("attention.head_count")?;
        let n_kv_head = int("attention.head_count_kv").unwrap_or(n_head);
        let head_dim = n_embd / n_head;
        if n_embd % n_head != 0 || n_head % n_kv_head != 0 || head_dim % 2 != 0 {
            return Err("inconsistent head counts".into());
        }
        let vocab = h
            .array("tokenizer.ggml.tokens")
            .map(<[_]>::len)
            .unwrap_or(0);
        Ok(Self {
            n_embd,
            n_layer: int("block_count")?,
            n_head,
            n_kv_head,
            head_dim,
            n_ff: int("feed_forward_length")?,
            vocab,
            eps: h
                .float(&format!("{arch}.attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-5) as f32,
            rope,
            n_rot: int("rope.dimension_count")
                .unwrap_or(head_dim)
                .min(head_dim),
            rope_base: h
                .float(&format!("{arch}.rope.freq_base"))
                .unwrap_or(10_000.0) as f32,
            context: int("context_length").unwrap_or(2048).min(MAX_CONTEXT),
            arch,
        })
    }

    fn kv_dim(&self) -> usize {
        self.n_kv_head * self.head_dim
    }
}

/// A weight matrix: `rows` rows of `cols` elements, at `offset` in the model's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Matrix {
    pub dtype: DType,
    pub rows: usize,
    pub cols: usize,
    pub offset: usize,
    pub row_bytes: usize,
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: Matrix,
    wk: Matrix,
    wv: Matrix,
    wo: Matrix,
    bias_q: Option<Vec<f32>>,
    bias_k: Option<Vec<f32>>,
    bias_v: Option<Vec<f32>>,
    ffn_norm: Vec<f32>,
    gate: Matrix,
    up: Matrix,
    down: Matrix,
}

pub struct Model {
    pub config: Config,
    data: Vec<u8>,
    embd: Matrix,
    layers: Vec<Layer>,
    out_norm: Vec<f32>,
    output: Matrix,
    inv_freq: Vec<f32>,
    isa: Isa,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("config", &self.config)
            .finish()
    }
}

impl Model {
    /// Reads the weights of the GGUF at `path`, whose header is `h`.
    pub fn load(path: &Path, h: &Header, config: Config) -> Result<Self, String> {
        let (_, mut file) = Header::read(path)?;
        let data = h.read_data(&mut file)?;
        Self::from_data(h, config, data)
    }

    fn from_data(h: &Header, config: Config, data: Vec<u8>) -> Result<Self, String> {
        let c = &config;
        let matrix = |name: &str, cols: usize, rows: usize| -> Result<Matrix, String> {
            let t = tensor(h, name)?;
            if t.dims != [cols, rows] {
                return Err(format!(
                    "tensor {name} has shape {:?}, expected [{cols}, {rows}]",
                    t.dims
                ));
            }
            let row_bytes = t.dtype.row_bytes(cols).unwrap_or(0);
            Ok(Matrix {
                dtype: t.dtype,
                rows,
                cols,
                offset: t.offset as usize,
                row_bytes,
            })
        };
        let vector = |name: &str, len: usize| -> Result<Vec<f32>, String> {
            let t = tensor(h, name)?;
            if t.elements() != len {
                return Err(format!(
                    "tensor {name} has {} elements, expected {len}",
                    t.elements()
                ));
            }
            let bytes = &data[t.offset as usize..t.offset as usize + t.bytes()];
            let mut out = vec![0f32; len];
            kernels::dequantize(t.dtype, bytes, &mut out);
            Ok(out)
        };
        let optional =
            |name: &str, len: usize| h.tensor(name).map(|_| vector(name, len)).transpose();
        let (e, kv, ff) = (c.n_embd, c.kv_dim(), c.n_ff);
        let embd = matrix("token_embd.weight", e, c.vocab)?;
        let mut layers = Vec::with_capacity(c.n_layer);
        for i in 0..c.n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            layers.push(Layer {
                attn_norm: vector(&n("attn_norm.weight"), e)?,
                wq: matrix(&n("attn_q.weight"), e, e)?,
                wk: matrix(&n("attn_k.weight"), e, kv)?,
                wv: matrix(&n("attn_v.weight"), e, kv)?,
                wo: matrix(&n("attn_output.weight"), e, e)?,
                bias_q: optional(&n("attn_q.bias"), e)?,
                bias_k: optional(&n("attn_k.bias"), kv)?,
                bias_v: optional(&n("attn_v.bias"), kv)?,
                ffn_norm: vector(&n("ffn_norm.weight"), e)?,
                gate: matrix(&n("ffn_gate.weight"), e, ff)?,
                up: matrix(&n("ffn_up.weight"), e, ff)?,
                down: matrix(&n("ffn_down.weight"), ff, e)?,
            });
        }
        let output = match h.tensor("output.weight") {
            Some(_) => matrix("output.weight", e, c.vocab)?,
            None => embd,
        };
        let mut inv_freq: Vec<f32> = (0..c.n_rot / 2)
            .map(|i| c.rope_base.powf(-2.0 * i as f32 / c.n_rot as f32))
            .collect();
        if let Some(factors) = optional("rope_freqs.weight", c.n_rot / 2)? {
            inv_freq.iter_mut().zip(factors).for_each(|(f, k)| *f /= k);
        }
        Ok(Self {
            out_norm: vector("output_norm.weight", e)?,
            embd,
            layers,
            output,
            inv_freq,
            isa: Isa::detect(),
            data,
            config,
        })
    }

    /// Uses the portable kernels instead of SIMD (for tests that compare the two).
    pub fn set_isa(&mut self, isa: Isa) {
        self.isa = isa;
    }

    fn row(&self, m: &Matrix, r: usize) -> &[u8] {
        let at = m.offset + r * m.row_bytes;
        &self.data[at..at + m.row_bytes]
    }

    /// Runs `tokens` (at positions `cache.len()..`) through the model, appending their keys and
    /// values to `cache`; returns the logits of the last token.
    pub fn forward(&self, pool: &Pool, cache: &mut Cache, tokens: &[TokenId]) -> Vec<f32> {
        let c = &self.config;
        let (b, e) = (tokens.len(), c.n_embd);
        let start = cache.len;
        let mut x = vec![0f32; b * e];
        for (t, &id) in tokens.iter().enumerate() {
            let id = (id as usize).min(c.vocab - 1);
            kernels::dequantize(
                self.embd.dtype,
                self.row(&self.embd, id),
                &mut x[t * e..][..e],
            );
        }
        let mut acts = Acts::default();
        let mut xn = vec![0f32; b * e];
        for (l, layer) in self.layers.iter().enumerate() {
            rms_norm(&x, &layer.attn_norm, c.eps, &mut xn);
            acts.set(&xn, e, needs_q8(&[layer.wq, layer.wk, layer.wv]));
            let mut q = self.matmul(pool, &layer.wq, &acts);
            let mut k = self.matmul(pool, &layer.wk, &acts);
            let mut v = self.matmul(pool, &layer.wv, &acts);
            add_bias(&mut q, layer.bias_q.as_deref());
            add_bias(&mut k, layer.bias_k.as_deref());
            add_bias(&mut v, layer.bias_v.as_deref());
            for t in 0..b {
                let pos = start + t;
                self.rope(&mut q[t * e..][..e], pos);
                self.rope(&mut k[t * c.kv_dim()..][..c.kv_dim()], pos);
            }
            cache.keys[l].extend_from_slice(&k);
            cache.values[l].extend_from_slice(&v);
            let att = self.attention(pool, &q, &cache.keys[l], &cache.values[l], start, b);
            acts.set(&att, e, layer.wo.dtype.uses_q8());
            let o = self.matmul(pool, &layer.wo, &acts);
            x.iter_mut().zip(&o).for_each(|(x, o)| *x += o);

            rms_norm(&x, &layer.ffn_norm, c.eps, &mut xn);
            acts.set(&xn, e, needs_q8(&[layer.gate, layer.up]));
            let gate = self.matmul(pool, &layer.gate, &acts);
            let mut up = self.matmul(pool, &layer.up, &acts);
            up.iter_mut()
                .zip(&gate)
                .for_each(|(u, &g)| *u *= g / (1.0 + (-g).exp()));
            acts.set(&up, c.n_ff, layer.down.dtype.uses_q8());
            let down = self.matmul(pool, &layer.down, &acts);
            x.iter_mut().zip(&down).for_each(|(x, d)| *x += d);
        }
        cache.len += b;
        let last = &x[(b - 1) * e..];
        let mut normed = vec![0f32; e];
        rms_norm(last, &self.out_norm, c.eps, &mut normed);
        acts.set(&normed, e, self.output.dtype.uses_q8());
        self.matmul(pool, &self.output, &acts)
    }

    fn rope(&self, v: &mut [f32], pos: usize) {
        let c = &self.config;
        for head in v.chunks_exact_mut(c.head_dim) {
            for (i, &f) in self.inv_freq.iter().enumerate() {
                let (sin, cos) = (pos as f32 * f).sin_cos();
                let (a, b) = match c.rope {
                    Rope::Normal => (2 * i, 2 * i + 1),
                    Rope::Neox => (i, i + c.n_rot / 2),
                };
                let (x0, x1) = (head[a], head[b]);
                head[a] = x0 * cos - x1 * sin;
                head[b] = x0 * sin + x1 * cos;
            }
        }
    }

    /// Causal attention of `b` new queries (at positions `start..start + b`) over the cache,
    /// one task per (token, head).
    fn attention(
        &self,
        pool: &Pool,
        q: &[f32],
        keys: &[f32],
        values: &[f32],
        start: usize,
        b: usize,
    ) -> Vec<f32> {
        let c = &self.config;
        let (hd, kv) = (c.head_dim, c.kv_dim());
        let group = c.n_head / c.n_kv_head;
        let scale = 1.0 / (hd as f32).sqrt();
        let mut out = vec![0f32; b * c.n_embd];
        let slots: Vec<Mutex<&mut [f32]>> = out.chunks_mut(hd).map(Mutex::new).collect();
        pool.run(b * c.n_head, &|task| {
            let (t, h) = (task / c.n_head, task % c.n_head);
            let attend = kernels::Attend {
                query: &q[t * c.n_embd + h * hd..][..hd],
                keys,
                values,
                stride: kv,
                offset: (h / group) * hd,
                seen: start + t + 1,
                scale,
            };
            let mut slot = slots[task].lock().unwrap_or_else(|e| e.into_inner());
            kernels::attend(self.isa, &attend, &mut Vec::new(), &mut slot);
        });
        drop(slots);
        out
    }

    /// `m` times every vector in `acts`: a `[vectors][m.rows]` result, rows split over the pool.
    fn matmul(&self, pool: &Pool, m: &Matrix, acts: &Acts) -> Vec<f32> {
        let b = acts.count;
        let chunk = m
            .rows
            .div_ceil(pool.threads() * if b == 1 { 2 } else { 8 })
            .max(16);
        let mut by_row = vec![0f32; m.rows * b];
        {
            let slots: Vec<Mutex<&mut [f32]>> =
                by_row.chunks_mut(chunk * b).map(Mutex::new).collect();
            let nb = m.cols / 32;
            pool.run(slots.len(), &|task| {
                let mut out = slots[task].lock().unwrap_or_else(|e| e.into_inner());
                let first = task * chunk;
                if b == 1 && m.dtype.uses_q8() {
                    let at = m.offset + first * m.row_bytes;
                    let rows = &self.data[at..at + out.len() * m.row_bytes];
                    kernels::matvec_q8(self.isa, m.dtype, rows, acts.q8.blocks(0, nb), &mut out);
                    return;
                }
                let mut row_f32 = Vec::new();
                for (i, out_row) in out.chunks_mut(b).enumerate() {
                    let row = self.row(m, first + i);
                    if m.dtype.uses_q8() {
                        let x = |t: usize| acts.q8.blocks(t * nb, nb);
                        let mut quads = out_row.chunks_exact_mut(4);
                        for (q, out4) in (&mut quads).enumerate() {
                            let xs = [x(4 * q), x(4 * q + 1), x(4 * q + 2), x(4 * q + 3)];
                            out4.copy_from_slice(&kernels::dot_q8_x4(self.isa, m.dtype, row, xs));
                        }
                        let done = b - b % 4;
                        for (t, o) in quads.into_remainder().iter_mut().enumerate() {
                            *o = kernels::dot_q8(self.isa, m.dtype, row, x(done + t));
                        }
                    } else {
                        row_f32.resize(m.cols, 0.0);
                        kernels::dequantize(m.dtype, row, &mut row_f32);
                        for (t, o) in out_row.iter_mut().enumerate() {
                            *o = kernels::dot_f32(&row_f32, &acts.x[t * m.cols..][..m.cols]);
                        }
                    }
                }
            });
        }
        if b == 1 {
            return by_row;
        }
        let mut out = vec![0f32; m.rows * b];
        for r in 0..m.rows {
            for t in 0..b {
                out[t * m.rows + r] = by_row[r * b + t];
            }
        }
        out
    }
}

/// The keys and values of every position seen so far, per layer.
#[derive(Debug)]
pub struct Cache {
    keys: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    len: usize,
}

impl Cache {
    pub fn new(config: &Config) -> Self {
        Self {
            keys: vec![Vec::new(); config.n_layer],
            values: vec![Vec::new(); config.n_layer],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every position from `len` on.
    pub fn truncate(&mut self, len: usize, config: &Config) {
        let keep = len.min(self.len);
        for layer in self.keys.iter_mut().chain(self.values.iter_mut()) {
            layer.truncate(keep * config.kv_dim());
        }
        self.len = keep;
    }
}

/// The input vectors of a matrix product: f32, and Q8 blocks when the weights want them.
#[derive(Default)]
struct Acts {
    x: Vec<f32>,
    q8: Q8Acts,
    count: usize,
}

impl Acts {
    fn set(&mut self, x: &[f32], len: usize, q8: bool) {
        self.x.clear();
        self.x.extend_from_slice(x);
        self.count = x.len() / len;
        if q8 {
            self.q8.quantize(x);
        }
    }
}

fn needs_q8(ms: &[Matrix]) -> bool {
    ms.iter().any(|m| m.dtype.uses_q8())
}

fn tensor<'a>(h: &'a Header, name: &str) -> Result<&'a TensorInfo, String> {
    h.tensor(name)
        .ok_or_else(|| format!("the file has no tensor {name}"))
}

fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let n = weight.len();
    for (xs, os) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
        let mean = xs.iter().map(|v| v * v).sum::<f32>() / n as f32;
        let scale = 1.0 / (mean + eps).sqrt();
        for ((o, &v), &w) in os.iter_mut().zip(xs).zip(weight) {
            *o = v * scale * w;
        }
    }
}

fn add_bias(v: &mut [f32], bias: Option<&[f32]>) {
    if let Some(bias) = bias {
        for row in v.chunks_exact_mut(bias.len()) {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        }
    }
}
