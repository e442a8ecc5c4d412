//! SIMD128 kernels for wasm32 (`f32x4`), chosen at compile time with
//! `cfg(target_feature = "simd128")` because WebAssembly has no run-time feature detection.
//!
//! Each kernel keeps four independent `f32x4` accumulators (16 lanes per iteration) so that the
//! engine can overlap the multiply/add latency, then a single-vector loop for the remaining
//! multiples of 4, then a scalar tail, so every dimension is handled exactly. The result differs
//! from [`super::scalar`] only by summation order; `tests/wasm_kernels.rs` bounds the difference.

use core::arch::wasm32::*;

#[inline(always)]
unsafe fn load(slice: &[f32], at: usize) -> v128 {
    debug_assert!(at + 4 <= slice.len());
    // SAFETY: the caller guarantees `at + 4 <= slice.len()`; wasm loads need no alignment.
    unsafe { v128_load(slice.as_ptr().add(at) as *const v128) }
}

#[inline(always)]
fn horizontal_sum(v: v128) -> f32 {
    (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
        + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
}

/// `accᵢ += a·xᵢ` over the shorter of the two slices, four lanes per step and a scalar tail:
/// the same multiply and add per lane as the scalar kernel. Written out because LLVM leaves
/// the scalar loop unvectorized for wasm32 (seen in PQ training, whose centroid scan is this
/// loop over 256 lanes).
pub fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    let n = acc.len().min(x.len());
    let av = f32x4_splat(a);
    let mut i = 0;
    // SAFETY: every access is at `i` with `i + 4 <= n`, within both slices.
    unsafe {
        while i + 4 <= n {
            let p = acc.as_mut_ptr().add(i) as *mut v128;
            v128_store(p, f32x4_add(v128_load(p), f32x4_mul(av, load(x, i))));
            i += 4;
        }
    }
    for (y, &v) in acc[i..n].iter_mut().zip(&x[i..n]) {
        *y += a * v;
    }
}

/// Inner product `Σ aᵢ·bᵢ`.
///
/// Two accumulators, 16 floats per iteration (chunks 0 and 2 into `acc0`, 1 and 3 into `acc1`):
/// few enough live vectors that [`dot_queries4`] can repeat exactly this arithmetic for four
/// queries at once without V8 spilling registers.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc0 = f32x4_splat(0.0);
    let mut acc1 = f32x4_splat(0.0);
    let mut i = 0;
    // SAFETY: every load is at an offset `j` with `j + 4 <= n` for both slices.
    unsafe {
        while i + 16 <= n {
            acc0 = f32x4_add(acc0, f32x4_mul(load(a, i), load(b, i)));
            acc1 = f32x4_add(acc1, f32x4_mul(load(a, i + 4), load(b, i + 4)));
            acc0 = f32x4_add(acc0, f32x4_mul(load(a, i + 8), load(b, i + 8)));
            acc1 = f32x4_add(acc1, f32x4_mul(load(a, i + 12), load(b, i + 12)));
            i += 16;
        }
        while i + 4 <= n {
            acc0 = f32x4_add(acc0, f32x4_mul(load(a, i), load(b, i)));
            i += 4;
        }
    }
    let mut sum = horizontal_sum(f32x4_add(acc0, acc1));
    while i < n {
        sum += a[i] * b[i];
        i += 1;
    }
    sum
}

/// `[dot(q, row) for q in queries]`, bit-identical to four [`dot`] calls (same operations in the
/// same order per query), but each row vector is loaded once for the four queries. This is the
/// batched scan's kernel: the row streams from memory once while the queries stay in L1.
pub fn dot_queries4(row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
    let n = row.len();
    let [q0, q1, q2, q3] = queries;
    let (q0, q1, q2, q3) = (&q0[..n], &q1[..n], &q2[..n], &q3[..n]);
    let zero = f32x4_splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
    let (mut b0, mut b1, mut b2, mut b3) = (zero, zero, zero, zero);
    let mut i = 0;
    // SAFETY: every load is at an offset `j` with `j + 4 <= n`; all slices have length `n`.
    unsafe {
        // Written out, not as a loop over the four sub-steps: under `opt-level = "s"` LLVM
        // does not unroll such a loop, and the per-step branch doubled the batched scan's cost.
        macro_rules! step {
            ($j:expr, $c0:ident, $c1:ident, $c2:ident, $c3:ident) => {{
                let r = load(row, $j);
                $c0 = f32x4_add($c0, f32x4_mul(load(q0, $j), r));
                $c1 = f32x4_add($c1, f32x4_mul(load(q1, $j), r));
                $c2 = f32x4_add($c2, f32x4_mul(load(q2, $j), r));
                $c3 = f32x4_add($c3, f32x4_mul(load(q3, $j), r));
            }};
        }
        while i + 16 <= n {
            step!(i, a0, a1, a2, a3);
            step!(i + 4, b0, b1, b2, b3);
            step!(i + 8, a0, a1, a2, a3);
            step!(i + 12, b0, b1, b2, b3);
            i += 16;
        }
        while i + 4 <= n {
            let r = load(row, i);
            a0 = f32x4_add(a0, f32x4_mul(load(q0, i), r));
            a1 = f32x4_add(a1, f32x4_mul(load(q1, i), r));
            a2 = f32x4_add(a2, f32x4_mul(load(q2, i), r));
            a3 = f32x4_add(a3, f32x4_mul(load(q3, i), r));
            i += 4;
        }
    }
    let mut out = [
        horizontal_sum(f32x4_add(a0, b0)),
        horizontal_sum(f32x4_add(a1, b1)),
        horizontal_sum(f32x4_add(a2, b2)),
        horizontal_sum(f32x4_add(a3, b3)),
    ];
    while i < n {
        for (o, q) in out.iter_mut().zip([q0, q1, q2, q3]) {
            *o += q[i] * row[i];
        }
        i += 1;
    }
    out
}

/// Squared Euclidean distance `Σ (aᵢ − bᵢ)²`; same accumulator scheme as [`dot`].
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc0 = f32x4_splat(0.0);
    let mut acc1 = f32x4_splat(0.0);
    let mut i = 0;
    // SAFETY: every load is at an offset `j` with `j + 4 <= n` for both slices.
    unsafe {
        while i + 16 <= n {
            let d0 = f32x4_sub(load(a, i), load(b, i));
            acc0 = f32x4_add(acc0, f32x4_mul(d0, d0));
            let d1 = f32x4_sub(load(a, i + 4), load(b, i + 4));
            acc1 = f32x4_add(acc1, f32x4_mul(d1, d1));
            let d2 = f32x4_sub(load(a, i + 8), load(b, i + 8));
            acc0 = f32x4_add(acc0, f32x4_mul(d2, d2));
            let d3 = f32x4_sub(load(a, i + 12), load(b, i + 12));
            acc1 = f32x4_add(acc1, f32x4_mul(d3, d3));
            i += 16;
        }
        while i + 4 <= n {
            let d = f32x4_sub(load(a, i), load(b, i));
            acc0 = f32x4_add(acc0, f32x4_mul(d, d));
            i += 4;
        }
    }
    let mut sum = horizontal_sum(f32x4_add(acc0, acc1));
    while i < n {
        let d = a[i] - b[i];
        sum += d * d;
        i += 1;
    }
    sum
}

/// `[l2_squared(q, row) for q in queries]`, bit-identical to four [`l2_squared`] calls; see
/// [`dot_queries4`].
pub fn l2_squared_queries4(row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
    let n = row.len();
    let [q0, q1, q2, q3] = queries;
    let (q0, q1, q2, q3) = (&q0[..n], &q1[..n], &q2[..n], &q3[..n]);
    let zero = f32x4_splat(0.0);
    let (mut a0, mut a1, mut a2, mut a3) = (zero, zero, zero, zero);
    let (mut b0, mut b1, mut b2, mut b3) = (zero, zero, zero, zero);
    let mut i = 0;
    // SAFETY: as in `dot_queries4`.
    unsafe {
        // Written out for the same reason as in `dot_queries4`.
        macro_rules! step {
            ($j:expr, $c0:ident, $c1:ident, $c2:ident, $c3:ident) => {{
                let r = load(row, $j);
                let (d0, d1, d2, d3) = (
                    f32x4_sub(load(q0, $j), r),
                    f32x4_sub(load(q1, $j), r),
                    f32x4_sub(load(q2, $j), r),
                    f32x4_sub(load(q3, $j), r),
                );
                $c0 = f32x4_add($c0, f32x4_mul(d0, d0));
                $c1 = f32x4_add($c1, f32x4_mul(d1, d1));
                $c2 = f32x4_add($c2, f32x4_mul(d2, d2));
                $c3 = f32x4_add($c3, f32x4_mul(d3, d3));
            }};
        }
        while i + 16 <= n {
            step!(i, a0, a1, a2, a3);
            step!(i + 4, b0, b1, b2, b3);
            step!(i + 8, a0, a1, a2, a3);
            step!(i + 12, b0, b1, b2, b3);
            i += 16;
        }
        while i + 4 <= n {
            let r = load(row, i);
            let (d0, d1, d2, d3) = (
                f32x4_sub(load(q0, i), r),
                f32x4_sub(load(q1, i), r),
                f32x4_sub(load(q2, i), r),
                f32x4_sub(load(q3, i), r),
            );
            a0 = f32x4_add(a0, f32x4_mul(d0, d0));
            a1 = f32x4_add(a1, f32x4_mul(d1, d1));
            a2 = f32x4_add(a2, f32x4_mul(d2, d2));
            a3 = f32x4_add(a3, f32x4_mul(d3, d3));
            i += 4;
        }
    }
    let mut out = [
        horizontal_sum(f32x4_add(a0, b0)),
        horizontal_sum(f32x4_add(a1, b1)),
        horizontal_sum(f32x4_add(a2, b2)),
        horizontal_sum(f32x4_add(a3, b3)),
    ];
    while i < n {
        for (o, q) in out.iter_mut().zip([q0, q1, q2, q3]) {
            let d = q[i] - row[i];
            *o += d * d;
        }
        i += 1;
    }
    out
}

/// Inner products of one query against four rows, each bit-identical to [`dot`]`(q, row)`, so
/// that scoring scattered candidates four at a time (filtered scans, reranking) gives exactly
/// the scores of the flat scan. It is [`dot_queries4`] with the roles swapped: products commute
/// exactly, so sharing the query instead of the row changes nothing in the result.
pub fn dot4(q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    dot_queries4(q, rows)
}

/// Squared Euclidean distances of one query to four rows, each bit-identical to
/// [`l2_squared`]`(q, row)`: [`l2_squared_queries4`] with the roles swapped (`(r − q)²` and
/// `(q − r)²` are the same float).
pub fn l2_squared4(q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    l2_squared_queries4(q, rows)
}
