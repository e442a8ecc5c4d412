//! Kernels over quantized codes: SQ8 (u8 per dimension), binary (one bit per dimension) and PQ
//! (one byte per sub-space, looked up in per-query tables).
//!
//! As for the f32 kernels, `scalar` is always compiled and is the oracle; `simd128` is used
//! on wasm32 with `+simd128`; the choice is made at compile time. `tests/wasm_quant_kernels.rs`
//! checks the twins against each other in Node and Chromium.
//!
//! Every kernel is *asymmetric*: the query stays f32 and only the stored side is quantized, so
//! the only error is the encoding error of the stored vectors. The SQ8 kernels take the query
//! in a *prepared* form (see the core's `quant::sq8`) so that decoding costs one multiply per
//! dimension instead of a multiply and an add:
//! - inner product: `q·x̂ = Σ qᵢ·minᵢ + Σ (qᵢ·δᵢ)·cᵢ`, that is a constant plus [`sq8_dot`] of
//!   the weights `wᵢ = qᵢ·δᵢ` with the codes;
//! - squared L2: `‖q − x̂‖² = Σ ((qᵢ − minᵢ) − δᵢ·cᵢ)²`, that is [`sq8_l2`] of `aᵢ = qᵢ − minᵢ`,
//!   the steps `δᵢ` and the codes.
//!
//! PQ table lookups are gathers, which SIMD128 does not have: [`pq_adc4`] is one scalar kernel
//! for every target that scores four codes at once with independent accumulators, which is
//! what lets the engine overlap the loads (see `docs/quantization.md` for the measurement).

/// Dispatches to the build's kernels.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use simd128 as kernels;

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
use scalar as kernels;

/// `Σ wᵢ·cᵢ` over equal-length weights and u8 codes.
#[inline(always)]
pub fn sq8_dot(weights: &[f32], codes: &[u8]) -> f32 {
    kernels::sq8_dot(weights, codes)
}

/// `Σ (aᵢ − δᵢ·cᵢ)²` over equal-length shifted query, steps and u8 codes.
#[inline(always)]
pub fn sq8_l2(shifted: &[f32], delta: &[f32], codes: &[u8]) -> f32 {
    kernels::sq8_l2(shifted, delta, codes)
}

/// Number of differing bits between two equal-length bit strings.
#[inline(always)]
pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
    kernels::hamming(a, b)
}

/// Entries per PQ lookup table (`2^nbits` with `nbits = 8`).
pub const PQ_KSUB: usize = 256;

/// PQ asymmetric distances of four codes (`m` bytes each) against `m` tables of
/// [`PQ_KSUB`] f32 entries each: `Σⱼ tables[j·256 + codeⱼ]`.
#[inline(always)]
pub fn pq_adc4(tables: &[f32], codes: [&[u8]; 4]) -> [f32; 4] {
    scalar::pq_adc4(tables, codes)
}

/// PQ asymmetric distance of one code; same arithmetic as [`pq_adc4`].
#[inline(always)]
pub fn pq_adc(tables: &[f32], code: &[u8]) -> f32 {
    scalar::pq_adc4(tables, [code; 4])[0]
}

/// Portable kernels: always compiled, the oracle for `simd128`.
pub mod scalar {
    use super::PQ_KSUB;

    /// `Σ wᵢ·cᵢ`, four accumulators.
    pub fn sq8_dot(weights: &[f32], codes: &[u8]) -> f32 {
        let n = weights.len().min(codes.len());
        let (w, c) = (&weights[..n], &codes[..n]);
        let mut acc = [0.0f32; 4];
        let wc = w.chunks_exact(4);
        let cc = c.chunks_exact(4);
        let (w_tail, c_tail) = (wc.remainder(), cc.remainder());
        for (x, y) in wc.zip(cc) {
            acc[0] += x[0] * f32::from(y[0]);
            acc[1] += x[1] * f32::from(y[1]);
            acc[2] += x[2] * f32::from(y[2]);
            acc[3] += x[3] * f32::from(y[3]);
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (x, &y) in w_tail.iter().zip(c_tail) {
            sum += x * f32::from(y);
        }
        sum
    }

    /// `Σ (aᵢ − δᵢ·cᵢ)²`, four accumulators.
    pub fn sq8_l2(shifted: &[f32], delta: &[f32], codes: &[u8]) -> f32 {
        let n = shifted.len().min(delta.len()).min(codes.len());
        let (a, d, c) = (&shifted[..n], &delta[..n], &codes[..n]);
        let mut acc = [0.0f32; 4];
        let mut i = 0;
        while i + 4 <= n {
            for lane in 0..4 {
                let e = a[i + lane] - d[i + lane] * f32::from(c[i + lane]);
                acc[lane] += e * e;
            }
            i += 4;
        }
        let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        while i < n {
            let e = a[i] - d[i] * f32::from(c[i]);
            sum += e * e;
            i += 1;
        }
        sum
    }

    /// Hamming distance, eight bytes at a time through `u64::count_ones` (one `popcnt`).
    pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let ac = a.chunks_exact(8);
        let bc = b.chunks_exact(8);
        let (a_tail, b_tail) = (ac.remainder(), bc.remainder());
        let mut sum = 0u32;
        for (x, y) in ac.zip(bc) {
            let x = u64::from_le_bytes(x.try_into().unwrap_or([0; 8]));
            let y = u64::from_le_bytes(y.try_into().unwrap_or([0; 8]));
            sum += (x ^ y).count_ones();
        }
        for (x, y) in a_tail.iter().zip(b_tail) {
            sum += (x ^ y).count_ones();
        }
        sum
    }

    /// Four PQ codes against the lookup tables, one accumulator per code so the four
    /// dependency chains of loads and adds overlap. Each table has exactly 256 entries, so a
    /// code byte always indexes inside it and the lookups need no bounds checks.
    pub fn pq_adc4(tables: &[f32], codes: [&[u8]; 4]) -> [f32; 4] {
        let m = codes[0].len();
        let [c0, c1, c2, c3] = codes;
        let (c0, c1, c2, c3) = (&c0[..m], &c1[..m], &c2[..m], &c3[..m]);
        let mut acc = [0.0f32; 4];
        // An index loop, not `chunks_exact().take().enumerate()`: at the package's size-first
        // opt-level those adapters' `next` stay calls, one per table.
        for j in 0..m.min(tables.len() / PQ_KSUB) {
            let table = &tables[j * PQ_KSUB..(j + 1) * PQ_KSUB];
            let table: &[f32; PQ_KSUB] = table.try_into().unwrap_or(&[0.0; PQ_KSUB]);
            acc[0] += table[usize::from(c0[j])];
            acc[1] += table[usize::from(c1[j])];
            acc[2] += table[usize::from(c2[j])];
            acc[3] += table[usize::from(c3[j])];
        }
        acc
    }
}

/// SIMD128 kernels (wasm32 with `+simd128`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub mod simd128 {
    use core::arch::wasm32::*;

    /// Widens 16 u8 codes at `codes[at..at + 16]` into four `f32x4`.
    #[inline(always)]
    unsafe fn widen16(codes: &[u8], at: usize) -> [v128; 4] {
        debug_assert!(at + 16 <= codes.len());
        // SAFETY: the caller guarantees `at + 16 <= codes.len()`; wasm loads need no alignment.
        let bytes = unsafe { v128_load(codes.as_ptr().add(at) as *const v128) };
        let low = u16x8_extend_low_u8x16(bytes);
        let high = u16x8_extend_high_u8x16(bytes);
        [
            f32x4_convert_u32x4(u32x4_extend_low_u16x8(low)),
            f32x4_convert_u32x4(u32x4_extend_high_u16x8(low)),
            f32x4_convert_u32x4(u32x4_extend_low_u16x8(high)),
            f32x4_convert_u32x4(u32x4_extend_high_u16x8(high)),
        ]
    }

    #[inline(always)]
    unsafe fn load(slice: &[f32], at: usize) -> v128 {
        debug_assert!(at + 4 <= slice.len());
        // SAFETY: the caller guarantees `at + 4 <= slice.len()`.
        unsafe { v128_load(slice.as_ptr().add(at) as *const v128) }
    }

    #[inline(always)]
    fn horizontal_sum(v: v128) -> f32 {
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
            + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }

    /// `Σ wᵢ·cᵢ`: 16 codes per iteration widened u8 → u16 → u32 → f32, four accumulators.
    pub fn sq8_dot(weights: &[f32], codes: &[u8]) -> f32 {
        let n = weights.len().min(codes.len());
        let (w, c) = (&weights[..n], &codes[..n]);
        let mut acc = [f32x4_splat(0.0); 4];
        let mut i = 0;
        // SAFETY: every load is at `i` with `i + 16 <= n` for both slices.
        unsafe {
            while i + 16 <= n {
                let x = widen16(c, i);
                for (lane, xv) in x.iter().enumerate() {
                    acc[lane] = f32x4_add(acc[lane], f32x4_mul(load(w, i + 4 * lane), *xv));
                }
                i += 16;
            }
        }
        let mut sum = horizontal_sum(f32x4_add(
            f32x4_add(acc[0], acc[1]),
            f32x4_add(acc[2], acc[3]),
        ));
        while i < n {
            sum += w[i] * f32::from(c[i]);
            i += 1;
        }
        sum
    }

    /// `Σ (aᵢ − δᵢ·cᵢ)²`, 16 codes per iteration.
    pub fn sq8_l2(shifted: &[f32], delta: &[f32], codes: &[u8]) -> f32 {
        let n = shifted.len().min(delta.len()).min(codes.len());
        let (a, d, c) = (&shifted[..n], &delta[..n], &codes[..n]);
        let mut acc = [f32x4_splat(0.0); 4];
        let mut i = 0;
        // SAFETY: every load is at `i` with `i + 16 <= n` for all three slices.
        unsafe {
            while i + 16 <= n {
                let x = widen16(c, i);
                for (lane, xv) in x.iter().enumerate() {
                    let at = i + 4 * lane;
                    let e = f32x4_sub(load(a, at), f32x4_mul(load(d, at), *xv));
                    acc[lane] = f32x4_add(acc[lane], f32x4_mul(e, e));
                }
                i += 16;
            }
        }
        let mut sum = horizontal_sum(f32x4_add(
            f32x4_add(acc[0], acc[1]),
            f32x4_add(acc[2], acc[3]),
        ));
        while i < n {
            let e = a[i] - d[i] * f32::from(c[i]);
            sum += e * e;
            i += 1;
        }
        sum
    }

    /// Hamming distance: 16 bytes per iteration through `v128.xor` and `i8x16.popcnt`, the
    /// per-byte counts widened pairwise into u16 lanes (at most 16 per lane per iteration, so
    /// a u16 lane cannot overflow below 4096 iterations = 64 KiB per code; longer codes are
    /// flushed into a u32 total every 2048 iterations).
    pub fn hamming(a: &[u8], b: &[u8]) -> u32 {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut total = 0u32;
        let mut i = 0;
        while i + 16 <= n {
            let mut acc = u16x8_splat(0);
            let mut iterations = 0;
            // SAFETY: every load is at `i` with `i + 16 <= n` for both slices.
            unsafe {
                while i + 16 <= n && iterations < 2048 {
                    let x = v128_load(a.as_ptr().add(i) as *const v128);
                    let y = v128_load(b.as_ptr().add(i) as *const v128);
                    let counts = i8x16_popcnt(v128_xor(x, y));
                    acc = i16x8_add(acc, u16x8_extadd_pairwise_u8x16(counts));
                    i += 16;
                    iterations += 1;
                }
            }
            let wide = u32x4_extadd_pairwise_u16x8(acc);
            total += u32x4_extract_lane::<0>(wide)
                + u32x4_extract_lane::<1>(wide)
                + u32x4_extract_lane::<2>(wide)
                + u32x4_extract_lane::<3>(wide);
        }
        while i < n {
            total += (a[i] ^ b[i]).count_ones();
            i += 1;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_plain_sums() {
        for n in [0usize, 1, 3, 4, 15, 16, 17, 33, 384] {
            let w: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let d: Vec<f32> = (0..n).map(|i| 0.01 + (i % 7) as f32 * 0.003).collect();
            let c: Vec<u8> = (0..n).map(|i| (i * 53 % 256) as u8).collect();
            let dot: f64 = w.iter().zip(&c).map(|(&x, &y)| x as f64 * y as f64).sum();
            assert!((sq8_dot(&w, &c) as f64 - dot).abs() < 1e-3 * (1.0 + dot.abs()));
            let l2: f64 = (0..n)
                .map(|i| (w[i] as f64 - d[i] as f64 * c[i] as f64).powi(2))
                .sum();
            assert!((sq8_l2(&w, &d, &c) as f64 - l2).abs() < 1e-3 * (1.0 + l2));
            let b: Vec<u8> = (0..n).map(|i| (i * 197 % 256) as u8).collect();
            let bits: u32 = c.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
            assert_eq!(hamming(&c, &b), bits);
        }
    }

    #[test]
    fn adc_sums_table_entries() {
        let tables: Vec<f32> = (0..3 * PQ_KSUB).map(|i| i as f32).collect();
        let code = [1u8, 3, 255];
        assert_eq!(pq_adc(&tables, &code), 1.0 + 259.0 + 767.0);
    }
}
