//! Portable scalar kernels: always compiled, used on targets without SIMD128, and the oracle the
//! SIMD kernels are tested against.
//!
//! Four independent accumulators give the CPU (or wasm engine) instruction-level parallelism
//! without changing what is computed beyond summation order.

/// Inner product `Σ aᵢ·bᵢ`. The slices must have equal length (checked by the caller).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 4];
    let a_chunks = a.chunks_exact(4);
    let b_chunks = b.chunks_exact(4);
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    sum
}

/// Squared Euclidean distance `Σ (aᵢ − bᵢ)²`. The slices must have equal length.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 4];
    let a_chunks = a.chunks_exact(4);
    let b_chunks = b.chunks_exact(4);
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        let d0 = x[0] - y[0];
        let d1 = x[1] - y[1];
        let d2 = x[2] - y[2];
        let d3 = x[3] - y[3];
        acc[0] += d0 * d0;
        acc[1] += d1 * d1;
        acc[2] += d2 * d2;
        acc[3] += d3 * d3;
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in a_tail.iter().zip(b_tail) {
        let d = x - y;
        sum += d * d;
    }
    sum
}

/// Inner products of one query against four rows (the batched form's unit of work).
#[inline]
pub fn dot4(q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    rows.map(|r| dot(q, r))
}

/// Squared Euclidean distances of one query to four rows.
#[inline]
pub fn l2_squared4(q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    rows.map(|r| l2_squared(q, r))
}

/// Inner products of four queries against one row (the batched scan's unit of work); each is
/// exactly `dot(query, row)`.
#[inline]
pub fn dot_queries4(row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
    queries.map(|q| dot(q, row))
}

/// Squared Euclidean distances of four queries to one row; each is exactly
/// `l2_squared(query, row)`.
#[inline]
pub fn l2_squared_queries4(row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
    queries.map(|q| l2_squared(q, row))
}
