//! The storage format of cold vectors (docs/format.md, "Cold vectors"): one fixed-size row per
//! internal id, at byte offset `id × row_bytes(dim)` of the store's cold file (or under its own
//! key, for storage without files). A row is the prepared vector as `dim` little-endian `f32`s,
//! then the internal id (`u32`), a tag of the external id ([`id_tag`], `u32`), then the CRC-32
//! of everything before it in the row (`u32`).
//!
//! The id, tag and checksum make every read self-checking: a row never written (a hole reads as
//! zeros), written for another item (another writer that handed out the same internal id),
//! torn or bit-flipped fails with `Corrupt` naming the id. Internal ids are never reused, so a
//! row once written stays valid until its item is removed.

use super::crc32::crc32;
use crate::error::{Error, Result};

/// Bytes per row: the floats, the id, the tag and the checksum.
pub fn row_bytes(dim: usize) -> usize {
    dim * 4 + 12
}

/// The tag of an external id in its row: 32-bit FNV-1a of its UTF-8 bytes.
pub fn id_tag(external: &str) -> u32 {
    external
        .bytes()
        .fold(0x811c_9dc5, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// Rows for `ids` (internal ids, with the [`id_tag`]s of their external ids; `ids.len() × dim`
/// floats in `rows`), concatenated.
pub fn encode_rows(dim: usize, ids: &[u32], tags: &[u32], rows: &[f32]) -> Vec<u8> {
    let size = row_bytes(dim);
    let mut out = Vec::with_capacity(ids.len() * size);
    for ((&id, &tag), row) in ids.iter().zip(tags).zip(rows.chunks_exact(dim)) {
        let start = out.len();
        for &x in row {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&tag.to_le_bytes());
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

/// The vectors in `bytes`, which must be the rows of `ids` (with `tags`) in order; `Corrupt`
/// naming the first row that is short, belongs to another item or fails its checksum.
pub fn decode_rows(dim: usize, ids: &[u32], tags: &[u32], bytes: &[u8]) -> Result<Vec<f32>> {
    let size = row_bytes(dim);
    if bytes.len() != ids.len() * size {
        return Err(Error::Corrupt {
            what: format!(
                "cold vectors: {} bytes for {} rows of {size}",
                bytes.len(),
                ids.len()
            ),
        });
    }
    let mut out = Vec::with_capacity(ids.len() * dim);
    for ((&id, &tag), row) in ids.iter().zip(tags).zip(bytes.chunks_exact(size)) {
        let (body, crc) = row.split_at(size - 4);
        let word = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().expect("4 bytes"));
        let (stored_id, stored_tag) = (word(dim * 4), word(dim * 4 + 4));
        let crc = u32::from_le_bytes(crc.try_into().expect("4 bytes"));
        if crc != crc32(body) || stored_id != id || stored_tag != tag {
            return Err(Error::Corrupt {
                what: format!(
                    "cold vectors: the row of internal id {id} is missing, damaged or \
                     another item's (checksum, id or tag mismatch)"
                ),
            });
        }
        out.extend(
            body[..dim * 4]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_and_damage_is_caught() {
        let rows = [1.0f32, -2.5, 3.25, 0.0, f32::MIN_POSITIVE, 7.0];
        let tags = [id_tag("a"), id_tag("b")];
        let bytes = encode_rows(3, &[4, 9], &tags, &rows);
        assert_eq!(bytes.len(), 2 * row_bytes(3));
        assert_eq!(decode_rows(3, &[4, 9], &tags, &bytes).unwrap(), rows);
        assert_ne!(id_tag("a"), id_tag("b"));
        // Another id's row, another item's, a flipped bit, a hole and a short read are refused.
        let errors = [
            decode_rows(3, &[4, 10], &tags, &bytes),
            decode_rows(3, &[4, 9], &[id_tag("a"), id_tag("c")], &bytes),
            decode_rows(3, &[4, 9], &tags, &{
                let mut b = bytes.clone();
                b[25] ^= 1;
                b
            }),
            decode_rows(3, &[5], &tags[..1], &vec![0u8; row_bytes(3)]),
            decode_rows(3, &[4, 9], &tags, &bytes[..bytes.len() - 1]),
        ];
        for error in errors {
            assert_eq!(error.unwrap_err().code(), "corrupt");
        }
    }
}
