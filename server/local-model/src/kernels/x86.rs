//! AVX2 dot products of quantized weight rows with Q8 activations, after GGML's: 4-bit nibbles
//! are widened to bytes, multiplied with the activation bytes by `maddubs` and summed to i32
//! lanes, then scaled in f32. Only called once [`available`] said so.

use std::arch::x86_64::*;

use super::{Attend, DType, Q8Slice, attend_body, dot_q8_scalar};

/// Whether this CPU runs the AVX2 path (AVX2 for the integer work, FMA and F16C for the scales).
pub fn available() -> bool {
    is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
}

/// [`super::dot_q8`] on AVX2.
pub fn dot_q8(dtype: DType, row: &[u8], x: Q8Slice<'_>) -> f32 {
    let (_, bytes) = dtype.block();
    let nb = x.d.len();
    // The kernels index `row`, `x.s` and `x.qs` by `x.d`'s block count without bounds checks.
    assert!(row.len() >= nb * bytes && x.s.len() >= nb && x.qs.len() >= nb * 32);
    match dtype {
        // SAFETY: `Isa::Avx2` is only chosen after `available()` confirmed AVX2, FMA and F16C;
        // the lengths were checked above.
        DType::Q4_1 => unsafe { dot_q4_1(row, x) },
        // SAFETY: as above.
        DType::Q4_0 => unsafe { dot_q4_0(row, x) },
        // SAFETY: as above.
        DType::Q8_0 => unsafe { dot_q8_0(row, x) },
        _ => dot_q8_scalar(dtype, row, x),
    }
}

/// [`super::matvec_q8`] on AVX2: the loop over rows is inside the feature-enabled code, so the
/// per-block kernel inlines and a short row (576 elements: 18 blocks) pays no call overhead.
pub fn matvec_q8(dtype: DType, rows: &[u8], x: Q8Slice<'_>, out: &mut [f32]) {
    let (_, bytes) = dtype.block();
    let nb = x.d.len();
    let row_bytes = nb * bytes;
    assert!(rows.len() >= out.len() * row_bytes && x.s.len() >= nb && x.qs.len() >= nb * 32);
    match dtype {
        // SAFETY: `Isa::Avx2` is only chosen after `available()` confirmed AVX2, FMA and F16C;
        // the lengths were checked above.
        DType::Q4_1 => unsafe { rows_q4_1(rows, row_bytes, x, out) },
        // SAFETY: as above.
        DType::Q8_0 => unsafe { rows_q8_0(rows, row_bytes, x, out) },
        _ => {
            for (o, row) in out.iter_mut().zip(rows.chunks_exact(row_bytes)) {
                *o = dot_q8(dtype, row, x);
            }
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn rows_q4_1(rows: &[u8], row_bytes: usize, x: Q8Slice<'_>, out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(row_bytes)) {
        *o = dot_q4_1(row, x);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn rows_q8_0(rows: &[u8], row_bytes: usize, x: Q8Slice<'_>, out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(row_bytes)) {
        *o = dot_q8_0(row, x);
    }
}

/// Four dot products of one Q4_1 row with four activation vectors: the row's nibbles are
/// unpacked and its scales converted once for all four (prefill's matrix products). Each column
/// sums in exactly the order of [`dot_q4_1`], so batched and one-token results are identical.
pub fn dot_q4_1_x4(row: &[u8], xs: [Q8Slice<'_>; 4]) -> [f32; 4] {
    let nb = xs[0].d.len();
    assert!(row.len() >= nb * 20);
    for x in &xs {
        assert!(x.d.len() == nb && x.s.len() >= nb && x.qs.len() >= nb * 32);
    }
    // SAFETY: `Isa::Avx2` is only chosen after `available()` confirmed AVX2, FMA and F16C;
    // the lengths were checked above.
    unsafe { q4_1_x4(row, xs) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4_1_x4(row: &[u8], xs: [Q8Slice<'_>; 4]) -> [f32; 4] {
    let mut acc = [[_mm256_setzero_ps(); 2]; 4];
    let mut offsets = [0f32; 4];
    for i in 0..xs[0].d.len() {
        // SAFETY: block `i` is inside `row` (checked by `dot_q4_1_x4`): d, m, 16 nibbles.
        let b = unsafe { row.as_ptr().add(i * 20) };
        // SAFETY: d and m are the block's first four bytes, the nibbles its last 16.
        let (d, m, qx) = unsafe { (half(b), half(b.add(2)), nibbles(b.add(4))) };
        for c in 0..4 {
            offsets[c] += m * xs[c].s[i];
            let xy = mul_sum_us8(qx, load_y(xs[c], i));
            acc[c][i & 1] = _mm256_fmadd_ps(_mm256_set1_ps(d * xs[c].d[i]), xy, acc[c][i & 1]);
        }
    }
    let sum = |c: usize| hsum(_mm256_add_ps(acc[c][0], acc[c][1])) + offsets[c];
    [sum(0), sum(1), sum(2), sum(3)]
}

#[target_feature(enable = "avx2,fma,f16c")]
fn half(p: *const u8) -> f32 {
    // SAFETY: callers pass a pointer to two readable bytes inside a checked row.
    let h = unsafe { std::ptr::read_unaligned(p as *const u16) };
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(i32::from(h))))
}

/// 32 nibbles (16 bytes at `p`) as 32 bytes 0..=15: low nibbles first, as GGML orders them.
#[target_feature(enable = "avx2,fma,f16c")]
fn nibbles(p: *const u8) -> __m256i {
    // SAFETY: callers pass a pointer to 16 readable bytes inside a checked row.
    let tmp = unsafe { _mm_loadu_si128(p as *const __m128i) };
    let both = _mm256_set_m128i(_mm_srli_epi16(tmp, 4), tmp);
    _mm256_and_si256(both, _mm256_set1_epi8(0x0f))
}

/// Eight i32 sums of products of unsigned bytes `ux` with signed bytes `y`, as f32.
#[target_feature(enable = "avx2,fma,f16c")]
fn mul_sum_us8(ux: __m256i, y: __m256i) -> __m256 {
    let pairs = _mm256_maddubs_epi16(ux, y);
    _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
}

/// Signed × signed: `maddubs` wants one unsigned operand, so move `x`'s sign onto `y`.
#[target_feature(enable = "avx2,fma,f16c")]
fn mul_sum_i8(x: __m256i, y: __m256i) -> __m256 {
    mul_sum_us8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn hsum(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn load_y(x: Q8Slice<'_>, i: usize) -> __m256i {
    // SAFETY: `dot_q8` checked that `x.qs` holds 32 bytes for every block `i < x.d.len()`.
    unsafe { _mm256_loadu_si256(x.qs.as_ptr().add(i * 32) as *const __m256i) }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_1(row: &[u8], x: Q8Slice<'_>) -> f32 {
    // Two accumulators: consecutive blocks do not wait on each other's multiply-add.
    let mut acc = [_mm256_setzero_ps(); 2];
    let mut offsets = 0f32;
    for i in 0..x.d.len() {
        // SAFETY: block `i` is inside `row` (checked by `dot_q8`), 20 bytes: d, m, 16 nibbles.
        let b = unsafe { row.as_ptr().add(i * 20) };
        // SAFETY: d and m are the block's first four bytes.
        let (d, m) = unsafe { (half(b), half(b.add(2))) };
        offsets += m * x.s[i];
        // SAFETY: the nibbles are the block's last 16 bytes.
        let qx = unsafe { nibbles(b.add(4)) };
        let xy = mul_sum_us8(qx, load_y(x, i));
        acc[i & 1] = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d[i]), xy, acc[i & 1]);
    }
    hsum(_mm256_add_ps(acc[0], acc[1])) + offsets
}

#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q4_0(row: &[u8], x: Q8Slice<'_>) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for i in 0..x.d.len() {
        // SAFETY: block `i` is inside `row` (checked by `dot_q8`), 18 bytes: d, 16 nibbles.
        let b = unsafe { row.as_ptr().add(i * 18) };
        // SAFETY: d is the block's first two bytes, the nibbles the next 16.
        let (d, qx) = unsafe { (half(b), nibbles(b.add(2))) };
        let qx = _mm256_sub_epi8(qx, _mm256_set1_epi8(8));
        let xy = mul_sum_i8(qx, load_y(x, i));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d[i]), xy, acc);
    }
    hsum(acc)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
fn dot_q8_0(row: &[u8], x: Q8Slice<'_>) -> f32 {
    let mut acc = [_mm256_setzero_ps(); 2];
    for i in 0..x.d.len() {
        // SAFETY: block `i` is inside `row` (checked by `dot_q8`), 34 bytes: d, 32 bytes.
        let b = unsafe { row.as_ptr().add(i * 34) };
        // SAFETY: d is the block's first two bytes, the quants the next 32.
        let (d, qx) = unsafe { (half(b), _mm256_loadu_si256(b.add(2) as *const __m256i)) };
        let xy = mul_sum_i8(qx, load_y(x, i));
        acc[i & 1] = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d[i]), xy, acc[i & 1]);
    }
    hsum(_mm256_add_ps(acc[0], acc[1]))
}

/// [`super::attend`] with AVX2 enabled: the portable body, vectorized eight floats wide.
#[target_feature(enable = "avx2,fma,f16c")]
pub fn attend(a: &Attend<'_>, scores: &mut Vec<f32>, out: &mut [f32]) {
    attend_body(a, scores, out);
}
