//! Quantizers: the trained maps from vectors to a small number of codes.
//!
//! [`kmeans()`] is the shared building block: the coarse quantizer of IVF (`nlist` centroids) and
//! the per-sub-space codebooks of PQ are both k-means. Every randomized step takes a seed and
//! uses [`SplitMix64`], so training is deterministic: the same data, parameters and seed give
//! bit-identical centroids on every target.
//!
//! The vector codecs ([`sq8::Sq8`], [`pq::Pq`], [`binary::Binary`]) implement [`Codec`]: train,
//! encode to a fixed number of bytes per vector, prepare a query once, then score blocks of
//! codes with the kernels of [`crate::distance::quantized`]. Index families (flat over codes,
//! IVF lists, HNSW storage) are written against [`Codec`], not against a particular scheme.
//! `docs/quantization.md` gives the schemes, code sizes and the training policy.

pub mod binary;
mod encoding;
pub mod kmeans;
pub mod pq;
mod rng;
pub mod sq8;

pub use encoding::Encoding;
pub use kmeans::{
    kmeans, Centroids, KmeansParams, KmeansStats, MAX_POINTS_PER_CENTROID, MIN_POINTS_PER_CENTROID,
};
pub use rng::{seeded, RngCore, Sample, SplitMix64};

use crate::distance::Metric;
use crate::error::Result;

/// A trained, fixed-size vector encoding with asymmetric (f32 query vs codes) distances.
///
/// Distances are internal distances under the codec's metric: lower is better, `l2` → squared
/// L2 to the decoded vector, `dot`/`cosine` → minus the inner product with the decoded vector
/// (binary codes: the Hamming distance, see [`binary`]).
pub trait Codec: Clone + std::fmt::Debug {
    /// A query prepared for scoring (shifted query, weights, lookup tables, query bits).
    type Query: Default + Clone + std::fmt::Debug;

    /// The encoding part of an index spec.
    fn encoding(&self) -> Encoding;

    fn dim(&self) -> usize;

    fn metric(&self) -> Metric;

    /// Bytes per encoded vector.
    fn code_size(&self) -> usize;

    fn is_trained(&self) -> bool;

    /// Fewest vectors [`Codec::train`] accepts.
    fn min_train_vectors(&self) -> usize;

    /// Buffered vectors at which an index trains this codec by itself (see the training
    /// policy in `docs/quantization.md`).
    fn auto_train_vectors(&self) -> usize;

    /// Learns the codec's parameters from `n × dim` row-major `data` (all finite). Re-training
    /// replaces them. Deterministic for a seed.
    fn train(&mut self, data: &[f32], seed: u64) -> Result<()>;

    /// Encodes one vector into `out` (`code_size()` bytes). The codec must be trained.
    fn encode(&self, vector: &[f32], out: &mut [u8]);

    /// Reconstructs an approximation of the encoded vector into `out` (`dim` floats).
    fn decode(&self, code: &[u8], out: &mut [f32]);

    /// Prepares `query` (a prepared, `dim`-long vector) for [`Codec::distances`].
    fn prepare(&self, query: &[f32], prepared: &mut Self::Query);

    /// Internal distances of the prepared query to each code of `codes` (a whole number of
    /// codes), written to `out`.
    fn distances(&self, prepared: &Self::Query, codes: &[u8], out: &mut [f32]);

    /// Candidates rescored exactly when a query does not set `rerank` and full vectors are
    /// available: 0 for codes precise enough on their own.
    fn default_rerank(&self, k: usize) -> usize;

    /// Heap bytes held (ranges, codebooks).
    fn memory_bytes(&self) -> usize;

    /// Snapshot (`docs/format.md`): writes whether the codec is trained and, if so, its learned
    /// parameters.
    fn write_params(&self, out: &mut dyn crate::codec::Write);

    /// Snapshot: reads what [`Codec::write_params`] wrote into this new, untrained codec of the
    /// same shape, validating it (a bad input is `Corrupt`).
    fn read_params(self, input: &mut dyn crate::codec::Read) -> Result<Self>
    where
        Self: Sized;
}

/// Reads a codec's "trained" flag; `true` means parameters follow.
pub(crate) fn read_trained_flag(input: &mut dyn crate::codec::Read) -> Result<bool> {
    match input.u8("codec trained flag")? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(crate::Error::Corrupt {
            what: "codec trained flag is not a boolean".into(),
        }),
    }
}

/// Checks that `data` is a whole number of `dim`-rows with at least `min` rows; returns n.
pub(crate) fn training_rows(data: &[f32], dim: usize, min: usize) -> Result<usize> {
    if dim == 0 || data.len() % dim != 0 {
        return Err(crate::Error::InvalidArgument {
            name: "training vectors",
            reason: format!(
                "{} floats is not a whole number of rows of {dim}",
                data.len()
            ),
        });
    }
    let n = data.len() / dim;
    if n < min {
        return Err(crate::Error::InvalidArgument {
            name: "training vectors",
            reason: format!("training needs at least {min} vectors, got {n}"),
        });
    }
    if let Some((i, &value)) = data.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(crate::Error::NonFiniteComponent {
            item: i / dim,
            component: i % dim,
            value,
        });
    }
    Ok(n)
}
