//! Quantized kernels in WebAssembly: the SIMD128 twins (SQ8 dot and L2 over u8 codes, Hamming
//! by `i8x16.popcnt`) against the scalar oracle, in Node and headless Chromium.
//!
//! Bounds: Hamming is an integer and must match exactly. The SQ8 kernels sum the same terms in
//! another order, so as in `wasm_kernels.rs` we require `|simd − scalar| ≤ 2·n·ε·Σ|termᵢ|`.
#![cfg(target_arch = "wasm32")]

use quiver::distance::quantized::{scalar, simd128};
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
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn close(name: &str, n: usize, simd: f32, scalar: f32, sum_abs: f64) {
    let tolerance = 2.0 * n as f64 * f64::from(f32::EPSILON) * sum_abs;
    let difference = (f64::from(simd) - f64::from(scalar)).abs();
    assert!(
        difference <= tolerance,
        "{name} dim {n}: simd {simd} vs scalar {scalar}, |diff| {difference} > {tolerance}"
    );
}

#[wasm_bindgen_test]
fn sq8_kernels_match_scalar_for_every_length() {
    let mut rng = Rng(20261126);
    for n in 0..=800usize {
        let weights: Vec<f32> = (0..n).map(|_| rng.signed()).collect();
        let delta: Vec<f32> = (0..n).map(|_| rng.signed().abs() * 0.01).collect();
        // Extreme codes (0 and 255) are as likely as the rest.
        let codes: Vec<u8> = (0..n)
            .map(|_| match rng.next() % 4 {
                0 => 0,
                1 => 255,
                _ => rng.next() as u8,
            })
            .collect();
        let dot_abs: f64 = weights
            .iter()
            .zip(&codes)
            .map(|(&w, &c)| f64::from(w).abs() * f64::from(c))
            .sum();
        close(
            "sq8_dot",
            n,
            simd128::sq8_dot(&weights, &codes),
            scalar::sq8_dot(&weights, &codes),
            dot_abs,
        );
        let l2_abs: f64 = (0..n)
            .map(|i| f64::from(weights[i] - delta[i] * f32::from(codes[i])).powi(2))
            .sum();
        close(
            "sq8_l2",
            n,
            simd128::sq8_l2(&weights, &delta, &codes),
            scalar::sq8_l2(&weights, &delta, &codes),
            l2_abs,
        );
    }
}

#[wasm_bindgen_test]
fn hamming_matches_scalar_exactly() {
    let mut rng = Rng(5);
    for n in (0..=600usize).chain([4096, 40_000, 70_000]) {
        let a = rng.bytes(n);
        let b = rng.bytes(n);
        assert_eq!(
            simd128::hamming(&a, &b),
            scalar::hamming(&a, &b),
            "hamming over {n} bytes"
        );
    }
    // All bits differ: the u16 lane accumulators must not overflow on long codes.
    let ones = vec![0xffu8; 70_000];
    let zeros = vec![0u8; 70_000];
    assert_eq!(simd128::hamming(&ones, &zeros), 560_000);
}
