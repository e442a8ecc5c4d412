//! Quantizers: the trained maps from vectors to a small number of codes.
//!
//! [`kmeans()`] is the shared building block: the coarse quantizer of IVF (`nlist` centroids) and
//! the per-sub-space codebooks of PQ are both k-means. Every randomized step takes a seed and
//! uses [`SplitMix64`], so training is deterministic: the same data, parameters and seed give
//! bit-identical centroids on every target.

pub mod kmeans;
mod rng;

pub use kmeans::{
    kmeans, Centroids, KmeansParams, KmeansStats, MAX_POINTS_PER_CENTROID, MIN_POINTS_PER_CENTROID,
};
pub use rng::SplitMix64;
