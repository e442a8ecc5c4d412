//! SQ8: 8-bit scalar quantization, one byte per dimension (faiss `QT_8bit`).
//!
//! Training learns, per dimension `i`, the range `[minᵢ, maxᵢ]` of the training vectors; the
//! step is `δᵢ = (maxᵢ − minᵢ) / 255`. A component is encoded as
//! `cᵢ = round((xᵢ − minᵢ) / δᵢ)` clamped to `0..=255` and decoded as `x̂ᵢ = minᵢ + δᵢ·cᵢ`, so
//! inside the trained range `|xᵢ − x̂ᵢ| ≤ δᵢ / 2`; values outside it are clamped to the nearest
//! end (vectors added after training can fall outside). A constant dimension (`δᵢ = 0`) decodes
//! exactly.
//!
//! Why plain min/max and not percentile clipping: on MiniLM the full range already gives
//! recall@10 ≈ 0.99 without rerank (`docs/quantization.md`), and clipping trades a smaller
//! step for unbounded error on the clipped tails, which are exactly the components that
//! dominate inner products.
//!
//! Distances are asymmetric (f32 query, u8 codes) through the prepared forms of
//! [`crate::distance::quantized`]: `l2` scores `Σ ((qᵢ − minᵢ) − δᵢcᵢ)²`, `dot`/`cosine` score
//! `−(Σ qᵢminᵢ + Σ (qᵢδᵢ)cᵢ)`.

use super::encoding::Encoding;
use super::{training_rows, Codec};
use crate::distance::quantized::{sq8_dot, sq8_l2};
use crate::distance::Metric;
use crate::error::Result;

/// Fewest vectors SQ8 trains on: a range from fewer is mostly luck.
pub const SQ8_MIN_TRAIN: usize = 32;

/// Buffered vectors at which an SQ8 index trains itself.
pub const SQ8_AUTO_TRAIN: usize = 1000;

/// An 8-bit scalar quantizer with per-dimension ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct Sq8 {
    dim: usize,
    metric: Metric,
    /// `minᵢ`, empty until trained.
    min: Vec<f32>,
    /// `δᵢ = (maxᵢ − minᵢ) / 255`, empty until trained.
    delta: Vec<f32>,
}

/// A query prepared for SQ8 scoring.
#[derive(Debug, Clone, Default)]
pub struct Sq8Query {
    /// `qᵢ − minᵢ` (l2) or `qᵢ·δᵢ` (dot, cosine).
    pub terms: Vec<f32>,
    /// `Σ qᵢ·minᵢ` (dot, cosine); 0 for l2.
    pub bias: f32,
}

impl Sq8 {
    pub fn new(dim: usize, metric: Metric) -> Self {
        Sq8 {
            dim,
            metric,
            min: Vec::new(),
            delta: Vec::new(),
        }
    }

    /// A trained quantizer from stored ranges (a snapshot).
    pub fn from_parts(metric: Metric, min: Vec<f32>, delta: Vec<f32>) -> Result<Self> {
        if min.is_empty()
            || min.len() != delta.len()
            || min.iter().chain(&delta).any(|x| !x.is_finite())
            || delta.iter().any(|&d| d < 0.0)
        {
            return Err(crate::Error::Corrupt {
                what: "SQ8 ranges".into(),
            });
        }
        Ok(Sq8 {
            dim: min.len(),
            metric,
            min,
            delta,
        })
    }

    /// Per-dimension minimum (empty until trained).
    pub fn min(&self) -> &[f32] {
        &self.min
    }

    /// Per-dimension step (empty until trained).
    pub fn delta(&self) -> &[f32] {
        &self.delta
    }

    /// Distance of a prepared query to one code (same arithmetic as [`Codec::distances`]).
    #[inline]
    pub fn distance(&self, prepared: &Sq8Query, code: &[u8]) -> f32 {
        match self.metric {
            Metric::L2 => sq8_l2(&prepared.terms, &self.delta, code),
            Metric::Cosine | Metric::Dot => -(prepared.bias + sq8_dot(&prepared.terms, code)),
        }
    }
}

impl Codec for Sq8 {
    type Query = Sq8Query;

    fn encoding(&self) -> Encoding {
        Encoding::Sq8
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn metric(&self) -> Metric {
        self.metric
    }

    fn code_size(&self) -> usize {
        self.dim
    }

    fn is_trained(&self) -> bool {
        !self.min.is_empty()
    }

    fn min_train_vectors(&self) -> usize {
        SQ8_MIN_TRAIN
    }

    fn auto_train_vectors(&self) -> usize {
        SQ8_AUTO_TRAIN
    }

    fn train(&mut self, data: &[f32], _seed: u64) -> Result<()> {
        training_rows(data, self.dim, SQ8_MIN_TRAIN)?;
        let mut min = vec![f32::INFINITY; self.dim];
        let mut max = vec![f32::NEG_INFINITY; self.dim];
        for row in data.chunks_exact(self.dim) {
            for ((lo, hi), &x) in min.iter_mut().zip(max.iter_mut()).zip(row) {
                *lo = lo.min(x);
                *hi = hi.max(x);
            }
        }
        // Computed in f64: `max − min` can overflow f32 for components near ±f32::MAX.
        self.delta = min
            .iter()
            .zip(&max)
            .map(|(&lo, &hi)| ((f64::from(hi) - f64::from(lo)) / 255.0) as f32)
            .collect();
        self.min = min;
        Ok(())
    }

    fn encode(&self, vector: &[f32], out: &mut [u8]) {
        for (((o, &x), &lo), &d) in out.iter_mut().zip(vector).zip(&self.min).zip(&self.delta) {
            *o = if d > 0.0 {
                // `as u8` saturates (and maps NaN to 0), so out-of-range values clamp.
                ((f64::from(x) - f64::from(lo)) / f64::from(d)).round() as u8
            } else {
                0
            };
        }
    }

    fn decode(&self, code: &[u8], out: &mut [f32]) {
        for (((o, &c), &lo), &d) in out.iter_mut().zip(code).zip(&self.min).zip(&self.delta) {
            *o = lo + d * f32::from(c);
        }
    }

    fn prepare(&self, query: &[f32], prepared: &mut Sq8Query) {
        prepared.terms.clear();
        match self.metric {
            Metric::L2 => {
                prepared
                    .terms
                    .extend(query.iter().zip(&self.min).map(|(&q, &lo)| q - lo));
                prepared.bias = 0.0;
            }
            Metric::Cosine | Metric::Dot => {
                prepared
                    .terms
                    .extend(query.iter().zip(&self.delta).map(|(&q, &d)| q * d));
                prepared.bias = crate::distance::dot(query, &self.min);
            }
        }
    }

    fn distances(&self, prepared: &Sq8Query, codes: &[u8], out: &mut [f32]) {
        for (code, o) in codes.chunks_exact(self.dim).zip(out.iter_mut()) {
            *o = self.distance(prepared, code);
        }
    }

    fn default_rerank(&self, _k: usize) -> usize {
        0
    }

    fn memory_bytes(&self) -> usize {
        (self.min.capacity() + self.delta.capacity()) * 4
    }

    /// `u8 trained`, then `dim` minima and `dim` steps.
    fn write_params(&self, out: &mut dyn crate::codec::Write) {
        out.u8(self.is_trained() as u8);
        if self.is_trained() {
            out.f32s(&self.min);
            out.f32s(&self.delta);
        }
    }

    fn read_params(self, input: &mut dyn crate::codec::Read) -> Result<Self> {
        if !super::read_trained_flag(input)? {
            return Ok(self);
        }
        let min = input.f32s(self.dim as u64, "SQ8 minima")?;
        let delta = input.f32s(self.dim as u64, "SQ8 steps")?;
        Sq8::from_parts(self.metric, min, delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::Sample;

    fn data(n: usize, dim: usize) -> Vec<f32> {
        let mut rng = crate::quant::seeded(3);
        (0..n * dim)
            .map(|i| (rng.unit_f64() as f32 - 0.5) * (1.0 + (i % dim) as f32))
            .collect()
    }

    #[test]
    fn error_is_at_most_half_a_step_inside_the_range() {
        let dim = 17;
        let train = data(500, dim);
        let mut sq = Sq8::new(dim, Metric::L2);
        sq.train(&train, 0).unwrap();
        let mut code = vec![0u8; dim];
        let mut back = vec![0f32; dim];
        for row in train.chunks_exact(dim) {
            sq.encode(row, &mut code);
            sq.decode(&code, &mut back);
            for i in 0..dim {
                let bound = sq.delta()[i] / 2.0 * 1.0001 + 1e-7;
                assert!((row[i] - back[i]).abs() <= bound, "dim {i}");
            }
        }
        // Outside the range: clamped to the ends.
        let far = vec![1e6f32; dim];
        sq.encode(&far, &mut code);
        assert!(code.iter().all(|&c| c == 255));
    }

    #[test]
    fn distances_match_decoded_vectors() {
        let dim = 33;
        let train = data(200, dim);
        for metric in [Metric::L2, Metric::Dot] {
            let mut sq = Sq8::new(dim, metric);
            sq.train(&train, 0).unwrap();
            let query: Vec<f32> = (0..dim).map(|i| (i as f32).sin()).collect();
            let mut prepared = Sq8Query::default();
            sq.prepare(&query, &mut prepared);
            let mut codes = vec![0u8; 10 * dim];
            for (row, code) in train.chunks_exact(dim).zip(codes.chunks_exact_mut(dim)) {
                sq.encode(row, code);
            }
            let mut out = vec![0.0; 10];
            sq.distances(&prepared, &codes, &mut out);
            let mut back = vec![0f32; dim];
            for (code, &d) in codes.chunks_exact(dim).zip(&out) {
                sq.decode(code, &mut back);
                let expect = metric.distance(&query, &back);
                assert!(
                    (d - expect).abs() <= 1e-3 * (1.0 + expect.abs()),
                    "{metric}"
                );
            }
        }
    }

    #[test]
    fn constant_dimensions_and_bad_training_input() {
        let mut sq = Sq8::new(2, Metric::L2);
        let train: Vec<f32> = (0..64).flat_map(|i| [5.0, i as f32]).collect();
        sq.train(&train, 0).unwrap();
        let mut code = [0u8; 2];
        let mut back = [0f32; 2];
        sq.encode(&[5.0, 63.0], &mut code);
        sq.decode(&code, &mut back);
        assert_eq!(back, [5.0, 63.0]);
        assert_eq!(
            sq.train(&[1.0; 4], 0).unwrap_err().code(),
            "invalid_argument"
        );
        let mut bad = train.clone();
        bad[3] = f32::NAN;
        assert_eq!(sq.train(&bad, 0).unwrap_err().code(), "invalid_vector");
    }
}
