//! Portable scalar kernels: always compiled, used on targets without SIMD128, and the oracle the
//! SIMD kernels are tested against.
//!
//! Four independent accumulators give the CPU (or wasm engine) instruction-level parallelism
//! without changing what is computed beyond summation order.

/// `accᵢ += a·xᵢ` over the shorter of the two slices.
pub fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    for (y, &v) in acc.iter_mut().zip(x) {
        *y += a * v;
    }
}

/// Inner product `Σ aᵢ·bᵢ`. The slices must have equal length (checked by the caller).
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
///
/// The four rows are read in one interleaved pass (each query chunk loaded once), so four
/// memory streams are in flight at once; each row keeps its own four accumulators and the same
/// summation order as [`dot`], so the result equals `dot(q, row)` bit for bit.
pub fn dot4(q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    let n = q.len();
    let rows = rows.map(|r| &r[..n]);
    let mut acc = [[0.0f32; 4]; 4];
    let full = n - n % 4;
    let mut i = 0;
    while i < full {
        let x = &q[i..i + 4];
        for (a, r) in acc.iter_mut().zip(&rows) {
            let y = &r[i..i + 4];
            a[0] += x[0] * y[0];
            a[1] += x[1] * y[1];
            a[2] += x[2] * y[2];
            a[3] += x[3] * y[3];
        }
        i += 4;
    }
    let mut out = [0.0f32; 4];
    for ((o, a), r) in out.iter_mut().zip(&acc).zip(&rows) {
        let mut sum = (a[0] + a[1]) + (a[2] + a[3]);
        for (x, y) in q[full..].iter().zip(&r[full..]) {
            sum += x * y;
        }
        *o = sum;
    }
    out
}

/// Squared Euclidean distances of one query to four rows, interleaved like [`dot4`] and equal
/// to `l2_squared(q, row)` bit for bit.
pub fn l2_squared4(q: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    let n = q.len();
    let rows = rows.map(|r| &r[..n]);
    let mut acc = [[0.0f32; 4]; 4];
    let full = n - n % 4;
    let mut i = 0;
    while i < full {
        let x = &q[i..i + 4];
        for (a, r) in acc.iter_mut().zip(&rows) {
            let y = &r[i..i + 4];
            let d = [x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3]];
            a[0] += d[0] * d[0];
            a[1] += d[1] * d[1];
            a[2] += d[2] * d[2];
            a[3] += d[3] * d[3];
        }
        i += 4;
    }
    let mut out = [0.0f32; 4];
    for ((o, a), r) in out.iter_mut().zip(&acc).zip(&rows) {
        let mut sum = (a[0] + a[1]) + (a[2] + a[3]);
        for (x, y) in q[full..].iter().zip(&r[full..]) {
            let d = x - y;
            sum += d * d;
        }
        *o = sum;
    }
    out
}

/// Inner products of four queries against one row (the batched scan's unit of work); each is
/// exactly `dot(query, row)`.
pub fn dot_queries4(row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
    queries.map(|q| dot(q, row))
}

/// Squared Euclidean distances of four queries to one row; each is exactly
/// `l2_squared(query, row)`.
pub fn l2_squared_queries4(row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
    queries.map(|q| l2_squared(q, row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_row_kernels_equal_single_row_kernels_bit_for_bit() {
        for n in [0usize, 1, 3, 4, 5, 8, 17, 384] {
            let q: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let rows: Vec<Vec<f32>> = (0..4)
                .map(|r| (0..n).map(|i| ((i * 7 + r) as f32 * 0.11).cos()).collect())
                .collect();
            let refs = [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
            let d4 = dot4(&q, refs);
            let l4 = l2_squared4(&q, refs);
            for r in 0..4 {
                assert_eq!(d4[r].to_bits(), dot(&q, refs[r]).to_bits(), "dot n {n}");
                assert_eq!(
                    l4[r].to_bits(),
                    l2_squared(&q, refs[r]).to_bits(),
                    "l2 n {n}"
                );
            }
        }
    }
}
