//! SIMD128 kernels against the scalar oracle, in WebAssembly (run under Node and in headless
//! Chromium by `scripts/test.sh`).
//!
//! Error bound. Both kernels compute the same sum in different orders, each with a rounding
//! error of at most `n·ε·Σ|termᵢ|` (ε = f32::EPSILON), so we require
//! `|simd − scalar| ≤ 2·n·ε·Σ|termᵢ|` where `termᵢ` is `aᵢbᵢ` (dot) or `(aᵢ−bᵢ)²` (l2). Sums that
//! overflow must overflow the same way (same infinity), and denormal inputs must not produce NaN.
#![cfg(target_arch = "wasm32")]

use quiver::distance::{scalar, simd128, Metric, SIMD128};
use wasm_bindgen_test::wasm_bindgen_test;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn signed(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    /// A component drawn from one of several regimes, including adversarial ones.
    fn component(&mut self, regime: u64) -> f32 {
        let x = self.signed();
        match regime {
            0 => x,
            1 => 0.0,
            2 => x * 1.0e17,                  // very large, sums stay finite
            3 => x * 1.0e-19,                 // very small, products underflow
            4 => x * f32::MIN_POSITIVE * 0.5, // denormal
            _ => match self.next() % 4 {
                0 => 0.0,
                1 => x * 1.0e17,
                2 => x * 1.0e-30,
                _ => x,
            },
        }
    }
    fn vector(&mut self, n: usize, regime: u64) -> Vec<f32> {
        (0..n).map(|_| self.component(regime)).collect()
    }
}

fn check(name: &str, n: usize, simd: f32, scalar: f32, sum_abs: f64) {
    if !scalar.is_finite() || !simd.is_finite() {
        assert!(
            simd.to_bits() == scalar.to_bits() || (simd.is_nan() && scalar.is_nan()),
            "{name} dim {n}: simd {simd} vs scalar {scalar}"
        );
        return;
    }
    let tolerance = 2.0 * n as f64 * f64::from(f32::EPSILON) * sum_abs;
    let difference = (f64::from(simd) - f64::from(scalar)).abs();
    assert!(
        difference <= tolerance,
        "{name} dim {n}: simd {simd} vs scalar {scalar}, |diff| {difference} > {tolerance}"
    );
}

// The suite is meaningless without SIMD: refuse to build rather than compare scalar to itself.
const _: () = assert!(SIMD128, "wasm tests must be built with +simd128");

#[wasm_bindgen_test]
fn simd_matches_scalar_for_every_dimension_and_regime() {
    let mut rng = Rng(20261125);
    for n in 1..=1030usize {
        for regime in 0..6 {
            let a = rng.vector(n, regime);
            let b = rng.vector(n, (regime + n as u64) % 6);
            let dot_abs: f64 = a.iter().zip(&b).map(|(x, y)| f64::from(x * y).abs()).sum();
            check("dot", n, simd128::dot(&a, &b), scalar::dot(&a, &b), dot_abs);
            let l2_abs: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from((x - y) * (x - y)))
                .sum();
            check(
                "l2",
                n,
                simd128::l2_squared(&a, &b),
                scalar::l2_squared(&a, &b),
                l2_abs,
            );
            assert!(
                !simd128::dot(&a, &b).is_nan(),
                "dot NaN at dim {n} regime {regime}"
            );
        }
    }
}

#[wasm_bindgen_test]
fn four_row_kernels_match_scalar() {
    let mut rng = Rng(7);
    for n in (1..=1030usize).step_by(7) {
        let q = rng.vector(n, 0);
        let rows: Vec<Vec<f32>> = (0..4).map(|r| rng.vector(n, r % 6)).collect();
        let rows4 = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
        let dots = simd128::dot4(&q, rows4);
        let l2s = simd128::l2_squared4(&q, rows4);
        for r in 0..4 {
            let dot_abs: f64 = q
                .iter()
                .zip(&rows[r])
                .map(|(x, y)| f64::from(x * y).abs())
                .sum();
            check("dot4", n, dots[r], scalar::dot(&q, &rows[r]), dot_abs);
            let l2_abs: f64 = q
                .iter()
                .zip(&rows[r])
                .map(|(x, y)| f64::from((x - y) * (x - y)))
                .sum();
            check(
                "l2_squared4",
                n,
                l2s[r],
                scalar::l2_squared(&q, &rows[r]),
                l2_abs,
            );
        }
    }
}

#[wasm_bindgen_test]
fn overflow_is_the_same_infinity() {
    let big = vec![1.0e30f32; 33];
    assert_eq!(simd128::dot(&big, &big), f32::INFINITY);
    assert_eq!(scalar::dot(&big, &big), f32::INFINITY);
    let neg: Vec<f32> = big.iter().map(|x| -x).collect();
    assert_eq!(simd128::l2_squared(&big, &neg), f32::INFINITY);
    assert_eq!(simd128::dot(&big, &neg), f32::NEG_INFINITY);
}

#[wasm_bindgen_test]
fn batched_distances_match_scalar() {
    let mut rng = Rng(3);
    for dim in [1usize, 5, 64, 383, 384, 385] {
        let n_rows = 37;
        let rows = rng.vector(n_rows * dim, 0);
        let query = rng.vector(dim, 0);
        for metric in [Metric::L2, Metric::Dot] {
            let mut out = vec![0.0; n_rows];
            metric.distance_batch(&query, &rows, &mut out);
            for (r, &d) in out.iter().enumerate() {
                let row = &rows[r * dim..(r + 1) * dim];
                let expect = match metric {
                    Metric::L2 => scalar::l2_squared(&query, row),
                    _ => -scalar::dot(&query, row),
                };
                let sum_abs: f64 = query
                    .iter()
                    .zip(row)
                    .map(|(x, y)| f64::from(x * y).abs() + f64::from((x - y) * (x - y)))
                    .sum();
                check("batch", dim, d, expect, sum_abs);
            }
        }
    }
}

#[wasm_bindgen_test]
fn query_block_kernels_are_bit_identical_to_single_query_kernels() {
    // Batched search must return exactly what one-query search returns, scores included.
    let mut rng = Rng(11);
    for n in 1..=1030usize {
        let row = rng.vector(n, n as u64 % 6);
        let queries: Vec<Vec<f32>> = (0..4).map(|k| rng.vector(n, (k + n as u64) % 6)).collect();
        let q4 = [
            &queries[0][..],
            &queries[1][..],
            &queries[2][..],
            &queries[3][..],
        ];
        let dots = simd128::dot_queries4(&row, q4);
        let l2s = simd128::l2_squared_queries4(&row, q4);
        for k in 0..4 {
            let (d, l) = (simd128::dot(q4[k], &row), simd128::l2_squared(q4[k], &row));
            assert!(
                dots[k].to_bits() == d.to_bits() || (dots[k].is_nan() && d.is_nan()),
                "dot dim {n} query {k}"
            );
            assert!(
                l2s[k].to_bits() == l.to_bits() || (l2s[k].is_nan() && l.is_nan()),
                "l2 dim {n} query {k}"
            );
        }
    }
}

/// axpy is element-wise (one multiply, one add per lane), so the twins must agree bit for bit,
/// for every length (vector body and scalar tail) and when `acc` is longer than `x`.
#[wasm_bindgen_test]
fn axpy_matches_scalar_bit_for_bit() {
    let mut rng = Rng(20261126);
    for n in 0..=300usize {
        let x: Vec<f32> = (0..n).map(|_| rng.signed() * 100.0).collect();
        let start: Vec<f32> = (0..n + 3).map(|_| rng.signed()).collect();
        let a = rng.signed() * -2.0;
        let mut simd = start.clone();
        let mut oracle = start.clone();
        simd128::axpy(&mut simd, a, &x);
        scalar::axpy(&mut oracle, a, &x);
        let simd_bits: Vec<u32> = simd.iter().map(|v| v.to_bits()).collect();
        let oracle_bits: Vec<u32> = oracle.iter().map(|v| v.to_bits()).collect();
        assert_eq!(simd_bits, oracle_bits, "axpy n {n} a {a}");
    }
}
