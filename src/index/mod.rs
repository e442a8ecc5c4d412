//! The index contract every family implements, after faiss `Index`.
//!
//! Layout is stated once: vectors are `n × dim` row-major `f32`, already *prepared* by the
//! collection (validated, and normalized for cosine). Ids are dense internal `u32`s chosen by the
//! collection. Per-query knobs live in [`SearchParams`], never in index state, and every
//! per-query buffer lives in a caller-owned [`Scratch`], so a query allocates only its result.

use crate::distance::Metric;
use crate::error::{Error, Result};

pub mod arena;
pub mod flat;
pub mod hnsw;
pub mod id_map;
pub mod ivf;
pub mod ivf_codes;
pub mod quantized;
pub mod rerank;
pub mod spec;

pub use spec::{Encoding, IndexSpec, Structure};
mod traits;
pub use traits::{
    Index, IndexOptions, MemoryBreakdown, Scratch, SearchParams, VectorSource, VisitedSet,
};
/// Whether this build can create and open indexes of a spec's family.
///
/// Every build holds `Flat` and `HNSW{m}` over raw vectors. The `full` cargo feature (on by
/// default; off for the package's lean `.wasm`, see `docs/architecture.md`) adds the IVF
/// structure and the SQ8, PQ and BIN encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// This build creates and opens it.
    Built,
    /// A valid family that only the full build holds.
    FullBuildOnly,
    /// A combination no build holds (for example `HNSW16,PQ8`).
    Never,
}

/// Which builds hold `spec`'s family (see [`Availability`]).
pub fn availability(spec: &IndexSpec) -> Availability {
    match (spec.structure, spec.encoding) {
        (Structure::Flat | Structure::Hnsw { .. }, Encoding::Raw) => Availability::Built,
        (Structure::Flat, _)
        | (Structure::Ivf { .. }, Encoding::Raw | Encoding::Sq8 | Encoding::Pq { .. })
        | (Structure::Hnsw { .. }, Encoding::Sq8) => {
            if cfg!(feature = "full") {
                Availability::Built
            } else {
                Availability::FullBuildOnly
            }
        }
        _ => Availability::Never,
    }
}

/// The error for a spec this build cannot create or open (`availability` is not `Built`).
pub(crate) fn not_built(spec: &IndexSpec, doing: &str) -> Error {
    match availability(spec) {
        Availability::FullBuildOnly => Error::Unsupported {
            what: format!(
                "{doing} a {spec} index in the lean build, which holds Flat and HNSW{{m}} only \
                 (the package loads its full build for other families itself; low-level callers \
                 use loadFullBuild())"
            ),
        },
        _ => Error::InvalidSpec {
            spec: spec.to_string(),
            reason: "this index family is not available in this build yet".into(),
        },
    }
}

/// Builds an empty index for `spec`.
pub fn build_index(
    spec: &IndexSpec,
    dim: usize,
    metric: Metric,
    options: &IndexOptions,
) -> Result<Box<dyn Index>> {
    #[cfg(feature = "full")]
    use crate::quant::{binary::Binary, pq::Pq, sq8::Sq8};
    #[cfg(feature = "full")]
    use quantized::QuantizedFlat;
    match (spec.structure, spec.encoding) {
        (Structure::Flat, Encoding::Raw) => Ok(Box::new(flat::FlatIndex::new(dim, metric))),
        (Structure::Hnsw { m }, Encoding::Raw) => {
            Ok(Box::new(hnsw::Hnsw::new(dim, metric, m, options)?))
        }
        #[cfg(feature = "full")]
        (Structure::Flat, Encoding::Sq8) => {
            Ok(Box::new(QuantizedFlat::new(Sq8::new(dim, metric), options)))
        }
        #[cfg(feature = "full")]
        (Structure::Flat, Encoding::Binary) => Ok(Box::new(QuantizedFlat::new(
            Binary::new(dim, metric),
            options,
        ))),
        #[cfg(feature = "full")]
        (Structure::Flat, Encoding::Pq { m }) => Ok(Box::new(QuantizedFlat::new(
            Pq::new(dim, metric, m)?,
            options,
        ))),
        #[cfg(feature = "full")]
        (Structure::Ivf { nlist }, Encoding::Raw) => Ok(Box::new(ivf::IvfFlat::new_flat(
            nlist, dim, metric, options,
        ))),
        #[cfg(feature = "full")]
        (Structure::Ivf { nlist }, Encoding::Sq8) => {
            let encoder = ivf_codes::Sq8ListEncoder::new(dim, metric);
            let ivf = ivf::IvfIndex::new(nlist, dim, metric, encoder, options);
            Ok(Box::new(rerank::Reranked::new(
                ivf,
                options.keep_vectors,
                0,
            )))
        }
        #[cfg(feature = "full")]
        (Structure::Ivf { nlist }, Encoding::Pq { m }) => {
            let encoder =
                ivf_codes::PqResidualEncoder::new(dim, metric, m).map_err(|e| match e {
                    Error::InvalidSpec { reason, .. } => Error::InvalidSpec {
                        spec: spec.to_string(),
                        reason,
                    },
                    other => other,
                })?;
            let ivf = ivf::IvfIndex::new(nlist, dim, metric, encoder, options);
            Ok(Box::new(rerank::Reranked::new(
                ivf,
                options.keep_vectors,
                10,
            )))
        }
        #[cfg(feature = "full")]
        (Structure::Hnsw { m }, Encoding::Sq8) => Ok(Box::new(rerank::Reranked::new(
            hnsw::sq8::HnswSq8::new(dim, metric, m, options)?,
            options.keep_vectors,
            hnsw::SQ8_DEFAULT_RERANK_PER_K,
        ))),
        _ => Err(not_built(spec, "creating")),
    }
}
