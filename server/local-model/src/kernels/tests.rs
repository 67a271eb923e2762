//! The SIMD dot products agree with the scalar ones, and both with f32 arithmetic on the
//! dequantized values; the pool runs every task once.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A small deterministic generator: the tests need varied data, not randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }

    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    /// A half in roughly ±[0.001, 0.1]: a realistic block scale.
    fn scale(&mut self) -> [u8; 2] {
        let exp = 5 + (self.next() % 7) as u16;
        let h = (exp << 10) | (self.next() as u16 & 0x3ff) | ((self.next() as u16 & 1) << 15);
        h.to_le_bytes()
    }
}

fn random_row(rng: &mut Rng, dtype: DType, len: usize) -> Vec<u8> {
    let (_, bytes) = dtype.block();
    let mut row = Vec::new();
    for _ in 0..len / 32 {
        let mut block: Vec<u8> = (0..bytes).map(|_| rng.byte()).collect();
        block[..2].copy_from_slice(&rng.scale());
        if dtype == DType::Q4_1 {
            block[2..4].copy_from_slice(&rng.scale());
        }
        if dtype == DType::Q8_0 {
            // GGML's Q8_0 quants are in -127..=127.
            block[2..]
                .iter_mut()
                .filter(|b| **b == 0x80)
                .for_each(|b| *b = 0x81);
        }
        row.extend(block);
    }
    row
}

fn check_dot(dtype: DType) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for len in [32, 64, 576, 1536] {
        let row = random_row(&mut rng, dtype, len);
        let x: Vec<f32> = (0..len).map(|_| rng.f32() * 4.0).collect();
        let mut q = Q8Acts::default();
        q.quantize(&x);
        let acts = q.blocks(0, len / 32);
        let scalar = dot_q8_scalar(dtype, &row, acts);
        let simd = dot_q8(Isa::detect(), dtype, &row, acts);
        assert!(
            (scalar - simd).abs() <= 1e-4 * scalar.abs().max(1.0),
            "{dtype:?} len {len}: scalar {scalar} simd {simd}"
        );
        let mut w = vec![0f32; len];
        dequantize(dtype, &row, &mut w);
        let xq: Vec<f32> = acts
            .qs
            .iter()
            .enumerate()
            .map(|(i, &v)| f32::from(v) * acts.d[i / 32])
            .collect();
        let reference = dot_f32(&w, &xq);
        assert!(
            (reference - scalar).abs() <= 1e-3 * reference.abs().max(1.0),
            "{dtype:?} len {len}: f32 reference {reference} scalar {scalar}"
        );
    }
}

#[test]
fn matrix_vector_products_agree_with_row_by_row_dots() {
    let mut rng = Rng(42);
    for dtype in [DType::Q4_1, DType::Q8_0, DType::Q4_0] {
        let (cols, rows) = (576, 7);
        let matrix: Vec<u8> = (0..rows)
            .flat_map(|_| random_row(&mut rng, dtype, cols))
            .collect();
        let x: Vec<f32> = (0..cols).map(|_| rng.f32()).collect();
        let mut q = Q8Acts::default();
        q.quantize(&x);
        let acts = q.blocks(0, cols / 32);
        let row_bytes = dtype.row_bytes(cols).unwrap_or(0);
        for isa in [Isa::Scalar, Isa::detect()] {
            let mut out = vec![0f32; rows];
            matvec_q8(isa, dtype, &matrix, acts, &mut out);
            for (r, &o) in out.iter().enumerate() {
                let row = &matrix[r * row_bytes..(r + 1) * row_bytes];
                let expected = dot_q8_scalar(dtype, row, acts);
                assert!(
                    (o - expected).abs() <= 1e-4 * expected.abs().max(1.0),
                    "{dtype:?} {isa:?} row {r}"
                );
            }
        }
    }
}

#[test]
fn q4_1_dot_products_agree() {
    check_dot(DType::Q4_1);
}

#[test]
fn q4_0_dot_products_agree() {
    check_dot(DType::Q4_0);
}

#[test]
fn q8_0_dot_products_agree() {
    check_dot(DType::Q8_0);
}

#[test]
fn simd_is_used_where_available() {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("f16c")
    {
        assert_eq!(Isa::detect(), Isa::Avx2);
    }
}

#[test]
fn halves_convert_exactly() {
    for (h, f) in [
        (0x3c00u16, 1.0f32),
        (0xc000, -2.0),
        (0x3555, 0.333_251_95),
        (0x0001, 5.960_464_5e-8),
        (0x0200, 3.051_757_8e-5),
        (0x7bff, 65504.0),
        (0x0000, 0.0),
    ] {
        assert_eq!(f16_to_f32(h), f, "{h:#06x}");
    }
    assert!(f16_to_f32(0x7c00).is_infinite());
}

#[test]
fn q8_quantization_is_close() {
    let x: Vec<f32> = (0..64).map(|i| (i as f32 - 31.5) / 7.0).collect();
    let mut q = Q8Acts::default();
    q.quantize(&x);
    for (i, v) in x.iter().enumerate() {
        let back = f32::from(q.qs[i]) * q.d[i / 32];
        assert!(
            (back - v).abs() <= q.d[i / 32] / 2.0 + 1e-6,
            "{i}: {v} vs {back}"
        );
    }
    let sum: i32 = q.qs[..32].iter().map(|&v| i32::from(v)).sum();
    assert_eq!(q.s[0], sum as f32 * q.d[0]);
}

#[test]
fn k_quants_dequantize_to_their_scales() {
    // A Q4_K block with d = 1, dmin = 0, every 6-bit scale 1 and every nibble 5 is all fives.
    let mut block = vec![0u8; 144];
    block[..2].copy_from_slice(&0x3c00u16.to_le_bytes());
    block[4..8].fill(1);
    block[12..16].fill(1);
    block[16..].fill(0x55);
    let mut out = vec![0f32; 256];
    dequantize(DType::Q4K, &block, &mut out);
    assert!(out.iter().all(|&v| v == 5.0), "{:?}", &out[..8]);
    // A Q6_K block with d = 1, scales 2 and every quant 33 (1 after the -32 offset) is all twos.
    let mut block = vec![0u8; 210];
    block[..128].fill(0x11);
    block[128..192].fill(0b1010_1010);
    block[192..208].fill(2);
    block[208..].copy_from_slice(&0x3c00u16.to_le_bytes());
    dequantize(DType::Q6K, &block, &mut out);
    assert!(out.iter().all(|&v| v == 2.0), "{:?}", &out[..8]);
}

#[test]
fn the_pool_runs_every_task_once() {
    let pool = Pool::new(3);
    for tasks in [0, 1, 2, 7, 100] {
        let counts: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
        pool.run(tasks, &|i| {
            counts[i].fetch_add(1, Ordering::SeqCst);
        });
        assert!(counts.iter().all(|c| c.load(Ordering::SeqCst) == 1));
    }
}

#[test]
fn a_panicking_task_is_reraised_and_the_pool_survives() {
    let pool = Pool::new(2);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.run(8, &|i| assert!(i != 5, "task five fails"));
    }));
    assert!(result.is_err());
    let done = AtomicUsize::new(0);
    pool.run(4, &|_| {
        done.fetch_add(1, Ordering::SeqCst);
    });
    assert_eq!(done.load(Ordering::SeqCst), 4);
}

/// Attention is bit-identical on every instruction set, and its weights are a softmax: one
/// position attended to alone gives back that position's value.
#[test]
fn attention_is_the_same_on_every_isa_and_a_softmax() {
    let mut rng = Rng(0x5eed_a77e_d000_0001);
    let (hd, stride, offset) = (64, 192, 64);
    for seen in [1, 2, 7, 33, 300] {
        let keys: Vec<f32> = (0..seen * stride).map(|_| rng.f32()).collect();
        let values: Vec<f32> = (0..seen * stride).map(|_| rng.f32()).collect();
        let query: Vec<f32> = (0..hd).map(|_| rng.f32()).collect();
        let attend = Attend {
            query: &query,
            keys: &keys,
            values: &values,
            stride,
            offset,
            seen,
            scale: 0.125,
        };
        let run = |isa| {
            let mut out = vec![0f32; hd];
            super::attend(isa, &attend, &mut Vec::new(), &mut out);
            out
        };
        let scalar = run(Isa::Scalar);
        let simd = run(Isa::detect());
        assert!(
            scalar
                .iter()
                .zip(&simd)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "seen {seen}"
        );
        if seen == 1 {
            assert_eq!(scalar, values[offset..offset + hd]);
        }
    }
}
