//! Distance kernels and metric semantics.
//!
//! The raw kernels are the `quiver-kernels` crate (`kernels/`): [`scalar`] (always compiled,
//! the test oracle), `simd128` (wasm32 with `+simd128`) and [`quantized`], re-exported here so
//! the rest of the core names them as before. They are a crate of their own so that the
//! release profile builds them for speed while the core is built for size (see that crate's
//! docs). The wrappers below are `#[inline(always)]`: at the size-first opt-level a plain
//! `#[inline]` one-line dispatcher can stay a call on every distance.
//!
//! [`Metric`] turns kernels into an internal *distance* where lower is better for every metric
//! (`l2` → squared L2; `dot` and `cosine` → negated inner product, cosine over unit vectors).
//! Indexes only ever compare distances; [`Metric::score`] converts to the user-facing score.

use serde::{Deserialize, Serialize};

pub use quiver_kernels::{quantized, scalar, SIMD128};

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use quiver_kernels::simd128;

use quiver_kernels::selected as kernels;

/// Inner product `Σ aᵢ·bᵢ` over equal-length slices (the shorter length is used otherwise).
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    kernels::dot(a, b)
}

/// Squared Euclidean distance `Σ (aᵢ − bᵢ)²` (no square root is taken).
#[inline(always)]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    kernels::l2_squared(a, b)
}

/// `accᵢ += a·xᵢ` over the shorter of the two slices (axpy). Element-wise, a multiply then an
/// add per lane in every build, so the SIMD128 and scalar results are bit-identical.
#[inline(always)]
pub fn axpy(acc: &mut [f32], a: f32, x: &[f32]) {
    kernels::axpy(acc, a, x)
}

/// Euclidean norm `‖a‖`, accumulated in f64 so that very large or very small components neither
/// overflow nor underflow to zero.
pub fn norm(a: &[f32]) -> f64 {
    a.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// Cosine similarity `a·b / (‖a‖‖b‖)`; 0 when either vector is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 {
        return 0.0;
    }
    // Scale first (in f64) so that huge components do not overflow the f32 dot product.
    let (na, nb) = (norm(a), norm(b));
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) / na) * (f64::from(y) / nb))
        .sum();
    dot.clamp(-1.0, 1.0) as f32
}

/// Scales `a` to unit length in place. Returns `false` (leaving `a` unchanged) when `a` is zero
/// or so small that it has no representable direction.
pub fn normalize(a: &mut [f32]) -> bool {
    let n = norm(a);
    if n == 0.0 || !n.is_finite() {
        return false;
    }
    let inverse = 1.0 / n;
    let mut scaled_norm_sq = 0.0f64;
    for x in a.iter_mut() {
        *x = (f64::from(*x) * inverse) as f32;
        scaled_norm_sq += f64::from(*x) * f64::from(*x);
    }
    // Denormal inputs can all round to zero after scaling.
    scaled_norm_sq > 0.5
}

/// The similarity a collection ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Cosine similarity. Vectors are normalized at insert, queries at search; the score is the
    /// cosine similarity in [-1, 1], higher is better.
    Cosine,
    /// Euclidean distance. The score is the *squared* L2 distance, lower is better.
    L2,
    /// Inner product. The score is the dot product, higher is better.
    Dot,
}

impl Metric {
    /// The metric's name as used in specs and in JavaScript.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::L2 => "l2",
            Metric::Dot => "dot",
        }
    }

    /// Internal distance between a (prepared) query and a stored row: lower is better.
    #[inline(always)]
    pub fn distance(self, query: &[f32], row: &[f32]) -> f32 {
        match self {
            Metric::L2 => l2_squared(query, row),
            Metric::Cosine | Metric::Dot => -dot(query, row),
        }
    }

    /// Distances of one query to four rows at once, each bit-identical to
    /// [`Metric::distance`] (so to the flat scan's scores), sharing each query load.
    #[inline(always)]
    pub fn distance4(self, query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
        match self {
            Metric::L2 => kernels::l2_squared4(query, rows),
            Metric::Cosine | Metric::Dot => {
                let [a, b, c, d] = kernels::dot4(query, rows);
                [-a, -b, -c, -d]
            }
        }
    }

    /// The batched form: distances of one query to every row of a row-major block
    /// (`rows.len() == out.len() * query.len()`), written to `out`. This is where exact search
    /// spends its time.
    ///
    /// Rows are scored one after another, so memory is read as one sequential stream that the
    /// hardware prefetcher follows at full bandwidth. Scoring four consecutive rows at once
    /// (sharing each query load) executes fewer instructions, but reads four streams `dim`
    /// floats apart; on 20k × 384 rows (30 MB, beyond the caches) that was
    /// 2.8× slower per query in WebAssembly under Node and no faster on cache-resident data
    /// (measured with `bench/run.sh`; see docs/benchmarks.md). Every row gets the same
    /// arithmetic, so equal rows get bit-identical distances.
    pub fn distance_batch(self, query: &[f32], rows: &[f32], out: &mut [f32]) {
        let dim = query.len();
        debug_assert_eq!(rows.len(), out.len() * dim);
        if dim == 0 {
            out.fill(0.0);
            return;
        }
        for (row, distance) in rows.chunks_exact(dim).zip(out.iter_mut()) {
            *distance = self.distance(query, row);
        }
    }

    /// Distances of four queries to one row, each bit-identical to [`Metric::distance`].
    #[inline(always)]
    pub fn distance_queries4(self, row: &[f32], queries: [&[f32]; 4]) -> [f32; 4] {
        match self {
            Metric::L2 => kernels::l2_squared_queries4(row, queries),
            Metric::Cosine | Metric::Dot => {
                let [a, b, c, d] = kernels::dot_queries4(row, queries);
                [-a, -b, -c, -d]
            }
        }
    }

    /// The block form: distances of `queries.len() / dim` queries to every row, written
    /// query-major into `out` (`out[q * n_rows + r]`), each bit-identical to
    /// [`Metric::distance_batch`]. Rows are read once, in order (one sequential stream), and
    /// each row vector load serves four queries, which are small enough to stay in L1. That is
    /// what lets batched exact search run faster than the memory-bandwidth floor of
    /// one-query-at-a-time scanning.
    pub fn distance_block(self, queries: &[f32], dim: usize, rows: &[f32], out: &mut [f32]) {
        if dim == 0 {
            out.fill(0.0);
            return;
        }
        let n_queries = queries.len() / dim;
        let n_rows = rows.len() / dim;
        debug_assert_eq!(out.len(), n_queries * n_rows);
        if n_queries == 0 {
            return;
        }
        // Query `k`, clamped so that a last group of 1-3 queries is padded by repeating one.
        let query = |k: usize| &queries[k.min(n_queries - 1) * dim..][..dim];
        for (r, row) in rows.chunks_exact(dim).enumerate() {
            for first in (0..n_queries).step_by(4) {
                let d = self.distance_queries4(
                    row,
                    [
                        query(first),
                        query(first + 1),
                        query(first + 2),
                        query(first + 3),
                    ],
                );
                for (k, &distance) in d.iter().enumerate().take(n_queries - first) {
                    out[(first + k) * n_rows + r] = distance;
                }
            }
        }
    }

    /// Converts an internal distance to the user-facing score (see the variants).
    #[inline(always)]
    pub fn score(self, distance: f32) -> f32 {
        match self {
            Metric::L2 => distance,
            Metric::Cosine | Metric::Dot => -distance,
        }
    }

    /// Whether a larger user-facing score is better.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::L2)
    }
}

impl std::str::FromStr for Metric {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" => Ok(Metric::Cosine),
            "l2" | "euclidean" => Ok(Metric::L2),
            "dot" | "ip" | "inner_product" => Ok(Metric::Dot),
            _ => Err(crate::Error::InvalidMetric {
                metric: s.to_string(),
            }),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_equals_single_row_kernels_for_every_tail_length() {
        for dim in [1usize, 3, 4, 7, 16, 17, 384] {
            for n_rows in 0..10 {
                let rows: Vec<f32> = (0..n_rows * dim)
                    .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                    .collect();
                let query: Vec<f32> = (0..dim).map(|i| (i as f32 * 0.3).sin()).collect();
                for metric in [Metric::L2, Metric::Dot] {
                    let mut out = vec![0.0; n_rows];
                    metric.distance_batch(&query, &rows, &mut out);
                    for (r, &d) in out.iter().enumerate() {
                        let expect = metric.distance(&query, &rows[r * dim..(r + 1) * dim]);
                        let tolerance = 1e-4 * (1.0 + expect.abs());
                        assert!(
                            (d - expect).abs() <= tolerance,
                            "{metric} dim {dim} row {r}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn equal_rows_get_bit_identical_batch_distances() {
        let dim = 13;
        let row: Vec<f32> = (0..dim).map(|i| i as f32 * 0.17 - 1.0).collect();
        let rows: Vec<f32> = row.iter().copied().cycle().take(dim * 7).collect();
        let query: Vec<f32> = (0..dim).map(|i| (i as f32).cos()).collect();
        let mut out = vec![0.0; 7];
        Metric::Dot.distance_batch(&query, &rows, &mut out);
        assert!(out.iter().all(|d| d.to_bits() == out[0].to_bits()));
    }

    #[test]
    fn block_equals_batch() {
        let dim = 9;
        let rows: Vec<f32> = (0..dim * 70).map(|i| (i as f32 * 0.01).sin()).collect();
        let queries: Vec<f32> = (0..dim * 3).map(|i| (i as f32 * 0.2).cos()).collect();
        let mut block = vec![0.0; 3 * 70];
        Metric::L2.distance_block(&queries, dim, &rows, &mut block);
        for q in 0..3 {
            let mut single = vec![0.0; 70];
            Metric::L2.distance_batch(&queries[q * dim..(q + 1) * dim], &rows, &mut single);
            assert_eq!(&block[q * 70..(q + 1) * 70], &single[..]);
        }
    }

    #[test]
    fn normalize_handles_extremes() {
        let mut big = vec![3.0e38f32, 3.0e38];
        assert!(normalize(&mut big));
        assert!((norm(&big) - 1.0).abs() < 1e-6);
        let mut tiny = vec![1.0e-40f32, 0.0, 1.0e-40];
        assert!(normalize(&mut tiny));
        assert!((norm(&tiny) - 1.0).abs() < 1e-6);
        let mut zero = vec![0.0f32; 5];
        assert!(!normalize(&mut zero));
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }
}
