//! The numeric kernels of the local model: GGML block formats, dequantization, and the dot
//! products that dominate decoding, with AVX2 versions picked at run time and a portable scalar
//! version that the tests hold them to. The worker pool lives here too.
//!
//! The only `unsafe` of the crate is in this module tree: `std::arch` intrinsics (each behind a
//! run-time feature check) and the pool's hand-off of a borrowed closure to its workers.
#![allow(unsafe_code)]

mod pool;
#[cfg(target_arch = "x86_64")]
mod x86;

pub use pool::Pool;

/// The GGML tensor types the engine reads, with their GGUF ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    F32,
    F16,
    Bf16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
}

impl DType {
    /// The type for a GGUF type id, or `None` for types this engine cannot compute with.
    pub fn from_ggml(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::Bf16,
            _ => return None,
        })
    }

    /// (elements per block, bytes per block).
    pub fn block(self) -> (usize, usize) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::Bf16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q4K => (256, 144),
            Self::Q5K => (256, 176),
            Self::Q6K => (256, 210),
        }
    }

    /// Bytes of one row of `len` elements, or `None` when `len` is not a whole number of blocks.
    pub fn row_bytes(self, len: usize) -> Option<usize> {
        let (elems, bytes) = self.block();
        (len % elems == 0).then(|| len / elems * bytes)
    }

    /// Whether rows of this type are multiplied with Q8-quantized activations (integer dot
    /// products) rather than dequantized to f32 first.
    pub fn uses_q8(self) -> bool {
        matches!(self, Self::Q4_0 | Self::Q4_1 | Self::Q8_0)
    }
}

/// Activations quantized to blocks of 32 signed bytes with one scale each (GGML's Q8_1: the
/// scale `d` and `s = d * sum(q)`, which Q4_1's offset needs).
#[derive(Clone, Debug, Default)]
pub struct Q8Acts {
    pub d: Vec<f32>,
    pub s: Vec<f32>,
    pub qs: Vec<i8>,
}

impl Q8Acts {
    /// Quantizes `x` (a whole number of 32-element blocks) into `self`, replacing its contents.
    pub fn quantize(&mut self, x: &[f32]) {
        let nb = x.len() / 32;
        self.d.clear();
        self.s.clear();
        self.qs.clear();
        self.qs.resize(nb * 32, 0);
        for (block, qs) in x.chunks_exact(32).zip(self.qs.chunks_exact_mut(32)) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = amax / 127.0;
            let id = if d > 0.0 { 1.0 / d } else { 0.0 };
            let mut sum = 0i32;
            for (q, v) in qs.iter_mut().zip(block) {
                // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer (ties to
                // even) in plain f32 arithmetic; `f32::round` is a libm call on baseline x86-64,
                // and this runs for every activation of every matrix product.
                let r = ((v * id + 12_582_912.0) - 12_582_912.0) as i8;
                *q = r;
                sum += i32::from(r);
            }
            self.d.push(d);
            self.s.push(sum as f32 * d);
        }
    }

    /// The blocks `first..first + n`.
    pub fn blocks(&self, first: usize, n: usize) -> Q8Slice<'_> {
        Q8Slice {
            d: &self.d[first..first + n],
            s: &self.s[first..first + n],
            qs: &self.qs[first * 32..(first + n) * 32],
        }
    }
}

/// A borrowed run of [`Q8Acts`] blocks: one activation vector.
#[derive(Clone, Copy, Debug)]
pub struct Q8Slice<'a> {
    pub d: &'a [f32],
    pub s: &'a [f32],
    pub qs: &'a [i8],
}

/// Which instruction set the dot products use; detected once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The best instruction set this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if x86::available() {
            return Self::Avx2;
        }
        Self::Scalar
    }
}

/// The dot product of one quantized weight row (`row`, GGML blocks of `dtype`) with Q8
/// activations; `dtype` must be one for which [`DType::uses_q8`] holds.
pub fn dot_q8(isa: Isa, dtype: DType, row: &[u8], x: Q8Slice<'_>) -> f32 {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => x86::dot_q8(dtype, row, x),
        Isa::Scalar => dot_q8_scalar(dtype, row, x),
    }
}

/// `out[r]` = the dot product of row `r` of `rows` (consecutive rows of `dtype` blocks) with one
/// Q8 activation vector: decoding's matrix-vector product.
pub fn matvec_q8(isa: Isa, dtype: DType, rows: &[u8], x: Q8Slice<'_>, out: &mut [f32]) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => x86::matvec_q8(dtype, rows, x, out),
        Isa::Scalar => {
            let row_bytes = rows.len() / out.len().max(1);
            for (o, row) in out.iter_mut().zip(rows.chunks_exact(row_bytes.max(1))) {
                *o = dot_q8_scalar(dtype, row, x);
            }
        }
    }
}

/// [`dot_q8`] of one row with four activation vectors at once; the AVX2 Q4_1 version shares
/// the row's unpacking between them (prefill).
pub fn dot_q8_x4(isa: Isa, dtype: DType, row: &[u8], xs: [Q8Slice<'_>; 4]) -> [f32; 4] {
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 && dtype == DType::Q4_1 {
        return x86::dot_q4_1_x4(row, xs);
    }
    xs.map(|x| dot_q8(isa, dtype, row, x))
}

/// The portable version of [`dot_q8`], and the reference the SIMD versions are tested against.
pub fn dot_q8_scalar(dtype: DType, row: &[u8], x: Q8Slice<'_>) -> f32 {
    let mut total = 0f32;
    for (i, ((&dy, &sy), qy)) in x.d.iter().zip(x.s).zip(x.qs.chunks_exact(32)).enumerate() {
        total += match dtype {
            DType::Q4_1 => {
                let b = &row[i * 20..i * 20 + 20];
                let (d, m) = (f16_at(b, 0), f16_at(b, 2));
                let mut sum = 0i32;
                for j in 0..16 {
                    sum += i32::from(b[4 + j] & 0xf) * i32::from(qy[j]);
                    sum += i32::from(b[4 + j] >> 4) * i32::from(qy[j + 16]);
                }
                d * dy * sum as f32 + m * sy
            }
            DType::Q4_0 => {
                let b = &row[i * 18..i * 18 + 18];
                let mut sum = 0i32;
                for j in 0..16 {
                    sum += (i32::from(b[2 + j] & 0xf) - 8) * i32::from(qy[j]);
                    sum += (i32::from(b[2 + j] >> 4) - 8) * i32::from(qy[j + 16]);
                }
                f16_at(b, 0) * dy * sum as f32
            }
            DType::Q8_0 => {
                let b = &row[i * 34..i * 34 + 34];
                let sum: i32 = b[2..]
                    .iter()
                    .zip(qy)
                    .map(|(&w, &y)| i32::from(w as i8) * i32::from(y))
                    .sum();
                f16_at(b, 0) * dy * sum as f32
            }
            _ => 0.0,
        };
    }
    total
}

/// One query's attention over the first `seen` positions of one key/value head: `keys` and
/// `values` hold a position every `stride` floats, the head's `query.len()` floats at
/// `offset`. Adds the softmax-weighted values into `out`; `scores` is scratch space.
pub struct Attend<'a> {
    pub query: &'a [f32],
    pub keys: &'a [f32],
    pub values: &'a [f32],
    pub stride: usize,
    pub offset: usize,
    pub seen: usize,
    pub scale: f32,
}

/// Runs [`Attend`] with `isa`'s vector width. The same arithmetic in the same order on every
/// path (the body is compiled twice, once with AVX2 enabled), so the results are identical.
pub fn attend(isa: Isa, a: &Attend<'_>, scores: &mut Vec<f32>, out: &mut [f32]) {
    assert!(a.seen == 0 || a.offset + (a.seen - 1) * a.stride + a.query.len() <= a.keys.len());
    assert!(a.keys.len() <= a.values.len() && out.len() == a.query.len());
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only chosen after `x86::available()` confirmed AVX2 and FMA.
        Isa::Avx2 => unsafe { x86::attend(a, scores, out) },
        Isa::Scalar => attend_body(a, scores, out),
    }
}

#[inline(always)]
fn attend_body(a: &Attend<'_>, scores: &mut Vec<f32>, out: &mut [f32]) {
    let hd = a.query.len();
    // Plain loops, not iterator adaptors: a generic adaptor is compiled outside the AVX2
    // function that inlines this body, and would not be vectorized with it.
    scores.clear();
    scores.resize(a.seen, 0.0);
    for (p, score) in scores.iter_mut().enumerate() {
        let at = p * a.stride + a.offset;
        *score = dot_f32(a.query, &a.keys[at..at + hd]) * a.scale;
    }
    let max = scores.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s));
    let mut sum = 0f32;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for (p, &w) in scores.iter().enumerate() {
        let w = w / sum;
        let at = p * a.stride + a.offset;
        out.iter_mut()
            .zip(&a.values[at..at + hd])
            .for_each(|(o, v)| *o += w * v);
    }
}

/// The f32 dot product (auto-vectorized; eight lanes keep the additions independent).
#[inline(always)]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

/// Dequantizes one row (`row`, GGML blocks of `dtype`) into `out` (its element count).
pub fn dequantize(dtype: DType, row: &[u8], out: &mut [f32]) {
    let (elems, bytes) = dtype.block();
    for (b, y) in row.chunks_exact(bytes).zip(out.chunks_exact_mut(elems)) {
        match dtype {
            DType::F32 => y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            DType::F16 => y[0] = f16_at(b, 0),
            DType::Bf16 => y[0] = f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16),
            DType::Q4_0 => {
                let d = f16_at(b, 0);
                for j in 0..16 {
                    y[j] = (f32::from(b[2 + j] & 0xf) - 8.0) * d;
                    y[j + 16] = (f32::from(b[2 + j] >> 4) - 8.0) * d;
                }
            }
            DType::Q4_1 => {
                let (d, m) = (f16_at(b, 0), f16_at(b, 2));
                for j in 0..16 {
                    y[j] = f32::from(b[4 + j] & 0xf) * d + m;
                    y[j + 16] = f32::from(b[4 + j] >> 4) * d + m;
                }
            }
            DType::Q5_0 | DType::Q5_1 => dequantize_q5(dtype, b, y),
            DType::Q8_0 => {
                let d = f16_at(b, 0);
                for (v, &q) in y.iter_mut().zip(&b[2..]) {
                    *v = f32::from(q as i8) * d;
                }
            }
            DType::Q4K | DType::Q5K => dequantize_q45k(dtype, b, y),
            DType::Q6K => dequantize_q6k(b, y),
        }
    }
}

fn dequantize_q5(dtype: DType, b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 0);
    let (m, at) = if dtype == DType::Q5_1 {
        (f16_at(b, 2), 4)
    } else {
        (0.0, 2)
    };
    let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let qs = &b[at + 4..at + 20];
    let offset = if dtype == DType::Q5_0 { 16.0 } else { 0.0 };
    for j in 0..16 {
        let h0 = ((qh >> j) << 4) & 0x10;
        let h1 = (qh >> (j + 12)) & 0x10;
        let x0 = (u32::from(qs[j] & 0xf) | h0) as f32 - offset;
        let x1 = (u32::from(qs[j] >> 4) | h1) as f32 - offset;
        y[j] = x0 * d + m;
        y[j + 16] = x1 * d + m;
    }
}

/// The 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K block.
fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    let (d, m) = if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    };
    (f32::from(d), f32::from(m))
}

fn dequantize_q45k(dtype: DType, b: &[u8], y: &mut [f32]) {
    let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
    let scales = &b[4..16];
    let (qh, qs) = if dtype == DType::Q5K {
        (Some(&b[16..48]), &b[48..176])
    } else {
        (None, &b[16..144])
    };
    for (n, chunk) in y.chunks_exact_mut(64).enumerate() {
        let (sc1, m1) = scale_min_k4(2 * n, scales);
        let (sc2, m2) = scale_min_k4(2 * n + 1, scales);
        let ql = &qs[n * 32..n * 32 + 32];
        for l in 0..32 {
            let (mut lo, mut hi) = (f32::from(ql[l] & 0xf), f32::from(ql[l] >> 4));
            if let Some(qh) = qh {
                lo += if qh[l] & (1 << (2 * n)) != 0 {
                    16.0
                } else {
                    0.0
                };
                hi += if qh[l] & (2 << (2 * n)) != 0 {
                    16.0
                } else {
                    0.0
                };
            }
            chunk[l] = d * sc1 * lo - dmin * m1;
            chunk[l + 32] = d * sc2 * hi - dmin * m2;
        }
    }
}

fn dequantize_q6k(b: &[u8], y: &mut [f32]) {
    let d = f16_at(b, 208);
    for n in 0..2 {
        let ql = &b[n * 64..n * 64 + 64];
        let qh = &b[128 + n * 32..128 + n * 32 + 32];
        let sc = &b[192 + n * 8..192 + n * 8 + 8];
        let y = &mut y[n * 128..n * 128 + 128];
        for l in 0..32 {
            let is = l / 16;
            let q1 = i32::from((ql[l] & 0xf) | ((qh[l] & 3) << 4)) - 32;
            let q2 = i32::from((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
            let q3 = i32::from((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            let q4 = i32::from((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            let s = |k: usize| d * f32::from(sc[is + k] as i8);
            y[l] = s(0) * q1 as f32;
            y[l + 32] = s(2) * q2 as f32;
            y[l + 64] = s(4) * q3 as f32;
            y[l + 96] = s(6) * q4 as f32;
        }
    }
}

/// The little-endian IEEE half at `b[at..at + 2]`.
fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// IEEE 754 half to single precision, subnormals included.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    let bits = match (exp, mant) {
        (0, 0) => sign,
        (0, _) => {
            let (mut e, mut m) = (127 - 15 + 1, mant);
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | (e << 23) | ((m & 0x3ff) << 13)
        }
        (31, _) => sign | 0x7f80_0000 | (mant << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (mant << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests;
