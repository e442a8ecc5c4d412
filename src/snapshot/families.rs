//! The one place that maps an index spec to the code that reads its snapshot section.
//!
//! Adding a family (see `docs/format.md`): implement `Index::encode_state` in the family's
//! module, add a `decode_state` constructor next to it that reads the same layout through
//! [`Read`], and add one arm here. Nothing else in the format changes: the section's chunks,
//! checksums and op log are the same for every family.

use crate::codec::Read;
use crate::collection::CollectionConfig;
use crate::error::Result;
use crate::index::flat::FlatIndex;
#[cfg(feature = "full")]
use crate::index::ivf::{IvfIndex, RawEncoder};
#[cfg(feature = "full")]
use crate::index::ivf_codes::{PqResidualEncoder, Sq8ListEncoder};
#[cfg(feature = "full")]
use crate::index::quantized::QuantizedFlat;
#[cfg(feature = "full")]
use crate::index::rerank::Reranked;
use crate::index::{Encoding, Index, Structure};
#[cfg(feature = "full")]
use crate::quant::{binary::Binary, pq::Pq, sq8::Sq8};

/// Decodes the index section written by `Index::encode_state` of the family `config.spec`
/// names. Mirrors `index::build_index`.
pub(crate) fn decode_index(
    config: &CollectionConfig,
    input: &mut dyn Read,
) -> Result<Box<dyn Index>> {
    let (dim, metric, options) = (config.dimension, config.metric, &config.options);
    Ok(match (config.spec.structure, config.spec.encoding) {
        (Structure::Flat, Encoding::Raw) => Box::new(FlatIndex::decode_state(dim, metric, input)?),
        (Structure::Hnsw { m }, Encoding::Raw) => Box::new(crate::index::hnsw::Hnsw::decode_state(
            dim, metric, m, options, input,
        )?),
        #[cfg(feature = "full")]
        (Structure::Flat, Encoding::Sq8) => Box::new(QuantizedFlat::decode_state(
            Sq8::new(dim, metric),
            options,
            input,
        )?),
        #[cfg(feature = "full")]
        (Structure::Flat, Encoding::Binary) => Box::new(QuantizedFlat::decode_state(
            Binary::new(dim, metric),
            options,
            input,
        )?),
        #[cfg(feature = "full")]
        (Structure::Flat, Encoding::Pq { m }) => Box::new(QuantizedFlat::decode_state(
            Pq::new(dim, metric, m)?,
            options,
            input,
        )?),
        #[cfg(feature = "full")]
        (Structure::Ivf { nlist }, Encoding::Raw) => Box::new(IvfIndex::decode_state(
            nlist,
            dim,
            metric,
            RawEncoder::new(dim, metric),
            options,
            input,
        )?),
        #[cfg(feature = "full")]
        (Structure::Ivf { nlist }, Encoding::Sq8) => {
            Box::new(Reranked::decode_state(dim, metric, input, |input| {
                IvfIndex::decode_state(
                    nlist,
                    dim,
                    metric,
                    Sq8ListEncoder::new(dim, metric),
                    options,
                    input,
                )
            })?)
        }
        #[cfg(feature = "full")]
        (Structure::Ivf { nlist }, Encoding::Pq { m }) => {
            let encoder = PqResidualEncoder::new(dim, metric, m)?;
            Box::new(Reranked::decode_state(dim, metric, input, |input| {
                IvfIndex::decode_state(nlist, dim, metric, encoder, options, input)
            })?)
        }
        #[cfg(feature = "full")]
        (Structure::Hnsw { m }, Encoding::Sq8) => {
            Box::new(Reranked::decode_state(dim, metric, input, |input| {
                crate::index::hnsw::sq8::HnswSq8::decode_state(dim, metric, m, options, input)
            })?)
        }
        _ => return Err(crate::index::not_built(&config.spec, "reading a saved")),
    })
}
