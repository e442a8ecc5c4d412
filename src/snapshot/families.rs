//! The one place that maps an index spec to the code that reads its snapshot section.
//!
//! Adding a family (see `docs/format.md`): implement `Index::encode_state` in the family's
//! module, add a `decode_state` constructor next to it that reads the same layout through
//! [`Read`], and add one arm here. Nothing else in the format changes: the section's chunks,
//! checksums and op log are the same for every family.

use super::codec::Read;
use crate::collection::CollectionConfig;
use crate::error::{Error, Result};
use crate::index::{flat::FlatIndex, Encoding, Index, Structure};

/// Decodes the index section written by `Index::encode_state` of the family `config.spec`
/// names.
pub(crate) fn decode_index(
    config: &CollectionConfig,
    input: &mut dyn Read,
) -> Result<Box<dyn Index>> {
    let (dim, metric) = (config.dimension, config.metric);
    match (config.spec.structure, config.spec.encoding) {
        (Structure::Flat, Encoding::Raw) => {
            Ok(Box::new(FlatIndex::decode_state(dim, metric, input)?))
        }
        _ => Err(Error::Unsupported {
            what: format!("reading a saved {} index in this build", config.spec),
        }),
    }
}
